"""One rule for MPI runs: a step that may fail on some ranks only ends on every rank alike.

Under ``mpirun`` a rank that fails alone (a file it cannot read, a folder it cannot make,
a check of its input, a LAMMPS command, a Python model) must not leave the others waiting
in a collective: the job would hang until its allocation runs out. So such steps run in

    with agree(comm, "reading the structure"):
        atoms = read_structure(path)

which runs the block, then agrees across ``comm`` on whether it succeeded. If it failed on
any rank, every rank raises the same error: the first failing rank's own (an
``AlloykitError`` class and its one-line message; an ``OSError`` becomes an
:class:`~alloykit.errors.InputError` naming the file; anything else a :class:`PeerError`
naming the rank). The CLI prints it once (rank 0) and every rank exits with status 2.
:func:`on_root` is the same for work done by rank 0 alone (planning), its result sent to all.

When agreement is impossible, the job ends with one message and ``MPI_Abort``:
- a LAMMPS command failed on some ranks while the others stay inside LAMMPS (an
  ``error->one``): the failing rank waits ``ALLOYKIT_LAMMPS_GRACE`` seconds (default 10)
  for its peers, then aborts (see :mod:`alloykit.lmp.session`);
- an error escapes to the CLI without having been agreed on (:func:`end_job`);
- the watchdog: a rank that has waited at an agreement point far longer than the step
  can take (``limit``) names the point and aborts. ``ALLOYKIT_WATCHDOG=SECONDS`` sets
  every limit, ``ALLOYKIT_WATCHDOG=off`` disables it (for steps longer than the defaults).

Serial runs (``comm`` None or of one rank) run the block unchanged: no MPI, no conversion.
"""
from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager

from .errors import AlloykitError, InputError, one_line

EXIT_STATUS = 2          # every rank, agreed error or abort alike
QUICK_S = 600.0          # default watchdog limit: file I/O, checks, one LAMMPS command's skew
LAMMPS_GRACE_S = 10.0    # how long a rank whose LAMMPS command failed waits for its peers

_label = "alloykit"      # prefix of the message of a rank that ends the job (the CLI sets it)
_keyval = None


class PeerError(AlloykitError):
    """A step failed on some rank with an error that is not alloykit's own (a library's, or
    a bug): every rank raises this, naming the failing rank and the error."""


def under_mpi() -> bool:
    """True when started by mpiexec/mpirun with more than one rank (no MPI import needed)."""
    for var in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"):
        if os.environ.get(var, "1") not in ("", "0", "1"):
            return True
    return False


def world():
    """MPI.COMM_WORLD when started under mpiexec with more than one rank, else None."""
    if not under_mpi():
        return None
    from mpi4py import MPI

    return MPI.COMM_WORLD if MPI.COMM_WORLD.Get_size() > 1 else None


def set_label(label: str) -> None:
    """The prefix (e.g. ``alloykit mcmd``) of the message a rank prints when it ends the job."""
    global _label
    _label = label


def limit_s(default: float | None = QUICK_S) -> float | None:
    """The watchdog limit: ``ALLOYKIT_WATCHDOG`` (seconds, or off) if set, else ``default``."""
    text = os.environ.get("ALLOYKIT_WATCHDOG", "").strip().lower()
    if text in ("off", "none", "no", "0"):
        return None
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise InputError(f"ALLOYKIT_WATCHDOG: {text!r} is not a number of seconds or 'off'") from None


def lammps_grace_s() -> float:
    text = os.environ.get("ALLOYKIT_LAMMPS_GRACE", "").strip()
    try:
        return float(text) if text else LAMMPS_GRACE_S
    except ValueError:
        raise InputError(f"ALLOYKIT_LAMMPS_GRACE: {text!r} is not a number of seconds") from None


def _private(comm):
    """A duplicate of ``comm`` for agreement only (collective on first use): a peer stuck in
    a collective of ``comm`` (inside LAMMPS) can then never be matched with ours. Cached on
    ``comm`` as an MPI attribute, so it goes when ``comm`` is freed."""
    global _keyval
    from mpi4py import MPI

    if _keyval is None:
        _keyval = MPI.Comm.Create_keyval()
    dup = comm.Get_attr(_keyval)
    if dup is None:
        dup = comm.Dup()
        comm.Set_attr(_keyval, dup)
    return dup


