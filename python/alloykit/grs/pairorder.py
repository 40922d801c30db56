"""Exact Warren-Cowley pair order on a fixed lattice, as integer pair counts.

n[s, a, b] counts the directed pairs (i -> j) of distance shell s with e_i = a, e_j = b
(periodic images included, as ASE's neighbour list and the SQS tools count them).
alpha_s(a, b) = 1 - n[s, a, b] / (N_a Z_s c_b). A swap of atoms x and y changes only the
pairs that touch x or y, so the count change of K candidate swaps is a few integer
bincounts over their neighbour tables (numpy over K at once): the pair mismatch of every
candidate is known before any descriptor is computed.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..errors import InputError
from ..structures import neighbour_pairs


def distance_shells(atoms, nshells: int, tol: float = 1e-3):
    """(i, j, shell) of the directed pairs in the first ``nshells`` distance shells of a
    structure whose atoms sit on ideal sites, and the shell radii. Raises InputError if
    its distances do not fall into sharp shells (not an ideal lattice)."""
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
    return i[keep], j[keep], shell[keep], radii


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


class PairOrder:
    """Pair counts of a labelling of a fixed lattice, and their change under swaps."""

    def __init__(self, atoms, elem: np.ndarray, nel: int, nshells: int = 3, target=None):
        i, j, shell, self.radii = distance_shells(atoms, nshells)
        self.nel, self.nshells = nel, len(self.radii)
        self.target = None if target is None else np.asarray(target, dtype=float)[:self.nshells, :nel, :nel]
        if self.target is not None and self.target.shape[0] < self.nshells:
            raise InputError(f"pair order: the target has {self.target.shape[0]} shells, {self.nshells} asked for")
        n = len(atoms)
        # a neighbour table per atom: shell-major, padded with -1 (small cells: images repeat)
        order = np.lexsort((j, shell, i))
        i, j, shell = i[order], j[order], shell[order]
        deg = np.bincount(i, minlength=n)
        if (deg != deg[0]).any():
            raise InputError("pair order: sites with different neighbour counts (not one lattice)")
        self.nbr = j.reshape(n, deg[0])
        self.shell = shell.reshape(n, deg[0])[0]
        self.z = np.bincount(self.shell, minlength=self.nshells)
        self.i_all, self.j_all, self.s_all = i, j, shell
        self.reset(elem)

    def reset(self, elem):
        self.elem = np.asarray(elem, dtype=np.int64).copy()
        self.counts = self._count(self.elem)
        self.value = self.mismatch(self.counts)

    def _count(self, elem) -> np.ndarray:
        code = (self.s_all * self.nel + elem[self.i_all]) * self.nel + elem[self.j_all]
        return np.bincount(code, minlength=self.nshells * self.nel ** 2).reshape(self.nshells, self.nel, self.nel)

    def mismatch(self, counts) -> float:
        return pair_mismatch(shell_alpha(counts), self.target)

    def swap_deltas(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """(K, S, nel, nel) count changes of the swaps x[k] <-> y[k] (x and y of different species)."""
        e, nel, k = self.elem, self.nel, len(x)
        ex, ey = e[x][:, None], e[y][:, None]
        s = self.shell[None, :]
        base = np.arange(k)[:, None] * (self.nshells * nel * nel)
        codes, weights = [], []
        for c, o, old_c, new_c, first in ((x, y, ex, ey, True), (y, x, ey, ex, False)):
            nb = self.nbr[c]                                       # (K, Z)
            en = e[nb]
            is_c, is_o = nb == c[:, None], nb == o[:, None]
            new_n = np.where(is_c, new_c, np.where(is_o, old_c, en))
            # directed pairs c -> nb and nb -> c; the pair x <-> y is listed from both ends,
            # so from y's side the neighbour x is skipped (it was counted from x's); an
            # atom's own image is listed in both directions already
            w = np.ones(nb.shape) if first else 1.0 - is_o
            w_rev = w * ~is_c
            codes += [base + (s * nel + old_c) * nel + en, base + (s * nel + new_c) * nel + new_n,
                      base + (s * nel + en) * nel + old_c, base + (s * nel + new_n) * nel + new_c]
            weights += [-w, w, -w_rev, w_rev]
        out = np.bincount(np.concatenate(codes, axis=None), np.concatenate(weights, axis=None),
                          minlength=k * self.nshells * nel * nel)
        out = np.rint(out).astype(np.int64)
        return out.reshape(k, self.nshells, nel, nel)

    def swap_values(self, x, y) -> np.ndarray:
        """Pair mismatch after each swap x[k] <-> y[k]."""
        return self.values_after(self.swap_deltas(np.asarray(x), np.asarray(y)))

    def values_after(self, deltas) -> np.ndarray:
        """Pair mismatch after each of the count changes ``deltas`` (K, S, nel, nel)."""
        return pair_mismatch(shell_alpha(self.counts[None] + deltas), self.target)

    def accept_swap(self, x: int, y: int) -> None:
        self.counts = self.counts + self.swap_deltas(np.array([x]), np.array([y]))[0]
        self.elem[x], self.elem[y] = self.elem[y], self.elem[x]
        self.value = self.mismatch(self.counts)
