"""Cost of running a Python model inside LAMMPS through pair_style mliap/unified.

1. Time per MD step of the torch Lennard-Jones model (autograd forces) divided by LAMMPS's
   built-in lj/cut, 864 atoms (fcc 6x6x6, argon, 8.5 A cutoff), same process, interleaved.
   The same for an analytic numpy LJ model, to split the coupling from torch's own cost.
2. Bare per-call overhead of the coupling: a model that does nothing versus
   ``pair_style zero`` with the same cutoff and neighbour list, 864 and 32 atoms.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write  # noqa: E402

from alloykit.lmp import Lammps  # noqa: E402
from alloykit.mliap import MLIAPUnified, load_unified  # noqa: E402
from alloykit.mliap.models import NullModel, TorchLennardJones  # noqa: E402

EPS, SIG, RC = 0.0104, 3.4, 8.5


class NumpyLennardJones(MLIAPUnified):
    """Analytic LJ in numpy, written the way LAMMPS's own unified example is."""

    def __init__(self):
        super().__init__()
        self.element_types, self.rcutfac, self.ndescriptors, self.nparams = ["Ar"], RC / 2, 1, 1

    def compute_forces(self, data):
        r2inv = 1.0 / np.einsum("ij,ij->i", data.rij, data.rij)
        sr6 = (SIG * SIG * r2inv) ** 3
        eij = 4 * EPS * (sr6 * sr6 - sr6)
        dedr_over_r = 4 * EPS * (-12 * sr6 * sr6 + 6 * sr6) * r2inv
        data.update_pair_energy(eij)
        data.update_pair_forces(0.5 * dedr_over_r[:, None] * data.rij)


def system(cells: int, pair: list[str], model=None) -> Lammps:
    lmp = Lammps()
    lmp.commands(["units metal", "atom_style atomic", "lattice fcc 5.26",
                  f"region box block 0 {cells} 0 {cells} 0 {cells}", "create_box 1 box",
                  "create_atoms 1 box", "mass 1 39.948", "velocity all create 50 12345 loop geom"])
    if model is not None:
        load_unified(lmp, model)
    lmp.commands(pair + ["neighbor 1.0 bin", "fix nve all nve", "thermo 0", "run 10"])
    return lmp


def per_step(lmp: Lammps, steps: int) -> float:
    t0 = time.perf_counter()
    lmp.command(f"run {steps} pre no post no")
    return (time.perf_counter() - t0) / steps


def compare(cases: dict, steps: int, repeats: int = 5) -> dict:
    """Seconds per step of each case: best of ``repeats``, the cases interleaved so that
    machine noise hits all of them alike."""
    best = {k: float("inf") for k in cases}
    for _ in range(repeats):
        for k, lmp in cases.items():
            best[k] = min(best[k], per_step(lmp, steps))
    return best


def main():
    cells = 6
    mliap = ["pair_style mliap/unified LATER", "pair_coeff * * Ar"]
    cases = {
        "lj/cut": system(cells, [f"pair_style lj/cut {RC}", f"pair_coeff 1 1 {EPS} {SIG}"]),
        "mliap torch LJ": system(cells, mliap, TorchLennardJones(["Ar"], epsilon=EPS, sigma=SIG, rcut=RC)),
        "mliap numpy LJ": system(cells, mliap, NumpyLennardJones()),
    }
    natoms = cases["lj/cut"].natoms
    t = compare(cases, steps=50)
    null = {}
    for n in (6, 2):
        c = {"zero": system(n, [f"pair_style zero {RC}", "pair_coeff * *"]),
             "mliap null": system(n, mliap, NullModel(["Ar"], rcut=RC))}
        tt = compare(c, steps=200 if n == 6 else 2000)
        null[c["zero"].natoms] = {"zero_us_per_step": tt["zero"] * 1e6, "null_model_us_per_step": tt["mliap null"] * 1e6,
                                  "overhead_us_per_call": (tt["mliap null"] - tt["zero"]) * 1e6}
        for lmp in c.values():
            lmp.close()
    data = {
        "natoms": natoms,
        "cutoff_A": RC,
        "ms_per_step": {k: v * 1e3 for k, v in t.items()},
        "ratio_torch_lj_over_lj_cut": t["mliap torch LJ"] / t["lj/cut"],
        "ratio_numpy_lj_over_lj_cut": t["mliap numpy LJ"] / t["lj/cut"],
        "coupling_overhead_per_call": null,
        "method": "best of 5 interleaved repeats; one LAMMPS instance per case in one process; 1 core",
    }
    write("mliap_overhead", data)
    for lmp in cases.values():
        lmp.close()
    print(data)


if __name__ == "__main__":
    main()
