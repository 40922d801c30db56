"""Throughput of the NEB farm: barriers per hour with 1 and 2 MPI groups on this machine.

Random BCC Fe-20Cr with FeCr.cdeam (eam/cd), 250-atom (5x5x5) and 2,000-atom (10x10x10)
cells; the same 2 vacancy sites (16 barriers) for both group counts, 11 replicas (the
default), each run started as ``mpiexec -n groups*11 python -m alloykit.neb DATASET``
(what ``alloykit neb run --groups G`` does). Wall time includes starting the ranks.
With 11 replicas a group is 11 ranks, so on a 2-core machine both runs are
oversubscribed: the ratio measures how well two groups share the cores, not
parallel scaling (on a cluster each group has its own cores).
Writes results/neb_throughput.json and results/neb_throughput.png.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, write  # noqa: E402

from alloykit.neb import NebSettings, launch, plan_dataset  # noqa: E402
from alloykit.structures import random_solid_solution  # noqa: E402

REPLICAS = 11
VACANCIES = 2


def measure(size: int, groups: int, tmp: Path) -> dict:
    atoms = random_solid_solution("bcc", {"Fe": 0.8, "Cr": 0.2}, size, 2.8665, 2026)
    path = tmp / f"fecr{size}_g{groups}.sqlite"
    plan_dataset(path, [(f"FeCr20-{size}", atoms)], VACANCIES, NebSettings(potential="FeCr", replicas=REPLICAS),
                 seed=1)
    load = os.getloadavg()[0]
    t = time.perf_counter()
    status = launch(path, groups=groups, quiet=True)
    wall = time.perf_counter() - t
    out = {"natoms": len(atoms) - 1, "groups": groups, "ranks": groups * REPLICAS, "barriers": status["hops"],
           "usable": status["usable_barriers"], "flags": status["flags"], "wall_s": wall,
           "barriers_per_hour": 3600 * status["hops"] / wall, "load_average_before": load,
           "load_average_after": os.getloadavg()[0]}
    print(f"{out['natoms']:5d} atoms, {groups} group(s): {out['barriers']} barriers in {wall:.1f} s = "
          f"{out['barriers_per_hour']:.0f}/h  (load {load:.1f})", flush=True)
    return out


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        for size in (5, 10):
            for groups in (1, 2):
                runs.append(measure(size, groups, Path(tmp)))
    ratio = {}
    for natoms in sorted({r["natoms"] for r in runs}):
        by = {r["groups"]: r["barriers_per_hour"] for r in runs if r["natoms"] == natoms}
        ratio[str(natoms)] = by[2] / by[1]
    fig, ax = plt.subplots(figsize=(5, 3.4))
    labels = [f"{r['natoms']} at.\n{r['groups']} group{'s' if r['groups'] > 1 else ''}" for r in runs]
    ax.bar(labels, [r["barriers_per_hour"] for r in runs], color=["C0", "C1", "C0", "C1"])
    ax.set_ylabel("barriers / hour")
    ax.set_title(f"NEB farm, Fe-20Cr FeCr.cdeam, {REPLICAS} replicas, {os.cpu_count()} cores", fontsize=9)
    fig.savefig(RESULTS / "neb_throughput.png", dpi=110, bbox_inches="tight")
    write("neb_throughput", {
        "system": "random BCC Fe-20Cr, FeCr.cdeam (eam/cd), a = 2.8665 A, box relaxed",
        "replicas": REPLICAS, "vacancies_per_run": VACANCIES,
        "settings": "spring 5 eV/A, etol 0, ftol 0.001 eV/A, FIRE, climbing image",
        "runs": runs, "scaling_ratio_2_over_1_groups": ratio,
        "note": "groups of 11 ranks on a 2-core machine shared with other jobs: both group counts are "
                "oversubscribed, so the ratio shows how two groups share the cores, not cluster scaling",
    })


if __name__ == "__main__":
    main()
