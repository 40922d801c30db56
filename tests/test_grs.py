"""GRS: the loss, its exact gradient inside LAMMPS, annealing, candidates, MPI."""
import json
import sys

import numpy as np
import pytest
from ase.build import bulk
from ase.neighborlist import neighbor_list

from conftest import ROOT, VENV_BIN, random_fecr, run

from alloykit.grs import (GRSPotential, Moves, Target, anneal, build_target, check_cutoff, exact_counts,
                          generate, hnf_matrices, lattice_candidate, random_dense_cell)
from alloykit.lmp import LammpsCalculator, Potential, relax
from alloykit.structures import CompositionRounded

SMALL = dict(nmax=(4, 2, 1), lmax=(0, 2, 1))


@pytest.fixture(scope="module")
def target():
    return build_target([random_fecr(4, seed=1), random_fecr(4, seed=2)], rcut=4.6, **SMALL)


@pytest.fixture(scope="module")
def cell():
    c = random_fecr(2, seed=5, rattle=0.12)
    return c


def test_loss_is_zero_for_the_target_and_positive_otherwise(target):
    pot = GRSPotential(build_target(random_fecr(3, seed=9), rcut=4.6, **SMALL))
    assert abs(pot.energy(random_fecr(3, seed=9))) < 1e-20
    assert GRSPotential(target).energy(random_fecr(3, seed=9)) > 1e-6


def test_forces_are_the_exact_gradient_inside_lammps(target, cell):
    pot = GRSPotential(target)
    e_py, f_py = pot.energy_and_forces(cell)
    calc = LammpsCalculator(Potential.from_model(pot))
    cell = cell.copy()
    cell.calc = calc
    assert abs(cell.get_potential_energy() - e_py) <= 1e-12 * abs(e_py)
    f = cell.get_forces()
    assert np.abs(f - f_py).max() <= 1e-10 * np.abs(f_py).max()
    assert abs(cell.get_potential_energies().sum() - e_py) <= 1e-12 * abs(e_py)
    h = 1e-5
    for atom, k in [(0, 0), (4, 1), (11, 2)]:
        e = []
        for s in (h, -h):
            p = cell.copy()
            p.calc = calc
            p.positions[atom, k] += s
            e.append(p.get_potential_energy())
        fd = -(e[0] - e[1]) / (2 * h)
        assert abs(fd - f[atom, k]) <= 1e-6 * np.abs(f).max()


def test_lammps_minimisers_lower_the_loss(target, cell):
    pot = GRSPotential(target)
    start = pot.energy(cell)
    for style in ("cg", "fire"):
        r = relax(cell, Potential.from_model(pot), min_style=style, ftol=1e-5, maxiter=500)
        assert r.get_potential_energy() < 0.5 * start
        assert abs(pot.energy(r) - r.get_potential_energy()) <= 1e-10 * start
    r = relax(cell, Potential.from_model(pot), box="iso", ftol=1e-5, maxiter=500)
    assert r.get_potential_energy() < 0.5 * start


def test_reverse_grs_stays_bounded(target, cell):
    """Negative weights: each moment term is bounded below by its weight, so Q >= -2."""
    pot = GRSPotential(target, weights=(-1.0, -1.0))
    assert pot.energy(cell) >= -2.0
    r = relax(cell, Potential.from_model(pot), ftol=1e-4, maxiter=300)
    assert np.isfinite(r.get_potential_energy()) and r.get_potential_energy() >= -2.0
    assert neighbor_list("d", r, 1.5).size == 0    # the core repulsion kept atoms apart


