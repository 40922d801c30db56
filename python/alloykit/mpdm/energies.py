"""Meta-structure energies e_l from total energies, E_cell ~ sum_l a_l e_l, and the
chemical potentials mu_s(c) = sum_{l: centre s} a_l(c) e_l / c_s of the paper (Eqs. 12-13).

Data: random BCC cells relaxed in LAMMPS (``random_bcc_cells`` + ``relax_cells``), or a
user's labelled structures (``read_labelled``: extxyz etc. with energies, e.g. DFT).
Fits: linear least squares, ridge, or a small torch network that maps a descriptor of each
type to e_l (as in the paper), all on a seeded train/test split of the cells.

Gauge. The counts of every configuration obey sum_l (eta_{l,B} - [centre_l = B]) a_l = 0
(each B atom is counted once as a centre and, through eta, once in total), so e_l and
e_l + lam (eta_{l,B} - [centre_l = B]) predict the same energies: for binary BCC this is
the only null direction (rank 43 of 44 on random cells). Total energies therefore fix
E(c) = (1-c) mu_A + c mu_B but not the split: lam shifts mu_A by lam c/2 and mu_B by
-lam (1-c)/2. The fits here take the minimum-norm deviation from the mean energy per atom
(least squares), or the one the ridge/network settles on; ``chemical_potentials`` also
returns the gauge-free partial molar energies E - c dE/dc and E + (1-c) dE/dc.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk

from ..errors import InputError
from ..structures import FrameError, read_frames
from .count import count_atoms, frame_label
from .enumerate import MetaTable, meta_table
from .theory import most_probable_distribution

METHODS = ("lstsq", "ridge", "torch")


# ----------------------------------------------------------------------------- data

def random_bcc_cells(n_cells: int, size: int = 3, species=("Fe", "Cr"), a: float = 2.87,
                     seed: int = 0) -> list[Atoms]:
    """n_cells BCC cells of 2 size^3 atoms; the number of species-1 atoms is drawn
    uniformly from 0..N (so c spreads uniformly over [0, 1]) and placed at random."""
    rng = np.random.default_rng(seed)
    base = bulk(species[0], "bcc", a, cubic=True).repeat(size)
    n = len(base)
    cells = []
    for _ in range(n_cells):
        symbols = np.full(n, species[0], dtype=object)
        symbols[rng.permutation(n)[: rng.integers(0, n + 1)]] = species[1]
        cell = base.copy()
        cell.set_chemical_symbols(list(symbols))
        cells.append(cell)
    return cells


def relax_cells(cells: list[Atoms], potential="FeCr", box="aniso", ftol: float = 1e-8,
                maxiter: int = 2000, progress: bool = True) -> list[Atoms]:
    """Relax positions and cell of every cell in LAMMPS (``alloykit.lmp.relax``); the
    result carries its energy (``get_potential_energy()``)."""
    from ..lmp import relax
    from ..progress import Progress

    out = []
    with Progress("mpdm relax", total=len(cells), enabled=progress) as p:
        for cell in cells:
            out.append(relax(cell, potential=potential, box=box, ftol=ftol, maxiter=maxiter))
            p.update()
    return out


def energy_of(atoms: Atoms, label: str) -> float:
    """Total energy of a labelled structure: its calculator's, else info['energy']."""
    if atoms.calc is not None:
        try:
            return float(atoms.get_potential_energy())
        except Exception:
            pass
    for key in ("energy", "Energy", "free_energy"):
        if key in atoms.info:
            return float(atoms.info[key])
    raise FrameError(f"{label}: no energy (neither a calculator result nor info['energy'])")


def read_labelled(path: str | Path, index: str = ":", species=None) -> list[Atoms]:
    """Structures with energies from any format :func:`alloykit.structures.read_frames`
    reads (extxyz with energy=... in the comment line, ...). Raises an InputError naming the
    file and frame without an energy."""
    frames = list(read_frames(path, species, index))
    for atoms in frames:
        atoms.info["mpdm_energy"] = energy_of(atoms, frame_label(atoms))
    return frames


