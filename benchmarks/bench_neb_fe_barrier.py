"""Validation: the vacancy migration barrier of BCC Fe with Fe_mm (Mendelev EAM) through
alloykit.neb, against the converged 11-replica value measured with the wheel (0.63 eV).

1. Replica count 3..13 at 127 atoms (4x4x4 cell with a vacancy): the double hump (split
   vacancy at the midpoint) needs >= 7 replicas; with 5 the climbing image lands on the
   midpoint minimum, and alloykit flags it (climber_at_minimum) instead of storing 0.54 eV.
2. 11 replicas at 1023 atoms (8x8x8).
3. What relaxing the final state's box too would change (the paper relaxed both boxes;
   LAMMPS NEB needs one box, the initial state's): E_final(box relaxed) - E_final(fixed),
   for Fe (1023 atoms) and for a hop in random Fe-20Cr (249 atoms, FeCr.cdeam).
Writes results/neb_fe_barrier.json and results/neb_fe_barrier.png (the MEPs).
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, write  # noqa: E402

from ase.build import bulk  # noqa: E402

from alloykit.neb import NebSettings, vacancy_hops  # noqa: E402
from alloykit.neb import scripts  # noqa: E402

REFERENCE = 0.63


def one_hop(n, replicas, workdir=None):
    atoms = bulk("Fe", "bcc", a=2.855, cubic=True).repeat(n)
    t = time.perf_counter()
    _, recs = vacancy_hops(atoms, 0, NebSettings(potential="Fe_mm", replicas=replicas), neighbors=[1],
                           workdir=workdir, keep=workdir is not None)
    r = recs[0]
    return {"natoms": len(atoms) - 1, "replicas": replicas, "barrier_eV": r.barrier_forward,
            "backward_eV": r.barrier_backward, "converged": r.converged, "flag": r.flag, "usable": r.usable,
            "neb_steps": r.extra["neb_steps"], "seconds": time.perf_counter() - t,
            "mep_coords": r.extra["mep_coords"], "mep_energies": r.extra["mep_energies"]}


def box_effect(workdir: Path, j: int, label: str) -> dict:
    """Relax the kept final state's box as well and compare energies."""
    vdir = next(workdir.glob("v0-*"))
    fixed = scripts.read_res(vdir / f"final{j}.res")["energy"]
    res = scripts.run_relax({"data": str(vdir / f"final{j}.data"), "potential": str(vdir / "pot.in"),
                             "out": str(vdir / f"final{j}_box"), "box": "aniso", "ftol": "1e-6"})
    return {"system": label, "natoms": int(res["natoms"]), "e_final_fixed_box_eV": fixed,
            "e_final_relaxed_box_eV": res["energy"], "difference_eV": res["energy"] - fixed}


def fecr_box_effect() -> dict:
    """The same for a hop in random Fe-20Cr (FeCr.cdeam), where the end states differ."""
    from alloykit.structures import random_solid_solution

    atoms = random_solid_solution("bcc", {"Fe": 0.8, "Cr": 0.2}, 5, 2.8665, 11)
    with tempfile.TemporaryDirectory() as tmp:
        _, recs = vacancy_hops(atoms, 0, NebSettings(potential="FeCr", replicas=7), workdir=tmp, keep=True,
                               neighbors=[int(atoms.get_distances(0, range(1, len(atoms)), mic=True).argmin()) + 1])
        out = box_effect(Path(tmp), recs[0].neighbor_site, "random Fe-20Cr, FeCr.cdeam")
    out["e_final_minus_e_initial_eV"] = recs[0].energy_final - recs[0].energy_initial
    return out


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from alloykit.neb.plots import mep_plot

    runs = [one_hop(4, r) for r in (3, 5, 7, 9, 11, 13)]
    with tempfile.TemporaryDirectory() as tmp:
        big = one_hop(8, 11, workdir=tmp)
        box = [box_effect(Path(tmp), 1, "pure Fe, Fe_mm"), fecr_box_effect()]
    runs.append(big)
    for r in runs:
        print(f"{r['natoms']:5d} atoms {r['replicas']:3d} replicas: {r['barrier_eV']:.4f} eV  flag={r['flag'] or '-'}  "
              f"{r['neb_steps']} steps  {r['seconds']:.1f} s")
    eleven = [r for r in runs if r["replicas"] == 11]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    mep_plot({f"{r['natoms']} at., {r['replicas']} repl.{' (' + r['flag'] + ')' if r['flag'] else ''}":
              (r["mep_coords"], r["mep_energies"]) for r in runs if r["replicas"] in (5, 7, 11)}, ax)
    ax.axhline(REFERENCE, color="gray", lw=0.8, ls="--")
    ax.set_title("Fe vacancy hop, Fe_mm: climbing-image NEB", fontsize=9)
    fig.savefig(RESULTS / "neb_fe_barrier.png", dpi=110, bbox_inches="tight")
    write("neb_fe_barrier", {
        "reference_eV": REFERENCE, "potential": "Fe_mm (eam/fs)", "lattice_parameter_A": 2.855,
        "settings": "spring 5 eV/A, etol 0, ftol 0.001 eV/A, FIRE, climbing image; box relaxed (aniso) in the initial state",
        "runs": runs,
        "eleven_replica_barriers_eV": {str(r["natoms"]): r["barrier_eV"] for r in eleven},
        "max_error_11_replicas_eV": max(abs(r["barrier_eV"] - REFERENCE) for r in eleven),
        "final_state_box_relaxation": box,
    })


if __name__ == "__main__":
    main()
