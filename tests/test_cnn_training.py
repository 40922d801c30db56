"""The CNN: it can overfit a tiny set, a resumed run equals an uninterrupted one, models
round-trip through the safe format, predictions on a structure, splits and baselines.

Barriers come from alloykit.cnn.SyntheticBarrier (a documented pair-sum stand-in for NEB)
on unrelaxed random BCC Fe-Cr cells; networks are tiny so the file runs in seconds.
"""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from alloykit.cnn import TrainConfig, load, save, synthetic_records, train_model
from alloykit.cnn.data import split
from alloykit.structures import random_solid_solution

TINY = dict(n_shells=2, delta=0.9, n=1, width=4)      # 16^3 voxels, 4 conv x 4 filters


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def records():
    return synthetic_records(["Fe=0.8,Cr=0.2", "Fe=0.6,Cr=0.4", "Fe=0.5,Cr=0.5"], size=(4, 4, 4),
                             sites_per_sample=4, seed=0)


@pytest.fixture(scope="module")
def tiny_model(records):
    cfg = TrainConfig(epochs=2, batch_size=16, seed=1, device="cpu")
    return train_model(records, **TINY, test=["Fe=0.5,Cr=0.5"], config=cfg, progress=False)


def test_overfits_a_tiny_set(records):
    """32 hops, no augmentation, validated on the training hops themselves: the MAE must
    fall far below the spread of the barriers."""
    from alloykit.cnn import fit
    from alloykit.cnn.model import BarrierCNN
    from alloykit.sdm import HopSet, lattice_symmetries, sdm_spec

    recs = records[:32]
    spec = sdm_spec(["Cr", "Fe"], "bcc", 2.8665, 2, 0.9)
    hops = HopSet.from_records(recs, spec, lattice_symmetries("bcc", 2.8665, spec.r_c))
    y = hops.targets
    torch.manual_seed(0)
    net = BarrierCNN(2, spec.grid, n=1, width=8, target_mean=float(y.mean()), target_scale=float(y.std()))
    idx = np.arange(len(recs))
    cfg = TrainConfig(epochs=30, batch_size=8, augment="none", stop_patience=30, plateau_patience=10, seed=0)
    res = fit(net, lambda i, aug, gen: hops.sdms(i, aug, gen), y, idx, idx, cfg, progress=False)
    spread = float((y - y.mean()).abs().mean())
    assert res.best_val < 0.15 * spread, (res.best_val, spread)


def test_resumed_training_equals_uninterrupted(records, tmp_path):
    cfg = TrainConfig(epochs=4, batch_size=16, seed=3, augment="both", device="cpu")
    kw = dict(**TINY, test=["Fe=0.5,Cr=0.5"], config=cfg, progress=False)
    full, rep_full = train_model(records, **kw)
    ckpt = tmp_path / "run.ckpt"
    train_model(records, **kw, checkpoint=ckpt, stop_after=1)          # "interrupted" after epoch 1
    assert ckpt.exists()
    resumed, rep_res = train_model(records, **kw, checkpoint=ckpt)     # picks up at epoch 2
    assert [h["val_mae"] for h in rep_res["history"]] == [h["val_mae"] for h in rep_full["history"]]
    a, b = full.network.state_dict(), resumed.network.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_checkpoint_refuses_other_settings(records, tmp_path):
    ckpt = tmp_path / "run.ckpt"
    cfg = TrainConfig(epochs=1, batch_size=16, seed=3, device="cpu")
    train_model(records, **TINY, test=["Fe=0.5,Cr=0.5"], config=cfg, checkpoint=ckpt, progress=False)
    with pytest.raises(ValueError, match="seed"):
        train_model(records, **TINY, test=["Fe=0.5,Cr=0.5"], config=TrainConfig(epochs=2, batch_size=16, seed=4),
                    checkpoint=ckpt, progress=False)


def test_save_load_round_trip(tiny_model, records, tmp_path):
    model, report = tiny_model
    assert report["test_groups"] == ["Cr0.5000-Fe0.5000"] and report["n_test"] == 32
    folder = save(model, tmp_path / "m")
    cfg = json.loads((folder / "model.json").read_text())
    assert cfg["format"] == "alloykit.cnn.model" and cfg["network"]["kind"] == "cnn"
    # the weights file is a plain state dict: loadable with weights_only=True
    state = torch.load(folder / "weights.pt", weights_only=True)
    assert set(state) == set(model.network.state_dict())
    again = load(folder)
    assert again.spec == model.spec and again.lattice == "bcc"
    assert np.array_equal(again.predict_records(records[:10]), model.predict_records(records[:10]))
    assert np.array_equal(load(folder / "model.json").predict_records(records[:3]), model.predict_records(records[:3]))


def test_load_refuses_what_is_not_a_model(tiny_model, tmp_path):
    model, _ = tiny_model
    with pytest.raises(ValueError, match="not an alloykit CNN model"):
        load(tmp_path)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "model.json").write_text("{not json")
    (tmp_path / "x" / "weights.pt").write_bytes(b"")
    with pytest.raises(ValueError, match="not an alloykit CNN model"):
        load(tmp_path / "x")
    folder = save(model, tmp_path / "m")
    cfg = json.loads((folder / "model.json").read_text())
    (folder / "model.json").write_text(json.dumps({**cfg, "version": 99}))
    with pytest.raises(ValueError, match="version 99"):
        load(folder)
    (folder / "model.json").write_text(json.dumps(cfg))
    torch.save({"weights": _Evil()}, folder / "weights.pt")         # a pickled object: refused
    with pytest.raises(ValueError, match="damaged model"):
        load(folder)


class _Evil:
    pass


