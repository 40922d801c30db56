"""Vacancy sites and their first neighbours on BCC/FCC lattices, and local environments.

The lattice is recognised from the structure itself, not from a label: around (nearly)
every atom exactly k neighbours (k = 8 for BCC, 12 for FCC) must lie closer than midway
between that lattice's first and second shells (second/first distance ratio 1.155 for
BCC, 1.414 for FCC), at the sample's own density. This accepts relaxed, strained or
slightly displaced samples and refuses amorphous structures, other lattices (HCP, ...)
and cells too small to hold a hop; the first shell must also be centrosymmetric
(which tells FCC from HCP).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

SHELL = {"bcc": 8, "fcc": 12}
# ideal second/first shell distance ratio
IDEAL_RATIO = {"bcc": 2 / np.sqrt(3), "fcc": np.sqrt(2)}
MIN_LATTICE_SITES = 0.75
CENTRO_TOL = 0.15    # mean |v + (closest -v partner)| / d1 allowed for a lattice site


@dataclass(frozen=True)
class Lattice:
    name: str             # "bcc" or "fcc"
    nn: int               # first-shell size
    d1: float             # mean first-neighbour distance, A


def _sorted_neighbours(atoms: Atoms, cutoff: float):
    """(i, j, d, D) sorted by atom i then distance (images of one atom may repeat)."""
    i, j, d, D = neighbor_list("ijdD", atoms, cutoff)
    order = np.lexsort((j, d, i))
    return i[order], j[order], d[order], D[order]


def _density_d1(atoms: Atoms, lattice: str) -> float:
    """First-neighbour distance of a perfect lattice with the sample's atomic volume."""
    per_cube = {"bcc": 2, "fcc": 4}[lattice]
    a = (per_cube * abs(atoms.get_volume()) / len(atoms)) ** (1 / 3)
    return a * (np.sqrt(3) / 2 if lattice == "bcc" else 1 / np.sqrt(2))


def _cutoff(lattice: str, d1: float) -> float:
    """Midway between the first and second shells."""
    return 0.5 * (1 + IDEAL_RATIO[lattice]) * d1


def detect_lattice(atoms: Atoms) -> Lattice:
    """The lattice of ``atoms`` ("bcc" or "fcc") and its first-neighbour distance.

    A site fits a lattice when exactly k atoms lie closer than midway between that
    lattice's first and second shells (distances scaled to the sample's density).
    Raises ValueError (one line) when neither lattice fits at least 75 % of the sites.
    """
    if len(atoms) < 2:
        raise ValueError(f"structure: {len(atoms)} atom(s); a vacancy hop needs a crystal")
    if not all(atoms.pbc):
        raise ValueError("structure: must be periodic in x, y and z (a bulk crystal)")
    if abs(atoms.get_volume()) < 1e-6:
        raise ValueError("structure: degenerate cell")
    fits = {}
    for name, k in SHELL.items():
        i, _, d, D = _sorted_neighbours(atoms, _cutoff(name, _density_d1(atoms, name)))
        good = np.bincount(i, minlength=len(atoms)) == k
        if good.any():
            # both lattices are centrosymmetric (every bond v has a partner -v); HCP, also
            # 12-coordinated, is not
            V = D[good[i]].reshape(-1, k, 3)
            mismatch = np.linalg.norm(V[:, :, None, :] + V[:, None, :, :], axis=-1).min(axis=2).mean(axis=1)
            good[np.nonzero(good)[0][mismatch > CENTRO_TOL * d[good[i]].mean()]] = False
        fits[name] = (good.mean(), float(d[good[i]].mean()) if good.any() else 0.0)
    name, (frac, d1) = max(fits.items(), key=lambda kv: kv[1][0])
    if frac < MIN_LATTICE_SITES:
        raise ValueError(f"structure: not a BCC or FCC lattice (best fit {name.upper()} at "
                         f"{100 * frac:.0f} % of sites, need {100 * MIN_LATTICE_SITES:.0f} %; "
                         "quench an MD snapshot first)")
    return Lattice(name, SHELL[name], d1)


def check_site(atoms: Atoms, site) -> int:
    """``site`` as an int in range, or ValueError."""
    n = len(atoms)
    try:
        s = int(site)
    except (TypeError, ValueError):
        raise ValueError(f"site: {site!r} is not an atom index") from None
    if s != site or not 0 <= s < n:
        raise ValueError(f"site: {site} out of range 0..{n - 1}")
    return s


def shell_list(atoms: Atoms, lattice: Lattice):
    """The first-shell neighbour list of all atoms, for repeated :func:`first_neighbours`."""
    return _sorted_neighbours(atoms, _cutoff(lattice.name, lattice.d1))


def first_neighbours(atoms: Atoms, site: int, lattice: Lattice, shells=None) -> list[tuple[int, np.ndarray]]:
    """The first neighbours of ``site``: (atom index, vector site -> neighbour) sorted by
    index. Raises ValueError when the shell is incomplete or the cell too small for the
    shell to be k distinct atoms. shells: :func:`shell_list` of ``atoms``, if at hand."""
    site = check_site(atoms, site)
    cutoff = _cutoff(lattice.name, lattice.d1)
    i, j, d, D = shells if shells is not None else shell_list(atoms, lattice)
    sel = i == site
    j, D = j[sel], D[sel]
    name = lattice.name.upper()
    if len(j) != lattice.nn:
        raise ValueError(f"site {site}: {len(j)} first neighbours within {cutoff:.2f} A, "
                         f"expected {lattice.nn} ({name}); defective or distorted around this site")
    if len(set(j.tolist())) != len(j) or site in j:
        raise ValueError(f"site {site}: the cell is too small, a first neighbour is its own "
                         f"periodic image; repeat the cell")
    order = np.argsort(j, kind="stable")
    return [(int(j[k]), D[k].copy()) for k in order]


def environment(positions: np.ndarray, cell: np.ndarray, center: np.ndarray, cutoff: float,
                exclude: int | None = None):
    """Atoms within ``cutoff`` of the point ``center`` in a periodic cell.

    Returns (indices, vectors): atom index and vector center -> atom of every periodic
    image within the cutoff (in a cell thinner than 2 * cutoff an atom can appear more
    than once, as it should for a periodic system), sorted by distance then index.
    """
    cell = np.asarray(cell, float)
    frac = np.linalg.solve(cell.T, (np.asarray(positions, float) - center).T).T
    frac -= np.round(frac)
    # how many periodic images fit in the cutoff along each axis: 1/width of the cell
    widths = abs(np.linalg.det(cell)) / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
    reach = np.ceil(cutoff / widths).astype(int)
    shifts = np.array(np.meshgrid(*[np.arange(-r, r + 1) for r in reach], indexing="ij")).reshape(3, -1).T
    idx, vec = [], []
    for s in shifts:
        v = (frac + s) @ cell
        d = np.linalg.norm(v, axis=1)
        ok = d <= cutoff
        if exclude is not None:
            ok[exclude] = ok[exclude] and d[exclude] > 1e-8
        idx.append(np.nonzero(ok)[0])
        vec.append(v[ok])
    idx = np.concatenate(idx)
    vec = np.concatenate(vec) if vec else np.zeros((0, 3))
    order = np.lexsort((idx, np.round(np.linalg.norm(vec, axis=1), 10)))
    return idx[order], vec[order]
