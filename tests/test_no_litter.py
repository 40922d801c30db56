"""The main commands leave in the current folder only what the user asked for (issue 15,
item 4): no ``tmp.lammps.variable`` (LAMMPS writes it where a ``uloop`` variable is
defined on several partitions: in.neb numbers its replicas with a ``world`` variable
instead), no ``log.lammps``, ``log.cite`` or other temporary files."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import ase.io
from alloykit.cli import main as cli
from ase.build import bulk


def _run(argv, capsys) -> None:
    status = cli(argv)
    out = capsys.readouterr()
    assert status == 0, out.err


def test_main_commands_leave_only_their_outputs(tmp_path, monkeypatch, capsys):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    atoms = bulk("Fe", "bcc", a=2.87, cubic=True).repeat(2)
    atoms.symbols[:3] = "Cr"
    ase.io.write(inputs / "fecr.extxyz", atoms)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")

    _run(["potentials"], capsys)
    _run(["relax", "--structure", str(inputs / "fecr.extxyz"), "-o", "relaxed.extxyz", "--potential", "FeCr",
          "--quiet"], capsys)
    _run(["mliap", "lj", "lj.akm", "--species", "Ar", "--epsilon", "0.0104", "--sigma", "3.4", "--rcut", "8.5"],
         capsys)
    _run(["sro", "relaxed.extxyz", "--out", "sro_res", "--quiet"], capsys)
    _run(["mcmd", "--structure", str(inputs / "fecr.extxyz"), "--potential", "FeCr", "--steps", "20",
          "--record-every", "10", "--checkpoint-every", "20", "--swap-every", "10", "--out", "mcmd_run", "--quiet"],
         capsys)
    # three replicas and short step budgets: only the files matter here, not the barriers.
    # A process of its own, as a user runs it (in this process a Dataset closed only by
    # the garbage collector would leave the SQLite -wal/-shm files for a while)
    r = subprocess.run([sys.executable, "-m", "alloykit.cli", "neb", "run", "hops.sqlite", "--potential", "FeCr",
                        "--composition", "Fe=0.75,Cr=0.25", "--size", "2", "--sites", "1", "--replicas", "3",
                        "--n1", "20", "--n2", "20", "--quiet"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr

    left = sorted(p.name for p in Path(".").iterdir())
    asked = {"relaxed.extxyz", "lj.akm", "sro_res", "mcmd_run", "hops.sqlite", "hops_spectrum.png"}
    assert set(left) == asked, f"left in the current folder: {sorted(set(left) - asked)}"
    assert not any(name.startswith("tmp.") for name in os.listdir("mcmd_run"))    # its logs may stay there
