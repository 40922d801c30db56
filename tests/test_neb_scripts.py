"""The LAMMPS scripts inputs/in.neb_relax and inputs/in.neb run by hand (mpiexec + lmp,
files written by ASE, nothing from alloykit.neb): the Fe_mm vacancy migration barrier."""
import re

import ase.io
import numpy as np
import pytest
from ase.build import bulk

from conftest import ROOT, VENV_BIN, run

FE_MM_BARRIER = 0.63     # eV, converged 11-replica value measured with the wheel (0.632 at 127 atoms)


def potential_file(tmp_path, name, species):
    from alloykit.lmp import get_potential

    path = tmp_path / "pot.in"
    path.write_text("\n".join(get_potential(name).commands(species)) + "\n")
    return path


def box_lo(data_file):
    """(xlo, ylo, zlo) of a LAMMPS data file."""
    text = data_file.read_text()
    return [float(re.search(rf"^(\S+) \S+ {a}lo {a}hi", text, re.M).group(1)) for a in "xyz"]


def relax_by_hand(tmp_path, data, pot, out, *extra):
    r = run([str(VENV_BIN / "lmp"), "-in", str(ROOT / "inputs" / "in.neb_relax"), "-log", "none", "-var", "data",
             str(data), "-var", "potential", str(pot), "-var", "out", str(tmp_path / out), *extra], cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return float(re.search(r"ALLOYKIT_RELAX energy (\S+)", r.stdout).group(1))


def neb_by_hand(tmp_path, replicas, initial, final, pot, out="neb", *extra):
    log = tmp_path / f"log.{out}"
    r = run([str(VENV_BIN / "mpiexec"), "-n", str(replicas), str(VENV_BIN / "lmp"), "-partition", f"{replicas}x1",
             "-in", str(ROOT / "inputs" / "in.neb"), "-log", str(log), "-screen", "none",
             "-var", "initial", str(initial), "-var", "final", str(final), "-var", "potential", str(pot),
             "-var", "out", str(tmp_path / out), *extra], cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    last = [l.split() for l in log.read_text().splitlines() if re.match(r"^\s+\d+\s+\S", l)][-1]
    return {"step": int(last[0]), "max_force": float(last[1]), "ebf": float(last[6]), "ebr": float(last[7])}


def hand_hop(tmp_path, atoms, site, neighbor, potential, species, replicas, *neb_extra):
    """Vacancy at ``site``, ``neighbor`` hops into it, all with the hand-run scripts."""
    vac = atoms.copy()
    del vac[site]
    move = neighbor + 1 - (neighbor > site)           # LAMMPS ID after the deletion (ASE numbers 1..N)
    ase.io.write(tmp_path / "vac.data", vac, format="lammps-data", specorder=species, masses=True)
    pot = potential_file(tmp_path, potential, species)
    e_i = relax_by_hand(tmp_path, tmp_path / "vac.data", pot, "initial")
    # the hop: from the neighbour's relaxed position to the vacancy site, which follows the
    # box relaxation (its fractional position is kept)
    relaxed = ase.io.read(tmp_path / "initial.data", format="lammps-data")
    lo = np.array(box_lo(tmp_path / "initial.data"))
    site_x = lo + atoms.cell.scaled_positions(atoms.positions[site:site + 1])[0] @ relaxed.cell.array
    frac = relaxed.cell.scaled_positions((site_x - (relaxed.positions[move - 1]))[None])[0]
    hop = (frac - np.round(frac)) @ relaxed.cell.array
    e_f = relax_by_hand(tmp_path, tmp_path / "initial.data", pot, "final", "-var", "box", "none", "-var", "move",
                        str(move), *sum((["-var", f"d{a}", repr(float(v))] for a, v in zip("xyz", hop)), []))
    res = neb_by_hand(tmp_path, replicas, tmp_path / "initial.data", tmp_path / "final.neb", pot, "neb", *neb_extra)
    return {**res, "e_initial": e_i, "e_final": e_f}


@pytest.mark.mpi
def test_fe_mm_barrier_with_11_replicas(tmp_path):
    fe = bulk("Fe", "bcc", a=2.855, cubic=True).repeat(4)        # 128 sites, 127 atoms with the vacancy
    res = hand_hop(tmp_path, fe, 0, 1, "Fe_mm", ["Fe"], 11)
    assert res["max_force"] <= 0.001                                # converged to the paper's ftol
    assert abs(res["ebf"] - FE_MM_BARRIER) < 0.01, res
    assert abs(res["ebf"] - res["ebr"]) < 1e-4                      # same state before and after
    assert abs(res["e_final"] - res["e_initial"]) < 1e-6


@pytest.mark.mpi
def test_python_m_alloykit_lmp_runs_the_neb_script(tmp_path):
    """The same script through the library (python -m alloykit.lmp): same NEB, 7 replicas."""
    fe = bulk("Fe", "bcc", a=2.855, cubic=True).repeat(4)
    hand_hop(tmp_path, fe, 0, 1, "Fe_mm", ["Fe"], 7)
    pot = tmp_path / "pot.in"
    log = tmp_path / "log.pym"
    r = run([str(VENV_BIN / "mpiexec"), "-n", "7", str(VENV_BIN / "python"), "-m", "alloykit.lmp",
             "-partition", "7x1", "-in", str(ROOT / "inputs" / "in.neb"), "-log", str(log), "-screen", "none",
             "-var", "initial", str(tmp_path / "initial.data"), "-var", "final", str(tmp_path / "final.neb"),
             "-var", "potential", str(pot), "-var", "out", str(tmp_path / "pym")], cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    energies = [float((tmp_path / f"pym.energy.{k}").read_text()) for k in range(1, 8)]
    by_lmp = [float((tmp_path / f"neb.energy.{k}").read_text()) for k in range(1, 8)]
    assert abs(max(energies) - energies[0] - FE_MM_BARRIER) < 0.01
    assert max(abs(a - b) for a, b in zip(energies, by_lmp)) < 1e-8      # same library, same path
    assert (tmp_path / "pym.replica.4").is_file()
