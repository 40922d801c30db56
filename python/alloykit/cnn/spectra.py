"""Barrier spectra across compositions: the composition maps of the barrier-CNN paper
(Fan, Xing & Cao, Ta-Nb-Mo; ternary maps of the mean and spread of the barrier per moving
species, and lines through the simplex as in their Supplementary Figs. 8-9).

For each composition a random solid solution on the model's lattice is built
(:func:`alloykit.structures.random_solid_solution`, exact counts), ``sites`` vacancy sites
are drawn, and :meth:`BarrierModel.predict_structure` gives every first-neighbour hop into
a vacancy at each (8 per BCC site; unrelaxed environments). Per moving species the mean,
standard deviation (population) and count of the barriers are kept.

Samples are reproducible: the generator ``numpy.random.default_rng([seed, *micro])``, with
``micro`` the composition's fractions times 1e6 over the model's species, draws first the
sample's seed (for ``random_solid_solution``) and then the vacancy sites. A composition thus
gets the same sample in a map and on a line. Each point of the result records its sample
seed, lattice parameter and sites, so any point can be rebuilt and checked.

Lattice parameters follow Vegard's law, a = sum_i c_i a_i, on per-element parameters that
are given, or relaxed with a named potential (LAMMPS through :mod:`alloykit.lmp`, a
conventional cell of each pure element with its box relaxed); without either the fallback is
:func:`alloykit.structures.vegard_lattice_parameter` (ASE's reference volumes, not the
potential's), and the result says so.
"""
from __future__ import annotations

import time
import warnings

import numpy as np

from ..errors import InputError
from ..progress import Progress
from ..structures import (
    CompositionRounded,
    composition_grid,
    composition_key,
    element_values,
    grid_divisions,
    random_solid_solution,
    vegard_lattice_parameter,
)
from ..structures.species import check_species

ASE_NOTE = ("lattice parameters from ASE's reference crystals (Vegard's law on volumes), not the "
            "potential's; give --a-elements or --potential for the potential's own")


# ------------------------------------------------------------------ compositions

def map_elements(model, elements=None) -> list[str]:
    """The elements of a map: ``elements`` (a subset of the model's species, in the model's
    order) or all of the model's species."""
    if elements is None:
        return model.species
    chosen = check_species(elements, "elements")
    unknown = [el for el in chosen if el not in model.species]
    if unknown:
        raise InputError(f"elements: {', '.join(unknown)} not among the model's species {model.species}")
    return [el for el in model.species if el in chosen]


def line_compositions(elements, element: str, step: float = 0.1, min_fraction: float = 0.0) -> list[dict]:
    """Compositions with ``element`` at x = 0, step, ..., 1 and the other elements sharing
    1 - x equally (Ta(1-x)/2 Nb(1-x)/2 Mo(x) for ``element="Mo"`` in Ta-Nb-Mo); every fraction
    (zeros included) at least ``min_fraction``. Zero fractions are left out of the dicts."""
    elements = check_species(elements, "elements")
    if element not in elements:
        raise InputError(f"line: {element!r} is not one of the elements {elements}")
    if len(elements) < 2:
        raise InputError("line: needs at least two elements")
    n = grid_divisions(step)
    others = [el for el in elements if el != element]
    out = []
    for j in range(n + 1):
        x = j / n
        rest = (1.0 - x) / len(others)
        if min(x, rest) >= min_fraction - 1e-12:
            comp = {el: rest for el in others} | {element: x}
            out.append({el: comp[el] for el in elements if comp[el] > 0})
    if not out:
        raise InputError(f"min_fraction: {min_fraction} leaves no composition on the line at step {step}")
    return out


# ------------------------------------------------------------------ lattice parameters

