"""GRS stage of ``alloykit demo``: a 16-atom GRS of the demo's Fe-Cr sample (the MC/MD-aged
one when the CSRO stage ran, else the random Fe-20Cr sample), on a BCC parent with
chemical swaps, compared with a random 16-atom cell of the same composition."""
from __future__ import annotations

import numpy as np
from ase.build import bulk

from . import GRSPotential, Moves, anneal, build_target, lattice_candidate


def stage(ctx) -> dict:
    from ..lmp.demo import fe20cr
    from .plots import plot_target_vs_grs

    sample = ctx.artifacts.get("aged_fecr")
    source = "MC/MD-aged Fe-20Cr (CSRO stage)"
    if sample is None:
        sample, source = fe20cr(4 if ctx.quick else 6, ctx.seed), "random Fe-20Cr (no CSRO stage)"
    target = build_target(sample, nmax=(8, 2, 2) if ctx.quick else (8, 2, 2, 1),
                          lmax=(0, 2, 2) if ctx.quick else (0, 2, 2, 1), rcut=4.5)
    pot = GRSPotential(target)
    a0 = (sample.get_volume() / len(sample) * 2) ** (1 / 3)
    parent = bulk("Fe", "bcc", a=a0, cubic=True)
    composition = {"Fe": 13 / 16, "Cr": 3 / 16}    # 20 % Cr does not fit 16 sites: the nearest that does
    start = lattice_candidate(parent, 8, composition, seed=ctx.seed, matrix=np.diag([2, 2, 2]))
    steps = 300 if ctx.quick else 1500
    res = anneal(start, pot, steps=steps, moves=Moves(swap=1.0), seed=ctx.seed, stop_at=None)
    random_losses = [pot.energy(lattice_candidate(parent, 8, composition, seed=ctx.seed + k + 1,
                                                  matrix=np.diag([2, 2, 2]))) for k in range(10)]
    figs = plot_target_vs_grs(pot, res.atoms)
    ctx.say(f"Target: {source}, {len(sample)} atoms, {pot.ace.ndescriptors} ACE descriptors (cutoff 4.5 Å). "
            f"16-atom GRS (Fe13Cr3 on a 2x2x2 BCC cell, chemical swaps, {steps} steps): loss "
            f"{res.loss:.4g}, against {np.mean(random_losses):.4g} ± {np.std(random_losses):.2g} for random "
            f"16-atom cells of the same composition.")
    ctx.savefig(figs[0], "grs_moments.png")
    res.atoms.calc = None
    res.atoms.write(ctx.out / "grs_fecr16.extxyz")
    return {"target": source, "target_atoms": len(sample), "ndescriptors": pot.ace.ndescriptors,
            "grs_loss": res.loss, "random_cell_loss_mean": float(np.mean(random_losses)),
            "random_cell_loss_std": float(np.std(random_losses)), "steps": steps, "structure": "grs_fecr16.extxyz"}
