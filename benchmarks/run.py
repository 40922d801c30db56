"""Run the benchmarks: ``python benchmarks/run.py [NAME ...]`` runs ``bench_NAME.py`` (all
``bench_*.py`` by default), each writing its JSON (and PNGs) into benchmarks/results/."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [HERE / f"bench_{n.removeprefix('bench_').removesuffix('.py')}.py" for n in argv]
    failed = []
    for s in scripts:
        t0 = time.perf_counter()
        print(f"== {s.name}", flush=True)
        r = subprocess.run([sys.executable, str(s)])
        print(f"== {s.name}: exit {r.returncode} in {time.perf_counter() - t0:.1f} s", flush=True)
        if r.returncode:
            failed.append(s.name)
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
