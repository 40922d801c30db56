"""Meta-structure energies and chemical potentials (paper Fig. 3) with LAMMPS: 239 random
BCC Fe-Cr cells of 54 atoms (Cr count uniform over 0..54), relaxed (positions and cell) with
FeCr.cdeam; e_l fitted by least squares, ridge and a small torch network; per-cell errors
on held-out cells (one 80/20 split, and 5-fold cross-validation so that every cell is held
out once); mu_Fe(c), mu_Cr(c) from the most probable distribution.

    python benchmarks/bench_mpdm_fig3.py [--quick]

Writes benchmarks/results/mpdm_fig3.json and mpdm_fig3.png.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from alloykit.mpdm import meta_table
from alloykit.mpdm.energies import (chemical_potentials, count_matrix, fit_energies, gauge_vector,
                                    random_bcc_cells, relax_cells)
from alloykit.mpdm.plots import figure_energies

RESULTS = Path(__file__).resolve().parent / "results"
NAMES = ["Fe", "Cr"]
RIDGE = 1.0


def cross_validate(A, E, N, table, method, folds, seed):
    """Held-out error of every cell (meV/atom), each predicted by a fit without its fold."""
    perm = np.random.default_rng(seed).permutation(len(E))
    err = np.empty(len(E))
    for f in range(folds):
        test = perm[f::folds]
        fit = fit_energies(A, E, N, table, method=method, ridge=RIDGE, seed=seed, test_cells=test)
        err[fit.test] = fit.test_error
    a = np.abs(err)
    return {"errors_meV_per_atom": err.tolist(), "max": float(a.max()), "rmse": float(np.sqrt((a ** 2).mean())),
            "frac_below_5": float((a < 5).mean()), "frac_below_10": float((a < 10).mean())}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="80 cells")
    p.add_argument("--cells", type=int, default=239)
    p.add_argument("--seed", type=int, default=239)
    args = p.parse_args(argv)
    n_cells = 80 if args.quick else args.cells
    table = meta_table("bcc", 2)
    t0 = time.perf_counter()
    cells = relax_cells(random_bcc_cells(n_cells, 3, NAMES, seed=args.seed), "FeCr", box="aniso")
    t_relax = time.perf_counter() - t0
    A, E, N, kept, skipped = count_matrix(cells, "bcc", NAMES)
    fits, cv = {}, {}
    for method in ("lstsq", "ridge", "torch"):
        fits[method] = fit_energies(A, E, N, table, method=method, ridge=RIDGE, seed=args.seed).summary()
        cv[method] = cross_validate(A, E, N, table, method, 5, args.seed)
    mu = chemical_potentials(table, np.array(fits["lstsq"]["e"]))
    c_cell = A[:, table.centre == 1].sum(axis=1) / N
    result = {
        "benchmark": "mpdm_fig3", "cells": n_cells, "atoms_per_cell": 54, "potential": "FeCr.cdeam (eam/cd)",
        "relaxation": "positions + cell (fix box/relax aniso), ftol 1e-8 eV/A",
        "seed": args.seed, "relax_seconds": round(t_relax, 1), "skipped": skipped,
        "cell_c_Cr": c_cell.tolist(), "cell_energy_eV_per_atom": (E / N).tolist(),
        "fits_80_20_split": fits, "cross_validation_5_fold": cv,
        "ridge": RIDGE,
        "gauge": {"vector": gauge_vector(table).tolist(),
                  "note": "e_l + lam * vector predicts the same energies; it shifts mu_Fe by lam c/2 "
                          "and mu_Cr by -lam (1-c)/2. mu below: the least-squares fit's gauge "
                          "(minimum-norm deviation from the mean energy per atom)."},
        "chemical_potentials": {"from_fit": "lstsq", **mu},
        "seconds": round(time.perf_counter() - t0, 1)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "mpdm_fig3.json").write_text(json.dumps(result, indent=1))
    fig = figure_energies(fits, A, E, N, mu, NAMES)
    fig.savefig(RESULTS / "mpdm_fig3.png", dpi=110, bbox_inches="tight")
    for m in fits:
        s, c = fits[m]["test_meV_per_atom"], cv[m]
        print(f"{m}: 80/20 held-out {s['n']} cells max {s['max']:.2f} rmse {s['rmse']:.2f} meV/atom; "
              f"5-fold CV over {len(E)} cells max {c['max']:.2f} rmse {c['rmse']:.2f}, "
              f"{100 * c['frac_below_5']:.0f}% < 5, {100 * c['frac_below_10']:.0f}% < 10 meV/atom")
    print(f"composition-only baseline rmse {fits['lstsq']['composition_only_test_rmse']:.1f} meV/atom")
    return result


if __name__ == "__main__":
    main()
