"""The barrier dataset: atomic under SIGKILL, kill -9 and rerun equals an uninterrupted
run, two MPI groups writing at once, reading back (records, arrays, ASE, export, CLI)."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import VENV_BIN, run, run_env

from alloykit.neb import open_dataset
from alloykit.neb.farm import RunLock
from alloykit.structures import HopRecord

# the store is under test, not the physics: a looser NEB tolerance keeps the runs short
OPTIONS = ["--composition", "Fe=0.8,Cr=0.2", "--size", "3", "--sites", "2", "--replicas", "3", "--seed", "7",
           "--potential", "FeCr", "--ftol", "0.01"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Uninterrupted run of OPTIONS on two MPI groups of 3 ranks (both write the dataset)."""
    path = tmp_path_factory.mktemp("neb_ref") / "ref.sqlite"
    r = run([str(VENV_BIN / "mpiexec"), "-n", "6", str(VENV_BIN / "alloykit"), "neb", "run", str(path), *OPTIONS],
            timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    return path


def vacancies_done(path) -> int:
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            return con.execute("SELECT COUNT(*) FROM vacancies").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


def check_whole(path):
    """No torn task: the file is sound and every vacancy has all its hops (8 in BCC)."""
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        per = con.execute("SELECT v.site, COUNT(h.neighbor_site) FROM vacancies v LEFT JOIN hops h "
                          "ON h.sample_id = v.sample_id AND h.vacancy_site = v.site GROUP BY v.sample_id, v.site").fetchall()
        assert all(n == 8 for _, n in per), per
        orphans = con.execute("SELECT COUNT(*) FROM hops h LEFT JOIN vacancies v ON h.sample_id = v.sample_id "
                              "AND h.vacancy_site = v.site WHERE v.site IS NULL").fetchone()[0]
        assert orphans == 0
        return len(per)
    finally:
        con.close()


def comparable(path):
    with open_dataset(path) as ds:
        return [r.to_dict() for r in ds.records(converged_only=False)]


@pytest.mark.mpi
def test_kill_9_and_rerun_equals_uninterrupted_run(reference, tmp_path):
    path = tmp_path / "killed.sqlite"
    cmd = [str(VENV_BIN / "alloykit"), "neb", "run", str(path), *OPTIONS]
    # SIGKILL the whole job (CLI, mpiexec, ranks) while the second vacancy is computing
    proc = subprocess.Popen(cmd, env=run_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while vacancies_done(path) < 1 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    done = check_whole(path)
    assert done == 1
    r = run(cmd, timeout=900)                                   # the same command resumes
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads(r.stdout)["vacancies_done"] == 2
    assert check_whole(path) == 2
    assert comparable(path) == comparable(reference)           # bit for bit


def test_sqlite_commits_are_atomic_under_sigkill(tmp_path):
    """A writer hammering the store is killed at random moments: never a torn vacancy."""
    from alloykit.neb import store

    path = tmp_path / "hammer.sqlite"
    store.create(path, {"settings": {}}, [], [])
    writer = f"""
import numpy as np
from alloykit.neb import store
from alloykit.structures import HopRecord
con = store.connect({str(path)!r})
print("writing", flush=True)
k = 0
while True:
    vac = {{"sample_id": "s", "vacancy_site": k, "energy_initial": -1.0, "unstable": False, "lattice": "bcc",
           "positions": np.random.rand(3000, 3), "species": ["Fe"] * 3000, "indices": list(range(3000))}}
    recs = [HopRecord(sample_id="s", vacancy_site=k, neighbor_site=j, moving_species="Fe", hop_vector=np.ones(3),
                      env_positions=np.zeros((0, 3)), env_species=[], env_cutoff=8.0, barrier_forward=0.6,
                      barrier_backward=0.6, energy_initial=-1.0, energy_final=-1.0, converged=True, flag="",
                      extra={{"mep_energies": list(np.random.rand(11))}}) for j in range(8)]
    store.write_vacancy(con, vac, recs)
    k += 1
"""
    rng = np.random.default_rng(3)
    for _ in range(4):
        p = subprocess.Popen([sys.executable, "-c", writer], env=run_env(), stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline() == "writing\n"     # imports take seconds on a loaded machine
        time.sleep(0.3 + rng.random())
        p.send_signal(signal.SIGKILL)
        p.wait()
        check_whole(path)
    assert check_whole(path) > 3


def test_dataset_reading(reference, tmp_path):
    with open_dataset(reference) as ds:
        assert len(ds) == 16 and ds.species == ["Cr", "Fe"]
        recs = list(ds.records())
        assert len(recs) == ds.count() > 0 and all(r.converged and r.flag == "" and r.usable for r in recs)
        r = recs[0]
        assert isinstance(r, HopRecord)
        assert isinstance(r.sample_id, str) and r.composition == {"Cr": 0.2037037037037037, "Fe": 0.7962962962962963}
        assert r.env_positions.shape == (len(r.env_species), 3) and r.env_cutoff == 8.0
        assert r.hop_vector.shape == (3,) and r.moving_species in ("Fe", "Cr")
        assert r.barrier_forward > 0 and len(r.extra["mep_energies"]) == 3
        # the unrelaxed sample's lattice (3 x 3 x 3 cubes, Vegard's a), not the relaxed one's
        a = ds.sample(r.sample_id).cell.lengths()[0] / 3
        assert all(q.lattice == "bcc" and q.lattice_parameter == pytest.approx(a, rel=1e-12) for q in recs)
        arr = ds.arrays()
        assert arr["barrier_forward"].shape == (len(recs),) and arr["hop_vector"].shape == (len(recs), 3)
        atoms = ds.to_ase()[0]
        assert len(atoms) == len(r.env_species) and atoms.info["barrier_forward"] == r.barrier_forward
        assert len(ds.sample(r.sample_id)) == 54
        n_all = len(list(ds.records(converged_only=False)))
    out = tmp_path / "all.jsonl"
    r = run(["alloykit", "neb", "export", str(reference), "-o", str(out), "--all"])
    assert r.returncode == 0, r.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == n_all and "env_positions" in json.loads(lines[0])
    # a line is HopRecord.to_dict(): it reads back as the same record
    with open_dataset(reference) as ds:
        first = next(ds.records(converged_only=False))
    back = HopRecord.from_dict(json.loads(lines[0]))
    assert back.to_dict() == first.to_dict() and back.lattice == "bcc"
    r = run(["alloykit", "neb", "export", str(reference), "-o", str(tmp_path / "ok.csv")])
    assert r.returncode == 0 and len((tmp_path / "ok.csv").read_text().splitlines()) == len(recs) + 1
    r = run(["alloykit", "neb", "spectrum", str(reference), "-o", str(tmp_path / "s.png")])
    assert r.returncode == 0 and (tmp_path / "s.png").stat().st_size > 1000
    assert json.loads(r.stdout)["usable"] == len(recs)
    r = run(["alloykit", "neb", "status", str(reference)])
    assert r.returncode == 0 and json.loads(r.stdout)["vacancies_done"] == 2


def test_one_run_per_dataset_and_plan_is_checked(reference, tmp_path):
    lock = RunLock(reference)
    lock.acquire()
    try:
        r = run(["alloykit", "neb", "run", str(reference), *OPTIONS])
        assert r.returncode == 2 and "another run is computing" in r.stderr
        assert f"(pid {os.getpid()} on " in r.stderr.splitlines()[-1], r.stderr
    finally:
        lock.release()
    assert not lock.path.exists()          # no litter beside the dataset
    # files that are no dataset: one line naming the file, and the file left as it was
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t(x)")
    con.commit()
    con.close()
    (tmp_path / "notes.txt").write_text("some notes\n")
    for path, why in ((other, "an SQLite database with other tables: t"), (tmp_path / "notes.txt", "")):
        before = path.read_bytes()
        r = run(["alloykit", "neb", "run", str(path), *OPTIONS])
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert f"{path}: not an alloykit NEB dataset ({why}" in r.stderr.splitlines()[-1], r.stderr
        assert path.read_bytes() == before and not Path(str(path) + ".lock").exists()
    r = run(["alloykit", "neb", "run", str(reference), *OPTIONS, "--spring", "4"])
    assert r.returncode == 2 and "different plan" in r.stderr and "plan.settings.spring" in r.stderr, r.stderr
    r = run(["alloykit", "neb", "status", str(tmp_path / "none.sqlite")])
    assert r.returncode == 2 and "no such dataset" in r.stderr


def test_dataset_written_before_lattice_parameter_still_reads(tmp_path):
    """A hop row as the first format wrote it (no lattice_parameter): a HopRecord with NaN
    there (consumers fill it from the environment), the rest as before."""
    from ase.build import bulk

    from alloykit.neb import store

    path = tmp_path / "old.sqlite"
    store.create(path, {"settings": {"env_cutoff": 5.0}}, [("s", bulk("Fe", "bcc", a=2.855, cubic=True).repeat(2))],
                 [("s", 0)])
    con = store.connect(path)
    con.execute("INSERT INTO vacancies VALUES(?,?,?,?,?,?,?,?)",
                ("s", 0, -60.0, 0, "bcc", np.full((1, 3), 1.4).tobytes(), json.dumps(["Fe"]), json.dumps([1])))
    data = {"mep_energies": [0.0, 0.62, None], "mep_coords": [0, 0.5, 1], "hop_vector": [1.4, 1.4, 1.4],
            "env_moving_index": 0, "neb_steps": 40, "max_force": None, "path_length": 2.5, "climbing_replica": 1,
            "replicas": 3, "lattice": "bcc", "potential": "Fe_mm", "error": ""}
    con.execute("INSERT INTO hops VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                ("s", 0, 1, "Fe", 0.62, 0.62, -60.0, -60.0, 1, "", json.dumps(data)))
    con.close()
    with open_dataset(path) as ds:
        (r,) = list(ds.records())
        ds.export(tmp_path / "old.jsonl")
    assert isinstance(r, HopRecord) and r.usable and r.lattice == "bcc" and np.isnan(r.lattice_parameter)
    assert r.hop_vector.tolist() == [1.4, 1.4, 1.4] and r.env_species == ["Fe"] and r.env_cutoff == 5.0
    assert r.extra["env_indices"] == [1] and np.isnan(r.extra["mep_energies"][2]) and np.isnan(r.extra["max_force"])
    back = HopRecord.from_dict(json.loads((tmp_path / "old.jsonl").read_text()))
    assert np.isnan(back.lattice_parameter) and back.barrier_forward == 0.62 and back.extra["potential"] == "Fe_mm"
