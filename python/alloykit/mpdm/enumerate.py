"""Meta-structure types from symmetry: the first-neighbour shell of an atom, coloured by
species, up to the full cubic point group (m-3m, 48 operations, built here as signed
permutation matrices rather than typed in).

BCC: centre + 8 corners of a cube. FCC: centre + 12 vertices of a cuboctahedron.
A type is (centre species, orbit of the shell colouring); its degeneracy omega is the orbit
size, so the omegas of one centre add up to k**z.

Canonical order (the index ``l`` used everywhere in alloykit.mpdm, 0-based):
  1. centre species (species 0 = "A" first, so for binary BCC l = 0..21 have an A centre,
     l = 22..43 a B centre, as in the paper's Table 1);
  2. shell composition, i.e. the tuple (n_1, n_2, ..., n_{k-1}) of shell counts of species
     1..k-1, ascending (binary: number of B corners, i.e. eta ascending);
  3. omega descending;
  4. the canonical code ascending (the smallest base-k integer sum_i colour_i k**i over the
     orbit; slot i is ``directions[i]``).
Within one eta value this order need not match the paper's (which follows its Fig. 1);
Table 1 is compared as multisets of (eta, omega).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..errors import InputError
from ..structures.composition import check_lattice_name

# explicit enumeration builds an array of k**z colourings; beyond this it is refused
MAX_COLOURINGS = 1 << 24


def cubic_point_group() -> np.ndarray:
    """The 48 operations of m-3m as (48, 3, 3) integer matrices: all 3x3 signed permutation
    matrices. Identity first."""
    ops = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1, -1), repeat=3):
            m = np.zeros((3, 3), dtype=int)
            m[np.arange(3), perm] = signs
            ops.append(m)
    return np.array(ops)   # permutation (0,1,2) with signs (+,+,+) comes first


def shell_directions(lattice: str) -> np.ndarray:
    """Unit vectors to the first-neighbour shell in the cubic frame, in slot order.

    bcc: the 8 cube corners (+-1, +-1, +-1)/sqrt(3); fcc: the 12 vectors (+-1, +-1, 0)/sqrt(2)
    and permutations. Order: lexicographic on the integer vectors, descending.
    """
    if check_lattice_name(lattice) == "bcc":
        v = [p for p in itertools.product((1, -1), repeat=3)]
    else:
        v = sorted({p for p in itertools.product((1, 0, -1), repeat=3)
                    if sum(abs(x) for x in p) == 2}, reverse=True)
    v = np.array(v, dtype=float)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def slot_permutations(lattice: str) -> np.ndarray:
    """(48, z) int: for operation g, ``perm[g, i]`` is the slot that direction i goes to."""
    d = shell_directions(lattice)
    perms = []
    for op in cubic_point_group():
        moved = d @ op.T
        # each moved direction coincides with exactly one shell direction
        match = np.abs(moved[:, None, :] - d[None, :, :]).sum(-1) < 1e-9
        assert (match.sum(1) == 1).all()
        perms.append(match.argmax(1))
    return np.array(perms)


def burnside_orbit_count(lattice: str, n_species: int) -> int:
    """Number of shell colourings up to symmetry, by Burnside's lemma: the mean over the
    group of k**(number of cycles of the slot permutation). An independent check of the
    explicit enumeration."""
    total = 0
    for perm in slot_permutations(lattice):
        seen, cycles = set(), 0
        for i in range(len(perm)):
            if i not in seen:
                cycles += 1
                j = i
                while j not in seen:
                    seen.add(j)
                    j = perm[j]
        total += n_species ** cycles
    assert total % 48 == 0
    return total // 48


@dataclass(frozen=True, eq=False)
class MetaTable:
    """All meta-structure types of one lattice and number of species.

    centre: (T,) centre species; shell_counts: (T, k) shell atoms of each species;
    omega: (T,) degeneracy; representative: (T, z) species per slot of the canonical
    colouring; orbit_of_code: (k**z,) shell-orbit index of every colouring code (a type is
    ``centre * n_orbits + orbit``), used by the counter.
    """
    lattice: str
    n_species: int
    directions: np.ndarray
    centre: np.ndarray
    shell_counts: np.ndarray
    omega: np.ndarray
    representative: np.ndarray
    orbit_of_code: np.ndarray = field(repr=False)

    @property
    def z(self) -> int:
        return len(self.directions)

    @property
    def n_types(self) -> int:
        return len(self.centre)

    @property
    def n_orbits(self) -> int:
        return self.n_types // self.n_species

    @property
    def eta(self) -> np.ndarray:
        """(T, k) species content of each type: the centre counts 1/2 (it belongs to this
        meta-structure only), each shell atom 1/(2z) (it is shared by z meta-structures).
        For binary BCC, ``eta[:, 1]`` is Table 1's eta (centre 8/16, corner 1/16)."""
        k = self.n_species
        return 0.5 * (np.eye(k)[self.centre] + self.shell_counts / self.z)

    def rows(self, names: list[str] | None = None) -> list[dict]:
        """One JSON-able dict per type, 1-based ``l`` as in the paper."""
        names = names or [str(i) for i in range(self.n_species)]
        eta = self.eta
        return [{"l": i + 1, "centre": names[self.centre[i]],
                 "shell": {names[s]: int(self.shell_counts[i, s]) for s in range(self.n_species)},
                 "eta": [round(float(x), 12) for x in eta[i]],
                 "omega": int(self.omega[i]),
                 "representative": [names[s] for s in self.representative[i]]}
                for i in range(self.n_types)]


