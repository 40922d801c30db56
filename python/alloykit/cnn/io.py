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
    try:
        state = torch.load(w_file, map_location="cpu", weights_only=True)
        model = BarrierModel.from_dict(cfg, state)
    except Exception as e:
        raise InputError(f"{path}: damaged model ({type(e).__name__}: {str(e).splitlines()[0][:120]})") from None
    channels = model.network.config.get("channels")
    if channels != len(model.spec.species):
        raise InputError(f"{path}: network has {channels} channels but the SDM lists "
                         f"{len(model.spec.species)} species")
    return model.to(pick_device(device) if isinstance(device, str) else device)
