"""Simulated annealing of GRS cells (Goff et al., Eq. 17) and the random-walk baseline.

Moves, chosen with user-set probabilities: chemical ``swap`` (composition kept), chemical
``flip`` (composition free, among the target's elements), atomic ``displace`` (one atom, a
Gaussian step) and ``minimize`` (a local LAMMPS minimisation of the GRS potential with
cg; of the cell too with ``box``, so that a cell can take a strained target's shape).
Metropolis acceptance min(1, exp(-(Q1 - Q0) / T)) on the loss with T going
geometrically from ``t_start`` to ``t_end``; the random walk accepts every move. Seeded.

Chemistry-only runs use the incremental loss of :mod:`.incremental`: geometry is fixed, so
a swap or flip updates only the environments it touches.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import InputError
from ..progress import Progress
from .incremental import IncrementalLoss
from .potential import GRSPotential


@dataclass
class Moves:
    swap: float = 1.0
    flip: float = 0.0
    displace: float = 0.0
    minimize: float = 0.0
    step: float = 0.1    # displacement size, A
    box: str | bool = False    # cell relaxed by the minimisations too: "iso", "aniso" or "tri" (fix box/relax)

    @classmethod
    def default(cls, lattice: bool) -> "Moves":
        """generate's moves: swaps on a lattice; displacements and LAMMPS minimisations off it."""
        return cls(swap=1.0) if lattice else cls(swap=0.2, displace=1.0, minimize=0.05, step=0.15)

    def probabilities(self) -> np.ndarray:
        p = np.array([self.swap, self.flip, self.displace, self.minimize], dtype=float)
        if (p < 0).any() or p.sum() <= 0:
            raise InputError(f"moves: probabilities must be >= 0 and not all zero, got {p.tolist()}")
        return p / p.sum()

    @property
    def chemical_only(self) -> bool:
        return self.displace == 0 and self.minimize == 0


@dataclass
class AnnealResult:
    atoms: object            # best structure seen
    loss: float              # its loss (V_core + Q)
    steps: int               # steps taken
    hit_step: int | None     # first step with loss <= stop_at (None if never)
    accepted: float          # accepted fraction
    history: list = field(default_factory=list)    # loss after every step
    pair_mismatch: float | None = None    # lexicographic search: sum |alpha - target| of the best cell
    pair_alpha: object = None             # its Warren-Cowley alpha (S, nel, nel)
    screened: int = 0                     # candidate swaps screened on pair counts alone
    pair_steps: int = 0                   # pair-only annealing steps


def _check(potential: GRSPotential, atoms) -> None:
    symbols = set(atoms.get_chemical_symbols())
    target = {e for e, c in zip(potential.target.elements, potential.target.counts) if c > 0}
    if symbols - target:
        raise InputError(f"candidate holds {sorted(symbols - target)}, which the target does not have")


def anneal(atoms, potential: GRSPotential, steps: int = 1000, moves: Moves | None = None,
           t_start: float | None = None, t_end: float | None = None, seed: int = 0, stop_at: float | None = 1e-10,
           random_walk: bool = False, progress: bool = False, restart_after: int | None = 100) -> AnnealResult:
    """Anneal ``atoms`` (a copy) on the GRS loss; ``random_walk`` accepts every move.

    restart_after: when the best loss has not improved for this many steps, the chemical
    labels are shuffled (composition kept) and the schedule starts again; the best
    structure seen is kept. Near-degenerate orderings trap a cold anneal (on AuCu3, a
    competitor at loss 0.0018 held 14 of 20 single runs), and no temperature that still
    anneals lets it out.

    Temperatures are in loss units; by default T goes from 1 % of the starting loss to
    a hundredth of that (on AuCu3 this found L1_2 in ~100-450 steps where warmer starts
    wandered).
    """
    moves = moves or Moves()
    prob = moves.probabilities()
    _check(potential, atoms)
    rng = np.random.default_rng(seed)
    atoms = atoms.copy()
    elements = potential.ace.elements
    elem = potential.ace.element_index(atoms.get_chemical_symbols())
    fast = IncrementalLoss(potential, atoms, elem) if moves.chemical_only else None
    if moves.swap > 0 and len(set(elem.tolist())) < 2 and moves.flip == 0 and moves.chemical_only:
        raise InputError("moves: swaps need at least two elements in the candidate")

    with _single_thread():    # tiny tensors: torch's thread pool only adds contention
        return _anneal(atoms, potential, steps, moves, prob, t_start, t_end, rng, stop_at, random_walk,
                       progress, elements, elem, fast, restart_after)


