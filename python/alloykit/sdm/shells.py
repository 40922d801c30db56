"""Neighbour shells of the ideal lattice and the SDM settings that follow from them.

The paper (Fan, Xing & Cao) counts shells as the peaks of g(r) of a BCC alloy: six shells
hold 112 atoms, r_c = 7.6 A, l_c = 8.0 A, Delta = 0.5 A, 32^3 voxels (Ta-Nb-Mo, a ~ 3.3 A).
Geometric BCC shells at 0.866, 1, 1.414, 1.658, 1.732, 2, 2.179, 2.236 a hold
8, 6, 12, 24, 8, 6, 24, 24 atoms; 112 atoms means that the close pairs 1.658/1.732 a and
2.179/2.236 a count as one peak each. :func:`peak_shells` reproduces that by merging
geometric shells closer than ``merge`` (0.1 a) -- the resolution of a thermal g(r).

:func:`sdm_spec` then scales the paper's choice to the lattice at hand: r_c halfway between
the last kept peak and the next one, l_c = r_c * 8.0/7.6, and for six peaks Delta such that
the grid has 32 voxels per edge; other shell counts keep that Delta and round the grid up to a
multiple of 8 voxels (three 2x2x2 pools divide it exactly).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import InputError
from ..structures.lattice import geometric_shells

PAPER_LC_OVER_RC = 8.0 / 7.6
PAPER_SHELLS, PAPER_GRID = 6, 32


def peak_shells(lattice: str, merge: float = 0.1, rmax_over_a: float = 3.2) -> list[tuple[float, float, int]]:
    """g(r)-peak shells: (inner radius / a, outer radius / a, count); geometric shells whose
    radii differ by less than ``merge`` (in units of a) form one peak."""
    peaks: list[list] = []
    for r, c in geometric_shells(lattice, rmax_over_a):
        if peaks and r - peaks[-1][1] < merge:
            peaks[-1][1], peaks[-1][2] = r, peaks[-1][2] + c
        else:
            peaks.append([r, r, c])
    return [tuple(p) for p in peaks]


@dataclass(frozen=True)
class SDMSpec:
    """Grid of a spatial density map (Eq. 1): voxel centres at -l_c + Delta/2 ... l_c - Delta/2
    in steps of ``delta`` (``grid`` per edge), Gaussians of width ``delta``, atoms with
    |r| < ``r_c`` of the vacancy, one channel per entry of ``species``."""

    species: tuple[str, ...]
    r_c: float
    delta: float
    grid: int

    @property
    def l_c(self) -> float:
        return self.grid * self.delta / 2.0

    def centres(self) -> np.ndarray:
        return (np.arange(self.grid) - (self.grid - 1) / 2.0) * self.delta

    def to_dict(self) -> dict:
        d = asdict(self)
        d["species"] = list(self.species)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "SDMSpec":
        return cls(species=tuple(d["species"]), r_c=float(d["r_c"]), delta=float(d["delta"]), grid=int(d["grid"]))


def cutoff_for_shells(lattice: str, a: float, n_shells: int, merge: float = 0.1) -> float:
    """r_c (A) that keeps the first ``n_shells`` g(r) peaks: halfway across the next gap."""
    peaks = peak_shells(lattice, merge)
    if not 1 <= n_shells < len(peaks):
        raise InputError(f"n_shells: {n_shells} outside 1..{len(peaks) - 1}")
    return a * (peaks[n_shells - 1][1] + peaks[n_shells][0]) / 2.0


def sites_within(lattice: str, n_shells: int, merge: float = 0.1) -> int:
    """Number of sites in the first ``n_shells`` g(r) peaks (BCC, 6 -> 112 as in the paper)."""
    return sum(c for _, _, c in peak_shells(lattice, merge)[:n_shells])


def sdm_spec(species, lattice: str, a: float, n_shells: int = PAPER_SHELLS, delta: float | None = None,
             merge: float = 0.1, grid6: int = PAPER_GRID) -> SDMSpec:
    """The paper's SDM settings translated to ``lattice`` with parameter ``a`` (see module doc).

    ``delta`` overrides the voxel size / Gaussian width (A); by default it is the one that
    gives ``grid6`` voxels per edge at six shells (32, the paper's; 16 halves the
    resolution for CPU-sized runs). The grid is the smallest multiple of 8 voxels with
    l_c >= r_c * 8.0/7.6.
    """
    r_c = cutoff_for_shells(lattice, a, n_shells, merge)
    if delta is None:
        r6 = cutoff_for_shells(lattice, a, PAPER_SHELLS, merge)
        delta = 2.0 * r6 * PAPER_LC_OVER_RC / int(grid6)
    delta = float(delta)
    if not delta > 0:
        raise InputError(f"delta: must be > 0, got {delta}")
    grid = 8 * math.ceil(2.0 * r_c * PAPER_LC_OVER_RC / delta / 8.0 - 1e-9)
    return SDMSpec(species=tuple(species), r_c=float(r_c), delta=delta, grid=int(grid))