def count_matrix(structures: list[Atoms], lattice="bcc", species=("Fe", "Cr"), labels=None):
    """(n_cells, T) counts, (n_cells,) energies, (n_cells,) atoms, kept indices and the
    skipped cells with reasons: a cell with unclassified atoms cannot be written as
    sum_l a_l e_l, so it is left out (and reported), never forced."""
    rows, energies, natoms, kept, skipped = [], [], [], [], []
    for i, atoms in enumerate(structures):
        label = labels[i] if labels else f"cell {i}"
        try:
            fc = count_atoms(atoms, lattice, list(species), label=label)
            if fc.n_unclassified:
                raise FrameError(f"{label}: {fc.n_unclassified} unclassified atoms {fc.reasons}")
            e = atoms.info["mpdm_energy"] if "mpdm_energy" in atoms.info else energy_of(atoms, label)
        except InputError as err:
            skipped.append(str(err))
            continue
        rows.append(fc.counts)
        energies.append(e)
        natoms.append(len(atoms))
        kept.append(i)
    t = meta_table(lattice, len(species))
    return (np.array(rows, dtype=float).reshape(-1, t.n_types), np.array(energies),
            np.array(natoms, dtype=float), kept, skipped)


# ----------------------------------------------------------------------------- fits

@dataclass
class EnergyFit:
    """e: (T,) meta-structure energies (eV); errors in meV/atom per cell."""
    method: str
    e: np.ndarray
    train: np.ndarray
    test: np.ndarray
    train_error: np.ndarray
    test_error: np.ndarray
    rank: int
    info: dict = field(default_factory=dict)

    def summary(self) -> dict:
        def stats(err):
            a = np.abs(err)
            return {"n": int(a.size), "max": float(a.max()) if a.size else None,
                    "mean_abs": float(a.mean()) if a.size else None,
                    "rmse": float(np.sqrt((a ** 2).mean())) if a.size else None,
                    "frac_below_5": float((a < 5).mean()) if a.size else None,
                    "frac_below_10": float((a < 10).mean()) if a.size else None}
        return {"method": self.method, "rank": self.rank, "e": self.e.tolist(),
                "train_meV_per_atom": stats(self.train_error),
                "test_meV_per_atom": stats(self.test_error),
                "test_cells": self.test.tolist(),
                "test_errors_meV_per_atom": self.test_error.tolist(), **self.info}


def split(n: int, test_fraction: float, seed: int):
    perm = np.random.default_rng(seed).permutation(n)
    n_test = int(round(test_fraction * n))
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def type_descriptors(table: MetaTable) -> np.ndarray:
    """(T, f) features of each type for the network: centre one-hot, shell composition,
    and for each class of vertex-vertex distance on the shell, the fraction of vertex
    pairs by unordered species pair."""
    k, d, rep = table.n_species, table.directions, table.representative
    cos = np.round(d @ d.T, 6)
    iu = np.triu_indices(len(d), 1)
    classes = np.unique(cos[iu])
    pairs = [(s, t) for s in range(k) for t in range(s, k)]
    feats = [np.eye(k)[table.centre], table.shell_counts / table.z]
    for c in classes:
        i, j = (x[cos[iu] == c] for x in iu)
        a, b = np.minimum(rep[:, i], rep[:, j]), np.maximum(rep[:, i], rep[:, j])
        feats.append(np.stack([((a == s) & (b == t)).mean(axis=1) for s, t in pairs], axis=1))
    return np.concatenate(feats, axis=1)


def _linear(A, E, N, ridge):
    """min |A e - E|^2 + ridge |e - ebar|^2 (ebar: mean energy per atom); with ridge = 0
    the minimum-norm least-squares solution for e - ebar."""
    ebar = float(E.sum() / N.sum())
    y = E - N * ebar
    if ridge > 0:
        T = A.shape[1]
        delta = np.linalg.solve(A.T @ A + ridge * np.eye(T), A.T @ y)
    else:
        delta = np.linalg.lstsq(A, y, rcond=None)[0]
    return ebar + delta


