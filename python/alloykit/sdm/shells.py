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

LATTICES = ("bcc", "fcc")
PAPER_LC_OVER_RC = 8.0 / 7.6
PAPER_SHELLS, PAPER_GRID = 6, 32


def lattice_points(lattice: str, a: float, rmax: float) -> np.ndarray:
    """Sites of the ideal cubic lattice within ``rmax`` of a site at the origin (origin
    excluded), conventional cube axes, sorted by distance then x, y, z."""
    if lattice not in LATTICES:
        raise ValueError(f"lattice: {lattice!r} is not one of {', '.join(LATTICES)}")
    m = int(math.ceil(2 * rmax / a)) + 1
    ijk = np.stack(np.meshgrid(*(np.arange(-m, m + 1),) * 3, indexing="ij"), -1).reshape(-1, 3)
    if lattice == "bcc":      # half-integer coordinates all even or all odd
        keep = (ijk % 2 == ijk[:, :1] % 2).all(1)
    else:                     # fcc: coordinate sum even
        keep = ijk.sum(1) % 2 == 0
    pts = ijk[keep] * (a / 2.0)
    r = np.linalg.norm(pts, axis=1)
    pts, r = pts[(r > 1e-9) & (r <= rmax)], r[(r > 1e-9) & (r <= rmax)]
    order = np.lexsort((pts[:, 2], pts[:, 1], pts[:, 0], np.round(r, 6)))
    return pts[order]


def geometric_shells(lattice: str, rmax_over_a: float = 3.2) -> list[tuple[float, int]]:
    """(radius / a, count) of each geometric shell of ``lattice`` up to ``rmax_over_a``."""
    r = np.round(np.linalg.norm(lattice_points(lattice, 1.0, rmax_over_a), axis=1), 6)
    radii, counts = np.unique(r, return_counts=True)
    return [(float(x), int(c)) for x, c in zip(radii, counts)]


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
        raise ValueError(f"n_shells: {n_shells} outside 1..{len(peaks) - 1}")
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
        raise ValueError(f"delta: must be > 0, got {delta}")
    grid = 8 * math.ceil(2.0 * r_c * PAPER_LC_OVER_RC / delta / 8.0 - 1e-9)
    return SDMSpec(species=tuple(species), r_c=float(r_c), delta=delta, grid=int(grid))


def detect_lattice(env_positions: np.ndarray, hop_length: float) -> tuple[str, float]:
    """Lattice type and parameter from one vacancy environment (positions relative to the
    vacancy site, A). The first shell of the vacancy has 8 sites in BCC and 12 in FCC; ``a``
    is the median over atoms of |r| divided by the ideal radius of the nearest shell, so
    the relaxation of the first shells hardly moves it."""
    r = np.linalg.norm(np.asarray(env_positions, float), axis=1)
    first = int(((r > 0.6 * hop_length) & (r < 1.077 * hop_length)).sum())
    if first in (7, 8, 9):
        lattice, d1 = "bcc", math.sqrt(3) / 2
    elif first in (11, 12, 13):
        lattice, d1 = "fcc", 1 / math.sqrt(2)
    else:
        raise ValueError(f"vacancy environment has {first} first neighbours: neither BCC (8) nor FCC (12)")
    radii = np.array([s[0] for s in geometric_shells(lattice)])
    a0 = hop_length / d1
    r = r[(r > 0.5 * hop_length) & (r < radii[-1] * a0)]
    nearest = radii[np.abs(r[:, None] / a0 - radii[None, :]).argmin(1)]
    return lattice, float(np.median(r / nearest))
