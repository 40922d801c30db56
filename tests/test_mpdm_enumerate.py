"""Meta-structure enumeration: the cubic point group, orbits, and the paper's Table 1."""
from collections import Counter
from math import comb, factorial

import numpy as np
import pytest

from alloykit.mpdm.enumerate import (burnside_orbit_count, cubic_point_group, meta_table,
                                     shell_directions, slot_permutations)

# He & Lu, Table 1: (eta numerator over 16, omega) for l = 1..44, as printed.
PAPER_TABLE_1 = [
    (0, 1), (1, 8), (2, 12), (2, 12), (2, 4), (3, 24), (3, 24), (3, 8), (4, 6), (4, 8),
    (4, 24), (4, 24), (4, 6), (4, 2), (5, 24), (5, 24), (5, 8), (6, 12), (6, 12), (6, 4),
    (7, 8), (8, 1), (8, 1), (9, 8), (10, 12), (10, 12), (10, 4), (11, 24), (11, 24), (11, 8),
    (12, 6), (12, 8), (12, 24), (12, 24), (12, 6), (12, 2), (13, 24), (13, 24), (13, 8), (14, 12),
    (14, 12), (14, 4), (15, 8), (16, 1),
]


def test_point_group_is_the_48_cubic_operations():
    ops = cubic_point_group()
    assert ops.shape == (48, 3, 3)
    assert np.array_equal(ops[0], np.eye(3))
    assert len({o.tobytes() for o in ops}) == 48
    for o in ops:
        assert np.array_equal(o @ o.T, np.eye(3))
    keys = {o.tobytes() for o in ops}
    for a in ops[::5]:                    # closed under products
        for b in ops[::7]:
            assert (a @ b).tobytes() in keys
    assert sum(np.linalg.det(o) > 0 for o in ops) == 24


@pytest.mark.parametrize("lattice,z,cosines", [("bcc", 8, {-1, -1 / 3, 1 / 3}),
                                               ("fcc", 12, {-1, -0.5, 0, 0.5})])
def test_shell_geometry(lattice, z, cosines):
    d = shell_directions(lattice)
    assert d.shape == (z, 3)
    assert np.allclose(np.linalg.norm(d, axis=1), 1)
    cos = d @ d.T
    off = {round(x, 9) for x in cos[~np.eye(z, dtype=bool)]}
    assert off == {round(x, 9) for x in cosines}
    perms = slot_permutations(lattice)
    assert all(sorted(p) == list(range(z)) for p in perms)


def test_bcc_binary_reproduces_table_1():
    t = meta_table("bcc", 2)
    assert t.n_types == 44 and t.n_orbits == 22
    eta16 = np.rint(16 * t.eta[:, 1]).astype(int)
    assert np.allclose(16 * t.eta[:, 1], eta16)
    ours = Counter(zip(eta16.tolist(), t.omega.tolist()))
    assert ours == Counter(PAPER_TABLE_1)
    # per eta value, the omegas agree as multisets (the within-eta order may differ)
    for e in range(17):
        assert sorted(w for x, w in PAPER_TABLE_1 if x == e) == sorted(t.omega[eta16 == e].tolist())
    # canonical order: A centres first (l = 1..22), eta ascending within a centre
    assert (t.centre[:22] == 0).all() and (t.centre[22:] == 1).all()
    assert (np.diff(eta16[:22]) >= 0).all() and (np.diff(eta16[22:]) >= 0).all()
    assert t.omega[:22].sum() == 256 and t.omega[22:].sum() == 256


@pytest.mark.parametrize("lattice,k", [("bcc", 2), ("bcc", 3), ("bcc", 4), ("fcc", 2), ("fcc", 3)])
def test_orbits_match_burnside_and_multinomials(lattice, k):
    t = meta_table(lattice, k)
    z = t.z
    assert t.n_orbits == burnside_orbit_count(lattice, k)
    assert t.n_types == k * t.n_orbits
    for s in range(k):
        assert t.omega[t.centre == s].sum() == k ** z
    # all colourings with one shell composition: a multinomial coefficient
    shell = t.shell_counts[t.centre == 0]
    omega = t.omega[t.centre == 0]
    for comp in {tuple(r) for r in shell.tolist()}:
        mult = factorial(z)
        for n in comp:
            mult //= factorial(n)
        assert omega[(shell == comp).all(axis=1)].sum() == mult
    # every orbit size divides the group order
    assert (48 % t.omega == 0).all()


def test_fcc_binary_counts():
    t = meta_table("fcc", 2)
    assert t.n_orbits == 144
    for n_b in range(13):
        assert t.omega[(t.centre == 0) & (t.shell_counts[:, 1] == n_b)].sum() == comb(12, n_b)


@pytest.mark.parametrize("lattice,k", [("bcc", 3), ("fcc", 2)])
def test_code_lookup_is_consistent(lattice, k):
    t = meta_table(lattice, k)
    z = t.z
    codes = np.arange(k ** z)
    digits = (codes[:, None] // k ** np.arange(z)) % k
    orbit = t.orbit_of_code
    # the orbit of a code has the code's shell composition
    counts = np.stack([(digits == s).sum(1) for s in range(k)], axis=1)
    assert np.array_equal(t.shell_counts[orbit], counts)
    # orbit sizes counted from the lookup equal omega
    assert np.array_equal(np.bincount(orbit, minlength=t.n_orbits), t.omega[: t.n_orbits])
    # a symmetry operation never changes the orbit of a colouring
    for perm in slot_permutations(lattice)[1::7]:
        moved = np.zeros(k ** z, dtype=np.int64)
        for i in range(z):
            moved += digits[:, i] * k ** perm[i]
        assert np.array_equal(orbit[moved], orbit)
    # the representative's code belongs to its own orbit
    rep_codes = t.representative[: t.n_orbits] @ (k ** np.arange(z))
    assert np.array_equal(orbit[rep_codes], np.arange(t.n_orbits))


def test_eta_weights():
    t = meta_table("fcc", 3)
    assert np.allclose(t.eta.sum(axis=1), 1.0)
    row = t.eta[(t.centre == 2) & (t.shell_counts[:, 2] == 12)][0]
    assert np.allclose(row, [0, 0, 1])


def test_bad_requests():
    with pytest.raises(ValueError, match="lattice"):
        meta_table("hcp", 2)
    with pytest.raises(ValueError, match="n_species"):
        meta_table("bcc", 1)
    with pytest.raises(ValueError, match="5\\*\\*12"):
        meta_table("fcc", 5)
