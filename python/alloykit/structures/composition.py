"""Compositions: one parser, one exact-count rule, one random solid solution.

Exact counts (largest-remainder rounding): each species gets ``floor(c_i N)`` atoms and the
``N - sum(floor)`` left over go, one each, to the species with the largest remainders
``c_i N - floor(c_i N)`` (ties to the species listed first). The counts sum to N and each is
within one atom of ``c_i N``. When rounding was needed a :class:`CompositionRounded` warning
says so (the CLI prints it as a note); ``strict=True`` makes it an error instead.
"""
from __future__ import annotations

import itertools
import math
import re
import warnings

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.data import atomic_numbers

from ..errors import InputError

LATTICES = ("bcc", "fcc")
ATOMS_PER_CUBE = {"bcc": 2, "fcc": 4}
_FORMULA = re.compile(r"([A-Z][a-z]?)(\d*\.?\d*(?:[eE][-+]?\d+)?)")


class CompositionRounded(UserWarning):
    """A composition that N atoms cannot hold exactly was rounded to the nearest counts."""


def element_values(text: str, field: str = "composition", what: str = "fraction") -> list[tuple[str, float]]:
    """``"Fe=0.8,Cr=0.2"`` (``:`` works too) -> [("Fe", 0.8), ("Cr", 0.2)]; errors name
    ``field`` and call the number a ``what``. Element symbols are not checked here."""
    out = []
    for item in filter(None, text.replace(" ", "").split(",")):
        el, sep, value = item.replace(":", "=").partition("=")
        if not sep:
            raise InputError(f"{field}: {item!r} is not ELEMENT={what.upper()}")
        try:
            out.append((el, float(value)))
        except ValueError:
            raise InputError(f"{field}: {what} {value!r} of {el} is not a number") from None
    return out


def _pairs(text: str) -> list[tuple[str, float]]:
    text = text.replace(" ", "")
    if "=" in text or ":" in text:
        return element_values(text)
    parts = _FORMULA.findall(text)
    if not parts or "".join(el + n for el, n in parts) != text:
        raise InputError(f"composition: {text!r} is neither Fe=0.8,Cr=0.2 nor a formula like Fe80Cr20")
    try:
        return [(el, float(n) if n else 1.0) for el, n in parts]
    except ValueError:
        raise InputError(f"composition: {text!r} has a bad number") from None


def parse_composition(composition, normalise: bool | None = None) -> dict[str, float]:
    """``{"Fe": 0.8, "Cr": 0.2}`` from ``"Fe=0.8,Cr=0.2"``, a formula (``"Fe80Cr20"``,
    ``"Cr40Mo30V30"``, ``"AuCu3"``), a dict or a list of pairs.

    Formulas are normalised to fractions; fractions given with ``=`` or as a dict must sum
    to 1 (within 1e-6) unless ``normalise=True``. Zero fractions are kept (they name a
    species with no atom). Raises InputError naming what is wrong.
    """
    formula = False
    if isinstance(composition, str):
        formula = "=" not in composition and ":" not in composition
        pairs = _pairs(composition)
    elif isinstance(composition, dict):
        pairs = list(composition.items())
    else:
        try:
            pairs = [(str(el), frac) for el, frac in composition]
        except (TypeError, ValueError):
            raise InputError(f"composition: {composition!r} is not a composition") from None
    if not pairs:
        raise InputError("composition: empty")
    comp: dict[str, float] = {}
    for el, frac in pairs:
        if el not in atomic_numbers or el == "X":
            raise InputError(f"composition: {el!r} is not an element symbol")
        if el in comp:
            raise InputError(f"composition: {el} given twice")
        try:
            frac = float(frac)
        except (TypeError, ValueError):
            raise InputError(f"composition: fraction of {el} is {frac!r}, not a number") from None
        if not math.isfinite(frac) or frac < 0:
            raise InputError(f"composition: fraction of {el} is {frac}, must be finite and >= 0")
        comp[el] = frac
    total = sum(comp.values())
    if not total > 0:
        raise InputError("composition: every fraction is zero")
    if formula or normalise:
        return {el: c / total for el, c in comp.items()}
    if abs(total - 1.0) > 1e-6:
        raise InputError(f"composition: fractions sum to {total:.6g}, not 1")
    return comp


def format_composition(composition) -> str:
    """``{"Fe": 0.8, "Cr": 0.2}`` -> ``"Fe=0.8,Cr=0.2"`` (parsable back)."""
    return ",".join(f"{el}={c:.6g}" for el, c in parse_composition(composition).items())


def composition_key(composition) -> str:
    """A stable name for a composition: ``"Cr0.2000-Fe0.8000"`` (sorted, zeros dropped)."""
    if not composition:
        return "unknown"
    return "-".join(f"{el}{float(c):.4f}" for el, c in sorted(dict(composition).items()) if float(c) > 0)


def composition_of(atoms: Atoms) -> dict[str, float]:
    """Fractions of the elements in ``atoms``, sorted by element."""
    symbols, n = np.unique(atoms.get_chemical_symbols(), return_counts=True)
    return {str(s): float(k) / len(atoms) for s, k in zip(symbols, n)}


