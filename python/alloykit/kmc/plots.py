"""Figures of a KMC run: MSDs against time, and Warren-Cowley alpha (first shell) against time."""
from __future__ import annotations

import numpy as np


def plot_run(samples: list[dict], shell: int = 1):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with_alpha = [s for s in samples if "alpha" in s]
    fig, axes = plt.subplots(1, 2 if with_alpha else 1, figsize=(11 if with_alpha else 5.5, 4.2), squeeze=False)
    ax = axes[0, 0]
    t = np.array([s["time"] for s in samples])
    ax.plot(t, [s["msd_vacancy"] for s in samples], "k-", label="vacancy")
    for sp in samples[-1]["msd"]:
        ax.plot(t, [s["msd"].get(sp, np.nan) for s in samples], "-", label=f"{sp} (tracer)")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(r"MSD ($\AA^2$)")
    ax.set_yscale("symlog", linthresh=1.0)
    ax.legend(fontsize=8)
    if with_alpha:
        ax = axes[0, 1]
        t = [s["time"] for s in with_alpha]
        species = samples[-1]["msd"].keys()
        for lab in with_alpha[0]["alpha"]:
            a, b = lab.split("-")
            if a in species and b in species and list(species).index(a) <= list(species).index(b):
                y = [s["alpha"][lab][shell - 1] for s in with_alpha]
                ax.plot(t, [np.nan if v is None else v for v in y], "o-", ms=3, label=lab)
        ax.axhline(0.0, color="grey", lw=0.5)
        ax.set_xlabel("time (s)")
        ax.set_ylabel(f"Warren-Cowley alpha, shell {shell}")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
