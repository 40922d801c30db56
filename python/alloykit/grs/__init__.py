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
from .loss import GRSLoss
from .potential import GRSPotential
from .target import Target, read_structures

__all__ = ["build_target", "generate", "check_cutoff", "GRSResult", "Target", "GRSLoss", "GRSPotential",
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


def generate(target: Target, natoms: int, composition: dict | None = None, parent=None, steps: int = 2000,
             moves: Moves | None = None, seed: int = 0, weights=(1.0, 1.0), t_start: float | None = None,
             t_end: float | None = None, minimize: bool | None = None, allow_images: bool = False,
             min_distance: float | None = None, stop_at: float | None = 1e-10, progress: bool = False) -> GRSResult:
    """One GRS cell of ``natoms`` atoms for ``target``.

    parent: an ase.Atoms parent lattice -> a supercell candidate (chemical swaps by
    default); None -> a random dense cell at the target's density (displacements and
    LAMMPS minimisations by default). composition: default the target's. minimize: a final
    LAMMPS minimisation of positions (default: when positions are free).
    """
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
    if parent is not None:
        if natoms % len(parent):
            raise InputError(f"natoms {natoms} is not a multiple of the parent's {len(parent)} atoms")
        cand = lattice_candidate(parent, natoms // len(parent), composition, seed=seed)
        moves = moves or Moves(swap=1.0)
    else:
        if target.density <= 0:
            raise InputError("the target has no periodic structure to take a density from: give a parent lattice")
        dmin = np.where(np.isfinite(target.dmin), target.dmin, np.inf).min()
        cand = random_dense_cell(natoms, composition, target.density,
                                 min_distance if min_distance is not None else 0.85 * dmin, seed=seed)
        moves = moves or Moves(swap=0.2, displace=1.0, minimize=0.05, step=0.15)
    check_cutoff(cand, pot.ace.rmax, allow_images)
    res = anneal(cand, pot, steps=steps, moves=moves, t_start=t_start, t_end=t_end, seed=seed, stop_at=stop_at,
                 progress=progress)
    atoms, loss = res.atoms, res.loss
    if minimize if minimize is not None else not moves.chemical_only:
        from ..lmp import Potential, relax

        relaxed = relax(atoms, Potential.from_model(pot), ftol=1e-6, maxiter=5000, min_style="cg")
        atoms, loss = relaxed, float(relaxed.get_potential_energy())
    return GRSResult(atoms, loss, res.history, res.hit_step, cand)
