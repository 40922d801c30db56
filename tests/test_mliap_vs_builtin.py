"""The proof: a torch Lennard-Jones model through pair_style mliap/unified equals LAMMPS's
built-in lj/cut (energy, every force component, pressure tensor, per-atom energy and
virial), reaches the same minimum, and conserves energy in NVE as well as lj/cut."""
import numpy as np
import pytest

from conftest import build, rel_err

TOL = 1e-10
THERMO = "pe press pxx pyy pzz pxy pxz pyz"


def snapshot(lmp):
    lmp.commands(["compute pe all pe/atom", "compute sa all stress/atom NULL virial",
                  f"thermo_style custom {THERMO}", "run 0"])
    out = {k: lmp.thermo(k) for k in THERMO.split()}
    out["f"] = np.array(lmp.raw.gather_atoms("f", 1, 3)).reshape(-1, 3)
    out["pe_atom"] = np.array(lmp.raw.gather("c_pe", 1, 1))
    out["virial_atom"] = np.array(lmp.raw.gather("c_sa", 1, 6)).reshape(-1, 6)
    return out


@pytest.fixture(scope="module")
def pair_results():
    with build(pair="builtin") as ref, build(pair="mliap") as ml:
        return snapshot(ref), snapshot(ml)


def test_energy_and_pressure_tensor(pair_results):
    ref, ml = pair_results
    assert ref["pe"] < 0    # a bound LJ solid, so the comparison is not of zeros
    for k in THERMO.split():
        assert abs(ml[k] - ref[k]) <= TOL * max(abs(ref[k]), abs(ref["press"])), k


def test_every_force_component(pair_results):
    ref, ml = pair_results
    assert np.abs(ref["f"]).max() > 1e-3
    assert rel_err(ml["f"], ref["f"]) <= TOL


def test_per_atom_energy_and_virial(pair_results):
    ref, ml = pair_results
    assert rel_err(ml["pe_atom"], ref["pe_atom"]) <= TOL
    assert rel_err(ml["virial_atom"], ref["virial_atom"]) <= TOL


def test_smooth_linear_against_builtin():
    with build(pair="builtin", smooth=True) as ref, build(pair="mliap", smooth=True) as ml:
        a, b = snapshot(ml), snapshot(ref)
    assert abs(a["pe"] - b["pe"]) <= TOL * abs(b["pe"])
    assert rel_err(a["f"], b["f"]) <= TOL


def test_minimize_reaches_the_same_minimum():
    """Force-shifted LJ (lj/smooth/linear) so that the minimum is a true one."""
    res = []
    for pair in ("builtin", "mliap"):
        with build(n=2, pair=pair, smooth=True) as lmp:
            lmp.commands(["thermo_style custom step pe fnorm", "run 0"])
            f_start = lmp.thermo("fnorm")
            lmp.commands(["minimize 0 1e-8 2000 20000"])
            x = np.array(lmp.raw.gather_atoms("x", 1, 3)).reshape(-1, 3)
            res.append((lmp.thermo("pe"), lmp.thermo("fnorm") / f_start, x))
    (e0, f0, x0), (e1, f1, x1) = res
    # forces down by more than 10^6 from the start (line search precision limits the rest)
    assert f0 < 1e-6 and f1 < 1e-6
    assert abs(e1 - e0) <= 1e-10 * abs(e0)
    assert np.abs(x1 - x0).max() < 1e-6


def test_nve_energy_conservation():
    """1000 NVE steps: the total energy of the mliap run fluctuates no more than lj/smooth/linear's."""
    drift = {}
    for pair in ("builtin", "mliap"):
        with build(n=2, pair=pair, smooth=True) as lmp:
            lmp.commands(["velocity all create 60.0 4928 loop geom", "fix nve all nve",
                          "timestep 0.002", "variable et equal etotal",
                          "fix av all vector 10 v_et", "thermo 0", "run 1000"])
            et = np.array([lmp.raw.extract_fix("av", 0, 1, k) for k in range(100)])
            drift[pair] = (et.max() - et.min()) / abs(et.mean())
    assert drift["builtin"] < 1e-4
    assert drift["mliap"] <= 1.5 * drift["builtin"] + 1e-9


def test_morse_against_builtin():
    from alloykit.mliap.models import TorchMorse

    m = TorchMorse(["Ar", "Kr"], d0=[[0.02, 0.03], [0.03, 0.05]], alpha=[[1.3, 1.2], [1.2, 1.1]],
                   r0=[[3.8, 3.9], [3.9, 4.0]], rcut=8.0)
    coeffs = ["pair_style morse 8.0", "pair_coeff 1 1 0.02 1.3 3.8", "pair_coeff 1 2 0.03 1.2 3.9",
              "pair_coeff 2 2 0.05 1.1 4.0"]
    with build(pair="mliap", model=m) as ml, build(pair="none", extra=coeffs) as ref:
        a, b = snapshot(ml), snapshot(ref)
    assert abs(a["pe"] - b["pe"]) <= TOL * abs(b["pe"])
    assert rel_err(a["f"], b["f"]) <= TOL


def test_hybrid_overlay_with_soft_core():
    """GRS overlays a soft repulsion: mliap/unified + soft equals lj/cut + soft."""
    soft = "soft 2.5"
    ref_cmds = [f"pair_style hybrid/overlay lj/cut 8.5 {soft}"]
    ref_cmds += [c.replace("pair_coeff 1 1", "pair_coeff 1 1 lj/cut").replace("pair_coeff 1 2", "pair_coeff 1 2 lj/cut")
                 .replace("pair_coeff 2 2", "pair_coeff 2 2 lj/cut") for c in
                 [f"pair_coeff {i} {j} {e} {s}" for (i, j, e, s) in [(1, 1, 0.0104, 3.40), (1, 2, 0.0120, 3.50), (2, 2, 0.0140, 3.60)]]]
    ref_cmds += ["pair_coeff * * soft 0.5"]
    from alloykit.lmp import Lammps
    from alloykit.mliap import load_unified
    from conftest import SYSTEM, lj_model

    with Lammps() as ref, Lammps() as ml:
        for lmp in (ref, ml):
            lmp.raw.commands_string(SYSTEM.format(n=3))
        ref.commands(ref_cmds)
        load_unified(ml, lj_model())
        ml.commands([f"pair_style hybrid/overlay mliap/unified LATER {soft}", "pair_coeff * * mliap/unified Ar Kr",
                     "pair_coeff * * soft 0.5"])
        a, b = snapshot(ml), snapshot(ref)
    assert abs(a["pe"] - b["pe"]) <= TOL * abs(b["pe"])
    assert rel_err(a["f"], b["f"]) <= TOL
    assert abs(a["press"] - b["press"]) <= TOL * abs(b["press"])
