"""Generalized representative structures (Goff et al.): small cells whose distribution of
ACE descriptors matches a target's.

    from alloykit.grs import build_target, generate
    target = build_target([snapshot])                 # ase.Atoms, files, or lists of them
    result = generate(target, natoms=32, parent=bulk("Cu", "fcc", a=3.75, cubic=True),
                      composition={"Au": 0.25, "Cu": 0.75}, steps=2000, seed=1)
    result.atoms, result.loss

The loss (:mod:`.loss`) is an ML-IAP unified model (:class:`GRSPotential`) that LAMMPS
minimises through ``pair_style mliap/unified``; chemistry and positions are sampled
around it by simulated annealing (:func:`anneal`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..structures import cell_heights, parse_composition
from .anneal import AnnealResult, Moves, anneal
from .candidates import exact_counts, hnf_matrices, lattice_candidate, random_dense_cell
from .lexicographic import lexicographic_search
from .loss import GRSLoss
from .potential import GRSPotential
from .target import Target, read_structures

__all__ = ["build_target", "random_alloy_target", "generate", "lexicographic_search", "check_size", "check_cutoff",
           "GRSResult", "Target", "GRSLoss", "GRSPotential",
           "Moves", "anneal", "AnnealResult", "lattice_candidate", "random_dense_cell", "hnf_matrices",
           "exact_counts", "read_structures"]


def build_target(structures, nmax=(8, 2, 2, 1), lmax=(0, 2, 2, 1), rcut=None, max_moment: int = 2,
                 elements=None) -> Target:
    """The target distribution of ``structures`` (ase.Atoms, file paths, or lists of them).

    elements: the chemical channels (default: those present); rcut: a number or
    {(a, b): r}; nmax/lmax: per-rank truncation (the paper's by default).
    """
    from ..descriptors import ACE

    ace = ACE(elements, nmax, lmax, rcut=rcut) if elements is not None else None
    return Target.from_structures(structures, ace, max_moment=max_moment, nmax=nmax, lmax=lmax, rcut=rcut)


def random_alloy_target(lattice: str, a: float, composition, size: int = 10, seed: int = 0, nshells: int = 3,
                        **ace_kwargs) -> Target:
    """The ideal random alloy of ``composition`` on ``lattice`` ("bcc"/"fcc", parameter
    ``a``): its pair part is analytic (alpha = 0 in every shell), its ACE moments those of
    a ``size``^3-cube random solid solution (2000 BCC atoms by default) built here."""
    from ..structures import random_solid_solution
    from .pairorder import distance_shells

    big = random_solid_solution(lattice, composition, size=size, a=a, seed=seed)
    target = build_target(big, **ace_kwargs)
    nel = len(target.elements)
    target.pair_radii = distance_shells(big, nshells)[3]
    target.pair_alpha = np.zeros((len(target.pair_radii), nel, nel))
    return target


# largest tables the chemistry-only search may hold (phi: pairs x nel^2 x basis, float64)
MAX_TABLE_BYTES = 4 * 2 ** 30


def check_size(natoms: int, density: float, rmax: float, nel: int, nbasis: int) -> None:
    """Refuse, before any work, a cell whose neighbour tables would not fit in memory (a
    typo in --natoms, --rcut or a lattice parameter), with the estimate."""
    if not 0 < natoms <= 10 ** 7 or int(natoms) != natoms:
        raise InputError(f"natoms: {natoms} (need 1 to 10^7; GRS cells are small)")
    neighbours = density * 4 / 3 * np.pi * rmax ** 3
    need = natoms * neighbours * nel * nel * nbasis * 8
    if need > MAX_TABLE_BYTES:
        raise InputError(f"natoms {natoms} with a {rmax:.3g} A cutoff at {density:.3g} atoms/A^3 means "
                         f"~{neighbours:.3g} neighbours per atom and ~{need / 2 ** 30:.3g} GiB of pair tables "
                         f"(limit {MAX_TABLE_BYTES / 2 ** 30:.0f}): lower natoms or rcut, or check the lattice "
                         "parameter")


def check_cutoff(atoms, rmax: float, allow_images: bool = False) -> None:
    """Refuse a cutoff above half the cell's narrowest width unless ``allow_images``:
    beyond it an atom sees several periodic images of one neighbour, so a small cell's
    own periodicity enters every environment."""
    if allow_images or not any(atoms.pbc):
        return
    widths = cell_heights(atoms.cell.array)[np.asarray(atoms.pbc)]
    if rmax > min(widths) / 2:
        raise InputError(f"cutoff {rmax:.2f} A is larger than half the cell ({min(widths) / 2:.2f} A): use a larger "
                         "cell or a shorter cutoff, or allow_images=True (--allow-images) if that is intended")


@dataclass
class GRSResult:
    atoms: object
    loss: float
    history: list = field(default_factory=list)
    hit_step: int | None = None
    candidate: object = None
    pair_mismatch: float | None = None    # lexicographic search: sum |alpha_s(a,b) - target|
    pair_alpha: object = None             # (S, nel, nel) Warren-Cowley alpha of the result


def generate(target: Target, natoms: int, composition: dict | None = None, parent=None, steps: int = 2000,
             moves: Moves | None = None, seed: int = 0, weights=(1.0, 1.0), t_start: float | None = None,
             t_end: float | None = None, minimize: bool | None = None, allow_images: bool = False,
             min_distance: float | None = None, stop_at: float | None = 1e-10, progress: bool = False,
             pair: bool | str = "auto", nshells: int = 3, matrix=None, method: str = "sa",
             population: int = 20, comm=None, pair_tolerance: float = 0.0, stop_pair: float = 0.0,
             ensemble_sums=None) -> GRSResult:
    """One GRS cell of ``natoms`` atoms for ``target``.

    parent: an ase.Atoms parent lattice -> a supercell candidate, the most compact one
    unless ``matrix`` is given (chemical swaps by default); None -> a random dense cell at
    the target's density (displacements and LAMMPS minimisations by default).
    composition: default the target's, rounded to whole atoms with a note. minimize: a
    final LAMMPS minimisation of positions (default: when positions are free).
    pair: on a lattice with swaps only, when the target has pair order on the same shells
    ("auto") or always (True): the lexicographic search (:mod:`.lexicographic`) -- the
    Warren-Cowley alpha of ``nshells`` shells exactly as close to the target's as
    possible (within ``pair_tolerance``), then the lowest GRS loss; ``steps`` counts its
    GRS loss evaluations. It stops early once a cell has loss <= ``stop_at`` and pair
    mismatch <= ``stop_pair`` (a goal, e.g. what an SQS tool reached).
    method: "sa" (simulated annealing, or the lexicographic search above) or "ga" (the
    genetic algorithm of :mod:`.ga`, ``steps`` generations of ``population`` cells, the
    population evaluated over ``comm``'s MPI ranks when given; on a lattice each child is
    refined by 30 pair-only steps with a pair target, else by 20 greedy swaps).
    ensemble_sums: power sums (sums, counts) of other cells (Eq. 14): the loss is that of
    the pooled set (see :func:`generate_set`). Negative ``weights`` (reverse GRS) never stop early.
    """
    if method not in ("sa", "ga"):
        raise InputError(f"method: {method!r} (sa or ga)")
    if isinstance(natoms, bool) or not isinstance(natoms, (int, np.integer)) or natoms < 1:
        raise InputError(f"natoms: {natoms!r} must be a positive integer")
    if min_distance is not None and not (np.isfinite(min_distance) and min_distance > 0):
        raise InputError(f"min_distance: {min_distance} must be a positive distance (A)")
    composition = parse_composition(composition, normalise=True) if composition else target.composition
    unknown = set(composition) - set(target.elements)
    if unknown:
        raise InputError(f"composition: {sorted(unknown)} not in the target's elements {target.elements}")
    missing = [e for e, c in zip(target.elements, target.counts) if c > 0 and composition.get(e, 0) == 0]
    if missing:
        raise InputError(f"composition: the target has {missing} but the candidate would have none")
    # rounded to whole atoms (with a note) once, so every candidate holds these counts exactly
    composition = {e: c / natoms for e, c in exact_counts(composition, natoms).items()}
    pot = GRSPotential(target, weights)
    pot.ensemble_sums = ensemble_sums    # Eq. 14: the other cells of a set pool with this one
    if any(w < 0 for w in weights):      # reverse GRS: the loss is negative from the start
        stop_at = None
    nbasis, nel = pot.ace._nmax_all * (pot.ace._lmax_all + 1) ** 2, len(target.elements)
    if parent is not None:
        if natoms % len(parent):
            raise InputError(f"natoms {natoms} is not a multiple of the parent's {len(parent)} atoms")
        _check_parent(parent, target)
        check_size(natoms, len(parent) / parent.get_volume(), pot.ace.rmax, nel, nbasis)
        cand = lattice_candidate(parent, natoms // len(parent), composition, seed=seed, matrix=matrix)
        moves = moves or Moves.default(lattice=True)
    else:
        if target.density <= 0:
            raise InputError("the target has no periodic structure to take a density from: give a parent lattice")
        dmin = np.where(np.isfinite(target.dmin), target.dmin, np.inf).min()
        check_size(natoms, target.density, pot.ace.rmax, nel, nbasis)
        cand = random_dense_cell(natoms, composition, target.density,
                                 min_distance if min_distance is not None else 0.85 * dmin, seed=seed)
        moves = moves or Moves.default(lattice=False)
    check_cutoff(cand, pot.ace.rmax, allow_images)
    swaps_only = parent is not None and moves.chemical_only and moves.flip == 0
    pair_target = _pair_target(target, cand, nshells, pair) if swaps_only else None
    if pair is True and pair_target is None:
        raise InputError("pair: the lexicographic search needs a parent lattice, swaps only, and a target with "
                         "pair order on the candidate's shells (an ideal-lattice target or random_alloy_target)")
    if method == "ga":
        from .ga import genetic

        if moves.box:
            raise InputError("moves.box: the genetic algorithm keeps each cell's shape (its crossovers align "
                             "cells); use method='sa' to relax cells")

        ga = genetic(cand, pot, generations=steps, population=population, moves=moves, seed=seed, stop_at=stop_at,
                     lattice=parent is not None, pair_target=pair_target, nshells=nshells,
                     local_steps=(30 if pair_target is not None else 20) if parent is not None else 0, comm=comm)
        res = AnnealResult(ga.atoms, ga.loss, ga.generations, ga.hit_generation, 1.0, ga.history,
                           pair_mismatch=ga.pair_mismatch)
    elif pair_target is not None:
        res = lexicographic_search(cand, pot, pair_target, steps=steps, seed=seed, nshells=nshells, stop_at=stop_at,
                                   stop_pair=stop_pair, pair_tolerance=pair_tolerance, progress=progress)
    else:
        res = anneal(cand, pot, steps=steps, moves=moves, t_start=t_start, t_end=t_end, seed=seed, stop_at=stop_at,
                     progress=progress)
    atoms, loss = res.atoms, res.loss
    if minimize if minimize is not None else not moves.chemical_only:
        from ..lmp import Potential, relax

        relaxed = relax(atoms, Potential.from_model(pot), box=moves.box, ftol=1e-6, maxiter=5000, min_style="cg")
        atoms, loss = relaxed, float(relaxed.get_potential_energy())
    return GRSResult(atoms, loss, res.history, res.hit_step, cand, res.pair_mismatch, res.pair_alpha)


def _check_parent(parent, target) -> None:
    """A parent whose nearest-neighbour distance is far from the target's is a typo in the
    lattice parameter (bcc:1e-3): refuse it before any neighbour search."""
    from ..structures import cell_heights

    if len(parent) == 0 or not all(parent.pbc) or not cell_heights(parent.cell.array).min() > 1e-6:
        raise InputError("parent: need a periodic cell with atoms")
    vol = parent.get_volume() / len(parent)
    d_target = np.where(np.isfinite(target.dmin), target.dmin, np.inf).min()
    scale = vol ** (1 / 3)
    if np.isfinite(d_target) and not 0.25 * d_target < scale < 4 * d_target:
        raise InputError(f"parent: {scale:.3g} A per atom (volume^1/3) against nearest neighbours at "
                         f"{d_target:.3g} A in the target: check the lattice parameter")


def _pair_target(target, cand, nshells: int, pair):
    """The target's alpha on the candidate's shells, or None when it has none there."""
    from .pairorder import distance_shells

    if pair is False or target.pair_alpha is None or len(target.pair_radii) < nshells:
        return None
    try:
        radii = distance_shells(cand, nshells)[3]
    except InputError:
        return None
    if not np.allclose(radii, np.asarray(target.pair_radii)[:nshells], rtol=1e-2):
        return None
    return np.asarray(target.pair_alpha)[:nshells]
