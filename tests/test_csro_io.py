"""Frames for SRO (read by alloykit.structures): multi-frame text dumps (gzip, triclinic,
scaled coordinates, types or elements), frames that change atom count, and SRO of every
frame of a file."""
import gzip

import numpy as np
import pytest
from ase.build import bulk, make_supercell

from alloykit.csro import sro_of_file
from alloykit.csro.sro import compute_sro, sro_frames
from alloykit.structures import read_frames, random_solid_solution


def dump_text(atoms, step, types_of, scaled=False, tilt=False, shuffle=None, element=False):
    cell = atoms.cell.array
    lines = ["ITEM: TIMESTEP", str(step), "ITEM: NUMBER OF ATOMS", str(len(atoms))]
    if tilt:
        xy, xz, yz = cell[1, 0], cell[2, 0], cell[2, 1]
        lo = np.array([min(0, xy, xz, xy + xz), min(0, yz), 0.0])
        hi = np.array([cell[0, 0] + max(0, xy, xz, xy + xz), cell[1, 1] + max(0, yz), cell[2, 2]])
        lines.append("ITEM: BOX BOUNDS xy xz yz pp pp pp")
        lines += [f"{float(lo[k])!r} {float(hi[k])!r} {float(t)!r}" for k, t in enumerate((xy, xz, yz))]
    else:
        lines.append("ITEM: BOX BOUNDS pp pp pp")
        lines += [f"0.0 {float(cell[k, k])!r}" for k in range(3)]
    cols = "xs ys zs" if scaled else "x y z"
    lines.append(f"ITEM: ATOMS id {'element' if element else 'type'} {cols}")
    xyz = atoms.get_scaled_positions(wrap=False) if scaled else atoms.positions
    order = np.arange(len(atoms)) if shuffle is None else shuffle
    sym = atoms.get_chemical_symbols()
    for i in order:
        label = sym[i] if element else types_of[sym[i]]
        lines.append(f"{i + 1} {label} " + " ".join(repr(float(v)) for v in xyz[i]))
    return "\n".join(lines) + "\n"


def test_multiframe_gz_dump_round_trip(tmp_path):
    a = random_solid_solution("bcc", {"Fe": 0.8, "Cr": 0.2}, size=4, a=2.87, seed=1)
    b = a.copy()
    b.rattle(0.05, seed=3)
    b.set_chemical_symbols(np.random.default_rng(0).permutation(b.get_chemical_symbols()).tolist())
    t = {"Fe": 1, "Cr": 2}
    path = tmp_path / "run.lammpstrj.gz"
    with gzip.open(path, "wt") as f:
        f.write(dump_text(a, 0, t) + dump_text(b, 100, t, scaled=True, shuffle=np.arange(len(a))[::-1]))
    frames = list(read_frames(path, species=["Fe", "Cr"]))
    assert [f.info["timestep"] for f in frames] == [0, 100]
    for got, want in zip(frames, (a, b)):
        assert got.get_chemical_symbols() == want.get_chemical_symbols()
        assert np.allclose(got.cell.array, want.cell.array)
        assert np.allclose(got.positions, want.positions, atol=1e-9)
    for r, want in zip(sro_frames(frames), (a, b)):
        assert np.array_equal(r.counts, compute_sro(want).counts)


def test_triclinic_dump_with_element_column(tmp_path):
    tri = make_supercell(bulk("Fe", "bcc", a=2.87), [[4, 1, 0], [0, 4, 1], [1, 0, 4]])
    rcell, _ = tri.cell.standard_form()            # LAMMPS' lower-triangular form
    tri.set_cell(rcell, scale_atoms=True)
    tri.set_chemical_symbols(np.random.default_rng(1).choice(["Fe", "Cr"], len(tri)).tolist())
    path = tmp_path / "tri.dump"
    path.write_text(dump_text(tri, 5, {}, tilt=True, element=True))
    (got,) = read_frames(path)
    assert got.get_chemical_symbols() == tri.get_chemical_symbols()
    assert np.allclose(got.cell.array, tri.cell.array) and np.allclose(got.positions, tri.positions)
    assert np.array_equal(compute_sro(got).counts, compute_sro(tri).counts)


def test_dump_with_changing_atom_count_gets_a_lattice_fit_per_frame(tmp_path):
    a = random_solid_solution("bcc", {"Fe": 0.8, "Cr": 0.2}, size=3, a=2.87, seed=1)
    b = a.copy()
    del b[7]                                        # a vacancy appears in the second frame
    path = tmp_path / "vac.dump"
    path.write_text(dump_text(a, 0, {"Fe": 1, "Cr": 2}) + dump_text(b, 10, {"Fe": 1, "Cr": 2}))
    frames = list(read_frames(path, species=["Fe", "Cr"]))
    assert [len(f) for f in frames] == [54, 53] and [f.info["frame"] for f in frames] == [0, 1]
    results = sro_of_file(path, species=["Fe", "Cr"])
    assert results[1].info["vacancies"] == 1
    for r, want in zip(results, (a, b)):
        assert np.array_equal(r.counts, compute_sro(want, species=["Fe", "Cr"]).counts)


def test_dump_without_species_for_types_is_refused(tmp_path):
    a = random_solid_solution("bcc", {"Fe": 0.8, "Cr": 0.2}, size=2, a=2.87, seed=1)
    path = tmp_path / "t.dump"
    path.write_text(dump_text(a, 0, {"Fe": 1, "Cr": 2}))
    with pytest.raises(ValueError, match="give the species"):
        list(read_frames(path))
    path.write_text(dump_text(a, 0, {"Fe": 1, "Cr": 2})[:-40])
    with pytest.raises(ValueError, match="truncated|bad ATOMS line"):
        list(read_frames(path, ["Fe", "Cr"]))
