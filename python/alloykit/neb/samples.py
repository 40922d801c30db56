"""Sample sets like the paper's: random solid solutions on a composition grid over a
k-component simplex, structures from files (CSRO samples written by ``alloykit csro``
MC/MD, LAMMPS dumps and data files, anything :func:`alloykit.structures.read_frames`
reads), and the choice of vacancy sites.

Compositions, their grid and the random solid solutions are those of
:mod:`alloykit.structures` (exact counts, seeded).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from ase import Atoms

from ..errors import InputError
from ..structures import composition_grid, parse_composition, random_solid_solution, read_frames, sample_seed

__all__ = ["composition_grid", "parse_composition", "random_solid_solution", "sample_seed", "grid_samples",
           "composition_label", "file_samples", "plain_atoms", "choose_sites", "structures_digest"]


def composition_label(comp: dict) -> str:
    """``{"Fe": 0.8, "Cr": 0.2}`` -> ``"Fe0.80Cr0.20"`` (sample ids)."""
    return "".join(f"{el}{f:.2f}" for el, f in comp.items())


def grid_samples(elements, step: float, lattice: str = "bcc", size=5, a: float | None = None,
                 per_composition: int = 1, min_fraction: float = 0.0, seed: int = 0) -> list[tuple[str, Atoms]]:
    """Random solid solutions over :func:`composition_grid`: ``per_composition`` samples
    of ``size`` cubic cells each; ids like ``"Fe0.80Cr0.20-0"``."""
    out = []
    for comp in composition_grid(elements, step, min_fraction):
        for r in range(per_composition):
            s = sample_seed(seed, len(out))
            out.append((f"{composition_label(comp)}-{r}", random_solid_solution(lattice, comp, size, a, s)))
    return out


def file_samples(paths, frames: str = ":", species=None) -> list[tuple[str, Atoms]]:
    """Structures from files (the frames selected by ``frames``, an index or a slice such
    as ``-1`` or ``::10``); ids ``"<file stem>:<frame>"``. species: element of each
    LAMMPS type, for dumps and data files with types only."""
    out = []
    for p in map(Path, paths):
        out += [(f"{p.stem}:{atoms.info['frame']}", plain_atoms(atoms)) for atoms in read_frames(p, species, frames)]
    return out


def plain_atoms(atoms: Atoms) -> Atoms:
    """Elements, positions and cell only: what a dataset stores of a sample."""
    return Atoms(atoms.get_chemical_symbols(), positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)


def choose_sites(natoms: int, sites, seed: int, k: int) -> list[int]:
    """Vacancy sites of sample k: "all", an int n (a seeded random subset of n sites), or
    a list of indices (checked against the size)."""
    if isinstance(sites, str) and sites == "all":
        return list(range(natoms))
    if isinstance(sites, (int, np.integer)):
        if not 1 <= sites <= natoms:
            raise InputError(f"sites: {sites} random sites requested from a {natoms}-atom sample")
        rng = np.random.default_rng(sample_seed(seed + 1, k))
        return sorted(int(s) for s in rng.choice(natoms, size=int(sites), replace=False))
    out = sorted({int(s) for s in sites})
    bad = [s for s in out if not 0 <= s < natoms]
    if bad:
        raise InputError(f"site: {bad[0]} out of range 0..{natoms - 1}")
    if not out:
        raise InputError("sites: empty list")
    return out


def structures_digest(samples) -> str:
    from .store import structure_json

    h = hashlib.sha256()
    for sid, atoms in samples:
        h.update(str(sid).encode() + b"\0" + structure_json(atoms).encode() + b"\0")
    return h.hexdigest()
