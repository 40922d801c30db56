"""``alloykit mcmd`` and ``alloykit sro``: outputs, resume from the command line, help,
and one-line errors (exit status 2) for bad input."""
import json

import ase.io
import numpy as np
import pytest
from ase import Atoms

from alloykit.cli import main
from alloykit.csro.samples import random_solid_solution
from alloykit.csro.sro import compute_sro


def run(argv, capsys):
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def test_sro_command_writes_json_and_png(tmp_path, capsys):
    atoms = random_solid_solution("fcc", {"Cu": 0.5, "Ni": 0.3, "Co": 0.2}, 5, a=3.6, seed=3)
    ase.io.write(tmp_path / "a.extxyz", atoms)
    rc, out, err = run(["sro", str(tmp_path / "a.extxyz"), "--out", str(tmp_path / "o")], capsys)
    assert rc == 0, err
    report = json.loads((tmp_path / "o" / "sro.json").read_text())
    frame = report["files"][0]["frames"][0]
    want = compute_sro(atoms)
    assert frame["structure"] == "fcc" and frame["alpha"]["Co-Ni"] == pytest.approx(
        list(want.alpha[:, 0, 2]), abs=1e-12)
    assert (tmp_path / "o" / "sro.png").stat().st_size > 1000
    assert "alpha_1" in out


def test_mcmd_command_runs_and_resumes(tmp_path, capsys):
    base = ["mcmd", "--lattice", "bcc", "--composition", "Fe=0.8,Cr=0.2", "--size", "4", "--a", "2.8665",
            "--temperature", "600", "--record-every", "100", "--checkpoint-every", "100", "--swap-every", "20",
            "--dump-every", "100", "--out", str(tmp_path / "m"), "--quiet"]
    rc, out, err = run(base + ["--steps", "200"], capsys)
    assert rc == 0, err
    assert json.loads(out)["steps_done"] == 200
    # the saved protocol (and dump interval) carries over; only --steps changes
    rc, out, err = run(["mcmd", "--resume", "--steps", "300", "--out", str(tmp_path / "m"), "--quiet"], capsys)
    assert rc == 0, err
    recs = [json.loads(ln) for ln in (tmp_path / "m" / "records.jsonl").read_text().splitlines()]
    assert [r["step"] for r in recs] == [0, 100, 200, 300]
    assert (tmp_path / "m" / "mcmd.png").exists()
    dumps = sorted((tmp_path / "m" / "dumps").glob("*.gz"))
    rc, out, err = run(["sro", *map(str, dumps), "--out", str(tmp_path / "s")], capsys)
    assert rc == 0, err
    assert len(json.loads((tmp_path / "s" / "sro.json").read_text())["files"]) == 4


@pytest.mark.parametrize("args,needle", [
    (["--temperature", "-5"], "temperature: must be a number > 0"),
    (["--temperature", "0"], "temperature: must be a number > 0"),
    (["--composition", "Fe=0.5,Cr=0.4"], "composition: fractions sum to 0.9, not 1"),
    (["--composition", "Fe=0.9999,Cr=0.0001"], "composition: Cr at fraction 0.0001 gives no atom"),
    (["--composition", "Fe=0.5,Ni=0.5"], "potential FeCr: element(s) Ni not supported"),
    (["--size", "3", "3"], "size: expected three"),
])
def test_mcmd_bad_input_is_one_line_exit_2(tmp_path, capsys, args, needle):
    argv = ["mcmd", "--lattice", "bcc", "--composition", "Fe=0.8,Cr=0.2", "--size", "3", "--steps", "100",
            "--record-every", "100", "--out", str(tmp_path / "bad"), "--quiet"]
    for opt in args:       # the option under test replaces the default one
        if opt.startswith("--") and opt in argv:
            i = argv.index(opt)
            del argv[i:i + 2]
    rc, out, err = run(argv + args, capsys)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], err


def test_sro_refuses_non_crystal_and_bad_dump(tmp_path, capsys):
    rng = np.random.default_rng(0)
    gas = Atoms("Fe300", positions=rng.uniform(0, 15, (300, 3)), cell=[15, 15, 15], pbc=True)
    ase.io.write(tmp_path / "gas.extxyz", gas)
    rc, out, err = run(["sro", str(tmp_path / "gas.extxyz"), "--out", str(tmp_path / "o")], capsys)
    assert rc == 2 and err.strip().count("\n") == 0 and "structure:" in err
    rc, out, err = run(["sro", str(tmp_path / "missing.dump"), "--out", str(tmp_path / "o")], capsys)
    assert rc == 2 and "no such file" in err


def test_help_has_examples(capsys):
    for cmd in ("mcmd", "sro"):
        with pytest.raises(SystemExit):
            main([cmd, "--help"])
        assert "examples:" in capsys.readouterr().out
