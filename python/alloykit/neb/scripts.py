"""The LAMMPS side: files for ``inputs/in.neb_relax`` and ``inputs/in.neb``, running them
(through :class:`alloykit.lmp.Lammps`, or ``mpiexec ... python -m alloykit.lmp`` when the
caller has no MPI ranks to spare) and reading their results back.

Everything that reaches LAMMPS is a file name or a number written here; file names pass
:func:`alloykit.lmp.safe_token`, so the work folder must have a plain path.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase.data import atomic_masses, atomic_numbers

from ..lmp import Lammps, LammpsError, safe_token
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
    Path(path).write_text("\n".join(potential.commands(species)) + "\n")
    return Path(path)


def write_data(path: Path, ids, types, x: np.ndarray, box, species) -> Path:
    """A LAMMPS data file (atomic style) with exact (%.17g) coordinates.

    box: (lo (3,), (lx, ly, lz, xy, xz, yz)) in LAMMPS's lower-triangular convention;
    x in the same frame, wrapped into the box.
    """
    lo = [float(v) for v in box[0]]
    lx, ly, lz, xy, xz, yz = (float(v) for v in box[1])
    lines = ["alloykit.neb", "", f"{len(ids)} atoms", f"{len(species)} atom types", ""]
    for k, (a, length) in enumerate(zip("xyz", (lx, ly, lz))):
        lines.append(f"{lo[k]!r} {lo[k] + length!r} {a}lo {a}hi")
    if max(abs(xy), abs(xz), abs(yz)) > 0:
        lines.append(f"{xy!r} {xz!r} {yz!r} xy xz yz")
    lines += ["", "Masses", ""]
    lines += [f"{t} {float(atomic_masses[atomic_numbers[el]])!r}" for t, el in enumerate(species, 1)]
    lines += ["", "Atoms # atomic", ""]
    lines += [f"{int(i)} {int(t)} {p[0]!r} {p[1]!r} {p[2]!r}" for i, t, p in zip(ids, types, np.asarray(x, float).tolist())]
    Path(path).write_text("\n".join(lines) + "\n")
    return Path(path)


@dataclass
class DataFile:
    ids: np.ndarray          # atom IDs, sorted
    types: np.ndarray
    x: np.ndarray            # unwrapped with the image flags
    lo: np.ndarray
    cell: np.ndarray         # rows a, b, c (LAMMPS frame)


def read_data(path: Path) -> DataFile:
    """A data file written by LAMMPS's write_data (or :func:`write_data`), atomic style."""
    lines = Path(path).read_text().splitlines()
    lo, hi, tilt = np.zeros(3), np.zeros(3), np.zeros(3)
    start = None
    for k, line in enumerate(lines):
        w = line.split()
        if len(w) == 4 and w[2:] in (["xlo", "xhi"], ["ylo", "yhi"], ["zlo", "zhi"]):
            a = "xyz".index(w[2][0])
            lo[a], hi[a] = float(w[0]), float(w[1])
        elif len(w) == 6 and w[3:] == ["xy", "xz", "yz"]:
            tilt = np.array([float(v) for v in w[:3]])
        elif w[:1] == ["Atoms"]:
            start = k + 2
            break
    if start is None:
        raise ValueError(f"{path}: no Atoms section")
    rows = []
    for line in lines[start:]:
        w = line.split("#")[0].split()
        if not w:
            if rows:
                break
            continue
        if not re.match(r"^-?\d", w[0]):
            break
        rows.append([float(v) for v in w[:8]] + [0.0] * (8 - len(w[:8])))
    arr = np.array(rows)
    order = np.argsort(arr[:, 0])
    arr = arr[order]
    lx, ly, lz = hi - lo
    cell = np.array([[lx, 0, 0], [tilt[0], ly, 0], [tilt[1], tilt[2], lz]])
    x = arr[:, 2:5] + arr[:, 5:8] @ cell
    return DataFile(arr[:, 0].astype(int), arr[:, 1].astype(int), x, lo, cell)


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
def _vars(variables: dict) -> list[str]:
    args = []
    for name, value in variables.items():
        args += ["-var", safe_token(name, "variable name"), safe_token(value, f"variable {name}")]
    return args


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
    args = ["-partition", f"{replicas}x1", "-in", safe_token(script, "in.neb path"), *_vars(variables)]
    if comm is not None:
        if comm.Get_size() != replicas:
            raise ValueError(f"replicas: {replicas} need a communicator of {replicas} ranks, got {comm.Get_size()}")
        with Lammps(comm=comm, log=str(log), cmdargs=args) as lmp:
            lmp.file(script)
        return
    cmd = [mpiexec(), "-n", str(replicas), sys.executable, "-m", "alloykit.lmp",
           "-log", str(log), "-screen", "none", "-nocite", *args]
    r = subprocess.run(cmd, env=neb_env(), capture_output=True, text=True)
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
