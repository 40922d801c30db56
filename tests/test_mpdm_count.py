"""Counting meta-structures on hand-built cells, against an independent slow counter."""
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from scipy.spatial.transform import Rotation

from alloykit.errors import InputError
from alloykit.mpdm.count import count_atoms
from alloykit.mpdm.enumerate import meta_table, shell_directions, slot_permutations
from alloykit.structures import FrameError, detect_lattice

A0 = 2.87
FECR = ["Fe", "Cr"]


def bcc(n, symbols=None, a=A0):
    atoms = bulk("Fe", "bcc", a, cubic=True).repeat(n)
    if symbols is not None:
        atoms.set_chemical_symbols(list(symbols))
    return atoms


def random_symbols(n_atoms, names, fractions, seed):
    rng = np.random.default_rng(seed)
    return list(rng.choice(names, size=n_atoms, p=fractions))


def type_index(table, centre, shell_b):
    """Index of the binary type with this centre and number of B atoms in the shell,
    when that number fixes the type (0, 1, 7 or 8 B atoms in BCC)."""
    hit = np.flatnonzero((table.centre == centre) & (table.shell_counts[:, 1] == shell_b))
    assert len(hit) == 1
    return hit[0]


def slow_types(atoms, names, a=A0):
    """Per-atom type by brute force: for a perfect cubic BCC crystal the 8 corners of atom i
    sit at r_i + (a/2)(+-1, +-1, +-1); colour the slots, canonicalise over all 48
    operations in plain Python, and look the result up among the representatives."""
    table = meta_table("bcc", len(names))
    k, d = len(names), shell_directions("bcc")
    sp = np.array([names.index(s) for s in atoms.get_chemical_symbols()])
    cell = atoms.cell.array
    inv = np.linalg.inv(cell)
    frac = atoms.get_scaled_positions()
    reps = {tuple(r): o for o, r in enumerate(table.representative[: table.n_orbits].tolist())}
    perms = slot_permutations("bcc")
    out = []
    for i, r in enumerate(atoms.positions):
        colours = []
        for slot in range(8):
            target = (r + d[slot] * np.sqrt(3) * a / 2) @ inv
            diff = (frac - target + 0.5) % 1.0 - 0.5
            j = int(np.argmin(np.linalg.norm(diff @ cell, axis=1)))
            colours.append(int(sp[j]))
        best = None
        for p in perms:
            moved = [0] * 8
            for s in range(8):
                moved[p[s]] = colours[s]
            code = sum(c * k ** s for s, c in enumerate(moved))
            if best is None or code < best[0]:
                best = (code, moved)
        out.append(sp[i] * table.n_orbits + reps[tuple(best[1])])
    return np.array(out)


def test_pure_a_and_pure_b():
    t = meta_table("bcc", 2)
    fa = count_atoms(bcc(3), "bcc", FECR)
    assert fa.n_unclassified == 0
    assert fa.counts[0] == 54 and fa.counts.sum() == 54          # l = 1: A in A
    fb = count_atoms(bcc(3, ["Cr"] * 54), "bcc", FECR)
    assert fb.counts[t.n_types - 1] == 54 and fb.counts.sum() == 54   # l = 44: B in B


def test_b2():
    atoms = bcc(3, ["Fe", "Cr"] * 27)        # cubic cell basis: corner Fe, body centre Cr
    t = meta_table("bcc", 2)
    fc = count_atoms(atoms, "bcc", FECR)
    assert fc.counts[type_index(t, 0, 8)] == 27      # Fe surrounded by 8 Cr (l = 22)
    assert fc.counts[type_index(t, 1, 0)] == 27      # Cr surrounded by 8 Fe (l = 23)
    assert fc.counts.sum() == 54


def test_single_b_in_a():
    t = meta_table("bcc", 2)
    symbols = ["Fe"] * 128
    symbols[37] = "Cr"
    fc = count_atoms(bcc(4, symbols), "bcc", FECR)
    assert fc.types[37] == type_index(t, 1, 0)
    assert fc.counts[type_index(t, 0, 1)] == 8       # its 8 neighbours (l = 2)
    assert fc.counts[0] == 119
    assert fc.n_unclassified == 0


@pytest.mark.parametrize("k,seed", [(2, 0), (3, 1)])
def test_random_cells_match_the_slow_counter(k, seed):
    names = ["Fe", "Cr", "Ni"][:k]
    atoms = bcc(4, random_symbols(128, names, np.ones(k) / k, seed))
    fc = count_atoms(atoms, "bcc", names)
    assert fc.n_unclassified == 0
    assert np.array_equal(fc.types, slow_types(atoms, names))
    assert np.array_equal(fc.counts, np.bincount(fc.types, minlength=fc.counts.size))