def test_ensemble_term_has_exact_forces(target, cell):
    """Eq. 14: the joint distribution of this cell and fixed others; FD checks the force."""
    other = random_fecr(2, seed=8, rattle=0.1)
    pot = GRSPotential(target)
    import torch

    ace = pot.ace
    b = ace.compute(other)
    pot.ensemble_sums = pot.loss.sums(b, torch.from_numpy(ace.element_index(other.get_chemical_symbols())))
    both = pot.loss(torch.cat([ace.compute(cell), b]),
                    torch.from_numpy(ace.element_index(cell.get_chemical_symbols() + other.get_chemical_symbols())))
    e, f = pot.energy_and_forces(cell)
    assert abs(e - pot.energy(cell)) < 1e-12
    assert abs(e - float(both)) < 1e-9    # no core overlap here: V = Q of the union
    h = 1e-5
    p = cell.copy()
    p.positions[2, 0] += h
    ep = pot.energy(p)
    p.positions[2, 0] -= 2 * h
    em = pot.energy(p)
    assert abs(-(ep - em) / (2 * h) - f[2, 0]) <= 1e-6 * np.abs(f).max()
    assert np.abs(f).max() > 1e-3
    # inside LAMMPS too: the energy LAMMPS sums is the pooled loss (not scaled by this
    # cell's share of the atoms) and a minimisation lowers it
    r = relax(cell, Potential.from_model(pot), ftol=1e-6, maxiter=300)
    assert abs(r.get_potential_energy() - pot.energy(r)) <= 1e-10 * e
    assert pot.energy(r) < 0.9 * e


def test_tiny_aucu3_recovery():
    """L1_2 AuCu3 from a random Au2Cu6 2x1x1 supercell by chemical swaps."""
    prim = bulk("Cu", "fcc", a=3.75, cubic=True)
    l12 = prim.copy()
    l12.set_chemical_symbols(["Au", "Cu", "Cu", "Cu"])
    target = build_target(l12, rcut=4.2, **SMALL)
    pot = GRSPotential(target)
    hits = []
    for seed in range(3):
        cand = lattice_candidate(prim, 2, {"Au": 0.25, "Cu": 0.75}, seed=seed, matrix=np.diag([2, 1, 1]))
        res = anneal(cand, pot, steps=300, seed=seed, moves=Moves(swap=1.0))
        hits.append(res.hit_step)
        if res.hit_step is not None:
            a = res.atoms
            i, j = neighbor_list("ij", a, 2.8)
            sym = np.array(a.get_chemical_symbols())
            au = np.flatnonzero(sym == "Au")
            assert all((sym[j[i == k]] == "Cu").all() and (i == k).sum() == 12 for k in au)
    assert sum(h is not None for h in hits) >= 2


def test_candidates_and_bad_input(target):
    assert len(hnf_matrices(4)) == 35    # the number of sublattices of index 4 of a 3D lattice
    assert all(round(abs(np.linalg.det(m))) == 4 for m in hnf_matrices(4))
    c = lattice_candidate(bulk("Fe", "bcc", a=2.86), 12, {"Fe": 0.75, "Cr": 0.25}, seed=3)
    assert len(c) == 12 and c.get_chemical_symbols().count("Cr") == 3
    assert abs(c.get_volume() - 12 * bulk("Fe", "bcc", a=2.86).get_volume()) < 1e-9
    d = random_dense_cell(20, {"Ta": 1.0}, 0.05, 2.3, seed=1)
    assert neighbor_list("d", d, 2.3).size == 0 and abs(len(d) / d.get_volume() - 0.05) < 1e-9
    with pytest.raises(ValueError, match="V at fraction 0.05 gives no atom in 10 sites"):
        exact_counts({"Fe": 0.8, "Cr": 0.15, "V": 0.05}, 10)
    # a composition N atoms cannot hold exactly is rounded (largest remainder), with a note
    with pytest.warns(CompositionRounded, match="Fe 8.01 -> 8, Cr 6.02 -> 6, Mo 5.97 -> 6"):
        assert exact_counts({"Fe": 0.4005, "Cr": 0.301, "Mo": 0.2985}, 20) == {"Fe": 8, "Cr": 6, "Mo": 6}
    with pytest.raises(ValueError, match="not in the target"):
        generate(target, 16, composition={"Fe": 0.5, "Ni": 0.5})
    with pytest.raises(ValueError, match="the target has \\['Cr'\\]"):
        generate(target, 16, composition={"Fe": 1.0})
    with pytest.raises(ValueError, match="larger than half the cell"):
        check_cutoff(bulk("Fe", "bcc", a=2.86, cubic=True).repeat(2), 4.6)
    with pytest.raises(ValueError, match="no atoms|cannot read"):
        Target.from_structures([])