def test_predict_structure_gives_eight_hops_per_bcc_site(tiny_model):
    model, _ = tiny_model
    atoms = random_solid_solution("bcc", {"Fe": 0.7, "Cr": 0.3}, size=(4, 4, 4), a=2.8665, seed=9)
    hops = model.predict_structure(atoms, sites=[0, 3])
    assert len(hops) == 16 and {h["vacancy_site"] for h in hops} == {0, 3}
    assert all(np.isfinite(h["barrier"]) for h in hops)
    sym = model.predict_structure(atoms, sites=[0], average_symmetries=True)
    assert len(sym) == 8
    wrong = random_solid_solution("bcc", {"Fe": 0.7, "Ni": 0.3}, size=(4, 4, 4), a=2.8665, seed=9)
    with pytest.raises(ValueError, match="model's channels"):
        model.predict_structure(wrong, sites=[0])


def test_split_keeps_compositions_apart(records):
    parts = split(records, test=["Fe=0.6,Cr=0.4"], val_fraction=0.2, seed=0)
    comps = lambda idx: {json.dumps(records[i].composition, sort_keys=True) for i in idx}  # noqa: E731
    assert comps(parts["test"]) == {json.dumps({"Fe": 0.6, "Cr": 0.4}, sort_keys=True)}
    assert not comps(parts["train"]) & comps(parts["test"]) and not comps(parts["val"]) & comps(parts["test"])
    assert len(parts["train"]) + len(parts["val"]) + len(parts["test"]) == len(records)
    with pytest.raises(ValueError, match="no barriers for held-out composition"):
        split(records, test=["Fe=0.1,Cr=0.9"])
    # a 128-atom sample of nominal Fe-20Cr holds 26 Cr: Cr 0.2031; asking for 0.2 finds it
    real = [replace(r, composition={"Fe": 0.7969, "Cr": 0.2031}) if r.composition["Cr"] == 0.2 else r
            for r in records]
    assert split(real, test=["Fe=0.8,Cr=0.2"])["test_groups"] == ["Cr0.2031-Fe0.7969"]


def test_site_features_and_baselines(records):
    from alloykit.cnn import fit_linear, fit_mlp, site_features
    from alloykit.sdm import HopSet, lattice_symmetries, sdm_spec

    spec = sdm_spec(["Cr", "Fe"], "bcc", 2.8665, 3)
    hops = HopSet.from_records(records, spec, lattice_symmetries("bcc", 2.8665, spec.r_c))
    X, perms = site_features(hops, "bcc", 2.8665, 3)
    assert X.shape == (len(records), 26, 2) and perms.shape == (6, 26)
    assert torch.all(X.sum(2) == 1)               # unrelaxed: every site holds exactly one atom
    mover = X[:, 7].argmax(1)                     # template site 7 is the mover's, at (d1, 0, 0)
    assert [spec.species[k] for k in mover] == [r.moving_species for r in records]
    parts = split(records, test=["Fe=0.5,Cr=0.5"], seed=0)
    lr = fit_linear(X, perms, hops.targets, parts["train"])
    spread = float((hops.targets - hops.targets.mean()).abs().mean())
    assert np.abs(lr(parts["test"]) - hops.targets[parts["test"]].numpy()).mean() < spread
    nn_pred, res = fit_mlp(X, perms, hops.targets, parts["train"], parts["val"],
                           TrainConfig(epochs=3, batch_size=16, augment="symmetry"))
    assert nn_pred(parts["test"]).shape == (len(parts["test"]),) and len(res.history) == 3


@pytest.mark.parametrize("kwargs, start", [
    ({"lr": float("inf")}, "lr: must be a finite number > 0, got inf"),
    ({"lr": float("nan")}, "lr: must be"),
    ({"lr": 0.0}, "lr: must be"),
    ({"epochs": 0}, "epochs: must be an integer >= 1, got 0"),
    ({"epochs": 2.5}, "epochs: must be an integer"),
    ({"batch_size": 1}, "batch_size: 1 would skip every batch"),
    ({"batch_size": 0}, "batch_size: must be"),
    ({"lr_factor": 1.0}, "lr_factor: must be"),
    ({"stop_patience": 0}, "stop_patience: must be"),
    ({"augment": "flip"}, "augment: 'flip' is not one of"),
])
def test_config_that_cannot_train_is_refused(kwargs, start):
    """Issue 15: '--lr inf', '--epochs 0', '--batch-size 1' used to save an untrained model
    ("best validation MAE inf at epoch -1")."""
    from alloykit.errors import InputError

    with pytest.raises(InputError) as err:
        TrainConfig(**kwargs)
    assert str(err.value).startswith(start) and "\n" not in str(err.value)
    cfg = TrainConfig()
    for k, v in kwargs.items():
        setattr(cfg, k, v)        # changed after construction: fit() checks again
    with pytest.raises(InputError):
        from alloykit.cnn import fit

        fit(torch.nn.Linear(1, 1), lambda i, a, g: torch.zeros(len(i), 1), torch.zeros(4), [0, 1, 2], [3], cfg,
            progress=False)


def test_diverged_training_is_an_error_not_a_model(records):
    """Training whose validation MAE is NaN at every epoch: an error, not 'best epoch -1'."""
    from alloykit.cnn import fit
    from alloykit.errors import InputError

    class Nan(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(1))

        def forward(self, x):
            return self.w * x.sum(dim=1) * float("nan")
    y = torch.rand(8)
    with pytest.raises(InputError, match="^training diverged: the validation MAE was nan at every epoch"):
        fit(Nan(), lambda i, a, g: torch.ones(len(i), 2), y, np.arange(6), np.arange(6, 8),
            TrainConfig(epochs=2, batch_size=3), progress=False)