def end_job(message: str, status: int = EXIT_STATUS) -> None:
    """Print ``message`` once (from this rank) and end every rank of the job (MPI_Abort):
    the last resort when the others cannot be reached through an agreement."""
    from mpi4py import MPI

    sys.stdout.flush()
    print(f"{_label}: {message}", file=sys.stderr, flush=True)
    time.sleep(0.5)         # let mpiexec forward the line before it tears the job down
    try:
        MPI.COMM_WORLD.Abort(status)
    finally:
        # MPICH's Abort can return before the process manager kills this rank (seen on a
        # loaded machine: the wait loop then timed out again and printed a second line)
        os._exit(status)


def _wait(req, limit: float | None, on_timeout) -> None:
    """Wait for a nonblocking request: spin for a moment (peers usually arrive together),
    then sleep between tests, so waiting ranks leave the cores to the working ones."""
    t0 = time.monotonic()
    poll = 0.0
    while not req.Test():
        waited = time.monotonic() - t0
        if limit is not None and waited > limit:
            on_timeout(waited)
        if waited > 0.002:
            poll = min(0.005, poll + 0.0002)
            time.sleep(poll)


def _payload(e: BaseException, rank: int) -> tuple:
    """What every rank needs to raise the same error: (module, class name, message)."""
    if isinstance(e, AlloykitError):
        cls, msg = type(e), one_line(e)
    elif isinstance(e, OSError):
        cls = InputError
        msg = f"{e.filename}: {e.strerror or one_line(e)}" if e.filename is not None else one_line(e)
    else:
        cls, msg = PeerError, f"rank {rank}: {type(e).__name__}: {one_line(e)}"
    return cls.__module__, cls.__qualname__, msg


def _rebuild(payload: tuple) -> AlloykitError:
    import importlib

    module, qualname, msg = payload
    try:
        cls = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        error = cls(msg) if isinstance(cls, type) and issubclass(cls, AlloykitError) else PeerError(msg)
    except Exception:       # a class that cannot be rebuilt from its message alone
        error = PeerError(msg)
    error.agreed = True
    return error


def is_agreed(e: BaseException) -> bool:
    """True for an error that every rank of its communicator raised through :func:`agree`."""
    return bool(getattr(e, "agreed", False))


def settle(comm, error: BaseException | None, where: str, limit: float | None = QUICK_S,
           grace: float | None = None) -> AlloykitError | None:
    """Collective: each rank gives its own outcome of the step ``where`` (an exception or
    None); every rank gets None (all succeeded) or the first failing rank's error, rebuilt.

    limit: the watchdog, seconds a rank waits for its peers (None: for ever; overridden by
    ALLOYKIT_WATCHDOG). grace: the wait of a rank that failed, if shorter; past it the rank
    prints its error and ends the job (its peers are taken to be stuck where it failed).
    """
    import numpy as np
    from mpi4py import MPI

    dup = _private(comm)
    rank, size = dup.Get_rank(), dup.Get_size()
    # the first failing rank speaks; one whose error only reports another rank's
    # (``secondary``, e.g. the plugin's "failed on another MPI rank") comes after the rest
    key = 2 * size if error is None else rank + (size if getattr(error, "secondary", False) else 0)
    mine = np.array([key], dtype=np.int64)
    first = np.zeros(1, dtype=np.int64)
    req = dup.Iallreduce(mine, first, op=MPI.MIN)
    limit = limit_s(limit)
    if error is not None and grace is not None:
        limit = grace if limit is None else min(limit, grace)

        def timeout(waited):
            end_job(f"{one_line(error)} (rank {rank}; the other ranks did not reach {where} "
                    f"within {waited:.0f} s: ending the job)")
    else:
        def timeout(waited):
            end_job(f"watchdog: rank {rank} waited {waited:.0f} s for the other ranks at {where} "
                    f"(limit {limit:g} s; set ALLOYKIT_WATCHDOG=off or more seconds for longer steps)")
    _wait(req, limit, timeout)
    first = int(first[0])
    if first == 2 * size:
        return None
    payload = dup.bcast(_payload(error, rank) if rank == first % size else None, root=first % size)
    return _rebuild(payload)


@contextmanager
def agree(comm, where: str, limit: float | None = QUICK_S, grace: float | None = None):
    """Run the block on every rank of ``comm``, then agree on its success (see :func:`settle`):
    a failure on any rank raises the same error on every rank. ``where`` names the step
    (watchdog messages). Serial (``comm`` None or one rank): the block runs as is."""
    if comm is None or comm.Get_size() == 1:
        yield
        return
    _private(comm)      # made now, while every rank is here (it is collective)
    error = None
    try:
        yield
    except Exception as e:
        error = e
    agreed = settle(comm, error, where, limit, grace)
    if agreed is not None:
        raise agreed from error


