"""Vacancy environments of a structure, in the record format of ``alloykit.neb`` datasets.

:func:`hop_records` takes a perfect (or any) crystal as ``ase.Atoms``, empties one site at a
time and describes each of its first-neighbour hops exactly as an NEB dataset record does
(``env_positions`` relative to the vacancy site, raw frame, mover included; ``env_species``;
``hop_vector``; ``vacancy_site``; ``neighbor_site``; ``moving_species``; ``env_cutoff``).

These environments are *unrelaxed*: the atoms sit where the structure has them, with only the
vacancy's atom taken out. The paper's CNN maps the initial configuration to the barrier, and
relaxing every vacancy would cost an energy minimisation per site, so predictions on a
structure use the unrelaxed environment; NEB datasets carry the relaxed one.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

# first shell: neighbours closer than this times the nearest distance (midpoint of BCC's
# first two shells, 1 and 2/sqrt(3); FCC's second shell is much farther)
FIRST_SHELL_FACTOR = 1.077


def neighbours_of(atoms, sites: np.ndarray, cutoff: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each of ``sites``: (indices j, vectors D = r_j - r_site) of every atom or periodic
    image within ``cutoff``, self excluded. Only the given sites are searched (a k-d tree
    over the atoms and enough periodic images to cover the cutoff), so a few sites of a
    million-atom structure cost little."""
    from scipy.spatial import cKDTree

    cell = atoms.cell.array
    pos = atoms.positions
    reps = []
    for k in range(3):
        if atoms.pbc[k]:
            h = _heights(cell)[k]
            if not h > 1e-9:
                raise ValueError("structure has a degenerate periodic cell")
            reps.append(np.arange(-int(np.ceil(cutoff / h)), int(np.ceil(cutoff / h)) + 1))
        else:
            reps.append(np.array([0]))
    shifts = np.stack(np.meshgrid(*reps, indexing="ij"), -1).reshape(-1, 3) @ cell
    images = (pos[None, :, :] + shifts[:, None, :]).reshape(-1, 3)
    tree = cKDTree(images)
    n = len(pos)
    out = []
    for site, found in zip(sites, tree.query_ball_point(pos[sites], float(cutoff))):
        found = np.asarray(found, dtype=np.int64)
        D = images[found] - pos[site]
        keep = np.einsum("ij,ij->i", D, D) > 1e-12
        out.append((found[keep] % n, D[keep]))
    return out


def _heights(cell: np.ndarray) -> np.ndarray:
    vol = abs(np.linalg.det(cell))
    if vol < 1e-12:
        return np.zeros(3)
    return np.array([vol / np.linalg.norm(np.cross(cell[(k + 1) % 3], cell[(k + 2) % 3])) for k in range(3)])


def hop_records(atoms, sites=None, cutoff: float = 8.0) -> Iterator[dict]:
    """Records of every first-neighbour hop into a vacancy at each of ``sites`` (default:
    all atoms) of ``atoms``; one vacancy at a time, the rest of the structure unchanged.

    The first neighbours of a site are those within FIRST_SHELL_FACTOR times its nearest
    distance: 8 in BCC, 12 in FCC. A periodic cell smaller than the cutoff is fine (periodic
    images count as neighbours, as they do for the potential); a site with no neighbour
    within ``cutoff`` raises ValueError.
    """
    symbols = atoms.get_chemical_symbols()
    n = len(atoms)
    sites = np.arange(n) if sites is None else np.asarray(sites, int).reshape(-1)
    if len(sites) and (sites.min() < 0 or sites.max() >= n):
        raise ValueError(f"sites: indices must be in 0..{n - 1}")
    for start in range(0, len(sites), 512):           # bounded memory for huge structures
        chunk = sites[start:start + 512]
        for site, (j, D) in zip(chunk, neighbours_of(atoms, chunk, cutoff)):
            if len(j) == 0:
                raise ValueError(f"site {site}: no neighbour within {cutoff} A")
            r = np.linalg.norm(D, axis=1)
            order = np.lexsort((j, r))     # nearest first; ties by index, so the order is stable
            j, D, r = j[order], D[order], r[order]
            env_species = [symbols[k] for k in j]
            for k in np.flatnonzero(r < FIRST_SHELL_FACTOR * r[0]):
                yield {
                    "vacancy_site": int(site),
                    "neighbor_site": int(j[k]),
                    "moving_species": symbols[j[k]],
                    "hop_vector": D[k].copy(),
                    "env_positions": D,
                    "env_species": env_species,
                    "env_cutoff": float(cutoff),
                }