def parse_element_values(text) -> dict[str, float]:
    """``"Ta=3.32,Nb=3.31,Mo=3.16"`` (or a dict) -> ``{"Ta": 3.32, ...}``; values positive."""
    if isinstance(text, dict):
        pairs = list(text.items())
    else:
        pairs = element_values(str(text), "a_elements", "number")
    if not pairs:
        raise InputError("a_elements: no ELEMENT=VALUE given")
    out: dict[str, float] = {}
    for el, value in pairs:
        check_species([el], "a_elements")
        try:
            a = float(value)
        except (TypeError, ValueError):
            raise InputError(f"a_elements: {el}={value!r} is not ELEMENT=NUMBER") from None
        if not (np.isfinite(a) and a > 0):
            raise InputError(f"a_elements: {el}={value} must be a positive lattice parameter (A)")
        if el in out:
            raise InputError(f"a_elements: {el} given twice")
        out[el] = a
    return out


def element_lattice_parameters(elements, lattice: str = "bcc", a_elements=None, potential=None,
                               cached: dict | None = None, known=None) -> dict:
    """Per-element lattice parameters (A) and where they come from, as recorded in the
    result's ``lattice_parameters``: ``{"source", "rule", "elements": {el: a}, ...}``.

    a_elements: given values (dict or ``"Ta=3.32,Nb=3.31"``), one for each of ``elements``;
    others may name ``known`` elements too (a model's other species; default: none), so one
    set of values serves every subset. potential: a named potential (:func:`alloykit.lmp.get_potential`); each pure
    element's conventional cell is box-relaxed in LAMMPS. ``cached``: a record this function
    returned before; reused when it holds the same potential and lattice for all
    ``elements`` (relaxing again would give the same numbers). Without either, ASE's
    reference volumes (:func:`vegard_lattice_parameter`), with a warning saying so.
    """
    elements = check_species(elements, "elements")
    if a_elements is not None and potential is not None:
        raise InputError("lattice parameters: give a_elements or potential, not both")
    if a_elements is not None:
        given = parse_element_values(a_elements)
        allowed = list(elements) + [el for el in (known or []) if el not in elements]
        extra = [el for el in given if el not in allowed]
        if extra:
            raise InputError(f"a_elements: {', '.join(extra)} not among the elements {allowed}")
        missing = [el for el in elements if el not in given]
        if missing:
            raise InputError(f"a_elements: no value for {', '.join(missing)}")
        return {"source": "given", "rule": "vegard-linear", "lattice": lattice,
                "elements": {el: given[el] for el in elements}}
    if potential is not None:
        return _relaxed_parameters(elements, lattice, potential, cached)
    warnings.warn(ASE_NOTE, stacklevel=2)
    return {"source": "ase-reference", "rule": "vegard-volume", "lattice": lattice, "note": ASE_NOTE,
            "elements": {el: vegard_lattice_parameter(lattice, {el: 1.0}) for el in elements}}


def _relaxed_parameters(elements, lattice, potential, cached) -> dict:
    from ase.build import bulk

    from ..lmp import get_potential, relax

    pot = get_potential(potential)
    pot.check(elements)      # one clear error before any LAMMPS run
    c = cached if isinstance(cached, dict) else {}
    prev = c.get("elements") if isinstance(c.get("elements"), dict) else {}
    if (c.get("source") == "potential" and c.get("potential") == pot.name and c.get("lattice") == lattice
            and all(isinstance(prev.get(el), (int, float)) and prev[el] > 0 for el in elements)):
        return {**c, "elements": {el: float(prev[el]) for el in elements}, "cached": True}
    t0 = time.perf_counter()
    values = {}
    for el in elements:
        guess = vegard_lattice_parameter(lattice, {el: 1.0})
        cell = bulk(el, lattice, a=guess, cubic=True)       # 2 (BCC) or 4 (FCC) atoms
        relaxed = relax(cell, pot, box="iso", ftol=1e-8)
        values[el] = float(np.cbrt(relaxed.get_volume()))   # the cell is one conventional cube
    return {"source": "potential", "rule": "vegard-linear", "lattice": lattice, "potential": pot.name,
            "elements": values, "relax": "box iso, ftol 1e-8 eV/A, conventional cell",
            "seconds": round(time.perf_counter() - t0, 3)}


