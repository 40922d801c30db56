"""ACE descriptors in torch: the same numbers from ase.Atoms and from LAMMPS's pairs.

A_{i, mu n l m} = sum_{j in mu} R_n(r_ij) Y_lm(r_ij / r_ij) (the atomic base, density
trick), then the invariants of :mod:`.basis` contracted from it. Everything is torch,
differentiable with respect to the pair vectors, batched over atoms, on any device.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from ase.data import atomic_numbers, covalent_radii

from ..errors import InputError
from .basis import RankTerms, rank_terms
from .harmonics import real_sph_harm
from .radial import radial_basis

PAPER_NMAX = (8, 2, 2, 1)
PAPER_LMAX = (0, 2, 2, 1)


def default_cutoff(a: str, b: str, factor: float = 2.0) -> float:
    """``factor`` times the sum of covalent radii: 4-6 neighbour shells in metals."""
    return factor * float(covalent_radii[atomic_numbers[a]] + covalent_radii[atomic_numbers[b]])


@dataclass
class Pairs:
    """Directed pairs (i -> j) of a structure: rij = x_j - x_i; i indexes the centres."""

    rij: torch.Tensor       # (P, 3)
    i: torch.Tensor         # (P,) centre index
    jelem: torch.Tensor     # (P,) element index of j
    ielem: torch.Tensor     # (natoms,) element index of each centre
    j: torch.Tensor | None = None    # (P,) neighbour atom index, where known (ase.Atoms)


class ACE:
    """ACE descriptors for the given elements.

    elements: element symbols (the chemical channels).
    nmax, lmax: per rank (1..4) truncation; the paper's (8, 2, 2, 1) and (0, 2, 2, 1)
        by default; shorter tuples truncate the rank (e.g. 3 values: up to 4-body).
    rcut: a number, or {(a, b): r} per element pair (symmetric); default
        :func:`default_cutoff`.
    lam: the radial scale parameter per pair; default 5 % of the cutoff (as in GRS).
    """

    def __init__(self, elements, nmax=PAPER_NMAX, lmax=PAPER_LMAX, rcut=None, lam=None,
                 dtype=torch.float64, device="cpu"):
        self.elements = list(elements)
        if not self.elements or len(set(self.elements)) != len(self.elements):
            raise InputError(f"elements: expected distinct element symbols, got {elements!r}")
        for e in self.elements:
            if e not in atomic_numbers:
                raise InputError(f"elements: unknown element {e!r}")
        if len(nmax) != len(lmax) or not 1 <= len(nmax) <= 4:
            raise InputError(f"nmax/lmax: expected one value per rank (1..4), got {nmax}, {lmax}")
        if lmax[0] != 0:
            raise InputError("lmax: rank 1 couples a single harmonic to zero, so its lmax must be 0")
        self.nmax, self.lmax = tuple(int(n) for n in nmax), tuple(int(l) for l in lmax)
        self.dtype, self.device = dtype, torch.device(device)
        nel = len(self.elements)
        rc = np.zeros((nel, nel))
        for a, ea in enumerate(self.elements):
            for b, eb in enumerate(self.elements):
                if rcut is None:
                    rc[a, b] = default_cutoff(ea, eb)
                elif isinstance(rcut, dict):
                    key = (ea, eb) if (ea, eb) in rcut else (eb, ea)
                    if key not in rcut:
                        raise InputError(f"rcut: no cutoff for the pair {ea}-{eb}")
                    rc[a, b] = float(rcut[key])
                else:
                    rc[a, b] = float(rcut)
        if not np.allclose(rc, rc.T) or (rc <= 0).any():
            raise InputError("rcut: cutoffs must be positive and symmetric")
        self.rcut = torch.tensor(rc, dtype=dtype, device=self.device)
        self.lam = self.rcut * 0.05 if lam is None else torch.full_like(self.rcut, float(lam))
        self.rmax = float(rc.max())
        self._nmax_all, self._lmax_all = max(self.nmax), max(self.lmax)
        self.ranks: list[RankTerms] = [rank_terms(r + 1, nel, n, l, self._nmax_all, self._lmax_all)
                                       for r, (n, l) in enumerate(zip(self.nmax, self.lmax))]
        self.ndescriptors = sum(t.count for t in self.ranks)
        if self.ndescriptors == 0:
            raise InputError(f"nmax={nmax}, lmax={lmax} give no descriptor")
        self._terms = [(torch.tensor(t.coef, dtype=dtype, device=self.device),
                        torch.tensor(t.idx, device=self.device), torch.tensor(t.fid, device=self.device), t.count)
                       for t in self.ranks]

    # --- labels ----------------------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        out = []
        for t in self.ranks:
            for nus, L in t.labels:
                body = ",".join(f"{self.elements[mu]}{n}{'spdfgh'[l]}" for mu, n, l in nus)
                out.append(f"B{t.rank}({body}{'' if L is None else f'|L={L}'})")
        return out

    def rank_slices(self) -> list[slice]:
        out, start = [], 0
        for t in self.ranks:
            out.append(slice(start, start + t.count))
            start += t.count
        return out

    # --- evaluation ------------------------------------------------------------------
    def element_index(self, symbols) -> np.ndarray:
        from ..structures.species import index_of

        return index_of(symbols, self.elements, "descriptor elements")

    def from_pairs(self, pairs: Pairs) -> torch.Tensor:
        """Descriptors (natoms, ndescriptors) of the centres, from their pairs."""
        ei = pairs.ielem[pairs.i]
        r = torch.linalg.vector_norm(pairs.rij, dim=1)
        inside = r < self.rcut[ei, pairs.jelem]
        per_pair = self.pair_functions(pairs.rij[inside], ei[inside], pairs.jelem[inside])
        return self.invariants(self.atomic_base(per_pair, pairs.i[inside], pairs.jelem[inside], pairs.ielem.shape[0]))

    def pair_functions(self, rij: torch.Tensor, ei: torch.Tensor, ej: torch.Tensor) -> torch.Tensor:
        """R_n(r) Y_lm(r^) of each pair (cutoffs of its element pair): (P, nmax * (lmax+1)^2)."""
        r = torch.linalg.vector_norm(rij, dim=1)
        radial = radial_basis(r, self.rcut[ei, ej], self.lam[ei, ej], self._nmax_all)
        ylm = real_sph_harm(rij / r[:, None], self._lmax_all)
        return (radial[:, :, None] * ylm[:, None, :]).reshape(len(r), self._nmax_all * (self._lmax_all + 1) ** 2)

    def atomic_base(self, per_pair: torch.Tensor, centre: torch.Tensor, jelem: torch.Tensor, natoms: int) -> torch.Tensor:
        """A_{i, mu n l m}: pair functions summed per centre and neighbour element, (natoms, nA)."""
        nel = len(self.elements)
        a = torch.zeros(natoms * nel, per_pair.shape[1], dtype=self.dtype, device=self.device)
        return a.index_add(0, centre * nel + jelem, per_pair).reshape(natoms, -1)

    def invariants(self, a: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
        """The rank-1..4 invariants contracted from the atomic base: (natoms, ndescriptors)."""
        natoms, out = a.shape[0], []
        for coef, idx, fid, count in self._terms:
            if count == 0:
                continue
            blocks = [torch.zeros(min(chunk, natoms - s), count, dtype=self.dtype, device=self.device)
                      .index_add(1, fid, a[s:s + chunk][:, idx].prod(dim=-1) * coef) for s in range(0, natoms, chunk)]
            out.append(torch.cat(blocks) if blocks else torch.zeros(0, count, dtype=self.dtype, device=self.device))
        return torch.cat(out, dim=1)

    def pairs(self, atoms, positions: torch.Tensor | None = None) -> Pairs:
        """Pairs of an ase.Atoms within the largest cutoff (periodic images included).

        With ``positions`` (a tensor, e.g. requiring grad) the pair vectors are built from
        it, so that descriptors can be differentiated with respect to positions.
        """
        from ..structures import neighbour_pairs

        self.check_pair_budget(atoms)
        i, j, _, _, shift = neighbour_pairs(atoms, self.rmax, sort=False, shifts=True)
        pos = positions if positions is not None else torch.tensor(atoms.positions, dtype=self.dtype)
        pos = pos.to(self.device, self.dtype)
        cell = torch.tensor(atoms.cell.array, dtype=self.dtype, device=self.device)
        i_t, j_t = torch.from_numpy(i).to(self.device), torch.from_numpy(j).to(self.device)
        rij = pos[j_t] - pos[i_t] + torch.from_numpy(shift).to(self.device, self.dtype) @ cell
        el = torch.from_numpy(self.element_index(atoms.get_chemical_symbols())).to(self.device)
        return Pairs(rij=rij, i=i_t, jelem=el[j_t], ielem=el, j=j_t)

    MAX_PAIRS = 5 * 10 ** 7

    def check_pair_budget(self, atoms) -> None:
        """Refuse before the neighbour search a structure whose pair list could not be held
        (a cutoff or lattice parameter off by orders of magnitude), with the estimate."""
        if not all(atoms.pbc) or len(atoms) == 0:
            return
        density = len(atoms) / max(atoms.get_volume(), 1e-300)
        pairs = len(atoms) * density * 4 / 3 * np.pi * self.rmax ** 3
        if pairs > self.MAX_PAIRS:
            raise InputError(f"rcut: a {self.rmax:.3g} A cutoff on {len(atoms)} atoms at {density:.3g} atoms/A^3 "
                             f"means ~{pairs:.2g} neighbour pairs (limit {self.MAX_PAIRS:.0e}): lower the cutoff "
                             "or check the cell's lattice parameter")

    def compute(self, atoms, positions: torch.Tensor | None = None) -> torch.Tensor:
        """Per-atom descriptors (natoms, ndescriptors) of an ase.Atoms."""
        return self.from_pairs(self.pairs(atoms, positions))

    def config(self) -> dict:
        """Plain data that rebuilds this descriptor set (see :meth:`from_config`)."""
        rc = self.rcut.cpu().numpy()
        return {"elements": self.elements, "nmax": list(self.nmax), "lmax": list(self.lmax),
                "rcut": {f"{a}-{b}": float(rc[i, j]) for i, a in enumerate(self.elements)
                         for j, b in enumerate(self.elements) if j >= i},
                "lam_fraction": float((self.lam / self.rcut).flatten()[0])}

    @classmethod
    def from_config(cls, cfg: dict, **kwargs) -> "ACE":
        rcut = {tuple(k.split("-")): v for k, v in cfg["rcut"].items()}
        ace = cls(cfg["elements"], cfg["nmax"], cfg["lmax"], rcut=rcut, **kwargs)
        ace.lam = ace.rcut * cfg.get("lam_fraction", 0.05)
        return ace
