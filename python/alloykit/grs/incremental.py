"""Incremental GRS loss on a fixed geometry: a swap or flip updates only what it changes.

With positions fixed, the atomic base of atom i is linear in the element labels of its
neighbours: A_i[mu] = sum_{j: e_j = mu} phi_{e_i e_j}(r_ij), where phi_ab(r) = R_n Y_lm
with the cutoffs of the pair (a, b). So phi is tabulated once for every pair and every
element pair, and a relabelling changes A only through the pairs that touch a relabelled
atom: A += sum over those pairs of (new term - old term). The invariants are then
recomputed for the atoms whose A changed (numpy gathers + a sparse contraction, no torch
dispatch), and the per-element power sums of B^k lose the old rows and gain the new ones.
The core energy (a function of the pair and its elements) is updated the same way.
``full()`` recomputes everything from scratch; the test checks both agree to 1e-10.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from .potential import GRSPotential


class Invariants:
    """ACE invariants in numpy from the atomic base, columns = atoms: the sparse polynomial
    of :mod:`alloykit.descriptors.basis` as a product tree + one sparse matrix per rank.

    A rank-r term is a product A_i1 ... A_ir; the factors commute, so terms are sorted
    (duplicates merge their coefficients) and every product is its (r-1)-prefix's product
    times one more A row, each prefix computed once for all ranks. With the paper's
    truncation this is ~1,700 row products instead of ~2,900."""

    def __init__(self, ace):
        levels = [{}]    # levels[r-1]: sorted index tuple -> row of that level's product table
        ranks = []
        for coef, idx, fid, count in ace._terms:
            if count == 0:
                continue
            terms, where = np.unique(np.sort(idx.cpu().numpy(), axis=1), axis=0, return_inverse=True)
            c = sp.csr_matrix((coef.cpu().numpy(), (fid.cpu().numpy(), where.ravel())), shape=(count, len(terms)))
            ranks.append((terms, c))
            for t in terms:    # register the term and all its prefixes
                for r in range(1, len(t) + 1):
                    while len(levels) < r:
                        levels.append({})
                    levels[r - 1].setdefault(tuple(t[:r]), len(levels[r - 1]))
        # level r: (row of the prefix in level r-1, last factor) per product
        self.steps = [np.array([(levels[r - 1][k[:-1]], k[-1]) for k in levels[r]], dtype=np.int64).reshape(-1, 2)
                      for r in range(1, len(levels))]
        self.first = np.array([k[0] for k in levels[0]], dtype=np.int64)
        # each rank's coefficients act on its level's whole table (columns = table rows)
        self.ranks = []
        for terms, c in ranks:
            level = len(terms[0]) - 1
            rows = np.array([levels[level][tuple(t)] for t in terms])
            self.ranks.append((level, (c @ sp.csr_matrix((np.ones(len(rows)), (np.arange(len(rows)), rows)),
                                                         shape=(len(rows), len(levels[level])))).tocsr()))

    def __call__(self, a_t: np.ndarray) -> np.ndarray:
        """(nA, n) atomic bases -> (nB, n) invariants."""
        tables = [a_t[self.first]]
        for step in self.steps:
            tables.append(tables[-1][step[:, 0]] * a_t[step[:, 1]])
        return np.vstack([c @ tables[level] for level, c in self.ranks])


class IncrementalLoss:
    """V_core + Q of relabellings of ``atoms``'s fixed geometry, updated per move.

    ``trial(atoms_changed, new_labels)`` -> the loss after the move (state unchanged);
    ``accept()`` commits the last trial; ``reset(elem)`` starts again from new labels.
    """

    def __init__(self, potential: GRSPotential, atoms, elem: np.ndarray):
        self.pot, ace = potential, potential.ace
        pairs = ace.pairs(atoms)
        r = torch.linalg.vector_norm(pairs.rij, dim=1)
        keep = r < max(ace.rmax, float(potential.r_core.max()))
        rij, i, j = pairs.rij[keep], pairs.i[keep], pairs.j[keep]
        self.n, self.nel = len(atoms), len(ace.elements)
        nel = self.nel
        self.i, self.j = i.numpy(), j.numpy()
        self.nf = ace._nmax_all * (ace._lmax_all + 1) ** 2
        # phi[a, b, p]: the pair function of pair p if its centre were a and neighbour b
        self.phi = np.stack([np.stack([ace.pair_functions(rij, torch.full_like(i, a), torch.full_like(i, b)).numpy()
                                       for b in range(nel)]) for a in range(nel)])
        rr = np.linalg.norm(rij.numpy(), axis=1)
        rcore = potential.r_core.numpy()
        x = np.minimum(rr[None, None, :] / rcore[:, :, None], 1.0)
        self.core = np.where(rr[None, None, :] < rcore[:, :, None],
                             potential.core_strength * (1.0 + np.cos(np.pi * x)), 0.0)    # (nel, nel, P)
        # pairs touching each atom (as centre or neighbour), for the delta of a move
        both = np.concatenate([self.i, self.j])
        pid = np.concatenate([np.arange(len(self.i))] * 2)
        order = np.argsort(both, kind="stable")
        self.touch_ptr = np.searchsorted(both[order], np.arange(self.n + 1))
        self.touch = pid[order]
        self.inv = Invariants(ace)
        loss = potential.loss
        self.kmax = loss.kmax
        self.reset(elem)

    # --- from scratch -----------------------------------------------------------------
    def _terms(self, elem, p):
        """(pair functions, flat A row) of pairs ``p`` under labels ``elem``."""
        ei, ej = elem[self.i[p]], elem[self.j[p]]
        return self.phi[ei, ej, p], self.i[p] * self.nel + ej

    def _base(self, elem) -> np.ndarray:
        p = np.arange(len(self.i))
        vals, rows = self._terms(elem, p)
        a = np.zeros((self.n * self.nel, self.nf))
        np.add.at(a, rows, vals)
        return a.reshape(self.n, -1)

    def _sums(self, b: np.ndarray, elem: np.ndarray):
        return self._power_sums(b, elem), np.bincount(elem, minlength=self.nel).astype(float)

    def _power_sums(self, b: np.ndarray, elem: np.ndarray, sign=1.0) -> np.ndarray:
        """(nel, K, nB) sums of sign x B^k per element (one-hot matmuls: np.add.at is slow)."""
        onehot = (elem[None, :] == np.arange(self.nel)[:, None]) * sign
        return np.stack([onehot @ b ** (k + 1) for k in range(self.kmax)], axis=1)

    def _loss(self, sums, counts, core) -> float:
        others = self.pot.ensemble_sums    # the other cells of a set (Eq. 14) pool with this one
        if others is not None:
            sums, counts = sums + others[0].cpu().numpy(), counts + others[1].cpu().numpy()
        return float(self.pot.loss.from_sums(sums, counts)) + core

    def reset(self, elem: np.ndarray) -> float:
        self.elem = np.asarray(elem, dtype=np.int64).copy()
        self.a = self._base(self.elem)
        self.b = self.inv(self.a.T).T
        self.sums, self.counts = self._sums(self.b, self.elem)
        self.core_e = 0.5 * self.core[self.elem[self.i], self.elem[self.j], np.arange(len(self.i))].sum()
        self.value = self._loss(self.sums, self.counts, self.core_e)
        self._pending = None
        return self.value

    def full(self, elem: np.ndarray | None = None) -> float:
        """The loss recomputed from nothing (the reference the increments must equal)."""
        elem = self.elem if elem is None else np.asarray(elem)
        b = self.inv(self._base(elem).T).T
        sums, counts = self._sums(b, elem)
        core = 0.5 * self.core[elem[self.i], elem[self.j], np.arange(len(self.i))].sum()
        return self._loss(sums, counts, core)

    # --- moves ------------------------------------------------------------------------
    def trial(self, atoms_changed, labels) -> float:
        atoms_changed = np.atleast_1d(np.asarray(atoms_changed, dtype=np.int64))
        new = self.elem.copy()
        new[atoms_changed] = labels
        p = np.unique(np.concatenate([self.touch[self.touch_ptr[k]:self.touch_ptr[k + 1]] for k in atoms_changed]))
        old_v, old_r = self._terms(self.elem, p)
        new_v, new_r = self._terms(new, p)
        centres = np.unique(self.i[p])
        # the delta of A in the block of the centres concerned (rows: centre x element
        # channel): old pair terms out, new ones in
        rows = np.concatenate([old_r, new_r])
        rows = np.searchsorted(centres, rows // self.nel) * self.nel + rows % self.nel
        order = np.argsort(rows, kind="stable")    # grouped rows: one reduceat (np.add.at is slow)
        rows = rows[order]
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        delta = np.zeros((len(centres) * self.nel, self.nf))
        delta[rows[starts]] = np.add.reduceat(np.concatenate([-old_v, new_v])[order], starts, axis=0)
        a = self.a[centres] + delta.reshape(len(centres), -1)
        b = self.inv(a.T).T
        # power sums: the centres' new rows in, their old rows out, in one product per order
        labels = np.concatenate([new[centres], self.elem[centres]])
        sign = np.repeat([1.0, -1.0], len(centres))
        sums = self.sums + self._power_sums(np.vstack([b, self.b[centres]]), labels, sign)
        counts = np.bincount(new, minlength=self.nel).astype(float)
        core = self.core_e + 0.5 * (self.core[new[self.i[p]], new[self.j[p]], p].sum()
                                    - self.core[self.elem[self.i[p]], self.elem[self.j[p]], p].sum())
        value = self._loss(sums, counts, core)
        self._pending = (new, centres, a, b, sums, counts, core, value)
        return value

    REFRESH = 5000    # accepted moves between recomputations from scratch (rounding drift)

    def accept(self) -> None:
        if self._pending is None:
            return
        new, centres, a, b, sums, counts, core, value = self._pending
        self.elem, self.sums, self.counts, self.core_e, self.value = new, sums, counts, core, value
        self.a[centres], self.b[centres] = a, b
        self._pending = None
        self._accepted = getattr(self, "_accepted", 0) + 1
        if self._accepted % self.REFRESH == 0:
            self.reset(self.elem)
