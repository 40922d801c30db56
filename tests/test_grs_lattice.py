"""GRS on a lattice: incremental loss, exact pair counts, pair-first search, compact cells,
resource guards. References are independent: the torch GRS energy, ASE's neighbour list,
brute-force enumeration."""
import itertools
import time

import numpy as np
import pytest
from ase.build import bulk, make_supercell
from ase.neighborlist import neighbor_list

from conftest import VENV_BIN, run

from alloykit.grs import (GRSPotential, Moves, build_target, generate, hnf_matrices, lattice_candidate,
                          lexicographic_search, random_alloy_target)
from alloykit.grs.incremental import IncrementalLoss
from alloykit.grs.pairorder import PairOrder
from alloykit.structures import CompositionRounded
from alloykit.structures.lattice import compact_supercell

SMALL = dict(rcut=4.2, nmax=(4, 2, 1), lmax=(0, 2, 1))
BCC = bulk("Fe", "bcc", a=2.87, cubic=True)


@pytest.fixture(scope="module")
def random_target():
    return random_alloy_target("bcc", 2.87, {"Fe": 0.5, "Cr": 0.5}, size=6, **SMALL)


def test_incremental_loss_equals_full_recomputation(random_target):
    """300 random swaps and flips (half accepted) on a ternary-free binary 54-atom cell:
    the incremental loss equals the torch GRS energy of the same labelling to 1e-10."""
    pot = GRSPotential(random_target)
    cell = lattice_candidate(BCC, 27, {"Fe": 0.5, "Cr": 0.5}, seed=3, matrix=np.diag([3, 3, 3]))
    cell.rattle(0.05, seed=1)    # fixed but not ideal positions: every pair distinct
    elem = pot.ace.element_index(cell.get_chemical_symbols())
    inc = IncrementalLoss(pot, cell, elem)
    rng = np.random.default_rng(0)
    for step in range(300):
        a = rng.integers(len(cell))
        if step % 3:
            b = rng.choice(np.flatnonzero(inc.elem != inc.elem[a]))
            value = inc.trial([a, b], [inc.elem[b], inc.elem[a]])
        else:
            value = inc.trial([a], [1 - inc.elem[a]])
        if rng.random() < 0.5:
            inc.accept()
            assert inc.value == value
    check = cell.copy()
    check.set_chemical_symbols([pot.ace.elements[k] for k in inc.elem])
    assert abs(inc.value - pot.energy(check)) <= 1e-10 * max(1.0, abs(inc.value))
    assert abs(inc.value - inc.full()) <= 1e-12


def test_incremental_loss_pools_the_other_cells_of_a_set(random_target):
    """With the power sums of another cell as the ensemble term (Eq. 14), the incremental
    loss of a swap equals the torch GRS energy of the pooled pair of cells."""
    import torch

    pot = GRSPotential(random_target)
    other = lattice_candidate(BCC, 8, {"Fe": 0.25, "Cr": 0.75}, seed=5, matrix=np.diag([2, 2, 2]))
    pairs = pot.ace.pairs(other)
    pot.ensemble_sums = pot.loss.sums(pot.ace.from_pairs(pairs), torch.from_numpy(
        pot.ace.element_index(other.get_chemical_symbols())))
    cell = lattice_candidate(BCC, 27, {"Fe": 0.5, "Cr": 0.5}, seed=3, matrix=np.diag([3, 3, 3]))
    elem = pot.ace.element_index(cell.get_chemical_symbols())
    inc = IncrementalLoss(pot, cell, elem)
    a, b = 0, int(np.flatnonzero(elem != elem[0])[0])
    value = inc.trial([a, b], [elem[b], elem[a]])
    elem[[a, b]] = elem[[b, a]]
    cell.set_chemical_symbols([pot.ace.elements[k] for k in elem])
    assert abs(value - pot.energy(cell)) <= 1e-10 * max(1.0, abs(value))
    pot.ensemble_sums = None
    assert abs(value - pot.energy(cell)) > 1e-6    # the other cell did count


def ase_alpha(atoms, radii, a="Cr", b="Fe"):
    """Warren-Cowley alpha_s(a, b) from ASE's neighbour list, shell by shell."""
    i, j, d = neighbor_list("ijd", atoms, radii[-1] + 0.1)
    sym = np.array(atoms.get_chemical_symbols())
    c_b = np.mean(sym == b)
    out = []
    for r in radii:
        sel = (np.abs(d - r) < 0.05) & (sym[i] == a)
        out.append(1 - np.mean(sym[j[sel]] == b) / c_b)
    return np.array(out)


