"""The barrier dataset: one SQLite file (WAL journal) that survives kill -9.

Why SQLite: transactions are atomic and durable on a process crash (a half-written
vacancy is rolled back on the next open), several processes may write (each commit takes
the database lock briefly; WAL lets readers, e.g. ``alloykit neb status``, run meanwhile),
and it is one portable file any language reads. WAL needs every writer on one host (it
uses shared memory). For groups spread over several nodes, put the dataset on a
filesystem with working POSIX locks and set ``ALLOYKIT_NEB_JOURNAL=DELETE`` (rollback
journal: slower commits, same guarantees); SQLite over NFS without locks is unsafe.

Layout: ``meta`` (the plan: settings, sample recipe, seed), ``samples`` (each structure,
exactly), ``tasks`` (sample, site) in a fixed order, ``vacancies`` (one row per finished
task: initial-state energy and environment) and ``hops`` (one row per hop). A task's
vacancy row and all its hop rows are committed in one transaction, so a task is either
wholly there or absent; a rerun does the absent ones. Since the plan and every
computation are deterministic, the result equals an uninterrupted run. ``timings`` holds
wall times apart from the records, which therefore compare equal between runs.
"""
from __future__ import annotations

import csv
import json
import math
import os
import sqlite3
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
from ase import Atoms

