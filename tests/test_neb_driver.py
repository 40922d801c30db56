"""alloykit.neb.vacancy_hops on small cells: symmetry, energy bookkeeping, environments,
flags, hand-made Fe-Cr environments against the hand-run scripts, and bad input."""
import sys

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from conftest import VENV_BIN, run
from test_neb_scripts import FE_MM_BARRIER, hand_hop

from alloykit.errors import InputError
from alloykit.neb import NebSettings, hop_neighbours, vacancy_hops
from alloykit.structures import detect_lattice, lattice_sites


def fe(n=4):
    return bulk("Fe", "bcc", a=2.855, cubic=True).repeat(n)


def _mpi_hops(out):
    """Under mpiexec -n 7: every hop of one vacancy, one replica per rank (in-process)."""
    import json

    from mpi4py import MPI

    vac, recs = vacancy_hops(fe(), 0, NebSettings(potential="Fe_mm", replicas=7, env_cutoff=5.5), comm=MPI.COMM_WORLD)
    if MPI.COMM_WORLD.Get_rank() == 0:
        clean = lambda v: v.tolist() if isinstance(v, np.ndarray) else v
        with open(out, "w") as f:
            json.dump({"vacancy": {k: clean(v) for k, v in vac.items()}, "records": [r.to_dict() for r in recs]}, f)


@pytest.mark.mpi
def test_pure_fe_all_eight_hops_are_equal_and_consistent(tmp_path):
    import json

    r = run([str(VENV_BIN / "mpiexec"), "-n", "7", sys.executable, __file__, str(tmp_path / "hops.json")])
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads((tmp_path / "hops.json").read_text())
    vac, recs = got["vacancy"], got["records"]
    assert len(recs) == 8 and all(r["flag"] == "" and r["converged"] for r in recs)
    barriers = np.array([r["barrier_forward"] for r in recs])
    assert barriers.max() - barriers.min() < 1e-4                  # symmetry-equivalent hops
    assert abs(barriers.mean() - FE_MM_BARRIER) < 0.01
    d1 = 2.855 * np.sqrt(3) / 2
    for r in recs:
        # forward - backward is exactly the end-state energy difference
        assert r["barrier_forward"] - r["barrier_backward"] == pytest.approx(r["energy_final"] - r["energy_initial"], abs=1e-12)
        assert r["mep_energies"][0] == 0.0 and len(r["mep_energies"]) == 7
        assert max(r["mep_energies"]) == pytest.approx(r["barrier_forward"], abs=1e-12)
        assert r["moving_species"] == "Fe"
        assert 0.9 * d1 < np.linalg.norm(r["hop_vector"]) < 1.02 * d1    # neighbours relax toward the vacancy
        env = np.array(r["env_positions"])
        assert env.shape == (len(r["env_species"]), 3) and np.linalg.norm(env, axis=1).max() <= 5.5
        assert np.allclose(env[r["env_moving_index"]], r["hop_vector"])
        # NEB's first replica is the relaxed initial state
        assert r["energy_initial"] == pytest.approx(vac["energy_initial"], abs=1e-9)
    # BCC shells within 5.5 A of a site (a = 2.855 A): 8 + 6 + 12 + 24 + 8
    assert len(recs[0]["env_species"]) == 58


def fecr_environment():
    """BCC Fe, vacancy at the origin. Hop A: a Cr at (1/2,1/2,1/2)a moves. Hop B: an Fe at
    (-1/2,1/2,1/2)a moves. Two more Cr at (0,1,1)a and (0,0,1)a sit in the saddle windows
    of both hops (second neighbours of the vacancy, first neighbours of both movers)."""
    atoms = fe(4)
    a = 2.855
    neigh = {tuple(np.round(v / a * 2).astype(int)): j for j, v in hop_neighbours(atoms, lattice_sites(atoms, 1), 0)}
    cr_hopper = neigh[(1, 1, 1)]
    sym = np.array(atoms.get_chemical_symbols())
    sym[cr_hopper] = "Cr"
    frac = atoms.cell.scaled_positions(atoms.positions)
    for target in ([0, 0.25, 0.25], [0, 0, 0.25]):      # (0,1,1)a and (0,0,1)a in a 4x4x4 cell
        sym[np.argmin(np.linalg.norm(frac - target, axis=1))] = "Cr"
    atoms.set_chemical_symbols(sym.tolist())
    return atoms, cr_hopper, neigh[(-1, 1, 1)]


@pytest.mark.mpi
def test_fecr_hand_made_environments_match_hand_run_scripts(tmp_path):
    atoms, cr_hop, fe_hop = fecr_environment()
    _, recs = vacancy_hops(atoms, 0, NebSettings(potential="FeCr", replicas=5), neighbors=[cr_hop, fe_hop])
    got = {r.neighbor_site: r for r in recs}
    assert got[cr_hop].moving_species == "Cr" and got[fe_hop].moving_species == "Fe"
    for j in (cr_hop, fe_hop):
        d = tmp_path / f"hop{j}"
        d.mkdir()
        hand = hand_hop(d, atoms, 0, j, "FeCr", ["Fe", "Cr"], 5)
        r = got[j]
        assert r.converged and r.flag == "", r.flag
        assert r.energy_initial == pytest.approx(hand["e_initial"], abs=1e-6)
        assert r.energy_final == pytest.approx(hand["e_final"], abs=1e-6)
        assert r.barrier_forward == pytest.approx(hand["ebf"], abs=1e-4)      # log has 8 digits
        assert r.barrier_backward == pytest.approx(hand["ebr"], abs=1e-4)
        assert r.lattice == "bcc" and r.lattice_parameter == pytest.approx(2.855, abs=1e-9)
    # the two environments differ, and so do their barriers
    assert abs(got[cr_hop].barrier_forward - got[fe_hop].barrier_forward) > 0.01


