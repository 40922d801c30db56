"""The LAMMPS side: files for ``inputs/in.neb_relax`` and ``inputs/in.neb``, running them
(through :class:`alloykit.lmp.Lammps`, or ``mpiexec ... python -m alloykit.lmp`` when the
caller has no MPI ranks to spare) and reading their results back.

Structures go in and come out as LAMMPS data files, written and read by
:mod:`alloykit.structures` (types from the potential's species order). Read here are only
the files that are no structure: the NEB coordinate files (``id x y z``, no cell, no
types), the ``.res`` summaries and the NEB log.

Everything that reaches LAMMPS is a file name or a number written here, passed as
``-var`` values checked by :func:`alloykit.lmp.commands.var_args` (whole file names are
quoted when they hold spaces; the ``out`` prefix, to which the scripts append suffixes,
must be a plain word), and the potential include file holds lines built by
:func:`alloykit.lmp.commands.lammps_command`.
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..parallel import run_tied
from ..lmp import Lammps, LammpsError
from ..lmp.commands import check_command, var_args
from ..lmp.session import MPICH_THROTTLE


def inputs_dir() -> Path:
    """The folder with in.neb and in.neb_relax: $ALLOYKIT_INPUTS, else the copy installed
    with the package (``alloykit/lammps_inputs``), else the repository's ``inputs/`` next to
    ``python/`` (editable installs)."""
    from ..inputs import inputs_dir as installed

    env = os.environ.get("ALLOYKIT_INPUTS")
    here = Path(env) if env else installed()
    if not (here / "in.neb").is_file():
        raise FileNotFoundError(f"in.neb not found in {here}; set ALLOYKIT_INPUTS to the folder holding it")
    return here


# ---------------------------------------------------------------------------------------
# files
def write_potential(path: Path, potential, species) -> Path:
    """The pair_style/pair_coeff include file (``include ${potential}``), every line checked."""
    lines = [check_command(line) for line in potential.commands(species)]
    Path(path).write_text("\n".join(lines) + "\n")
    return Path(path)


def read_neb_coords(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(ids, x) of a 'neb final' coordinates file or a write_dump 'id x y z' dump."""
    lines = Path(path).read_text().splitlines()
    if lines and lines[0].startswith("ITEM:"):
        k = next(i for i, l in enumerate(lines) if l.startswith("ITEM: ATOMS")) + 1
    else:
        k = 1
    arr = np.array([[float(v) for v in l.split()[:4]] for l in lines[k:] if l.strip()])
    order = np.argsort(arr[:, 0])
    return arr[order, 0].astype(int), arr[order, 1:4]


def read_res(path: Path) -> dict:
    out = {}
    for line in Path(path).read_text().splitlines():
        w = line.split()
        if len(w) == 2:
            out[w[0]] = float(w[1])
    return out


# ---------------------------------------------------------------------------------------
# running
# whole file names, which may be quoted; other values (``out``, a prefix the scripts
# append to as ${out}.res, numbers, keywords) must be plain words
_FILE_VARS = ("data", "potential", "initial", "final")


def _vars(variables: dict) -> list[str]:
    return var_args({k: Path(v) if k in _FILE_VARS else v for k, v in variables.items()})


def run_relax(variables: dict, comm=None, log: Path | None = None) -> dict:
    """in.neb_relax with ``variables`` on ``comm`` (default: a one-rank LAMMPS)."""
    script = inputs_dir() / "in.neb_relax"
    with Lammps(comm=comm, log=str(log) if log else None, cmdargs=_vars(variables)) as lmp:
        lmp.file(str(script))
    return read_res(Path(variables["out"] + ".res"))


def neb_env() -> dict:
    """Environment for an NEB subprocess: the venv first on PATH, MPICH not busy-polling
    (replicas usually outnumber cores), one OpenMP thread."""
    env = dict(os.environ)
    env.update(MPICH_THROTTLE)
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def mpiexec() -> str:
    exe = Path(sys.executable).parent / "mpiexec"
    return str(exe) if exe.exists() else "mpiexec"


def run_neb(variables: dict, replicas: int, log: Path, comm=None) -> None:
    """in.neb as one LAMMPS universe of ``replicas`` partitions.

    comm: a communicator of exactly ``replicas`` ranks (collective: every rank calls), or
    None to start ``mpiexec -n replicas python -m alloykit.lmp`` for this one NEB.
    """
    script = str(inputs_dir() / "in.neb")
    # replica_ids: in.neb numbers its replicas with a world variable; the uloop fallback
    # would leave tmp.lammps.variable in the current folder
    ids = {"replica_ids": list(range(1, int(replicas) + 1))}
    args = ["-partition", f"{replicas}x1", "-in", script, *_vars({**variables, **ids})]
    if comm is not None:
        if comm.Get_size() != replicas:
            raise InputError(f"replicas: {replicas} need a communicator of {replicas} ranks, got {comm.Get_size()}")
        with Lammps(comm=comm, log=str(log), cmdargs=args) as lmp:
            lmp.file(script)
        return
    cmd = [mpiexec(), "-n", str(replicas), sys.executable, "-m", "alloykit.lmp",
           "-log", str(log), "-screen", "none", "-nocite", *args]
    # tied to this process: a killed driver takes mpiexec, its proxy and the ranks with it
    r = run_tied(cmd, env=neb_env(), capture_output=True, text=True)
    if r.returncode != 0:
        msg = (r.stderr.strip().splitlines() or ["mpiexec failed"])[-1]
        raise LammpsError(f"NEB ({replicas} replicas): {msg}")


@dataclass
class NebOutput:
    steps: int
    max_force: float          # MaxReplicaForce of the last line, eV/A
    ebf: float                # LAMMPS's forward/backward barriers (8 digits)
    ebr: float
    path_length: float        # RDT, A
    coords: list              # reaction coordinate of each replica, 0..1
    energies: np.ndarray      # full-precision energy of each replica, eV
    climber: int              # 0-based index of the climbing replica, -1 if none


def read_neb(log: Path, out_prefix: str, replicas: int) -> NebOutput:
    """LAMMPS's last NEB table line (universe log) and the per-replica energy files."""
    text = Path(log).read_text()
    m = re.findall(r"Climbing replica = (\d+)", text)
    climber = int(m[-1]) - 1 if m else -1
    last = None
    for line in text.splitlines():
        w = line.split()
        if len(w) == 9 + 2 * replicas and re.fullmatch(r"\d+", w[0]):
            last = w
    if last is None:
        raise LammpsError(f"{log}: no NEB table")
    vals = [float(v) for v in last]
    energies = np.array([float(Path(f"{out_prefix}.energy.{k}").read_text().split()[0])
                         for k in range(1, replicas + 1)])
    return NebOutput(int(vals[0]), vals[1], vals[6], vals[7], vals[8], vals[9::2], energies, climber)
