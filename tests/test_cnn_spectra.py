"""``alloykit cnn spectra``: composition maps and lines of barrier statistics, on a tiny
Ta-Nb-Mo model trained on synthetic barriers (alloykit.cnn.SyntheticBarrier), so the file
runs in seconds. Statistics are checked against predict_structure on samples rebuilt here
from the seeds and sites the result records."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from alloykit.cli import main
from alloykit.cnn import (
    TrainConfig,
    composition_line,
    composition_map,
    save,
    synthetic_records,
    train_model,
)
from alloykit.cnn.spectra import sample
from alloykit.errors import InputError
from alloykit.structures import CompositionRounded, random_solid_solution

pytestmark = pytest.mark.usefixtures("torch_one_thread")

A = {"Mo": 3.16, "Nb": 3.31, "Ta": 3.32}
SMALL = dict(size=3, sites=4, a_elements=A)          # 54-atom samples, 32 hops per composition


@pytest.fixture(scope="module")
def model():
    import torch

    torch.set_num_threads(1)        # the module fixture runs before the per-test one
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompositionRounded)     # 54-atom cells round 0.3
        recs = synthetic_records(["Ta=0.4,Nb=0.3,Mo=0.3", "Ta=0.2,Nb=0.4,Mo=0.4"], size=(3, 3, 3),
                                 sites_per_sample=1, seed=0, a=3.25)
    cfg = TrainConfig(epochs=2, batch_size=16, seed=1, device="cpu")
    m, _ = train_model(recs, n_shells=2, delta=1.1, n=1, width=4, test=[], config=cfg, progress=False)
    return m


@pytest.fixture(scope="module")
def ternary(model):
    return composition_map(model, step=0.5, **SMALL, seed=3)


def test_map_compositions_and_counts(ternary):
    pts = ternary["points"]
    assert ternary["elements"] == ["Mo", "Nb", "Ta"] and len(pts) == 6      # 3 corners + 3 edge midpoints
    assert sorted(tuple(p["composition"].values()) for p in pts) == sorted(
        [(1, 0, 0), (0, 1, 0), (0, 0, 1), (0.5, 0.5, 0), (0.5, 0, 0.5), (0, 0.5, 0.5)])
    for p in pts:
        assert p["n_hops"] == 8 * 4 == sum(v["n"] for v in p["by_moving_species"].values())   # BCC: 8 per site
        present = {el for el, c in p["composition"].items() if c > 0}
        assert set(p["by_moving_species"]) <= present
        if len(present) == 1:       # a corner: only its own species moves
            assert set(p["by_moving_species"]) == present
    assert ternary["n_hops"] == 6 * 32 and ternary["hops_per_second"] > 0
    assert ternary["lattice_parameters"]["source"] == "given"
    mid = next(p for p in pts if p["composition"]["Mo"] == 0.5 and p["composition"]["Ta"] == 0.5)
    assert mid["a"] == pytest.approx((3.16 + 3.32) / 2)                     # linear Vegard


def test_mean_equals_independent_prediction(model, ternary):
    for p in ternary["points"][:3]:
        comp = {el: c for el, c in p["composition"].items() if c > 0}
        atoms = random_solid_solution("bcc", comp, size=3, a=p["a"], seed=p["sample_seed"])
        hops = model.predict_structure(atoms, p["sites"])
        for s, v in p["by_moving_species"].items():
            b = [h["barrier"] for h in hops if h["moving_species"] == s]
            assert v["n"] == len(b) and v["mean"] == pytest.approx(np.mean(b), abs=1e-6)
            assert v["std"] == pytest.approx(np.std(b), abs=1e-6)


def test_same_seed_same_result_other_seed_other_sample(model, ternary):
    again = composition_map(model, step=0.5, **SMALL, seed=3)
    assert again["points"] == ternary["points"]
    comp = {"Mo": 0.5, "Nb": 0.5}
    (a3, s3, seed3), (a4, s4, seed4) = (sample(model, comp, 3.2, size=3, sites=4, seed=k) for k in (3, 4))
    assert seed3 != seed4 and (a3.get_chemical_symbols() != a4.get_chemical_symbols() or list(s3) != list(s4))


def test_line_compositions(model, ternary):
    res = composition_line(model, "Mo", step=0.25, **SMALL, seed=3)
    assert [p["x_percent"] for p in res["points"]] == [0, 25, 50, 75, 100]
    for p in res["points"]:
        c = p["composition"]
        assert c["Mo"] == pytest.approx(p["x_percent"] / 100) and c["Nb"] == pytest.approx(c["Ta"])
        assert c["Nb"] == pytest.approx((1 - c["Mo"]) / 2)
    # a composition gets the same sample in a map and on a line
    pure = next(p for p in res["points"] if p["x_percent"] == 100)
    corner = next(p for p in ternary["points"] if p["composition"]["Mo"] == 1)
    assert pure["sample_seed"] == corner["sample_seed"] and pure["by_moving_species"] == corner["by_moving_species"]


def test_bad_input(model):
    with pytest.raises(InputError, match="step"):
        composition_map(model, step=0.3, **SMALL)
    with pytest.raises(InputError, match="W"):
        composition_line(model, "W", **SMALL)
    with pytest.raises(InputError, match="no value for Ta"):
        composition_map(model, step=0.5, size=3, sites=4, a_elements="Mo=3.16,Nb=3.31")
    with pytest.raises(InputError, match="W"):
        composition_map(model, step=0.5, size=3, sites=4, a_elements={**A, "W": 3.17})
    with pytest.raises(InputError, match="sites"):
        composition_map(model, step=0.5, size=1, sites=3, a_elements=A)


def test_fallback_and_potential_lattice_parameters(model):
    from alloykit.cnn.spectra import element_lattice_parameters
    from alloykit.structures import vegard_lattice_parameter

    with pytest.warns(UserWarning, match="ASE"):
        res = composition_map(model, step=1.0, elements=["Nb", "Ta"], size=2, sites=1)
    assert res["lattice_parameters"]["source"] == "ase-reference"
    nb = next(p for p in res["points"] if p["composition"]["Nb"] == 1)
    assert nb["a"] == pytest.approx(vegard_lattice_parameter("bcc", {"Nb": 1.0}))
    lp = element_lattice_parameters(["Mo", "Ta"], "bcc", potential="MoNbTaW")        # SNAP, two 2-atom cells
    assert lp["source"] == "potential" and abs(lp["elements"]["Mo"] - 3.17) < 0.05 and 3.25 < lp["elements"]["Ta"] < 3.4
    again = element_lattice_parameters(["Mo"], "bcc", potential="MoNbTaW", cached=lp)
    assert again["cached"] and again["elements"] == {"Mo": lp["elements"]["Mo"]}


def test_cli_writes_json_and_png(model, tmp_path, capsys):
    path = save(model, tmp_path / "m")
    out = tmp_path / "o"
    common = ["--size", "3", "--sites", "2", "--a-elements", "Ta=3.32,Nb=3.31,Mo=3.16", "--quiet", "--threads", "1"]
    assert main(["cnn", "spectra", str(path), "--step", "0.5", "--out", str(out), *common]) == 0
    doc = json.loads((out / "spectra_map.json").read_text())
    assert doc["mode"] == "map" and doc["n_compositions"] == 6 and doc["hops_per_second"] > 0
    assert (out / "spectra_map.png").stat().st_size > 5000
    assert main(["cnn", "spectra", str(path), "--line", "Nb", "--step", "0.5", "--out", str(out), *common]) == 0
    doc = json.loads((out / "spectra_line.json").read_text())
    assert [p["x_percent"] for p in doc["points"]] == [0, 50, 100] and (out / "spectra_line.png").is_file()
    assert main(["cnn", "spectra", str(path), "--elements", "Nb", "Ta", "--step", "0.5", "--out", str(out),
                 *common]) == 0                                               # a binary: a line plot
    capsys.readouterr()
    for bad in (["--line", "W"], ["--line", "Xx"], ["--step", "0.3"], ["--step", "nan"], ["--size", "1.5"],
                ["--a-elements", "Ta=3.3,Nb=3.3,Mo=3.1,W=3.1"], ["--a-elements", "Ta=x"],
                ["--a-elements", "Ta=3.3,Nb=3.3,Mo=3.1", "--potential", "MoNbTaW"]):
        try:
            rc = main(["cnn", "spectra", str(path), "--out", str(out), "--quiet", *bad])
        except SystemExit as e:         # refused while the command line is read
            rc = e.code
        assert rc == 2, bad
        err = capsys.readouterr().err.strip()
        assert err.startswith("alloykit cnn spectra") and "\n" not in err, (bad, err)


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        main(["cnn", "spectra", "--help"])
    assert "examples:" in capsys.readouterr().out
