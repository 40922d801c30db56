"""``alloykit mcmd`` and ``alloykit sro``: outputs, resume from the command line, help,
and one-line errors (exit status 2) for bad input."""
import json

import ase.io
import numpy as np
import pytest
from ase import Atoms

from alloykit.cli import main
from alloykit.csro.sro import compute_sro
from alloykit.structures import random_solid_solution


def run(argv, capsys):
    try:
        rc = main(argv)
    except SystemExit as e:         # argparse's usage errors
        rc = e.code
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
            "--potential", "FeCr", "--temperature", "600", "--record-every", "100", "--checkpoint-every", "100",
            "--swap-every", "20", "--dump-every", "100", "--out", str(tmp_path / "m"), "--quiet"]
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
    (["--temperature", "-5"], "--temperature: '-5' is not above 0"),
    (["--temperature", "0"], "--temperature: '0' is not above 0"),
    (["--composition", "Fe=0.5,Cr=0.4"], "composition: fractions sum to 0.9, not 1"),
    (["--composition", "Fe=0.9999,Cr=0.0001"], "composition: Cr at fraction 0.0001 gives no atom"),
    (["--composition", "Fe=0.5,Ni=0.5"], "potential FeCr: element(s) Ni not supported"),
    (["--size", "3", "3"], "size: expected three"),
])
def test_mcmd_bad_input_is_one_line_exit_2(tmp_path, capsys, args, needle):
    argv = ["mcmd", "--lattice", "bcc", "--composition", "Fe=0.8,Cr=0.2", "--size", "3", "--potential", "FeCr",
            "--steps", "100", "--record-every", "100", "--out", str(tmp_path / "bad"), "--quiet"]
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


SPECIES = ["Fe", "Cr"]        # type 1 = Fe: not the alphabetical order, so a guess would show


def typed_files(folder, atoms, species=SPECIES):
    """A dump and a data file with atom types only (type t = species[t - 1]): no element
    column, no Masses."""
    from test_csro_io import dump_text

    from alloykit.structures import write_lammps_data

    dump = folder / "typed.dump"
    dump.write_text(dump_text(atoms, 0, {s: t for t, s in enumerate(species, 1)}))
    write_lammps_data(atoms, folder / "full.data", species)
    text = (folder / "full.data").read_text()
    (folder / "typed.data").write_text(text[:text.index("Masses")] + text[text.index("Atoms"):])
    return dump, folder / "typed.data"


@pytest.fixture
def fe_cr(tmp_path):
    atoms = random_solid_solution("bcc", "Fe=0.75,Cr=0.25", 4, a=2.8665, seed=4)
    syms = atoms.get_chemical_symbols()
    atoms.set_chemical_symbols(sorted(syms[:20]) + syms[20:])     # some order: alpha is not ~0
    return atoms, typed_files(tmp_path, atoms)


def test_sro_of_typed_dump_and_data_needs_species(tmp_path, capsys, fe_cr):
    atoms, files = fe_cr
    want = compute_sro(atoms, 3, SPECIES)
    for path in files:
        rc, out, err = run(["sro", str(path), "--species", *SPECIES, "--out", str(tmp_path / "o")], capsys)
        assert rc == 0, err
        frame = json.loads((tmp_path / "o" / "sro.json").read_text())["files"][0]["frames"][0]
        assert frame["concentrations"] == {"Fe": 0.75, "Cr": 0.25}
        assert frame["pairs"]["Cr-Cr"] == want.to_dict()["pairs"]["Cr-Cr"]
        assert frame["alpha"]["Fe-Cr"] == pytest.approx(list(want.alpha[:, 0, 1]), abs=1e-12)
        rc, out, err = run(["sro", str(path), "--out", str(tmp_path / "o")], capsys)
        assert rc == 2 and err.count("\n") == 1, err
        assert err.startswith(f"alloykit sro: {path}") and "give the species" in err


def test_sro_without_species_is_one_line_without_traceback(tmp_path, fe_cr):
    import subprocess
    import sys
    from pathlib import Path

    alloykit = Path(sys.executable).with_name("alloykit")
    p = subprocess.run([str(alloykit), "sro", str(fe_cr[1][0]), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.count("\n") == 1 and "typed.dump" in p.stderr and "--species" in p.stderr


def test_mcmd_from_typed_dump_and_data_needs_species(tmp_path, capsys, fe_cr):
    atoms, files = fe_cr
    for path in files:
        out = tmp_path / f"m_{path.suffix[1:]}"
        argv = ["mcmd", "--structure", str(path), "--potential", "FeCr", "--steps", "20", "--record-every", "10",
                "--checkpoint-every", "0", "--swap-every", "10", "--swap-trials", "5", "--out", str(out), "--quiet"]
        rc, stdout, err = run(argv + ["--species", *SPECIES], capsys)
        assert rc == 0, err
        assert ase.io.read(out / "initial.extxyz").get_chemical_symbols() == atoms.get_chemical_symbols()
        assert json.loads((out / "settings.json").read_text())["species"] == SPECIES
        first = json.loads(stdout)["sro_last"]["concentrations"]
        assert first == {"Fe": 0.75, "Cr": 0.25}          # swaps keep the composition
        rc, stdout, err = run(argv, capsys)
        assert rc == 2 and err.count("\n") == 1 and "give the species" in err, err


def test_mcmd_needs_a_potential(tmp_path, capsys):
    rc, out, err = run(["mcmd", "--lattice", "bcc", "--composition", "Fe=0.5,Cr=0.5", "--size", "3",
                        "--out", str(tmp_path / "m"), "--quiet"], capsys)
    assert rc == 2 and err.strip().splitlines() == [
        "alloykit mcmd: potential: give --potential NAME (see 'alloykit potentials') "
        "or --potential-file FILE --pair-style STYLE"]
    rc, out, err = run(["mcmd", "--resume", "--out", str(tmp_path / "none"), "--quiet"], capsys)
    assert rc == 2 and "resume: no checkpoint in" in err