def test_bcc_vacancy_neighbours_are_unclassified():
    atoms = bcc(4, random_symbols(128, FECR, [0.7, 0.3], 2))
    ref = count_atoms(atoms, "bcc", FECR)
    vac = atoms.copy()
    del vac[40]
    fc = count_atoms(vac, "bcc", FECR)
    diff = vac.positions - atoms.positions[40]
    diff -= np.round(diff / (4 * A0)) * 4 * A0           # minimum image in the cubic cell
    near = np.linalg.norm(diff, axis=1) < 0.9 * A0
    assert near.sum() == 8
    assert (fc.types[near] == -1).all()
    assert fc.reasons["vacancy_neighbour"] == 8 and fc.n_unclassified == 8
    # every other atom keeps its type
    keep = np.delete(np.arange(128), 40)
    assert np.array_equal(fc.types[~near], ref.types[keep][~near])


def test_fcc_vacancy_and_ternary():
    names = ["Cu", "Ni", "Co"]
    atoms = bulk("Cu", "fcc", 3.6, cubic=True).repeat(3)
    atoms.set_chemical_symbols(random_symbols(len(atoms), names, [0.5, 0.3, 0.2], 3))
    ref = count_atoms(atoms, "fcc", names)
    assert ref.n_unclassified == 0 and ref.counts.sum() == 108
    rotated = atoms.copy()
    rotated.set_cell(atoms.cell.array @ Rotation.random(random_state=4).as_matrix().T, scale_atoms=True)
    assert np.array_equal(count_atoms(rotated, "fcc", names).types, ref.types)
    del atoms[5]
    fc = count_atoms(atoms, "fcc", names)
    assert fc.reasons["vacancy_neighbour"] == 12 and fc.n_unclassified == 12


def test_rotated_and_triclinic_descriptions_of_one_crystal():
    atoms = bcc(4, random_symbols(128, FECR, [0.6, 0.4], 5))
    ref = count_atoms(atoms, "bcc", FECR).types
    rotated = atoms.copy()
    rotated.set_cell(atoms.cell.array @ Rotation.random(random_state=6).as_matrix().T, scale_atoms=True)
    assert np.array_equal(count_atoms(rotated, "bcc", FECR).types, ref)
    # the same periodic crystal in a sheared (triclinic) cell: integer, unimodular change
    sheared = atoms.copy()
    sheared.set_cell(np.array([[1, 0, 0], [1, 1, 0], [0, -1, 1]]) @ atoms.cell.array, scale_atoms=False)
    sheared.wrap()
    assert abs(sheared.cell.angles() - 90).max() > 10
    assert np.array_equal(count_atoms(sheared, "bcc", FECR).types, ref)


def test_rotated_cluster_surface_is_unclassified():
    atoms = bcc(6, random_symbols(432, FECR, [0.8, 0.2], 7))
    ref = count_atoms(atoms, "bcc", FECR).types
    cluster = atoms.copy()
    cluster.pbc = False
    cluster.positions = cluster.positions @ Rotation.random(random_state=8).as_matrix().T
    fc = count_atoms(cluster, "bcc", FECR)
    inside = np.all((atoms.positions > 0.1) & (atoms.positions < 5 * A0 + 0.1), axis=1)
    assert (fc.types[inside] == ref[inside]).all()
    assert (fc.types[~inside] == -1).all()
    assert fc.n_unclassified == (~inside).sum() == sum(fc.reasons.values())


def test_thermal_noise():
    atoms = bcc(6, random_symbols(432, FECR, [0.8, 0.2], 9))
    ref = count_atoms(atoms, "bcc", FECR).types
    rng = np.random.default_rng(10)
    small = atoms.copy()
    small.positions += rng.normal(0, 0.05, small.positions.shape)    # about room temperature
    assert np.array_equal(count_atoms(small, "bcc", FECR).types, ref)
    large = atoms.copy()
    large.positions += rng.normal(0, 0.1, large.positions.shape)
    fc = count_atoms(large, "bcc", FECR)
    ok = fc.types >= 0
    assert ok.mean() > 0.8
    assert np.array_equal(fc.types[ok], ref[ok])        # unclassified, never mistyped


def test_lattice_detection_and_wrong_lattice():
    assert detect_lattice(bcc(4)).name == "bcc"
    fcc = bulk("Cu", "fcc", 3.6, cubic=True).repeat(4)
    found = detect_lattice(fcc)
    assert found.name == "fcc" and found.a == pytest.approx(3.6)
    for lattice in (None, "auto"):       # the frame's own lattice, every atom classified
        fc = count_atoms(fcc, lattice, ["Cu", "Ni"])
        assert fc.lattice == "fcc" and fc.n_unclassified == 0
    with pytest.raises(FrameError, match="not a bcc crystal"):
        count_atoms(fcc, "bcc", ["Cu", "Ni"], label="fcc.xyz frame 0")
    with pytest.raises(FrameError, match="not a fcc crystal"):
        count_atoms(bcc(4), "fcc", FECR)
    assert count_atoms(fcc, "auto", ["Cu", "Ni"]).lattice == "fcc"
    liquid = Atoms("Fe200", positions=np.random.default_rng(0).random((200, 3)) * 12.5,
                   cell=[12.5] * 3, pbc=True)
    with pytest.raises(FrameError):
        count_atoms(liquid, "bcc", FECR)


