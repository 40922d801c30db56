"""SRO against known answers: random alloys (alpha ~ 0 within the derived noise), ordered
cells (B2, L1_2, L1_0) at their analytic values, sum rules, invariances, lattice shells
robust to thermal noise, refusals of overlapping shells and non-crystals."""
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, make_supercell

from alloykit.csro.sro import compute_sro, distance_shells, random_sigma, sro_from_types
from alloykit.structures import NotCrystalline, lattice_sites, random_solid_solution


def oracle_counts(atoms, radii, species):
    """Independent brute force: all minimum-image distances, pairs within 3 % of each
    ideal shell radius (small, unrattled cells only)."""
    d = atoms.get_all_distances(mic=True)
    idx = np.array([species.index(s) for s in atoms.get_chemical_symbols()])
    out = np.zeros((len(radii), len(species), len(species)), dtype=int)
    for k, r in enumerate(radii):
        i, j = np.nonzero(np.abs(d - r) < 0.03 * r)
        np.add.at(out[k], (idx[i], idx[j]), 1)
    return out


def b2(n=4, a=2.9):
    at = bulk("Fe", "bcc", a=a, cubic=True).repeat(n)
    frac = at.get_scaled_positions() * n
    body = np.abs(frac - np.floor(frac + 1e-6) - 0.5).sum(axis=1) < 0.1
    at.set_chemical_symbols(np.where(body, "Al", "Fe").tolist())
    return at


def fcc_ordered(kind, n=3, a=3.6):
    """L1_2 (Ni3Al: Al on cube corners) or L1_0 (CuAu: layers alternating along z)."""
    at = bulk("Ni", "fcc", a=a, cubic=True).repeat(n)
    frac = at.get_scaled_positions() * n
    half = np.rint(2 * (frac - np.floor(frac + 1e-6))).astype(int)     # 0/1 per axis in the cube
    if kind == "L12":
        at.set_chemical_symbols(np.where(half.sum(axis=1) == 0, "Al", "Ni").tolist())
    else:
        at.set_chemical_symbols(np.where(half[:, 2] == 0, "Au", "Cu").tolist())
    return at


def alpha(r, a, b, k):
    return r.alpha[k, r.species.index(a), r.species.index(b)]


def test_b2_unlike_first_shell_is_minus_one():
    r = compute_sro(b2())
    assert r.structure == "bcc" and r.a == pytest.approx(2.9)
    assert list(r.coordination) == [8, 6, 12]
    # shell 1 (a*sqrt(3)/2) links the two sublattices, shells 2 (a) and 3 (a*sqrt(2)) stay on one
    assert [alpha(r, "Al", "Fe", k) for k in range(3)] == pytest.approx([-1, 1, 1], abs=1e-12)
    assert [alpha(r, "Fe", "Fe", k) for k in range(3)] == pytest.approx([1, -1, -1], abs=1e-12)


def test_l12_analytic_values():
    r = compute_sro(fcc_ordered("L12"))
    assert r.structure == "fcc" and list(r.coordination) == [12, 6, 24]
    # c_Al = 1/4. Shell 1: every Al has 12 Ni -> alpha_AlNi = 1 - 1/c_Ni = -1/3, alpha_AlAl = 1,
    # alpha_NiNi = -c_Al alpha_AlNi / c_Ni = 1/9 (sum rule). Shell 2 (a<100>): same sublattice
    # -> alpha_AlNi = 1, alpha_AlAl = 1 - 1/c_Al = -3, alpha_NiNi = 1 - 1/c_Ni = -1/3.
    # Shell 3 (a<1 1/2 1/2>): Al -> face centres only, as in shell 1.
    want = {("Al", "Ni"): [-1 / 3, 1, -1 / 3], ("Al", "Al"): [1, -3, 1], ("Ni", "Ni"): [1 / 9, -1 / 3, 1 / 9]}
    for (x, y), vals in want.items():
        assert [alpha(r, x, y, k) for k in range(3)] == pytest.approx(vals, abs=1e-12)


def test_l10_analytic_values():
    r = compute_sro(fcc_ordered("L10"))
    # shell 1: 4 like (in plane) + 8 unlike -> 1 - (8/12)/0.5 = -1/3; shell 2: all like -> 1;
    # shell 3: 16 of 24 neighbours in the adjacent layers (unlike) -> -1/3
    assert [alpha(r, "Au", "Cu", k) for k in range(3)] == pytest.approx([-1 / 3, 1, -1 / 3], abs=1e-12)