def test_pair_counts_follow_swaps_exactly():
    cell = lattice_candidate(bulk("Cu", "fcc", a=3.6), 12, {"Cu": 0.5, "Ni": 0.25, "Au": 0.25}, seed=2)
    el = np.unique(cell.get_chemical_symbols(), return_inverse=True)[1]
    order = PairOrder(cell, el, 3, 3)
    rng = np.random.default_rng(1)
    for _ in range(100):
        x, y = rng.integers(len(cell), size=(2, 8))
        ok = order.elem[x] != order.elem[y]
        predicted = order.swap_values(x[ok], y[ok])
        k = int(np.argmin(predicted))
        order.accept_swap(x[ok][k], y[ok][k])
        assert np.array_equal(order.counts, order._count(order.elem))
        assert abs(order.value - predicted[k]) < 1e-12
    symbols = np.array(["Au", "Cu", "Ni"])[order.elem]
    cell.set_chemical_symbols(symbols)
    from alloykit.grs.pairorder import shell_alpha

    alpha = shell_alpha(order.counts)
    assert np.allclose(alpha[:, 0, 1], ase_alpha(cell, order.radii, "Au", "Cu"), atol=1e-12)


def test_pair_first_search_is_the_lexicographic_optimum(random_target):
    """16-atom Fe8Cr8 (2x2x2 BCC): every labelling enumerated; the search returns the
    lowest pair mismatch (alpha_1..3 = 0) and, among those cells, the lowest GRS loss."""
    pot = GRSPotential(random_target)
    cell = lattice_candidate(BCC, 8, {"Fe": 0.5, "Cr": 0.5}, seed=0, matrix=np.diag([2, 2, 2]))
    el = pot.ace.element_index(cell.get_chemical_symbols())
    order = PairOrder(cell, el, 2, 3, random_target.pair_alpha)
    inc = IncrementalLoss(pot, cell, el)
    best = (np.inf, np.inf)
    for comb in itertools.combinations(range(16), 8):
        e = np.zeros(16, dtype=np.int64)
        e[list(comb)] = 1
        p = order.mismatch(order._count(e))
        if p < best[0] - 1e-9:
            best = (p, inc.full(e))
        elif abs(p - best[0]) <= 1e-9:
            best = (p, min(best[1], inc.full(e)))
    res = lexicographic_search(cell, pot, random_target.pair_alpha, steps=60, seed=1)
    assert res.pair_mismatch <= best[0] + 1e-9
    assert abs(res.loss - best[1]) <= 1e-10
    assert np.allclose(ase_alpha(res.atoms, order.radii), 0, atol=1e-12)


def test_generate_keeps_pair_order_on_54_atoms(random_target):
    """Fe27Cr27, 3x3x3 BCC: 1/81 is the parity optimum of |alpha_1|+|alpha_2|+|alpha_3|
    (27 x 27 pairs cannot split evenly), what icet and sqsgenerator reach."""
    res = generate(random_target, 54, parent=BCC, steps=150, seed=0, allow_images=True)
    assert np.allclose(res.atoms.cell.lengths(), 8.61)    # the compact cell: the cube
    alpha = ase_alpha(res.atoms, [2.4855, 2.87, 4.0588])
    assert abs(np.abs(alpha).sum() - res.pair_mismatch) < 1e-12
    assert res.pair_mismatch <= 1 / 81 + 1e-12


def shortest_vector(cell, reach=4):
    n = np.array([v for v in itertools.product(range(-reach, reach + 1), repeat=3) if any(v)])
    return np.linalg.norm(n @ cell, axis=1).min()


def test_compact_supercell():
    prim = bulk("Fe", "bcc", a=2.87)
    for det in (6, 9, 10):    # brute force over every supercell lattice
        best = max(shortest_vector(h @ prim.cell.array) for h in hnf_matrices(det))
        m = compact_supercell(prim.cell.array, det)
        assert round(abs(np.linalg.det(m))) == det
        assert abs(shortest_vector(m @ prim.cell.array) - best) < 1e-9
    # 30 BCC atoms: no 3 x 3 x 65 A column; 54: the 3x3x3 cube
    cell = make_supercell(prim, compact_supercell(prim.cell.array, 30))
    assert cell.cell.lengths().max() < 10 and len(cell) == 30
    assert np.allclose(make_supercell(prim, compact_supercell(prim.cell.array, 54)).cell.lengths(), 3 * 2.87)


def test_rounding_and_resource_guards(random_target):
    comp = {"Fe": 0.4005, "Cr": 0.301, "Mn": 0.2985}
    target = random_alloy_target("bcc", 2.87, comp, size=4, **SMALL)
    with pytest.warns(CompositionRounded, match="Fe 8.01 -> 8, Cr 6.02 -> 6, Mn 5.97 -> 6"):
        res = generate(target, 20, composition=comp, parent=bulk("Fe", "bcc", a=2.87), steps=5, allow_images=True)
    assert sorted(res.atoms.get_chemical_symbols().count(e) for e in ("Fe", "Cr", "Mn")) == [6, 6, 8]
    prim = bulk("Fe", "bcc", a=2.87)
    cases = [(dict(natoms=100000000, parent=prim), "natoms"),
             (dict(natoms=16, parent=bulk("Fe", "bcc", a=1e-3)), "parent"),
             (dict(natoms=16, min_distance=-1), "min_distance"),
             (dict(natoms=200000, parent=prim), "GiB of pair tables"),
             (dict(natoms=16, parent=prim, method="ga", moves=Moves(displace=1.0, box="iso")), "moves.box")]
    for kwargs, match in cases:
        t = time.perf_counter()
        with pytest.raises(ValueError, match=match):
            generate(random_target, steps=5, allow_images=True, **kwargs)
        assert time.perf_counter() - t < 5
    with pytest.raises(ValueError, match="rcut: a 1e\\+04 A cutoff"):
        build_target(BCC, rcut=1e4)


