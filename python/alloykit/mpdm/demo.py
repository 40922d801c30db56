"""MPDM stage of ``alloykit demo``: count a random Fe-20Cr BCC sample against the most
probable distribution, and fit meta-structure energies on a few relaxed Fe-Cr cells."""
from __future__ import annotations

import numpy as np
from ase.build import bulk

from .count import count_atoms
from .energies import chemical_potentials, count_matrix, fit_energies, random_bcc_cells, relax_cells
from .enumerate import meta_table
from .plots import figure_bars, figure_energies
from .theory import chi_square, most_probable_distribution


def random_sample(n_cells: int, c_b: float, seed: int, species=("Fe", "Cr"), a: float = 2.87):
    """BCC n_cells^3 cubic cells with round(c_b N) species-1 atoms at random sites."""
    atoms = bulk(species[0], "bcc", a, cubic=True).repeat(n_cells)
    n = len(atoms)
    symbols = np.full(n, species[0], dtype=object)
    symbols[np.random.default_rng(seed).permutation(n)[: int(round(c_b * n))]] = species[1]
    atoms.set_chemical_symbols(list(symbols))
    return atoms


def stage(ctx) -> dict:
    names = ["Fe", "Cr"]
    table = meta_table("bcc", 2)
    size = 10 if ctx.quick else 16                     # 2,000 or 8,192 atoms
    sample = random_sample(size, 0.2, ctx.seed, names)
    fc = count_atoms(sample, "bcc", names, label="Fe-20Cr random")
    theory = most_probable_distribution(table, fc.composition).fractions
    stats = chi_square(fc.counts, table, fc.composition)
    ctx.say(f"Random BCC Fe-20Cr, {fc.n_atoms} atoms: {fc.n_classified} classified into the 44 "
            f"meta-structures, {fc.n_unclassified} unclassified. Against the most probable "
            + (f"distribution: chi2 = {stats['chi2']:.1f} for {stats['dof']} dof "
               f"(chi2/dof = {stats['chi2_per_dof']:.2f})." if stats["chi2"] is not None else
               f"distribution: {stats['note']}."))
    ctx.savefig(figure_bars([("Fe-20Cr random: counted vs most probable", fc.counts / fc.n_classified,
                              theory, None)], table.n_orbits, names), "mpdm_fe20cr.png")

    n_cells = 60 if ctx.quick else 120
    cells = relax_cells(random_bcc_cells(n_cells, 3, names, seed=ctx.seed), "FeCr", progress=False)
    A, E, N, _, skipped = count_matrix(cells, "bcc", names)
    # with few cells per parameter (44 e_l) the ridge keeps the fit well posed
    fit = fit_energies(A, E, N, table, method="ridge", ridge=10.0, seed=ctx.seed)
    s = fit.summary()
    mu = chemical_potentials(table, fit.e)
    te = s["test_meV_per_atom"]
    ctx.say(f"Energy fit (ridge) on {len(E)} relaxed 54-atom Fe-Cr cells (FeCr.cdeam): "
            f"held-out {te['n']} cells, max error {te['max']:.2f} meV/atom, rmse {te['rmse']:.2f} "
            f"(composition alone: rmse {s['composition_only_test_rmse']:.1f}).")
    i20 = int(np.argmin(np.abs(np.array(mu["c"]) - 0.2)))
    ctx.say(f"The split of E(c) into mu_Fe and mu_Cr is fixed only up to one gauge direction "
            f"(see alloykit.mpdm.energies); at 20% Cr: mu_Fe = {mu['mu_A'][i20]:.3f} eV, "
            f"mu_Cr = {mu['mu_B'][i20]:.3f} eV.")
    ctx.savefig(figure_energies({"ridge": s}, A, E, N, mu, names), "mpdm_energies.png")
    return {"sample_atoms": fc.n_atoms, "unclassified": fc.n_unclassified, "chi_square": stats,
            "fit_cells": len(E), "skipped_cells": len(skipped), "test_meV_per_atom": te,
            "mu_Fe_at_20Cr": mu["mu_A"][i20], "mu_Cr_at_20Cr": mu["mu_B"][i20]}