def _torch_fit(A, E, N, table, hidden, epochs, weight_decay, seed):
    """e_l = ebar + scale * MLP(descriptor_l), trained full-batch with L-BFGS on per-atom
    energies (a problem this small converges far better with L-BFGS than with Adam)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)          # 44 x 16 matrices: threads only add overhead
    try:
        return _torch_lbfgs(torch, A, E, N, table, hidden, epochs, weight_decay, seed)
    finally:
        torch.set_num_threads(threads)


def _torch_lbfgs(torch, A, E, N, table, hidden, epochs, weight_decay, seed):
    torch.manual_seed(seed)
    x = torch.tensor(type_descriptors(table), dtype=torch.float64)
    a = torch.tensor(A / N[:, None], dtype=torch.float64)      # fractions: per-atom energies
    y = torch.tensor(E / N, dtype=torch.float64)
    ebar, scale = float(y.mean()), float(y.std()) or 1.0
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], hidden), torch.nn.Tanh(),
                              torch.nn.Linear(hidden, hidden), torch.nn.Tanh(),
                              torch.nn.Linear(hidden, 1)).double()
    opt = torch.optim.LBFGS(net.parameters(), lr=1.0, max_iter=epochs, history_size=50,
                            tolerance_grad=1e-12, tolerance_change=1e-15,
                            line_search_fn="strong_wolfe")
    params = list(net.parameters())

    def closure():
        opt.zero_grad()
        e = ebar + scale * net(x)[:, 0]
        loss = torch.mean(((a @ e - y) / scale) ** 2)
        if weight_decay:
            loss = loss + weight_decay * sum((p ** 2).sum() for p in params)
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return (ebar + scale * net(x)[:, 0]).numpy()


def fit_energies(A: np.ndarray, E: np.ndarray, N: np.ndarray, table: MetaTable,
                 method: str = "lstsq", ridge: float = 1.0, test_fraction: float = 0.2,
                 seed: int = 0, hidden: int = 16, epochs: int = 2000,
                 weight_decay: float = 1e-6, test_cells=None) -> EnergyFit:
    """Fit e_l on a seeded train split and report per-cell errors (meV/atom).

    A: (n, T) counts, E: (n,) total energies (eV), N: (n,) atoms per cell.
    method: 'lstsq' (minimum-norm deviation from the mean energy per atom), 'ridge'
    (penalty ``ridge`` * |e - ebar|^2, in units of counts^2), or 'torch' (an MLP maps
    ``type_descriptors`` to e_l; L-BFGS on per-atom energies, seeded; ``epochs`` is the
    iteration limit). test_cells: held-out indices instead of the seeded random split."""
    if method not in METHODS:
        raise InputError(f"method: {method!r} is not one of {', '.join(METHODS)}")
    if len(E) < 2:
        raise InputError(f"need at least 2 labelled cells, got {len(E)}")
    if test_cells is None:
        train, test = split(len(E), test_fraction, seed)
    else:                             # an explicit split (e.g. one fold of a cross-validation)
        test = np.unique(np.asarray(test_cells, dtype=int))
        train = np.setdiff1d(np.arange(len(E)), test)
    if method == "torch":
        e = _torch_fit(A[train], E[train], N[train], table, hidden, epochs, weight_decay, seed)
    else:
        e = _linear(A[train], E[train], N[train], ridge if method == "ridge" else 0.0)
    err = 1000.0 * (A @ e - E) / N
    info = {"ridge": ridge} if method == "ridge" else {}
    if method == "torch":
        info = {"hidden": hidden, "lbfgs_iterations": epochs, "weight_decay": weight_decay}
    # what composition alone explains: E ~ sum_s N_s mu_s (a baseline for the errors)
    k = table.n_species
    Ns = np.stack([A[:, table.centre == s].sum(axis=1) for s in range(k)], axis=1)
    mu0 = np.linalg.lstsq(Ns[train], E[train], rcond=None)[0]
    base = 1000.0 * np.abs(Ns[test] @ mu0 - E[test]) / N[test]
    info["composition_only_test_rmse"] = float(np.sqrt((base ** 2).mean())) if base.size else None
    return EnergyFit(method, e, train, test, err[train], err[test],
                     int(np.linalg.matrix_rank(A[train])), info)


def gauge_vector(table: MetaTable, species: int = 1) -> np.ndarray:
    """The null direction eta_{l,s} - [centre_l = s]: adding any multiple to e changes no
    predicted energy (module docstring)."""
    return table.eta[:, species] - (table.centre == species)


# ----------------------------------------------------------------------------- mu(c)

def chemical_potentials(table: MetaTable, e: np.ndarray, c_grid=None) -> dict:
    """Binary: mu_A(c) = sum_{centre A} a_l e_l / (1-c), mu_B(c) = sum_{centre B} a_l e_l / c
    with a_l(c) the most probable distribution (per atom), E(c) = sum_l a_l e_l, and the
    partial molar energies E - c E'(c), E + (1 - c) E'(c) (gauge-free)."""
    if table.n_species != 2:
        raise InputError("chemical_potentials(c) is for binary tables; use the fractions directly")
    c = np.linspace(0.01, 0.99, 99) if c_grid is None else np.asarray(c_grid, dtype=float)
    a = np.array([most_probable_distribution(table, ci).fractions for ci in c])
    A_centre = table.centre == 0
    mu_a = (a[:, A_centre] @ e[A_centre]) / (1 - c)
    mu_b = (a[:, ~A_centre] @ e[~A_centre]) / c
    energy = a @ e
    slope = np.gradient(energy, c)
    return {"c": c.tolist(), "mu_A": mu_a.tolist(), "mu_B": mu_b.tolist(),
            "energy_per_atom": energy.tolist(),
            "mu_A_partial_molar": (energy - c * slope).tolist(),
            "mu_B_partial_molar": (energy + (1 - c) * slope).tolist()}
