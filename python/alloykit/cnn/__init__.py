"""3D CNN for path-dependent vacancy migration barriers (Fan, Xing & Cao, Fig. 1e, Methods).

Public API (torch is imported on first use, so ``alloykit --help`` stays fast)::

    from alloykit import cnn
    records = cnn.open_records("fecr_neb.sqlite")      # HopRecords of an NEB dataset (or .jsonl)
    model, report = cnn.train_model(records, n_shells=6, n=3, width=60)
    cnn.save(model, "vmeb_model")
    model = cnn.load("vmeb_model")
    hops = model.predict_structure(atoms, sites=[0, 1])                   # 8 barriers per BCC site
    result = cnn.evaluate_model(model, test_records)                      # MAEs per composition ...
    grid = cnn.composition_map(model, step=0.1, potential="MoNbTaW")      # barrier stats per composition
    nxt = cnn.choose_vacancies(records, {"s0": atoms}, 16)                # active learning: NEB these next

Modules: model (networks), train (loop, checkpoints), pipeline (records -> model, evaluation),
predictor (BarrierModel), io (safe save/load), baselines (LR and NN on site one-hots),
data (records, splits, synthetic barrier), spectra (composition maps and lines of barrier
statistics), active (which vacancies to compute next: committee disagreement), plots, cli, demo. Hops are
:class:`alloykit.structures.HopRecord`s throughout.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "BarrierCNN": "model", "SiteMLP": "model",
    "TrainConfig": "train", "TrainResult": "train", "fit": "train",
    "train_model": "pipeline", "evaluate_model": "pipeline",
    "BarrierModel": "predictor",
    "save": "io", "load": "io",
    "open_records": "data", "split": "data", "SyntheticBarrier": "data", "synthetic_records": "data",
    "write_jsonl": "data",
    "site_features": "baselines", "fit_linear": "baselines", "fit_mlp": "baselines",
    "composition_map": "spectra", "composition_line": "spectra",
    "choose_vacancies": "active", "committee_spread": "active",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'alloykit.cnn' has no attribute {name!r}")
