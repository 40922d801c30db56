"""Dataset reduction with GRS sets (Goff et al., Sec. IV.3, Fig. 5).

Target: the Ta part of the SNAP training data in ../shared/data/MoNbTaW/dft (Ta_AIMD,
Ta_Elastic, Ta_Surface: 334 DFT structures, 11,374 environments), the paper's ACE
(ranks 1-4, nmax 8,2,2,1, lmax 0,2,2,1). Sets of free cells (positions and cell at the
target's density: displacements + LAMMPS minimisations of the GRS potential, STEPS steps
per cell; the cell shape relaxes with the minimisations, fix box/relax tri) of 4, 16 and
54 atoms are grown one cell at a time against the set so far
(:func:`alloykit.grs.generate_set`, resumed from results/grs_reduction_sets/ so a killed
run continues). After each cell: the paper's Eq. 18 volume ratio and the covered fraction
of the target's convex hull in its PCA space (99 % of the variance, per-rank scaled
descriptors), and the MAE of the first two moments.

Baseline, same run: random subsets of the dataset's own environments with the same
number of atoms (what a user would do without GRS: keep a random part of the data).
JSON + PNG: results/grs_reduction.*.
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np
from ase import Atoms

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, cached_target, write  # noqa: E402

from alloykit.grs import Moves  # noqa: E402
from alloykit.grs.coverage import descriptors, hull_fraction, moment_mae, pca_space  # noqa: E402
from alloykit.grs.sets import generate_set  # noqa: E402

DFT = Path(__file__).resolve().parents[2] / "shared" / "data" / "MoNbTaW" / "dft"
GROUPS = ("Ta_AIMD", "Ta_Elastic", "Ta_Surface")
SERIES = {4: 8, 16: 6, 54: 4}    # cell size -> cells in the set
WORK = RESULTS / "grs_reduction_sets"
# generate's moves for free cells, with the cell relaxed by the minimisations too: the
# dataset holds strained (Elastic) and open (Surface) cells
MOVES = Moves(swap=0.0, displace=1.0, minimize=0.05, step=0.15, box="tri")


def dft_structures() -> list:
    out = []
    for name in GROUPS:
        with gzip.open(DFT / f"{name}.json.gz", "rt") as f:
            for r in json.load(f):
                s = r["structure"]
                out.append(Atoms([site["species"][0]["element"] for site in s["sites"]],
                                 positions=[site["xyz"] for site in s["sites"]], cell=s["lattice"]["matrix"], pbc=True))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="2 cells of each size, 20 steps (a smoke run)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    series = {k: 2 for k in SERIES} if args.quick else SERIES
    steps = 20 if args.quick else args.steps
    t0 = time.perf_counter()
    structures = dft_structures()
    target = cached_target(WORK / "target.json", structures)
    ace = target.descriptor()
    t_desc = descriptors(structures, ace, target.scale)
    space = pca_space(t_desc, 0.99)
    t_pts = space.project(t_desc)
    rows, baseline = [], []
    rng = np.random.default_rng(args.seed)
    for size, ncells in series.items():
        for k in range(1, ncells + 1):
            t = time.perf_counter()
            s = generate_set(target, k, size, steps=steps, seed=args.seed, allow_images=True, moves=MOVES,
                             directory=WORK / f"{size}_atoms")
            s_desc = descriptors(s.cells, ace, target.scale)
            cov = hull_fraction(t_pts, space.project(s_desc), seed=args.seed)
            rows.append({"cell_atoms": size, "cells": k, "atoms": k * size, "set_loss": s.loss,
                         "moment_mae": moment_mae(t_desc, s_desc), **cov, "seconds": round(time.perf_counter() - t, 1)})
            print(rows[-1], flush=True)
    for n in sorted({r["atoms"] for r in rows}):
        picks = [rng.choice(len(t_desc), n, replace=False) for _ in range(5)]
        cov = [hull_fraction(t_pts, t_pts[p], samples=5000, seed=args.seed) for p in picks]
        baseline.append({"atoms": n, "covered_fraction": float(np.mean([c["covered_fraction"] for c in cov])),
                         "volume_ratio": float(np.mean([c["volume_ratio"] for c in cov])),
                         "moment_mae": float(np.mean([moment_mae(t_desc, t_desc[p]) for p in picks]))})
    plot(rows, baseline)
    write("grs_reduction", {"target": {"groups": GROUPS, "structures": len(structures), "environments": len(t_desc),
                                       "ndescriptors": ace.ndescriptors},
                            "pca": {"dims": space.dims, "dims_needed": space.dims_needed,
                                    "variance_kept": space.variance_kept},
                            "steps_per_cell": steps, "seed": args.seed, "moves": vars(MOVES), "rows": rows,
                            "random_subsets_of_the_data": baseline,
                            "paper": "Fig. 5: 54-atom sets reach ~100 % of the Ta dataset's hull volume with the "
                                     "fewest cells; 4-atom sets reach ~60 % with 2,000 atoms (500 cells)",
                            "seconds": round(time.perf_counter() - t0, 1)})


def plot(rows, baseline) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for size in sorted({r["cell_atoms"] for r in rows}):
        mine = [r for r in rows if r["cell_atoms"] == size]
        axes[0].plot([r["cells"] for r in mine], [r["covered_fraction"] for r in mine], "o-", label=f"{size}-atom GRS")
        axes[1].plot([r["atoms"] for r in mine], [r["covered_fraction"] for r in mine], "o-", label=f"{size}-atom GRS")
        axes[2].plot([r["atoms"] for r in mine], [r["moment_mae"] for r in mine], "o-", label=f"{size}-atom GRS")
    axes[1].plot([b["atoms"] for b in baseline], [b["covered_fraction"] for b in baseline], "k--",
                 label="random data subset")
    axes[2].plot([b["atoms"] for b in baseline], [b["moment_mae"] for b in baseline], "k--", label="random data subset")
    axes[0].set(xlabel="cells in the set", ylabel="covered fraction of the target's hull", title="Fig. 5 (paper)")
    axes[1].set(xlabel="atoms in the set", ylabel="covered fraction", xscale="log")
    axes[2].set(xlabel="atoms in the set", ylabel="moment MAE (scaled)", xscale="log", yscale="log")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.suptitle("GRS sets reducing the Ta SNAP dataset (334 structures, 11,374 environments)", fontsize=10)
    fig.tight_layout()
    fig.savefig(RESULTS / "grs_reduction.png", dpi=110)


if __name__ == "__main__":
    main()
