"""The NEB barrier datasets the CNN benchmarks train on, and NEB's cost per barrier.

Plans (or resumes) SQLite datasets with ``alloykit.neb``: random BCC Fe-Cr solid solutions
(FeCr.cdeam, the wheel's potential), 4x4x4 cells, at Cr fractions 0.1 ... 0.5, a seeded random
subset of vacancy sites per sample, all 8 hops per vacancy, climbing-image NEB with the
paper's spring and tolerances (3 replicas by default: the cost of more is out of reach on two
shared cores). Part "a" is ``results/cnn_neb_fecr.sqlite`` (12 vacancies per sample); part "b"
(``--part b``) adds ``results/cnn_neb_fecr_b.sqlite``: other samples (other seeds) of the same
compositions. Resumable: rerunning computes only the missing vacancies (kill it any time).
Writes ``results/cnn_data.json``: barriers per dataset and NEB wall seconds per barrier on
this machine (from the datasets' timings).

With ``--csro``: also ages a Fe-30Cr sample by hybrid MC/MD at 300 K (alloykit.csro, the
paper's protocol: 30 swaps per pair every 100 MD steps) and computes the hops of
``--sites`` of its vacancies into ``results/cnn_neb_fecr_csro.sqlite`` (the Fig. 4 test set;
the random Fe-30Cr samples are among the training compositions, as the paper's TaNbMo was).

Usage: python benchmarks/bench_cnn_data.py [--part a|b] [--sites N] [--replicas R] [--csro]
Other CNN benchmarks read parts a and b (or ``--dataset PATH``, or synthetic barriers).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, write  # noqa: E402

PARTS = {"a": (RESULTS / "cnn_neb_fecr.sqlite", 2024, ""), "b": (RESULTS / "cnn_neb_fecr_b.sqlite", 2025, "-b")}
CSRO_DATASET = RESULTS / "cnn_neb_fecr_csro.sqlite"
CR_FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5)


def dataset_paths(argv=None) -> list[Path]:
    """``--dataset PATH`` from argv, else the benchmark datasets that exist."""
    argv = sys.argv[1:] if argv is None else argv
    if "--dataset" in argv:
        return [Path(argv[argv.index("--dataset") + 1])]
    return [p for p, _, _ in PARTS.values() if p.exists()]


def load_data(argv=None, quick: bool = False):
    """(records, source) from --dataset / the benchmark datasets / synthetic barriers
    (alloykit.cnn.SyntheticBarrier on unrelaxed Fe-Cr, Cr 0.1 ... 0.5)."""
    from alloykit.cnn import open_records, synthetic_records

    paths = dataset_paths(argv)
    if paths:
        recs = [r for p in paths for r in open_records(p)]
        return recs, " + ".join(p.name for p in paths)
    comps = [f"Fe={1 - cr:.1f},Cr={cr:.1f}" for cr in CR_FRACTIONS]
    recs = synthetic_records(comps, size=(5, 5, 5), sites_per_sample=8 if quick else 40, seed=0)
    return recs, "synthetic (alloykit.cnn.SyntheticBarrier, unrelaxed)"


def neb_seconds_per_barrier(paths) -> dict:
    """Wall seconds of NEB per hop on the machine that made the datasets."""
    from alloykit.neb import open_dataset

    seconds, hops, usable = 0.0, 0, 0
    for path in paths:
        with open_dataset(path) as ds:
            st = ds.status()
        seconds, hops, usable = seconds + st["compute_seconds"], hops + st["hops"], usable + st["usable_barriers"]
    return {"datasets": [Path(p).name for p in paths], "compute_seconds": seconds, "hops": hops, "usable": usable,
            "seconds_per_barrier": seconds / max(hops, 1), "settings": st["settings"]}


def main(argv=None) -> dict:
    from alloykit.neb import NebSettings, launch, plan_dataset
    from alloykit.neb.samples import sample_seed
    from alloykit.structures import random_solid_solution

    p = argparse.ArgumentParser()
    p.add_argument("--part", default="a", choices=sorted(PARTS))
    p.add_argument("--sites", type=int, default=12)
    p.add_argument("--size", type=int, default=4)
    p.add_argument("--replicas", type=int, default=3)
    p.add_argument("--groups", type=int, default=1)
    p.add_argument("--csro", action="store_true", help="also the CSRO test set (MC/MD + NEB)")
    p.add_argument("--mcmd-steps", type=int, default=50000)
    args = p.parse_args(argv)
    path, seed, suffix = PARTS[args.part]
    samples = []
    for k, cr in enumerate(CR_FRACTIONS):
        comp = {"Fe": round(1 - cr, 4), "Cr": cr}
        samples.append((f"Fe{1 - cr:.2f}Cr{cr:.2f}{suffix}",
                        random_solid_solution("bcc", comp, args.size, 2.8665, sample_seed(seed, k))))
    settings = NebSettings(potential="FeCr", replicas=args.replicas)
    plan = plan_dataset(path, samples, sites=args.sites, settings=settings, seed=seed,
                        recipe={"benchmark": "bench_cnn_data", "cr_fractions": CR_FRACTIONS, "size": args.size})
    t0 = time.perf_counter()
    status = launch(path, groups=args.groups)
    out = {"part": args.part, "dataset": path.name, "plan": plan, "run_seconds": time.perf_counter() - t0,
           "status": {k: v for k, v in status.items() if k != "dataset"}, "parts": {}}
    if args.csro:
        out["csro"] = csro_dataset(args, settings)
    from alloykit.neb import open_dataset

    from alloykit.csro.sro import compute_sro

    for other in dataset_paths([]) + ([CSRO_DATASET] if CSRO_DATASET.exists() else []):
        with open_dataset(other) as ds:
            part = {k: v for k, v in ds.status().items() if k != "dataset"}
            # Warren-Cowley alpha, 3 shells, of each sample: the CSRO one against random ones
            part["alpha_Cr_Cr"] = {sid: compute_sro(ds.sample(sid), 3).to_dict()["alpha"]["Cr-Cr"]
                                   for sid in ds.sample_ids()}
            out["parts"][other.name] = part
    out["neb_cost_all_parts"] = neb_seconds_per_barrier(dataset_paths([]))
    print(f"{status['usable_barriers']} usable barriers; NEB "
          f"{out['neb_cost_all_parts']['seconds_per_barrier']:.1f} s per barrier")
    return out


def csro_dataset(args, settings) -> dict:
    """MC/MD-aged Fe-30Cr (same size as the random samples) -> NEB hops of its vacancies."""
    import tempfile

    from alloykit.csro.mcmd import run_mcmd
    from alloykit.lmp import relax
    from alloykit.neb import launch, plan_dataset
    from alloykit.neb.samples import sample_seed
    from alloykit.structures import random_solid_solution

    if CSRO_DATASET.exists():          # planned before: resume it (MC/MD is not redone)
        status = launch(CSRO_DATASET, groups=args.groups)
        return {"dataset": CSRO_DATASET.name, "status": {k: v for k, v in status.items() if k != "dataset"}}
    start = random_solid_solution("bcc", {"Fe": 0.7, "Cr": 0.3}, args.size, 2.8665, sample_seed(2024, 99))
    with tempfile.TemporaryDirectory() as work:     # the aged sample is kept in the dataset itself
        res = run_mcmd(start, "FeCr", out=work, steps=args.mcmd_steps, temperature=300.0, seed=7)
    # quench the 300 K snapshot (the paper's inherent structure): thermal displacements
    # would otherwise fail the NEB module's lattice-site check
    aged = relax(res.final, "FeCr", box=False, ftol=1e-4)
    plan = plan_dataset(CSRO_DATASET, [("csro-Fe0.70Cr0.30-300K", aged)], sites=args.sites,
                        settings=settings, seed=2026,
                        recipe={"benchmark": "bench_cnn_data --csro", "mcmd_steps": args.mcmd_steps})
    status = launch(CSRO_DATASET, groups=args.groups)
    mcmd = {k: res.summary.get(k) for k in ("steps_done", "pe_first", "pe_last", "sro_first", "sro_last")}
    return {"dataset": CSRO_DATASET.name, "plan": plan, "mcmd": mcmd,
            "status": {k: v for k, v in status.items() if k != "dataset"}}


if __name__ == "__main__":
    write("cnn_data", {"argv": sys.argv[1:], **main()})