class _single_thread:
    def __enter__(self):
        self.n = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc):
        torch.set_num_threads(self.n)


def _anneal(atoms, potential, steps, moves, prob, t_start, t_end, rng, stop_at, random_walk, progress,
            elements, elem, fast, restart_after):
    def evaluate(a, el):
        if fast is not None:
            changed = np.flatnonzero(el != fast.elem)
            return fast.trial(changed, el[changed]) if len(changed) else fast.reset(el)
        a.set_chemical_symbols([elements[k] for k in el])
        return potential.energy(a)

    current = evaluate(atoms, elem)
    t_start = 0.01 * max(abs(current), 1e-12) if t_start is None else t_start    # reverse GRS: negative
    t_end = t_start / 100 if t_end is None else t_end
    best, best_atoms, hit, accepted, history = current, atoms.copy(), None, 0, []
    if stop_at is not None and current <= stop_at:
        hit = 0
    span = steps if not restart_after else min(steps, 2 * restart_after)
    ratio = (t_end / t_start) ** (1.0 / max(span - 1, 1))
    last_best, phase = 0, 0
    with Progress("grs anneal", total=steps, enabled=progress) as bar:
        for step in range(1, steps + 1):
            if hit is not None:
                break
            if restart_after and step - last_best > restart_after and not random_walk:
                last_best, phase = step, 0
                elem = rng.permutation(elem)
                atoms.set_chemical_symbols([elements[k] for k in elem])
                current = fast.reset(elem) if fast is not None else evaluate(atoms, elem)
            temperature = t_start * ratio ** min(phase, span - 1)
            phase += 1
            kind = rng.choice(4, p=prob)
            trial, new_elem = atoms, elem.copy()
            if kind == 0:    # swap two atoms of different elements
                a = rng.integers(len(elem))
                others = np.flatnonzero(new_elem != new_elem[a])
                if len(others) == 0:
                    history.append(current)
                    continue
                b = rng.choice(others)
                new_elem[a], new_elem[b] = new_elem[b], new_elem[a]
            elif kind == 1:    # flip one atom to another element
                a = rng.integers(len(elem))
                choices = [k for k in range(len(elements)) if k != new_elem[a] and potential.target.counts[k] > 0]
                if not choices:
                    history.append(current)
                    continue
                new_elem[a] = rng.choice(choices)
            elif kind == 2:    # displace one atom
                trial = atoms.copy()
                trial.positions[rng.integers(len(trial))] += rng.normal(scale=moves.step, size=3)
            else:    # local minimisation of the GRS potential in LAMMPS
                from ..lmp import Potential, relax

                trial = atoms.copy()
                trial.set_chemical_symbols([elements[k] for k in new_elem])
                trial = relax(trial, Potential.from_model(potential), box=moves.box, ftol=1e-4, maxiter=200,
                              min_style="cg")
                trial.calc = None
            new = evaluate(trial if kind >= 2 else atoms, new_elem)
            delta = new - current
            if random_walk or delta <= 0 or rng.random() < np.exp(-delta / temperature):
                atoms, elem, current = (trial if kind >= 2 else atoms), new_elem, new
                if fast is not None:
                    fast.accept()
                atoms.set_chemical_symbols([elements[k] for k in elem])
                accepted += 1
                if current < best:
                    best, best_atoms, last_best = current, atoms.copy(), step
            history.append(current)
            if stop_at is not None and current <= stop_at and hit is None:
                hit = step
            bar.update(note=f"loss {current:.3g}")
    return AnnealResult(best_atoms, best, len(history), hit, accepted / max(len(history), 1), history)
