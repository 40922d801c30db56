"""Planning a dataset and farming its vacancies over MPI.

``mpiexec -n N alloykit neb run ... --replicas R`` splits the N ranks into N/R groups
(``comm.Split``); each group is one LAMMPS universe of R one-rank partitions and works
through its share of the pending vacancies (task k goes to group k mod N/R), writing each
finished vacancy to the dataset itself. Without mpiexec, :func:`launch` starts
``mpiexec -n groups*R python -m alloykit.neb DATASET`` and waits.

One run at a time per dataset: rank 0 holds an exclusive lock on ``DATASET.lock`` (the
kernel drops it when the process dies, kill -9 included; the file goes when the run ends).
A driver killed, even by kill -9, takes its mpiexec job with it
(:func:`alloykit.parallel.run_tied`). Any error on any rank aborts the whole job (``MPI_Abort``, one line: groups work apart, with no common step to agree
at): a rerun resumes from the last finished vacancy. Opening the dataset and checking it
against the job are agreed (:mod:`alloykit.parallel`): every rank ends with the same error.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from ..errors import AlloykitError, InputError, one_line
from ..lmp import safe_token
from ..parallel import DRIVER_ENV, end_job, exit_with_driver, on_root, run_tied
from ..progress import Progress
from ..structures import lattice_sites
from . import samples as smp
from . import store
from .driver import NebSettings, idle_wait, potential, vacancy_hops
from .sites import hop_neighbours


class FarmError(AlloykitError):
    """The dataset is busy, or the MPI job computing it failed."""


def plan_dataset(path, samples, sites, settings: NebSettings, seed: int = 0, recipe: dict | None = None,
                 lattice: str | None = None) -> dict:
    """Create ``path`` with these samples [(id, Atoms)] and vacancy sites, or check that an
    existing one has the same plan (then a run resumes it). Every sample and site is
    validated here (lattice, site range, elements), so bad input fails before any NEB.
    lattice: "bcc" or "fcc" to insist that every sample is one (default: either).
    Returns {"created": bool, "tasks": n}.
    """
    settings.check()
    if not isinstance(settings.potential, str):
        raise InputError("potential: a dataset records its potential by name; use a named one "
                         "(alloykit potentials), or vacancy_hops() for other Potential objects")
    # LAMMPS reads the work files by name: the dataset's folder must be a plain path
    try:
        safe_token(str(Path(path).resolve()) + ".work", "dataset path")
    except ValueError as e:
        raise InputError(one_line(e)) from None
    ids = [str(s) for s, _ in samples]
    if len(set(ids)) != len(ids):
        raise InputError("samples: duplicate sample ids")
    if not samples:
        raise InputError("samples: none given")
    tasks = []
    for k, (sid, atoms) in enumerate(samples):
        chosen = smp.choose_sites(len(atoms), sites, seed, k)
        check_sites(sid, atoms, chosen, settings, lattice)
        tasks += [(sid, s) for s in chosen]
    plan = {"settings": settings.asdict(), "seed": int(seed), "recipe": recipe or {},
            "sites": sites if isinstance(sites, (str, int)) else sorted(int(s) for s in sites),
            "structures_sha256": smp.structures_digest(samples)}
    created = store.create(path, plan, samples, tasks)
    return {"created": created, "tasks": len(tasks)}


def check_sites(sample_id, atoms, sites, settings: NebSettings, lattice: str | None = None) -> None:
    """Vacancy sites of one sample, checked before any NEB: the potential covers its
    elements, it is a lattice (``lattice`` if given) and each site has its first neighbours."""
    potential(settings.potential, atoms.get_chemical_symbols())
    try:
        found = lattice_sites(atoms, 1, lattice)    # once per sample, not per site
    except InputError as e:
        raise InputError(f"sample {sample_id}: {e}") from None
    for site in sites:
        hop_neighbours(atoms, found, site)


def extend_dataset(path, tasks, label: str, info: dict | None = None) -> int:
    """Add vacancy tasks [(sample_id, site)] of samples already in the dataset as one
    labelled round (:func:`alloykit.neb.store.add_tasks`), after checking each site as
    :func:`plan_dataset` does; a run then computes them. Returns the number added."""
    by_sample: dict[str, list[int]] = {}
    for sid, site in tasks:
        by_sample.setdefault(str(sid), []).append(int(site))
    with store.Dataset(path) as ds:
        known = set(ds.sample_ids())
        missing = [sid for sid in by_sample if sid not in known]
        if missing:
            raise InputError(f"{path}: no sample {missing[0]!r} in the dataset")
        settings = NebSettings(**ds.plan["settings"])
        for sid, sites in by_sample.items():
            atoms = ds.sample(sid)
            check_sites(sid, atoms, smp.choose_sites(len(atoms), sites, 0, 0), settings)
    return store.add_tasks(path, tasks, label, info)


class RunLock:
    """One run at a time per dataset: an ``flock`` on ``DATASET.lock``, which the kernel
    drops when its holder dies (kill -9 included), so a lock left by a killed run is simply
    taken over. The file names its holder (pid, host, driver) for the refusal message, and
    is removed when the holder releases it: no litter after a run."""

    def __init__(self, path):
        self.dataset = Path(path)
        self.path = Path(str(path) + ".lock")
        self.fd = None

    def acquire(self) -> None:
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as e:
                raise InputError(f"{self.path}: cannot make the run's lock file ({e.strerror})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "starting up"
                os.close(fd)
                raise FarmError(f"{self.dataset}: another run is computing this dataset ({holder}); "
                                "wait for it, or stop it and rerun to resume") from None
            # a holder that released meanwhile removed the file: the lock must be on the one on disk
            try:
                if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        driver = os.environ.get(DRIVER_ENV, "")
        os.ftruncate(fd, 0)
        os.write(fd, (f"pid {os.getpid()} on {socket.gethostname()}"
                      + (f", started by pid {driver}" if driver.isdigit() else "") + "\n").encode())
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            self.path.unlink(missing_ok=True)    # still held: no other run can have this file locked
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def clear(self) -> None:
        """Remove a lock file left by a run that died (nothing if one still holds it)."""
        try:
            self.acquire()
        except FarmError:
            return
        self.release()


def run_farm(path, comm=None, progress: bool = True) -> dict | None:
    """Compute every pending vacancy of the dataset at ``path`` on ``comm`` (default
    COMM_WORLD), whose size must be a multiple of the plan's replicas. Collective.
    Returns a summary on rank 0 (None elsewhere)."""
    from mpi4py import MPI

    comm = comm or MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    lock = RunLock(path)
    # rank 0 opens the dataset and checks it against the job; every rank ends alike if it fails
    setup = on_root(comm, f"opening the dataset {path}", _setup, path, lock, size)
    settings = NebSettings(**setup["plan"]["settings"])
    R = settings.replicas
    groups, color = size // R, rank // R
    sub = comm.Split(color, rank)
    mine = setup["pending"][color::groups]
    t0 = time.perf_counter()
    try:
        _work(path, sub, color, mine, settings, Path(setup["work"]) / f"g{color}", progress and sub.Get_rank() == 0)
    except Exception as e:
        # groups work apart (no common step to agree at): one line, and the job ends
        end_job(f"group {color}: {one_line(e) if isinstance(e, AlloykitError) else f'{type(e).__name__}: {e}'} "
                f"(rank {rank}; rerun to resume)")
    idle_wait(comm)    # a group that is done must not spin while others work
    sub.Free()
    if rank != 0:
        return None
    shutil.rmtree(setup["work"], ignore_errors=True)
    lock.release()
    return {"groups": groups, "replicas": R, "vacancies": len(setup["pending"]),
            "seconds": time.perf_counter() - t0}


def _setup(path, lock: RunLock, size: int) -> dict:
    """Rank 0: lock and read the dataset, check the job's size, make the work folder."""
    lock.acquire()
    try:
        with store.Dataset(path) as ds:
            plan = ds.plan
        R = int(plan["settings"]["replicas"])
        if size % R:
            raise InputError(f"replicas: {size} MPI ranks do not split into groups of {R}; "
                             f"use mpiexec -n {R}, {2 * R}, ...")
        work = Path(str(path) + ".work")
        shutil.rmtree(work, ignore_errors=True)    # leftovers of a killed run
        work.mkdir()
        return {"plan": plan, "pending": store.pending(path), "work": str(work)}
    except BaseException:
        lock.release()
        raise


