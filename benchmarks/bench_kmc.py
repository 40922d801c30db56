"""KMC speed: milliseconds per jump, one vacancy in BCC Fe-20Cr, at 16k, 1M and 10M sites.

Barrier models:
* ``linear``: the paper's LR baseline on the 112 sites of six g(r) peaks, fitted on the
  committed Fe-Cr NEB dataset (``cnn_neb_fecr.sqlite``), evaluated as a lattice lookup;
* ``cnn_cpu``: a CPU-sized CNN (4 convolutions x 16 filters, six shells, 16^3 voxels, the
  size the CNN benchmarks train on a CPU), every jump predicted (``remember=0``);
* ``cnn_cpu_memo``: the same with :class:`alloykit.kmc.CNNBarrier`'s memory of seen
  environments (the library default), which returns a revisited environment's barriers;
* ``cnn_paper``: the paper's network (12 convolutions x 60 filters, 32^3 voxels).
The CNNs have random weights: the time of a forward pass does not depend on their values
(the memory's hit rate does, through the walk: a trained model's low barriers make the
vacancy return more often; see kmc_fecr.json for the trained Fe-Cr CNN).
Each jump predicts the 8 hops of the vacancy's new site (one batch of 8 SDMs).

Timing: the KMC steps only (state building and the first prediction are excluded), best of
``--repeats`` blocks, with 1 and 2 torch threads (``--threads``). With one thread
``ms_per_jump`` is CPU time (on the shared machine wall time scatters with the other jobs'
load); with two it is wall time, what a user waits for (both are kept, with the load
average). Writes results/kmc_speed.json and kmc_speed.png.
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
JUMPS = {"linear": 20000, "cnn_cpu": 300, "cnn_cpu_memo": 300, "cnn_paper": 2}
GOAL_MS = {"linear": 0.05, "cnn_cpu": 1.0, "cnn_cpu_memo": 1.0, "cnn_paper": 1.0}


def models(names):
    import torch

    from alloykit.cnn import BarrierCNN, BarrierModel, open_records
    from alloykit.kmc import CNNBarrier, LinearBarrier
    from alloykit.sdm import sdm_spec

    out = {}
    if "linear" in names:
        fitted = LinearBarrier.fit(open_records(RESULTS / "cnn_neb_fecr.sqlite"), n_shells=6)
        out["linear"] = lambda: fitted          # every entry makes its model: fresh CNN memories
    nets = {"cnn_cpu": (1, 16, 16, 0), "cnn_cpu_memo": (1, 16, 16, 100_000), "cnn_paper": (3, 60, 32, 0)}
    for name, (n, width, grid6, remember) in nets.items():
        if name in names:
            torch.manual_seed(0)
            spec = sdm_spec(["Cr", "Fe"], "bcc", A, 6, grid6=grid6)
            net = BarrierCNN(2, spec.grid, n=n, width=width, target_mean=0.6, target_scale=0.1).eval()
            out[name] = lambda net=net, spec=spec, remember=remember: \
                CNNBarrier(BarrierModel(net, spec, "bcc", A, 6), remember=remember)
    return out


def time_model(model, size: int, jumps: int, repeats: int, seed: int, threads: int) -> dict:
    import torch

    from alloykit.kmc import Kmc, random_state

    torch.set_num_threads(threads)
    model = model()
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
        key = 0 if threads == 1 else 1
        best = (cpu, wall) if best is None or (cpu, wall)[key] < best[key] else best
    row = {"sites": state.lattice.n_sites, "threads": threads, "jumps_per_block": jumps,
           "ms_per_jump": 1e3 * best[0 if threads == 1 else 1], "cpu_ms_per_jump": 1e3 * best[0],
           "wall_ms_per_jump": 1e3 * best[1], "setup_s": round(setup, 2), "load_average": os.getloadavg()[0]}
    if getattr(model, "remember", 0):
        row["memory_hit_fraction"] = round(1 - model.predicted / max(model.asked, 1), 4)
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    p.add_argument("--models", nargs="+", default=list(JUMPS), choices=list(JUMPS))
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                   help="torch thread counts for the CNNs (default: 1 and 2, the machine's cores)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="a tenth of the jumps")
    args = p.parse_args(argv)
    built = models(args.models)
    rows = []
    for size_name in args.sizes:
        for name in args.models:
            for threads in ([1] if name == "linear" else args.threads):
                jumps = max(1, JUMPS[name] // (10 if args.quick else 1))
                r = time_model(built[name], SIZES[size_name], jumps, args.repeats if name != "cnn_paper" else 1, 0,
                               threads)
                r.update(model=name, size=size_name, goal_ms=GOAL_MS[name])
                rows.append(r)
                hit = f", memory hits {r['memory_hit_fraction']:.2f}" if "memory_hit_fraction" in r else ""
                print(f"{name:12s} {size_name:4s} {r['sites']:>9d} sites, {threads} thread(s): "
                      f"{r['ms_per_jump']:.4f} ms/jump (goal {GOAL_MS[name]} ms{hit}; load {r['load_average']:.2f})",
                      flush=True)
    ratios = {}
    for name in args.models:
        for threads in sorted({r["threads"] for r in rows if r["model"] == name}):
            t = {r["size"]: r["ms_per_jump"] for r in rows if r["model"] == name and r["threads"] == threads}
            if "16k" in t:
                ratios[f"{name}/{threads}"] = {s: round(v / t["16k"], 3) for s, v in t.items()}
    write("kmc_speed", {"lattice": "bcc", "a": A, "composition": "Fe=0.8,Cr=0.2", "vacancies": 1,
                        "torch_threads": args.threads, "rows": rows, "ratio_to_16k": ratios,
                        "note": "one process; ms_per_jump is CPU time with 1 thread, wall time with 2 (both kept); "
                                "CNN weights random (timing only)"})
    plot(rows)
    return 0


def plot(rows) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.5, 4))
    for name, threads in dict.fromkeys((r["model"], r["threads"]) for r in rows):
        mine = [r for r in rows if r["model"] == name and r["threads"] == threads]
        ax.plot([r["sites"] for r in mine], [r["ms_per_jump"] for r in mine], "o-" if threads == 1 else "s--",
                label=f"{name}, {threads} thread{'s' if threads > 1 else ''}")
    for goal in sorted(set(GOAL_MS.values())):
        ax.axhline(goal, color="grey", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("lattice sites")
    ax.set_ylabel("ms per jump")
    ax.set_title("KMC, one vacancy, BCC Fe-20Cr (dotted: goals)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    fig.savefig(RESULTS / "kmc_speed.png", dpi=120)


if __name__ == "__main__":
    sys.exit(main())
