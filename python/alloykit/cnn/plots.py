"""Fig. 3-style plots: true vs predicted barrier spectra per moving species, and parity."""
from __future__ import annotations

import numpy as np


def spectra_figure(true, pred, moving_species, title: str = ""):
    """One panel per moving species: histogram of the true barriers (bars) and of the
    predicted ones (line), same bins; MAE in each panel. ``true`` may be None (prediction
    only: bars of the predictions)."""
    import matplotlib.pyplot as plt

    pred = np.asarray(pred, float)
    species = np.asarray(moving_species)
    names = sorted(set(species.tolist()))
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.0), squeeze=False)
    every = pred if true is None else np.concatenate([pred, np.asarray(true, float)])
    bins = np.linspace(every.min() - 0.02, every.max() + 0.02, 31)
    for ax, s in zip(axes[0], names):
        m = species == s
        if true is None:
            ax.hist(pred[m], bins=bins, color="C1", alpha=0.7, label="predicted")
        else:
            t = np.asarray(true, float)[m]
            ax.hist(t, bins=bins, color="C0", alpha=0.6, label="NEB")
            h, edges = np.histogram(pred[m], bins=bins)
            ax.step(edges[1:], h, color="C3", label="CNN")
            ax.set_title(f"{s} moving: MAE {np.mean(np.abs(pred[m] - t)):.3f} eV", fontsize=9)
        if true is None:
            ax.set_title(f"{s} moving ({m.sum()} hops)", fontsize=9)
        ax.set_xlabel("barrier (eV)")
    axes[0, 0].set_ylabel("count")
    axes[0, 0].legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def parity_figure(true, pred, title: str = ""):
    import matplotlib.pyplot as plt

    true, pred = np.asarray(true, float), np.asarray(pred, float)
    fig, ax = plt.subplots(figsize=(3.6, 3.4))
    ax.plot(true, pred, ".", ms=2, alpha=0.5)
    lo, hi = min(true.min(), pred.min()), max(true.max(), pred.max())
    ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
    ax.set_xlabel("NEB barrier (eV)")
    ax.set_ylabel("predicted (eV)")
    ax.set_title(title or f"MAE {np.mean(np.abs(true - pred)):.4f} eV", fontsize=9)
    fig.tight_layout()
    return fig
