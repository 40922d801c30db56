"""Sample sets like the paper's: random solid solutions on a composition grid over a
k-component simplex, structures from files (CSRO samples written by ``alloykit csro``
MC/MD, any format it or ASE reads), and the choice of vacancy sites.

Random solid solutions come from :func:`alloykit.csro.random_solid_solution` (exact
counts, seeded); when that package is absent, from the small fallback builder below.
"""
from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.data import atomic_numbers


def composition_grid(elements, step: float = 0.1, min_fraction: float = 0.0) -> list[dict]:
    """Every composition of ``elements`` whose fractions are multiples of ``step`` (1/step
    must be an integer) and at least ``min_fraction``; in lexicographic order."""
    elements = list(elements)
    if len(elements) < 1 or len(set(elements)) != len(elements):
        raise ValueError(f"elements: need distinct element symbols, got {elements}")
    for el in elements:
        if el not in atomic_numbers:
            raise ValueError(f"elements: unknown element {el!r}")
    n = round(1.0 / step) if step > 0 else 0
    if n < 1 or abs(n * step - 1.0) > 1e-9:
        raise ValueError(f"step: {step} must divide 1 (e.g. 0.5, 0.25, 0.1)")
    out = []
    for parts in itertools.product(range(n + 1), repeat=len(elements) - 1):
        last = n - sum(parts)
        if last < 0:
            continue
        fr = [p / n for p in (*parts, last)]
        if min(fr) >= min_fraction - 1e-12:
            out.append({el: f for el, f in zip(elements, fr) if f > 0})
    if not out:
        raise ValueError(f"min_fraction: {min_fraction} leaves no composition on a grid of step {step}")
    return out


def parse_composition(text) -> dict:
    """``"Fe=0.8,Cr=0.2"`` (or a dict) -> {"Fe": 0.8, "Cr": 0.2}, checked."""
    try:
        from ..csro.samples import parse_composition as parse
    except ImportError:
        parse = None
    if parse is not None:
        return parse(text)
    # FALLBACK for when alloykit.csro is absent
    comp = dict(text) if isinstance(text, dict) else {}
    if not comp:
        for item in str(text).replace(" ", "").split(","):
            el, _, frac = item.partition("=")
            try:
                comp[el] = float(frac)
            except ValueError:
                raise ValueError(f"composition: {item!r} is not ELEMENT=FRACTION") from None
    for el, f in comp.items():
        if el not in atomic_numbers or not f >= 0:
            raise ValueError(f"composition: bad entry {el}={f}")
    if abs(sum(comp.values()) - 1) > 1e-6:
        raise ValueError(f"composition: fractions sum to {sum(comp.values()):.6g}, not 1")
    return comp


def _fallback_solid_solution(lattice, composition, size, a, seed) -> Atoms:
    # FALLBACK only for when alloykit.csro is absent: same idea (largest-remainder counts,
    # seeded permutation), not the same random stream
    comp = dict(composition)
    a = a or 2.87
    atoms = bulk(next(iter(comp)), lattice, a=float(a), cubic=True).repeat(size)
    n = len(atoms)
    counts = {el: int(np.floor(f * n)) for el, f in comp.items()}
    rest = sorted(comp, key=lambda el: -(comp[el] * n - counts[el]))
    for el in rest[: n - sum(counts.values())]:
        counts[el] += 1
    symbols = np.repeat(list(counts), list(counts.values()))
    atoms.set_chemical_symbols(symbols[np.random.default_rng(seed).permutation(n)].tolist())
    return atoms


def random_solid_solution(lattice: str, composition: dict, size, a: float | None, seed: int) -> Atoms:
    try:
        from ..csro.samples import random_solid_solution as build
    except ImportError:
        return _fallback_solid_solution(lattice, composition, size, a, seed)
    return build(lattice, composition, size=size, a=a, seed=seed)


def sample_seed(seed: int, k: int) -> int:
    """Independent, reproducible seed of sample k."""
    return int(np.random.SeedSequence([int(seed), int(k)]).generate_state(1)[0])


def grid_samples(elements, step: float, lattice: str = "bcc", size=5, a: float | None = None,
                 per_composition: int = 1, min_fraction: float = 0.0, seed: int = 0) -> list[tuple[str, Atoms]]:
    """Random solid solutions over :func:`composition_grid`: ``per_composition`` samples
    of ``size`` cubic cells each; ids like ``"Fe0.80Cr0.20-0"``."""
    out = []
    for comp in composition_grid(elements, step, min_fraction):
        label = "".join(f"{el}{f:.2f}" for el, f in comp.items())
        for r in range(per_composition):
            s = sample_seed(seed, len(out))
            out.append((f"{label}-{r}", random_solid_solution(lattice, comp, size, a, s)))
    return out


def file_samples(paths, frames: str = ":", species=None) -> list[tuple[str, Atoms]]:
    """Structures from files (every frame selected by ``frames``, a Python slice such as
    ``-1`` or ``::10``); ids ``"<file stem>:<frame>"``."""
    try:
        from ..csro.io import read_frames
    except ImportError:
        def read_frames(path, species=None):
            import ase.io

            yield from ase.io.iread(str(path), index=":")
    sel = _slice(frames)
    out = []
    for p in paths:
        p = Path(p)
        if not p.is_file():
            raise ValueError(f"structure: {p}: no such file")
        all_frames = list(read_frames(p, species))
        idx = list(range(len(all_frames)))[sel] if isinstance(sel, slice) else [idx_norm(sel, len(all_frames))]
        out += [(f"{p.stem}:{k}", all_frames[k]) for k in idx]
    return out


def idx_norm(k: int, n: int) -> int:
    if not -n <= k < n:
        raise ValueError(f"frames: {k} out of range for {n} frame(s)")
    return k % n


def _slice(text: str):
    text = str(text).strip()
    try:
        if ":" not in text:
            return int(text)
        parts = [int(p) if p else None for p in text.split(":")]
        return slice(*parts)
    except ValueError:
        raise ValueError(f"frames: {text!r} is not an index or a slice like '::10'") from None


def choose_sites(natoms: int, sites, seed: int, k: int) -> list[int]:
    """Vacancy sites of sample k: "all", an int n (a seeded random subset of n sites), or
    a list of indices (checked against the size)."""
    if isinstance(sites, str) and sites == "all":
        return list(range(natoms))
    if isinstance(sites, (int, np.integer)):
        if not 1 <= sites <= natoms:
            raise ValueError(f"sites: {sites} random sites requested from a {natoms}-atom sample")
        rng = np.random.default_rng(sample_seed(seed + 1, k))
        return sorted(int(s) for s in rng.choice(natoms, size=int(sites), replace=False))
    out = sorted({int(s) for s in sites})
    bad = [s for s in out if not 0 <= s < natoms]
    if bad:
        raise ValueError(f"site: {bad[0]} out of range 0..{natoms - 1}")
    if not out:
        raise ValueError("sites: empty list")
    return out


def structures_digest(samples) -> str:
    from .store import structure_json

    h = hashlib.sha256()
    for sid, atoms in samples:
        h.update(str(sid).encode() + b"\0" + structure_json(atoms).encode() + b"\0")
    return h.hexdigest()
