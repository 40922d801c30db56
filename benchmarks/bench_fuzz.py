"""The full fuzz sweep of issue 15: every malformed file through every command that reads
structures, every damaged model/checkpoint/dataset, every bad option value, each case in a
forked child with a time limit, classified as in the issue's table.

    python benchmarks/bench_fuzz.py [--random 300] [--timeout 10] [--seed 0] [--only KIND]

Writes benchmarks/results/fuzz.json (the table, counts per kind, every case that was not
clean) and prints the table. The cases come from tests/test_fuzz.py (one generator).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import write  # noqa: E402


def _fuzz_module():
    spec = importlib.util.spec_from_file_location("alloykit_fuzz", HERE.parent / "tests" / "test_fuzz.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["alloykit_fuzz"] = mod
    spec.loader.exec_module(mod)
    return mod


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--random", type=int, default=40, help="random file mutations (each through every reader)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per case before it counts as a hang")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", help="run only cases whose kind starts with this")
    p.add_argument("--limit", type=int, help="at most this many cases (seeded sample)")
    args = p.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    fz = _fuzz_module()
    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="alloykit-fuzz-") as tmp:
        t0 = time.perf_counter()
        fx = fz.Fixtures(Path(tmp))
        cases = fz.cases(fx, seed=args.seed, n_random=args.random, all_consumers=True)
        if args.only:
            cases = [c for c in cases if c.kind.startswith(args.only)]
        if args.limit:
            cases = fz.sample(cases, args.limit, args.seed)
        print(f"{len(cases)} cases (fixtures {time.perf_counter() - t0:.0f} s)", flush=True)
        results, bad = [], []
        by_kind: dict[str, Counter] = {}
        for k, case in enumerate(cases):
            r = fz.run_case(case, fx.root, timeout=args.timeout)
            r.update(name=case.name, kind=case.kind)
            results.append(r)
            by_kind.setdefault(case.kind, Counter())[r["outcome"]] += 1
            if r["outcome"] not in ("clean", "benign"):
                bad.append({k2: r[k2] for k2 in ("name", "kind", "outcome", "message", "seconds")})
                print(f"  {r['outcome']:9s} {case.name}: {r['message'][:160]}", flush=True)
            if (k + 1) % 200 == 0:
                print(f"[{k + 1}/{len(cases)}] {time.perf_counter() - t0:.0f} s", flush=True)
        wall = time.perf_counter() - t0
    counts = Counter(r["outcome"] for r in results)
    text = fz.table(results)
    print(text)
    seconds = sorted(r["seconds"] for r in results)
    write("fuzz", {"cases": len(results), "seed": args.seed, "random_mutations": args.random,
                   "timeout_s": args.timeout, "wall_s": round(wall, 1),
                   "load_average": os.getloadavg(), "counts": {o: counts.get(o, 0) for o in fz.OUTCOMES},
                   "median_case_s": seconds[len(seconds) // 2] if seconds else None,
                   "max_case_s": seconds[-1] if seconds else None,
                   "by_kind": {k: dict(v) for k, v in sorted(by_kind.items())},
                   "table_markdown": text, "not_clean": bad})
    return 0


if __name__ == "__main__":
    sys.exit(main())