def test_target_file_and_model_file_in_lmp(tmp_path, target, cell):
    path = target.save(tmp_path / "t.json")
    back = Target.load(path)
    assert np.array_equal(back.sums, target.sums) and back.descriptor_config == target.descriptor_config
    (tmp_path / "junk.json").write_text("{}")
    with pytest.raises(ValueError, match="not a GRS target file"):
        Target.load(tmp_path / "junk.json")
    from alloykit.mliap import save_model

    model = save_model(GRSPotential(target), tmp_path / "grs.akm")
    cell.write(tmp_path / "cell.data", format="lammps-data", specorder=["Cr", "Fe"], masses=True)
    script = tmp_path / "in.grs"
    script.write_text(f"units metal\natom_style atomic\nread_data {tmp_path / 'cell.data'}\n"
                      f"pair_style mliap/unified {model}\npair_coeff * * Cr Fe\nrun 0\n"
                      "print \"GRS_ENERGY $(pe:%.15g)\"\n")
    r = run([str(VENV_BIN / "lmp"), "-in", str(script), "-log", "none"], cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-1000:] + r.stderr[-1000:]
    e = float(r.stdout.split("GRS_ENERGY")[1].split()[0])
    from ase.io import read

    as_read = read(tmp_path / "cell.data", format="lammps-data", Z_of_type={1: 24, 2: 26}, atom_style="atomic")
    assert abs(e - GRSPotential(target).energy(as_read)) <= 1e-10 * abs(e)


def test_two_mpi_ranks_give_the_serial_energy_and_forces(tmp_path, target):
    cell = random_fecr(3, seed=6, rattle=0.1)
    tpath = target.save(tmp_path / "t.json")
    cell.write(tmp_path / "cell.extxyz")
    out = tmp_path / "out.json"
    r = run([str(VENV_BIN / "mpiexec"), "-n", "2", sys.executable, str(ROOT / "tests" / "grs_mpi_check.py"),
             str(tpath), str(out), str(tmp_path / "cell.extxyz")])
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(out.read_text())
    assert min(got["nlocal"]) > 0
    from ase.io import read

    e, f = GRSPotential(target).energy_and_forces(read(tmp_path / "cell.extxyz"))    # as the ranks read it
    assert abs(got["energy"] - e) <= 1e-10 * abs(e)
    assert np.abs(np.array(got["forces"]).reshape(-1, 3) - f).max() <= 1e-9 * np.abs(f).max()


