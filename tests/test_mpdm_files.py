"""Reading and counting LAMMPS dumps / data files / extxyz, bad frames, and the CLI."""
import gzip
import json

import numpy as np
import pytest
from ase.build import bulk

from alloykit.cli import main
from alloykit.mpdm.count import FrameCount, count_atoms, count_files
from alloykit.structures import FrameError, read_frames, write_lammps_data, write_lammps_dump

FECR = ["Fe", "Cr"]


def random_bcc(n, c_cr, seed, a=2.87):
    atoms = bulk("Fe", "bcc", a, cubic=True).repeat(n)
    rng = np.random.default_rng(seed)
    atoms.set_chemical_symbols(list(np.where(rng.random(len(atoms)) < c_cr, "Cr", "Fe")))
    return atoms


def lammps_form(atoms, tilt=(0.0, 0.0, 0.0)):
    """The same crystal in a LAMMPS-style cell (a along x, b in xy) with the given tilts,
    as integer combinations of the cubic cell vectors (so it is the same periodic crystal)."""
    L = atoms.cell.lengths()[0]
    m = np.array([[1, 0, 0], [tilt[0], 1, 0], [tilt[1], tilt[2], 1]])
    out = atoms.copy()
    out.set_cell(m @ atoms.cell.array, scale_atoms=False)
    out.wrap()
    assert np.allclose(np.triu(out.cell.array, 1), 0) and out.cell.array[0, 0] == L
    return out


def dump_frame(atoms, step, columns=("id", "type", "x", "y", "z"), names=FECR, n_declared=None,
               n_written=None):
    cell = atoms.cell.array
    xy, xz, yz = cell[1, 0], cell[2, 0], cell[2, 1]
    lx, ly, lz = cell[0, 0], cell[1, 1], cell[2, 2]
    tric = any(abs(v) > 0 for v in (xy, xz, yz))
    lines = ["ITEM: TIMESTEP", str(step), "ITEM: NUMBER OF ATOMS", str(n_declared or len(atoms))]
    if tric:
        lines += ["ITEM: BOX BOUNDS xy xz yz pp pp pp",
                  f"{min(0, xy, xz, xy + xz)} {lx + max(0, xy, xz, xy + xz)} {xy}",
                  f"{min(0, yz)} {ly + max(0, yz)} {xz}", f"0 {lz} {yz}"]
    else:
        lines += ["ITEM: BOX BOUNDS pp pp pp", f"0 {lx}", f"0 {ly}", f"0 {lz}"]
    lines.append("ITEM: ATOMS " + " ".join(columns))
    frac = atoms.get_scaled_positions()
    for i, (sym, r, f) in enumerate(zip(atoms.get_chemical_symbols(), atoms.positions, frac)):
        if n_written is not None and i >= n_written:
            break
        vals = {"id": i + 1, "type": names.index(sym) + 1, "element": sym,
                "x": r[0], "y": r[1], "z": r[2], "xs": f[0], "ys": f[1], "zs": f[2]}
        lines.append(" ".join(str(vals[c]) for c in columns))
    return "\n".join(lines) + "\n"


def test_multi_frame_dump_with_bad_frames(tmp_path):
    frames = [random_bcc(4, 0.2 + 0.1 * i, i) for i in range(6)]
    text = (dump_frame(frames[0], 0)
            + dump_frame(lammps_form(frames[1], (1, 0, -1)), 100, ("id", "type", "xs", "ys", "zs"))
            + dump_frame(frames[2], 200, ("id", "x", "y", "z"))                   # no type column
            + dump_frame(frames[3], 300, n_declared=128, n_written=100)           # short frame
            + dump_frame(frames[4], 400, ("id", "element", "x", "y", "z"))
            + dump_frame(frames[5], 500, n_written=77))                           # truncated file
    path = tmp_path / "run.lammpstrj.gz"
    path.write_bytes(gzip.compress(text.encode()))
    out = list(count_files([path], "bcc", FECR))
    assert len(out) == 6
    good = {0: 0, 1: 1, 4: 4}
    for i, item in enumerate(out):
        if i in good:
            assert isinstance(item, FrameCount), item
            assert np.array_equal(item.counts, count_atoms(frames[good[i]], "bcc", FECR).counts)
        else:
            assert isinstance(item, FrameError)
            assert str(item).startswith(f"{path} frame {i} (timestep {100 * i})")
            assert "\n" not in str(item)
    assert "no 'type' or 'element' column" in str(out[2])
    assert "100 atom lines where NUMBER OF ATOMS says 128" in str(out[3])
    assert "truncated" in str(out[5])