def test_grs_command_guards(tmp_path):
    BCC.write(tmp_path / "fe.extxyz")
    base = [str(VENV_BIN / "alloykit"), "grs", "--target", str(tmp_path / "fe.extxyz"), "--out", str(tmp_path / "o")]
    for extra, match in ((["--natoms", "16", "--rcut", "1e4"], "rcut:"),
                         (["--natoms", "100000000", "--parent", "bcc:2.87"], "natoms:"),
                         (["--natoms", "16", "--parent", "bcc:1e-3"], "parent:")):
        r = run(base + extra, timeout=60)
        assert r.returncode == 2 and r.stderr.startswith(f"alloykit grs: {match}"), r.stderr[-800:]
        assert r.stderr.strip().count("\n") == 0


def l12_target():
    l12 = bulk("Cu", "fcc", a=3.75, cubic=True)
    l12.set_chemical_symbols(["Au", "Cu", "Cu", "Cu"])
    return build_target(l12, **SMALL)


def test_ga_is_seeded_and_recovers_l12():
    target = l12_target()
    parent = bulk("Cu", "fcc", a=3.75, cubic=True)
    kw = dict(natoms=8, parent=parent, matrix=np.diag([2, 1, 1]), method="ga", steps=40, population=10,
              allow_images=True, pair=False)
    a, b = generate(target, seed=4, **kw), generate(target, seed=4, **kw)
    assert a.atoms.get_chemical_symbols() == b.atoms.get_chemical_symbols() and a.history == b.history
    assert a.loss < 1e-10 and a.atoms.get_chemical_symbols().count("Au") == 2
    c = generate(target, seed=5, **{**kw, "pair": "auto"})    # memetic: pair-refined children
    assert c.loss < 1e-10 and c.pair_mismatch == 0


def test_ga_cut_and_splice_keeps_count_and_composition():
    from alloykit.grs import Moves
    from alloykit.grs.ga import genetic

    rng = np.random.default_rng(0)
    liquid = BCC.repeat(2)
    liquid.rattle(0.3, seed=2)
    liquid.set_chemical_symbols(rng.permutation(["Fe"] * 12 + ["Cr"] * 4))
    pot = GRSPotential(build_target(liquid, **SMALL))
    start = liquid.copy()
    start.rattle(0.2, seed=5)
    kw = dict(generations=3, population=4, moves=Moves(swap=0.5, displace=1.0, step=0.1), lattice=False, seed=1)
    res = genetic(start, pot, **kw)
    assert len(res.atoms) == 16 and res.atoms.get_chemical_symbols().count("Cr") == 4
    assert res.history == genetic(start, pot, **kw).history and res.history[-1] <= res.history[0]


def test_ga_population_over_two_mpi_ranks_is_the_serial_run(tmp_path):
    import json
    import sys

    from alloykit.grs.ga import genetic

    from conftest import ROOT

    target = l12_target()
    cell = lattice_candidate(bulk("Cu", "fcc", a=3.75, cubic=True), 4, {"Au": 0.25, "Cu": 0.75}, seed=1,
                             matrix=np.diag([2, 2, 1]))
    cell.write(tmp_path / "cell.extxyz")
    out = tmp_path / "ga.json"
    r = run([str(VENV_BIN / "mpiexec"), "-n", "2", sys.executable, str(ROOT / "tests" / "grs_mpi_check.py"),
             str(target.save(tmp_path / "t.json")), str(out), str(tmp_path / "cell.extxyz"), "ga"])
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(out.read_text())
    from ase.io import read

    serial = genetic(read(tmp_path / "cell.extxyz"), GRSPotential(target), generations=4, population=6, seed=3)
    assert got["symbols"] == serial.atoms.get_chemical_symbols() and got["history"] == serial.history


def test_target_file_keeps_pair_order(tmp_path, random_target):
    from alloykit.grs import Target

    back = Target.load(random_target.save(tmp_path / "t.json"))
    assert np.array_equal(back.pair_alpha, random_target.pair_alpha) and not back.pair_alpha.any()
    assert np.allclose(back.pair_radii, [2.4855, 2.87, 4.0588], atol=1e-4)