def _work(path, sub, color, tasks, settings, workdir, show) -> None:
    leader = sub.Get_rank() == 0
    con = store.connect(path) if leader else None
    cache = {}
    try:
        with Progress(f"neb group {color}", total=len(tasks), enabled=show) as prog:
            for _, sid, site, starts in tasks:
                if leader and starts >= 2:
                    print(f"[neb group {color}] warning: {sid} site {site} was started {starts} times before "
                          "without finishing (runs killed, or LAMMPS crashing on it: see the log)",
                          file=sys.stderr, flush=True)
                if leader:
                    store.mark_started(con, sid, site)
                if sid not in cache:
                    cache.clear()
                    atoms = store.load_sample(path, sid)
                    # the lattice sites of a sample serve all its vacancies; only the leader looks
                    cache[sid] = (atoms, lattice_sites(atoms, 1) if leader else None)
                    idle_wait(sub)
                atoms, sites = cache[sid]
                t = time.perf_counter()
                vac, recs = vacancy_hops(atoms, site, settings, comm=sub, workdir=workdir, sample_id=sid,
                                         sites=sites)
                if leader:
                    store.write_vacancy(con, vac, recs, time.perf_counter() - t, color)
                prog.update(note=f"{sid} site {site}")
    finally:
        if con is not None:
            con.close()


