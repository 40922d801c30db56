"""Kill -9 and rerun at 20 random moments per command (issue 15): ``alloykit neb run``,
``alloykit mcmd`` and ``alloykit cnn train``, with the scenarios of
``tests/test_crash_safety.py`` (only the command's own process is killed; after each kill
every process it started must be gone; the rerun result must equal an uninterrupted run).

    python benchmarks/bench_crash_safety.py [--kills 20] [--seed 0] [--only neb mcmd cnn]

Writes benchmarks/results/crash_safety.json: per command the kills made, runs that ended
before their kill moment, orphan processes, the slowest cleanup after a kill, lost,
duplicated and corrupt records, and whether the result equals the uninterrupted run.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from common import write  # noqa: E402

SCENARIOS = ("neb", "mcmd", "cnn")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    args = p.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import test_crash_safety as cs

    results = {}
    for name in args.only:
        scenario = {"neb": cs.neb_scenario, "mcmd": cs.mcmd_scenario, "cnn": cs.cnn_scenario}[name]
        with tempfile.TemporaryDirectory(prefix=f"crash_{name}_") as tmp:
            t0 = time.monotonic()
            fig = scenario(Path(tmp), args.kills, args.seed)
            fig["wall_s"] = round(time.monotonic() - t0, 1)
        results[name] = fig
        print(name, fig, flush=True)
    total = {k: sum(int(r[k]) for r in results.values()) for k in ("kills", "orphans", "lost", "duplicated",
                                                                    "corrupt", "failed_runs")}
    total["all_equal"] = all(r["equal"] for r in results.values())
    write("crash_safety", {"kills_per_command": args.kills, "seed": args.seed, "load_average": os.getloadavg(),
                           "commands": results, "total": total})
    ok = total["all_equal"] and not any(total[k] for k in ("orphans", "lost", "duplicated", "corrupt",
                                                           "failed_runs"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
