"""Training as in the paper's Methods: MAE loss, RMSprop from lr 1e-3, lr divided by sqrt(10)
when the validation MAE plateaus, early stopping that keeps the best validation model.

Reproducible and resumable: the model is initialised from ``seed``; epoch e shuffles and
augments with a generator seeded from (seed, e) alone, so a run resumed from its checkpoint
(written after every epoch: weights, optimiser, scheduler, best model, history) continues
exactly as the uninterrupted run would. Runs on CUDA when available (mixed precision:
bfloat16 autocast, or float16 with a gradient scaler), else on the CPU.
"""
from __future__ import annotations

import copy
import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from ..errors import InputError
from ..progress import Progress

CHECKPOINT_FORMAT = "alloykit.cnn.checkpoint"


@dataclass
class TrainConfig:
    epochs: int = 200
    batch_size: int = 100           # the paper: 160, 100, 80, 60 for 4, 8, 12, 16 convolutions
    lr: float = 1e-3
    lr_factor: float = 10 ** -0.5   # divide by sqrt(10) on a plateau
    plateau_patience: int = 5       # epochs without a better validation MAE before lr drops
    stop_patience: int = 15         # ... before training stops
    min_lr: float = 1e-6
    seed: int = 0
    augment: str = "rotation"
    device: str = "auto"            # "auto": cuda if available, else cpu
    amp: bool = True                # mixed precision, CUDA only
    eval_batch: int = 256

    def __post_init__(self):
        self.check()

    def check(self) -> "TrainConfig":
        """One-line InputErrors naming the setting: a run that cannot learn (lr inf, no
        epoch, every batch skipped) must not save an untrained model."""
        from ..sdm.hopset import AUGMENTS

        def number(name, low, integer=False, low_ok=False, high=None):
            v = getattr(self, name)
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            ok = ok and (v >= low if low_ok else v > low) and (high is None or v < high)
            if not ok or (integer and int(v) != v):
                rng = f"{'>=' if low_ok else '>'} {low:g}" + (f" and < {high:g}" if high is not None else "")
                raise InputError(f"{name}: must be {'an integer' if integer else 'a finite number'} {rng}, got {v!r}")
        number("epochs", 1, integer=True, low_ok=True)
        number("lr", 0)
        number("lr_factor", 0, high=1)
        number("min_lr", 0, low_ok=True)
        number("plateau_patience", 0, integer=True, low_ok=True)
        number("stop_patience", 1, integer=True, low_ok=True)
        number("eval_batch", 1, integer=True, low_ok=True)
        number("batch_size", 1, integer=True, low_ok=True)
        if self.batch_size < 2:     # batch norm needs two records: fit() skips smaller batches
            raise InputError(f"batch_size: {self.batch_size} would skip every batch (batch norm needs at least 2 "
                             "records per batch); use 2 or more")
        if self.augment not in AUGMENTS:
            raise InputError(f"augment: {self.augment!r} is not one of {', '.join(AUGMENTS)}")
        return self


@dataclass
class TrainResult:
    model: nn.Module
    history: list = field(default_factory=list)   # per epoch: epoch, lr, train_mae, val_mae
    best_val: float = math.inf
    best_epoch: int = -1
    stopped_early: bool = False


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise InputError(f"device: {name!r} is not a torch device (auto, cpu, cuda, cuda:1 ...)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device: {name!r} asked for, but torch sees no CUDA device")
    return dev


def _epoch_generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch))


def predict(model: nn.Module, make_batch: Callable, index, batch: int = 256, amp: bool = True) -> torch.Tensor:
    """Predictions (CPU float32) for ``index``; ``make_batch(idx) -> inputs`` on the model's device."""
    model.eval()
    index = torch.as_tensor(index)
    dev = next(model.parameters()).device
    out = []
    with torch.no_grad(), _autocast(dev, amp):
        for lo in range(0, len(index), batch):
            out.append(model(make_batch(index[lo:lo + batch])).float().cpu())
    return torch.cat(out) if out else torch.zeros(0)


def _autocast(dev: torch.device, amp: bool):
    if dev.type == "cuda" and amp:
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype)
    return torch.autocast("cpu", enabled=False)


