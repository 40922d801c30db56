"""Figures: PE and SRO along an MC/MD run (as the paper's Supplementary Fig. 4) and SRO
per shell and pair."""
from __future__ import annotations

import numpy as np


def _unique_pairs(labels, species=None):
    """'A-B' labels with A <= B in species order (alpha and delta are symmetric)."""
    if species is None:
        species = []
        for lab in labels:
            for s in lab.split("-"):
                if s not in species:
                    species.append(s)
    rank = {s: k for k, s in enumerate(species)}
    return [lab for lab in labels if rank[lab.split("-")[0]] <= rank[lab.split("-")[1]]]


def plot_mcmd(records, shell: int = 1, quantity: str = "delta", title: str | None = None):
    """Potential energy (left axis; the inherent PE when recorded) and ``quantity``
    ("delta" or "alpha") of shell ``shell`` for every species pair (right axis) versus
    MC/MD step."""
    import matplotlib.pyplot as plt

    steps = np.array([r["step"] for r in records])
    key = "pe_inherent" if all("pe_inherent" in r for r in records) else "pe"
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(steps, [r[key] for r in records], "k-", lw=1.5, label="PE (inherent)" if key == "pe_inherent" else "PE")
    ax.set_xlabel("MC/MD step")
    ax.set_ylabel("potential energy (eV)" + (", inherent" if key == "pe_inherent" else ""))
    with_sro = [r for r in records if "sro" in r]
    handles, labels = ax.get_legend_handles_labels()
    if with_sro:
        ax2 = ax.twinx()
        table = with_sro[0]["sro"][quantity]
        species = list(with_sro[0]["sro"].get("concentrations", {})) or None
        for lab in _unique_pairs(list(table), species):
            y = [r["sro"][quantity][lab][shell - 1] for r in with_sro]
            ax2.plot([r["step"] for r in with_sro], [np.nan if v is None else v for v in y], "o-", ms=3, lw=1,
                     label=lab)
        ax2.axhline(0.0, color="0.6", lw=0.8, ls=":")
        sym = "\u03b4" if quantity == "delta" else "\u03b1"
        ax2.set_ylabel(f"{sym}$_{{\\alpha\\beta}}$, shell {shell}")
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, fontsize=8, loc="best", ncol=2)
    ax.set_title(title or "hybrid MC/MD")
    fig.tight_layout()
    return fig


def plot_sro(results, labels=None, title: str | None = None):
    """Warren-Cowley alpha per shell for each unordered pair, one group of bars per
    structure (``results``: SRO objects or their ``to_dict()``), with the +-2 sigma band
    of an ideal random alloy of the first structure."""
    import matplotlib.pyplot as plt

    dicts = [r.to_dict() if hasattr(r, "to_dict") else r for r in (results if isinstance(results, list) else [results])]
    labels = labels or [f"#{k}" for k in range(len(dicts))]
    pairs = _unique_pairs(list(dicts[0]["alpha"]), dicts[0]["species"])
    n_shells = len(dicts[0]["shell_radii"])
    fig, axes = plt.subplots(1, n_shells, figsize=(3.2 * n_shells + 1, 3.6), sharey=True, squeeze=False)
    width = 0.8 / len(dicts)
    x = np.arange(len(pairs))
    for k, ax in enumerate(axes[0]):
        sig = np.array([dicts[0]["random_sigma_alpha"][p][k] or 0.0 for p in pairs])
        ax.bar(x, 4 * sig, bottom=-2 * sig, width=0.9, color="0.9", label="random \u00b12\u03c3")
        for m, (d, lab) in enumerate(zip(dicts, labels)):
            y = [np.nan if d["alpha"][p][k] is None else d["alpha"][p][k] for p in pairs]
            ax.bar(x - 0.4 + width * (m + 0.5), y, width=width, label=lab)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_xticks(x, pairs, rotation=45, fontsize=8)
        ax.set_title(f"shell {k + 1} (r = {dicts[0]['shell_radii'][k]:.2f} \u00c5)", fontsize=9)
    axes[0][0].set_ylabel("Warren-Cowley \u03b1")
    axes[0][-1].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_sro_frames(results, shell: int = 1, x=None, xlabel: str = "frame"):
    """alpha of shell ``shell`` for every unordered pair across frames."""
    import matplotlib.pyplot as plt

    dicts = [r.to_dict() if hasattr(r, "to_dict") else r for r in results]
    x = np.arange(len(dicts)) if x is None else np.asarray(x)
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for p in _unique_pairs(list(dicts[0]["alpha"]), dicts[0]["species"]):
        y = [np.nan if d["alpha"][p][shell - 1] is None else d["alpha"][p][shell - 1] for d in dicts]
        ax.plot(x, y, "o-", ms=3, label=p)
    ax.axhline(0, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"Warren-Cowley \u03b1, shell {shell}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_spectra(records, spectra_range, title: str | None = None):
    """Predicted barrier spectra along an MC/MD run (as the paper's Fig. 4 and Supplementary
    Figs. 5-6): left, the histogram of each moving species at the first and last recorded
    step; right, each species' mean barrier (+- one standard deviation) versus step.
    Built on a bare Figure (no pyplot), so the driver can save it under any backend."""
    from matplotlib.figure import Figure

    recs = [r for r in records if "barriers" in r]
    fig = Figure(figsize=(10, 4))
    ax, ax2 = fig.subplots(1, 2)
    species = list(dict.fromkeys(sp for r in recs for sp in r["barriers"]))
    colours = {sp: f"C{k}" for k, sp in enumerate(species)}
    lo, hi = spectra_range
    for r, style in ((recs[0], ":"), (recs[-1], "-")) if recs else ():
        for sp, d in r["barriers"].items():
            h = np.asarray(d["hist"], float)
            edges = np.linspace(lo, hi, len(h) + 1)
            width = edges[1] - edges[0]
            ax.step(edges[:-1], h / max(h.sum() * width, 1e-300), where="post", ls=style, color=colours[sp],
                    label=f"{sp}, step {r['step']}")
    ax.set_xlabel("predicted barrier (eV)")
    ax.set_ylabel("density (1/eV)")
    ax.legend(fontsize=7)
    for sp in species:
        pts = [(r["step"], r["barriers"][sp]["mean"], r["barriers"][sp]["std"]) for r in recs if sp in r["barriers"]]
        x, m, s = (np.array(v) for v in zip(*pts))
        ax2.plot(x, m, "o-", ms=3, color=colours[sp], label=f"{sp} moving")
        ax2.fill_between(x, m - s, m + s, color=colours[sp], alpha=0.15)
    ax2.set_xlabel("MC/MD step")
    ax2.set_ylabel("mean barrier (eV)")
    ax2.legend(fontsize=8)
    fig.suptitle(title or "vacancy-migration barrier spectra (CNN)")
    fig.tight_layout()
    return fig