def test_species_errors_name_the_frame():
    atoms = bcc(2, ["Fe"] * 15 + ["Ni"])
    with pytest.raises(InputError, match=r"f.xyz frame 3: \['Ni'\] occur in the structure but not in"):
        count_atoms(atoms, "bcc", FECR, label="f.xyz frame 3")
    # LAMMPS types are elements by the time a frame is read (a type beyond --species:
    # test_mpdm_files); an extra type column does not change the count
    plain = bcc(2, ["Fe"] * 15 + ["Cr"])
    typed = plain.copy()
    typed.arrays["type"] = np.array([2] * 15 + [1])
    assert np.array_equal(count_atoms(typed, "bcc", FECR).types, count_atoms(plain, "bcc", FECR).types)
    fcc = bulk("Cu", "fcc", 3.6, cubic=True).repeat(2)
    with pytest.raises(FrameError, match="5\\*\\*12"):
        count_atoms(fcc, "fcc", ["Cu", "Ni", "Co", "Fe", "Cr"])
    with pytest.raises(FrameError, match="only element"):
        count_atoms(bcc(2), "bcc", None)


def test_overlapping_atoms_are_unclassified():
    atoms = bcc(3)
    atoms += Atoms("Fe", positions=[atoms.positions[4] + [0.05, 0, 0]])
    fc = count_atoms(atoms, "bcc", FECR)
    assert fc.reasons["overlap"] == 2
    assert (fc.types[[4, 54]] == -1).all()


def test_lattice_of_frames_that_are_not_one_crystal():
    """A cluster (no periodic cell) is not one crystal for structures.detect_lattice; it is
    counted as the lattice whose shells fit more atoms. A BCC Cr-Mo-V frame with ~9 %
    size mismatch and 1000 K-like displacements is detected and counted as BCC."""
    atoms = bcc(6, random_symbols(432, FECR, [0.8, 0.2], 7))
    cluster = atoms.copy()
    cluster.pbc = False
    fc = count_atoms(cluster, None, FECR)
    assert fc.lattice == "bcc" and fc.n_classified == count_atoms(cluster, "bcc", FECR).n_classified
    rng = np.random.default_rng(3)
    names = ["Cr", "Mo", "V"]
    crmov = bcc(6, random_symbols(432, names, [0.4, 0.3, 0.3], 4), a=3.05)
    radius = {"Cr": -0.06, "Mo": 0.08, "V": 0.0}           # local size mismatch, A
    crmov.positions += rng.normal(0, 0.09, crmov.positions.shape)   # about 1000 K
    crmov.positions += np.array([radius[s] for s in crmov.get_chemical_symbols()])[:, None] * \
        rng.normal(0, 1, crmov.positions.shape)
    assert detect_lattice(crmov).name == "bcc"
    fc = count_atoms(crmov, None, names)
    assert fc.lattice == "bcc" and fc.n_classified > 0.8 * len(crmov)


def test_lattice_site_classification_equals_geometry_and_survives_1000K():
    """On a crystal the slots come from the lattice sites: identical types to the
    geometric assignment where that one is clean, and every atom classified at 1,000 K-like
    displacements in a size-mismatched ternary, where the geometric shells fail."""
    from alloykit.mpdm.count import _count_as, _count_on_sites
    from alloykit.structures import random_solid_solution, species_indices

    at = random_solid_solution("bcc", "Cr40Mo30V30", size=5, a=3.01, seed=11)
    at.rotate(23, "z", rotate_cell=True)               # any orientation
    rng = np.random.default_rng(2)
    quiet, hot = at.copy(), at.copy()
    quiet.positions += rng.normal(0, 0.03, at.positions.shape)
    hot.positions += rng.normal(0, 0.2, at.positions.shape)
    for frame in (quiet, hot):
        sp, names = species_indices(frame)
        _, _, on_sites, reasons, _ = _count_on_sites(frame, None, sp, len(names), "x")
        _, _, geometric, _, _ = _count_as(frame, "bcc", sp, len(names), None, None, "x")
        assert (on_sites >= 0).all() and sum(reasons.values()) == 0
        clean = geometric >= 0
        assert np.array_equal(on_sites[clean], geometric[clean])
    assert (geometric < 0).sum() > 10          # the hot frame defeats the geometric shells
    del quiet[[0]]
    sp, names = species_indices(quiet)
    _, _, types, reasons, _ = _count_on_sites(quiet, None, sp, len(names), "x")
    assert reasons["vacancy_neighbour"] == 8 and (types < 0).sum() == 8
