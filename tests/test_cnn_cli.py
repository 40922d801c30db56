"""``alloykit cnn train|eval|predict`` and the demo stage, in-process, on synthetic records
written as JSON lines (the NEB dataset format without LAMMPS)."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from alloykit.cli import main
from alloykit.cnn import synthetic_records, write_jsonl


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    recs = synthetic_records(["Fe=0.8,Cr=0.2", "Fe=0.6,Cr=0.4", "Fe=0.5,Cr=0.5"], size=(4, 4, 4),
                             sites_per_sample=3, seed=1)
    return write_jsonl(recs, tmp_path_factory.mktemp("data") / "barriers.jsonl.gz")


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "m"
    rc = main(["cnn", "train", str(dataset), "--out", str(out), "--test", "Fe=0.5,Cr=0.5", "--shells", "2",
               "--delta", "0.9", "--blocks", "1", "--width", "4", "--epochs", "2", "--batch-size", "16"])
    assert rc == 0
    return out


def test_train_writes_a_model_and_its_report(trained):
    report = json.loads((trained / "training.json").read_text())
    assert report["test_groups"] == ["Cr0.5000-Fe0.5000"] and report["epochs_run"] == 2
    assert "Cr0.5000-Fe0.5000" in report["test_mae_by_group"]
    assert (trained / "weights.pt").is_file() and (trained / "model.json").is_file()


def test_eval_writes_maes_and_spectra(trained, dataset, tmp_path):
    assert main(["cnn", "eval", str(trained), str(dataset), "--out", str(tmp_path / "ev")]) == 0
    ev = json.loads((tmp_path / "ev" / "eval.json").read_text())
    assert ev["n"] == 72 and set(ev["by_composition"]) == {"Cr0.2000-Fe0.8000", "Cr0.4000-Fe0.6000",
                                                            "Cr0.5000-Fe0.5000"}
    assert (tmp_path / "ev" / "spectra.png").stat().st_size > 1000


def test_predict_writes_json_and_png(trained, tmp_path):
    import ase.io

    from alloykit.structures import random_solid_solution

    s = tmp_path / "s.extxyz"
    ase.io.write(s, random_solid_solution("bcc", {"Fe": 0.7, "Cr": 0.3}, size=(4, 4, 4), a=2.8665, seed=2))
    assert main(["cnn", "predict", str(trained), str(s), "--sites", "0", "1", "--out", str(tmp_path / "p")]) == 0
    doc = json.loads((tmp_path / "p" / "s_barriers.json").read_text())
    assert len(doc["hops"]) == 16 and doc["environment"] == "unrelaxed"
    assert (tmp_path / "p" / "s_barriers.png").is_file()


def test_bad_input_is_one_line(trained, dataset, tmp_path, capsys):
    import ase.io

    from alloykit.structures import random_solid_solution

    cases = [
        ["cnn", "train", str(dataset), "--test", "Fe=0.1,Cr=0.9"],     # no barriers for that composition
        ["cnn", "eval", str(tmp_path), str(dataset)],                   # not a model
        ["cnn", "train", str(tmp_path / "missing.jsonl")],
    ]
    ni = tmp_path / "ni.extxyz"
    ase.io.write(ni, random_solid_solution("bcc", {"Fe": 0.7, "Ni": 0.3}, size=(3, 3, 3), a=2.8665, seed=2))
    cases.append(["cnn", "predict", str(trained), str(ni), "--sites", "0"])   # species not in the model
    for argv in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"alloykit cnn {argv[1]}: ") and "\n" not in err, err


def test_help_has_examples(capsys):
    for sub in ("train", "eval", "predict"):
        with pytest.raises(SystemExit):
            main(["cnn", sub, "--help"])
        assert "examples:" in capsys.readouterr().out


def test_demo_stage_finds_the_neb_dataset(dataset, tmp_path):
    import shutil

    from alloykit.cnn.demo import stage

    lines, figs = [], []
    ctx = SimpleNamespace(out=tmp_path, seed=5, quick=True, say=lines.append,
                          savefig=lambda fig, name: figs.append(name))
    assert "skipped" in stage(ctx)
    shutil.copy(dataset, tmp_path / "neb_barriers.jsonl.gz")
    (tmp_path / "summary.json").write_text(json.dumps({"stages": {"neb": {"dataset": "neb_barriers.jsonl.gz"}}}))
    result = stage(ctx)
    assert result["split_by"] == "composition" and result["test_mae_eV"] is not None
    assert figs == ["cnn_spectra.png"] and "MAE" in lines[-1]
