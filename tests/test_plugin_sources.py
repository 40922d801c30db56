"""The plugin's C++ compiles against every CPython 3.10-3.13 on this machine (3.13 dropped
_Py_IsFinalizing) and against a LAMMPS built with 64-bit tags (-DLAMMPS_BIGBIG): a
syntax-only compile, seconds each. Pythons that are not installed are skipped."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

SOURCES = [str(ROOT / "lammps_plugin" / f) for f in ("pair_mliap_unified.cpp", "compute_mliap_unified_atom.cpp",
                                                  "alloykit_plugin.cpp")]


def _includes():
    out = subprocess.run([sys.executable, str(ROOT / "lammps_plugin" / "locate_lammps.py")],
                         capture_output=True, text=True, check=True).stdout
    lammps_inc, _, mpi_inc, _ = out.split(";")
    return [f"-I{lammps_inc}", f"-I{mpi_inc}"]


def _pythons(version):
    """python{version} on PATH, then pyenv's own copies (its shims refuse unselected ones)."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found = [shutil.which(f"python{version}")] + sorted(str(p) for p in root.glob(f"versions/{version}.*/bin/python{version}"))
    return [p for p in found if p]


@pytest.mark.parametrize("version", ["3.10", "3.11", "3.12", "3.13"])
@pytest.mark.parametrize("tags", ["", "-DLAMMPS_BIGBIG"])
def test_plugin_compiles(version, tags):
    compiler = shutil.which("g++") or shutil.which("c++")
    if compiler is None:
        pytest.skip("no C++ compiler")
    for python in _pythons(version):
        found = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['include'])"],
                               capture_output=True, text=True)
        if found.returncode == 0:
            break
    else:
        pytest.skip(f"no working python{version} here")
    cmd = [compiler, "-std=c++17", "-fsyntax-only", f"-I{found.stdout.strip()}", *_includes(), *SOURCES]
    r = subprocess.run(cmd + ([tags] if tags else []), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
