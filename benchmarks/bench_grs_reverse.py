"""Reverse GRS (Goff et al., Sec. IV.4, Fig. 6): cells pushed away from a random alloy.

Target: a random BCC Fe0.35Cr0.35Si0.15V0.15 solid solution (432 atoms, a = 2.87 A,
ideal sites), the paper's ACE (ranks 1-4, nmax 8,2,2,1, lmax 0,2,2,1). Two sets of
NCELLS 16-atom cells on the BCC parent (2x2x2 cubes), made the same way
(:func:`alloykit.grs.generate_set`: chemical swaps, atomic displacements and short LAMMPS
minimisations of the GRS potential, STEPS steps per cell, no final minimisation: a
reverse potential has no minimum to converge to), in one run:

- forward GRS, weights (1, 1): cells like the random alloy (the baseline);
- reverse GRS, weights (-0.01, -0.01) as in the paper: cells unlike it.

For the target and each set: the forward loss (distance from the target), the
Warren-Cowley alpha of the first two shells (alloykit.csro, on the ideal BCC sites each
atom is assigned to; 0 for a random alloy, |alpha| up to 1 for order), the distortion
(RMS distance of the atoms from those sites, A), and the 2-d PCA picture of the descriptors in the
target's principal axes. JSON + PNG: results/grs_reverse.*; the cells as extxyz in
results/grs_reverse_cells/.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from ase.build import bulk, make_supercell
from ase.geometry import get_distances

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, write  # noqa: E402

from alloykit.csro import compute_sro  # noqa: E402
from alloykit.grs import GRSPotential, Moves, build_target  # noqa: E402
from alloykit.grs.coverage import descriptors, pca_space  # noqa: E402
from alloykit.grs.sets import generate_set, set_sums, write_set  # noqa: E402
from alloykit.structures import random_solid_solution  # noqa: E402

COMPOSITION = {"Fe": 0.35, "Cr": 0.35, "Si": 0.15, "V": 0.15}
A = 2.87
SPECIES = ["Cr", "Fe", "Si", "V"]


def on_sites(cell, parent):
    """(the cell's species on the ideal sites of ``parent``'s lattice, RMS distance of the
    atoms from their sites in A): each atom gets its own site (an optimal assignment), so
    Warren-Cowley alpha is measured on the lattice however distorted the cell is."""
    from scipy.optimize import linear_sum_assignment

    p = np.rint(cell.cell.array @ np.linalg.inv(parent.cell.array)).astype(int)
    sites = make_supercell(parent, p)
    _, d = get_distances(cell.positions, sites.positions, cell=cell.cell, pbc=True)
    atom, site = linear_sum_assignment(d)
    ideal = sites.copy()
    symbols = np.empty(len(sites), dtype=object)
    symbols[site] = np.asarray(cell.get_chemical_symbols())[atom]
    ideal.set_chemical_symbols(list(symbols))
    return ideal, float(np.sqrt(np.mean(d[atom, site] ** 2)))


def order(cells) -> dict:
    """Mean |alpha| over species pairs and the cells, shells 1 and 2, and the mean alpha
    matrix of shell 1 (cells given on their ideal sites)."""
    alphas = [compute_sro(c, shells=2, species=SPECIES, lattice="bcc").alpha for c in cells]
    mean_abs = np.nanmean([np.abs(a) for a in alphas], axis=(0, 2, 3))
    return {"mean_abs_alpha": [float(v) for v in mean_abs],
            "alpha_shell1_mean": np.nanmean([a[0] for a in alphas], axis=0).round(4).tolist()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ncells", type=int, default=4)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    big = random_solid_solution("bcc", COMPOSITION, size=6, a=A, seed=args.seed)
    target = build_target(big)
    forward_pot = GRSPotential(target)
    parent = bulk("Fe", "bcc", a=A, cubic=True)
    moves = Moves(swap=1.0, displace=0.5, minimize=0.02, step=0.1)
    sets, out = {}, {"target": {"atoms": len(big), **order([big]), "distortion_A": 0.0}}
    for name, weights in (("forward", (1.0, 1.0)), ("reverse", (-0.01, -0.01))):
        t = time.perf_counter()
        s = generate_set(target, args.ncells, 16, parent=parent, moves=moves, steps=args.steps, seed=args.seed,
                         weights=weights, allow_images=True, minimize=False)
        sets[name] = s
        write_set(s, RESULTS / "grs_reverse_cells" / name)
        with torch.no_grad():
            forward_loss = float(forward_pot.loss.from_sums(*set_sums(s.cells, forward_pot)))
        mapped = [on_sites(c, parent) for c in s.cells]
        out[name] = {"weights": list(weights), "seconds": round(time.perf_counter() - t, 1),
                     "set_loss_own_weights": s.loss, "forward_loss": forward_loss,
                     "distortion_A": float(np.mean([d for _, d in mapped])),
                     "formulas": [c.get_chemical_formula() for c in s.cells], **order([c for c, _ in mapped])}
        print(name, out[name], flush=True)
    ace = target.descriptor()
    t_desc = descriptors(big, ace, target.scale)
    space = pca_space(t_desc, 0.99, max_dims=2)
    pts = {"target": space.project(t_desc)}
    for name, s in sets.items():
        pts[name] = space.project(descriptors(s.cells, ace, target.scale))
        out[name]["pca_distance_from_target_centre"] = float(np.linalg.norm(pts[name], axis=1).mean())
    out["target"]["pca_distance_from_target_centre"] = float(np.linalg.norm(pts["target"], axis=1).mean())
    out["pca"] = {"variance_kept_2d": space.variance_kept, "dims_for_99": space.dims_needed}
    plot(pts, out)
    write("grs_reverse", {"composition": COMPOSITION, "a": A, "ncells": args.ncells, "cell_atoms": 16,
                          "steps": args.steps, "seed": args.seed, "moves": vars(moves), **out,
                          "paper": "Fig. 6: reverse GRS (weights -0.01, -0.01) gives cells with more chemical order "
                                   "and larger distortions than the random-alloy target",
                          "seconds": round(time.perf_counter() - t0, 1)})


def plot(pts, out) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    style = {"target": dict(s=6, alpha=0.3, c="grey"), "forward": dict(s=14, marker="o", c="C0"),
             "reverse": dict(s=14, marker="^", c="C3")}
    for name, p in pts.items():
        axes[0].scatter(p[:, 0], p[:, 1], label=name, **style[name])
    axes[0].set(xlabel="PC1 (target)", ylabel="PC2 (target)", title="ACE descriptors, target's PCA")
    axes[0].legend(fontsize=7)
    names = ["target", "forward", "reverse"]
    for k, shell in enumerate(("1st", "2nd")):
        axes[1].bar(np.arange(3) + 0.4 * k, [out[n]["mean_abs_alpha"][k] for n in names], width=0.4,
                    label=f"{shell} shell")
    axes[1].set_xticks(np.arange(3) + 0.2, names)
    axes[1].set(title="chemical order: mean |alpha| over pairs")
    axes[1].legend(fontsize=7)
    axes[2].bar(names, [out[n]["distortion_A"] for n in names], color=["grey", "C0", "C3"])
    axes[2].set(title="distortion: RMS distance from ideal BCC site (A)")
    fig.suptitle("Reverse GRS on random BCC Fe0.35Cr0.35Si0.15V0.15 (16-atom cells)", fontsize=10)
    fig.tight_layout()
    fig.savefig(RESULTS / "grs_reverse.png", dpi=110)


if __name__ == "__main__":
    main()
