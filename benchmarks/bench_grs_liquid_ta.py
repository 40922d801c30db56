"""GRS demonstration 2 (Goff et al., Fig. 4): single GRS cells of liquid Ta.

Target: a snapshot of 2,000 Ta atoms melted with the wheel's Ta06A SNAP (NPT at 4,000 K
and zero pressure, started from superheated BCC; see ``melt``). GRS cells of 16, 32, 54 and 72 atoms:
random dense cells at the target's density, annealed with atomic displacements and local
LAMMPS cg minimisations of the GRS potential, then a final cg. Reported: the residual
loss, its mean and variance parts (weights 1, as in the paper), and the projected DFT
cost of each cell relative to the 2,000-atom melt, assuming N^3 scaling.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from ase.build import bulk

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, write  # noqa: E402

from alloykit.grs import GRSPotential, Moves, build_target, generate  # noqa: E402
from alloykit.lmp import get_atoms, open_structure  # noqa: E402

SIZES = (16, 32, 54, 72)


def melt(seed: int = 4000):
    """2,000 liquid Ta atoms: 250 atoms melted for 2 ps (NPT, 4,000 K, 0 bar, from BCC
    with 8,000 K velocities), replicated 2x2x2 and run 0.3 ps more as 2,000 atoms. SNAP
    costs ~0.4 s per step for 2,000 atoms on this machine, hence the smaller melt."""
    small = bulk("Ta", "bcc", a=3.316, cubic=True).repeat(5)
    lmp, prism, species = open_structure(small, "Ta06A")
    with lmp:
        lmp.commands([f"velocity all create 8000 {seed} mom yes rot yes dist gaussian", "timestep 0.001",
                      "fix md all npt temp 4000 4000 0.1 iso 0 0 1.0", "run 2000"])
        melt250 = get_atoms(lmp, species, prism)
    big = melt250.repeat(2)
    lmp, prism, species = open_structure(big, "Ta06A")
    with lmp:
        lmp.commands([f"velocity all create 4000 {seed + 1} mom yes rot yes dist gaussian", "timestep 0.001",
                      "fix md all npt temp 4000 4000 0.1 iso 0 0 1.0",
                      "thermo_style custom step temp pe press vol", "run 300"])
        return get_atoms(lmp, species, prism), lmp.thermo("temp")


def main():
    t0 = time.perf_counter()
    liquid, temp = melt()
    t_md = time.perf_counter() - t0
    liquid.write(RESULTS / "grs_liquid_ta_target.extxyz")
    target = build_target(liquid)
    rows = []
    for n in SIZES:
        t1 = time.perf_counter()
        res = generate(target, n, steps=300, seed=n, moves=Moves(swap=0, displace=1.0, minimize=0.03, step=0.2),
                       allow_images=True, stop_at=None)
        parts = {}
        for name, w in (("mean", (1.0, 0.0)), ("variance", (0.0, 1.0))):
            pot = GRSPotential(target, weights=w)
            parts[name] = pot.energy(res.atoms)
        rows.append({"natoms": n, "residual_loss": res.loss, "mean_part": parts["mean"],
                     "variance_part": parts["variance"], "dft_cost_relative_to_melt": (n / liquid.get_global_number_of_atoms()) ** 3,
                     "seconds": time.perf_counter() - t1})
        res.atoms.calc = None
        res.atoms.write(RESULTS / f"grs_liquid_ta_{n}.extxyz")
        print(rows[-1], flush=True)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ns = [r["natoms"] for r in rows]
    ax.plot(ns, [r["residual_loss"] for r in rows], "o-", label="residual loss")
    ax.plot(ns, [r["mean_part"] for r in rows], "s--", label="mean part")
    ax.plot(ns, [r["variance_part"] for r in rows], "^--", label="variance part")
    ax.set_yscale("log")
    ax.set_xlabel("atoms in the GRS cell")
    ax.set_ylabel("loss")
    ax2 = ax.twinx()
    ax2.plot(ns, [r["dft_cost_relative_to_melt"] for r in rows], "k:", label="DFT cost / melt (N$^3$)")
    ax2.set_yscale("log")
    ax2.set_ylabel("DFT cost / 2000-atom melt")
    ax.legend(fontsize=8, loc="upper center")
    ax.set_title(f"GRS of liquid Ta (2000 atoms, {temp:.0f} K)")
    fig.tight_layout()
    fig.savefig(RESULTS / "grs_liquid_ta.png", dpi=110)
    write("grs_liquid_ta", {"target": {"natoms": len(liquid), "temperature_K": temp, "density_per_A3": target.density,
                                       "md_seconds": t_md, "potential": "Ta06A"},
                            "cells": rows, "ndescriptors": GRSPotential(target).ace.ndescriptors,
                            "seconds": time.perf_counter() - t0})


if __name__ == "__main__":
    main()