def fit(model: nn.Module, make_batch: Callable, targets: torch.Tensor, train_idx, val_idx,
        config: TrainConfig, checkpoint: str | Path | None = None, stop_after: int | None = None,
        progress: bool = True) -> TrainResult:
    """Train ``model`` in place and return it with the best validation weights loaded.

    make_batch(idx, augment, generator) -> inputs on the model's device;
    targets: (R,) barriers; train_idx / val_idx: record indices.
    checkpoint: file written after every epoch; if it exists, training resumes from it.
    stop_after: stop after this epoch (to test resuming), keeping the checkpoint.
    """
    config.check()      # also after dataclasses.replace or attribute changes
    if len(train_idx) < 2:
        raise InputError(f"{len(train_idx)} training record(s): batch norm needs at least 2 per batch")
    dev = next(model.parameters()).device
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True      # fixed input shapes: let cuDNN pick its fastest kernels
    train_idx, val_idx = torch.as_tensor(train_idx), torch.as_tensor(val_idx)
    targets = targets.float()
    scale = float(getattr(model, "target_scale", torch.tensor(1.0)))
    opt = torch.optim.RMSprop(model.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=config.lr_factor,
                                                       patience=config.plateau_patience, min_lr=config.min_lr)
    use_scaler = dev.type == "cuda" and config.amp and not torch.cuda.is_bf16_supported()
    scaler = torch.amp.GradScaler("cuda", enabled=use_scaler)
    state = {"epoch": -1, "best_val": math.inf, "best_epoch": -1, "bad": 0, "history": [],
             "best_state": copy.deepcopy(model.state_dict())}
    if checkpoint is not None and Path(checkpoint).exists():
        state = _load_checkpoint(checkpoint, model, opt, sched, config)
    bs = config.batch_size
    with Progress("train", total=config.epochs, enabled=progress) as bar:
        bar.done = state["epoch"] + 1
        for epoch in range(state["epoch"] + 1, config.epochs):
            if state["bad"] >= config.stop_patience:     # resumed from a run that had already stopped
                break
            gen = _epoch_generator(config.seed, epoch)
            order = train_idx[torch.randperm(len(train_idx), generator=gen)]
            model.train()
            total, count = 0.0, 0
            for lo in range(0, len(order), bs):
                idx = order[lo:lo + bs]
                if len(idx) < 2:          # batch norm needs two samples
                    continue
                x = make_batch(idx, config.augment, gen)
                y = targets[idx].to(dev)
                with _autocast(dev, config.amp):
                    err = (model(x).float() - y).abs()
                loss = err.mean() / scale
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                total += float(err.detach().sum())
                count += len(idx)
            val_pred = predict(model, lambda i: make_batch(i, "none", None), val_idx, config.eval_batch, config.amp)
            val_mae = float((val_pred - targets[val_idx]).abs().mean()) if len(val_idx) else total / max(count, 1)
            sched.step(val_mae)
            state["history"].append({"epoch": epoch, "lr": opt.param_groups[0]["lr"],
                                     "train_mae": total / max(count, 1), "val_mae": val_mae})
            if val_mae < state["best_val"]:
                state.update(best_val=val_mae, best_epoch=epoch, bad=0, best_state=copy.deepcopy(model.state_dict()))
            else:
                state["bad"] += 1
            state["epoch"] = epoch
            if checkpoint is not None:
                _save_checkpoint(checkpoint, model, opt, sched, config, state)
            bar.update(note=f"val MAE {val_mae:.4f} eV (best {state['best_val']:.4f})")
            if state["bad"] >= config.stop_patience or (stop_after is not None and epoch >= stop_after):
                break
    if state["best_epoch"] < 0 and state["history"]:
        raise InputError(f"training diverged: the validation MAE was {state['history'][-1]['val_mae']} at every "
                         f"epoch (lr {config.lr:g}; try a smaller one)")
    model.load_state_dict(state["best_state"])
    return TrainResult(model, state["history"], state["best_val"], state["best_epoch"],
                       stopped_early=state["bad"] >= config.stop_patience)


def _save_checkpoint(path, model, opt, sched, config, state) -> None:
    payload = {"format": CHECKPOINT_FORMAT, "config": json.dumps(asdict(config)), "model": model.state_dict(),
               "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
               "state": {**state, "history": json.dumps(state["history"])}}
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)        # a crash mid-write leaves the previous checkpoint intact


def _load_checkpoint(path, model, opt, sched, config) -> dict:
    try:
        payload = torch.load(path, map_location=next(model.parameters()).device, weights_only=True)
    except Exception as e:
        raise InputError(f"{path}: not a readable checkpoint ({type(e).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise InputError(f"{path}: not an alloykit CNN checkpoint")
    saved = json.loads(payload["config"])
    for key in ("seed", "batch_size", "augment", "lr"):
        if saved.get(key) != getattr(config, key):
            raise InputError(f"{path}: checkpoint was made with {key}={saved.get(key)!r}, not {getattr(config, key)!r}")
    model.load_state_dict(payload["model"])
    opt.load_state_dict(payload["optimizer"])
    sched.load_state_dict(payload["scheduler"])
    state = dict(payload["state"])
    state["history"] = json.loads(state["history"])
    return state
