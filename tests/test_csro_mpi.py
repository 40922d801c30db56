"""The MC/MD driver under ``mpiexec -n 2`` (LAMMPS domain decomposition): a run, an
interrupted run resumed from its checkpoint equal to the uninterrupted one, and the CLI."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from alloykit.lmp.session import MPICH_THROTTLE

SCRIPT = r'''
import json, sys
import numpy as np
from mpi4py import MPI
from alloykit.csro import fecr_default, run_mcmd

comm = MPI.COMM_WORLD
out = sys.argv[1]
kw = dict(species=["Fe", "Cr"], temperature=700.0, steps=400, record_every=100, checkpoint_every=200,
          swap_every=20, swap_trials=20, seed=9, progress=False, comm=comm)
atoms = fecr_default((6, 6, 6), seed=3)
full = run_mcmd(atoms, "FeCr", out + "/full", **kw)

class Stop(Exception):
    pass

def crash(rec):
    if rec["step"] == 300:
        raise Stop

try:
    run_mcmd(atoms, "FeCr", out + "/cut", on_record=crash, **kw)
    stopped = False
except Stop:              # rank 0 raises the callback's exception
    stopped = True
except RuntimeError:      # the other ranks learn that rank 0 stopped
    stopped = True
cut = run_mcmd(None, "FeCr", out + "/cut", resume=True, **{k: v for k, v in kw.items() if k != "species"})
strip = lambda recs: [{k: v for k, v in r.items() if k != "wall_s"} for r in recs]
result = {"size": comm.Get_size(), "stopped": stopped, "same_records": strip(full.records) == strip(cut.records),
          "same_final": bool(np.array_equal(full.final.positions, cut.final.positions)),
          "steps": [r["step"] for r in cut.records], "ratio": full.records[-1]["swaps"]["Fe-Cr"]["ratio"]}
flags = comm.gather(result, root=0)
if comm.Get_rank() == 0:
    print("RESULT " + json.dumps(flags))
'''


def _env():
    env = dict(os.environ)
    env.update(MPICH_THROTTLE)      # 2 ranks may share cores with other work: no busy polling
    return env


def _mpiexec():
    exe = Path(sys.executable).with_name("mpiexec")
    if not exe.exists():
        exe = shutil.which("mpiexec")
    if exe is None:
        pytest.skip("mpiexec not installed")
    return str(exe)


@pytest.mark.mpi
def test_two_ranks_run_and_resume_exactly(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    p = subprocess.run([_mpiexec(), "-n", "2", sys.executable, str(script), str(tmp_path)], capture_output=True,
                       text=True, timeout=300, env=_env())
    assert p.returncode == 0, p.stderr[-3000:]
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    ranks = json.loads(line[len("RESULT "):])
    assert len(ranks) == 2
    for r in ranks:
        assert r["size"] == 2 and r["stopped"] and r["same_records"] and r["same_final"]
        assert r["steps"] == [0, 100, 200, 300, 400] and 0 < r["ratio"] < 1
    # one set of files, written by rank 0
    assert len((tmp_path / "full" / "records.jsonl").read_text().splitlines()) == 5


@pytest.mark.mpi
def test_cli_under_mpiexec(tmp_path):
    cli = [_mpiexec(), "-n", "2", sys.executable, "-m", "alloykit.cli", "mcmd", "--lattice", "bcc",
           "--composition", "Fe=0.8,Cr=0.2", "--size", "6", "--a", "2.8665", "--potential", "FeCr",
           "--steps", "200", "--record-every", "100", "--swap-every", "20", "--out", str(tmp_path / "cli"), "--quiet"]
    p = subprocess.run(cli, capture_output=True, text=True, timeout=300, env=_env())
    assert p.returncode == 0, p.stderr[-3000:]
    summary = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps_done"] == 200
    assert (tmp_path / "cli" / "mcmd.png").stat().st_size > 1000