def lattice_parameter(composition: dict, parameters: dict) -> float:
    """Lattice parameter (A) of ``composition`` from a record of
    :func:`element_lattice_parameters`: linear Vegard on its per-element values, or ASE's
    volume-weighted reference for the fallback."""
    if parameters["rule"] == "vegard-volume":
        return vegard_lattice_parameter(parameters["lattice"], composition)
    total = sum(composition.values())
    return float(sum(c * parameters["elements"][el] for el, c in composition.items()) / total)


# ------------------------------------------------------------------ samples and statistics

def sample(model, composition: dict, a: float, size: int = 6, sites: int = 50, seed: int = 0):
    """The seeded sample of one composition: (atoms, vacancy sites, sample seed). See the
    module doc for how seeds are derived."""
    micro = [round(float(composition.get(el, 0.0)) * 1e6) for el in model.species]
    rng = np.random.default_rng([int(seed), *micro])
    sample_seed = int(rng.integers(2 ** 32))
    with warnings.catch_warnings():
        # rounding is the rule on a grid (0.1 of 432 atoms): counted and reported once
        warnings.simplefilter("ignore", CompositionRounded)
        atoms = random_solid_solution(model.lattice, composition, size=size, a=a, seed=sample_seed)
    if not 1 <= sites <= len(atoms):
        raise InputError(f"sites: {sites} vacancy sites asked for; a size-{size} sample has {len(atoms)} atoms")
    chosen = np.sort(rng.choice(len(atoms), int(sites), replace=False))
    return atoms, chosen, sample_seed


def hop_statistics(hops: list[dict]) -> dict:
    """Per moving species: mean and (population) standard deviation of the barriers, count."""
    b = np.array([h["barrier"] for h in hops], float)
    sp = np.array([h["moving_species"] for h in hops])
    return {s: {"mean": float(b[sp == s].mean()), "std": float(b[sp == s].std()), "n": int((sp == s).sum())}
            for s in sorted(set(sp.tolist()))}


def _spectra(model, comps, elements, params, size, sites, seed, average_symmetries, progress, extra=None):
    """Predict every composition's sample; the shared body of map and line."""
    t0 = time.perf_counter()
    points, predict_s, n_hops, rounded = [], 0.0, 0, 0
    with Progress("spectra", total=len(comps), enabled=progress) as bar:
        for k, comp in enumerate(comps):
            a = lattice_parameter(comp, params)
            atoms, chosen, sample_seed = sample(model, comp, a, size, sites, seed)
            counts = atoms.info["counts"]
            rounded += any(abs(counts.get(el, 0) - c * len(atoms)) > 1e-6 for el, c in comp.items())
            t1 = time.perf_counter()
            hops = model.predict_structure(atoms, chosen, average_symmetries)
            predict_s += time.perf_counter() - t1
            n_hops += len(hops)
            point = {"composition": {el: round(comp.get(el, 0.0), 10) for el in elements},
                     "key": composition_key(comp), **(extra[k] if extra else {}),
                     "counts": counts, "a": a, "sample_seed": sample_seed,
                     "sites": chosen.tolist(), "n_hops": len(hops), "by_moving_species": hop_statistics(hops)}
            points.append(point)
            bar.update(1, note=point["key"])
    if rounded:
        warnings.warn(CompositionRounded(f"{rounded} of {len(comps)} compositions rounded to whole atoms in "
                                         f"{len(atoms)}-atom samples (counts in the JSON)"), stacklevel=3)
    return {"model_species": model.species, "elements": elements, "lattice": model.lattice,
            "environment": "unrelaxed", "size": size, "sites_per_sample": sites, "seed": seed,
            "average_symmetries": bool(average_symmetries), "lattice_parameters": params,
            "n_compositions": len(points), "n_hops": n_hops, "predict_seconds": round(predict_s, 4),
            "hops_per_second": round(n_hops / predict_s, 2) if predict_s > 0 else None,
            "seconds": round(time.perf_counter() - t0, 3), "device": str(model.device), "points": points}


