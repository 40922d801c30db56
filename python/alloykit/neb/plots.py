"""Plots: the barrier spectrum per moving species, and minimum-energy paths."""
from __future__ import annotations

import numpy as np


def spectrum_summary(records) -> dict:
    """Count, mean, std and range of the forward barriers of HopRecords per moving species."""
    by = {}
    for r in records:
        by.setdefault(r.moving_species, []).append(r.barrier_forward)
    out = {}
    for sp in sorted(by):
        v = np.asarray(by[sp], float)
        out[sp] = {"count": int(v.size), "mean_eV": float(v.mean()), "std_eV": float(v.std()),
                   "min_eV": float(v.min()), "max_eV": float(v.max())}
    return out


def spectrum(dataset, out=None, bins: int = 30):
    """Forward-barrier histograms of usable records, one colour per moving species."""
    import matplotlib.pyplot as plt

    from .store import Dataset

    ds = dataset if isinstance(dataset, Dataset) else Dataset(dataset)
    recs = list(ds.records(converged_only=True))
    summary = {"dataset": str(ds.path), "usable": len(recs), "all": len(ds),
               "by_moving_species": spectrum_summary(recs)}
    fig, ax = plt.subplots(figsize=(5, 3.6))
    if recs:
        allv = np.array([r.barrier_forward for r in recs])
        edges = np.histogram_bin_edges(allv, bins=bins)
        for sp, s in summary["by_moving_species"].items():
            v = [r.barrier_forward for r in recs if r.moving_species == sp]
            ax.hist(v, bins=edges, alpha=0.6, label=f"{sp} hops: {s['count']}, {s['mean_eV']:.3f} ± {s['std_eV']:.3f} eV")
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no usable barriers yet", ha="center", va="center", transform=ax.transAxes)
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("migration barrier ΔE (eV)")
    ax.set_ylabel("count")
    ax.set_title(f"{ds.path.name}: {len(recs)} barriers ({len(ds) - len(recs)} flagged)", fontsize=9)
    if out is not None:
        fig.savefig(out, dpi=110, bbox_inches="tight")
    return fig, summary


def mep_plot(paths: dict, ax=None):
    """paths: label -> (reaction coordinates, energies relative to the initial state)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.6))
    for label, (x, e) in paths.items():
        ax.plot(x, e, "o-", ms=4, label=label)
    ax.set_xlabel("reaction coordinate")
    ax.set_ylabel("E - E_initial (eV)")
    ax.legend(fontsize=8)
    return ax
