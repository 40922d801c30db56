"""Single points and minimisations with a LAMMPS potential, ASE-style.

``LammpsCalculator`` is an ASE calculator that keeps one LAMMPS instance alive and only
moves atoms when positions change. ``evaluate`` and ``relax`` are the one-call forms.
Units are ASE's: eV, A, eV/A, eV/A^3 (stress, ASE sign and Voigt order).
"""
from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.singlepoint import SinglePointCalculator

from ..errors import InputError
from ..structures import species_of
from .commands import lammps_command
from .potentials import Potential, get_potential
from .session import Lammps
from .structure import (
    gather,
    get_atoms,
    move_atoms,
    put_atoms,
    stress_to_ase,
    to_ase_vectors,
)

_THERMO = "step pe c_ak_press[1] c_ak_press[2] c_ak_press[3] c_ak_press[4] c_ak_press[5] c_ak_press[6]"


def open_structure(atoms: Atoms, potential, species=None, comm=None, log=None, screen=False, triclinic=False):
    """A LAMMPS instance holding ``atoms`` and ``potential``; returns (lmp, prism, species).

    species: element of each atom type (default: all of the potential's elements).

    Defines ``compute ak_press`` (virial pressure) and ``compute ak_pe`` (per-atom energy);
    the caller closes ``lmp``.
    """
    pot = get_potential(potential)
    pot.check(sorted(set(atoms.get_chemical_symbols())))
    # by default one type per element of the potential, in its order: types then stay the
    # same whatever the composition (eam/cd also insists on every element having a type)
    species = species_of(atoms, pot.elements if species is None else species)
    pot.check(species)
    lmp = Lammps(comm=comm, log=log, screen=screen)
    try:
        lmp.commands(["units metal", "atom_style atomic", "atom_modify map array"])
        prism = put_atoms(lmp, atoms, species, triclinic=triclinic)
        if pot.model is not None:
            from ..mliap.coupling import load_unified

            load_unified(lmp, pot.model)
        lmp.commands(pot.commands(species))
        lmp.commands(["neighbor 1.0 bin", "neigh_modify every 1 delay 0 check yes",
                      "compute ak_press all pressure NULL virial", "compute ak_pe all pe/atom",
                      f"thermo_style custom {_THERMO}", "thermo_modify norm no"])
    except Exception:
        lmp.close()
        raise
    return lmp, prism, species


def run0(lmp) -> None:
    """``run 0`` on a new timestep: computes cache their values per timestep, so a
    second ``run 0`` on the same step would report the old ones."""
    step = int(lmp.raw.extract_global("ntimestep"))
    lmp.command(f"reset_timestep {step + 1}")
    lmp.command("run 0 post no")


def read_results(lmp, prism) -> dict:
    """Energy, forces, stress, per-atom energies after a run (ASE frame and units)."""
    thermo = lmp.raw.last_thermo()
    press = [thermo[f"c_ak_press[{k}]"] for k in range(1, 7)]
    return {
        "energy": float(thermo["PotEng"]),
        "free_energy": float(thermo["PotEng"]),
        "forces": to_ase_vectors(gather(lmp, "f", 1, 3), prism),
        "stress": stress_to_ase(press, prism),
        "energies": np.asarray(lmp.raw.gather("c_ak_pe", 1, 1), dtype=float),
    }


class LammpsCalculator(Calculator):
    """ASE calculator for any :class:`~alloykit.lmp.potentials.Potential` (or its name)."""

    implemented_properties = ["energy", "free_energy", "forces", "stress", "energies"]

    def __init__(self, potential, species=None, comm=None, log=None, **kwargs):
        super().__init__(**kwargs)
        self.potential: Potential = get_potential(potential)
        self.species, self.comm, self.log = species, comm, log
        self._lmp = self._prism = self._key = None

    def _key_of(self, atoms):
        return (atoms.get_chemical_symbols(), atoms.cell.array.tobytes(), tuple(atoms.pbc))

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        if self._lmp is None or self._key_of(atoms) != self._key:
            self.close()
            self._lmp, self._prism, species = open_structure(atoms, self.potential, self.species, self.comm, self.log)
            self._key = self._key_of(atoms)
        else:    # same cell and species: move the atoms
            move_atoms(self._lmp, self._prism, atoms.positions)
        run0(self._lmp)
        self.results = read_results(self._lmp, self._prism)

    def close(self):
        if self._lmp is not None:
            self._lmp.close()
        self._lmp = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def evaluate(atoms: Atoms, potential, species=None, comm=None) -> dict:
    """Energy (eV), forces (eV/A), stress (eV/A^3, ASE Voigt) and per-atom energies."""
    lmp, prism, _ = open_structure(atoms, potential, species, comm)
    with lmp:
        run0(lmp)
        return read_results(lmp, prism)


_BOX = {True: "iso", "iso": "iso", "aniso": "aniso", "tri": "tri"}


def relax(atoms: Atoms, potential, box=False, pressure: float = 0.0, ftol: float = 1e-6,
          etol: float = 0.0, maxiter: int = 5000, maxeval: int = 50000, min_style: str = "cg",
          species=None, comm=None, log=None) -> Atoms:
    """Minimise the energy in LAMMPS and return a relaxed copy of ``atoms``.

    potential: a named potential (``alloykit potentials``) or a :class:`Potential`; no
    default, since it decides the physics.
    box: False (positions only), "iso" (or True; volume), "aniso" (cell lengths) or
    "tri" (full cell), relaxed to ``pressure`` (GPa) with ``fix box/relax``.
    ftol: force tolerance (eV/A, LAMMPS's ``minimize`` ftol). The result carries a
    SinglePointCalculator (``get_potential_energy()``, forces, stress) and ``info["fmax"]``.
    """
    if box not in (False, None) and box not in _BOX:
        raise InputError(f"box: expected False, 'iso', 'aniso' or 'tri', got {box!r}")
    min_style_cmd = lammps_command("min_style", min_style)
    lmp, prism, species = open_structure(atoms, potential, species, comm, log, triclinic=(box == "tri"))
    with lmp:
        lmp.command(min_style_cmd)
        minimize = lammps_command("minimize", float(etol), float(ftol), int(maxiter), int(maxeval))
        if box:
            # box/relax changes the target as the cell changes: repeat until the volume stays
            bar = float(pressure) * 1.0e4
            lmp.command(lammps_command("fix", "ak_relax", "all", "box/relax", _BOX[box], bar, "vmax", 0.001))
            lmp.command("min_modify line quadratic")
            vol = None
            for _ in range(5):
                lmp.command(minimize)
                new = abs(np.linalg.det(get_atoms(lmp, species).cell.array))
                if vol is not None and abs(new - vol) < 1e-8 * new:
                    break
                vol = new
            lmp.command("unfix ak_relax")
        lmp.command(minimize)
        run0(lmp)
        res = read_results(lmp, prism)
        out = get_atoms(lmp, species, prism)
    out.info.update(atoms.info)
    out.info.pop("energy", None)    # the energy lives in the calculator (extxyz refuses both)
    out.info["fmax"] = float(np.sqrt((res["forces"] ** 2).sum(axis=1)).max()) if len(out) else 0.0
    out.calc = SinglePointCalculator(out, energy=res["energy"], free_energy=res["energy"],
                                     forces=res["forces"], stress=res["stress"], energies=res["energies"])
    return out