@lru_cache(maxsize=8)
def meta_table(lattice: str = "bcc", n_species: int = 2) -> MetaTable:
    """Enumerate the meta-structure types (cached). Raises InputError for an unknown
    lattice, k < 2, or k**z above ``MAX_COLOURINGS`` (e.g. FCC with k >= 5)."""
    d = shell_directions(lattice)
    z, k = len(d), int(n_species)
    if k < 2:
        raise InputError(f"n_species: need at least 2, not {n_species}")
    if k ** z > MAX_COLOURINGS:
        raise InputError(f"species: {lattice} with {k} species has {k}**{z} shell colourings, more than "
                         f"the {MAX_COLOURINGS} that are enumerated explicitly")
    codes = np.arange(k ** z, dtype=np.int64)
    place = k ** np.arange(z, dtype=np.int64)
    # split each code into its low and high halves of slots: the moved code is then
    # moved_low[code % k**h] + moved_high[code // k**h], two small lookup tables per
    # operation instead of z passes over all k**z codes
    h = z // 2
    low, high = codes % k ** h, codes // k ** h
    half_digits = lambda n: (np.arange(k ** n)[:, None] // k ** np.arange(n)) % k
    dl, dh = half_digits(h), half_digits(z - h)
    canon = codes.copy()
    for perm in slot_permutations(lattice)[1:]:
        # the colour of slot i moves to slot perm[i]
        moved_low = dl @ place[perm[:h]]
        moved_high = dh @ place[perm[h:]]
        np.minimum(canon, moved_low[low] + moved_high[high], out=canon)
    del low, high
    reps, inverse, omega = np.unique(canon, return_inverse=True, return_counts=True)
    rep_digits = (reps[:, None] // place) % k
    counts = np.stack([(rep_digits == s).sum(1) for s in range(k)], axis=1)
    # canonical order: composition (n_1..n_{k-1}) ascending, omega descending, code ascending
    order = np.lexsort((reps, -omega) + tuple(counts[:, s] for s in range(k - 1, 0, -1)))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    n_orb = len(reps)
    centre = np.repeat(np.arange(k), n_orb)
    table = MetaTable(
        lattice=lattice, n_species=k, directions=d,
        centre=centre,
        shell_counts=np.tile(counts[order], (k, 1)),
        omega=np.tile(omega[order], k),
        representative=np.tile(rep_digits[order], (k, 1)),
        orbit_of_code=rank[inverse].astype(np.int32),
    )
    for arr in (table.directions, table.centre, table.shell_counts, table.omega,
                table.representative, table.orbit_of_code):
        arr.setflags(write=False)          # the table is cached and shared
    return table
