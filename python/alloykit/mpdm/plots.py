"""Figures shared by the CLI, the demo stage and the benchmarks (matplotlib, Agg)."""
from __future__ import annotations

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def bars_vs_theory(ax, observed_fraction, theory_fraction, n_centre_types: int,
                   title: str = "", err=None, names=("A", "B")):
    """Fig. 2 style: observed fraction of each type (bars) against the theory (markers)."""
    t = np.arange(1, len(theory_fraction) + 1)
    palette = np.array(["tab:brown", "tab:blue", "tab:green", "tab:purple", "tab:orange", "tab:gray"])
    colours = palette[((t - 1) // n_centre_types) % len(palette)]
    centres = ", ".join(f"{n} centre {c[4:]}" for n, c in zip(names, palette))
    if observed_fraction is None:      # theory only
        ax.bar(t, theory_fraction, color=colours, alpha=0.7, label=f"most probable ({centres})")
    else:
        ax.bar(t, observed_fraction, color=colours, alpha=0.6, yerr=err, capsize=1.5,
               label=f"counted ({centres})")
        ax.plot(t, theory_fraction, "k_", markersize=9, mew=2, label="most probable (theory)")
    ax.set_xlim(0.3, len(t) + 0.7)
    ax.set_xlabel("meta-structure l")
    ax.set_ylabel("a_l / N")
    if title:
        ax.set_title(title, fontsize=9)


def figure_bars(panels, n_centre_types, names=("A", "B")):
    """panels: list of (title, observed, theory, err) -> one figure, one row per panel."""
    plt = _plt()
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 2.1 * len(panels) + 0.6), squeeze=False)
    for ax, (title, obs, th, err) in zip(axes[:, 0], panels):
        bars_vs_theory(ax, obs, th, n_centre_types, title, err, names)
    axes[0, 0].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


def figure_energies(fit_summaries: dict, A, E, N, mu: dict, names=("Fe", "Cr")):
    """Fig. 3 style: (a) e_l, (b) mu(c), (c) fitted vs reference energy, (d) per-cell errors."""
    plt = _plt()
    fig, ax = plt.subplots(2, 2, figsize=(10, 7.5))
    c_cell = A[:, A.shape[1] // 2:].sum(axis=1) / N
    for method, s in fit_summaries.items():
        e = np.array(s["e"])
        ax[0, 0].plot(np.arange(1, len(e) + 1), e, "o-", ms=3, label=method)
        pred = A @ e
        test = np.array(s["test_cells"], dtype=int)
        ax[1, 0].plot(E / N, pred / N, ".", ms=3, alpha=0.5, label=f"{method} (all)")
        ax[1, 0].plot(E[test] / N[test], pred[test] / N[test], "x", ms=4, label=f"{method} (held out)")
        ax[1, 1].plot(c_cell[test], s["test_errors_meV_per_atom"], "x", ms=4, label=method)
    ax[0, 0].set(xlabel="meta-structure l", ylabel="e_l (eV)", title="(a) meta-structure energies")
    ax[0, 0].legend(fontsize=7)
    c = np.array(mu["c"])
    ax[0, 1].plot(c, mu["mu_A"], "-", color="tab:brown", label=f"mu_{names[0]} (paper Eq. 12)")
    ax[0, 1].plot(c, mu["mu_B"], "-", color="tab:blue", label=f"mu_{names[1]} (paper Eq. 13)")
    ax[0, 1].plot(c, mu["mu_A_partial_molar"], "--", color="tab:brown", label=f"{names[0]}: E - c dE/dc")
    ax[0, 1].plot(c, mu["mu_B_partial_molar"], "--", color="tab:blue", label=f"{names[1]}: E + (1-c) dE/dc")
    ax[0, 1].plot(c, mu["energy_per_atom"], "k:", label="E(c) per atom")
    ax[0, 1].set(xlabel=f"c_{names[1]}", ylabel="eV", title="(b) chemical potentials")
    ax[0, 1].legend(fontsize=7)
    lo, hi = (E / N).min(), (E / N).max()
    ax[1, 0].plot([lo, hi], [lo, hi], "k-", lw=0.8)
    ax[1, 0].set(xlabel="E reference (eV/atom)", ylabel="E fitted (eV/atom)", title="(c) fit")
    ax[1, 0].legend(fontsize=6)
    for y in (-10, -5, 5, 10):
        ax[1, 1].axhline(y, color="grey", lw=0.6, ls=":" if abs(y) == 5 else "--")
    ax[1, 1].set(xlabel=f"c_{names[1]} of the cell", ylabel="E_fit - E_ref (meV/atom)",
                 title="(d) held-out per-cell errors")
    ax[1, 1].legend(fontsize=7)
    fig.tight_layout()
    return fig