def test_counts_match_brute_force_on_skewed_supercells():
    # primitive-cell supercells with an oblique integer matrix exercise the lattice fit; cells
    # thicker than twice the 3rd-shell radius keep the minimum-image oracle unique
    prim = bulk("Fe", "bcc", a=2.87)
    at = make_supercell(prim, [[6, 2, 0], [0, 7, 2], [2, 0, 7]])
    rng = np.random.default_rng(0)
    at.set_chemical_symbols(rng.choice(["Fe", "Cr", "Ni"], len(at)).tolist())
    sh = lattice_sites(at, 3)
    assert sh.structure == "bcc" and sh.a == pytest.approx(2.87)
    r = compute_sro(at, sh)
    assert np.array_equal(r.counts, oracle_counts(at, sh.radii, r.species))
    fcc = make_supercell(bulk("Cu", "fcc", a=3.6), [[5, 1, 0], [0, 5, 1], [1, 0, 5]])
    fcc.set_chemical_symbols(rng.choice(["Cu", "Ni"], len(fcc)).tolist())
    rf = compute_sro(fcc)
    assert rf.structure == "fcc"
    assert np.array_equal(rf.counts, oracle_counts(fcc, rf.radii, rf.species))


def test_random_alloy_alpha_is_zero_within_derived_noise():
    atoms = random_solid_solution("fcc", {"Cu": 0.4, "Ni": 0.35, "Co": 0.25}, size=8, a=3.6, seed=11)
    r = compute_sro(atoms)
    n = len(atoms)
    c = r.concentrations
    # exact-count bias: E[alpha_ab] = -1/(N-1) (a != b), (1 - c_a) / (c_a (N-1)) (a == b)
    bias = np.where(np.eye(3, dtype=bool), np.diag((1 - c) / (c * (n - 1))), -1.0 / (n - 1))
    z = (r.alpha - bias[None]) / r.sigma
    assert np.abs(z).max() < 4.5, z          # 27 values; P(any |z| > 4.5) ~ 2e-4
    # the derived sigma against the scatter over 400 random occupations of the same sites
    sh = lattice_sites(atoms, 3)
    types = np.array([r.species.index(s) for s in atoms.get_chemical_symbols()])
    rng = np.random.default_rng(1)
    samples = np.array([sro_from_types(rng.permutation(types), r.species, sh).alpha for _ in range(400)])
    ratio = samples.std(axis=0) / r.sigma
    assert np.all(np.abs(ratio - 1) < 0.2), ratio     # 400 draws: std known to ~4 %
    assert np.abs(samples.mean(axis=0) - bias).max() < 4 * (r.sigma / np.sqrt(400)).max()


def test_sum_rules_and_symmetry():
    atoms = random_solid_solution("bcc", {"Mo": 0.4, "Nb": 0.3, "Ta": 0.2, "W": 0.1}, size=5, a=3.2, seed=2)
    atoms.set_chemical_symbols(sorted(atoms.get_chemical_symbols()[:100]) + atoms.get_chemical_symbols()[100:])
    r = compute_sro(atoms)
    assert np.abs(r.alpha).max() > 0.05                          # some order, so the rules bite
    assert np.allclose(np.einsum("kab,b->ka", r.alpha, r.concentrations), 0, atol=1e-12)
    assert np.allclose(r.delta.sum(axis=2), 0, atol=1e-9)
    assert np.allclose(r.alpha, r.alpha.transpose(0, 2, 1), atol=1e-12)
    assert np.array_equal(r.counts, r.counts.transpose(0, 2, 1))
    assert np.allclose(r.alpha * r.ideal, -r.delta)


def test_invariant_to_rotation_translation_and_atom_order():
    atoms = random_solid_solution("fcc", {"Cu": 0.5, "Ni": 0.5}, size=4, a=3.6, seed=5)
    atoms.rattle(0.05, seed=1)
    ref = compute_sro(atoms)
    moved = atoms.copy()
    moved.rotate(37, (1, 2, 3), rotate_cell=True)
    moved.translate((0.7, -3.1, 12.4))
    perm = moved[np.random.default_rng(2).permutation(len(moved))]
    for other in (moved, perm):
        r = compute_sro(other)
        assert np.array_equal(r.counts, ref.counts)
        assert r.a == pytest.approx(ref.a, rel=1e-9)