def launch(path, groups: int = 1, replicas: int | None = None, quiet: bool = False) -> dict:
    """Run :func:`run_farm` on ``groups`` x replicas new MPI ranks (``mpiexec``), from a
    process that is not itself under mpiexec. Returns the dataset's status."""
    from .scripts import mpiexec, neb_env

    if replicas is None:
        with store.Dataset(path) as ds:
            replicas = int(ds.settings["replicas"])
    if groups < 1:
        raise InputError(f"groups: {groups}; need at least 1")
    most = max(64, 16 * (os.cpu_count() or 1))     # oversubscribing is fine (MPICH throttled), to a point
    if groups * replicas > most:
        raise InputError(f"groups: {groups} x {replicas} replicas would start {groups * replicas} MPI ranks on "
                         f"{os.cpu_count()} cores (at most {most} here); use fewer groups, or mpiexec on more nodes")
    lock = RunLock(path)    # fail here, in one line, rather than in every rank
    lock.acquire()
    lock.release()
    cmd = [mpiexec(), "-n", str(groups * replicas), sys.executable, "-m", "alloykit.neb", str(path)]
    if quiet:
        cmd.append("--quiet")
    # the farm's own output is progress: keep it off this process's stdout. The job dies
    # with this process (kill -9 included): see alloykit.parallel.run_tied
    try:
        r = run_tied(cmd, env=neb_env(), stdout=subprocess.PIPE if quiet else sys.stderr.fileno(),
                     stderr=subprocess.PIPE if quiet else None, text=True)
    finally:
        lock.clear()        # the job's rank 0 held it; one that failed may have left the file
    if r.returncode != 0:
        tail = (r.stderr or "").strip().splitlines()[-5:] if quiet else []
        raise FarmError(f"NEB farm exited with status {r.returncode}" + (": " + " | ".join(tail) if tail else ""))
    with store.Dataset(path) as ds:
        return ds.status()


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    quiet = "--quiet" in argv
    argv = [a for a in argv if a != "--quiet"]
    if len(argv) != 1:
        print("usage: mpiexec -n N python -m alloykit.neb DATASET [--quiet]", file=sys.stderr)
        return 2
    from mpi4py import MPI

    exit_with_driver()      # started by 'alloykit neb run': end with it, even if mpiexec lingers
    try:
        summary = run_farm(argv[0], MPI.COMM_WORLD, progress=not quiet)
    except AlloykitError as e:
        if MPI.COMM_WORLD.Get_rank() == 0:
            print(f"alloykit.neb: error: {one_line(e)}", file=sys.stderr)
        return 2
    if summary is not None and not quiet:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
