"""alloykit.neb on the shared structure layer: typed LAMMPS dumps and data files as samples
(elements from --species, a one-line error without), first neighbours from the lattice
under size mismatch and thermal displacement, and hop records that carry the sample's
lattice."""
import json
import warnings

import numpy as np
import pytest
from ase.neighborlist import neighbor_list

from conftest import run

from alloykit.neb import NebSettings, launch, open_dataset, plan_dataset
from alloykit.structures import HopRecord, random_solid_solution, write_lammps_data

FAST = ["--replicas", "3", "--ftol", "0.05", "--n1", "100", "--n2", "100", "--potential", "FeCr", "--quiet"]


def fecr(size=2, seed=5):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # 16 sites cannot hold 20 % Cr exactly
        return random_solid_solution("bcc", "Fe=0.8,Cr=0.2", size, a=2.8665, seed=seed)


def typed_dump(path, frames):
    """A LAMMPS dump with ``id type x y z`` only (type 1 = Fe, 2 = Cr): no element names."""
    with open(path, "w") as f:
        for step, atoms in enumerate(frames):
            lx, ly, lz = atoms.cell.lengths().tolist()
            f.write(f"ITEM: TIMESTEP\n{100 * step}\nITEM: NUMBER OF ATOMS\n{len(atoms)}\n"
                    f"ITEM: BOX BOUNDS pp pp pp\n0 {lx!r}\n0 {ly!r}\n0 {lz!r}\nITEM: ATOMS id type x y z\n")
            for i, (s, (x, y, z)) in enumerate(zip(atoms.get_chemical_symbols(), atoms.positions.tolist()), 1):
                f.write(f"{i} {1 if s == 'Fe' else 2} {x!r} {y!r} {z!r}\n")


def typed_data(path, atoms):
    """A LAMMPS data file without Masses (type 1 = Fe, 2 = Cr): nothing names the elements."""
    write_lammps_data(atoms, path, species=["Fe", "Cr"])
    text = path.read_text()
    head, rest = text.split("\nMasses\n")
    path.write_text(head + "\n" + rest[rest.index("Atoms"):])


@pytest.fixture(scope="module")
def typed_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("typed")
    first, last = fecr(seed=5), fecr(seed=6)
    moved = last.copy()
    moved.positions += 0.01          # the dump's last frame, not its first, is the sample
    typed_dump(d / "aged.dump", [first, moved])
    typed_data(d / "start.data", first)
    return d, {"aged:1": moved, "start:0": first}


@pytest.mark.parametrize("name", ["aged.dump", "start.data"])
def test_typed_file_without_species_is_a_one_line_error(typed_files, tmp_path, name):
    d, _ = typed_files
    r = run(["alloykit", "neb", "run", str(tmp_path / "x.sqlite"), "--structure", str(d / name), "--sites", "1",
             *FAST])
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("alloykit neb run: ")
    assert name in r.stderr and "species" in r.stderr
    assert not (tmp_path / "x.sqlite").exists()


@pytest.mark.mpi
def test_typed_dump_and_data_file_with_species(typed_files, tmp_path):
    d, expected = typed_files
    path = tmp_path / "typed.sqlite"
    r = run(["alloykit", "neb", "run", str(path), "--structure", str(d / "aged.dump"), str(d / "start.data"),
             "--frames", "-1", "--species", "Fe", "Cr", "--sites", "1", *FAST], timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    with open_dataset(path) as ds:
        assert ds.sample_ids() == list(expected) and ds.species == ["Cr", "Fe"]
        for sid, atoms in expected.items():
            got = ds.sample(sid)
            assert got.get_chemical_symbols() == atoms.get_chemical_symbols()
            assert np.allclose(got.positions, atoms.positions, atol=1e-9)
        recs = list(ds.records(converged_only=False))
    assert len(recs) == 16
    for r in recs:
        assert r.moving_species == expected[r.sample_id][r.neighbor_site].symbol
        assert set(r.env_species) <= {"Fe", "Cr"}
        assert r.lattice == "bcc" and r.lattice_parameter == pytest.approx(2.8665, abs=1e-9)


@pytest.mark.mpi
def test_size_mismatch_cr40mo30v30_has_eight_hops_on_its_lattice(tmp_path):
    """BCC Cr40Mo30V30 with the 2NN MEAM (Cr/Mo ~9 % size mismatch), relaxed and then
    displaced as at ~1,000 K: a distance cutoff miscounts the first shell of many atoms,
    the lattice does not."""
    from mpi4py import MPI

    from alloykit.lmp import relax

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")    # 54 sites: 21.6 Cr rounded
        atoms = random_solid_solution("bcc", "Cr40Mo30V30", 3, seed=1)
    atoms = relax(atoms, "MoCoNiVFeAlCr", box="aniso", ftol=1e-6, comm=MPI.COMM_SELF)
    atoms.rattle(0.1, seed=3)
    # what a distance cutoff (midway between shells 1 and 2 at the sample's density) sees
    d1 = (2 * atoms.get_volume() / len(atoms)) ** (1 / 3) * np.sqrt(3) / 2
    coordination = np.bincount(neighbor_list("i", atoms, 0.5 * (1 + 2 / np.sqrt(3)) * d1), minlength=len(atoms))
    assert (coordination != 8).sum() > 10

    path = tmp_path / "crmov.sqlite"
    plan_dataset(path, [("CrMoV", atoms)], [0], NebSettings(potential="MoCoNiVFeAlCr", replicas=3, ftol=0.05,
                                                            n1=100, n2=100))
    launch(path, quiet=True)
    with open_dataset(path) as ds:
        recs = list(ds.records(converged_only=False))
    assert len(recs) == 8 and all(isinstance(r, HopRecord) for r in recs)
    assert sorted(r.neighbor_site for r in recs) == sorted(set(r.neighbor_site for r in recs))
    edges = atoms.cell.lengths() / 3
    for r in recs:
        assert r.lattice == "bcc"
        assert np.all(np.abs(r.lattice_parameter / edges - 1) < 0.005), (r.lattice_parameter, edges)
        assert r.moving_species == atoms[r.neighbor_site].symbol
        assert 0.8 * np.sqrt(3) / 2 * edges.mean() < np.linalg.norm(r.hop_vector) < 1.05 * np.sqrt(3) / 2 * edges.mean()
    # the barrier CNN accepts this dataset, and its lattice parameter is the sample's; so does
    # an old-style record without a stored parameter (taken from the relaxed environment)
    r = run(["alloykit", "cnn", "train", str(path), "--out", str(tmp_path / "model"), "--epochs", "1",
             "--grid6", "16", "--blocks", "1", "--width", "4", "--no-test", "--all-records", "--quiet",
             "--threads", "1"])
    assert r.returncode == 0, r.stderr[-1500:]
    model = json.loads((tmp_path / "model" / "model.json").read_text())
    assert abs(model["a"] / edges.mean() - 1) < 0.005 and model["lattice"] == "bcc"
    from dataclasses import replace

    from alloykit.sdm import describe_lattice

    kind, a = describe_lattice([replace(r, lattice_parameter=float("nan")) for r in recs])
    assert kind == "bcc" and abs(a / edges.mean() - 1) < 0.005