def exact_counts(composition, n_atoms: int, strict: bool = False) -> dict[str, int]:
    """Atoms of each species for ``n_atoms`` sites (largest-remainder rounding; see module
    doc). Species with a zero count are left out.

    Raises InputError when a species with a positive fraction would get no atom, or when
    ``strict`` and the composition does not fit exactly.
    """
    comp = parse_composition(composition)
    n = int(n_atoms)
    if n != n_atoms or n <= 0:
        raise InputError(f"number of atoms: {n_atoms!r}; need a positive integer")
    ideal = {el: c * n for el, c in comp.items()}
    out = {el: int(math.floor(v + 1e-9)) for el, v in ideal.items()}
    order = sorted(comp, key=lambda el: -(ideal[el] - out[el]))    # stable: ties keep input order
    for el in order[: n - sum(out.values())]:
        out[el] += 1
    empty = [el for el in comp if comp[el] > 0 and out[el] == 0]
    if empty:
        raise InputError(f"composition: {', '.join(empty)} at fraction {comp[empty[0]]:g} gives no atom "
                         f"in {n} sites; use more atoms")
    off = {el: ideal[el] for el in comp if abs(ideal[el] - out[el]) > 1e-6}
    if off:
        text = ", ".join(f"{el} {ideal[el]:.2f} -> {out[el]}" for el in comp)
        if strict:
            raise InputError(f"composition: {n} atoms cannot hold it exactly ({text})")
        warnings.warn(CompositionRounded(f"composition rounded to whole atoms for {n} sites: {text}"),
                      stacklevel=2)
    return {el: k for el, k in out.items() if k > 0}


def grid_divisions(step: float) -> int:
    """1/step for a step that divides 1 (0.5, 0.25, 0.1, 1/6, ...); InputError otherwise."""
    n = round(1.0 / step) if step > 0 else 0
    if n < 1 or abs(n * step - 1.0) > 1e-9:
        raise InputError(f"step: {step} must divide 1 (e.g. 0.5, 0.25, 0.1)")
    return n


def composition_grid(elements, step: float = 0.1, min_fraction: float = 0.0) -> list[dict]:
    """Every composition of ``elements`` with fractions that are multiples of ``step``
    (1/step an integer) and at least ``min_fraction``, in lexicographic order."""
    from .species import check_species

    elements = check_species(elements, "elements")
    n = grid_divisions(step)
    out = []
    for parts in itertools.product(range(n + 1), repeat=len(elements) - 1):
        last = n - sum(parts)
        if last < 0:
            continue
        fr = [p / n for p in (*parts, last)]
        if min(fr) >= min_fraction - 1e-12:
            out.append({el: f for el, f in zip(elements, fr) if f > 0})
    if not out:
        raise InputError(f"min_fraction: {min_fraction} leaves no composition on a grid of step {step}")
    return out


def vegard_lattice_parameter(lattice: str, composition) -> float:
    """Lattice parameter (A) from the composition-weighted atomic volume of ASE's reference
    crystal of each element (Vegard's law on volumes): a first guess; relax the box for the
    potential's own value."""
    lattice = check_lattice_name(lattice)
    comp = parse_composition(composition)
    vol = sum(c * bulk(el).get_volume() / len(bulk(el)) for el, c in comp.items())
    return float((ATOMS_PER_CUBE[lattice] * vol) ** (1.0 / 3.0))


def check_lattice_name(lattice) -> str:
    name = str(lattice).lower()
    if name not in LATTICES:
        raise InputError(f"lattice: {lattice!r} is not one of {', '.join(LATTICES)}")
    return name


def sample_seed(seed: int, k: int) -> int:
    """Independent, reproducible seed of item k (sample, cell, ...) of a run seeded ``seed``."""
    return int(np.random.SeedSequence([int(seed), int(k)]).generate_state(1)[0])


# the largest sample built in memory: 1e7 atoms is ~2 GB as ase.Atoms
MAX_ATOMS = 10_000_000


def random_solid_solution(lattice: str, composition, size=(10, 10, 10), a: float | None = None,
                          seed: int = 0) -> Atoms:
    """A random solid solution: ``size`` conventional cubes of ``lattice`` ("bcc"/"fcc"),
    exact counts (see module doc), species placed by a permutation drawn from ``seed``.

    a: lattice parameter in A (default: :func:`vegard_lattice_parameter`). The composition,
    counts, lattice, a and seed are kept in ``atoms.info``.
    """
    lattice = check_lattice_name(lattice)
    reps = (int(size),) * 3 if np.isscalar(size) else tuple(int(s) for s in size)
    if len(reps) != 3 or min(reps) < 1:
        raise InputError(f"size: expected three positive repetitions, got {size!r}")
    n_atoms = math.prod(reps) * (2 if lattice == "bcc" else 4)
    if n_atoms > MAX_ATOMS:     # refused before numpy tries (and fails, or swaps for minutes)
        raise InputError(f"size: {' x '.join(map(str, reps))} {lattice} cells = {n_atoms:.3g} atoms (about "
                         f"{n_atoms * 200 / 1e9:.3g} GB as ase.Atoms); the limit is {MAX_ATOMS:.0e} atoms")
    comp = parse_composition(composition)
    a = vegard_lattice_parameter(lattice, comp) if a is None else a
    if not (math.isfinite(float(a)) and float(a) > 0):
        raise InputError(f"a: lattice parameter must be > 0, got {a}")
    atoms = bulk(next(iter(comp)), lattice, a=float(a), cubic=True).repeat(reps)
    n = exact_counts(comp, len(atoms))
    symbols = np.repeat(list(n), list(n.values()))
    rng = np.random.default_rng(seed)
    atoms.set_chemical_symbols(symbols[rng.permutation(len(atoms))].tolist())
    atoms.info.update(composition=comp, counts=n, lattice=lattice, a=float(a), seed=seed)
    return atoms
