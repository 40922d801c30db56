"""The barrier CNN inside LAMMPS (compute mliap/unified/atom with BarrierAtomModel): equal
to BarrierModel.predict_structure per (site, mover) to 1e-6 eV -- thermal noise, a vacancy,
a rotated FCC crystal, a group, a model file read by `lmp` and `mpiexec -n 2 lmp` -- movers
on the lattice sites where the nearest atoms are wrong, and barrier spectra recorded by the
MC/MD driver (resumed runs identical)."""
import json
import re
import sys

import numpy as np
import pytest
import torch

from conftest import ROOT, VENV_BIN, run

from alloykit.cnn.lammps_model import BarrierAtomModel, first_neighbour_movers, save_lammps_model
from alloykit.cnn.model import BarrierCNN
from alloykit.cnn.predictor import BarrierModel
from alloykit.csro.mcmd import run_mcmd, write_pair_include
from alloykit.lmp import Lammps, put_atoms
from alloykit.mliap import load_model, load_peratom
from alloykit.sdm.shells import sdm_spec
from alloykit.structures import lattice_sites, neighbour_pairs, random_solid_solution, write_lammps_data

pytestmark = pytest.mark.usefixtures("torch_one_thread")
TOL = 1e-6
A_FE = 2.8665


def random_model(species, lattice, a, seed=0):
    """An untrained CNN whose output spreads over ~1 eV: any change of an SDM shows."""
    torch.manual_seed(seed)
    spec = sdm_spec(species, lattice, a, n_shells=2, grid6=16)
    net = BarrierCNN(len(species), spec.grid, n=1, width=4, target_mean=0.7, target_scale=0.3)
    with torch.no_grad():
        net.net[-1].weight.mul_(300.0)
    return BarrierModel(net.eval(), spec, lattice, a, 2)


@pytest.fixture(scope="module")
def fecr_model():
    return random_model(["Fe", "Cr"], "bcc", A_FE)


def fecr_sample(size=4, seed=1, rattle=0.08):
    atoms = random_solid_solution("bcc", {"Fe": 0.75, "Cr": 0.25}, size=size, a=A_FE, seed=seed)
    atoms.rattle(rattle, seed=seed + 10)
    return atoms


def compute(atoms, model, species, group="all", extra=()):
    am = BarrierAtomModel(model)
    with Lammps() as lmp:
        lmp.commands(["units metal", "atom_style atomic", "atom_modify map array"])
        put_atoms(lmp, atoms, species)
        load_peratom(lmp, am)
        lmp.commands(["pair_style zero 4.0", "pair_coeff * *", f"comm_modify cutoff {am.cutoff + 2.01}", *extra,
                      f"compute b {group} mliap/unified/atom LATER {' '.join(species)}", "run 0"])
        return np.array(lmp.raw.gather("c_b", 1, am.n_outputs)).reshape(len(atoms), -1), am


def by_column(reference, am, n):
    """predict_structure's hops as an (atoms, columns) table (NaN: no hop)."""
    table = np.full((n, am.n_outputs), np.nan)
    dirs = am.hop_directions()
    for h in reference:
        table[h["vacancy_site"], int(np.argmax(dirs @ np.asarray(h["hop_vector"])))] = h["barrier"]
    return table


def test_bcc_thermal_noise_and_a_vacancy_equal_predict_structure(fecr_model):
    atoms = fecr_sample()
    del atoms[37]                                     # its 8 neighbours lose one hop each
    got, am = compute(atoms, fecr_model, ["Fe", "Cr"])
    ref = by_column(fecr_model.predict_structure(atoms), am, len(atoms))
    assert np.array_equal(np.isnan(got), np.isnan(ref)) and np.isnan(got).sum() == 8
    assert np.nanmax(np.abs(got - ref)) <= TOL
    assert np.nanstd(got) > 0.03                      # the model is not flat


def test_group_rows_and_other_rows_zero(fecr_model):
    atoms = fecr_sample(seed=2)
    got, am = compute(atoms, fecr_model, ["Fe", "Cr"], group="cr", extra=["group cr type 2"])
    cr = np.array(atoms.get_chemical_symbols()) == "Cr"
    ref = by_column(fecr_model.predict_structure(atoms, sites=np.flatnonzero(cr)), am, len(atoms))
    assert np.abs(got[cr] - ref[cr]).max() <= TOL and not got[~cr].any()


def test_rotated_fcc_same_barriers_per_site():
    model = random_model(["Cu", "Ni"], "fcc", 3.58, seed=1)
    atoms = random_solid_solution("fcc", {"Cu": 0.5, "Ni": 0.5}, size=3, a=3.58, seed=4)
    atoms.rattle(0.05, seed=5)
    atoms.rotate(35, (1, 2, 3), rotate_cell=True)     # LAMMPS gets it in its own (triclinic) frame
    got, am = compute(atoms, model, ["Cu", "Ni"])
    assert got.shape[1] == 12
    ref = np.full_like(got, np.nan)
    for h in model.predict_structure(atoms):
        row = ref[h["vacancy_site"]]
        row[np.flatnonzero(np.isnan(row))[0]] = h["barrier"]
    assert np.abs(np.sort(got, 1) - np.sort(ref, 1)).max() <= TOL


