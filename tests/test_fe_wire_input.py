"""inputs/fe_wire_tensile.in (the GRS Fig. 7 Fe nanowire, benchmarks/fe_wire_md.py) run
small, through the benchmark's own code path (alloykit.lmp on one rank): a 3 nm long wire
pulled to 2 % strain in 500 steps.

Checks the physics: BCC after the minimisation (8 first neighbours at a*sqrt(3)/2 = 2.472 A
and 6 second at a = 2.855 A in the core), a positive stress that rises linearly with a
Young's modulus in a broad window round Fe_mm's bulk E_111 (C11, C12, C44 = 243, 145, 116
GPa give 286 GPa; a 3.6 nm wire at 300 K is softer: ~200 GPa), and the snapshot written.
"""
from __future__ import annotations

import importlib.util
import math

import numpy as np
from conftest import ROOT

A = 2.855


def _bench():
    spec = importlib.util.spec_from_file_location("fe_wire_md", ROOT / "benchmarks" / "fe_wire_md.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_fe_wire_small_tensile_run(tmp_path):
    import ase.io
    from scipy.spatial import cKDTree

    bench = _bench()
    run = bench.run_wire(tmp_path, dump_strains=[0.0, 0.02], length=30.0, eq_steps=200, erate=0.02,
                         strain_max=0.02, every=50, seed=12345)

    # the carved cylinder: atoms ~ pi r^2 L / (a^3/2) (faceting moves it by a few %)
    expected = math.pi * 18.0**2 * run["L0_A"] / (A**3 / 2)
    assert abs(run["natoms"] / expected - 1) < 0.05, (run["natoms"], expected)
    assert run["steps"] == 500

    # BCC after the minimisation, in the core (surface atoms have lost neighbours)
    bounds, pos = bench.read_dump(run["relaxed"])
    lz = bounds[2, 1] - bounds[2, 0]
    # periodic in z only: x, y get a box far wider than the wire, so no image is near
    p = pos - [pos[:, 0].min(), pos[:, 1].min(), bounds[2, 0]]
    p[:, 2] %= lz
    tree = cKDTree(p, boxsize=[1000.0, 1000.0, lz])
    pairs = tree.query_pairs(3.1, output_type="ndarray")
    v = p[pairs[:, 0]] - p[pairs[:, 1]]
    v[:, 2] -= lz * np.round(v[:, 2] / lz)                 # nearest image along z
    d = np.linalg.norm(v, axis=1)
    i = np.concatenate([pairs[:, 0], pairs[:, 1]])
    d = np.concatenate([d, d])
    core = np.flatnonzero(np.hypot(pos[:, 0] - pos[:, 0].mean(), pos[:, 1] - pos[:, 1].mean()) < 10.0)
    assert len(core) > 500
    first = np.bincount(i[d < 2.65], minlength=len(pos))[core]
    second = np.bincount(i[(d > 2.65) & (d < 3.1)], minlength=len(pos))[core]
    assert (first == 8).all() and (second == 6).all()
    core_d = d[np.isin(i, core)]
    assert abs(core_d[core_d < 2.65].mean() - A * math.sqrt(3) / 2) < 0.02
    assert abs(core_d[core_d > 2.65].mean() - A) < 0.03

    # stress: zero at zero strain (the length was relaxed), positive and linear under load
    strain, stress = run["strain"], run["stress"]
    assert strain[-1] > 0.018 and stress[-1] > 2.5
    assert (stress[strain > 0.005] > 0).all()
    e = bench.youngs_modulus(strain, stress)
    assert 150 < e < 350, e
    fit = np.polyval(np.polyfit(strain, stress, 1), strain)
    assert np.abs(stress - fit).max() < 0.6, np.abs(stress - fit).max()    # no yield, no kink
    assert abs(np.polyfit(strain, stress, 1)[1]) < 0.5                     # intercept ~ 0

    # the snapshot at 2 %: every atom, the length strained, and as extxyz with pbc F F T
    bounds, pos = bench.read_dump(run["dumps"][0.02])
    assert len(pos) == run["natoms"]
    assert abs((bounds[2, 1] - bounds[2, 0]) / run["L0_A"] - 1.02) < 1e-3
    out = tmp_path / "snap.extxyz.gz"
    bench.write_snapshot(bounds, pos, out)
    back = ase.io.read(out)
    assert len(back) == run["natoms"] and list(back.pbc) == [False, False, True]
    assert set(back.get_chemical_symbols()) == {"Fe"}
    # the cell holds the wire with vacuum round it
    assert (back.positions[:, :2].min(0) > 10).all() and (back.positions[:, :2].max(0) < back.cell.lengths()[:2] - 10).all()
    # no neck at 2 %: the diameter profile is flat within a few %
    prof = bench.diameter_profile(bounds, pos)
    assert prof.min() / np.median(prof) > 0.95
