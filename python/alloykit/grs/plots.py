"""Target vs GRS: per-element means and standard deviations of every descriptor (in units
of the target's RMS), and histograms of the main (rank-1) descriptors."""
from __future__ import annotations

import numpy as np
import torch

from .target import central_moments


def moments_of(pot, atoms):
    ace = pot.ace
    b = ace.compute(atoms).detach()
    el = torch.from_numpy(ace.element_index(atoms.get_chemical_symbols()))
    sums, counts = pot.loss.sums(b, el)
    return central_moments(sums, counts).numpy(), counts.numpy(), b.numpy(), el.numpy()


def plot_target_vs_grs(pot, atoms, target_structures=None):
    import matplotlib.pyplot as plt

    t = pot.target
    tm = central_moments(torch.from_numpy(t.sums[:, :2]), torch.from_numpy(t.counts)).numpy()
    gm, gcounts, b, el = moments_of(pot, atoms)
    scale = t.scale
    present = [k for k, c in enumerate(t.counts) if c > 0]
    fig, axes = plt.subplots(len(present), 2, figsize=(10, 3.0 * len(present)), squeeze=False)
    x = np.arange(len(scale))
    for row, e in enumerate(present):
        name = pot.ace.elements[e]
        ax = axes[row, 0]
        ax.plot(x, tm[e, 0] / scale, "o", ms=3, label="target")
        ax.plot(x, gm[e, 0] / scale, "x", ms=3, label="GRS")
        ax.set_title(f"{name} centres: mean / target RMS")
        ax.set_xlabel("descriptor index")
        ax.legend(fontsize=8)
        ax = axes[row, 1]
        ax.plot(x, np.sqrt(np.clip(tm[e, 1], 0, None)) / scale, "o", ms=3, label="target")
        ax.plot(x, np.sqrt(np.clip(gm[e, 1], 0, None)) / scale, "x", ms=3, label="GRS")
        ax.set_title(f"{name} centres: std / target RMS")
        ax.set_xlabel("descriptor index")
    fig.tight_layout()
    figs = [fig]
    if target_structures:
        tb = np.vstack([pot.ace.compute(s).detach().numpy() for s in target_structures])
        n = min(4, pot.ace.ranks[0].count)
        fig2, axes2 = plt.subplots(1, n, figsize=(3.2 * n, 2.8), squeeze=False)
        for k in range(n):
            ax = axes2[0, k]
            ax.hist(tb[:, k], bins=30, density=True, alpha=0.5, label="target")
            ax.hist(b[:, k], bins=15, density=True, alpha=0.5, label="GRS")
            ax.set_title(pot.ace.labels[k], fontsize=9)
        axes2[0, 0].legend(fontsize=8)
        fig2.tight_layout()
        figs.append(fig2)
    return figs
