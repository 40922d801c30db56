"""Cost per barrier: CNN (environment + frame + SDM + network) vs NEB, same machine.

CNN side: a 16,000-atom random BCC Fe-20Cr (20^3 cells), the hops of ``--sites`` vacancy
sites (default 500: 4,000 barriers, the paper's Supplementary Note 1 count), timed stage by
stage for the CPU-sized network (4 conv x 16, 16^3 voxels) and the paper's (12 conv x 60,
32^3; on the CPU only a 64-hop sample of it, as it is slow there), on CPU (1 and 2 threads) and
CUDA when present. Timing does not depend on the weights, so untrained networks are timed.
NEB side: wall seconds per hop of a fresh NEB of a few vacancies run right after (same
settings as the benchmark datasets: 128 atoms, 3 replicas on 3 MPI ranks, FeCr.cdeam), so
both sides see the same machine load; the datasets' own average (made under heavy load) is
recorded too. Writes results/cnn_speedup.json.

Paper: ~600 CPU core-hours for 4,000 NEB barriers; 7 min (SDMs, one core) + <30 s
(GPU prediction) for the CNN.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cnn_data import dataset_paths, neb_seconds_per_barrier  # noqa: E402
from common import write  # noqa: E402

from alloykit.cnn.model import BarrierCNN  # noqa: E402
from alloykit.cnn.train import predict  # noqa: E402
from alloykit.sdm import HopSet, hop_records, lattice_symmetries, sdm_spec  # noqa: E402
from alloykit.structures import random_solid_solution  # noqa: E402

A = 2.8665
ARCHS = {"cpu-sized": dict(n=1, width=16, grid6=16), "paper": dict(n=3, width=60, grid6=32)}


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def time_pipeline(atoms, sites, arch, dev, limit=None) -> dict:
    t0 = time.perf_counter()
    recs = list(hop_records(atoms, sites, cutoff=8.0))
    t1 = time.perf_counter()
    spec = sdm_spec(["Cr", "Fe"], "bcc", A, 6, grid6=arch["grid6"])
    hops = HopSet.from_records(recs[:limit] if limit else recs, spec, lattice_symmetries("bcc", A, spec.r_c),
                               target=None, lattice="bcc").to(dev)
    t2 = time.perf_counter()
    n = len(hops)
    torch.manual_seed(0)
    net = BarrierCNN(2, spec.grid, n=arch["n"], width=arch["width"]).to(dev).eval()
    batch = 256 if dev.type == "cuda" or arch["n"] == 1 else 16
    predict(net, lambda i: hops.sdms(i), torch.arange(min(batch, n)), batch)     # warm-up
    sync(dev)
    t3 = time.perf_counter()
    for lo in range(0, n, batch):
        hops.sdms(torch.arange(lo, min(lo + batch, n)))
    sync(dev)
    t4 = time.perf_counter()
    predict(net, lambda i: hops.sdms(i), torch.arange(n), batch)
    sync(dev)
    t5 = time.perf_counter()
    per = {"environments": (t1 - t0) / len(recs), "frames": (t2 - t1) / n, "sdm": (t4 - t3) / n,
           "sdm_plus_network": (t5 - t4) / n}
    per["total"] = per["environments"] + per["frames"] + per["sdm_plus_network"]
    return {"hops_timed": n, "grid": spec.grid, "seconds_per_barrier": per,
            "device": torch.cuda.get_device_name() if dev.type == "cuda" else "cpu"}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser()
    p.add_argument("--dataset")
    p.add_argument("--sites", type=int, default=500)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--neb-vacancies", type=int, default=3, help="vacancies of the NEB timed alongside (8 hops each)")
    args = p.parse_args(argv)
    atoms = random_solid_solution("bcc", {"Fe": 0.8, "Cr": 0.2}, size=(20, 20, 20), a=A, seed=1)
    sites = list(range(0, len(atoms), len(atoms) // (50 if args.quick else args.sites)))
    # the CPU with 1 and 2 torch threads: on a shared machine the second thread often hurts
    runs = [(torch.device("cpu"), 1), (torch.device("cpu"), 2)]
    runs += [(torch.device("cuda"), None)] if torch.cuda.is_available() else []
    out = {"natoms": len(atoms), "sites": len(sites), "loadavg_start": os.getloadavg(), "cnn": []}
    for dev, threads in runs:
        if threads:
            torch.set_num_threads(threads)
        for name, arch in ARCHS.items():
            limit = 64 if (dev.type == "cpu" and name == "paper") else None
            row = {"arch": name, "threads": threads, **arch, **time_pipeline(atoms, sites, arch, dev, limit)}
            out["cnn"].append(row)
            print(row, flush=True)
    out["loadavg_end"] = os.getloadavg()
    out["neb_now"] = time_neb_now(args.neb_vacancies)     # right after the CNN timings, same load
    print(out["neb_now"], flush=True)
    paths = dataset_paths(sys.argv[1:] if argv is None else argv)
    out["neb_datasets"] = neb_seconds_per_barrier(paths) if paths else "no NEB dataset (bench_cnn_data.py)"
    for row in out["cnn"]:
        row["speedup_over_neb"] = out["neb_now"]["seconds_per_barrier"] / row["seconds_per_barrier"]["total"]
    return out


def time_neb_now(vacancies: int) -> dict:
    """Wall seconds per hop of a fresh NEB run with the datasets' settings (4x4x4 Fe-20Cr,
    FeCr.cdeam, 3 replicas), timed now so that both sides see the same machine load."""
    import tempfile

    from alloykit.neb import NebSettings, launch, plan_dataset

    sample = [("speed", random_solid_solution("bcc", {"Fe": 0.8, "Cr": 0.2}, 4, A, 11))]
    settings = NebSettings(potential="FeCr", replicas=3)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "neb.sqlite"
        plan_dataset(path, sample, sites=vacancies, settings=settings, seed=1)
        t0 = time.perf_counter()
        status = launch(path, groups=1, quiet=True)
        wall = time.perf_counter() - t0
    return {"hops": status["hops"], "wall_seconds": wall, "seconds_per_barrier": wall / max(status["hops"], 1),
            "replicas": 3, "mpi_ranks": 3, "natoms": 128, "loadavg": os.getloadavg()}


if __name__ == "__main__":
    write("cnn_speedup", {"argv": sys.argv[1:], **main()})
