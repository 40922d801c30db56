"""GRS against the SQS tools on their own task (issue 11), side by side in one run.

BCC (a = 2.87 A, conventional cubic supercells), target: the ideal random alloy. For each
task and tool, over SEEDS seeds: the pair mismatch sum_s sum_{a<b} |alpha_s(a, b)| over the
first three shells (computed here from ASE's neighbour list, independently of every tool;
for a binary it is |alpha_1| + |alpha_2| + |alpha_3|), the GRS loss of the tool's result
against the random-alloy target (paper's ACE: ranks 1-4, nmax 8,2,2,1, lmax 0,2,2,1,
default cutoffs; moments of a 2000-atom random solid solution), and the wall time of the
generation call on one thread:

- icet 4.0 ``generate_sqs_from_supercells`` (pair cluster space to 4.1 A: 3 shells,
  3000 Monte Carlo steps, as in the issue);
- sqsgenerator 0.5.6 (shell weights 1, 1/2, 1/3, 1e5 iterations, one thread);
- ``alloykit.grs.generate`` (the lexicographic search: exact pair order -- within
  PAIR_TOLERANCE for the ternary -- then the GRS loss), run to the issue's goal: it stops at the first cell whose pair mismatch is no
  worse than the better SQS tool's (median over seeds) and whose GRS loss is at least 10x
  lower than both tools' (medians), or after --steps loss evaluations; the time is its
  time to that cell ("hit" says whether the goal was reached).

A tool that is not installed (``pip install -r benchmarks/requirements-compare.txt``) is
skipped with a note. Also, at 128 atoms, the cost of one annealing step: a full GRS
energy (what every step cost before), one incremental loss evaluation, and the exact
pair screening of one candidate swap. JSON + PNG in benchmarks/results/grs_sqs.*.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from ase.build import bulk
from ase.neighborlist import neighbor_list

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, write  # noqa: E402

from alloykit.grs import GRSPotential, generate, random_alloy_target  # noqa: E402

A = 2.87
SHELLS = (np.sqrt(3) / 2 * A, A, np.sqrt(2) * A)
TASKS = [("Fe50Cr50", {"Fe": 0.5, "Cr": 0.5}, (3, 3, 3)), ("Fe50Cr50", {"Fe": 0.5, "Cr": 0.5}, (4, 4, 4)),
         ("Fe75Cr25", {"Fe": 0.75, "Cr": 0.25}, (4, 4, 2)), ("Fe75Cr25", {"Fe": 0.75, "Cr": 0.25}, (4, 4, 4)),
         ("FeCrV", {"Fe": 1 / 3, "Cr": 1 / 3, "V": 1 / 3}, (3, 3, 3))]
# GRS's pair tolerance per composition: on 54-atom FeCrV the exactly pair-optimal cells
# (mismatch 0) are few and isolated and their GRS loss stays ~0.7; allowing 0.08 of
# mismatch (the SQS tools reach 0.10-0.47 there) leaves the moments room
PAIR_TOLERANCE = {"FeCrV": 0.08}


def pair_mismatch(atoms) -> float:
    """sum over the first three BCC shells and species pairs a < b of |alpha_s(a, b)|."""
    i, j, d = neighbor_list("ijd", atoms, SHELLS[-1] + 0.1)
    sym = np.array(atoms.get_chemical_symbols())
    species = sorted(set(sym))
    total = 0.0
    for r in SHELLS:
        sel = np.abs(d - r) < 0.05
        for x, a in enumerate(species):
            for b in species[x + 1:]:
                centre = sel & (sym[i] == a)
                total += abs(1 - np.mean(sym[j[centre]] == b) / np.mean(sym == b))
    return float(total)


def run_icet(comp, reps, seed):
    from icet import ClusterSpace
    from icet.tools.structure_generation import generate_sqs_from_supercells

    cs = ClusterSpace(bulk("Fe", "bcc", a=A), cutoffs=[4.1], chemical_symbols=sorted(comp))
    cell = bulk("Fe", "bcc", a=A, cubic=True).repeat(reps)
    t = time.perf_counter()
    out = generate_sqs_from_supercells(cs, [cell], comp, n_steps=3000, random_seed=seed)
    return out, time.perf_counter() - t


def run_sqsgenerator(comp, reps, seed):
    import sqsgenerator as sg

    n = 2 * int(np.prod(reps))
    counts = {e: int(round(c * n)) for e, c in comp.items()}
    cfg = {"structure": {"lattice": (np.eye(3) * A).tolist(), "coords": [[0, 0, 0], [0.5, 0.5, 0.5]],
                         "species": ["Fe", "Fe"], "supercell": list(reps)},
           "iterations": 100000, "shell_weights": {1: 1.0, 2: 0.5, 3: 1 / 3}, "composition": counts,
           "max_results_per_objective": 1, "thread_config": 1, "seed": seed + 1}
    t = time.perf_counter()
    pack = sg.optimize(cfg)
    dt = time.perf_counter() - t
    return sg.to_ase(pack.best().structure()), dt


def run_grs(target, steps, goal, tolerance=0.0):
    """generate() to the goal (pair mismatch, loss) or ``steps`` loss evaluations."""
    def call(comp, reps, seed):
        parent = bulk("Fe", "bcc", a=A, cubic=True)
        t = time.perf_counter()
        res = generate(target, len(parent) * int(np.prod(reps)), composition=comp, parent=parent,
                       matrix=np.diag(reps), steps=steps, seed=seed, allow_images=True,
                       stop_pair=goal[0], stop_at=goal[1], pair_tolerance=tolerance)
        call.hits.append(res.hit_step is not None)
        return res.atoms, time.perf_counter() - t
    call.hits = []
    return call


def step_costs(target, repeats=200):
    """Milliseconds per step at 128 atoms: full energy vs incremental vs pair screening
    (best of three rounds)."""
    from alloykit.grs.incremental import IncrementalLoss
    from alloykit.grs.pairorder import PairOrder
    from alloykit.structures import random_solid_solution

    pot = GRSPotential(target)
    cell = random_solid_solution("bcc", {"Fe": 0.5, "Cr": 0.5}, size=4, a=A, seed=1)
    elem = pot.ace.element_index(cell.get_chemical_symbols())
    rng = np.random.default_rng(0)
    inc = IncrementalLoss(pot, cell, elem)
    order = PairOrder(cell, elem, 2, 3, np.zeros((3, 2, 2)))
    pairs = [(a, rng.choice(np.flatnonzero(elem != elem[a]))) for a in rng.integers(len(cell), size=repeats)]
    x, y = np.array(pairs).T
    full, incremental, screen = np.inf, np.inf, np.inf
    for _ in range(3):    # best of three rounds: the machine is shared
        t = time.perf_counter()
        for _ in range(10):
            pot.energy(cell)
        full = min(full, (time.perf_counter() - t) / 10)
        t = time.perf_counter()
        for a, b in pairs:
            inc.trial([a, b], [elem[b], elem[a]])
        incremental = min(incremental, (time.perf_counter() - t) / repeats)
        t = time.perf_counter()
        for _ in range(20):
            order.swap_values(x[:32], y[:32])
        screen = min(screen, (time.perf_counter() - t) / (20 * 32))
    return {"natoms": 128, "full_energy_ms": 1e3 * full, "incremental_step_ms": 1e3 * incremental,
            "pair_screen_per_candidate_ms": 1e3 * screen, "speedup_incremental_vs_full": full / incremental}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5000, help="most GRS loss evaluations per run")
    ap.add_argument("--tasks", type=int, nargs="*", help="indices into TASKS (default all)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    tools, notes = {}, []
    for name, fn, module in (("icet", run_icet, "icet"), ("sqsgenerator", run_sqsgenerator, "sqsgenerator")):
        try:
            __import__(module)
            tools[name] = fn
        except ImportError:
            notes.append(f"{name} not installed: skipped (pip install -r benchmarks/requirements-compare.txt)")
    rows, targets, t0 = [], {}, time.perf_counter()
    for k, (label, comp, reps) in enumerate(TASKS):
        if args.tasks and k not in args.tasks:
            continue
        if label not in targets:
            t = time.perf_counter()
            targets[label] = (random_alloy_target("bcc", A, comp), time.perf_counter() - t)
        target, t_target = targets[label]
        pot = GRSPotential(target)
        natoms = 2 * int(np.prod(reps))
        for tool, fn in {**tools, "alloykit GRS": None}.items():
            if fn is None:    # the goal: the SQS tools' results of this task, as the issue sets it
                theirs = [r for r in rows if r["task"] == f"{label} {natoms} atoms"]
                goal = (min([r["pair_mismatch_median"] for r in theirs], default=0.0),
                        min([r["grs_loss_median"] for r in theirs], default=np.inf) / 10)
                fn = run_grs(target, args.steps, goal, PAIR_TOLERANCE.get(label, 0.0))
            res = []
            for seed in range(args.seeds):
                atoms, dt = fn(comp, reps, seed)
                res.append((pair_mismatch(atoms), pot.energy(atoms), dt))
                print(label, natoms, tool, seed, f"pair {res[-1][0]:.4f} loss {res[-1][1]:.4g} {dt:.2f}s", flush=True)
            p, q, dt = np.array(res).T
            rows.append({"task": f"{label} {natoms} atoms", "composition": label, "natoms": natoms, "tool": tool,
                         "pair_mismatch_median": float(np.median(p)), "pair_mismatch_best": float(p.min()),
                         "grs_loss_median": float(np.median(q)), "grs_loss_best": float(q.min()),
                         "seconds_median": float(np.median(dt)), "per_seed": [list(map(float, r)) for r in res],
                         "target_seconds": t_target if tool == "alloykit GRS" else None})
            if tool == "alloykit GRS":
                rows[-1].update(goal_pair_mismatch=goal[0], goal_loss=goal[1], goal_hits=f"{sum(fn.hits)}/{len(fn.hits)}")
    costs = step_costs(targets[next(iter(targets))][0])
    print(costs)
    plot(rows)
    write("grs_sqs", {"seeds": args.seeds, "grs_steps": args.steps, "load_average": os.getloadavg(),
                      "notes": notes, "rows": rows, "step_costs": costs, "seconds": time.perf_counter() - t0})
    for r in rows:
        print(f"| {r['task']} | {r['tool']} | {r['seconds_median']:.2f} s | {r['pair_mismatch_median']:.4f} | "
              f"{r['grs_loss_median']:.3g} |")


def plot(rows):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(r["task"] for r in rows))
    tools = list(dict.fromkeys(r["tool"] for r in rows))
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, key, title in zip(axes, ("pair_mismatch_median", "grs_loss_median", "seconds_median"),
                              ("pair mismatch |a1|+|a2|+|a3| (0 drawn at 1e-5)", "GRS loss of the result", "time (s)")):
        for k, tool in enumerate(tools):
            vals = [next((r[key] for r in rows if r["task"] == t and r["tool"] == tool), np.nan) for t in tasks]
            ax.bar(np.arange(len(tasks)) + 0.27 * (k - 1), np.maximum(vals, 1e-5), width=0.27, label=tool)
        ax.set_xticks(np.arange(len(tasks)), tasks, rotation=30, ha="right", fontsize=7)
        ax.set_yscale("log")
        ax.set_title(title, fontsize=9)
    axes[0].legend(fontsize=7)
    fig.suptitle("Random-alloy cells on BCC: SQS tools vs GRS (median over seeds, one run)", fontsize=10)
    fig.tight_layout()
    fig.savefig(RESULTS / "grs_sqs.png", dpi=110)


if __name__ == "__main__":
    main()
