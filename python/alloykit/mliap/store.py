"""Saving and loading unified models without pickle.

A model file is a ``torch.save`` archive of plain data only -- a format tag, the model's
class as ``"module:QualName"``, a JSON config and a dict of tensors -- read back with
``torch.load(weights_only=True)``, which refuses anything else. The class is imported
only if it is alloykit's own or registered with :func:`register_model_class` (or its
module is named in the ``ALLOYKIT_MODEL_MODULES`` environment variable, comma-separated,
for ``lmp`` runs), and must subclass :class:`~alloykit.mliap.MLIAPUnified`.

The same files hold per-atom models (``compute mliap/unified/atom FILE El...``, e.g.
:class:`alloykit.cnn.lammps_model.BarrierAtomModel`); the plugin checks which kind it got.
"""
from __future__ import annotations

import importlib
import json
import os
import warnings
from pathlib import Path

from ..errors import InputError
from .base import MLIAPUnified

FORMAT = "alloykit.mliap.unified"
VERSION = 1
_REGISTERED: dict[str, type] = {}


def _class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def register_model_class(cls: type) -> type:
    """Allow ``cls`` to be loaded from model files (usable as a decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, MLIAPUnified)):
        raise TypeError("register_model_class: expected a subclass of alloykit.mliap.MLIAPUnified")
    _REGISTERED[_class_path(cls)] = cls
    return cls


def save_model(model: MLIAPUnified, path: str | Path) -> Path:
    """Write ``model`` (which implements ``to_dict()``) to ``path``."""
    import torch

    if not hasattr(model, "to_dict"):
        raise TypeError(f"save_model: {type(model).__name__} has no to_dict() and cannot be saved")
    config, tensors = model.to_dict()
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "class": _class_path(type(model)),
        "config": json.dumps(config),
        "tensors": {k: torch.as_tensor(v).detach().cpu() for k, v in tensors.items()},
    }
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)    # never leave a half-written model behind
    return path


def _resolve(class_path: str, path: Path) -> type:
    if class_path in _REGISTERED:
        return _REGISTERED[class_path]
    module, _, qualname = class_path.partition(":")
    trusted = {m.strip() for m in os.environ.get("ALLOYKIT_MODEL_MODULES", "").split(",") if m.strip()}
    if not (module == "alloykit" or module.startswith("alloykit.") or module in trusted):
        raise InputError(f"{path}: model class {class_path} is not trusted; call "
                         "alloykit.mliap.register_model_class or set ALLOYKIT_MODEL_MODULES")
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if not (isinstance(obj, type) and issubclass(obj, MLIAPUnified) and hasattr(obj, "from_dict")):
        raise InputError(f"{path}: {class_path} is not a loadable MLIAPUnified model class")
    return obj


def load_model(path: str | Path) -> MLIAPUnified:
    """Read a model written by :func:`save_model`; a clear ValueError for anything else."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: model file not found")
    try:
        with warnings.catch_warnings():    # torch warns about foreign pickle protocols
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:    # not a torch archive, or one holding more than plain data
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"{path}: not an alloykit model file ({first[:160]})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InputError(f"{path}: not an alloykit model file (no '{FORMAT}' tag)")
    if payload.get("version") != VERSION:
        raise InputError(f"{path}: model file version {payload.get('version')!r} is not supported (expected {VERSION})")
    cls = _resolve(str(payload.get("class")), path)
    try:
        config, tensors = json.loads(payload["config"]), dict(payload["tensors"])
    except (KeyError, TypeError, ValueError):
        raise InputError(f"{path}: damaged model file (no readable config and tensors)") from None
    for name, t in tensors.items():
        if not isinstance(t, torch.Tensor):
            raise InputError(f"{path}: tensor {name!r} is not a tensor")
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise InputError(f"{path}: tensor {name!r} contains NaN or inf")
    try:
        return cls.from_dict(config, tensors)
    except InputError as e:
        raise InputError(f"{path}: {e}") from None
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"{path}: damaged model file ({type(e).__name__}: {first[:120]})") from None
