"""Random solid solutions on BCC/FCC at any composition of any number of species.

The atom count of each species is exact: ``counts(composition, n_sites)`` gives
``floor(c_i * N)`` atoms to every species and hands the ``N - sum(floor)`` left-over
atoms, one each, to the species with the largest fractional parts ``c_i*N - floor(c_i*N)``
(largest-remainder rounding; ties go to the species listed first). The counts therefore
sum to N and each differs from ``c_i * N`` by less than one atom. The species are then
placed on the sites by a seeded random permutation, so the same seed gives the same sample.
"""
from __future__ import annotations

import math

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.data import atomic_numbers

LATTICES = ("bcc", "fcc")
ATOMS_PER_CUBE = {"bcc": 2, "fcc": 4}


def parse_composition(composition) -> dict[str, float]:
    """``{"Fe": 0.8, "Cr": 0.2}`` from a dict, a list of pairs or ``"Fe=0.8,Cr=0.2"``.

    Fractions must be >= 0 and sum to 1 (within 1e-6); elements must be real elements.
    """
    if isinstance(composition, str):
        pairs = []
        for item in composition.replace(" ", "").split(","):
            if not item:
                continue
            el, sep, frac = item.partition("=")
            if not sep:
                raise ValueError(f"composition: {item!r} is not ELEMENT=FRACTION")
            try:
                pairs.append((el, float(frac)))
            except ValueError:
                raise ValueError(f"composition: fraction {frac!r} of {el} is not a number") from None
    else:
        pairs = list(composition.items()) if isinstance(composition, dict) else list(composition)
    if not pairs:
        raise ValueError("composition: empty")
    comp: dict[str, float] = {}
    for el, frac in pairs:
        if el not in atomic_numbers:
            raise ValueError(f"composition: unknown element {el!r}")
        if el in comp:
            raise ValueError(f"composition: {el} given twice")
        frac = float(frac)
        if not math.isfinite(frac) or frac < 0:
            raise ValueError(f"composition: fraction of {el} is {frac}, must be >= 0")
        comp[el] = frac
    total = sum(comp.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"composition: fractions sum to {total:.6g}, not 1")
    return comp


def counts(composition, n_sites: int) -> dict[str, int]:
    """Exact atom counts for ``n_sites`` sites (largest-remainder rounding, see module doc).

    Raises ValueError when a species with a positive fraction would get no atom.
    """
    comp = parse_composition(composition)
    n_sites = int(n_sites)
    if n_sites <= 0:
        raise ValueError(f"size: {n_sites} sites; need at least one")
    ideal = {el: c * n_sites for el, c in comp.items()}
    out = {el: int(math.floor(v + 1e-9)) for el, v in ideal.items()}
    left = n_sites - sum(out.values())
    # stable sort: equal remainders keep the order in which the species were given
    order = sorted(comp, key=lambda el: -(ideal[el] - out[el]))
    for el in order[:left]:
        out[el] += 1
    empty = [el for el in comp if comp[el] > 0 and out[el] == 0]
    if empty:
        raise ValueError(f"composition: {', '.join(empty)} at fraction {comp[empty[0]]:g} gives no atom "
                         f"in {n_sites} sites; use a bigger sample")
    return {el: n for el, n in out.items() if n > 0}


def vegard_lattice_parameter(lattice: str, composition) -> float:
    """Lattice parameter (A) of ``lattice`` from the composition-weighted atomic volume of
    ASE's reference crystal of each element (Vegard's law on volumes): a first guess; relax
    the box (``npt`` in MC/MD, or ``alloykit.lmp.relax(box="iso")``) for the potential's own."""
    comp = parse_composition(composition)
    vol = sum(c * bulk(el).get_volume() / len(bulk(el)) for el, c in comp.items())
    return float((ATOMS_PER_CUBE[lattice] * vol) ** (1.0 / 3.0))


def random_solid_solution(lattice: str, composition, size=(10, 10, 10), a: float | None = None,
                          seed: int = 0) -> Atoms:
    """A random solid solution: ``size`` cubic cells of ``lattice`` ("bcc" or "fcc").

    size: repetitions of the conventional cube (an int is used for all three axes).
    a: lattice parameter in A (default: :func:`vegard_lattice_parameter`).
    The composition is in ``atoms.info["composition"]``, the counts in ``info["counts"]``.
    """
    lattice = str(lattice).lower()
    if lattice not in LATTICES:
        raise ValueError(f"lattice: {lattice!r} is not one of {', '.join(LATTICES)}")
    reps = (int(size),) * 3 if np.isscalar(size) else tuple(int(s) for s in size)
    if len(reps) != 3 or min(reps) < 1:
        raise ValueError(f"size: expected three positive repetitions, got {size!r}")
    comp = parse_composition(composition)
    if a is None:
        a = vegard_lattice_parameter(lattice, comp)
    if not (float(a) > 0):
        raise ValueError(f"a: lattice parameter must be > 0, got {a}")
    first = next(iter(comp))
    atoms = bulk(first, lattice, a=float(a), cubic=True).repeat(reps)
    n = counts(comp, len(atoms))
    symbols = np.repeat(list(n), list(n.values()))
    rng = np.random.default_rng(seed)
    atoms.set_chemical_symbols(symbols[rng.permutation(len(atoms))].tolist())
    atoms.info.update(composition=comp, counts=n, lattice=lattice, a=float(a), seed=seed)
    return atoms


def fecr_default(size=(6, 6, 6), seed: int = 0, a: float = 2.8665) -> Atoms:
    """The project's default sample: random BCC Fe-20Cr. a = 2.8665 A is FeCr.cdeam's
    zero-pressure value at 0 K (2.863 A, relaxed 432-atom sample) plus ~0.1 % for thermal
    expansion at a few hundred K; use NPT for the exact value at a temperature."""
    return random_solid_solution("bcc", {"Fe": 0.8, "Cr": 0.2}, size=size, a=a, seed=seed)
