"""Vacancy sites and the first neighbours that hop into them.

The neighbours come from the lattice's connectivity (:func:`alloykit.structures.lattice_sites`:
every atom on its ideal site), not from a distance cutoff: 8 in BCC and 12 in FCC, also
under size mismatch (BCC Cr-Mo-V), thermal displacement or relaxation, which move atoms
across any fixed radius but not between lattice sites.
"""
from __future__ import annotations

import numpy as np
from ase import Atoms

from ..errors import InputError
from ..structures import LatticeSites


def check_site(atoms: Atoms, site) -> int:
    """``site`` as an int in range, or InputError."""
    n = len(atoms)
    try:
        s = int(site)
    except (TypeError, ValueError):
        raise InputError(f"site: {site!r} is not an atom index") from None
    if s != site or not 0 <= s < n:
        raise InputError(f"site: {site} out of range 0..{n - 1}")
    return s


def hop_neighbours(atoms: Atoms, sites: LatticeSites, site: int) -> list[tuple[int, np.ndarray]]:
    """The first neighbours of ``site`` (``sites`` is ``lattice_sites(atoms, 1)``): (atom index,
    vector site -> neighbour, minimum image) sorted by index. InputError when a neighbour
    site is empty (the sample has a vacancy there) or the cell is too small for the shell
    to be distinct atoms."""
    site = check_site(atoms, site)
    _, movers, ideal = sites.hops([site])
    movers = movers[0]
    if (movers < 0).any():
        raise InputError(f"site {site}: {int((movers < 0).sum())} of its {len(movers)} first-neighbour sites "
                         "are vacant; the sample must be a full lattice")
    if len(set(movers.tolist())) != len(movers) or site in movers:
        raise InputError(f"site {site}: the cell is too small, a first neighbour is its own periodic image; "
                         "repeat the cell")
    # the actual displacement: the ideal vector picks the periodic image, the atoms' own
    # offsets from their sites are added
    cell = atoms.cell.array
    off = atoms.positions[movers] - atoms.positions[site] - ideal
    frac = np.linalg.solve(cell.T, off.T).T
    vec = ideal + (frac - np.round(frac)) @ cell
    order = np.argsort(movers, kind="stable")
    return [(int(movers[k]), vec[k].copy()) for k in order]
