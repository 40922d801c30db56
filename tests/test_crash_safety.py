"""Kill -9 and rerun (issue 15): ``alloykit neb run``, ``alloykit mcmd`` and ``alloykit cnn
train`` are killed at random (seeded) moments, only the command's own process as a user
would, then run again with the same command until done. Checked every time: nothing of the
killed job is left (mpiexec, its proxy, the ranks: every process started with the test's
tag in its environment); at the end: the result equals an uninterrupted run with 0 lost, 0
duplicated and 0 corrupt records, and no lock or work files are left beside the dataset.

The scenarios are functions returning their figures, so that
``benchmarks/bench_crash_safety.py`` runs the same at 20 moments per command.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from conftest import VENV_BIN, run_env

ALLOYKIT = str(VENV_BIN / "alloykit")
KILLS = 2               # moments per command here (the benchmark: 20)
LATE = (0.5, 0.95)      # here: late moments, past start-up (imports), so the kills hit work
NEB_OPTIONS = ["--composition", "Fe=0.8,Cr=0.2", "--size", "3", "--sites", "2", "--replicas", "3", "--seed", "7",
               "--potential", "FeCr", "--ftol", "0.01", "--quiet"]
MCMD_OPTIONS = ["--lattice", "bcc", "--composition", "Fe=0.8,Cr=0.2", "--size", "5", "--potential", "FeCr",
                "--temperature", "700", "--steps", "3000", "--record-every", "100", "--checkpoint-every", "300",
                "--swap-every", "20", "--swap-trials", "10", "--seed", "5", "--quiet"]
CNN_OPTIONS = ["--test", "Fe=0.5,Cr=0.5", "--shells", "2", "--delta", "0.9", "--blocks", "1", "--width", "4",
               "--epochs", "30", "--batch-size", "16", "--seed", "3", "--augment", "both", "--device", "cpu",
               "--threads", "1", "--patience", "50", "--quiet"]


# --- killing and watching ------------------------------------------------------------------
def survivors(tag: str) -> list[int]:
    """Live processes (not zombies) whose environment holds ``tag``."""
    found = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit() or int(p.name) == os.getpid():
            continue
        try:
            if tag.encode() in (p / "environ").read_bytes() and (p / "stat").read_text().split(") ")[1][0] != "Z":
                found.append(int(p.name))
        except (OSError, IndexError):
            pass
    return found


def kill_after(cmd: list[str], seconds: float, log: Path) -> dict:
    """Start ``cmd``, SIGKILL its process (only it) after ``seconds`` unless it ended; then
    wait for everything it started to go. Returns {killed, orphans, cleanup_s, returncode}."""
    tag = uuid.uuid4().hex
    env = {**run_env(), "ALLOYKIT_TEST_CASE": tag}
    with open(log, "ab") as err:
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        try:
            return {"killed": False, "orphans": 0, "cleanup_s": 0.0, "returncode": p.wait(seconds)}
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
    t0 = time.monotonic()
    while survivors(tag) and time.monotonic() - t0 < 20:
        time.sleep(0.05)
    cleanup = time.monotonic() - t0
    left = survivors(tag)
    for pid in left:          # leave the machine clean even when the check fails
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return {"killed": True, "orphans": len(left), "cleanup_s": round(cleanup, 3), "returncode": -9}


def timed(cmd: list[str], timeout: float = 900) -> float:
    t0 = time.monotonic()
    r = subprocess.run(cmd, env=run_env(), capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    return time.monotonic() - t0


def kill_and_rerun(make_cmd, check, progress, reference_s: float, kills: int, seed: int, log: Path,
                   window=(0.05, 0.95)) -> dict:
    """``kills`` runs killed at moments drawn uniformly in ``window`` (fractions) of the
    uninterrupted run's time. A chain reruns the same command (make_cmd(chain)) until a run ends before
    its moment (a resumed run has less to do), and check(chain) compares its result with
    the uninterrupted run; new chains start until ``kills`` kills were made.
    progress(chain): work committed so far; a kill after a run committed some is counted
    in ``kills_mid_work`` (the others hit start-up: imports, planning, the first step)."""
    rng = np.random.default_rng(seed)
    events, checks, chain = [], [], 0
    while sum(e["killed"] for e in events) < kills:
        while True:
            if sum(e["killed"] for e in events) >= kills:
                timed(make_cmd(chain))
                break
            before = progress(chain)
            e = kill_after(make_cmd(chain), float(rng.uniform(*window)) * reference_s, log)
            e["mid_work"] = e["killed"] and progress(chain) > before
            events.append(e)
            if not e["killed"]:
                if e["returncode"] != 0:
                    timed(make_cmd(chain))      # counted as failed; the result is still checked
                break
        checks.append(check(chain))
        chain += 1
    fig = {"kills": sum(e["killed"] for e in events), "kills_mid_work": sum(e["mid_work"] for e in events),
           "chains": chain, "orphans": sum(e["orphans"] for e in events),
           "max_cleanup_s": max([e["cleanup_s"] for e in events], default=0.0),
           "failed_runs": sum(1 for e in events if not e["killed"] and e["returncode"] != 0),
           "reference_s": round(reference_s, 2)}
    for key in ("records", "lost", "duplicated", "corrupt"):
        fig[key] = sum(c[key] for c in checks)
    fig["equal"] = all(c["equal"] for c in checks)
    fig.update({k: v for c in checks for k, v in c.items() if k not in fig})     # the last chain's extras
    return fig


# --- the three commands ------------------------------------------------------------------------
def neb_scenario(work: Path, kills: int, seed: int, window=(0.05, 0.95)) -> dict:
    from test_neb_store import check_whole, comparable

    reference = work / "ref.sqlite"
    ref_s = timed([ALLOYKIT, "neb", "run", str(reference), *NEB_OPTIONS])
    want = comparable(reference)
    want_keys = {(r["sample_id"], r["vacancy_site"], r["neighbor_site"]) for r in want}

    def path(chain):
        return work / f"killed{chain}.sqlite"

    def check(chain):
        got = comparable(path(chain))
        keys = [(r["sample_id"], r["vacancy_site"], r["neighbor_site"]) for r in got]
        check_whole(path(chain))          # integrity_check ok, 8 hops per vacancy, no orphan hop rows
        return {"records": len(got), "lost": len(want_keys - set(keys)), "duplicated": len(keys) - len(set(keys)),
                "corrupt": 0, "equal": got == want,
                "litter": sorted(p.name for p in work.glob(f"{path(chain).name}.*"))}
    def progress(chain):
        from test_neb_store import vacancies_done

        return vacancies_done(path(chain)) if path(chain).exists() else 0
    return kill_and_rerun(lambda chain: [ALLOYKIT, "neb", "run", str(path(chain)), *NEB_OPTIONS], check, progress,
                          ref_s, kills, seed, work / "neb.log", window)


def mcmd_records(out: Path) -> tuple[list, int]:
    """(records without wall times, lines that do not parse)."""
    recs, bad = [], 0
    for line in (out / "records.jsonl").read_text().splitlines():
        try:
            r = json.loads(line)
            r.pop("wall_s", None)
            recs.append(r)
        except ValueError:
            bad += 1
    return recs, bad


def mcmd_scenario(work: Path, kills: int, seed: int, window=(0.05, 0.95)) -> dict:
    from ase.io import read

    reference = work / "ref"
    ref_s = timed([ALLOYKIT, "mcmd", *MCMD_OPTIONS, "--out", str(reference)])
    want, _ = mcmd_records(reference)
    b = read(reference / "final.extxyz")

    def cmd(chain):
        out = work / f"killed{chain}"
        resume = ["--resume"] if (out / "checkpoint.json").exists() else []
        return [ALLOYKIT, "mcmd", *MCMD_OPTIONS, "--out", str(out), *resume]

    def check(chain):
        out = work / f"killed{chain}"
        got, bad = mcmd_records(out)
        steps = [r["step"] for r in got]
        a = read(out / "final.extxyz")
        return {"records": len(got), "corrupt": bad, "lost": len({r["step"] for r in want} - set(steps)),
                "duplicated": len(steps) - len(set(steps)),
                "equal": got == want and np.array_equal(a.positions, b.positions)
                and a.get_chemical_symbols() == b.get_chemical_symbols(),
                "restarts": sorted(p.name for p in out.glob("checkpoint.*restart"))}
    def progress(chain):
        out = work / f"killed{chain}"
        return sum(1 for _ in open(out / "records.jsonl")) if (out / "records.jsonl").exists() else 0
    return kill_and_rerun(cmd, check, progress, ref_s, kills, seed, work / "mcmd.log", window)


def cnn_data(work: Path) -> Path:
    from alloykit.cnn import synthetic_records, write_jsonl

    recs = synthetic_records(["Fe=0.8,Cr=0.2", "Fe=0.6,Cr=0.4", "Fe=0.5,Cr=0.5"], size=(4, 4, 4),
                             sites_per_sample=4, seed=0)
    return write_jsonl(recs, work / "barriers.jsonl.gz")


def cnn_scenario(work: Path, kills: int, seed: int, window=(0.05, 0.95)) -> dict:
    import torch

    from alloykit.cnn import load

    data = cnn_data(work)
    reference = work / "ref_model"
    ref_s = timed([ALLOYKIT, "cnn", "train", str(data), *CNN_OPTIONS, "--out", str(reference)])
    b = load(reference).network.state_dict()
    want = json.loads((reference / "training.json").read_text())["history"]

    def cmd(chain):
        return [ALLOYKIT, "cnn", "train", str(data), *CNN_OPTIONS, "--out", str(work / f"model{chain}"),
                "--checkpoint", str(work / f"run{chain}.ckpt")]

    def check(chain):
        out = work / f"model{chain}"
        a = load(out).network.state_dict()
        hist = json.loads((out / "training.json").read_text())["history"]
        epochs = [h["epoch"] for h in hist]
        return {"records": len(hist), "corrupt": 0, "lost": len({h["epoch"] for h in want} - set(epochs)),
                "duplicated": len(epochs) - len(set(epochs)),
                "equal": hist == want and a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)}
    def progress(chain):
        ckpt = work / f"run{chain}.ckpt"
        return ckpt.stat().st_mtime_ns if ckpt.exists() else 0     # rewritten after every epoch
    return kill_and_rerun(cmd, check, progress, ref_s, kills, seed, work / "cnn.log", window)


def assert_clean(fig: dict) -> None:
    assert fig["orphans"] == 0 and fig["failed_runs"] == 0, fig
    assert fig["lost"] == 0 and fig["duplicated"] == 0 and fig["corrupt"] == 0, fig
    assert fig["equal"], fig


# --- tests -------------------------------------------------------------------------------------
@pytest.mark.mpi
def test_neb_run_killed_and_rerun(tmp_path):
    fig = neb_scenario(tmp_path, KILLS, seed=1, window=LATE)
    print(fig)
    assert_clean(fig)
    assert fig["kills"] == KILLS and fig["litter"] == [], fig


@pytest.mark.mpi
def test_neb_lock_names_its_holder_and_a_killed_driver_takes_its_job(tmp_path):
    """While a run computes, a second one is refused naming the holder; kill -9 of the
    driver ends mpiexec and the ranks; the stale lock is taken over by the rerun."""
    path = tmp_path / "busy.sqlite"
    # more vacancy sites than the other scenarios: the run must still be computing when the
    # second command has started up, even on a loaded machine
    options = [("12" if prev == "--sites" else o) for prev, o in zip([None] + NEB_OPTIONS, NEB_OPTIONS)]
    cmd = [ALLOYKIT, "neb", "run", str(path), *options]
    tag = uuid.uuid4().hex
    p = subprocess.Popen(cmd, env={**run_env(), "ALLOYKIT_TEST_CASE": tag}, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        lock = Path(str(path) + ".lock")
        deadline = time.monotonic() + 120
        while not (lock.exists() and lock.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert p.poll() is None and lock.exists(), "the run did not get to its lock"
        second = subprocess.run(cmd, env=run_env(), capture_output=True, text=True, timeout=120)
        assert second.returncode == 2 and "Traceback" not in second.stderr, second.stderr
        line = second.stderr.strip().splitlines()[-1]
        assert "another run is computing this dataset (pid " in line and f"started by pid {p.pid})" in line, line
        assert len(survivors(tag)) >= 5           # the driver, mpiexec, its proxy and 3 ranks
    finally:
        p.kill()
        p.wait()
    t0 = time.monotonic()
    while survivors(tag) and time.monotonic() - t0 < 20:
        time.sleep(0.05)
    assert not survivors(tag), "the killed driver's job lives on"
    assert lock.exists()                          # rank 0 was ended by a signal: a stale lock file
    timed(cmd)                                    # ... which the rerun takes over
    assert not lock.exists() and not Path(str(path) + ".work").exists()


def test_mcmd_killed_and_rerun(tmp_path):
    fig = mcmd_scenario(tmp_path, KILLS, seed=2, window=LATE)
    print(fig)
    assert_clean(fig)
    assert fig["kills"] == KILLS and fig["records"] == 31 * fig["chains"], fig
    assert fig["restarts"] == ["checkpoint.3000.restart"], fig


def test_cnn_train_killed_and_rerun(tmp_path):
    fig = cnn_scenario(tmp_path, KILLS, seed=3, window=LATE)
    print(fig)
    assert_clean(fig)
    assert fig["kills"] == KILLS and fig["records"] == 30 * fig["chains"], fig


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
