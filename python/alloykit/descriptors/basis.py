"""Which ACE invariants exist: enumeration by rank and their linear independence.

A descriptor of rank N is a rotation-invariant contraction of N atomic-base functions
A_{mu n l m} (neighbour element mu, radial n, angular l m). Candidates are the sorted
multisets of N indices nu = (mu, n, l) allowed by the per-rank truncation, with the
angular momenta coupled to a total of zero (L_R = 0) and even total parity:

- rank 1: l = 0;   rank 2: l1 = l2;   rank 3: (l1, l2, l3) a triangle, l1+l2+l3 even;
- rank 4: (l1 l2) -> L <- (l3 l4), l1+l2+l3+l4 even, one candidate per intermediate L.

Repeated indices make some candidates vanish or depend on others (the situations that
ACE's ladder relations resolve analytically). Here they are removed numerically and
exactly: each candidate is a polynomial in the A's; evaluated at generic random A's,
a QR factorisation keeps, in canonical order, only those that add a new direction.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .harmonics import coupling3, lm_index


@dataclass(frozen=True)
class RankTerms:
    """Rank-N descriptors as a sparse polynomial: B[f] = sum_t coef[t] prod_r A[idx[t, r]]."""

    rank: int
    coef: np.ndarray     # (T,)
    idx: np.ndarray      # (T, rank) flat indices into A
    fid: np.ndarray      # (T,) descriptor index within this rank
    labels: tuple        # one per descriptor: (nus, L)

    @property
    def count(self) -> int:
        return len(self.labels)


def a_size(nel: int, nmax_all: int, lmax_all: int) -> int:
    return nel * nmax_all * (lmax_all + 1) ** 2


def a_index(mu: int, n: int, l: int, m: int, nmax_all: int, lmax_all: int) -> int:
    return (mu * nmax_all + (n - 1)) * (lmax_all + 1) ** 2 + lm_index(l, m)


def _coupling_tensor(ls: tuple, L: int | None) -> np.ndarray:
    if len(ls) == 1:
        return np.ones((1,))
    if len(ls) == 2:
        return np.eye(2 * ls[0] + 1) / np.sqrt(2 * ls[0] + 1)
    if len(ls) == 3:
        return coupling3(*ls)
    return np.einsum("abM,cdM->abcd", coupling3(ls[0], ls[1], L), coupling3(ls[2], ls[3], L))


def _allowed(ls: tuple) -> list:
    """Intermediate couplings L for which this l-tuple gives an invariant ([None] if none needed)."""
    n = len(ls)
    if sum(ls) % 2:
        return []
    if n == 1:
        return [None] if ls[0] == 0 else []
    if n == 2:
        return [None] if ls[0] == ls[1] else []
    if n == 3:
        l1, l2, l3 = ls
        return [None] if abs(l1 - l2) <= l3 <= l1 + l2 else []
    if n == 4:
        l1, l2, l3, l4 = ls
        return [L for L in range(max(abs(l1 - l2), abs(l3 - l4)), min(l1 + l2, l3 + l4) + 1)]
    raise ValueError("ranks above 4 are not implemented")


@lru_cache(maxsize=None)
def rank_terms(rank: int, nel: int, nmax: int, lmax: int, nmax_all: int, lmax_all: int) -> RankTerms:
    """The independent rank-``rank`` invariants for ``nel`` elements, n <= nmax, l <= lmax."""
    nus = [(mu, n, l) for mu in range(nel) for n in range(1, nmax + 1) for l in range(lmax + 1)]
    cands = []
    for combo in itertools.combinations_with_replacement(nus, rank):
        ls = tuple(nu[2] for nu in combo)
        for L in _allowed(ls):
            t = _coupling_tensor(ls, L)
            terms = []
            for ms in zip(*np.nonzero(np.abs(t) > 1e-14)):
                mvals = [m - l for m, l in zip(ms, ls)]
                idx = [a_index(mu, n, l, m, nmax_all, lmax_all) for (mu, n, l), m in zip(combo, mvals)]
                terms.append((t[ms], idx))
            cands.append(((combo, L), terms))
    if not cands:
        return RankTerms(rank, np.zeros(0), np.zeros((0, rank), np.int64), np.zeros(0, np.int64), ())
    keep = _independent([terms for _, terms in cands], a_size(nel, nmax_all, lmax_all), rank)
    coef, idx, fid, labels = [], [], [], []
    for k, c in enumerate(keep):
        label, terms = cands[c]
        labels.append(label)
        for cf, ix in terms:
            coef.append(cf)
            idx.append(ix)
            fid.append(k)
    return RankTerms(rank, np.array(coef), np.array(idx, dtype=np.int64), np.array(fid, dtype=np.int64), tuple(labels))


def _independent(cand_terms: list, na: int, rank: int, seed: int = 7) -> list:
    """Indices of candidates that are linearly independent polynomials, in order."""
    if rank == 1:
        return list(range(len(cand_terms)))
    nsamp = 2 * len(cand_terms) + 16
    a = np.random.default_rng(seed).normal(size=(nsamp, na))
    vals = np.zeros((nsamp, len(cand_terms)))
    for c, terms in enumerate(cand_terms):
        for cf, ix in terms:
            vals[:, c] += cf * np.prod(a[:, ix], axis=1)
    norms = np.linalg.norm(vals, axis=0)
    r = np.linalg.qr(vals / np.where(norms > 0, norms, 1.0), mode="r")
    return [c for c in range(len(cand_terms)) if norms[c] > 1e-10 and abs(r[c, c]) > 1e-8]