def test_grs_command(tmp_path):
    from ase.build import bulk as _bulk

    l12 = _bulk("Cu", "fcc", a=3.75, cubic=True)
    l12.set_chemical_symbols(["Au", "Cu", "Cu", "Cu"])
    l12.write(tmp_path / "aucu3.extxyz")
    base = [str(VENV_BIN / "alloykit"), "grs", "--target", str(tmp_path / "aucu3.extxyz"), "--parent", "fcc:3.75",
            "--rcut", "4.2", "--nmax", "4,2,1", "--lmax", "0,2,1", "--out", str(tmp_path / "out")]
    r = run(base + ["--natoms", "8", "--steps", "300", "--seed", "1", "--allow-images"])
    assert r.returncode == 0, r.stderr[-1500:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["formula"] == "Au2Cu6" and summary["loss"] < 1e-10
    for f in ("grs.extxyz", "grs.data", "POSCAR", "moments.png", "history.json", "target.json"):
        assert (tmp_path / "out" / f).stat().st_size > 0
    r = run(base + ["--natoms", "8", "--composition", "Au=0.05,Cu=0.95", "--allow-images"])
    assert r.returncode == 2 and "Au at fraction 0.05 gives no atom in 8 sites" in r.stderr
    assert r.stderr.strip().count("\n") == 0 and r.stderr.startswith("alloykit grs: ")
    r = run(base + ["--natoms", "8"])
    assert r.returncode == 2 and "larger than half the cell" in r.stderr
    # the genetic algorithm from the command line: L1_2 found, and the same seed gives the same cell
    for out in ("ga1", "ga2"):          # base ends with "--out DIR": another DIR each time
        r = run(base[:-1] + [str(tmp_path / out), "--natoms", "8", "--method", "ga", "--population", "8",
                             "--steps", "30", "--seed", "2", "--allow-images"])
        assert r.returncode == 0, r.stderr[-1500:]
    one, two = (json.loads((tmp_path / o / "summary.json").read_text()) for o in ("ga1", "ga2"))
    assert one["formula"] == "Au2Cu6" and one["loss"] < 1e-10 and one == two


def test_grs_reads_typed_lammps_files_only_with_species(tmp_path):
    """A dump or data file with atom types only: --species names them (type 1 = first);
    without it the command refuses in one line instead of reading types as H and He."""
    from alloykit.structures import write_lammps_data, write_lammps_dump

    cell = random_fecr(2, seed=3)
    write_lammps_dump([cell], tmp_path / "t.dump", species=["Fe", "Cr"])
    text = (tmp_path / "t.dump").read_text().replace("id type element x y z", "id type x y z")
    (tmp_path / "t.dump").write_text("\n".join(" ".join(w for k, w in enumerate(ln.split()) if k != 2)
                                               if ln and ln[0].isdigit() and len(ln.split()) == 6 else ln
                                               for ln in text.splitlines()) + "\n")
    write_lammps_data(cell, tmp_path / "t.data", species=["Fe", "Cr"])
    text = (tmp_path / "t.data").read_text()
    (tmp_path / "t.data").write_text(text[:text.index("Masses")] + text[text.index("Atoms"):])
    for name in ("t.dump", "t.data"):
        base = [str(VENV_BIN / "alloykit"), "grs", "--target", str(tmp_path / name), "--natoms", "4",
                "--parent", "bcc:2.86", "--rcut", "4.2", "--nmax", "4,2,1", "--lmax", "0,2,1", "--steps", "5",
                "--allow-images", "--quiet", "--out", str(tmp_path / f"out_{name}")]
        r = run(base)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert r.stderr.startswith(f"alloykit grs: {tmp_path / name}") and "--species" in r.stderr
        assert r.stderr.strip().count("\n") == 0
        r = run(base + ["--species", "Fe", "Cr"])
        assert r.returncode == 0, r.stderr[-1500:]
        target = json.loads((tmp_path / f"out_{name}" / "target.json").read_text())
        assert target["descriptor"]["elements"] == ["Cr", "Fe"]
        summary = json.loads((tmp_path / f"out_{name}" / "summary.json").read_text())
        # 3 Cr in 16 atoms is 0.75 of an atom in 4: rounded to one, with a note
        assert summary["formula"] == "CrFe3" and "note: composition rounded" in r.stderr


def test_minimisations_relax_the_cell_towards_a_strained_target():
    """Moves.box: with the cell relaxed by the LAMMPS minimisations, cells started on the
    unstrained lattice take the shape of a target strained 6 % along one axis (the wire
    snapshots need this); with a fixed cell they cannot."""
    from alloykit.grs import Moves

    strained = bulk("Fe", "bcc", a=2.86, cubic=True).repeat((3, 3, 3))
    strained.set_cell(strained.cell.array * [1.0, 1.0, 1.06], scale_atoms=True)
    target = build_target(strained, rcut=4.6, **SMALL)
    parent = bulk("Fe", "bcc", a=2.86, cubic=True)
    out = {}
    for box in (False, "aniso"):
        # displacements first: a perfect cubic cell feels an isotropic stress by symmetry
        res = generate(target, 16, parent=parent, matrix=np.diag([2, 2, 2]), steps=6, seed=0, allow_images=True,
                       moves=Moves(swap=0.0, displace=1.0, minimize=0.5, step=0.05, box=box), minimize=True)
        lengths = res.atoms.cell.lengths()
        out[box] = (res.loss, lengths.max() / lengths.min())    # descriptors do not see which axis
    assert abs(out[False][1] - 1.0) < 1e-9                 # the fixed cell stays cubic
    assert abs(out["aniso"][1] - 1.06) < 0.02               # the relaxed one follows the target
    assert out["aniso"][0] < 0.1 * out[False][0]
