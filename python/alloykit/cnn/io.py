"""Saved models: a folder with ``model.json`` (format tag, version, architecture, SDM settings,
lattice, training summary) and ``weights.pt`` (``torch.save`` of the state dict, read back with
``weights_only=True``). Nothing is unpickled: the architecture is rebuilt from the JSON and
only tensors are read from the weights file.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import torch

from .. import __version__
from ..errors import InputError
from .predictor import BarrierModel
from .train import pick_device

FORMAT = "alloykit.cnn.model"
VERSION = 1
CONFIG_NAME, WEIGHTS_NAME = "model.json", "weights.pt"


def save(model: BarrierModel, path) -> Path:
    """Write ``model`` into the folder ``path`` (created; files replaced atomically)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    settings, state = model.to_dict()
    config = {"format": FORMAT, "version": VERSION, "alloykit": __version__, **settings}
    for name, write in ((WEIGHTS_NAME, lambda p: torch.save(state, p)),
                        (CONFIG_NAME, lambda p: p.write_text(json.dumps(config, indent=2) + "\n"))):
        tmp = path / (name + ".tmp")
        write(tmp)
        os.replace(tmp, path / name)
    return path


def load(path, device: str | torch.device = "cpu") -> BarrierModel:
    """Read a model written by :func:`save`. ``path``: the folder or its model.json.

    Raises InputError (one line) for anything that is not such a model, or one written in
    another format version.
    """
    path = Path(path)
    folder = path.parent if path.name == CONFIG_NAME else path
    cfg_file, w_file = folder / CONFIG_NAME, folder / WEIGHTS_NAME
    if not cfg_file.is_file() or not w_file.is_file():
        raise InputError(f"{path}: not an alloykit CNN model (expected a folder with {CONFIG_NAME} and {WEIGHTS_NAME})")
    try:
        cfg = json.loads(cfg_file.read_text())
    except (ValueError, UnicodeDecodeError):     # JSON errors are ValueErrors
        raise InputError(f"{cfg_file}: not an alloykit CNN model (unreadable JSON)") from None
    if not isinstance(cfg, dict) or cfg.get("format") != FORMAT:
        raise InputError(f"{path}: not an alloykit CNN model")
    if cfg.get("version") != VERSION:
        raise InputError(f"{path}: model format version {cfg.get('version')} (written by alloykit "
                         f"{cfg.get('alloykit', '?')}); this alloykit {__version__} reads version {VERSION}")
    _check_config(cfg, path)
    try:
        state = torch.load(w_file, map_location="cpu", weights_only=True)
    except Exception as e:
        raise InputError(f"{path}: damaged model ({type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''})") \
            from None
    _check_weights(state, path)
    try:
        model = BarrierModel.from_dict(cfg, state)
    except Exception as e:
        raise InputError(f"{path}: damaged model ({type(e).__name__}: {str(e).splitlines()[0][:120]})") from None
    channels = model.network.config.get("channels")
    if channels != len(model.spec.species):
        raise InputError(f"{path}: network has {channels} channels but the SDM lists "
                         f"{len(model.spec.species)} species")
    return model.to(pick_device(device) if isinstance(device, str) else device)


# ranges of model.json fields that a model this code wrote can have (wider ranges are
# damage or tampering, and would hang or mislead: n_shells 1e6, delta -1, target_scale 0)
_NETWORK = {"cnn": {"channels": (1, 64), "grid": (2, 256), "n": (1, 16), "width": (1, 4096), "pools": (0, 6)},
            "mlp": {"features": (1, 10 ** 5)}}


def _check_config(cfg: dict, path) -> None:
    from ..structures.composition import check_lattice_name
    from ..structures.species import check_species

    def need(ok, field, value, what):
        if not ok:
            raise InputError(f"{path}: model.json field {field} is {value!r:.60}; {what}")

    def number(field, value, lo=None, hi=None, integer=False, lo_open=False):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        ok = ok and (not integer or float(value).is_integer())
        ok = ok and (lo is None or value > lo or (value == lo and not lo_open)) and (hi is None or value <= hi)
        rng = f"{'>' if lo_open else '>='} {lo}" if hi is None else f"in [{lo}, {hi}]"
        need(ok, field, value, f"need a finite {'whole ' if integer else ''}number {rng}")

    net = cfg.get("network")
    need(isinstance(net, dict) and net.get("kind") in _NETWORK, "network", net, "need a dict with kind cnn or mlp")
    for key, (lo, hi) in _NETWORK[net["kind"]].items():
        number(f"network.{key}", net.get(key), lo, hi, integer=True)
    if net["kind"] == "cnn":
        need(net["grid"] % 2 ** net["pools"] == 0, "network.grid", net["grid"], "not divisible by 2^pools")
    number("target_mean", cfg.get("target_mean"), -1e3, 1e3)
    number("target_scale", cfg.get("target_scale"), 0, 1e3, lo_open=True)
    number("a", cfg.get("a"), 0, 20, lo_open=True)
    number("n_shells", cfg.get("n_shells"), 1, 20, integer=True)
    try:
        check_lattice_name(cfg.get("lattice"))
    except (InputError, TypeError, AttributeError):
        need(False, "lattice", cfg.get("lattice"), "need bcc or fcc")
    sdm = cfg.get("sdm")
    need(isinstance(sdm, dict), "sdm", sdm, "need a dict")
    try:
        check_species(sdm.get("species") or [], "species")
    except (InputError, TypeError) as e:
        need(False, "sdm.species", sdm.get("species"), str(e))
    number("sdm.r_c", sdm.get("r_c"), 0, 50, lo_open=True)
    number("sdm.delta", sdm.get("delta"), 0, 50, lo_open=True)
    number("sdm.grid", sdm.get("grid"), 2, 256, integer=True)


def _check_weights(state, path) -> None:
    if not isinstance(state, dict) or not state:
        raise InputError(f"{path}: {WEIGHTS_NAME} holds no weights")
    for name, t in state.items():
        if not isinstance(t, torch.Tensor):
            raise InputError(f"{path}: weight {name!r} is not a tensor")
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise InputError(f"{path}: weight {name!r} contains NaN or inf")
