"""GRS sets (Eq. 14): pooled loss, ensemble forces, reverse GRS, resume; coverage measures
(Eq. 18 hull volumes, Monte Carlo covered fraction, moment MAE). References are
independent: numpy moments of concatenated descriptors, finite differences, analytic
volumes."""
import json
import sys

import numpy as np
import pytest
from ase.build import bulk
from ase.io import read

from conftest import VENV_BIN, run
from conftest import random_fecr as _random_fecr

from alloykit.errors import InputError
from alloykit.grs import GRSPotential, build_target, generate
from alloykit.grs.coverage import coverage_report, descriptors, histogram_figure, hull_fraction, moment_mae, pca_space
from alloykit.grs.sets import GRSSet, generate_set, set_sums, write_set
from alloykit.structures import sample_seed

SMALL = dict(rcut=3.6, nmax=(4, 2, 1), lmax=(0, 2, 1))
PARENT = bulk("Fe", "bcc", a=2.86, cubic=True)
FAST = dict(parent=PARENT, steps=60, allow_images=True, pair=False)


def random_fecr(n=3, seed=0, rattle=0.05):
    return _random_fecr(n, seed, rattle, cr=0.25)


@pytest.fixture(scope="module")
def structures():
    return [random_fecr(3, seed=1), random_fecr(3, seed=2)]


@pytest.fixture(scope="module")
def target(structures):
    return build_target(structures, **SMALL)


def numpy_loss(target, cells, weights=(1.0, 1.0)):
    """Eqs. 13-14 from scratch: per-element mean and variance of all cells' descriptors."""
    ace = target.descriptor()
    b = np.concatenate([ace.compute(c).numpy() for c in cells])
    sym = np.concatenate([c.get_chemical_symbols() for c in cells])
    q = 0.0
    for e, el in enumerate(target.elements):
        n = target.counts[e]
        mu_t = target.sums[e, 0] / n
        var_t = target.sums[e, 1] / n - mu_t ** 2
        mine = b[sym == el]
        d1 = (mine.mean(0) - mu_t) / target.scale
        d2 = (mine.var(0) - var_t) / target.scale ** 2
        q += n / target.counts.sum() * (weights[0] * np.mean(d1 ** 2) + weights[1] * np.mean(d2 ** 2))
    return q


def test_set_loss_is_the_pooled_loss_of_its_cells(target):
    """Mixed sizes (16 and 8 atoms): the set's loss and each cell's equal the numpy
    moments of the concatenated descriptors; the pooled set beats its worst cell."""
    s = generate_set(target, 3, [16, 8], seed=2, **FAST)
    assert [len(c) for c in s.cells] == [16, 8, 16]
    assert len(set(s.seeds)) == 3
    assert abs(s.loss - numpy_loss(target, s.cells)) < 1e-10
    for cell, loss in zip(s.cells, s.cell_losses):
        assert abs(loss - numpy_loss(target, [cell])) < 1e-10
    assert s.loss < max(s.cell_losses)
    # refinement passes keep a cell only if the set improved
    r = generate_set(target, 3, [16, 8], seed=2, refine_passes=1, **FAST)
    assert r.loss <= s.loss + 1e-12 and r.refine_passes == 1


def test_ensemble_forces_match_finite_differences(target):
    """A cell optimised inside a set: V = Q(pooled) + core, forces exact (central FD)."""
    pot = GRSPotential(target)
    others = [random_fecr(2, seed=8, rattle=0.1), random_fecr(2, seed=9, rattle=0.1)]
    cell = random_fecr(2, seed=5, rattle=0.12)
    pot.ensemble_sums = set_sums(others, pot)
    e, f = pot.energy_and_forces(cell)
    assert abs(e - numpy_loss(target, [cell] + others)) < 1e-10    # no core overlap: V = Q of the union
    h = 1e-5
    for atom, axis in [(2, 0), (7, 1), (11, 2)]:
        p = cell.copy()
        p.positions[atom, axis] += h
        ep = pot.energy(p)
        p.positions[atom, axis] -= 2 * h
        em = pot.energy(p)
        assert abs(-(ep - em) / (2 * h) - f[atom, axis]) <= 1e-6 * np.abs(f).max()
    assert np.abs(f).max() > 1e-4


def test_reverse_grs_set_is_bounded_and_moves_away(target):
    """Fig. 6's weights (-0.01, -0.01): every term is bounded by its weight, and the set
    ends further from the target (forward loss) than the random candidates it started from."""
    w = (-0.01, -0.01)
    rev = generate_set(target, 2, 16, seed=4, weights=w, **{**FAST, "steps": 150})
    start = generate_set(target, 2, 16, seed=4, weights=w, **{**FAST, "steps": 0})
    assert rev.loss >= sum(w) and min(rev.cell_losses) >= sum(w)
    assert rev.loss < start.loss
    assert numpy_loss(target, rev.cells) > numpy_loss(target, start.cells)