from ..errors import InputError
from ..structures import HopRecord, composition_of

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS samples(sample_id TEXT PRIMARY KEY, ord INTEGER NOT NULL UNIQUE,
    composition TEXT NOT NULL, natoms INTEGER NOT NULL, structure TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks(task INTEGER PRIMARY KEY, sample_id TEXT NOT NULL,
    site INTEGER NOT NULL, UNIQUE(sample_id, site));
CREATE TABLE IF NOT EXISTS vacancies(sample_id TEXT NOT NULL, site INTEGER NOT NULL,
    energy_initial REAL, unstable INTEGER NOT NULL, lattice TEXT NOT NULL,
    env_positions BLOB NOT NULL, env_species TEXT NOT NULL, env_indices TEXT NOT NULL,
    PRIMARY KEY(sample_id, site));
CREATE TABLE IF NOT EXISTS hops(sample_id TEXT NOT NULL, vacancy_site INTEGER NOT NULL,
    neighbor_site INTEGER NOT NULL, moving_species TEXT NOT NULL, barrier_forward REAL,
    barrier_backward REAL, energy_initial REAL, energy_final REAL, converged INTEGER NOT NULL,
    flag TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY(sample_id, vacancy_site, neighbor_site));
CREATE TABLE IF NOT EXISTS timings(sample_id TEXT, site INTEGER, seconds REAL, grp INTEGER, at TEXT);
CREATE TABLE IF NOT EXISTS starts(sample_id TEXT NOT NULL, site INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY(sample_id, site));
"""
FORMAT = 1
TABLES = {"meta", "samples", "tasks", "vacancies", "hops", "timings", "starts"}


def connect(path, readonly: bool = False) -> sqlite3.Connection:
    """A connection with the settings every writer uses (WAL, full sync, long busy wait)."""
    path = Path(path)
    if readonly and not path.is_file():
        raise InputError(f"{path}: no such dataset")
    mode = os.environ.get("ALLOYKIT_NEB_JOURNAL", "WAL").upper()
    if mode not in ("WAL", "DELETE"):
        raise InputError(f"ALLOYKIT_NEB_JOURNAL: {mode!r} is not WAL or DELETE")
    try:
        con = sqlite3.connect(str(path), timeout=600, isolation_level=None)
    except sqlite3.Error as e:      # a folder that does not exist, no permission
        raise InputError(f"{path}: cannot open the dataset ({e})") from None
    try:
        con.execute("PRAGMA busy_timeout=600000")
        # another program's SQLite file: refuse it before changing anything in it
        foreign = sorted({r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")} - TABLES)
        if foreign:
            con.close()
            raise InputError(f"{path}: not an alloykit NEB dataset (an SQLite database with other tables: "
                             f"{', '.join(foreign[:3])}); give a new file name")
        if not readonly:
            con.execute(f"PRAGMA journal_mode={mode}")
            con.execute("PRAGMA synchronous=FULL")
    except sqlite3.DatabaseError as e:     # a junk file: one line, not sqlite's traceback
        con.close()
        raise InputError(f"{path}: not an alloykit NEB dataset ({e})") from None
    return con


def _nan(v) -> float:
    return float("nan") if v is None else float(v)


def _num(v):
    """SQLite stores NaN as NULL; keep that explicit."""
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def structure_json(atoms: Atoms) -> str:
    """Exact text form of a structure (floats as repr)."""
    return json.dumps({"symbols": atoms.get_chemical_symbols(), "cell": atoms.cell.array.tolist(),
                       "pbc": [bool(p) for p in atoms.pbc], "positions": atoms.positions.tolist()})


def structure_atoms(text: str) -> Atoms:
    d = json.loads(text)
    return Atoms(d["symbols"], positions=d["positions"], cell=d["cell"], pbc=d["pbc"])


# ---------------------------------------------------------------------------------------
# writing
def create(path, plan: dict, samples, tasks) -> bool:
    """Write the plan, samples [(id, Atoms)] and tasks [(id, site)] in one transaction, or
    check that an existing dataset has the same plan. Returns True when created.

    Raises InputError naming the first field that differs from the stored plan.
    """
    with closing(connect(path)) as con:
        con.executescript(SCHEMA)
        with transaction(con):
            row = con.execute("SELECT value FROM meta WHERE key='plan'").fetchone()
            if row is not None:
                old = json.loads(row[0])
                new = json.loads(json.dumps(plan))
                if old != new:
                    raise InputError(f"{path}: exists with a different plan ({_first_difference(old, new)}); "
                                     "rerun with the same options to resume, or use a new dataset file")
                return False
            con.execute("INSERT INTO meta VALUES('format', ?)", (str(FORMAT),))
            con.execute("INSERT INTO meta VALUES('plan', ?)", (json.dumps(plan),))
            for k, (sid, atoms) in enumerate(samples):
                con.execute("INSERT INTO samples VALUES(?,?,?,?,?)", (str(sid), k, json.dumps(composition_of(atoms)),
                                                                       len(atoms), structure_json(atoms)))
            con.executemany("INSERT INTO tasks(sample_id, site) VALUES(?,?)", [(str(s), int(i)) for s, i in tasks])
            return True


@contextmanager
def transaction(con: sqlite3.Connection):
    """BEGIN IMMEDIATE (the write lock at once, so two writers never deadlock half-way),
    COMMIT when the block ends, ROLLBACK on any exception (kill included: SQLite rolls an
    uncommitted transaction back on the next open)."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def add_tasks(path, tasks, label: str, info: dict | None = None) -> int:
    """Append vacancy tasks [(sample_id, site)] to an existing dataset as one labelled
    round (e.g. chosen by active learning), in one transaction; tasks already planned are
    skipped. The round (label, its tasks in order, ``info``) is kept in meta ``rounds``.
    Returns the number added."""
    with closing(connect(path)) as con, transaction(con):
        known = {r[0] for r in con.execute("SELECT sample_id FROM samples")}
        bad = [s for s, _ in tasks if str(s) not in known]
        if bad:
            raise InputError(f"{path}: no sample {bad[0]!r} in the dataset")
        have = {(s, int(i)) for s, i in con.execute("SELECT sample_id, site FROM tasks")}
        new = []
        for s, i in tasks:
            if (str(s), int(i)) not in have and (str(s), int(i)) not in new:
                new.append((str(s), int(i)))
        row = con.execute("SELECT value FROM meta WHERE key='rounds'").fetchone()
        rounds = json.loads(row[0]) if row else []
        rounds.append({"label": str(label), "tasks": [list(t) for t in new], "info": info or {}})
        con.execute("INSERT OR REPLACE INTO meta VALUES('rounds', ?)", (json.dumps(rounds),))
        con.executemany("INSERT INTO tasks(sample_id, site) VALUES(?,?)", new)
        return len(new)


def _first_difference(old, new, where="plan") -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        for k in sorted(set(old) | set(new)):
            if old.get(k) != new.get(k):
                return _first_difference(old.get(k), new.get(k), f"{where}.{k}")
    return f"{where}: stored {json.dumps(old)[:60]}, now {json.dumps(new)[:60]}"


def pending(path) -> list[tuple[int, str, int, int]]:
    """Tasks without a vacancy row, in task order: (task, sample_id, site, times started)."""
    con = connect(path)
    try:
        con.executescript(SCHEMA)    # datasets made before the 'starts' table
        return [tuple(r) for r in con.execute(
            "SELECT t.task, t.sample_id, t.site, COALESCE(s.n, 0) FROM tasks t LEFT JOIN vacancies v "
            "ON v.sample_id = t.sample_id AND v.site = t.site LEFT JOIN starts s "
            "ON s.sample_id = t.sample_id AND s.site = t.site WHERE v.site IS NULL ORDER BY t.task")]
    finally:
        con.close()


def mark_started(con: sqlite3.Connection, sample_id: str, site: int) -> None:
    """Count the starts of a task: one started again and again without finishing (a
    crash inside LAMMPS takes the whole MPI job down) is reported by the next run."""
    con.execute("INSERT INTO starts VALUES(?,?,1) ON CONFLICT(sample_id, site) DO UPDATE SET n = n + 1",
                (sample_id, int(site)))


def load_sample(path, sample_id: str) -> Atoms:
    con = connect(path, readonly=True)
    try:
        row = con.execute("SELECT structure FROM samples WHERE sample_id=?", (sample_id,)).fetchone()
    finally:
        con.close()
    if row is None:
        raise InputError(f"{path}: no sample {sample_id!r}")
    return structure_atoms(row[0])


# fields of a hop row that have no column of their own: they go to its ``data`` JSON
DATA_FIELDS = ("hop_vector", "lattice", "lattice_parameter")


def write_vacancy(con: sqlite3.Connection, vacancy: dict, records: list[HopRecord], seconds: float = 0.0,
                  group: int = 0) -> None:
    """One finished task, atomically: its vacancy row and every hop row. The environment
    is stored once, in the vacancy row; a hop row keeps its scalars in columns and the
    rest (``DATA_FIELDS`` and ``extra`` but the environment indices) in ``data``."""
    with transaction(con):
        pos = np.ascontiguousarray(vacancy["positions"], dtype="<f8").reshape(-1, 3)
        con.execute("INSERT INTO vacancies VALUES(?,?,?,?,?,?,?,?)",
                    (vacancy["sample_id"], vacancy["vacancy_site"], _num(vacancy["energy_initial"]),
                     int(vacancy["unstable"]), vacancy["lattice"], pos.tobytes(), json.dumps(vacancy["species"]),
                     json.dumps([int(i) for i in vacancy["indices"]])))
        for r in records:
            data = {"hop_vector": np.asarray(r.hop_vector).tolist(), "lattice": r.lattice,
                    "lattice_parameter": r.lattice_parameter}
            data.update({k: v for k, v in r.extra.items() if k != "env_indices"})
            data = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in data.items()}
            con.execute("INSERT INTO hops VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                        (r.sample_id, r.vacancy_site, r.neighbor_site, r.moving_species,
                         _num(r.barrier_forward), _num(r.barrier_backward), _num(r.energy_initial),
                         _num(r.energy_final), int(bool(r.converged)), r.flag, json.dumps(data)))
        con.execute("INSERT INTO timings VALUES(?,?,?,?,datetime('now'))",
                    (vacancy["sample_id"], vacancy["vacancy_site"], float(seconds), int(group)))