def test_movers_are_lattice_neighbours_where_nearest_atoms_are_not():
    atoms = fecr_sample(size=6, seed=3, rattle=0.2)      # ~1,000 K-like noise
    i, j, _, D = neighbour_pairs(atoms, 4.0)
    movers = first_neighbour_movers(D, i, len(atoms), "bcc")
    table = lattice_sites(atoms, 1, "bcc")
    _, ref, _ = table.hops()
    assert np.array_equal(np.sort(j[movers], 1), np.sort(ref, 1))
    nearest8 = [np.sort(j[i == k][:8]) for k in range(len(atoms))]      # pairs sorted by distance
    assert sum(not np.array_equal(n, np.sort(r)) for n, r in zip(nearest8, ref)) > 0


def _dump_frame(path):
    text = path.read_text()
    rows = np.loadtxt(text[text.index("ITEM: ATOMS"):].splitlines()[1:])
    return rows[np.argsort(rows[:, 0])]


def test_model_file_in_input_script_serial_and_two_ranks(fecr_model, tmp_path):
    path = save_lammps_model(fecr_model, tmp_path / "barriers.akm")
    loaded = load_model(path)
    assert isinstance(loaded, BarrierAtomModel) and loaded.n_outputs == 8
    atoms = random_solid_solution("bcc", {"Fe": 0.75, "Cr": 0.25}, size=4, a=A_FE, seed=6)
    write_lammps_data(atoms, tmp_path / "s.data", ["Fe", "Cr"])
    write_pair_include("FeCr", ["Fe", "Cr"], tmp_path / "pot.in")
    ref = by_column(fecr_model.predict_structure(atoms), loaded, len(atoms))
    for n in (1, 2):
        cmd = [str(VENV_BIN / "mpiexec"), "-n", str(n), str(VENV_BIN / "lmp"), "-in",
               str(ROOT / "inputs" / "in.barrier_spectra"), "-log", "none", "-var", "data", "s.data",
               "-var", "pot", "pot.in", "-var", "ntypes", "2", "-var", "model", str(path), "-var", "elements", "Fe Cr",
               "-var", "seed", "7", "-var", "steps", "20", "-var", "every", "10", "-var", "swap_every", "10",
               "-var", "dump", f"b{n}.*.dump"]
        r = run(cmd, cwd=tmp_path)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        if n == 2:
            assert "1 by 1 by 2 MPI processor grid" in r.stdout or "1 by 2 by 1" in r.stdout or "2 by 1 by 1" in r.stdout
        rows = _dump_frame(tmp_path / f"b{n}.0.dump")      # step 0: the data file's positions
        assert np.abs(rows[:, 5:] - ref).max() <= TOL
        means = [float(v) for v in re.findall(r"^\s+0\s+\S+\s+\S+\s+(.*)$", r.stdout, re.M)[0].split()]
        assert np.allclose(means, ref.mean(0), atol=1e-6)
        assert (tmp_path / f"b{n}.20.dump").exists()


def test_mcmd_records_spectra_and_resumes_exactly(fecr_model, tmp_path):
    model_file = save_lammps_model(fecr_model, tmp_path / "barriers.akm")
    atoms = random_solid_solution("bcc", {"Fe": 0.75, "Cr": 0.25}, size=4, a=A_FE, seed=8)
    kw = dict(species=["Fe", "Cr"], temperature=600.0, steps=300, record_every=100, checkpoint_every=100,
              swap_every=20, swap_trials=10, shells=1, seed=3, progress=False, barrier_model=str(model_file),
              spectra_every=100, spectra_range=(0.0, 3.0), spectra_bins=30)
    full = run_mcmd(atoms, "FeCr", tmp_path / "full", **kw)
    recs = full.records
    assert [("barriers" in r) for r in recs] == [True] * 4
    last = recs[-1]["barriers"]
    assert sum(d["n"] for d in last.values()) == 8 * len(atoms)
    assert all(sum(d["hist"]) == d["n"] for d in last.values())
    # the last record is the final structure: its spectra per moving species = predict_structure
    hops = fecr_model.predict_structure(full.final)
    for sp, d in last.items():
        b = np.array([h["barrier"] for h in hops if h["moving_species"] == sp])
        assert d["n"] == len(b) and abs(d["mean"] - b.mean()) <= TOL and abs(d["std"] - b.std()) <= TOL
    assert (tmp_path / "full" / "spectra.png").stat().st_size > 0
    assert json.loads((tmp_path / "full" / "settings.json").read_text())["comm_cutoff"] > 4.9

    class Stop(Exception):
        pass

    def stop(rec):
        if rec["step"] == 200:
            raise Stop

    with pytest.raises(Stop):
        run_mcmd(atoms, "FeCr", tmp_path / "cut", on_record=stop, **kw)
    cut = run_mcmd(None, "FeCr", tmp_path / "cut", resume=True,
                   **{k: v for k, v in kw.items() if k != "species"})
    strip = lambda rs: [{k: v for k, v in r.items() if k != "wall_s"} for r in rs]     # noqa: E731
    assert strip(cut.records) == strip(full.records)
    assert np.array_equal(cut.final.positions, full.final.positions)


def test_maxpool2_equals_torch_maxpool3d():
    """The network's pool (three pairwise maxima) is torch's 2x2x2 max-pool, values and
    gradients (ties aside: random input has none)."""
    import torch

    from alloykit.cnn.model import MaxPool2

    x = torch.randn(3, 4, 8, 6, 10, requires_grad=True)
    y = MaxPool2()(x)
    ref = torch.nn.functional.max_pool3d(x, 2)
    assert torch.equal(y, ref)
    g = torch.randn_like(ref)
    (ga,) = torch.autograd.grad(y, x, g)
    (gb,) = torch.autograd.grad(ref, x, g)
    assert torch.equal(ga, gb)
