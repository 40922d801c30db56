"""A genetic algorithm for GRS cells (``generate(..., method="ga")``).

A population of cells of one shape; each generation keeps the ``elite`` best, and fills
the rest with children of two parents picked by tournaments of ``tournament`` cells:

- crossover: a random plane through the cell; the child takes parent A's atoms on one
  side and B's on the other. On a lattice (same sites in every cell) that is a site-wise
  mix, B first translated by the lattice translation that makes it agree most with A
  (two parents with the same order in different translational variants would otherwise
  give a child with neither), and the composition is then repaired by turning randomly chosen atoms of the
  species in excess into the missing ones (composition preserved). For free cells it is
  Deaven and Ho's cut-and-splice: A's atoms below the plane, B's above, atoms added from
  the other parent or removed at random to keep the count, then the same repair;
- after ``stall`` generations without a new best, the whole population is replaced by
  fresh random cells (the best cell seen is kept aside): on AuCu3 a population settles
  on competing orderings (loss 0.69, 0.0018) that no crossover or swap leaves;
- mutations: ``swap`` (two atoms of different species), ``flip`` (one atom to another
  target species; composition then free), ``displace`` (one atom, a Gaussian step of
  ``step`` A) and ``minimize`` (a short LAMMPS cg of the GRS potential), each with its
  probability per child.

Fitness is the GRS loss (V_core + Q), after the pair mismatch when a ``pair_target`` is
given (lexicographic, as :mod:`.lexicographic`); on a lattice ``local_steps`` > 0 refines
each child by that many pair-only annealing steps (with a pair target) or greedy swaps on
the loss (a memetic GA; its evaluations count in ``evaluations``, not in generations); on
a lattice it is evaluated from the fixed-geometry
tables (:mod:`.incremental`), otherwise through :class:`GRSPotential`. Under ``mpiexec``
(mpi4py, more than one rank) each rank evaluates a slice of the population and the
losses are all-gathered; every rank draws the same random numbers, so the run is the
serial run whatever the number of ranks. Seeded: same seed, same result.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from .anneal import Moves, _single_thread
from .incremental import IncrementalLoss
from .lexicographic import pair_anneal
from .pairorder import PairOrder


@dataclass
class GAResult:
    atoms: object
    loss: float
    generations: int
    hit_generation: int | None
    evaluations: int
    history: list = field(default_factory=list)    # best loss after each generation
    pair_mismatch: float | None = None             # with a pair target: that of the best cell


def site_translations(atoms, tol: float = 1e-4) -> np.ndarray:
    """(T, N) site permutations of a lattice cell under its lattice translations (the
    vectors from atom 0 to every atom that map the site set onto itself)."""
    frac = atoms.get_scaled_positions()
    out = []
    for t in frac - frac[0]:
        d = (frac[:, None, :] + t - frac[None, :, :] + 0.5) % 1.0 - 0.5
        hit = np.linalg.norm(d @ atoms.cell.array, axis=2) < tol
        if (hit.sum(axis=1) == 1).all():
            out.append(np.argmax(hit, axis=1))
    return np.array(out)


def _align(a, b, perms):
    """B's labelling translated to agree most with A's: parents that order alike but
    in different translational variants then cross over without destroying the order."""
    moved = np.empty_like(perms)
    moved[np.arange(len(perms))[:, None], perms] = b[None, :]
    return moved[int(np.argmax((moved == a[None, :]).sum(axis=1)))]


def _lattice_child(a, b, frac, rng, counts, perms=None):
    """Site-wise crossover of two labellings of one lattice across a random plane."""
    if perms is not None and len(perms) > 1:
        b = _align(a, b, perms)
    normal = rng.normal(size=3)
    side = (frac @ normal) % 1.0 < rng.random()
    child = np.where(side, a, b)
    return _repair(child, counts, rng)


def _repair(labels, counts, rng):
    """Change randomly chosen atoms of over-represented species to missing ones."""
    labels = labels.copy()
    if counts is None:
        return labels
    have = np.bincount(labels, minlength=len(counts))
    excess = np.concatenate([rng.permutation(np.flatnonzero(labels == e))[:max(have[e] - counts[e], 0)]
                             for e in range(len(counts))]).astype(np.int64)
    missing = np.repeat(np.arange(len(counts)), np.maximum(counts - have, 0))
    labels[rng.permutation(excess)] = rng.permutation(missing)
    return labels


def _cut_and_splice(pa, pb, la, lb, cell, rng):
    """Deaven-Ho crossover of two free cells with the same cell and atom count."""
    n = len(la)
    normal = rng.normal(size=3)
    inv = np.linalg.inv(cell)
    fa, fb = (pa @ inv) % 1.0, (pb @ inv) % 1.0
    cut = rng.random()
    take_a = np.flatnonzero((fa @ normal) % 1.0 < cut)
    take_b = np.flatnonzero((fb @ normal) % 1.0 >= cut)
    pos, lab = np.vstack([pa[take_a], pb[take_b]]), np.concatenate([la[take_a], lb[take_b]])
    if len(lab) > n:
        keep = np.sort(rng.choice(len(lab), n, replace=False))
        pos, lab = pos[keep], lab[keep]
    elif len(lab) < n:
        rest = np.setdiff1d(np.arange(n), take_a)
        extra = rng.choice(rest, n - len(lab), replace=False)
        pos, lab = np.vstack([pos, pa[extra]]), np.concatenate([lab, la[extra]])
    return pos, lab


def genetic(atoms, potential, generations: int = 100, population: int = 20, elite: int = 2, tournament: int = 3,
            moves: Moves | None = None, seed: int = 0, stop_at: float | None = 1e-10, lattice: bool = True,
            keep_composition: bool = True, stall: int = 8, pair_target=None, nshells: int = 3, local_steps: int = 0,
            comm=None) -> GAResult:
    """Evolve a population of cells started from random relabellings of ``atoms``
    (lattice) or random displacements of it (free); see the module doc."""
    if population < 2 or not 0 <= elite < population or tournament < 1:
        raise InputError(f"ga: population {population}, elite {elite}, tournament {tournament} "
                         "(need population >= 2, 0 <= elite < population, tournament >= 1)")
    moves = moves or (Moves(swap=1.0) if lattice else Moves(swap=0.2, displace=1.0, step=0.15))
    rng = np.random.default_rng(seed)
    elements = potential.ace.elements
    elem0 = potential.ace.element_index(atoms.get_chemical_symbols())
    counts = np.bincount(elem0, minlength=len(elements)) if keep_composition and moves.flip == 0 else None
    allowed = [k for k in range(len(elements)) if potential.target.counts[k] > 0]
    frac = atoms.get_scaled_positions()
    cell = atoms.cell.array
    table = IncrementalLoss(potential, atoms, elem0) if lattice else None
    perms = site_translations(atoms) if lattice else None

    order_p = PairOrder(atoms, elem0, len(elements), nshells, pair_target) if pair_target is not None else None

    def fitness(ind) -> tuple:
        """(pair mismatch rounded to 1e-9 or 0, GRS loss): compared lexicographically."""
        p = round(order_p.mismatch(order_p._count(ind[1])), 9) if order_p is not None else 0.0
        if table is not None:
            return p, table.full(ind[1])
        a = atoms.copy()
        a.positions = ind[0]
        a.set_chemical_symbols([elements[k] for k in ind[1]])
        return p, potential.energy(a)

    def evaluate(pop) -> list:
        if comm is None or comm.Get_size() <= 1:
            return [fitness(ind) for ind in pop]
        rank, size = comm.Get_rank(), comm.Get_size()
        mine = {k: fitness(pop[k]) for k in range(rank, len(pop), size)}
        out = [None] * len(pop)
        for part in comm.allgather(mine):
            for k, v in part.items():
                out[k] = v
        return out

    prob = moves.probabilities()

    def mutate(pos, lab):
        """One mutation per child, its kind drawn with the ``moves`` probabilities."""
        lab, pos = lab.copy(), pos.copy()
        kind = rng.choice(4, p=prob)
        if kind == 0 and len(set(lab.tolist())) > 1:
            x = rng.integers(len(lab))
            y = rng.choice(np.flatnonzero(lab != lab[x]))
            lab[x], lab[y] = lab[y], lab[x]
        elif kind == 1:
            x = rng.integers(len(lab))
            lab[x] = rng.choice([k for k in allowed if k != lab[x]] or [lab[x]])
        elif kind == 2 and not lattice:
            pos[rng.integers(len(pos))] += rng.normal(scale=moves.step, size=3)
        elif kind == 3 and not lattice:
            from ..lmp import Potential, relax

            a = atoms.copy()
            a.positions = pos
            a.set_chemical_symbols([elements[k] for k in lab])
            pos = relax(a, Potential.from_model(potential), ftol=1e-4, maxiter=100, min_style="cg").positions
        return pos, lab

    local_evals = [0]    # loss evaluations of the memetic step

    def refine(lab):
        """Memetic step: pair-only annealing (with a pair target) or greedy swaps on the loss."""
        if order_p is not None:
            order_p.reset(lab)
            pair_anneal(order_p, rng, local_steps)
            return order_p.elem.copy()
        table.reset(lab)
        local_evals[0] += local_steps + 1
        for _ in range(local_steps):
            x = rng.integers(len(lab))
            others = np.flatnonzero(table.elem != table.elem[x])
            if len(others) == 0:
                break
            y = rng.choice(others)
            if table.trial([x, y], [table.elem[y], table.elem[x]]) < table.value:
                table.accept()
        return table.elem.copy()

    with _single_thread():
        def fresh():
            pos = atoms.positions.copy()
            if not lattice:
                pos += rng.normal(scale=moves.step, size=pos.shape)
            return pos, rng.permutation(elem0)

        pop = [fresh() for _ in range(population)]
        loss = evaluate(pop)
        k = min(range(population), key=lambda k: loss[k])
        best = (loss[k], pop[k])
        evaluations, history, hit = population, [best[0][1]], None
        if stop_at is not None and best[0][0] <= 1e-9 and best[0][1] <= stop_at:
            hit = 0
        gen, last_best = 0, 0
        while gen < generations and hit is None:
            gen += 1
            order = sorted(range(len(pop)), key=lambda k: loss[k])
            children = [pop[k] for k in order[:elite]]
            child_loss = [loss[k] for k in order[:elite]]
            new = []
            while len(children) + len(new) < population:
                pa, pb = (pop[min(rng.choice(population, tournament, replace=False), key=lambda k: loss[k])]
                          for _ in range(2))
                if lattice:
                    lab = _lattice_child(pa[1], pb[1], frac, rng, counts, perms)
                    pos = pa[0]
                else:
                    pos, lab = _cut_and_splice(pa[0], pb[0], pa[1], pb[1], cell, rng)
                    lab = _repair(lab, counts, rng)
                child = mutate(pos, lab)
                if local_steps and lattice:
                    child = (child[0], refine(child[1]))
                # no twins: a population of copies has stopped searching
                for _ in range(10):
                    if not any(np.array_equal(child[1], o[1]) for o in children + new) or not lattice:
                        break
                    child = mutate(*child)
                new.append(child)
            if gen - last_best > stall:    # stagnant: start afresh, the best kept aside
                children, child_loss = [], []
                new = [fresh() for _ in range(population)]
                last_best = gen
            new_loss = evaluate(new)
            evaluations += len(new)
            pop, loss = children + new, child_loss + new_loss
            k = min(range(len(pop)), key=lambda k: loss[k])
            if loss[k] < best[0]:
                best, last_best = (loss[k], pop[k]), gen
            history.append(best[0][1])
            if stop_at is not None and best[0][0] <= 1e-9 and best[0][1] <= stop_at:
                hit = gen
    out = atoms.copy()
    out.positions = best[1][0]
    out.set_chemical_symbols([elements[k] for k in best[1][1]])
    return GAResult(out, best[0][1], gen, hit, evaluations + local_evals[0], history,
                    best[0][0] if pair_target is not None else None)
