"""GRS demonstration 1 (Goff et al., Fig. 3): recover L1_2 AuCu3 exactly.

Target: the L1_2 AuCu3 crystal (a = 3.75 A), the paper's ACE truncation (ranks 1-4,
nmax 8,2,2,1, lmax 0,2,2,1, default cutoffs). Start: random Au8Cu24 occupations of a
2x2x2 cubic FCC supercell (32 sites); chemical swaps only. For each of 20 seeds, in one
run, the steps until the loss is exactly zero (<= 1e-10: the L1_2 ordering, checked by
its neighbour shells), capped at 5000 as in the paper:

- "simulated annealing": Eq. 17 on the GRS loss alone (``anneal``'s default schedule,
  labels reshuffled after 100 steps without a new best); a step = one loss evaluation;
- "random walk": every swap accepted. A uniform walk over the C(32,8) = 10.5 million
  labellings hits one of the 4 L1_2 variants after ~C(32,8)/4 = 2.6 million steps on
  average, so 0/20 within 5000 is what it should give; the paper's 2,518 cannot be a
  plain random walk;
- "pair first": ``generate``'s lexicographic search (exact pair counts against the
  target's Warren-Cowley alpha, then the loss); steps = pair-only steps + loss
  evaluations (L1_2 is fixed by its pair order, so the pair stage alone finds it);
- "genetic algorithm": ``method="ga"`` on the loss alone (population 20, tournament 3,
  elitism 2, plane crossover of translation-aligned parents, one swap mutation, each
  child refined by 20 greedy swaps; restart after 15 stagnant generations), capped at
  100 generations; ``median_generations`` and the loss evaluations those took.
Paper: SA 120 steps, random walk 2518, GA 35 generations.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from ase.build import bulk
from ase.neighborlist import neighbor_list

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, write  # noqa: E402

from alloykit.grs import GRSPotential, Moves, anneal, build_target, lattice_candidate  # noqa: E402
from alloykit.grs.ga import genetic  # noqa: E402
from alloykit.grs.lexicographic import lexicographic_search  # noqa: E402

SEEDS, CAP, GA_CAP = 20, 5000, 100


def is_l12(atoms) -> bool:
    sym = np.array(atoms.get_chemical_symbols())
    i, j = neighbor_list("ij", atoms, 2.8)
    au = np.flatnonzero(sym == "Au")
    cu = np.flatnonzero(sym == "Cu")
    return all((sym[j[i == k]] == "Cu").all() for k in au) and all((sym[j[i == k]] == "Au").sum() == 4 for k in cu)


def _stats(rs, key):
    hits = [r[key] for r in rs if r[key] is not None]
    median = float(np.median(hits)) if hits else None
    return {"recovered": f"{len(hits)}/{len(rs)}", f"median_{key.split('_')[0]}": median,
            "mean": float(np.mean(hits)) if hits else None, "max": max(hits) if hits else None,
            "median_seconds": float(np.median([r["seconds"] for r in rs])),
            "all_recovered_are_L12": all(r["is_L12"] for r in rs if r[key] is not None)}


def main():
    prim = bulk("Cu", "fcc", a=3.75, cubic=True)
    l12 = prim.copy()
    l12.set_chemical_symbols(["Au", "Cu", "Cu", "Cu"])
    target = build_target(l12)
    pot = GRSPotential(target)
    names = ("simulated annealing", "random walk", "pair first", "genetic algorithm")
    runs = {name: [] for name in names}
    t0 = time.perf_counter()
    for seed in range(SEEDS):
        cand = lattice_candidate(prim, 8, {"Au": 0.25, "Cu": 0.75}, seed=seed, matrix=np.diag([2, 2, 2]))
        for name in names:
            t = time.perf_counter()
            if name == "genetic algorithm":
                res = genetic(cand, pot, generations=GA_CAP, population=20, seed=seed, stall=15, local_steps=20)
                rec = {"generations": res.hit_generation, "evaluations": res.evaluations}
            elif name == "pair first":
                res = lexicographic_search(cand, pot, target.pair_alpha, steps=CAP, seed=seed, stop_at=1e-10)
                hit = None if res.hit_step is None else res.hit_step + res.pair_steps
                rec = {"steps": hit, "pair_steps": res.pair_steps, "loss_evaluations": res.hit_step}
            else:
                res = anneal(cand, pot, steps=CAP, moves=Moves(swap=1.0), seed=seed, random_walk=name == "random walk")
                rec = {"steps": res.hit_step}
            ok = bool(res.loss <= 1e-10 and is_l12(res.atoms))
            rec = {k: (None if v is None else int(v)) for k, v in rec.items()}
            runs[name].append({"seed": seed, **rec, "final_loss": float(res.loss), "is_L12": ok,
                               "seconds": time.perf_counter() - t})
            print(name, seed, rec, f"{res.loss:.3g}", flush=True)
    stats = {name: _stats(rs, "generations" if name == "genetic algorithm" else "steps") for name, rs in runs.items()}
    ga = [r["evaluations"] for r in runs["genetic algorithm"] if r["generations"] is not None]
    stats["genetic algorithm"]["median_evaluations"] = float(np.median(ga)) if ga else None
    stats["random walk"]["expected_steps_uniform_walk"] = 10518300 / 4
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for k, (name, rs) in enumerate(runs.items()):
        key = "generations" if name == "genetic algorithm" else "steps"
        cap = GA_CAP if key == "generations" else CAP
        y = [r[key] if r[key] is not None else cap for r in rs]
        ax.scatter(np.arange(SEEDS) + 0.15 * k, np.maximum(y, 0.8), marker="+xDo"[k], label=f"{name} ({key})")
    ax.axhline(CAP, color="grey", lw=0.8, ls=":")
    ax.set_yscale("log")
    ax.set_xlabel("seed")
    ax.set_ylabel("steps / generations to loss = 0 (cap: not reached)")
    ax.set_title("GRS recovery of L1$_2$ AuCu$_3$ (2x2x2 FCC, 32 sites)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(RESULTS / "grs_aucu3.png", dpi=110)
    write("grs_aucu3", {"seeds": SEEDS, "cap": CAP, "ga_cap_generations": GA_CAP, "ndescriptors": pot.ace.ndescriptors,
                        "stats": stats, "runs": runs,
                        "paper": {"simulated annealing": 120, "random walk": 2518, "genetic algorithm": 35},
                        "seconds": time.perf_counter() - t0})
    print(stats)


if __name__ == "__main__":
    main()
