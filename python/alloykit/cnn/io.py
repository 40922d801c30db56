"""Saved models: a folder with ``model.json`` (format tag, version, architecture, SDM settings,
lattice, training summary) and ``weights.pt`` (``torch.save`` of the state dict, read back with
``weights_only=True``). Nothing is unpickled: the architecture is rebuilt from the JSON and
only tensors are read from the weights file.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from .. import __version__
from ..errors import InputError
from ..sdm.shells import SDMSpec
from .model import build
from .predictor import BarrierModel
from .train import pick_device

FORMAT = "alloykit.cnn.model"
VERSION = 1
CONFIG_NAME, WEIGHTS_NAME = "model.json", "weights.pt"


def save(model: BarrierModel, path) -> Path:
    """Write ``model`` into the folder ``path`` (created; files replaced atomically)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    net = model.network
    config = {
        "format": FORMAT, "version": VERSION, "alloykit": __version__,
        "network": net.config,
        "target_mean": float(net.target_mean), "target_scale": float(net.target_scale),
        "sdm": model.spec.to_dict(), "lattice": model.lattice, "a": model.a, "n_shells": model.n_shells,
        "info": model.info,
    }
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
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
    try:
        net = build(cfg["network"], cfg["target_mean"], cfg["target_scale"])
        spec = SDMSpec.from_dict(cfg["sdm"])
        state = torch.load(w_file, map_location="cpu", weights_only=True)
        net.load_state_dict(state)
    except Exception as e:
        raise InputError(f"{path}: damaged model ({type(e).__name__}: {str(e).splitlines()[0][:120]})") from None
    if net.config.get("channels") != len(spec.species):
        raise InputError(f"{path}: network has {net.config.get('channels')} channels but the SDM lists "
                         f"{len(spec.species)} species")
    net.eval()
    model = BarrierModel(net, spec, cfg["lattice"], float(cfg["a"]), int(cfg["n_shells"]), cfg.get("info", {}))
    return model.to(pick_device(device) if isinstance(device, str) else device)
