"""Demo stage: a small CNN (CPU-sized, well under a minute) trained on the neb stage's barriers.

The neb stage returns ``{"dataset": path}``; run_demo writes it into ``summary.json`` in
the demo folder, which is where this stage looks (then for ``neb*.sqlite`` files there).
The split holds out a composition when the dataset has two or more, else a sample, else
the hops of one vacancy. The network is far smaller than the paper's (n = 1, 8 filters,
3 shells at Delta ~0.9 A: 16^3 voxels) so that it trains in seconds; its MAE is compared with
predicting the training mean, the honest yardstick for a few hundred barriers.
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
        split_by, held = "composition", "a held-out composition"
    elif len(samples) >= 2:
        split_by, held = "sample", "a held-out sample"
    else:
        split_by, held = "vacancy", "the hops of a held-out vacancy"
    cfg = TrainConfig(epochs=8 if ctx.quick else 60, batch_size=32, stop_patience=20, plateau_patience=5,
                      augment="symmetry", seed=ctx.seed % 2**31, device="cpu")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)     # a tiny network gains nothing from threads, and loses a lot on a busy machine
    try:
        model, rep = train_model(records, n_shells=3, delta=0.9, n=1, width=8, split_by=split_by, n_test=1,
                                 val_fraction=0.15, config=cfg, progress=False)
    finally:
        torch.set_num_threads(threads)
    y = np.array([r.barrier_forward for r in records])
    yardstick = float(np.mean(np.abs(y - y.mean())))
    result = {"dataset": str(path), "n_records": len(records), "n_train": rep["n_train"], "n_val": rep["n_val"],
              "n_test": rep["n_test"], "split_by": split_by, "held_out": rep["test_groups"],
              "val_mae_eV": rep["best_val_mae"], "test_mae_eV": rep.get("test_mae"),
              "mae_of_mean_eV": yardstick, "epochs": rep["epochs_run"], "train_seconds": rep["seconds"],
              "network": rep["network"], "sdm": rep["sdm"]}
    where = f"on {held} ({', '.join(rep['test_groups'])})"
    mae = rep["test_mae"]
    ctx.say(f"Small CNN (4 conv x 8 filters, SDM {rep['sdm']['grid']}^3 x {len(rep['species'])} species, "
            f"{rep['sdm']['r_c']:.2f} A) trained on {rep['n_train']} NEB barriers from {path.name} in "
            f"{rep['seconds']:.0f} s: MAE {mae:.3f} eV {where}; validation MAE {rep['best_val_mae']:.3f} eV; "
            f"predicting the mean barrier would give {yardstick:.3f} eV.")
    held_recs = [r for r in records if group_of(r, split_by) in rep["test_groups"]]
    pred = model.predict_records(held_recs)
    true = [r.barrier_forward for r in held_recs]
    fig = spectra_figure(true, pred, [r.moving_species for r in held_recs], "held-out barriers: NEB vs CNN")
    ctx.savefig(fig, "cnn_spectra.png")
    return result