def test_cut_gzip_stream_and_general_triclinic_box(tmp_path):
    from scipy.spatial.transform import Rotation

    # frames large enough that gzip's read-ahead (some 10 kB) stays inside the second one
    first, second = random_bcc(10, 0.3, 11), random_bcc(10, 0.4, 12)
    blob = gzip.compress((dump_frame(first, 0) + dump_frame(second, 5)).encode())
    cut = tmp_path / "cut.dump.gz"
    cut.write_bytes(blob[: int(len(blob) * 0.8)])
    out = list(count_files([cut], "bcc", FECR))
    assert isinstance(out[0], FrameCount)
    assert np.array_equal(out[0].counts, count_atoms(first, "bcc", FECR).counts)
    assert isinstance(out[-1], FrameError) and "unreadable from here on" in str(out[-1])
    # LAMMPS "general triclinic" box: rows a, b, c and the origin, any orientation
    rot = second.copy()
    rot.set_cell(second.cell.array @ Rotation.random(random_state=1).as_matrix().T, scale_atoms=True)
    lines = dump_frame(rot, 7).splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("ITEM: BOX BOUNDS"))
    origin = np.array([1.0, -2.0, 0.5])
    lines[at:at + 4] = ["ITEM: BOX BOUNDS abc origin pp pp pp"] + [
        " ".join(map(str, [*v, o])) for v, o in zip(rot.cell.array, origin)]
    k = lines.index("ITEM: ATOMS id type x y z")
    for i in range(len(rot)):
        f = lines[k + 1 + i].split()
        lines[k + 1 + i] = " ".join(f[:2] + [str(x) for x in rot.positions[i] + origin])
    general = tmp_path / "general.dump"
    general.write_text("\n".join(lines) + "\n")
    (fc,) = list(count_files([general], "bcc", FECR))
    assert np.array_equal(fc.types, count_atoms(second, "bcc", FECR).types)


def test_dump_written_by_lammps_triclinic(tmp_path):
    from alloykit.lmp import open_structure

    atoms = lammps_form(random_bcc(4, 0.3, 7), (1, 1, 0))
    path = tmp_path / "lmp.dump"
    lmp, _, species = open_structure(atoms, "FeCr", species=FECR, triclinic=True)
    with lmp:
        lmp.command(f"write_dump all custom {path} id type x y z modify sort id")
    assert species == FECR
    (item,) = list(read_frames(path, FECR))
    assert not np.allclose(item.cell.array[1:, :2], 0)        # a triclinic box came back
    ref = count_atoms(atoms, "bcc", FECR)
    fc = count_atoms(item, "bcc", FECR)
    assert np.array_equal(fc.types, ref.types)


def test_data_file_and_extxyz(tmp_path):
    import ase.io

    atoms = lammps_form(random_bcc(3, 0.4, 3), (0, 1, 0))
    ref = count_atoms(atoms, "bcc", FECR).counts
    data = tmp_path / "cell.data"
    ase.io.write(data, atoms, format="lammps-data", specorder=FECR, masses=True)
    data_gz = tmp_path / "cell.data.gz"
    data_gz.write_bytes(gzip.compress(data.read_bytes()))
    xyz = tmp_path / "cells.extxyz"
    ase.io.write(xyz, [atoms, random_bcc(3, 0.1, 4)], format="extxyz")
    results = list(count_files([data, data_gz, xyz], "bcc", FECR))
    assert all(isinstance(r, FrameCount) for r in results)
    for r in results[:3]:
        assert np.array_equal(r.counts, ref)


def test_missing_and_garbage_files(tmp_path):
    bad = tmp_path / "garbage.dump"
    bad.write_text("ITEM: TIMESTEP\n10\nITEM: NUMBER OF ATOMS\n2\nITEM: BOX BOUNDS pp pp pp\n0 1\n0 1\n0 1\n"
                   "ITEM: ATOMS id type x y z\n1 1 0 0 zero\n2 1 0.5 0.5 0.5\n")
    (err,) = list(count_files([bad], "bcc", FECR))
    assert isinstance(err, FrameError) and "frame 0 (timestep 10): bad ATOMS line" in str(err)
    (missing,) = list(count_files([tmp_path / "nope.dump"], "bcc", FECR))
    assert isinstance(missing, FrameError) and "no such file" in str(missing)


