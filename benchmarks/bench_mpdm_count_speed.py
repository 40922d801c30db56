"""Counting speed: one 1,024,000-atom BCC Fe-20Cr frame (80^3 cubic cells, thermal noise
0.03 A), counted from an ase.Atoms and from a LAMMPS text dump (read + count); a crystal is
counted on its lattice sites, and the geometric shell fit (the path for frames that are
not one crystal) is timed on the same frame for comparison.

    python benchmarks/bench_mpdm_count_speed.py [--quick | --size N]

Writes benchmarks/results/mpdm_count_speed.json (--size N: 2 N^3 atoms, printed only).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from alloykit.mpdm import count_atoms, count_files, meta_table
from alloykit.mpdm.count import _count_as, classify_on_sites, neighbour_shells
from alloykit.mpdm.demo import random_sample
from alloykit.structures import lattice_sites, species_indices

RESULTS = Path(__file__).resolve().parent / "results"
NAMES = ["Fe", "Cr"]


def write_dump(atoms, path):
    """A LAMMPS-style text dump of one orthogonal frame (types 1 = Fe, 2 = Cr)."""
    n = len(atoms)
    cell = atoms.cell.lengths()
    types = np.where(np.array(atoms.get_chemical_symbols()) == "Cr", 2, 1)
    with open(path, "w") as f:
        f.write(f"ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n{n}\nITEM: BOX BOUNDS pp pp pp\n")
        f.write("".join(f"0 {L:.10g}\n" for L in cell))
        f.write("ITEM: ATOMS id type x y z\n")
        np.savetxt(f, np.column_stack([np.arange(1, n + 1), types, atoms.positions]),
                   fmt=["%d", "%d", "%.6f", "%.6f", "%.6f"])


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="128,000 atoms")
    p.add_argument("--size", type=int, help="cubic cells per edge (a quick look on a shared machine)")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    size = args.size or (40 if args.quick else 80)
    atoms = random_sample(size, 0.2, 1, NAMES)
    atoms.positions += np.random.default_rng(2).normal(0, 0.03, atoms.positions.shape)
    n = len(atoms)
    meta_table("bcc", 2)                                   # enumeration cached, not timed

    times, cpu = [], []
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fc = count_atoms(atoms, "bcc", NAMES)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    # where the time goes (one more run, split by stage), and the geometric path on the
    # same frame (what a frame that is not one crystal costs)
    sp, _ = species_indices(atoms, NAMES)
    t0 = time.perf_counter()
    sites = lattice_sites(atoms, 1, "bcc")
    t1 = time.perf_counter()
    on_sites, _ = classify_on_sites(sites, sp, meta_table("bcc", 2))
    t2 = time.perf_counter()
    neighbour_shells(atoms, q=14)
    t5 = time.perf_counter()
    geometric = _count_as(atoms, "bcc", sp, 2, None, None, "frame")[2]
    t6 = time.perf_counter()
    assert np.array_equal(geometric, on_sites)       # both paths agree on a clean crystal

    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "big.dump"
        write_dump(atoms, dump)
        t3 = time.perf_counter()
        (from_dump,) = list(count_files([dump], "bcc", NAMES))
        t4 = time.perf_counter()
    assert np.array_equal(from_dump.counts, fc.counts)

    best = min(times)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    result = {"benchmark": "mpdm_count_speed", "atoms": n, "lattice": "bcc", "composition": "Fe-20Cr",
              "thermal_noise_A": 0.03, "cpus": cpus, "machine": platform.processor() or platform.machine(),
              "count_seconds": [round(t, 3) for t in times], "best_seconds": round(best, 3),
              "cpu_seconds_all_threads": [round(t, 3) for t in cpu],
              "load_average_1min": round(os.getloadavg()[0], 2),
              "atoms_per_second": round(n / best),
              "split_seconds": {"lattice sites (structures.lattice_sites)": round(t1 - t0, 3),
                                "slots from the site table": round(t2 - t1, 3)},
              "geometric_path_seconds": {"neighbours (images + cKDTree, 15 nearest)": round(t5 - t2, 3),
                                         "total (neighbours + shell fit)": round(t6 - t5, 3)},
              "lattice_over_geometric_time": round((t2 - t0) / (t6 - t5), 3),
              "dump_read_and_count_seconds": round(t4 - t3, 3),
              "unclassified": fc.n_unclassified,
              "note": "wall-clock on a shared machine (see load_average_1min); the cKDTree query "
                      "uses all cpus (workers=-1), the rest is single-threaded numpy"}
    if not args.size:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "mpdm_count_speed.json").write_text(json.dumps(result, indent=1))
    print(f"{n} atoms: best {best:.2f} s of {[round(t, 2) for t in times]} (cpu {[round(t, 2) for t in cpu]}) "
          f"-> {n / best:,.0f} atoms/s on {cpus} cpus, load {os.getloadavg()[0]:.1f}; "
          f"lattice sites {t1 - t0:.2f} s, geometric path {t6 - t5:.2f} s; dump read + count {t4 - t3:.2f} s; unclassified {fc.n_unclassified}")
    return result


if __name__ == "__main__":
    main()
