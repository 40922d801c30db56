"""Vacancy environments of a structure, as :class:`~alloykit.structures.HopRecord`s (the
records of ``alloykit.neb`` datasets).

:func:`hop_records` takes a crystal as ``ase.Atoms``, empties one site at a time and
describes each of its first-neighbour hops exactly as an NEB dataset record does
(``env_positions`` relative to the vacancy site, raw frame, mover included).

The first neighbours come from the lattice's connectivity
(:func:`~alloykit.structures.lattice_sites`), not from distances: every BCC site has
exactly 8 hops and every FCC site 12, under size mismatch, relaxation and thermal
displacement alike; a neighbour site that is already vacant gives no hop.

These environments are *unrelaxed*: the atoms sit where the structure has them, with only the
vacancy's atom taken out. The paper's CNN maps the initial configuration to the barrier, and
relaxing every vacancy would cost an energy minimisation per site, so predictions on a
structure use the unrelaxed environment; NEB datasets carry the relaxed one.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from ..errors import InputError
from ..structures import HopRecord, lattice_sites, points_within

CHUNK = 512     # sites per neighbour search: bounded memory for huge structures


def hop_records(atoms, sites=None, cutoff: float = 8.0, lattice: str | None = None) -> Iterator[HopRecord]:
    """Records of every first-neighbour hop into a vacancy at each of ``sites`` (default:
    all atoms) of ``atoms``; one vacancy at a time, the rest of the structure unchanged.

    Records come grouped by vacancy site, in the order of ``sites``, nearest mover first
    (ties by index, as ``env_positions`` is sorted); they carry the lattice
    kind and parameter of the structure. ``lattice``: "bcc"/"fcc" to insist on one (default:
    recognised). A periodic cell smaller than the cutoff is fine (periodic images count, as
    they do for the potential). Raises :class:`~alloykit.structures.NotCrystalline` for a
    structure that is not one BCC/FCC lattice.
    """
    table = lattice_sites(atoms, 1, lattice)
    n = len(atoms)
    sites = np.arange(n) if sites is None else np.asarray(sites, int).reshape(-1)
    if len(sites) and (sites.min() < 0 or sites.max() >= n):
        raise InputError(f"sites: indices must be in 0..{n - 1}")
    symbols = np.asarray(atoms.get_chemical_symbols(), dtype=object)
    _, movers, ideal = table.hops(sites)
    for lo in range(0, len(sites), CHUNK):
        chunk = sites[lo:lo + CHUNK]
        for site, row, (j, D) in zip(chunk, movers[lo:lo + CHUNK], points_within(atoms, cutoff, sites=chunk)):
            env_species = symbols[j].tolist()
            found = []
            for m, vec in zip(row, ideal):
                if m < 0:
                    continue            # that neighbour site is vacant already
                # the mover's entry (of its periodic images, the one nearest its ideal site)
                cand = np.flatnonzero(j == m)
                if not len(cand):
                    raise InputError(f"cutoff: {cutoff} A does not reach the first neighbours of site {site}")
                found.append(cand[np.argmin(np.linalg.norm(D[cand] - vec, axis=1))])
            for k in sorted(found):     # nearest mover first, as the environment is sorted
                yield HopRecord(vacancy_site=int(site), neighbor_site=int(j[k]), moving_species=str(symbols[j[k]]),
                                hop_vector=D[k].copy(), env_positions=D, env_species=env_species,
                                env_cutoff=float(cutoff), lattice=table.structure, lattice_parameter=table.a)
