"""One periodic neighbour search.

* :func:`neighbour_pairs`: every pair within a cutoff of a whole structure (ASE's
  ``neighbor_list``, C-accelerated), sorted by atom, then distance, then neighbour.
* :func:`points_within`: the atoms (and periodic images) within a cutoff of a few chosen
  atoms or points -- a k-d tree over the atoms and just the images the cutoff reaches, so a
  few sites of a million-atom frame cost little.
* :func:`periodic_images`: the atoms and those images, for a k-d tree of one's own (e.g. the
  k nearest neighbours of every atom of a million-atom frame, in ``alloykit.mpdm``).
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


def neighbour_pairs(atoms: Atoms, cutoff: float, sort: bool = True, shifts: bool = False):
    """(i, j, d, D): every ordered pair i != j (periodic images included; an atom may meet
    its own image in a small cell) with |D| = d <= cutoff, D = r_j - r_i + S @ cell (minimum
    image not assumed). Sorted by i, then d, then j when ``sort``. ``shifts`` appends S, the
    integer cell shift of each pair (to rebuild D from positions that carry a gradient)."""
    from ase.neighborlist import neighbor_list

    cutoff = float(cutoff)
    if not cutoff > 0 or not np.isfinite(cutoff):
        raise InputError(f"cutoff: {cutoff} must be a positive finite distance")
    if any(atoms.pbc) and not cell_heights(atoms.cell.array)[np.asarray(atoms.pbc)].min() > 1e-9:
        raise InputError("structure: degenerate periodic cell")
    out = neighbor_list("ijdDS", atoms, cutoff)
    if sort and len(out[0]):
        i, j, d = out[:3]
        order = np.lexsort((j, np.round(d, 10), i))
        out = tuple(x[order] for x in out)
    return tuple(out) if shifts else tuple(out[:4])


def periodic_images(atoms: Atoms, cutoff: float) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the atoms, wrapped into the cell along periodic axes (the first N rows),
    then of just the periodic images within ``cutoff`` of the cell's faces, and the atom of
    every row. A k-d tree over them finds every neighbour within ``cutoff`` of any point in
    the cell. Triclinic cells and cells thinner than the cutoff too; for 1e6 atoms it adds
    some 10 % of rows, where all 26 shifted copies would add 2600 %."""
    pbc = np.asarray(atoms.pbc, dtype=bool)
    owner = np.arange(len(atoms))
    if not pbc.any():
        return atoms.positions.copy(), owner
    cell = atoms.cell.complete().array          # a non-periodic axis may have no cell vector
    h = cell_heights(cell)
    if not h[pbc].min() > 1e-9:
        raise InputError("structure: degenerate periodic cell")
    frac = np.linalg.solve(cell.T, atoms.positions.T).T
    frac[:, pbc] -= np.floor(frac[:, pbc])
    # one axis after the other, so the images of images fill the edges and corners
    for k in np.flatnonzero(pbc):
        s = cutoff / h[k]
        m = int(np.ceil(s))
        blocks, owners = [frac], [owner]
        for shift in range(-m, m + 1):
            if shift:
                moved = frac[:, k] + shift
                keep = np.flatnonzero((moved >= -s) & (moved < 1.0 + s))
                block = frac[keep]
                block[:, k] += shift
                blocks.append(block)
                owners.append(owner[keep])
        frac, owner = np.concatenate(blocks), np.concatenate(owners)
    return frac @ cell, owner


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

    images, owner = periodic_images(atoms, cutoff)
    if points is None:
        sites = np.arange(len(atoms)) if sites is None else np.asarray(sites, int).reshape(-1)
        if len(sites) and (sites.min() < 0 or sites.max() >= len(atoms)):
            raise InputError(f"sites: indices must be in 0..{len(atoms) - 1}")
        centres = images[sites]                 # the atoms, wrapped into the cell
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