@pytest.mark.mpi
def test_unconverged_and_double_hump_are_flagged():
    _, recs = vacancy_hops(fe(), 0, NebSettings(potential="Fe_mm", replicas=3, n1=5, n2=5), neighbors=[1])
    assert not recs[0].converged and "unconverged" in recs[0].flag
    # 5 replicas on Fe_mm's double hump: the climbing image converges onto the split vacancy
    _, recs = vacancy_hops(fe(), 0, NebSettings(potential="Fe_mm", replicas=5), neighbors=[1])
    r = recs[0]
    assert r.converged and "climber_at_minimum" in r.flag
    assert r.barrier_forward < FE_MM_BARRIER - 0.05            # the wrong number it would have given


@pytest.mark.parametrize("energies, index", [
    ([0, 0.06, -0.04, -0.02, -0.14], 2),       # issue 15: a dip below the start, above the end
    ([-0.14, -0.02, -0.04, 0.06, 0], 2),       # the same path backward
    ([0, 0.5, -0.2, 0.3, -0.5], 2),            # a third state between the ends
    ([0, 0.5, 0.9, -0.3, 0.1], 3),             # ... below both ends
    ([0, 0.3, 0.63, 0.5, 0.63, 0.3, 0], None),  # Fe_mm's split vacancy: above both ends
    ([0, 0.5, 0.1, 0.3, -0.5], None),          # a minimum above the start
    ([0, 0.5, 0.2, -0.303, -0.30], None),      # a wiggle shallower than the tolerance
    ([0, 0.4, -0.2, -0.5], None),              # plain downhill after the saddle
])
def test_intermediate_minimum_is_a_third_state(energies, index):
    from alloykit.neb.driver import intermediate_minimum

    assert intermediate_minimum(energies) == index


def test_lammps_failure_is_a_flagged_record_not_a_barrier(tmp_path):
    from alloykit.lmp import Potential

    bogus = tmp_path / "bogus.eam.alloy"
    bogus.write_text("not\na\npotential\n1 Fe\n")
    pot = Potential.custom("eam/alloy", "* * {file:0} {elements}", ["Fe"], [bogus])
    _, recs = vacancy_hops(fe(3), 0, NebSettings(potential=pot, replicas=3), neighbors=[1])
    r = recs[0]
    assert not r.converged and "lammps_error" in r.flag and r.extra["error"].startswith("initial state:")
    assert np.isnan(r.barrier_forward) and len(r.env_species) == 0 and not r.usable


def test_lattices_and_neighbour_shells():
    cu = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(3)
    assert detect_lattice(cu).name == "fcc" and len(hop_neighbours(cu, lattice_sites(cu, 1), 7)) == 12
    assert detect_lattice(fe(3)).name == "bcc" and len(hop_neighbours(fe(3), lattice_sites(fe(3), 1), 7)) == 8


@pytest.mark.parametrize("atoms, site, settings, message", [
    (Atoms("Fe54", positions=np.random.default_rng(0).random((54, 3)) * 8, cell=[8] * 3, pbc=True), 0, {},
     "not crystalline"),
    (bulk("Fe", "hcp", a=2.48, c=4.05).repeat((4, 4, 3)), 0, {}, "the lattice is not BCC or FCC"),
    (bulk("Fe", "bcc", a=2.855, cubic=True), 0, {}, "too small"),
    (fe(3), 54, {}, "site: 54 out of range 0..53"),
    (fe(3), 0, {"potential": "Ta06A"}, "element(s) Fe not supported"),
    (fe(3), 0, {"replicas": 2}, "replicas: 2; need an integer from 3"),
    (fe(3), 0, {"replicas": 1000}, "replicas: 1000; need an integer from 3 (initial, one image, final) to 64"),
    (fe(3), 0, {"spring": float("inf")}, "spring: must be a finite number > 0, got inf"),
    (fe(3), 0, {"ftol": float("nan")}, "ftol: must be a finite number > 0, got nan"),
    (fe(3), 0, {"n1": 0}, "n1: step budget must be an integer from 1"),
    (fe(3), 0, {"potential": "nope"}, "potential: unknown name 'nope'"),
])
def test_bad_input_is_one_line(atoms, site, settings, message):
    with pytest.raises(InputError) as e:
        vacancy_hops(atoms, site, NebSettings(**{"potential": "Fe_mm", **settings}))
    assert message in str(e.value) and "\n" not in str(e.value)


def test_cli_bad_input_one_line(tmp_path):
    for args, message in ((["--sites", "1,2,999", "--size", "3", "--potential", "FeCr"], "site: 999"),
                         (["--potential", "Fe_mm"], "element(s) Cr not supported")):
        r = run(["alloykit", "neb", "run", str(tmp_path / "x.sqlite"), *args])
        # one line of error (a 54-site Fe-20Cr sample also gets a note on the rounded composition)
        lines = [line for line in r.stderr.strip().splitlines() if ": note: " not in line]
        assert r.returncode == 2 and message in r.stderr and len(lines) == 1, r.stderr
        assert lines[0].startswith("alloykit neb run: ") and "Traceback" not in r.stderr
    r = run(["alloykit", "neb", "run", str(tmp_path / "x.sqlite")])
    assert r.returncode == 2 and "--potential" in r.stderr          # no silent default for the physics
    assert not (tmp_path / "x.sqlite").exists()


if __name__ == "__main__":
    _mpi_hops(sys.argv[1])
