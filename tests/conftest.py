"""Shared helpers for the test suite. Every test drives the real LAMMPS library and the
real alloykit plugin; references are LAMMPS's built-in styles, finite differences or
published values."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent

# Two-species LJ on a triclinic, periodic, slightly disordered fcc cell (lj units avoided:
# metal units as users have them).
LJ_EPS = [[0.0104, 0.0120], [0.0120, 0.0140]]
LJ_SIG = [[3.40, 3.50], [3.50, 3.60]]
LJ_RCUT = 8.5

SYSTEM = """
units metal
atom_style atomic
atom_modify map array
lattice fcc 5.3
region box prism 0 {n} 0 {n} 0 {n} 1 0.5 0.5
create_box 2 box
create_atoms 1 box
set type 1 type/fraction 2 0.35 2024
mass 1 39.948
mass 2 83.798
displace_atoms all random 0.15 0.15 0.15 777 units box
"""

LJ_CUT_COEFFS = [f"pair_coeff {i+1} {j+1} {LJ_EPS[i][j]} {LJ_SIG[i][j]}" for i in range(2) for j in range(i, 2)]


def lj_model(truncation="cut"):
    from alloykit.mliap.models import TorchLennardJones

    return TorchLennardJones(["Ar", "Kr"], epsilon=LJ_EPS, sigma=LJ_SIG, rcut=LJ_RCUT, truncation=truncation)


def build(n=3, pair="builtin", model=None, extra=(), smooth=False):
    """A Lammps instance with the LJ test system and either the built-in style (lj/cut,
    or lj/smooth/linear if ``smooth``) or the torch model through mliap/unified."""
    from alloykit.lmp import Lammps
    from alloykit.mliap import load_unified

    lmp = Lammps()
    lmp.raw.commands_string(SYSTEM.format(n=n))
    if pair == "builtin":
        style = "lj/smooth/linear" if smooth else "lj/cut"
        lmp.commands([f"pair_style {style} {LJ_RCUT}", *LJ_CUT_COEFFS])
    elif pair == "mliap":
        load_unified(lmp, model or lj_model("linear" if smooth else "cut"))
        lmp.commands(["pair_style mliap/unified LATER", "pair_coeff * * Ar Kr"])
    lmp.commands(extra)
    return lmp


def run_env():
    """Environment for subprocesses: the venv first on PATH, MPICH not busy-polling."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("MPIR_CVAR_CH4_PROGRESS_THROTTLE", "1")
    env.setdefault("MPIR_CVAR_CH4_PROGRESS_THROTTLE_NO_PROGRESS_COUNT", "64")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def run(cmd, cwd=None, timeout=300, input=None):
    return subprocess.run(cmd, cwd=cwd, env=run_env(), capture_output=True, text=True, timeout=timeout, input=input)


@pytest.fixture
def lj_model_file(tmp_path):
    from alloykit.mliap import save_model

    return save_model(lj_model(), tmp_path / "lj.akm")


def rel_err(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


@pytest.fixture(scope="module")
def torch_one_thread():
    """Tiny networks and maps: one torch thread, since other runs share the two cores and
    torch's spinning threads then slow small work tenfold."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def random_fecr(n=3, seed=0, rattle=0.05, cr=0.2):
    """A rattled BCC Fe cube of n^3 cells with a seeded fraction ``cr`` of Cr (GRS tests)."""
    from ase.build import bulk

    a = bulk("Fe", "bcc", a=2.86, cubic=True).repeat(n)
    s = np.array(a.get_chemical_symbols())
    s[np.random.default_rng(seed).choice(len(a), int(len(a) * cr), replace=False)] = "Cr"
    a.set_chemical_symbols(s)
    a.rattle(rattle, seed=seed)
    return a
