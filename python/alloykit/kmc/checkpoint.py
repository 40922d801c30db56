"""Checkpoints that resume exactly: the state, the cached barriers, the random generator's
state and the counters, in one ``.npz`` (no pickles: read back with allow_pickle=False),
written to a temporary file and moved into place with ``os.replace`` so that a crash never
leaves half a checkpoint.

The barriers are saved rather than re-predicted on resume: a batched network may round
differently for a different batch, and a resumed run must continue bit for bit. For the
same reason a model's memory of seen environments (``memory_arrays``, e.g.
:class:`~alloykit.kmc.barriers.CNNBarrier`) is saved with them and restored.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..errors import InputError
from .state import KmcState, SiteLattice

FORMAT = "alloykit.kmc.checkpoint"
VERSION = 1


def save(path, kmc, extra: dict | None = None) -> Path:
    """Write ``kmc`` (an :class:`~alloykit.kmc.engine.Kmc`) and ``extra`` (JSON-able) to ``path``."""
    path = Path(path)
    st = kmc.state
    meta = {"format": FORMAT, "version": VERSION, "lattice": st.lattice.to_dict(), "species": st.species,
            "steps_done": st.steps_done, "temperature": kmc.temperature, "nu": kmc.nu,
            "rng": kmc.rng.bit_generator.state, "predictions": kmc.predictions,
            "model": kmc.model.describe(), "extra": extra or {}}
    arrays = {name: getattr(st, name) for name in KmcState.ARRAYS}
    memory = getattr(kmc.model, "memory_arrays", None)
    if memory is not None:
        arrays.update({"model_" + k: v for k, v in memory().items()})
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, barrier=kmc.barrier, meta=np.array(json.dumps(meta)), **arrays)
    os.replace(tmp, path)
    return path


def load(path) -> tuple[KmcState, np.ndarray, dict, dict]:
    """(state, cached barriers, metadata, the model's saved arrays) from a checkpoint
    written by :func:`save`."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            arrays = {name: z[name] for name in KmcState.ARRAYS}
            barrier = z["barrier"]
            model_arrays = {k[len("model_"):]: z[k] for k in z.files if k.startswith("model_")}
    except (OSError, ValueError, KeyError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise InputError(f"{path}: not a KMC checkpoint ({type(e).__name__})") from None
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise InputError(f"{path}: not a version-{VERSION} KMC checkpoint")
    state = KmcState(SiteLattice.from_dict(meta["lattice"]), meta["species"], steps_done=int(meta["steps_done"]),
                     **arrays)
    return state, barrier, meta, model_arrays
