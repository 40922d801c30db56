"""alloykit.structures: one reader for every format (against real LAMMPS output), one
composition rule, lattice-site neighbours under size mismatch, thermal noise, vacancies
and strain."""
import gzip
import warnings

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from alloykit.errors import InputError
from alloykit.structures import (CompositionRounded, Lattice, NotCrystalline, detect_lattice, environment_lattice,
                                 exact_counts, lattice_sites, neighbour_pairs, parse_composition, points_within,
                                 random_solid_solution, read_frames, read_structure, write_lammps_data,
                                 write_lammps_dump)


def same_structure(a, b, tol=1e-8):
    assert a.get_chemical_symbols() == b.get_chemical_symbols()
    assert np.allclose(a.cell.array, b.cell.array, atol=tol)
    d = a.get_scaled_positions(wrap=True) - b.get_scaled_positions(wrap=True)
    d -= np.round(d)
    assert np.abs(d @ a.cell.array).max() < tol


@pytest.fixture
def triclinic():
    at = random_solid_solution("bcc", "Fe18Cr12V6", size=(3, 3, 2), a=2.87, seed=4)
    at.set_cell(at.cell.array + [[0, 0, 0], [0.4, 0, 0], [0.3, -0.2, 0]], scale_atoms=True)
    at.rattle(0.05, seed=1)
    return at


def test_round_trips_of_every_format(tmp_path, triclinic):
    at = triclinic
    at.write(tmp_path / "a.extxyz")
    at.write(tmp_path / "POSCAR", format="vasp")
    species = ["V", "Fe", "Cr"]
    write_lammps_data(at, tmp_path / "a.data", species=species)
    write_lammps_dump([at, at], tmp_path / "a.dump.gz", species=species)
    for name in ("a.extxyz", "POSCAR", "a.data"):
        back = read_structure(tmp_path / name)
        # LAMMPS files hold the cell rotated into its lower-triangular frame: compare by shape
        if name == "a.data":
            assert np.allclose(back.cell.cellpar(), at.cell.cellpar())
            assert back.get_chemical_symbols() == at.get_chemical_symbols()
            assert np.allclose(np.sort(back.get_all_distances(mic=True).ravel()),
                               np.sort(at.get_all_distances(mic=True).ravel()), atol=1e-8)
        else:
            same_structure(back, at, 1e-5)
    frames = list(read_frames(tmp_path / "a.dump.gz"))
    assert [f.info["frame"] for f in frames] == [0, 1] and frames[1].info["timestep"] == 1
    assert np.allclose(frames[0].cell.cellpar(), at.cell.cellpar())
    assert frames[0].get_chemical_symbols() == at.get_chemical_symbols()


def test_lammps_written_typed_files_need_species(tmp_path, triclinic):
    """Files written by LAMMPS itself (types only, scaled coordinates, triclinic, atoms out of
    order) read back with --species, and are refused (naming the file) without them."""
    from alloykit.lmp import Lammps
    from alloykit.lmp.structure import put_atoms

    species = ["Cr", "Fe", "V"]
    with Lammps() as lmp:
        lmp.commands(["units metal", "atom_style atomic", "atom_modify map array"])
        put_atoms(lmp, triclinic, species)
        lmp.command(f"write_dump all custom {tmp_path / 'typed.dump'} id type xs ys zs")
        lmp.command(f"write_data {tmp_path / 'typed.data'} nocoeff")
    text = (tmp_path / "typed.data").read_text()
    start = text.index("Masses")
    stop = text.index("Atoms")
    (tmp_path / "nomass.data").write_text(text[:start] + text[stop:])
    dump = read_structure(tmp_path / "typed.dump", species=species)
    data = read_structure(tmp_path / "typed.data")               # elements from Masses
    data2 = read_structure(tmp_path / "nomass.data", species=species)
    for got in (dump, data, data2):
        assert got.get_chemical_symbols() == triclinic.get_chemical_symbols()
        assert np.allclose(got.cell.cellpar(), triclinic.cell.cellpar(), atol=1e-6)
        assert np.allclose(np.sort(got.get_all_distances(mic=True).ravel()),
                           np.sort(triclinic.get_all_distances(mic=True).ravel()), atol=1e-5)
    for name in ("typed.dump", "nomass.data"):
        with pytest.raises(InputError, match=f"{name}.*species"):
            read_structure(tmp_path / name)
    with pytest.raises(InputError, match="types run from 1 to 3, but 2 species"):
        read_structure(tmp_path / "typed.dump", species=["Cr", "Fe"])
    with pytest.raises(InputError, match="'fe' is not an element symbol.*'Fe'"):
        read_structure(tmp_path / "typed.dump", species=["Cr", "fe", "V"])


