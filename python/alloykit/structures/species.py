"""Species: element symbols, the order that maps them to LAMMPS types, and per-atom indices.

One rule everywhere: LAMMPS type t is ``species[t - 1]``; an element column or chemical
symbols are matched against ``species`` by name. Symbols are case-sensitive, as in every
structure format (``fe`` is not iron).
"""
from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.data import atomic_masses, atomic_numbers, chemical_symbols

from ..errors import InputError


def check_species(species, where: str = "species") -> list[str]:
    """``species`` as a list of distinct, real element symbols, or InputError."""
    if isinstance(species, str):
        species = species.replace(",", " ").split()
    out = [str(s) for s in species]
    if not out:
        raise InputError(f"{where}: no element given")
    for s in out:
        if s not in atomic_numbers or s == "X":
            hint = f" (did you mean {s.capitalize()!r}?)" if s.capitalize() in atomic_numbers else ""
            raise InputError(f"{where}: {s!r} is not an element symbol{hint}")
    dup = sorted({s for s in out if out.count(s) > 1})
    if dup:
        raise InputError(f"{where}: {', '.join(dup)} given twice")
    return out


def species_of(atoms: Atoms, species=None, where: str = "species") -> list[str]:
    """Element of each LAMMPS type: ``species`` if given (checked against the atoms), else
    the elements present, sorted by name."""
    present = sorted(set(atoms.get_chemical_symbols()))
    if "X" in present:
        raise InputError(f"{where}: the structure has atoms of unknown element; give the species of each type")
    if species is None:
        return present
    species = check_species(species, where)
    missing = [s for s in present if s not in species]
    if missing:
        raise InputError(f"{where}: {missing} occur in the structure but not in {species}")
    return species


def index_of(symbols, species, where: str = "species") -> np.ndarray:
    """(N,) int64 index of each symbol in ``species``; InputError for one not there."""
    names = list(species)
    lookup = {s: k for k, s in enumerate(names)}
    if len(symbols) < 4096:         # a dict beats sorting for one environment's few hundred
        try:
            return np.fromiter((lookup[s] for s in symbols), dtype=np.int64, count=len(symbols))
        except KeyError as e:
            raise InputError(f"{where}: element {e.args[0]!r} is not one of {names}") from None
    # a whole frame: sort once, look up the few distinct symbols (fast for 1e6 atoms)
    uniq, inverse = np.unique(np.asarray(symbols, dtype=str), return_inverse=True)
    missing = [s for s in uniq.tolist() if s not in lookup]
    if missing:
        raise InputError(f"{where}: element {missing[0]!r} is not one of {names}")
    return np.array([lookup[s] for s in uniq.tolist()], dtype=np.int64)[inverse.reshape(-1)]


def species_indices(atoms: Atoms, species=None, where: str = "species") -> tuple[np.ndarray, list[str]]:
    """(N,) int index of every atom into the species list, and that list
    (default: :func:`species_of`)."""
    names = species_of(atoms, species, where)
    return index_of(atoms.get_chemical_symbols(), names, where), names


# elements a Masses line may name: up to plutonium (the heavier ones are synthetic, their
# "masses" mass numbers -- a mass near 294 is a typo, not oganesson)
MASS_ELEMENTS = 94


def element_of_mass(mass: float, tol: float = 0.1) -> str | None:
    """The element (Z <= 94) whose standard atomic mass is within ``tol`` amu of ``mass``,
    if exactly one is (a LAMMPS data file's ``Masses``)."""
    m = np.asarray(atomic_masses[1:MASS_ELEMENTS + 1], float)
    hits = np.flatnonzero(np.abs(m - float(mass)) <= tol)
    return chemical_symbols[int(hits[0]) + 1] if len(hits) == 1 else None


def nearest_element(mass: float) -> str:
    """'Fe (55.845)': the element of nearest standard mass, for messages."""
    m = np.asarray(atomic_masses[1:MASS_ELEMENTS + 1], float)
    k = int(np.argmin(np.abs(m - float(mass))))
    return f"{chemical_symbols[k + 1]} ({m[k]:.3f})"


def symbols_from_types(types: np.ndarray, species, where: str) -> list[str]:
    """Element of each atom from its LAMMPS type (1-based) and ``species``."""
    types = np.asarray(types)
    if types.size and (types.min() < 1 or types.max() > len(species)):
        raise InputError(f"{where}: atom types run from {int(types.min())} to {int(types.max())}, "
                         f"but {len(species)} species are given ({' '.join(species)})")
    return np.asarray(species, dtype=object)[types.astype(np.int64) - 1].tolist()