def test_lattice_sites_survive_thermal_noise_where_distances_overlap():
    atoms = random_solid_solution("bcc", {"Fe": 0.7, "Cr": 0.3}, size=6, a=2.87, seed=3)
    ideal = compute_sro(atoms)
    hot = atoms.copy()
    hot.rattle(0.15, seed=4)       # bond-length scatter ~0.2 A against a 0.39 A gap between shells 1, 2
    r = compute_sro(hot)
    assert np.array_equal(r.counts, ideal.counts)
    with pytest.raises(NotCrystalline, match="^shells: .*overlap"):
        distance_shells(hot, 3)
    # on the perfect crystal the histogram finds the same shells
    assert np.array_equal(compute_sro(atoms, method="histogram").counts, ideal.counts)


def test_vacancy_and_npt_like_strain():
    atoms = random_solid_solution("bcc", {"Fe": 0.8, "Cr": 0.2}, size=5, a=2.87, seed=8)
    del atoms[17]
    atoms.set_cell(atoms.cell.array * 1.013, scale_atoms=True)
    sh = lattice_sites(atoms, 3)
    assert sh.vacancies == 1 and sh.a == pytest.approx(2.87 * 1.013)
    r = compute_sro(atoms, sh)
    assert np.array_equal(r.counts, oracle_counts(atoms, sh.radii, r.species))


def test_non_crystalline_and_unsupported_lattices_are_refused():
    rng = np.random.default_rng(0)
    gas = Atoms("Fe500", positions=rng.uniform(0, 18, (500, 3)), cell=[18, 18, 18], pbc=True)
    with pytest.raises(NotCrystalline) as err:
        lattice_sites(gas)
    assert str(err.value).startswith("structure:") and "\n" not in str(err.value)
    sc = bulk("Po", "sc", a=3.0).repeat(6)
    with pytest.raises(NotCrystalline, match="not BCC or FCC"):
        lattice_sites(sc)
    with pytest.raises(NotCrystalline, match="periodic"):
        lattice_sites(Atoms("Fe2", positions=[[0, 0, 0], [1.4, 1.4, 1.4]], cell=[2.8] * 3, pbc=False))
    with pytest.raises(NotCrystalline, match="not FCC"):
        lattice_sites(b2(), lattice="fcc")


def test_random_sigma_formula_limits():
    # binary 50/50: sigma(alpha_AB) = sqrt(2/(N Z)) (binomial count of unlike bonds)
    s = random_sigma([0.5, 0.5], 1000, [8])
    assert s[0, 0, 1] == pytest.approx(np.sqrt(2 / 8000))
    assert s[0, 0, 0] == pytest.approx(np.sqrt(2) * 0.5 / 0.5 / np.sqrt(8000))


def test_size_mismatched_meam_alloy_relaxed_and_hot():
    """BCC Cr40Mo30V30 (~9 % Cr/Mo size mismatch) relaxed with the wheel's 2NN MEAM, and a
    copy with 1,000 K-like displacements: every atom keeps its 8 first neighbours on the
    lattice, and the lattice parameter is the cell's, where a distance cutoff miscounts."""
    from alloykit.lmp import relax
    from alloykit.structures import detect_lattice

    start = random_solid_solution("bcc", "Cr40Mo30V30", 5, seed=1)
    relaxed = relax(start, "MoCoNiVFeAlCr", box="iso", ftol=1e-4)
    hot = relaxed.copy()
    hot.positions += np.random.default_rng(2).normal(0.0, 0.12, hot.positions.shape)
    off_site = np.linalg.norm(relaxed.positions - start.positions * relaxed.cell[0, 0] / start.cell[0, 0], axis=1)
    assert off_site.max() > 0.1                         # relaxation really moved atoms off their sites
    for atoms in (relaxed, hot):
        sites = lattice_sites(atoms, 3)
        assert sites.structure == "bcc" and sites.neighbours[0].shape == (250, 8)
        assert (sites.neighbours[0] >= 0).all() and sites.vacancies == 0
        a_cell = atoms.cell.lengths()[0] / 5
        assert detect_lattice(atoms).a == pytest.approx(a_cell, rel=5e-3)
    assert np.array_equal(compute_sro(hot).counts, compute_sro(relaxed).counts)
    # the distance cutoff midway between shells 1 and 2 gives anything from ~4 to ~11
    d = hot.get_all_distances(mic=True)
    per_atom = (d < detect_lattice(hot).first_shell_cutoff()).sum(axis=1) - 1
    assert per_atom.min() < 8 < per_atom.max()
