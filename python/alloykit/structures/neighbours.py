"""One periodic neighbour search.

* :func:`neighbour_pairs`: every pair within a cutoff of a whole structure (ASE's
  ``neighbor_list``, C-accelerated), sorted by atom, then distance, then neighbour.
* :func:`points_within`: the atoms (and periodic images) within a cutoff of a few chosen
  atoms or points -- a k-d tree over the atoms and just the images the cutoff reaches, so a
  few sites of a million-atom frame cost little.
"""
from __future__ import annotations

import numpy as np
from ase import Atoms

from ..errors import InputError


def cell_heights(cell) -> np.ndarray:
    """Distances between opposite faces of the cell (zeros for a degenerate cell)."""
    cell = np.asarray(cell, float)
    vol = abs(np.linalg.det(cell))
    if vol < 1e-12:
        return np.zeros(3)
    return np.array([vol / np.linalg.norm(np.cross(cell[(k + 1) % 3], cell[(k + 2) % 3])) for k in range(3)])


def neighbour_pairs(atoms: Atoms, cutoff: float, sort: bool = True):
    """(i, j, d, D): every ordered pair i != j (periodic images included; an atom may meet
    its own image in a small cell) with |D| = d <= cutoff, D = r_j - r_i (minimum image not
    assumed). Sorted by i, then d, then j when ``sort``."""
    from ase.neighborlist import neighbor_list

    cutoff = float(cutoff)
    if not cutoff > 0 or not np.isfinite(cutoff):
        raise InputError(f"cutoff: {cutoff} must be a positive finite distance")
    if any(atoms.pbc) and not cell_heights(atoms.cell.array)[np.asarray(atoms.pbc)].min() > 1e-9:
        raise InputError("structure: degenerate periodic cell")
    i, j, d, D = neighbor_list("ijdD", atoms, cutoff)
    if sort and len(i):
        order = np.lexsort((j, np.round(d, 10), i))
        i, j, d, D = i[order], j[order], d[order], D[order]
    return i, j, d, D


def _images(atoms: Atoms, cutoff: float) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the atoms and of every periodic image that can lie within ``cutoff`` of
    an atom in the cell, and the atom index of each."""
    cell = atoms.cell.array
    h = cell_heights(cell)
    reps = []
    for k in range(3):
        if atoms.pbc[k]:
            if not h[k] > 1e-9:
                raise InputError("structure: degenerate periodic cell")
            m = int(np.ceil(cutoff / h[k]))
            reps.append(np.arange(-m, m + 1))
        else:
            reps.append(np.array([0]))
    shifts = np.stack(np.meshgrid(*reps, indexing="ij"), -1).reshape(-1, 3) @ cell
    pos = atoms.positions
    if any(atoms.pbc):
        pos = atoms.get_positions(wrap=True)
    images = (pos[None, :, :] + shifts[:, None, :]).reshape(-1, 3)
    if len(shifts) > 1 and len(pos) > 2000:
        # drop images far outside the cell: beyond cutoff of every face they reach nothing
        frac = np.linalg.solve(cell.T, images.T).T
        margin = cutoff / np.where(h > 0, h, 1.0)
        keep = np.all((frac > -margin - 1e-9) & (frac < 1 + margin + 1e-9) | ~np.asarray(atoms.pbc), axis=1)
        idx = np.flatnonzero(keep)
        return images[idx], idx % len(pos)
    return images, np.tile(np.arange(len(pos)), len(shifts))


def points_within(atoms: Atoms, cutoff: float, sites=None, points=None) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each of ``sites`` (atom indices) or ``points`` (cartesian positions): (j, D), the
    atoms within ``cutoff`` and their vectors D from the site or point, every periodic image
    counted, the site's own atom (D = 0) excluded. Sorted by distance, then index.

    For a site, D is measured from the atom's position (wrapped into the cell when periodic).
    """
    cutoff = float(cutoff)
    if not cutoff > 0 or not np.isfinite(cutoff):
        raise InputError(f"cutoff: {cutoff} must be a positive finite distance")
    from scipy.spatial import cKDTree

    images, owner = _images(atoms, cutoff)
    if points is None:
        sites = np.arange(len(atoms)) if sites is None else np.asarray(sites, int).reshape(-1)
        if len(sites) and (sites.min() < 0 or sites.max() >= len(atoms)):
            raise InputError(f"sites: indices must be in 0..{len(atoms) - 1}")
        pos = atoms.get_positions(wrap=any(atoms.pbc))
        centres = pos[sites]
    else:
        centres = np.asarray(points, float).reshape(-1, 3)
        if any(atoms.pbc):
            frac = np.linalg.solve(atoms.cell.array.T, centres.T).T
            frac[:, atoms.pbc] %= 1.0
            centres = frac @ atoms.cell.array
    tree = cKDTree(images)
    out = []
    for c, found in zip(centres, tree.query_ball_point(centres, cutoff)):
        found = np.asarray(found, dtype=np.int64)
        D = images[found] - c
        dd = np.einsum("ij,ij->i", D, D)
        keep = dd > 1e-12
        j, D, r = owner[found[keep]], D[keep], np.sqrt(dd[keep])
        order = np.lexsort((j, np.round(r, 10)))
        out.append((j[order], D[order]))
    return out
