"""What the paper does with its CNN (issue 13, item 5), with the model bench_cnn_tanbmo.py
trained on the Ta-Nb-Mo dataset (results/cnn_tanbmo_model):

1. Composition maps (paper Fig. 5): mean and standard deviation of the predicted barrier
   per moving species over the whole Ta-Nb-Mo simplex (step 0.1, 66 compositions, one
   seeded 432-atom sample each, 50 vacancy sites = 400 hops per composition), lattice
   parameters from MoNbTaW (Vegard's law on the relaxed pure elements), as
   ``alloykit cnn spectra MODEL --potential MoNbTaW`` makes them.
2. The Ta(100-x)/2 Nb(100-x)/2 Mo(x) line (Supplementary Figs. 8-9), step 0.05.
3. Spectra of a 1,024,000-atom equimolar sample (80^3 BCC cells; Supplementary Fig. 3):
   every hop of SITES random vacancy sites, with the time to build the environments and to
   predict, against the NEB spectra of the equimolar samples (the 2,000-atom NEB set
   results/neb_tanbmo_2000.sqlite when present, else the 250-atom ones).
Writes results/tanbmo_maps.json, tanbmo_map.png, tanbmo_line.png, tanbmo_1M_spectra.png.
Usage: python benchmarks/bench_tanbmo_maps.py [--sites N] [--threads T] [--quick]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, parse_torch_run, write  # noqa: E402

from alloykit.cnn.io import load  # noqa: E402
from alloykit.cnn.spectra import (composition_line, composition_map, element_lattice_parameters,  # noqa: E402
                                  figure, hop_statistics, lattice_parameter)
from alloykit.neb import open_dataset  # noqa: E402
from alloykit.structures import random_solid_solution  # noqa: E402

MODEL = RESULTS / "cnn_tanbmo_model"
NEB_2000 = RESULTS / "neb_tanbmo_2000.sqlite"
EQUIMOLAR = {"Ta": 1 / 3, "Nb": 1 / 3, "Mo": 1 / 3}


def neb_equimolar() -> tuple[str, list]:
    """NEB barriers of equimolar samples: the 2,000-atom set if computed, else the 250-atom
    samples of the dataset and the reference set."""
    if NEB_2000.exists():
        with open_dataset(NEB_2000) as ds:
            return NEB_2000.name, list(ds.records())
    recs = []
    for name in ("neb_tanbmo.sqlite", "neb_tanbmo_reference.sqlite"):
        with open_dataset(RESULTS / name) as ds:
            recs += [r for r in ds.records() if abs(r.composition.get("Mo", 0) - 1 / 3) < 0.01]
    return "equimolar 250-atom samples of neb_tanbmo*.sqlite", recs


def million(model, params, sites: int, seed: int) -> dict:
    t0 = time.perf_counter()
    atoms = random_solid_solution("bcc", EQUIMOLAR, size=80, a=lattice_parameter(EQUIMOLAR, params), seed=seed)
    build = time.perf_counter() - t0
    chosen = np.sort(np.random.default_rng(seed).choice(len(atoms), sites, replace=False))
    t1 = time.perf_counter()
    hops = model.predict_structure(atoms, chosen, progress=True)
    predict = time.perf_counter() - t1
    per_hop = predict / len(hops)
    return {"atoms": len(atoms), "vacancy_sites": sites, "hops": len(hops), "build_seconds": round(build, 1),
            "predict_seconds": round(predict, 1), "hops_per_second": round(len(hops) / predict, 1),
            "every_site_estimate_hours": round(per_hop * 8 * len(atoms) / 3600, 2),
            "by_moving_species": hop_statistics(hops),
            "_barriers": np.array([h["barrier"] for h in hops]), "_species": [h["moving_species"] for h in hops]}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser()
    p.add_argument("--sites", type=int, default=20000)
    a = parse_torch_run(p, argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model = load(MODEL)
    params = element_lattice_parameters(model.species, "bcc", potential="MoNbTaW")
    step, line_step = (0.5, 0.5) if a.quick else (0.1, 0.05)
    cmap = composition_map(model, step=step, size=6, sites=50, seed=a.seed, potential="MoNbTaW", cached=params,
                           progress=True)
    fig = figure(cmap, f"CNN on Ta-Nb-Mo (MoNbTaW NEB), {cmap['n_hops']} hops")
    fig.savefig(RESULTS / "tanbmo_map.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    cline = composition_line(model, "Mo", step=line_step, size=6, sites=50, seed=a.seed, potential="MoNbTaW",
                             cached=params,
                             progress=True)
    fig = figure(cline, "Ta(100-x)/2 Nb(100-x)/2 Mo(x)")
    fig.savefig(RESULTS / "tanbmo_line.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    big = million(model, params, 200 if a.quick else a.sites, a.seed)
    source, neb = neb_equimolar()
    plot_million(big, neb, source)
    out = {"model": MODEL.name, "lattice_parameters": params,
           "map": {k: cmap[k] for k in ("n_compositions", "n_hops", "hops_per_second", "seconds")},
           "map_points": [{"key": q["key"], "by_moving_species": q["by_moving_species"]} for q in cmap["points"]],
           "line": [{"x_percent": q["x_percent"], "by_moving_species": q["by_moving_species"]} for q in cline["points"]],
           "million": {k: v for k, v in big.items() if not k.startswith("_")},
           "neb_equimolar": {"source": source, "barriers": len(neb),
                             "by_moving_species": hop_statistics([{"barrier": r.barrier_forward,
                                                                   "moving_species": r.moving_species} for r in neb])}}
    write("tanbmo_maps", out)
    return out


def plot_million(big, neb, source) -> None:
    import matplotlib.pyplot as plt

    species = sorted(set(big["_species"]))
    fig, axes = plt.subplots(1, len(species), figsize=(4 * len(species), 3.3), squeeze=False)
    b, sp = big["_barriers"], np.array(big["_species"])
    nb = np.array([r.barrier_forward for r in neb])
    nsp = np.array([r.moving_species for r in neb])
    bins = np.linspace(min(b.min(), nb.min() if len(nb) else b.min()), max(b.max(), nb.max() if len(nb) else b.max()),
                       40)
    for ax, s in zip(axes[0], species):
        ax.hist(b[sp == s], bins=bins, density=True, alpha=0.5, label=f"CNN, {big['atoms']:,} atoms")
        if (nsp == s).any():
            ax.hist(nb[nsp == s], bins=bins, density=True, histtype="step", lw=1.5, label=f"NEB ({(nsp == s).sum()})")
        ax.set(title=f"{s} moving", xlabel="barrier, eV")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"equimolar TaNbMo: {big['hops']:,} CNN hops in {big['predict_seconds']} s vs NEB ({source})",
                 fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "tanbmo_1M_spectra.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