def test_bad_files_are_one_line_errors(tmp_path):
    bad = {
        "empty.dump": "",
        "cut.dump": "ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n3\nITEM: BOX BOUNDS pp pp pp\n0 3\n0 3\n0 3\n"
                    "ITEM: ATOMS id element x y z\n1 Fe 0 0 0\n",
        "dup.dump": "ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n2\nITEM: BOX BOUNDS pp pp pp\n0 3\n0 3\n0 3\n"
                    "ITEM: ATOMS id element x y z\n1 Fe 0 0 0\n1 Cr 1 1 1\n",
        "nan.dump": "ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n1\nITEM: BOX BOUNDS pp pp pp\n0 3\n0 3\n0 3\n"
                    "ITEM: ATOMS id element x y z\n1 Fe nan 0 0\n",
        "xx.dump": "ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n1\nITEM: BOX BOUNDS pp pp pp\n0 3\n0 3\n0 3\n"
                   "ITEM: ATOMS id element x y z\n1 Xx 0 0 0\n",
        "count.data": "t\n\n3 atoms\n1 atom types\n0 3 xlo xhi\n0 3 ylo yhi\n0 3 zlo zhi\n\nMasses\n\n1 55.845\n\n"
                      "Atoms # atomic\n\n1 1 0 0 0\n2 1 1 1 1\n",
        "box.data": "t\n\n1 atoms\n1 atom types\n3 0 xlo xhi\n0 3 ylo yhi\n0 3 zlo zhi\n\nMasses\n\n1 55.845\n\n"
                    "Atoms # atomic\n\n1 1 0 0 0\n",
        "og.data": "t\n\n1 atoms\n1 atom types\n0 3 xlo xhi\n0 3 ylo yhi\n0 3 zlo zhi\n\nMasses\n\n1 999\n\n"
                   "Atoms # atomic\n\n1 1 0 0 0\n",
    }
    expect = {"empty.dump": "no frame", "cut.dump": "truncated", "dup.dump": "atom id 1 appears twice",
              "nan.dump": "NaN", "xx.dump": "'Xx', not an element", "count.data": "header says 3 atoms",
              "box.data": "hi <= lo", "og.data": "matches no element"}
    for name, text in bad.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(InputError, match=expect[name]) as err:
            list(read_frames(tmp_path / name))
        assert str(tmp_path / name) in str(err.value) and "\n" not in str(err.value)
    with gzip.open(tmp_path / "cut.dump.gz", "wt") as f:
        f.write(bad["dup.dump"].replace("id element", "id type").replace(" Fe ", " 1 ").replace(" Cr ", " 2 "))
    raw = (tmp_path / "cut.dump.gz").read_bytes()
    (tmp_path / "cut.dump.gz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputError, match="cut.dump.gz"):
        list(read_frames(tmp_path / "cut.dump.gz", species=["Fe", "Cr"]))
    with pytest.raises(InputError, match="no such file"):
        read_structure(tmp_path / "missing.extxyz")


def test_frames_selection_and_errors_yield(tmp_path):
    at = random_solid_solution("bcc", "Fe75Cr25", size=2, a=2.87, seed=0)
    write_lammps_dump([at] * 5, tmp_path / "five.dump", species=["Fe", "Cr"])
    assert [f.info["frame"] for f in read_frames(tmp_path / "five.dump", index="1:5:2")] == [1, 3]
    assert read_structure(tmp_path / "five.dump").info["frame"] == 4
    lines = (tmp_path / "five.dump").read_text().splitlines(keepends=True)
    per = len(lines) // 5
    broken = lines[:per] + lines[per:per + 9] + lines[per + 12:] # frame 1 loses 3 atom lines
    (tmp_path / "broken.dump").write_text("".join(broken))
    got = list(read_frames(tmp_path / "broken.dump", errors="yield"))
    kinds = [type(g).__name__ for g in got]
    assert kinds == ["Atoms", "FrameError", "Atoms", "Atoms", "Atoms"], kinds
    assert "frame 1" in str(got[1])


def test_compositions_one_parser_one_rule():
    assert parse_composition("Fe=0.8,Cr=0.2") == parse_composition({"Fe": 0.8, "Cr": 0.2}) == {"Fe": 0.8, "Cr": 0.2}
    assert parse_composition("Fe80Cr20") == pytest.approx({"Fe": 0.8, "Cr": 0.2})
    assert parse_composition("AuCu3") == {"Au": 0.25, "Cu": 0.75}
    for bad, msg in (("Fe=0.8,Cr=0.3", "sum to 1.1"), ("Fe=0.8,fe=0.2", "'fe' is not an element"),
                     ("Fe=x", "not a number"), ("", "neither|empty"), ("Fe=-0.1,Cr=1.1", ">= 0")):
        with pytest.raises(InputError, match=msg):
            parse_composition(bad)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert exact_counts("Fe=0.75,Cr=0.25", 16) == {"Fe": 12, "Cr": 4}     # exact: no note
    with pytest.warns(CompositionRounded):
        assert exact_counts("Cr40Mo30V30", 25) == {"Cr": 10, "Mo": 8, "V": 7}
    with pytest.raises(InputError, match="cannot hold it exactly"):
        exact_counts("Cr40Mo30V30", 25, strict=True)
    a = random_solid_solution("fcc", "Cu=0.5,Ni=0.5", size=3, seed=7)
    b = random_solid_solution("fcc", "Cu=0.5,Ni=0.5", size=3, seed=7)
    assert a.get_chemical_symbols() == b.get_chemical_symbols() and a.get_chemical_symbols().count("Cu") == 54


def crmov(size=5, seed=3, sigma=0.0, strain=None):
    at = random_solid_solution("bcc", "Cr40Mo30V30", size=size, a=3.01, seed=seed)
    if strain is not None:
        at.set_cell(at.cell.array @ (np.eye(3) + np.asarray(strain)), scale_atoms=True)
    at.positions += np.random.default_rng(seed).normal(0.0, sigma, at.positions.shape)
    return at


@pytest.mark.parametrize("sigma", [0.0, 0.12, 0.2])
def test_lattice_sites_under_noise_vacancies_and_strain(sigma):
    at = crmov(sigma=sigma, strain=[[0.01, 0.004, 0], [0.004, -0.005, 0], [0, 0, 0.002]])
    del at[[7, 100, 101]]
    sites = lattice_sites(at, 3)
    assert sites.structure == "bcc" and sites.vacancies == 3 and list(sites.coordination) == [8, 6, 12]
    # a = cube root of twice the volume per site, exactly (the cell is 5x5x5 conventional cells)
    assert sites.a == pytest.approx((2 * at.get_volume() / 250) ** (1 / 3), rel=1e-9)
    # atoms 100 and 101 are the corner and centre of one cube: a divacancy, so 7 + 7 + 8
    # atoms around the three vacancies, each missing one first neighbour
    vac = sites.vacant_sites()
    movers, vec = sites.site_neighbours(vac)
    assert movers.shape == (3, 8) and sorted((movers >= 0).sum(1)) == [7, 7, 8]
    assert np.allclose(np.linalg.norm(vec, axis=1), sites.lattice.d1, rtol=0.01)   # strained cell
    assert (sites.neighbours[0] >= 0).sum() == 8 * len(at) - 22
    sel, movers, vec = sites.hops()
    assert movers.shape == (len(at), 8)
    # a distance cutoff midway between shells 1 and 2 gets some sites wrong at these amplitudes
    if sigma >= 0.12:
        i, *_ = neighbour_pairs(at, Lattice("bcc", sites.a).first_shell_cutoff())
        counts = np.bincount(i, minlength=len(at))
        assert np.any(counts[(sites.neighbours[0] >= 0).all(1)] != 8)


def test_detect_lattice_fcc_rotated_and_refusals():
    fcc = random_solid_solution("fcc", "Cu=0.5,Ni=0.5", size=3, a=3.6, seed=1)
    fcc.rotate(37, "x", rotate_cell=True)
    fcc.rotate(11, "z", rotate_cell=True)
    lat = detect_lattice(fcc)
    assert lat.name == "fcc" and lat.a == pytest.approx(3.6, rel=1e-9) and lat.nn == 12
    gas = Atoms("Fe20", positions=np.random.default_rng(0).random((20, 3)) * 9, cell=[9] * 3, pbc=True)
    with pytest.raises(NotCrystalline):
        detect_lattice(gas)
    with pytest.raises(NotCrystalline, match="not BCC or FCC"):
        detect_lattice(bulk("Po", "sc", a=2.6).repeat(4))


def test_environment_lattice_of_a_relaxed_vacancy():
    """The lattice of a vacancy environment whose first shell relaxed inwards unevenly
    (size mismatch): the count within a fixed radius fails, the shell fit does not."""
    at = crmov(size=6, sigma=0.05)
    site = 0
    (j, D), = points_within(at, 7.6, sites=[site])
    r = np.linalg.norm(D, axis=1)
    first = r < 2.8
    D[first] *= np.random.default_rng(1).uniform(0.88, 1.0, first.sum())[:, None]   # 2.3-2.6 A
    D[(r > 2.8) & (r < 3.2)] *= 0.97
    hop = D[np.flatnonzero(first)[0]]
    lat = environment_lattice(D, hop)
    assert lat.name == "bcc" and lat.a == pytest.approx(3.01, rel=0.005)
    fcc = random_solid_solution("fcc", "Cu=0.5,Ni=0.5", size=4, a=3.6, seed=1)
    (j, D), = points_within(fcc, 7.0, sites=[0])
    lat = environment_lattice(D, D[0])
    assert lat.name == "fcc" and lat.a == pytest.approx(3.6, rel=1e-6)


def test_check_structure_sees_coincident_atoms_across_the_boundary():
    """Two atoms 0.05 A apart through the periodic boundary (one at x = 0.01, the other at
    x = L - 0.04) are refused; 0.2 A apart they are fine."""
    from ase import Atoms

    from alloykit.errors import InputError
    from alloykit.structures import check_structure

    L = 10.0
    atoms = Atoms("Fe2", positions=[[0.01, 5, 5], [L - 0.04, 5, 5]], cell=[L, L, L], pbc=True)
    with pytest.raises(InputError, match="atoms 0 and 1 are 0.050 A apart"):
        check_structure(atoms, "x")
    atoms.positions[1, 0] = L - 0.19
    assert check_structure(atoms, "x") is atoms
    atoms.pbc = False                   # no periodic image: 9.8 A apart
    atoms.positions[1, 0] = L - 0.04
    assert check_structure(atoms, "x") is atoms
