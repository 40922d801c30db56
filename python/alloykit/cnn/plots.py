"""Fig. 3-style plots (true vs predicted barrier spectra per moving species, parity) and the
composition maps and lines of barrier statistics (:mod:`alloykit.cnn.spectra`)."""
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


_H = np.sqrt(3.0) / 2.0     # height of the unit triangle


def _barycentric(fractions):
    """(N, 3) fractions -> x, y in a unit triangle: corners 0, 1 at the base, 2 on top."""
    f = np.asarray(fractions, float)
    f = f / f.sum(axis=1, keepdims=True)
    return f[:, 1] + 0.5 * f[:, 2], _H * f[:, 2]


def _triangle(ax, elements) -> None:
    ax.plot([0, 1, 0.5, 0], [0, 0, _H, 0], "k-", lw=0.8)
    ax.text(-0.03, -0.03, elements[0], ha="right", va="top", fontsize=10)
    ax.text(1.03, -0.03, elements[1], ha="left", va="top", fontsize=10)
    ax.text(0.5, _H + 0.03, elements[2], ha="center", va="bottom", fontsize=10)
    ax.set_xlim(-0.12, 1.12)
    ax.set_ylim(-0.1, _H + 0.1)
    ax.set_aspect("equal")
    ax.axis("off")


def ternary_figure(fractions, means: dict, stds: dict, elements, title: str = ""):
    """Ternary contour maps (the paper's composition maps): one column per moving species,
    row 1 the mean barrier, row 2 its standard deviation, one colour scale per row.

    fractions: (N, 3) fractions of ``elements`` at the N points; means/stds: species ->
    (N,) values, NaN where the species has no hop (it is absent there). Contours are drawn
    only over triangles of points that all have a value, so no species is extrapolated to
    where it does not exist; the points themselves are marked."""
    import matplotlib.pyplot as plt
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.tri import Triangulation

    names = list(means)
    x, y = _barycentric(fractions)
    fig, axes = plt.subplots(2, len(names), figsize=(3.0 * len(names) + 1.2, 5.6), squeeze=False,
                             layout="constrained")
    for row, (values, what, cmap) in enumerate(((means, "mean", "viridis"), (stds, "std", "magma"))):
        every = np.concatenate([np.asarray(values[s], float) for s in names])
        every = every[np.isfinite(every)]
        lo, hi = (every.min(), every.max()) if len(every) else (0.0, 1.0)
        if hi - lo < 1e-9:          # a flat field: contourf needs a range
            lo, hi = lo - 1e-3, hi + 1e-3
        norm, levels = Normalize(lo, hi), np.linspace(lo, hi, 16)
        for ax, s in zip(axes[row], names):
            z = np.asarray(values[s], float)
            ok = np.isfinite(z)
            try:
                tri = Triangulation(x, y)
                tri.set_mask(~ok[tri.triangles].all(axis=1))
                if not tri.mask.all():
                    ax.tricontourf(tri, np.where(ok, z, lo), levels=levels, cmap=cmap, norm=norm)
            except (ValueError, RuntimeError):
                pass        # fewer than three points, or all on a line: the markers remain
            ax.scatter(x[ok], y[ok], c=z[ok], cmap=cmap, norm=norm, s=12, edgecolors="w", linewidths=0.4)
            _triangle(ax, elements)
            ax.set_title(f"{s} moving: {what}", fontsize=9)
        fig.colorbar(ScalarMappable(norm, cmap), ax=list(axes[row]), shrink=0.85,
                     label=f"{what} barrier (eV)" if row == 0 else "std of barrier (eV)")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def line_figure(x, means: dict, stds: dict, xlabel: str, title: str = "", xticklabels=None):
    """Mean +- standard deviation of the barrier against ``x``, one curve per moving species
    (NaN where a species has no hop leaves a gap)."""
    import matplotlib.pyplot as plt

    x = np.asarray(x, float)
    fig, ax = plt.subplots(figsize=(max(4.5, 0.35 * len(x)) if xticklabels else 4.5, 3.4))
    for k, s in enumerate(means):
        m, e = np.asarray(means[s], float), np.asarray(stds[s], float)
        ax.errorbar(x, m, yerr=e, color=f"C{k}", marker="o", ms=3, capsize=2, lw=1, label=f"{s} moving")
    if xticklabels is not None:
        ax.set_xticks(x, xticklabels, rotation=70, fontsize=7)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("barrier (eV), mean $\\pm$ std")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