# ---------------------------------------------------------------------------------------
# reading
class Dataset:
    """A barrier dataset opened for reading (see the ``alloykit.neb`` docstring)."""

    def __init__(self, path):
        self.path = Path(path)
        self._con = connect(self.path, readonly=True)
        try:
            row = self._con.execute("SELECT value FROM meta WHERE key='plan'").fetchone()
        except sqlite3.DatabaseError as e:
            raise InputError(f"{path}: not an alloykit NEB dataset ({e})") from None
        if row is None:
            raise InputError(f"{path}: not an alloykit NEB dataset (no plan)")
        self.plan = json.loads(row[0])
        self.settings = self.plan.get("settings", {})
        self._samples = {sid: (json.loads(c), n, o) for sid, c, n, o in
                         self._con.execute("SELECT sample_id, composition, natoms, ord FROM samples")}
        self._env = {}

    @property
    def species(self) -> list[str]:
        return sorted({el for comp, _, _ in self._samples.values() for el in comp})

    @property
    def env_cutoff(self) -> float:
        return float(self.settings.get("env_cutoff", 8.0))

    def __len__(self) -> int:
        """Number of hop records, flagged ones included (see :meth:`count`)."""
        return self._con.execute("SELECT COUNT(*) FROM hops").fetchone()[0]

    def count(self, converged_only: bool = True) -> int:
        q = "SELECT COUNT(*) FROM hops" + (" WHERE converged=1 AND flag=''" if converged_only else "")
        return self._con.execute(q).fetchone()[0]

    def _vacancy(self, sample_id, site):
        key = (sample_id, site)
        if key not in self._env:
            if len(self._env) > 256:
                self._env.clear()
            pos, sp, ind = self._con.execute("SELECT env_positions, env_species, env_indices FROM vacancies "
                                             "WHERE sample_id=? AND site=?", key).fetchone()
            self._env[key] = (np.frombuffer(pos, dtype="<f8").reshape(-1, 3).copy(), json.loads(sp), json.loads(ind))
        return self._env[key]

    def records(self, converged_only: bool = True) -> Iterator[HopRecord]:
        """Hop records in plan order. converged_only: only usable barriers (NEB converged
        and no flag); False also yields flagged ones (their barriers may be NaN).
        ``lattice_parameter`` is NaN in datasets written before it was stored."""
        where = " WHERE h.converged=1 AND h.flag=''" if converged_only else ""
        rows = self._con.execute(
            "SELECT h.sample_id, h.vacancy_site, h.neighbor_site, h.moving_species, h.barrier_forward, "
            "h.barrier_backward, h.energy_initial, h.energy_final, h.converged, h.flag, h.data "
            "FROM hops h JOIN samples s ON s.sample_id = h.sample_id" + where +
            " ORDER BY s.ord, h.vacancy_site, h.neighbor_site").fetchall()
        for sid, vs, ns, sp, bf, bb, ei, ef, conv, flag, data in rows:
            extra = json.loads(data)
            pos, species, indices = self._vacancy(sid, vs)
            hop = extra.pop("hop_vector", None)
            extra["mep_energies"] = [_nan(v) for v in extra.get("mep_energies", [])]
            for k in ("max_force", "path_length"):
                if k in extra:
                    extra[k] = _nan(extra[k])
            yield HopRecord(vacancy_site=vs, neighbor_site=ns, moving_species=sp,
                            hop_vector=[np.nan] * 3 if hop is None else hop, env_positions=pos.copy(),
                            env_species=list(species), env_cutoff=self.env_cutoff, lattice=extra.pop("lattice", "") or "",
                            lattice_parameter=_nan(extra.pop("lattice_parameter", None)),
                            sample_id=sid, composition=dict(self._samples[sid][0]), barrier_forward=_nan(bf),
                            barrier_backward=_nan(bb), energy_initial=_nan(ei), energy_final=_nan(ef),
                            converged=bool(conv), flag=flag, extra={"env_indices": list(indices), **extra})

    def arrays(self, converged_only: bool = True) -> dict:
        """Column arrays of the scalar fields (plus ``hop_vector`` as N x 3)."""
        recs = list(self.records(converged_only))
        keys = ("sample_id", "vacancy_site", "neighbor_site", "moving_species", "barrier_forward",
                "barrier_backward", "energy_initial", "energy_final", "converged", "flag", "lattice",
                "lattice_parameter")
        out = {k: np.array([getattr(r, k) for r in recs]) for k in keys}
        out["hop_vector"] = np.array([r.hop_vector for r in recs]).reshape(-1, 3)
        return out

    def sample(self, sample_id: str) -> Atoms:
        """The sample as it was given (before the vacancy)."""
        return load_sample(self.path, sample_id)

    def rounds(self) -> list[dict]:
        """Tasks added after the plan (:func:`add_tasks`): [{label, tasks, info}]."""
        row = self._con.execute("SELECT value FROM meta WHERE key='rounds'").fetchone()
        return json.loads(row[0]) if row else []

    def tasks(self) -> list[tuple[str, int]]:
        """Every planned vacancy (sample_id, site), in task order."""
        return [(s, int(i)) for s, i in self._con.execute("SELECT sample_id, site FROM tasks ORDER BY task")]

    def first_round(self) -> list[tuple[str, int]]:
        """The vacancies of the plan itself, before any added round (rounds are appended
        after it in task order)."""
        tasks = self.tasks()
        return tasks[:len(tasks) - sum(len(r["tasks"]) for r in self.rounds())]

    def timings(self) -> dict[tuple[str, int], float]:
        """Wall seconds of each computed vacancy (sample_id, site) (the last run's)."""
        return {(s, int(i)): float(t) for s, i, t in self._con.execute("SELECT sample_id, site, seconds FROM timings")}

    def sample_ids(self) -> list[str]:
        return [sid for sid, _ in sorted(self._samples.items(), key=lambda kv: kv[1][2])]

    @staticmethod
    def env_atoms(record: HopRecord) -> Atoms:
        """The record's environment as ase.Atoms: vacancy at the origin, no cell; the hop
        and barriers in ``info``."""
        a = Atoms(record.env_species, positions=record.env_positions)
        a.info.update({k: getattr(record, k) for k in ("sample_id", "vacancy_site", "neighbor_site", "moving_species",
                                                       "barrier_forward", "barrier_backward", "flag")})
        a.info["hop_vector"] = record.hop_vector.tolist()
        return a

    def to_ase(self, converged_only: bool = True) -> list[Atoms]:
        return [self.env_atoms(r) for r in self.records(converged_only)]

    def status(self) -> dict:
        q = self._con.execute
        tasks = q("SELECT COUNT(*) FROM tasks").fetchone()[0]
        done = q("SELECT COUNT(*) FROM vacancies").fetchone()[0]
        flags = dict(q("SELECT flag, COUNT(*) FROM hops GROUP BY flag").fetchall())
        by_species = {}
        for sp, n, mean, lo, hi in q("SELECT moving_species, COUNT(*), AVG(barrier_forward), MIN(barrier_forward), "
                                     "MAX(barrier_forward) FROM hops WHERE converged=1 AND flag='' "
                                     "GROUP BY moving_species ORDER BY moving_species"):
            by_species[sp] = {"count": n, "mean_eV": mean, "min_eV": lo, "max_eV": hi}
        seconds = q("SELECT SUM(seconds) FROM timings").fetchone()[0] or 0.0
        return {"dataset": str(self.path), "samples": len(self._samples), "vacancies_planned": tasks,
                "vacancies_done": done, "hops": len(self), "usable_barriers": self.count(True),
                "flags": {k or "ok": v for k, v in flags.items()}, "by_moving_species": by_species,
                "compute_seconds": seconds, "settings": self.settings}

    def export(self, out, converged_only: bool = False) -> Path:
        """Plain files: ``.jsonl`` (one :meth:`HopRecord.to_dict` per line, environment
        included; NaN as null) or ``.csv`` (scalar fields and the MEP, no environment)."""
        out = Path(out)
        if out.suffix not in (".jsonl", ".csv"):
            raise InputError(f"output: {out.name!r} must end in .jsonl or .csv")
        recs = (r.to_dict() for r in self.records(converged_only))
        with open(out, "w", newline="") as f:
            if out.suffix == ".jsonl":
                for r in recs:
                    f.write(json.dumps(_finite(r)) + "\n")
                return out
            cols = ["sample_id", "vacancy_site", "neighbor_site", "moving_species", "barrier_forward",
                    "barrier_backward", "energy_initial", "energy_final", "converged", "flag", "composition",
                    "hop_vector", "mep_energies", "lattice", "lattice_parameter"]
            w = csv.writer(f)
            w.writerow(cols)
            for r in recs:
                w.writerow([json.dumps(_finite(r[c])) if isinstance(r[c], (dict, list)) else r[c] for c in cols])
        return out

    def close(self) -> None:
        self._con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _finite(v):
    """JSON has no NaN: write null."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_finite(x) for x in v]
    return v


def open_dataset(path) -> Dataset:
    """Open a barrier dataset for reading."""
    return Dataset(path)