def test_cli_count_table_theory(tmp_path, capsys):
    frames = [random_bcc(5, 0.2, 1), random_bcc(5, 0.2, 2)]
    dump = tmp_path / "a.dump"
    dump.write_text(dump_frame(frames[0], 0) + dump_frame(frames[1], 10, ("id", "x", "y", "z")))
    out = tmp_path / "out"
    assert main(["mpdm", "count", str(dump), "--species", "Fe", "Cr", "--out", str(out)]) == 1
    report = json.loads((out / "mpdm_count.json").read_text())
    assert len(report["frames"]) == 1 and len(report["errors"]) == 1
    assert "frame 1 (timestep 10)" in report["errors"][0]
    total = report["totals"][0]
    assert total["counts"] == count_atoms(frames[0], "bcc", FECR).counts.tolist()
    assert total["chi_square"]["dof"] > 0 and (out / "mpdm_count.png").stat().st_size > 0
    assert "frame 1 (timestep 10)" in capsys.readouterr().err

    only_bad = tmp_path / "b.dump"
    only_bad.write_text(dump_frame(frames[1], 0, ("id", "x", "y", "z")))
    assert main(["mpdm", "count", str(only_bad), "--out", str(out)]) == 2
    assert "no 'type' or 'element' column" in capsys.readouterr().err

    assert main(["mpdm", "table", "--out", str(out)]) == 0
    table = json.loads((out / "mpdm_table.json").read_text())
    assert table["n_types"] == 44 and sum(r["omega"] for r in table["types"]) == 512
    assert main(["mpdm", "theory", "--composition", "Fe=0.8,Cr=0.2", "--out", str(out)]) == 0
    theory = json.loads((out / "mpdm_theory.json").read_text())
    assert sum(theory["fractions"]) == pytest.approx(1.0, abs=1e-14)
    assert main(["mpdm", "theory", "--composition", "1.0", "--out", str(out)]) == 2
    assert "strictly between 0 and 1" in capsys.readouterr().err


def typed_data_file(atoms, path, masses=False):
    """A LAMMPS data file with types 1 = Fe, 2 = Cr; without Masses unless ``masses``."""
    write_lammps_data(atoms, path, species=FECR)
    if not masses:
        text = path.read_text()
        path.write_text(text[:text.index("Masses")] + text[text.index("Atoms"):])
    return path


