"""ACE descriptors: invariances, an independent rank-2 formula, smoothness, gradients,
linear independence, and standalone == inside LAMMPS."""
import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk
from scipy.special import eval_legendre

from alloykit.descriptors import ACE


def fecr(n=2, seed=0):
    a = bulk("Fe", "bcc", a=2.86, cubic=True).repeat(n)
    s = np.array(a.get_chemical_symbols())
    s[np.random.default_rng(seed).choice(len(a), len(a) // 4, replace=False)] = "Cr"
    a.set_chemical_symbols(s)
    a.rattle(0.08, seed=seed + 1)
    return a


@pytest.fixture(scope="module")
def ace():
    return ACE(["Cr", "Fe"], rcut=4.6)


def test_rotation_translation_permutation_and_images(ace):
    a = fecr(3)
    b0 = ace.compute(a).numpy()
    scale = np.abs(b0).max()
    r = a.copy()
    r.rotate(37, "x", rotate_cell=True)
    r.rotate(-71, "z", rotate_cell=True)
    r.translate([0.3, 1.7, -2.2])
    assert np.abs(ace.compute(r).numpy() - b0).max() <= 1e-10 * scale
    p = np.random.default_rng(1).permutation(len(a))
    assert np.abs(ace.compute(a[p]).numpy() - b0[p]).max() <= 1e-10 * scale
    big = a.repeat((2, 1, 1))    # the same crystal, doubled: every atom keeps its environment
    assert np.abs(ace.compute(big).numpy()[:len(a)] - b0).max() <= 1e-10 * scale
    assert np.abs(ace.compute(big).numpy()[len(a):] - b0).max() <= 1e-10 * scale


def radial_reference(r, rc, lam, n):
    x = 1 - 2 * (np.exp(-lam * (r / rc - 1)) - 1) / (np.exp(lam) - 1)
    fc = np.where(r < rc, 0.5 * (1 + np.cos(np.pi * r / rc)), 0)
    return np.cos((n - 1) * np.arccos(np.clip(x, -1, 1))) * fc    # Chebyshev T_{n-1}


def test_rank2_against_the_addition_theorem():
    """B2(n1 n2 l) = (1/sqrt(2l+1)) sum_m A_n1lm A_n2lm
                   = sqrt(2l+1)/(4 pi) sum_jk R_n1(r_j) R_n2(r_k) P_l(cos theta_jk)."""
    ace = ACE(["Fe"], nmax=(2, 2), lmax=(0, 2), rcut=5.0)
    atoms = bulk("Fe", "bcc", a=2.86, cubic=True).repeat(2)
    atoms.rattle(0.1, seed=3)
    b = ace.compute(atoms).numpy()
    from ase.neighborlist import neighbor_list

    i, d = neighbor_list("iD", atoms, 5.0)
    lam = 0.05 * 5.0
    labels = ace.labels
    for k, ((nus, _), col) in enumerate(zip(ace.ranks[1].labels, range(2, b.shape[1]))):
        (_, n1, l), (_, n2, _) = nus
        for atom in (0, 5):
            v = d[i == atom]
            r = np.linalg.norm(v, axis=1)
            u = v / r[:, None]
            r1, r2 = radial_reference(r, 5.0, lam, n1), radial_reference(r, 5.0, lam, n2)
            ref = np.sqrt(2 * l + 1) / (4 * np.pi) * np.einsum("j,k,jk->", r1, r2, eval_legendre(l, u @ u.T))
            assert abs(b[atom, col] - ref) <= 1e-10 * max(1.0, abs(ref)), labels[col]


def test_smooth_at_the_cutoff():
    ace = ACE(["Fe"], rcut=4.0)
    vals, grads = [], []
    for r in (3.999, 3.9999, 4.0, 4.001):
        pos = torch.tensor([[0.0, 0, 0], [r, 0, 0]], dtype=torch.float64, requires_grad=True)
        dimer = Atoms("Fe2", positions=pos.detach().numpy(), cell=[20, 20, 20], pbc=False)
        b = ace.compute(dimer, pos)
        (g,) = torch.autograd.grad(b.sum(), pos)
        vals.append(b.abs().max().item())
        grads.append(g.abs().max().item())
    assert vals[0] < 1e-5 and vals[1] < 1e-7 and vals[2] == 0 and vals[3] == 0
    assert grads[0] < 1e-2 and grads[1] < 1e-3 and grads[2] == 0


def test_autograd_matches_finite_differences(ace):
    a = fecr(2, seed=4)
    w = torch.from_numpy(np.random.default_rng(0).normal(size=ace.ndescriptors))
    pos = torch.tensor(a.positions, requires_grad=True)
    (g,) = torch.autograd.grad((ace.compute(a, pos) @ w).sum(), pos)
    h = 1e-6
    for atom, k in [(0, 0), (3, 1), (9, 2)]:
        e = []
        for s in (h, -h):
            p = a.copy()
            p.positions[atom, k] += s
            e.append(float((ace.compute(p) @ w).sum()))
        fd = (e[0] - e[1]) / (2 * h)
        assert abs(fd - g[atom, k].item()) <= 1e-6 * max(1.0, abs(fd))


def test_functions_are_linearly_independent(ace):
    """Over many random environments the descriptor columns have full rank."""
    envs = [fecr(2, seed=s) for s in range(30)]
    b = np.vstack([ace.compute(e).numpy() for e in envs])
    b = b / np.linalg.norm(b, axis=0)
    s = np.linalg.svd(b, compute_uv=False)
    assert b.shape[0] > b.shape[1] and s[-1] / s[0] > 1e-10


def test_standalone_equals_inside_lammps(ace):
    from alloykit.lmp import Lammps, put_atoms
    from alloykit.mliap import MLIAPUnified, load_unified
    from alloykit.descriptors import Pairs

    class Probe(MLIAPUnified):
        def __init__(self):
            super().__init__(None, ["Cr", "Fe"], ace.ndescriptors, 1, ace.rmax / 2)

        def compute_forces(self, data):
            el = torch.from_numpy(data.elems.astype(np.int64))
            pairs = Pairs(torch.from_numpy(data.rij.copy()), torch.from_numpy(data.pair_i.astype(np.int64)),
                          torch.from_numpy(data.jelems.astype(np.int64)), el[:data.nlocal])
            self.b = ace.from_pairs(pairs).numpy()
            data.energy = 0.0

    a = fecr(3, seed=7)
    probe = Probe()
    with Lammps() as lmp:
        lmp.commands(["units metal", "atom_style atomic", "atom_modify map array sort 0 0"])
        put_atoms(lmp, a, ["Cr", "Fe"])
        load_unified(lmp, probe)
        lmp.commands(["pair_style mliap/unified LATER", "pair_coeff * * Cr Fe", "run 0"])
        ids = np.array(lmp.raw.numpy.extract_atom("id"))[:lmp.natoms]
    ref = ace.compute(a).numpy()
    assert np.abs(probe.b - ref[ids - 1]).max() <= 1e-12 * np.abs(ref).max()


def test_bad_settings():
    with pytest.raises(ValueError, match="no descriptor"):
        ACE(["Fe"], nmax=(0,), lmax=(0,))
    with pytest.raises(ValueError, match="unknown element"):
        ACE(["Xx"])
    with pytest.raises(ValueError, match="descriptor elements: element 'Cu' is not one of"):
        ACE(["Fe"]).compute(bulk("Cu", "fcc", a=3.6))
