"""Spatial density maps (Eq. 1): against a direct evaluation, and their invariances.

Environments are unrelaxed random BCC Fe-Cr cells with one vacancy (alloykit.sdm.hop_records);
no LAMMPS is needed.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from alloykit.sdm import (HopSet, describe_lattice, hop_records, hop_rotation, lattice_symmetries, peak_shells,
                          sdm_batch, sdm_reference, sdm_spec, sites_within)
from alloykit.structures import random_solid_solution

A_FE = 2.8665


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def records():
    atoms = random_solid_solution("bcc", {"Fe": 0.6, "Cr": 0.4}, size=(5, 5, 5), a=A_FE, seed=3)
    return list(hop_records(atoms, [0, 7, 31]))


def small_spec(n_shells=3, delta=0.6):
    return sdm_spec(["Cr", "Fe"], "bcc", A_FE, n_shells, delta)


def hopset(recs, spec):
    lattice, a = describe_lattice(recs)
    return HopSet.from_records(recs, spec, lattice_symmetries(lattice, a, spec.r_c), target=None)


def test_paper_shells_and_settings():
    # six g(r) peaks of BCC hold 112 atoms (the paper's count); TaNbMo-like a = 3.3 A gives
    # r_c inside the gap around the paper's 7.6 A, l_c ~ 8 A and 32^3 voxels of ~0.5 A
    assert sites_within("bcc", 6) == 112
    spec = sdm_spec(["Ta", "Nb", "Mo"], "bcc", 3.3, 6)
    peaks = peak_shells("bcc")
    assert peaks[5][1] * 3.3 < 7.6 < peaks[6][0] * 3.3
    assert peaks[5][1] * 3.3 < spec.r_c < peaks[6][0] * 3.3
    assert spec.grid == 32 and abs(spec.delta - 0.5) < 0.02 and abs(spec.l_c - 8.0) < 0.3


def test_hop_records_of_bcc(records):
    assert len(records) == 3 * 8
    d1 = A_FE * np.sqrt(3) / 2
    for rec in records:
        assert abs(np.linalg.norm(rec.hop_vector) - d1) < 1e-9
        k = np.argmin(np.linalg.norm(rec.env_positions - rec.hop_vector, axis=1))
        assert np.linalg.norm(rec.env_positions[k] - rec.hop_vector) < 1e-9
        assert rec.env_species[k] == rec.moving_species
        assert (rec.lattice, rec.lattice_parameter) == ("bcc", pytest.approx(A_FE, abs=1e-9))
    assert describe_lattice(records) == ("bcc", pytest.approx(A_FE, abs=1e-6))


def test_hop_records_follow_the_lattice():
    """Neighbours from the lattice's connectivity: a site next to an existing vacancy has 7
    hops (none into the empty site), FCC sites have 12; a structure that is not a crystal
    is refused with a one-line InputError."""
    from alloykit.errors import InputError

    atoms = random_solid_solution("bcc", {"Fe": 0.6, "Cr": 0.4}, size=(4, 4, 4), a=A_FE, seed=3)
    full = {r.neighbor_site for r in hop_records(atoms, [0])}
    del atoms[list(full)[0]]
    recs = list(hop_records(atoms, [0]))
    assert len(recs) == 7 and len(full) == 8
    fcc = random_solid_solution("fcc", {"Ni": 0.5, "Cu": 0.5}, size=(3, 3, 3), a=3.6, seed=0)
    assert [r.lattice for r in hop_records(fcc, [4])] == ["fcc"] * 12
    gas = fcc.copy()
    gas.positions = np.random.default_rng(0).uniform(0, 10.8, (len(gas), 3))
    with pytest.raises(InputError, match="not"):
        list(hop_records(gas, [0]))


@pytest.mark.parametrize("method, tol", [("window", 1e-3), ("dense", 1e-5)])
def test_batch_matches_direct_reference(method, tol):
    spec = small_spec(2, 0.5)
    rng = np.random.default_rng(0)
    pos = rng.uniform(-spec.l_c, spec.l_c, (4, 30, 3))
    spc = rng.integers(-1, 2, (4, 30))
    out = sdm_batch(torch.tensor(pos), torch.tensor(spc), spec, method).numpy()
    for b in range(4):
        keep = spc[b] >= 0
        ref = sdm_reference(pos[b][keep], [spec.species[k] for k in spc[b][keep]], spec)
        assert out[b].shape == ref.shape == (2, spec.grid, spec.grid, spec.grid)
        assert np.abs(out[b] - ref).max() < tol * max(ref.max(), 1.0)


def test_pipeline_matches_reference_from_raw_frame(records):
    """HopSet (rotation into the hop frame, cut at r_c, torch) vs the frame written out
    here (x: hop; y: towards the first neighbour nearest the hop, ties to the one nearest
    the species-weighted dipole) and the direct sum."""
    spec = small_spec()
    sdms = hopset(records[:4], spec).sdms().double().numpy()
    for rec, got in zip(records[:4], sdms):
        pos, hop = rec.env_positions, rec.hop_vector
        x = hop / np.linalg.norm(hop)
        r = np.linalg.norm(pos, axis=1)
        w = np.array([spec.species.index(s) + 1.0 for s in rec.env_species])
        dipole = (w[r < spec.r_c, None] * pos[r < spec.r_c]).sum(0)
        first = pos[(r < 1.077 * np.linalg.norm(hop)) & (np.linalg.norm(pos - hop, axis=1) > 0.1)]
        tied = first[first @ x > (first @ x).max() - 0.01]
        # exact ties (to 1e-6) go to the first listed, as in frame.py
        ref_atom = max(tied, key=lambda t: round((t - (t @ x) * x) @ dipole / np.linalg.norm(t - (t @ x) * x), 6))
        y = ref_atom - (ref_atom @ x) * x
        y /= np.linalg.norm(y)
        frame = np.stack([x, y, np.cross(x, y)])
        ref = sdm_reference(pos @ frame.T, rec.env_species, spec)
        assert np.abs(got - ref).max() < 1e-3 * ref.max()


def test_permutation_of_atoms_changes_nothing(records):
    spec = small_spec()
    rec = records[5]
    perm = np.random.default_rng(1).permutation(len(rec.env_species))
    shuffled = replace(rec, env_positions=rec.env_positions[perm], env_species=[rec.env_species[k] for k in perm])
    a, b = hopset([rec, shuffled], spec).sdms()
    assert torch.allclose(a, b, atol=1e-5)


def test_rigid_rotation_of_the_structure_changes_nothing(records):
    """The hop frame is attached to the environment: any rotation (or mirror) of the whole
    configuration, including one about the hop axis, gives the same map."""
    spec = small_spec()
    rec = records[2]
    hop = rec.hop_vector
    q, _ = np.linalg.qr(np.random.default_rng(2).normal(size=(3, 3)))
    x = hop / np.linalg.norm(hop)
    t = 0.7    # about the hop axis (Rodrigues)
    K = np.array([[0, -x[2], x[1]], [x[2], 0, -x[0]], [-x[1], x[0], 0]])
    about_hop = np.eye(3) + np.sin(t) * K + (1 - np.cos(t)) * K @ K
    maps = []
    for R in (np.eye(3), q, about_hop):
        maps.append(replace(rec, env_positions=rec.env_positions @ R.T, hop_vector=R @ hop))
    a, b, c = hopset(maps, spec).sdms()
    assert torch.allclose(a, b, atol=1e-4) and torch.allclose(a, c, atol=1e-4)


def test_rotation_about_x_is_a_rotated_map(records):
    """Augmenting by an angle about x rotates the map: by 90 degrees exactly a permutation
    of voxels (up to the dropped Gaussian tails); by any angle the same up to the grid's
    interpolation, and the density in a sphere inside the grid is nearly unchanged."""
    from scipy.ndimage import affine_transform

    spec = small_spec(3, 0.45)
    hs = hopset(records[:1], spec)
    base = hs.sdms()[0].double()
    R90 = torch.tensor([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])
    rot = sdm_batch(hs.positions @ R90.T, hs.species, spec)[0].double()
    # r' = R90 r puts density of voxel (z, y) at (y, -z): rot[c, z', y', x] = base[c, -y', z', x]
    assert torch.allclose(rot, torch.flip(base, dims=[1]).transpose(1, 2), atol=1e-3)

    t = 0.9
    Rt = torch.tensor([[1.0, 0, 0], [0, np.cos(t), -np.sin(t)], [0, np.sin(t), np.cos(t)]], dtype=torch.float32)
    turned = sdm_batch(hs.positions @ Rt.T, hs.species, spec)[0].double().numpy()
    # sample the turned map back at R r (voxel axes are z, y, x) by cubic-spline interpolation
    c0 = (spec.grid - 1) / 2
    M = np.zeros((3, 3))
    M[0, 0], M[1, 1], M[1, 0], M[0, 1], M[2, 2] = np.cos(t), np.cos(t), -np.sin(t), np.sin(t), 1.0
    centre = np.full(3, c0)
    back = np.stack([affine_transform(ch, M, offset=centre - M @ centre, order=3) for ch in turned])
    g = spec.centres()
    zz, yy, xx = np.meshgrid(g, g, g, indexing="ij")
    inside = np.sqrt(zz ** 2 + yy ** 2 + xx ** 2) < spec.l_c - 3 * spec.delta
    ref = base.numpy()
    rel = np.abs(back - ref)[:, inside].max() / ref.max()
    assert rel < 0.06, rel          # interpolating Gaussians one voxel wide (0.03 measured)
    mass = lambda m: m[:, inside].sum(1)  # noqa: E731
    # the sphere is made of voxels, so density crossing its edge adds ~2 % either way
    assert np.allclose(mass(turned), mass(ref), rtol=0.03)


def test_lattice_symmetries_are_exact_on_a_perfect_lattice():
    """On an unrelaxed lattice, each symmetry that fixes the hop moves sites onto sites: the
    map of a one-species environment does not change at all."""
    from ase.build import bulk

    atoms = bulk("Fe", "bcc", a=A_FE, cubic=True).repeat((5, 5, 5))
    recs = list(hop_records(atoms, [0]))[:2]
    spec = sdm_spec(["Fe"], "bcc", A_FE, 4, 0.6)
    hs = hopset(recs, spec)
    assert len(hs.ops) == 6          # C3v for a BCC <111> hop
    base = hs.sdms()
    for op in range(6):
        assert torch.allclose(hs.sdms(op=op), base, atol=1e-5)


def test_augmentation_is_seeded(records):
    spec = small_spec()
    hs = hopset(records, spec)
    a = hs.sdms(range(6), "both", torch.Generator().manual_seed(5))
    b = hs.sdms(range(6), "both", torch.Generator().manual_seed(5))
    c = hs.sdms(range(6), "both", torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.allclose(a, c)


def test_hop_frame_puts_the_mover_on_x(records):
    rec = records[0]
    R = hop_rotation(rec.hop_vector, rec.env_positions)
    assert np.allclose(R @ R.T, np.eye(3), atol=1e-12) and np.linalg.det(R) > 0
    assert np.allclose(R @ rec.hop_vector, [np.linalg.norm(rec.hop_vector), 0, 0], atol=1e-12)


def test_bad_input(records):
    spec = sdm_spec(["Fe"], "bcc", A_FE, 2)
    with pytest.raises(ValueError, match="SDM channels: element"):
        hopset(records[:1], spec)
    far = sdm_spec(["Cr", "Fe"], "bcc", A_FE, 6)
    with pytest.raises(ValueError, match="env_cutoff"):
        hopset([replace(records[0], env_cutoff=5.0)], far)


def test_neighbours_match_ase_in_small_and_skewed_cells():
    """The site-only neighbour search that hop_records uses (k-d tree over periodic images)
    finds exactly ASE's pairs, including several images of one atom when the cell is smaller
    than the cutoff."""
    from ase.neighborlist import neighbor_list

    from alloykit.structures import points_within

    atoms = random_solid_solution("bcc", {"Fe": 0.7, "Cr": 0.3}, size=(3, 3, 2), a=A_FE, seed=1)
    atoms.rattle(0.05, seed=2)
    atoms.set_cell(atoms.cell.array + [[0, 0, 0], [0.7, 0, 0], [0.3, 0.4, 0]], scale_atoms=False)
    i, j, D = neighbor_list("ijD", atoms, 8.0)
    sites = np.array([0, 5, 17])
    for s, (jj, DD) in zip(sites, points_within(atoms, 8.0, sites=sites)):
        ref = sorted(map(tuple, np.round(np.c_[j[i == s], D[i == s]], 6)))
        assert sorted(map(tuple, np.round(np.c_[jj, DD], 6))) == ref