def test_typed_files_need_species_in_cli(tmp_path, capsys):
    """Typed dumps and data files: --species names the types (type 1 = the first); without
    it (and without Masses) a one-line error and exit 2, never 'X' or types as names."""
    import subprocess
    import sys

    atoms = random_bcc(4, 0.3, 21)
    ref = count_atoms(atoms, "bcc", FECR)
    c_cr = float(np.mean(np.array(atoms.get_chemical_symbols()) == "Cr"))
    dump = tmp_path / "typed.dump"
    dump.write_text(dump_frame(atoms, 0) + dump_frame(atoms, 50))          # id type x y z
    data = typed_data_file(atoms, tmp_path / "typed.data")
    for path in (dump, data):
        out = tmp_path / f"out_{path.suffix[1:]}"
        assert main(["mpdm", "count", str(path), "--species", "Fe", "Cr", "--out", str(out)]) == 0
        report = json.loads((out / "mpdm_count.json").read_text())
        for frame in report["frames"]:
            assert frame["species"] == FECR and frame["counts"] == ref.counts.tolist()
            assert frame["composition"] == pytest.approx({"Fe": 1 - c_cr, "Cr": c_cr})
        # the other order names the types the other way round: Cr becomes the majority
        assert main(["mpdm", "count", str(path), "--species", "Cr", "Fe", "--out", str(out)]) == 0
        swapped = json.loads((out / "mpdm_count.json").read_text())["frames"][0]["composition"]
        assert swapped == pytest.approx({"Cr": 1 - c_cr, "Fe": c_cr})
        capsys.readouterr()
        assert main(["mpdm", "count", str(path), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("alloykit mpdm count: ") and err.count("\n") == 1 and f"{path}" in err
        assert "give the species of each type (e.g. --species Fe Cr)" in err
    # the installed command: exit 2, one line, no traceback
    alloykit = [sys.executable, "-c", "import sys; from alloykit.cli import main; sys.exit(main())"]
    run = subprocess.run(alloykit + ["mpdm", "count", str(data), "--out", str(tmp_path / "o")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "Traceback" not in run.stderr and run.stderr.count("\n") == 1
    assert "no Masses" in run.stderr
    # Masses name the elements when --species is not given
    with_masses = typed_data_file(atoms, tmp_path / "masses.data", masses=True)
    (fc,) = list(count_files([with_masses], "bcc"))
    assert sorted(fc.species) == sorted(FECR)
    assert fc.composition[fc.species.index("Cr")] == pytest.approx(c_cr)


def test_type_beyond_species_and_frames_from_zero(tmp_path):
    atoms = random_bcc(3, 0.3, 22)
    lines = dump_frame(atoms, 7).splitlines()
    k = lines.index("ITEM: ATOMS id type x y z") + 1
    lines[k] = " ".join(["1", "3"] + lines[k].split()[2:])
    path = tmp_path / "three.dump"
    path.write_text(dump_frame(atoms, 0) + "\n".join(lines) + "\n")
    good, bad = list(count_files([path], "bcc", FECR))
    assert good.label == f"{path} frame 0 (timestep 0)"
    assert isinstance(bad, FrameError)
    assert str(bad).startswith(f"{path} frame 1 (timestep 7): atom types run from 1 to 3, but 2 species")


@pytest.mark.parametrize("name", ["rt.lammpstrj", "rt.dump.gz"])
def test_round_trip_through_a_dump(tmp_path, name):
    """A structure written with structures.write_lammps_dump and counted equals counting the
    Atoms themselves (also triclinic; with or without --species: the dump has elements)."""
    frames = [random_bcc(4, 0.25, 30), lammps_form(random_bcc(4, 0.5, 31), (1, 0, -1))]
    path = tmp_path / name
    write_lammps_dump(frames, path, species=FECR)
    for species in (FECR, None):
        counted = list(count_files([path], "bcc", species))
        assert [fc.label for fc in counted] == [f"{path} frame {i} (timestep {i})" for i in range(2)]
        for fc, atoms in zip(counted, frames):
            ref = count_atoms(atoms, "bcc", FECR)
            assert sorted(fc.species) == sorted(FECR)
            order = [fc.species.index(s) for s in FECR]
            assert np.allclose(fc.composition[order], ref.composition)
            if fc.species == FECR:
                assert np.array_equal(fc.types, ref.types) and np.array_equal(fc.counts, ref.counts)


def test_cli_vocabulary_and_composition_forms(tmp_path, capsys):
    out = tmp_path / "out"

    def theory(*argv):
        assert main(["mpdm", "theory", *argv, "--out", str(out), "--quiet"]) == 0
        return json.loads((out / "mpdm_theory.json").read_text())

    pairs = theory("--composition", "Fe=0.8,Cr=0.2")
    assert theory("--composition", "Fe80Cr20")["fractions"] == pytest.approx(pairs["fractions"])
    bare = theory("--composition", "0.2", "--species", "Fe", "Cr")      # c_B of the paper, named
    assert bare["composition"] == pytest.approx({"Fe": 0.8, "Cr": 0.2})
    assert bare["fractions"] == pytest.approx(pairs["fractions"])
    assert theory("--composition", "0.2")["species"] == ["A", "B"]
    assert "wrote" not in capsys.readouterr().err                       # --quiet
    for argv, message in [
            (["theory", "--composition", "0.5,0.3", "--species", "Cu", "Ni", "Co"], "2 fractions for --species"),
            (["theory", "--composition", "Fe=0.8,Cr=0.2", "--species", "Fe", "Ni"], "are not --species Fe Ni"),
            (["theory", "--composition", "Fe=0.8,Xx=0.2"], "'Xx' is not an element symbol"),
            (["table", "--lattice", "fcc", "--species", "A", "B", "C", "D", "E"], "5**12 shell colourings"),
            (["energies", "--cells", "8"], "--potential: name the potential"),
            (["count", str(tmp_path / "none.dump"), "--species", "Fe,Cr"], "'Fe,Cr' is not an element symbol")]:
        assert main(["mpdm", *argv, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"alloykit mpdm {argv[0]}: ") and message in err and err.count("\n") == 1


def test_table_refuses_a_huge_table_with_its_estimate(tmp_path, capsys):
    """-k 5 on BCC is 51,875 types: refused at once with the estimate and the flag to force
    it (it used to spend minutes drawing one bar per type)."""
    assert main(["mpdm", "table", "-k", "5", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "51,875 meta-structure types" in err and "--force" in err and err.count("\n") == 1
    assert not (tmp_path / "mpdm_table.json").exists()