def test_resume_reuses_finished_cells_and_grows_the_set(target, tmp_path):
    d = tmp_path / "set"
    two = generate_set(target, 2, 16, seed=3, directory=d, **FAST)
    assert sorted(p.name for p in d.iterdir()) == ["cell_000.extxyz", "cell_001.extxyz", "set.json"]
    three = generate_set(target, 3, 16, seed=3, directory=d, **FAST)
    for a, b in zip(two.cells, three.cells[:2]):
        assert np.array_equal(a.positions, b.positions) and a.get_chemical_symbols() == b.get_chemical_symbols()
    summary = json.loads((d / "set.json").read_text())
    assert summary["cells"][-1] == "cell_002.extxyz" and summary["natoms"] == [16, 16, 16]
    assert summary["loss"] == pytest.approx(three.loss, abs=1e-14)
    assert np.allclose(summary["moments"], three.moments, rtol=1e-12, atol=1e-14)
    fresh = generate_set(target, 3, 16, seed=3, **FAST)    # same seed, no directory: the same set
    for a, b in zip(fresh.cells, three.cells):
        assert np.array_equal(a.positions, b.positions) and a.get_chemical_symbols() == b.get_chemical_symbols()
    # each cell was made against the set so far: cells made alone with the same seeds pool worse
    alone = [generate(target, 16, seed=seed, **FAST).atoms for seed in fresh.seeds]
    assert fresh.loss < 0.8 * numpy_loss(target, alone)
    with pytest.raises(InputError, match="^seed:"):
        generate_set(target, 3, 16, seed=4, directory=d, **FAST)
    out = write_set(three, tmp_path / "data", format="lammps-data")
    assert len(out) == 3 and "atom types" in out[0].read_text()


@pytest.mark.parametrize("kwargs,message", [
    ({"ncells": 0}, "^ncells:"), ({"natoms": []}, "^natoms:"), ({"natoms": [16, -2]}, "^natoms:"),
    ({"refine_passes": -1}, "^refine_passes:"), ({"weights": (0.0, 0.0)}, "^weights:")])
def test_bad_input_is_refused_naming_the_argument(target, kwargs, message):
    args = {"ncells": 2, "natoms": 16, **kwargs}
    with pytest.raises(InputError, match=message):
        generate_set(target, args.pop("ncells"), args.pop("natoms"), **args, **FAST)
    with pytest.raises(InputError, match="^format:"):
        write_set(GRSSet([], [], 0.0, np.zeros(0)), "/nonexistent", format="cif")


# --- coverage ---------------------------------------------------------------------------
def test_hull_fraction_of_the_target_itself_and_of_a_subset():
    pts = np.random.default_rng(0).normal(size=(300, 3))
    same = hull_fraction(pts, pts, samples=2000)
    assert same["volume_ratio"] == pytest.approx(1.0, abs=1e-12) and same["covered_fraction"] == 1.0
    sub = hull_fraction(pts, pts[:100], samples=2000)
    assert 0 < sub["volume_ratio"] < 1 and 0 < sub["covered_fraction"] < 1
    assert hull_fraction(pts, pts[:3], samples=100)["volume_ratio"] == 0.0    # flat: no volume


@pytest.mark.parametrize("dims", [3, 4])
def test_monte_carlo_covered_fraction_of_a_box_in_a_box(dims):
    """A box of side 0.5 inside the unit box (and a box sticking out of it): the covered
    fraction is the analytic overlap volume within 4 sigma of the 20,000-sample estimate."""
    rng = np.random.default_rng(1)
    corners = np.array(np.meshgrid(*[[0.0, 1.0]] * dims)).reshape(dims, -1).T
    target = np.vstack([corners, rng.random((200, dims))])
    inner = hull_fraction(target, 0.2 + 0.5 * corners, samples=20000, seed=2)
    exact = 0.5 ** dims
    assert inner["volume_ratio"] == pytest.approx(exact, rel=1e-10)
    assert abs(inner["covered_fraction"] - exact) < 4 * np.sqrt(exact * (1 - exact) / 20000)
    out = hull_fraction(target, 0.75 + 0.5 * corners, samples=20000, seed=2)    # overlap 0.25^dims
    assert out["volume_ratio"] == pytest.approx(exact, rel=1e-10)
    assert abs(out["covered_fraction"] - 0.25 ** dims) < 4 * np.sqrt(0.25 ** dims / 20000)


def test_pca_dims_cap_and_moment_mae():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2000, 5)) * [10.0, 3.0, 0.01, 0.01, 0.01]
    space = pca_space(x, 0.99)
    assert space.dims == space.dims_needed == 2 and space.variance_kept > 0.99
    capped = pca_space(x, 0.99, max_dims=1)
    assert capped.dims == 1 and capped.dims_needed == 2 and 0.85 < capped.variance_kept < 0.99
    assert moment_mae(x, x) == 0.0
    assert moment_mae(x, x + 0.5, per_moment=True) == pytest.approx((0.5, 0.0), abs=1e-12)
    with pytest.raises(InputError, match="^variance:"):
        pca_space(x, 1.5)


