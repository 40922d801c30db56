"""Records -> trained :class:`BarrierModel`, and a model's errors on records.

:func:`train_model` takes the lattice from the records (their sample's lattice, or found
from the environments: :func:`alloykit.sdm.describe_lattice`), derives the SDM from its
shells, splits by composition (or sample), trains the CNN and reports validation and
held-out MAEs. :func:`evaluate_model` gives MAEs per composition, per sample and per moving
species, with the true and predicted barriers for the spectra plots.
"""
from __future__ import annotations

import time
from collections import defaultdict

import numpy as np
import torch

from ..errors import InputError
from ..sdm.hopset import HopSet, as_records, describe_lattice, lattice_symmetries
from ..sdm.shells import sdm_spec
from .data import dataset_species, split
from .model import BarrierCNN
from .predictor import BarrierModel
from .train import TrainConfig, fit, pick_device


def train_model(records, n_shells: int = 6, delta: float | None = None, grid6: int = 32, n: int = 3, width: int = 60,
                pools: int = 3, split_by: str = "composition", test=None, n_test: int = 1,
                val_fraction: float = 0.1, config: TrainConfig | None = None, checkpoint=None,
                lattice: str | None = None, a: float | None = None, stop_after: int | None = None,
                progress: bool = True) -> tuple[BarrierModel, dict]:
    """Train the paper's CNN on ``records`` (HopRecords; barrier_forward is the target).

    n_shells, delta, grid6: the SDM (see :func:`alloykit.sdm.sdm_spec`).
    n, width, pools: 4n convolutions of ``width`` filters with three pools by default.
    split_by/test/n_test/val_fraction: see :func:`alloykit.cnn.data.split`; test may be empty
    (``[]``) to train on everything but the validation records.
    Returns the model (best validation weights) and a report: split, MAEs, history, seconds.
    """
    config = config or TrainConfig()
    records = as_records(records)
    if not records:
        raise InputError("no barrier records to train on")
    t0 = time.perf_counter()
    species = dataset_species(records)
    if lattice is None or a is None:
        lattice, a = describe_lattice(records)
    spec = sdm_spec(species, lattice, a, n_shells, delta, grid6=grid6)
    if test is not None and len(test) == 0:
        parts = split(records, split_by, test=[], val_fraction=val_fraction, seed=config.seed)
    else:
        parts = split(records, split_by, test=test, n_test=n_test, val_fraction=val_fraction, seed=config.seed)
    if len(parts["train"]) < 2:
        raise InputError(f"only {len(parts['train'])} training records after the split")
    device = pick_device(config.device)
    hops = HopSet.from_records(records, spec, lattice_symmetries(lattice, a, spec.r_c), lattice=lattice).to(device)
    y_train = hops.targets[parts["train"]].cpu()
    torch.manual_seed(config.seed)
    net = BarrierCNN(len(species), spec.grid, n=n, width=width, pools=pools,
                     target_mean=float(y_train.mean()), target_scale=float(y_train.std().clamp(min=1e-3)))
    net.to(device)
    result = fit(net, lambda idx, aug, gen: hops.sdms(idx, aug, gen), hops.targets.cpu(), parts["train"],
                 parts["val"], config, checkpoint=checkpoint, stop_after=stop_after, progress=progress)
    model = BarrierModel(result.model, spec, lattice, float(a), int(n_shells))
    report = {
        "n_records": len(records), "species": species, "lattice": lattice, "a": round(float(a), 5),
        "sdm": spec.to_dict(), "split_by": split_by, "test_groups": parts["test_groups"],
        "n_train": int(len(parts["train"])), "n_val": int(len(parts["val"])), "n_test": int(len(parts["test"])),
        "best_val_mae": result.best_val, "best_epoch": result.best_epoch, "epochs_run": len(result.history),
        "stopped_early": result.stopped_early, "device": str(device),
        "config": {k: v for k, v in vars(config).items()}, "network": net.config,
    }
    if len(parts["test"]):
        pred = model.predict_hops(hops, parts["test"])
        err = np.abs(pred - hops.targets[parts["test"]].cpu().numpy())
        report["test_mae"] = float(err.mean())
        report["test_mae_by_group"] = _group_mae(err, [_key(hops, i, split_by) for i in parts["test"]])
    report["seconds"] = round(time.perf_counter() - t0, 2)
    model.info = {k: report[k] for k in ("n_train", "n_val", "n_test", "test_groups", "split_by", "best_val_mae",
                                         "best_epoch", "epochs_run", "device")}
    model.info["test_mae"] = report.get("test_mae")
    report["history"] = result.history
    return model, report


def _key(hops: HopSet, i: int, by: str) -> str:
    i = int(i)
    if by == "vacancy":
        return f"{hops.meta['sample_id'][i]}#{hops.meta['vacancy_site'][i]}"
    return hops.meta["composition" if by == "composition" else "sample_id"][i]


def _group_mae(err: np.ndarray, keys) -> dict[str, dict]:
    groups = defaultdict(list)
    for e, k in zip(err, keys):
        groups[k].append(e)
    return {k: {"mae": float(np.mean(v)), "n": len(v)} for k, v in sorted(groups.items())}


def evaluate_model(model: BarrierModel, records, average_symmetries: bool = False) -> dict:
    """MAE overall, per composition, per sample and per moving species; the arrays
    ``true``, ``pred``, ``moving_species``, ``composition`` for plots; and the time per
    barrier (SDM + network) on the model's device."""
    records = as_records(records)
    if not records:
        raise InputError("no barrier records to evaluate")
    hops = model.hopset(records, target="barrier_forward")
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    pred = model.predict_hops(hops, average_symmetries=average_symmetries)
    seconds = time.perf_counter() - t0
    true = hops.targets.cpu().numpy()
    err = np.abs(pred - true)
    return {
        "n": len(records), "mae": float(err.mean()),
        "by_composition": _group_mae(err, hops.meta["composition"]),
        "by_sample": _group_mae(err, hops.meta["sample_id"]),
        "by_moving_species": _group_mae(err, hops.meta["moving_species"]),
        "seconds_per_barrier": seconds / len(records), "device": str(model.device),
        "true": true, "pred": pred, "moving_species": list(hops.meta["moving_species"]),
        "composition": list(hops.meta["composition"]), "sample_id": list(hops.meta["sample_id"]),
    }
