"""Demo stage: a small CNN (CPU-sized, well under a minute) trained on the neb stage's barriers.

The neb stage returns ``{"dataset": path}``; run_demo writes it into ``summary.json`` in
the demo folder, which is where this stage looks (then for ``neb*.sqlite`` files there).
The split holds out a composition when the dataset has two or more, else a sample, else
the hops of one vacancy. The network is far smaller than the paper's (n = 1, 8 filters,
3 shells at Delta ~0.9 A: 16^3 voxels) so that it trains in seconds. Its MAE is compared,
on the same held-out hops, with baselines fitted to the same non-held-out hops: the
training mean, the mean per moving species, and the paper's linear model on one-hot site
occupancies (:func:`alloykit.cnn.baselines.fit_linear`).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def find_dataset(out: Path) -> Path | None:
    summary = out / "summary.json"
    if summary.is_file():
        try:
            path = json.loads(summary.read_text())["stages"]["neb"]["dataset"]
            p = Path(path) if Path(path).is_absolute() else out / path
            if p.exists():
                return p
            if Path(path).exists():
                return Path(path)
        except (KeyError, TypeError, ValueError):
            pass
    found = sorted(out.glob("neb*.sqlite")) + sorted(out.glob("neb*.jsonl*"))
    return found[0] if found else None


_LABELS = {"cnn": "CNN", "training_mean": "training mean", "species_mean": "mean per moving species",
           "linear": "linear model (one-hot sites, 3 shells)"}


def held_out_maes(model, records, held: np.ndarray) -> dict:
    """MAE on the held-out records (``held``) of the CNN and of baselines fitted to the
    others: the training mean, the mean per moving species, the linear site model."""
    import torch

    from .baselines import fit_linear, site_features

    hops = model.hopset(records, target="barrier_forward")
    y = hops.targets.cpu().numpy().astype(float)
    train, test = np.flatnonzero(~held), np.flatnonzero(held)
    moving = np.array([r.moving_species for r in records])
    species_mean = {s: y[train][moving[train] == s].mean() for s in set(moving[train])}
    X, perms = site_features(hops.to("cpu"), model.lattice, model.a, model.n_shells)
    linear = fit_linear(X, perms, torch.as_tensor(y, dtype=torch.float32), train)
    preds = {"cnn": model.predict_hops(hops, test),
             "training_mean": np.full(len(test), y[train].mean()),
             "species_mean": np.array([species_mean.get(s, y[train].mean()) for s in moving[test]]),
             "linear": linear(test)}
    return {k: float(np.mean(np.abs(p - y[test]))) for k, p in preds.items()}


def stage(ctx) -> dict:
    import torch

    from .data import group_of, open_records
    from .pipeline import train_model
    from .plots import spectra_figure
    from .train import TrainConfig

    path = find_dataset(ctx.out)
    if path is None:
        ctx.say("No NEB dataset from the neb stage in this demo folder: CNN stage skipped.")
        return {"skipped": "no NEB dataset"}
    try:
        records = open_records(path)
    except (ValueError, OSError) as e:     # InputError included
        ctx.say(f"The NEB dataset {path} could not be read ({e}): CNN stage skipped.")
        return {"skipped": str(e)}
    if len(records) < 20:
        ctx.say(f"Only {len(records)} converged barriers in {path.name}: too few to train a CNN; stage skipped.")
        return {"skipped": "too few barriers", "n_records": len(records)}
    comps = {json.dumps(r.composition, sort_keys=True) for r in records}
    samples = {r.sample_id for r in records}
    if len(comps) >= 2:
        split_by, held_out_text = "composition", "a held-out composition"
    elif len(samples) >= 2:
        split_by, held_out_text = "sample", "a held-out sample"
    else:
        split_by, held_out_text = "vacancy", "held-out vacancies"
    # a few dozen barriers: small batches and a patient learning rate, or the network
    # stops at the constant that the first epochs find (measured: best epoch 0-2)
    cfg = TrainConfig(epochs=8 if ctx.quick else 80, batch_size=16, lr=3e-3, stop_patience=40,
                      plateau_patience=15, augment="symmetry", seed=ctx.seed % 2**31, device="cpu")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)     # a tiny network gains nothing from threads, and loses a lot on a busy machine
    try:
        model, rep = train_model(records, n_shells=3, delta=0.9, n=1, width=8, split_by=split_by,
                                 n_test=1 if split_by == "composition" else 2,
                                 val_fraction=0.15, config=cfg, progress=False)
    finally:
        torch.set_num_threads(threads)
    held = np.array([group_of(r, split_by) in rep["test_groups"] for r in records])
    maes = held_out_maes(model, records, held)
    best = min((k for k in maes if k != "cnn"), key=maes.get)
    result = {"dataset": str(path), "n_records": len(records), "n_train": rep["n_train"], "n_val": rep["n_val"],
              "n_test": rep["n_test"], "split_by": split_by, "held_out": rep["test_groups"],
              "val_mae_eV": rep["best_val_mae"], "test_mae_eV": rep.get("test_mae"),
              "held_out_mae_eV": maes, "best_baseline": best, "cnn_beats_best_baseline": maes["cnn"] < maes[best],
              "epochs": rep["epochs_run"], "train_seconds": rep["seconds"], "network": rep["network"],
              "sdm": rep["sdm"]}
    where = f"{int(held.sum())} hops of {held_out_text} ({', '.join(rep['test_groups'])})"
    ctx.say(f"Small CNN (4 conv x 8 filters, SDM {rep['sdm']['grid']}^3 x {len(rep['species'])} species, "
            f"{rep['sdm']['r_c']:.2f} A) trained on {rep['n_train']} NEB barriers from {path.name} "
            f"({rep['n_val']} more for validation) in {rep['seconds']:.0f} s. On the same held-out {where}, "
            f"every baseline fitted to the other {int((~held).sum())} hops:")
    ctx.say("")
    ctx.say("| model | held-out MAE (eV) |\n|---|---|")
    for name, label in _LABELS.items():
        ctx.say(f"| {label} | {maes[name]:.3f} |")
    verdict = "beats" if maes["cnn"] < maes[best] else "does not beat"
    ctx.say(f"\nOn held-out MAE the CNN ({maes['cnn']:.3f} eV) {verdict} the best baseline ({_LABELS[best]}, "
            f"{maes[best]:.3f} eV) on these {int(held.sum())} hops; with so few barriers the difference "
            "is itself uncertain.")
    held_recs = [r for r, h in zip(records, held) if h]
    pred = model.predict_records(held_recs)
    true = [r.barrier_forward for r in held_recs]
    fig = spectra_figure(true, pred, [r.moving_species for r in held_recs], "held-out barriers: NEB vs CNN")
    ctx.savefig(fig, "cnn_spectra.png")
    return result
