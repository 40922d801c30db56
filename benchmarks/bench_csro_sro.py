"""Speed of the SRO analysis (Warren-Cowley alpha and delta, 3 shells, lattice shells).

Random equiatomic TaNbMo BCC with Gaussian displacements (0.1 A per component, a thermal
crystal) at 16k, 128k and 1,024,000 atoms, and FCC CuNiCo at 1,000,188 atoms:
* fit: lattice fit + site indexing + neighbour tables (``lattice_sites``);
* count: pair counts, alpha, delta, noise (``compute_sro`` on ready shells);
* total: both (one new structure);
* next frame: ``LatticeSites.matches`` (are all atoms still on their sites?) + count, the
  per-frame cost along an MC/MD trajectory.
Also the time to read the 1,024,000-atom frame from a gzip LAMMPS dump. Best of 3, CPU
seconds (the shared machine makes wall time scatter); wall seconds are kept as well.
"""
from __future__ import annotations

import gzip
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, write  # noqa: E402

from alloykit.csro.sro import compute_sro  # noqa: E402
from alloykit.structures import lattice_sites, random_solid_solution, read_frames  # noqa: E402

REPEATS = 3


def timed(fn):
    best = None
    for _ in range(REPEATS):
        t0, c0 = time.perf_counter(), time.process_time()
        value = fn()
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        best = (cpu, wall, value) if best is None or cpu < best[0] else best
    return best


def sample(lattice, comp, size, a, seed=1):
    atoms = random_solid_solution(lattice, comp, size, a=a, seed=seed)
    atoms.positions += np.random.default_rng(seed).normal(0.0, 0.1, atoms.positions.shape)
    return atoms


def measure(atoms) -> dict:
    cpu_fit, wall_fit, shells = timed(lambda: lattice_sites(atoms, 3))
    cpu_count, wall_count, result = timed(lambda: compute_sro(atoms, shells))
    cpu_total, wall_total, _ = timed(lambda: compute_sro(atoms, 3))
    nxt = atoms.copy()
    nxt.positions += np.random.default_rng(9).normal(0.0, 0.05, nxt.positions.shape)
    nxt.set_chemical_symbols(np.random.default_rng(9).permutation(nxt.get_chemical_symbols()))
    cpu_next, wall_next, ok = timed(lambda: shells.matches(nxt) and compute_sro(nxt, shells))
    assert ok is not False, "next frame not matched"
    n = len(atoms)
    return {"n_atoms": n, "structure": shells.structure, "a": shells.a,
            "cpu_s": {"fit": cpu_fit, "count": cpu_count, "total": cpu_total, "next_frame": cpu_next},
            "wall_s": {"fit": wall_fit, "count": wall_count, "total": wall_total, "next_frame": wall_next},
            "atoms_per_s_total": n / cpu_total, "atoms_per_s_next_frame": n / cpu_next,
            "max_abs_alpha_over_sigma": float(np.nanmax(np.abs(result.alpha / result.sigma)))}


def dump_read_time(atoms) -> dict:
    """Write one frame as a gzip text dump (numpy), then time read_frames on it."""
    path = Path(tempfile.mkdtemp(prefix="bench_sro_")) / "big.lammpstrj.gz"
    types = {s: k + 1 for k, s in enumerate(sorted(set(atoms.get_chemical_symbols())))}
    t = np.array([types[s] for s in atoms.get_chemical_symbols()])
    cell = np.diag(atoms.cell.array)
    with gzip.open(path, "wt", compresslevel=1) as f:
        f.write(f"ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n{len(atoms)}\nITEM: BOX BOUNDS pp pp pp\n")
        f.write("".join(f"0.0 {c!r}\n" for c in map(float, cell)))
        f.write("ITEM: ATOMS id type x y z\n")
        np.savetxt(f, np.column_stack([np.arange(1, len(atoms) + 1), t, atoms.positions]),
                   fmt=["%d", "%d", "%.6f", "%.6f", "%.6f"])
    species = sorted(types, key=types.get)
    cpu, wall, frame = timed(lambda: next(read_frames(path, species)))
    assert len(frame) == len(atoms)
    return {"n_atoms": len(atoms), "bytes": path.stat().st_size, "cpu_s": cpu, "wall_s": wall}


def main() -> None:
    runs = []
    for size in (16, 32, 64, 80):
        atoms = sample("bcc", {"Ta": 1 / 3, "Nb": 1 / 3, "Mo": 1 / 3}, size, 3.25)
        runs.append(measure(atoms))
        print(runs[-1], flush=True)
    big_bcc = atoms
    fcc = sample("fcc", {"Cu": 0.4, "Ni": 0.3, "Co": 0.3}, 63, 3.58)
    runs.append(measure(fcc))
    print(runs[-1], flush=True)
    read = dump_read_time(big_bcc)
    print(read)
    write("csro_sro_speed", {
        "what": "Warren-Cowley alpha + delta, 3 lattice shells, random alloys with 0.1 A Gaussian noise",
        "time": "CPU seconds, best of 3", "runs": runs, "read_gzip_dump_1M": read,
        "headline": {"n_atoms": runs[3]["n_atoms"], "total_cpu_s": runs[3]["cpu_s"]["total"],
                     "atoms_per_s": runs[3]["atoms_per_s_total"],
                     "next_frame_cpu_s": runs[3]["cpu_s"]["next_frame"]}})
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bcc = [r for r in runs if r["structure"] == "bcc"]
    fig, ax = plt.subplots(figsize=(5, 3.6))
    n = np.array([r["n_atoms"] for r in bcc])
    for key, label in (("total", "new structure (fit + count)"), ("next_frame", "next frame (site check + count)")):
        ax.loglog(n, [r["cpu_s"][key] for r in bcc], "o-", label=label)
    ax.loglog(n, n / n[-1] * bcc[-1]["cpu_s"]["total"], "k:", lw=0.8, label="linear")
    ax.set_xlabel("atoms")
    ax.set_ylabel("CPU seconds")
    ax.set_title("SRO (3 shells), BCC TaNbMo")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "csro_sro_speed.png", dpi=110)


if __name__ == "__main__":
    main()