def test_coverage_report_of_the_target_itself(target, structures, tmp_path):
    report = coverage_report(target, structures, target_structures=structures, max_dims=3, samples=2000)
    assert report["dims"] <= 3 and report["n_set"] == report["n_target"] == 108
    assert report["volume_ratio"] == pytest.approx(1.0, abs=1e-9) and report["covered_fraction"] == 1.0
    assert report["moment_mae"] < 1e-12
    alone = coverage_report(target, structures)    # from the target's power sums, per element
    assert alone["moment_mae"] < 1e-12 and alone["volume_ratio"] is None
    half = coverage_report(target, structures[:1], target_structures=structures, max_dims=3, samples=2000)
    assert half["volume_ratio"] < 1 and half["moment_mae"] > 1e-6
    ace = target.descriptor()
    path = tmp_path / "hist.png"
    histogram_figure(descriptors(structures, ace, target.scale), descriptors(structures[:1], ace, target.scale),
                     path=path)
    assert path.read_bytes()[:4] == b"\x89PNG"


MPI_SCRIPT = """
import json, sys
from ase.build import bulk
from mpi4py import MPI
from alloykit.grs import Target
from alloykit.grs.sets import generate_set
comm = MPI.COMM_WORLD
s = generate_set(Target.load(sys.argv[1]), 3, 16, parent=bulk("Fe", "bcc", a=2.86, cubic=True), steps=60,
                 allow_images=True, pair=False, seed=3, directory=sys.argv[2], comm=comm)
with open(f"{sys.argv[2]}/rank{comm.Get_rank()}.json", "w") as f:
    json.dump({"symbols": [c.get_chemical_symbols() for c in s.cells], "loss": s.loss}, f)
"""


def test_two_mpi_ranks_make_a_round_of_two_cells(target, tmp_path):
    """Round 1: cells 0 and 1 at once, each against the empty set (= made alone); round 2:
    cell 2 against both. The ranks agree, and rank 0 alone wrote the directory."""
    script, out = tmp_path / "mpi_set.py", tmp_path / "out"
    script.write_text(MPI_SCRIPT)
    target.save(tmp_path / "target.json")
    r = run([str(VENV_BIN / "mpiexec"), "-n", "2", sys.executable, str(script), str(tmp_path / "target.json"),
             str(out)], timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    ranks = [json.loads((out / f"rank{k}.json").read_text()) for k in range(2)]
    assert ranks[0] == ranks[1] and len(ranks[0]["symbols"]) == 3
    cells = [read(out / f"cell_{k:03d}.extxyz") for k in range(3)]
    assert abs(ranks[0]["loss"] - numpy_loss(target, cells)) < 1e-10
    for k in range(2):    # (equal losses: ties between equivalent labellings fall by rounding, thread counts)
        alone = generate(target, 16, seed=sample_seed(3, k), **FAST).atoms
        assert abs(numpy_loss(target, [cells[k]]) - numpy_loss(target, [alone])) < 1e-10
    assert numpy_loss(target, [cells[2]]) > numpy_loss(target, [cells[0]]) + 1e-4    # made for the set, not alone


def test_grs_set_command_grows_and_reports_coverage(tmp_path):
    """``alloykit grs --ncells``: a 2-cell set with its coverage report, grown to 3 by a
    rerun with the same --out (the first two cells kept); --reverse with --weights refused."""
    from alloykit.structures import random_solid_solution

    random_solid_solution("bcc", {"Fe": 0.5, "Cr": 0.5}, size=4, a=2.87, seed=1).write(tmp_path / "t.extxyz")
    exe = str(VENV_BIN / "alloykit")
    base = [exe, "grs", "--target", str(tmp_path / "t.extxyz"), "--parent", "bcc:2.87", "--rcut", "4.2",
            "--nmax", "4,2,1", "--lmax", "0,2,1", "--natoms", "8", "--steps", "40", "--allow-images",
            "--out", str(tmp_path / "out")]
    r = run(base + ["--ncells", "2", "--coverage"])
    assert r.returncode == 0, r.stderr[-1500:]
    first = [read(tmp_path / "out" / "set" / f"cell_{k:03d}.extxyz") for k in range(2)]
    cov = json.loads((tmp_path / "out" / "coverage.json").read_text())
    assert cov["n_set"] == 16 and cov["n_target"] == 128 and 0 <= cov["covered_fraction"] <= 1
    assert (tmp_path / "out" / "coverage.png").stat().st_size > 0
    r = run(base + ["--ncells", "3"])
    assert r.returncode == 0, r.stderr[-1500:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["ncells"] == 3 and len(list((tmp_path / "out" / "set_lammps").glob("cell_*.data"))) == 3
    for k, atoms in enumerate(first):
        again = read(tmp_path / "out" / "set" / f"cell_{k:03d}.extxyz")
        assert again.get_chemical_symbols() == atoms.get_chemical_symbols()
    r = run(base + ["--reverse", "--weights", "1,1,1"])
    assert r.returncode == 2 and "--reverse" in r.stderr and r.stderr.strip().count("\n") == 0
