"""KMC speed: milliseconds per jump, one vacancy in BCC Fe-20Cr, at 16k, 1M and 10M sites.

Barrier models:
* ``linear``: the paper's LR baseline on the 112 sites of six g(r) peaks, fitted on the
  committed Fe-Cr NEB dataset (``cnn_neb_fecr.sqlite``), evaluated as a lattice lookup;
* ``cnn_cpu``: a CPU-sized CNN (4 convolutions x 16 filters, six shells, 16^3 voxels, the
  size the CNN benchmarks train on a CPU);
* ``cnn_paper``: the paper's network (12 convolutions x 60 filters, 32^3 voxels).
The CNNs have random weights: the time of a forward pass does not depend on their values.
Each jump re-predicts the 8 hops of the vacancy's new site (one batch of 8 SDMs).

Timing: CPU seconds of the KMC steps only (state building and the first prediction are
excluded), best of ``--repeats`` blocks, one thread: on the shared machine wall time
scatters with the other jobs' load (it is kept too, with the load average). Writes results/kmc_speed.json and kmc_speed.png.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, write  # noqa: E402

A = 2.8665
SIZES = {"16k": 20, "1M": 80, "10M": 171}          # cubes per axis: 2 L^3 sites
JUMPS = {"linear": 20000, "cnn_cpu": 100, "cnn_paper": 2}
GOAL_MS = {"linear": 0.05, "cnn_cpu": 1.0, "cnn_paper": 1.0}


def models(names, threads: int):
    import torch

    from alloykit.cnn import BarrierCNN, BarrierModel, open_records
    from alloykit.kmc import CNNBarrier, LinearBarrier
    from alloykit.sdm import sdm_spec

    torch.set_num_threads(threads)
    out = {}
    if "linear" in names:
        out["linear"] = LinearBarrier.fit(open_records(RESULTS / "cnn_neb_fecr.sqlite"), n_shells=6)
    for name, (n, width, grid6) in {"cnn_cpu": (1, 16, 16), "cnn_paper": (3, 60, 32)}.items():
        if name in names:
            torch.manual_seed(0)
            spec = sdm_spec(["Cr", "Fe"], "bcc", A, 6, grid6=grid6)
            net = BarrierCNN(2, spec.grid, n=n, width=width, target_mean=0.6, target_scale=0.1).eval()
            out[name] = CNNBarrier(BarrierModel(net, spec, "bcc", A, 6))
    return out


def time_model(model, size: int, jumps: int, repeats: int, seed: int) -> dict:
    from alloykit.kmc import Kmc, random_state

    t0 = time.perf_counter()
    state = random_state("bcc", A, size, {"Fe": 0.8, "Cr": 0.2}, vacancies=1, seed=seed)
    kmc = Kmc(state, model, 700.0, seed=seed)
    setup = time.perf_counter() - t0
    kmc.run(min(jumps, 50))                      # warm-up (first batches, caches)
    best = None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        kmc.run(jumps)
        cpu, wall = (time.process_time() - c0) / jumps, (time.perf_counter() - t0) / jumps
        best = (cpu, wall) if best is None or cpu < best[0] else best
    return {"sites": state.lattice.n_sites, "jumps_per_block": jumps, "ms_per_jump": 1e3 * best[0],
            "wall_ms_per_jump": 1e3 * best[1], "setup_s": round(setup, 2), "load_average": os.getloadavg()[0]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    p.add_argument("--models", nargs="+", default=list(JUMPS), choices=list(JUMPS))
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads for the CNNs (default 1: on the shared 2-core machine 2 threads ran slower)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="a tenth of the jumps")
    args = p.parse_args(argv)
    built = models(args.models, args.threads)
    rows = []
    for size_name in args.sizes:
        for name in args.models:
            jumps = max(1, JUMPS[name] // (10 if args.quick else 1))
            r = time_model(built[name], SIZES[size_name], jumps, args.repeats if name != "cnn_paper" else 1, 0)
            r.update(model=name, size=size_name, goal_ms=GOAL_MS[name])
            rows.append(r)
            print(f"{name:10s} {size_name:4s} {r['sites']:>9d} sites: {r['ms_per_jump']:.4f} ms/jump "
                  f"(goal {GOAL_MS[name]} ms; load {r['load_average']:.2f})", flush=True)
    ratios = {}
    for name in args.models:
        t = {r["size"]: r["ms_per_jump"] for r in rows if r["model"] == name}
        if "16k" in t:
            ratios[name] = {s: round(v / t["16k"], 3) for s, v in t.items()}
    write("kmc_speed", {"lattice": "bcc", "a": A, "composition": "Fe=0.8,Cr=0.2", "vacancies": 1,
                        "torch_threads": args.threads, "rows": rows, "ratio_to_16k": ratios,
                        "note": "one process, one thread; ms_per_jump is CPU time of the KMC steps (wall time kept); "
                                "CNN weights random (timing only)"})
    plot(rows)
    return 0


def plot(rows) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == name]
        line, = ax.plot([r["sites"] for r in mine], [r["ms_per_jump"] for r in mine], "o-", label=name)
        ax.axhline(GOAL_MS[name], color=line.get_color(), ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("lattice sites")
    ax.set_ylabel("ms per jump")
    ax.set_title("KMC, one vacancy, BCC Fe-20Cr (dotted: goals)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "kmc_speed.png", dpi=120)


if __name__ == "__main__":
    sys.exit(main())