def on_root(comm, where: str, fn, *args, limit: float | None = QUICK_S, **kwargs):
    """``fn(*args, **kwargs)`` on rank 0 only, agreed and its result sent to every rank
    (the others wait, sleeping, up to ``limit``). Serial: just the call."""
    if comm is None or comm.Get_size() == 1:
        return fn(*args, **kwargs)
    result = None
    with agree(comm, where, limit):
        if comm.Get_rank() == 0:
            result = fn(*args, **kwargs)
    return _private(comm).bcast(result, root=0)


def make_folder(comm, path, option: str = "out"):
    """Make the output folder ``path`` (parents too; fine if it exists) on every rank,
    agreed: each rank must see it as a folder (an existing file there fails everywhere)."""
    from pathlib import Path

    path = Path(path)
    with agree(comm, f"making the folder {path}"):
        try:
            path.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise InputError(f"{option}: {path} exists and is not a folder") from None
        except OSError as e:
            raise InputError(f"{option}: cannot make the folder {path}: {e.strerror or e}") from None
    return path


# --- jobs started by a driver ---------------------------------------------------------------
# A driver that starts ``mpiexec`` (``alloykit neb run`` without mpiexec) must take the job
# with it when it dies, kill -9 included, or the ranks go on computing with nobody to stop
# them. Hydra puts each of its proxies and ranks in a process group of its own, so a signal
# to the driver's group does not reach them; but hydra tears the whole job down when its
# ``mpiexec`` ends (measured: proxies and ranks gone 0.1-0.3 s after). So the kernel sends
# ``mpiexec`` SIGTERM when the driver dies (``PR_SET_PDEATHSIG``), and every rank also
# watches the driver (``ALLOYKIT_DRIVER_PID``), for launchers that do not clean up.
DRIVER_ENV = "ALLOYKIT_DRIVER_PID"
_PR_SET_PDEATHSIG = 1


def _die_with(parent: int):
    """preexec_fn: the child gets SIGTERM when ``parent`` (the thread that forks it) dies.
    libc is looked up here, before the fork: the child only makes the system call."""
    import ctypes
    import signal

    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def pre():
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:     # the driver died before prctl: nobody would signal us
            os._exit(EXIT_STATUS)
    return pre


def run_tied(cmd, env=None, **kwargs):
    """``subprocess.run(cmd, ...)`` for a child job (``mpiexec ...``) that must not outlive
    this process: it is ended when this process dies (any signal) or leaves the wait with
    an exception (Ctrl-C): SIGTERM, then SIGKILL after 10 s. Call it from the main thread
    (the kernel's parent-death signal follows the thread that started the child)."""
    import signal
    import subprocess

    env = dict(os.environ if env is None else env)
    env[DRIVER_ENV] = str(os.getpid())
    timeout = kwargs.pop("timeout", None)
    if kwargs.pop("capture_output", False):
        kwargs.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with subprocess.Popen(cmd, env=env, preexec_fn=_die_with(os.getpid()), **kwargs) as p:
        try:
            out, err = p.communicate(timeout=timeout)
        except BaseException:
            p.send_signal(signal.SIGTERM)       # hydra ends its proxies and ranks on SIGTERM
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
            raise
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def exit_with_driver(poll: float = 1.0) -> None:
    """In a rank started by :func:`run_tied`: end this process when the driver is gone
    (a daemon thread polls it). Nothing to do when not started by a driver."""
    import threading

    text = os.environ.get(DRIVER_ENV, "")
    if not text.isdigit():
        return
    pid = int(text)
    try:
        fd = os.pidfd_open(pid)     # immune to pid reuse from here on
    except (AttributeError, OSError):
        fd = None
        if not _alive(pid):
            os._exit(EXIT_STATUS)

    def watch():
        import select

        while True:
            if fd is not None:
                gone = bool(select.select([fd], [], [], poll)[0])
            else:
                time.sleep(poll)
                gone = not _alive(pid)
            if gone:
                print(f"{_label}: the driver (pid {pid}) is gone: ending this rank", file=sys.stderr, flush=True)
                os._exit(EXIT_STATUS)
    threading.Thread(target=watch, name="alloykit-driver-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