def composition_map(model, step: float = 0.1, min_fraction: float = 0.0, elements=None, size: int = 6,
                    sites: int = 50, seed: int = 0, a_elements=None, potential=None, cached: dict | None = None,
                    average_symmetries: bool = False, progress: bool = False) -> dict:
    """Barrier statistics per moving species at every composition of a simplex grid over
    ``elements`` (default: the model's species), fractions multiples of ``step`` and at least
    ``min_fraction`` (:func:`alloykit.structures.composition_grid`).

    size: conventional cubes per edge of each sample; sites: vacancy sites per sample;
    a_elements / potential / cached: lattice parameters (:func:`element_lattice_parameters`).
    Returns a JSON-able dict: settings, ``lattice_parameters``, ``points`` (one per
    composition: composition, counts, a, sample seed, sites, ``by_moving_species``
    {species: {mean, std, n}}), and timing (``n_hops``, ``predict_seconds``,
    ``hops_per_second``, ``seconds``).
    """
    t0 = time.perf_counter()
    elements = map_elements(model, elements)
    comps = composition_grid(elements, step, min_fraction)   # checks step and min_fraction first
    params = element_lattice_parameters(elements, model.lattice, a_elements, potential, cached, model.species)
    out = _spectra(model, comps, elements, params, size, sites, seed, average_symmetries, progress)
    out["seconds"] = round(time.perf_counter() - t0, 3)      # the relaxations count too
    return {"mode": "map", "step": step, "min_fraction": min_fraction, **out}


def composition_line(model, element: str, step: float = 0.1, min_fraction: float = 0.0, elements=None,
                     size: int = 6, sites: int = 50, seed: int = 0, a_elements=None, potential=None,
                     cached: dict | None = None, average_symmetries: bool = False, progress: bool = False) -> dict:
    """As :func:`composition_map` along :func:`line_compositions` of ``element``; each point
    also has ``x_percent``, the at.% of ``element``."""
    t0 = time.perf_counter()
    elements = map_elements(model, elements)
    if element not in elements:
        raise InputError(f"line: {element!r} is not one of the model's elements {elements}")
    comps = line_compositions(elements, element, step, min_fraction)
    params = element_lattice_parameters(elements, model.lattice, a_elements, potential, cached, model.species)
    extra = [{"x_percent": round(100.0 * c.get(element, 0.0), 8)} for c in comps]
    out = _spectra(model, comps, elements, params, size, sites, seed, average_symmetries, progress, extra)
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return {"mode": "line", "line_element": element, "step": step, "min_fraction": min_fraction, **out}


# ------------------------------------------------------------------ plots

def _columns(result) -> tuple[list[str], dict, dict]:
    """Moving species and their mean/std per point (NaN where a species has no hop)."""
    pts = result["points"]
    names = sorted({s for p in pts for s in p["by_moving_species"]})
    nan = {"mean": np.nan, "std": np.nan}
    def col(s, k):
        return np.array([p["by_moving_species"].get(s, nan)[k] for p in pts], float)
    return names, {s: col(s, "mean") for s in names}, {s: col(s, "std") for s in names}


def figure(result: dict, title: str = ""):
    """The figure of a map or line result: ternary contour maps for three elements, mean +- std
    against at.% for a line or two elements, against the composition otherwise."""
    from .plots import line_figure, ternary_figure

    _, means, stds = _columns(result)
    pts, elements = result["points"], result["elements"]
    if result["mode"] == "line":
        el = result["line_element"]
        x = [p["x_percent"] for p in pts]
        return line_figure(x, means, stds, f"{el} (at.%), others equal", title)
    if len(elements) == 3:
        fr = np.array([[p["composition"][el] for el in elements] for p in pts])
        return ternary_figure(fr, means, stds, elements, title)
    if len(elements) == 2:
        x = [100.0 * p["composition"][elements[1]] for p in pts]
        return line_figure(x, means, stds, f"{elements[1]} (at.%) in {elements[0]}-{elements[1]}", title)
    return line_figure(np.arange(len(pts)), means, stds, "composition", title,
                       xticklabels=[p["key"] for p in pts])
