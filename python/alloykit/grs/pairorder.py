"""Exact Warren-Cowley pair order on a fixed lattice, as integer pair counts.

n[s, a, b] counts the directed pairs (i -> j) of distance shell s with e_i = a, e_j = b
(periodic images included, as ASE's neighbour list and the SQS tools count them).
alpha_s(a, b) = 1 - n[s, a, b] / (N_a Z_s c_b). A swap of atoms x and y changes only the
pairs that touch x or y, and that change follows from each atom's count of neighbour
species per shell, M[i, s, b], and the multiplicities C[x, y, s] of x-y pairs (images of
small cells included): a few array operations over K candidate swaps at once, whatever
the coordination, so the pair mismatch of every candidate is known before any
descriptor is computed.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..errors import InputError
from ..structures import neighbour_pairs


def distance_shells(atoms, nshells: int, tol: float = 1e-3):
    """(i, j, shell) of the directed pairs in the first ``nshells`` distance shells of a
    structure whose atoms sit on ideal sites, and the shell radii. Raises InputError if
    its distances do not fall into sharp shells (not an ideal lattice).

    Cached on the geometry (labels do not matter): a search asks for the same cell's
    shells several times, and a small cell's neighbour list costs more than its search."""
    key = (atoms.positions.tobytes(), atoms.cell.array.tobytes(), tuple(atoms.pbc), int(nshells), float(tol))
    if key not in _SHELLS:
        if len(_SHELLS) >= 8:
            _SHELLS.pop(next(iter(_SHELLS)))
        _SHELLS[key] = _find_shells(atoms, nshells, tol)
    return _SHELLS[key]


_SHELLS: dict = {}    # geometry -> shells of the last few cells (read-only arrays)


def _find_shells(atoms, nshells: int, tol: float):
    d1 = neighbour_pairs(atoms, 2.0 * (atoms.get_volume() / len(atoms)) ** (1 / 3), sort=False)[2].min()
    cutoff = 1.8 * d1
    while True:
        i, j, d, _ = neighbour_pairs(atoms, cutoff, sort=False)
        radii = _clusters(d, tol * d1)
        if radii is None:
            raise InputError("pair order: the atoms are not on ideal lattice sites (distances form no sharp shells)")
        if len(radii) > nshells:
            break
        cutoff *= 1.3
    radii = radii[:nshells]
    shell = np.argmin(np.abs(d[:, None] - radii[None, :]), axis=1)
    keep = np.abs(d - radii[shell]) <= tol * d1
    out = (i[keep], j[keep], shell[keep], radii)
    for a in out:
        a.flags.writeable = False
    return out


def _clusters(d: np.ndarray, tol: float):
    u = np.sort(d)
    breaks = np.flatnonzero(np.diff(u) > tol)
    groups = np.split(u, breaks + 1)
    if any(g.max() - g.min() > tol for g in groups):
        return None
    return np.array([g.mean() for g in groups])


