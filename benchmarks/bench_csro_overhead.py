"""Overhead of the alloykit MC/MD driver over the same MC/MD run by plain LAMMPS.

Fe-20Cr BCC, 2000 atoms, FeCr.cdeam, the paper's protocol (Nose-Hoover NVT at 300 K,
30 atom/swap trials every 100 steps), records (PE, acceptance, SRO of 3 shells) every
500 steps and a restart file every 1000 steps. The driver (``run_mcmd``, in this process)
and ``lmp -in inputs/in.mcmd`` (a subprocess) run the same trajectory (checked: same final
PE). Each is timed for S and 2S steps, interleaved and repeated; the cost per step is the
least-squares slope of time against steps, so fixed start-up costs (Python, library
load, atom creation) cancel.
Overhead = driver time per step / lmp time per step - 1 (goal: <= 5 %).

Times are CPU seconds (this process for the driver, the child for lmp; both run LAMMPS on
one thread): the 2-core machine is shared with other jobs, which makes wall-clock times
scatter by a factor of several, while CPU time only feels cache and memory contention.
Wall times are kept in the rows.
"""
from __future__ import annotations

import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write  # noqa: E402

from alloykit.csro.mcmd import McmdSettings, fecr_default, lammps_seed, run_mcmd, write_pair_include  # noqa: E402
from alloykit.structures import write_lammps_data  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
S, REPEATS, SEED = 1000, 4, 7
SPECIES = ["Fe", "Cr"]


def settings(steps: int) -> McmdSettings:
    return McmdSettings(temperature=300.0, steps=steps, swap_every=100, swap_trials=30, record_every=500,
                        checkpoint_every=1000, shells=3, seed=SEED)


def loop_time(log: Path) -> float:
    """Sum of LAMMPS's own 'Loop time' lines (MD + swaps, no setup)."""
    return sum(float(m) for m in re.findall(r"Loop time of ([0-9.eE+-]+)", log.read_text()))


def run_driver(atoms, steps: int, work: Path) -> dict:
    out = work / f"drv{steps}"
    t0, c0 = time.perf_counter(), time.process_time()
    res = run_mcmd(atoms, "FeCr", out, settings(steps), species=SPECIES, progress=False)
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    return {"cpu": cpu, "wall": wall, "loop": loop_time(out / "log.0.lammps"), "pe": res.records[-1]["pe"]}


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_lmp(steps: int, work: Path) -> dict:
    s = settings(steps)
    log = work / f"lmp{steps}.log"
    cmd = [str(Path(sys.executable).with_name("lmp")), "-in", str(REPO / "inputs" / "in.mcmd"),
           "-var", "data", "sample.data", "-var", "pot", "pot.in", "-var", "ntypes", "2",
           "-var", "seed", str(lammps_seed(s.seed)), "-var", "T", str(s.temperature), "-var", "steps", str(steps),
           "-var", "record", str(s.record_every), "-var", "checkpoint", str(s.checkpoint_every),
           "-var", "swap_every", str(s.swap_every), "-var", "swap_trials", str(s.swap_trials),
           "-var", "restart", f"lmp{steps}.restart", "-log", str(log), "-screen", "none"]
    t0, c0 = time.perf_counter(), children_cpu()
    subprocess.run(cmd, cwd=work, check=True)
    cpu, wall = children_cpu() - c0, time.perf_counter() - t0
    pe = float(re.findall(r"MCMD_FINAL_PE (\S+)", log.read_text())[-1])
    return {"cpu": cpu, "wall": wall, "loop": loop_time(log), "pe": pe}


def main() -> None:
    atoms = fecr_default((10, 10, 10), seed=1)
    work = Path(tempfile.mkdtemp(prefix="bench_csro_"))
    write_lammps_data(atoms, work / "sample.data", SPECIES)
    write_pair_include("FeCr", SPECIES, work / "pot.in")
    rows = []
    for rep in range(REPEATS):
        for steps in (S, 2 * S):
            for who in ("driver", "lmp"):
                r = run_driver(atoms, steps, work) if who == "driver" else run_lmp(steps, work)
                rows.append({"repeat": rep, "who": who, "steps": steps, **r})
                print(rows[-1], flush=True)
    data = summarize(rows)
    write("csro_overhead", data)
    _print(data)


def slope(rows, who: str, key: str = "cpu") -> float:
    """Seconds per step: least-squares slope of time against steps over all repeats."""
    sel = [r for r in rows if r["who"] == who]
    x = np.array([r["steps"] for r in sel], dtype=float)
    y = np.array([r[key] for r in sel])
    return float(np.polyfit(x, y, 1)[0])


def summarize(rows) -> dict:
    per_step = {who: slope(rows, who) for who in ("driver", "lmp")}
    lmp_pe = {r["steps"]: r["pe"] for r in rows if r["who"] == "lmp"}
    same = all(abs(r["pe"] - lmp_pe[r["steps"]]) < 1e-9 * abs(r["pe"]) for r in rows if r["who"] == "driver")
    paired = [d["cpu"] / q["cpu"] for d in rows for q in rows
              if d["who"] == "driver" and q["who"] == "lmp" and d["repeat"] == q["repeat"] and d["steps"] == q["steps"]]
    return {
        "system": "Fe-20Cr BCC, 2000 atoms, FeCr.cdeam (eam/cd)",
        "protocol": "NVT 300 K, dt 2 fs, atom/swap 30 trials / 100 steps, records every 500 steps "
                    "(PE, acceptance, SRO 3 shells), restart every 1000 steps",
        "steps": [S, 2 * S], "repeats": REPEATS, "ranks": 1, "time": "CPU seconds",
        "same_trajectory": same,
        "driver_steps_per_s": 1 / per_step["driver"], "lmp_steps_per_s": 1 / per_step["lmp"],
        "overhead_ratio": per_step["driver"] / per_step["lmp"],
        "overhead_percent": 100 * (per_step["driver"] / per_step["lmp"] - 1),
        "whole_run_cpu_ratios_median": float(np.median(paired)),
        "whole_run_cpu_ratios": paired,
        "wall_overhead_ratio": slope(rows, "driver", "wall") / slope(rows, "lmp", "wall"),
        "note": "per-step cost = least-squares slope of CPU time against steps over all runs (fixed "
                "start-up costs cancel); whole-run ratios include them (lmp: Python wrapper, read_data; "
                "driver: atom creation, lattice fit). Wall-clock ratios scatter on the shared machine.",
        "rows": rows,
    }


def _print(data: dict) -> None:
    print(f"overhead {data['overhead_percent']:+.2f} %  (driver {data['driver_steps_per_s']:.1f} steps/s, "
          f"lmp {data['lmp_steps_per_s']:.1f} steps/s, same trajectory: {data['same_trajectory']})")


if __name__ == "__main__":
    main()