def shell_alpha(counts: np.ndarray) -> np.ndarray:
    """alpha (..., S, nel, nel) from pair counts n (..., S, nel, nel); 0 where a species is absent."""
    per_centre = counts.sum(axis=-1, keepdims=True)                # N_a Z_s
    nb = counts.sum(axis=(-3, -2))                                  # c_b (all shells agree)
    conc = nb / nb.sum(axis=-1, keepdims=True)
    expected = per_centre * conc[..., None, None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(expected > 0, 1.0 - counts / np.where(expected > 0, expected, 1.0), 0.0)


def pair_mismatch(alpha: np.ndarray, target: np.ndarray | None = None) -> np.ndarray | float:
    """sum over shells and unordered species pairs a < b of |alpha_s(a, b) - target|: the
    SQS score |alpha_1| + |alpha_2| + |alpha_3| of a binary random-alloy target.
    alpha (..., S, nel, nel) -> (...)."""
    diff = alpha if target is None else alpha - target
    a, b = _upper(alpha.shape[-1])
    out = np.abs(diff[..., a, b]).sum(axis=(-2, -1))
    return float(out) if out.ndim == 0 else out


@lru_cache(maxsize=None)
def _upper(nel: int):
    return np.triu_indices(nel, 1)


MAX_PAIR_TABLE = 2 ** 30    # bytes of the (sites, sites, shells) multiplicity table


class PairOrder:
    """Pair counts of a labelling of a fixed lattice, and their change under swaps."""

    def __init__(self, atoms, elem: np.ndarray, nel: int, nshells: int = 3, target=None):
        i, j, shell, self.radii = distance_shells(atoms, nshells)
        self.nel, self.nshells = nel, len(self.radii)
        self.target = None if target is None else np.asarray(target, dtype=float)[:self.nshells, :nel, :nel]
        if self.target is not None and self.target.shape[0] < self.nshells:
            raise InputError(f"pair order: the target has {self.target.shape[0]} shells, {self.nshells} asked for")
        n = len(atoms)
        deg = np.bincount(i, minlength=n)
        if (deg != deg[0]).any():
            raise InputError("pair order: sites with different neighbour counts (not one lattice)")
        self.i_all, self.j_all, self.s_all = i, j, shell
        # multiplicities of the directed pairs (x, y) per shell: symmetric, images counted;
        # dense (GRS cells are small) and int8 (a multiplicity is at most a shell's size)
        if n * n * self.nshells > MAX_PAIR_TABLE:
            raise InputError(f"pair order: {n} sites need a {n * n * self.nshells / 2 ** 30:.3g} GiB pair table "
                             f"(limit {MAX_PAIR_TABLE / 2 ** 30:.0f} GiB): use fewer atoms or pair=False")
        self.mult = np.zeros((n, n, self.nshells), dtype=np.int8)
        np.add.at(self.mult, (i, j, shell), 1)
        self.reset(elem)

    def reset(self, elem):
        self.elem = np.asarray(elem, dtype=np.int64).copy()
        self.counts = self._count(self.elem)
        self.value = self.mismatch(self.counts)
        # M[i, s, b]: neighbours of species b of atom i in shell s
        self.species_around = np.einsum("iks,kb->isb", self.mult, np.eye(self.nel, dtype=np.int32)[self.elem])

    def _count(self, elem) -> np.ndarray:
        code = (self.s_all * self.nel + elem[self.i_all]) * self.nel + elem[self.j_all]
        return np.bincount(code, minlength=self.nshells * self.nel ** 2).reshape(self.nshells, self.nel, self.nel)

    def mismatch(self, counts) -> float:
        return pair_mismatch(shell_alpha(counts), self.target)

    def swap_deltas(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """(K, S, nel, nel) count changes of the swaps x[k] <-> y[k] (x and y of different species).

        With e_x = A, e_y = B: x's own pairs (row x) go from A (x) M_x to B (x) M'_x, where M'_x
        is M_x with x's self-images relabelled to B and its y-neighbours to A; the pairs
        of other atoms pointing at x (R_x: M_x without x and y) move from column A to
        column B. The same for y with A and B exchanged."""
        x, y = np.asarray(x), np.asarray(y)
        one = np.eye(self.nel, dtype=np.int32)
        e_a, e_b = one[self.elem[x]][:, None, :], one[self.elem[y]][:, None, :]    # (K, 1, nel)
        m_x, m_y = self.species_around[x], self.species_around[y]                   # (K, S, nel)
        c_xx, c_yy = self.mult[x, x][..., None], self.mult[y, y][..., None]         # (K, S, 1)
        c_xy = self.mult[x, y][..., None]
        ab = e_b - e_a
        mp_x = m_x + (c_xx - c_xy) * ab
        mp_y = m_y - (c_yy - c_xy) * ab
        r_x = m_x - c_xx * e_a - c_xy * e_b
        r_y = m_y - c_yy * e_b - c_xy * e_a
        outer = lambda u, v: u[:, :, :, None] * v[:, :, None, :]    # noqa: E731  rows: centre species
        return (outer(e_b, mp_x) - outer(e_a, m_x) + outer(e_a, mp_y) - outer(e_b, m_y)
                + outer(r_x - r_y, ab))

    def swap_values(self, x, y) -> np.ndarray:
        """Pair mismatch after each swap x[k] <-> y[k]."""
        return self.values_after(self.swap_deltas(np.asarray(x), np.asarray(y)))

    def values_after(self, deltas) -> np.ndarray:
        """Pair mismatch after each of the count changes ``deltas`` (K, S, nel, nel)."""
        return pair_mismatch(shell_alpha(self.counts[None] + deltas), self.target)

    def accept_swap(self, x: int, y: int) -> None:
        self.counts = self.counts + self.swap_deltas(np.array([x]), np.array([y]))[0]
        a, b = self.elem[x], self.elem[y]
        moved = self.mult[:, x] - self.mult[:, y]    # (n, S): x's pairs turn B, y's turn A
        self.species_around[:, :, a] -= moved
        self.species_around[:, :, b] += moved
        self.elem[x], self.elem[y] = b, a
        self.value = self.mismatch(self.counts)
