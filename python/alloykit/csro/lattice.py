"""Neighbour shells of a BCC/FCC crystal taken from its lattice, not from distances.

Each atom is assigned to the nearest site of the perfect lattice that fits the structure;
the k-th shell of an atom is then the set of atoms on the sites at the k-th ideal
distance. Thermal noise, relaxation or lattice distortion move atoms off their sites but
never between shells, as long as every atom stays within 0.4 nearest-neighbour distances
of its site (else the sample is refused as not crystalline).

How the lattice is found (all vectorised):
1. nearest-neighbour bond vectors of a sample of atoms are clustered; three short,
   independent cluster centres give a primitive basis B0;
2. B0 is refined by least squares on bond vectors out to ~3 neighbour distances;
3. the cell must be an integer supercell of the lattice: M = rint(cell B^-1), and the
   exact basis is then B = M^-1 cell (so it follows any change of the cell, e.g. NPT);
4. atoms get integer site coordinates n (origin from the circular mean of the fractional
   parts); sites are indexed modulo the supercell through the Hermite normal form of M,
   so neighbour sites are found by integer arithmetic and a table lookup.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
from scipy.spatial import cKDTree

# ideal (multiplicity, radius / nearest-neighbour distance) of the first shells
IDEAL = {
    "bcc": [(8, 1.0), (6, 1.1547), (12, 1.6330), (24, 1.9149), (8, 2.0), (6, 2.3094)],
    "fcc": [(12, 1.0), (6, 1.4142), (24, 1.7321), (12, 2.0), (24, 2.2361), (8, 2.4495)],
}
ATOMS_PER_CUBE = {"bcc": 2, "fcc": 4}
OFF_SITE = 0.4    # largest distance of an atom from its site, in nearest-neighbour distances


class NotCrystalline(ValueError):
    """The structure is not a BCC/FCC crystal (or not one lattice with its cell)."""


@dataclass
class LatticeShells:
    """Shell neighbour tables of one structure.

    neighbours[k]: (N, Z_k) int32 indices of the atoms on the Z_k sites of shell k+1 around
    each atom (-1 for an empty site, i.e. a vacancy). radii[k]: ideal shell radius (A).
    """

    structure: str
    a: float
    radii: np.ndarray
    coordination: np.ndarray
    neighbours: list
    n_sites: int
    site: np.ndarray = field(repr=False)          # (N,) site index of each atom
    supercell: np.ndarray = field(repr=False)     # M: cell = M @ basis
    method: str = "lattice"

    cell_volume: float = 0.0

    @property
    def vacancies(self) -> int:
        return int(self.n_sites - len(self.site))

    def matches(self, atoms) -> bool:
        """True when ``atoms`` (same atoms, e.g. a later frame of a run, any cell change)
        has every atom on the site it had here, so the neighbour tables still apply."""
        if len(atoms) != len(self.site) or not all(atoms.pbc):
            return False
        cell = atoms.cell.array
        scale = (abs(np.linalg.det(cell)) / self.cell_volume) ** (1 / 3) if self.cell_volume else 1.0
        try:
            n = _nearest_sites(atoms.positions, np.linalg.solve(self.supercell, cell), self.radii[0] * scale)
        except (NotCrystalline, np.linalg.LinAlgError):
            return False
        return bool(np.array_equal(site_index(n, hnf_lower(self.supercell)), self.site))


def _box_heights(cell: np.ndarray) -> np.ndarray:
    """Distances between opposite faces of the cell."""
    vol = abs(np.linalg.det(cell))
    return np.array([vol / np.linalg.norm(np.cross(cell[(k + 1) % 3], cell[(k + 2) % 3])) for k in range(3)])


def _local_vectors(atoms, radius: float, max_centres: int = 600):
    """Bond vectors (<= radius) around up to ``max_centres`` atoms, without building a
    neighbour list of the whole structure: a KD-tree of a central block of the cell and
    centres far enough from its edges that no periodic image is needed. Small cells fall
    back to ASE's periodic neighbour list."""
    cell = atoms.cell.array
    frac = atoms.get_scaled_positions(wrap=True)
    h = _box_heights(cell)
    margin = (radius + 1e-6) / h                     # fraction of the cell per axis
    half = np.minimum(0.5, 2.5 * margin + 0.02)
    inner = half - margin
    if np.all(inner > 0.02):
        block = np.all(np.abs(frac - 0.5) < half, axis=1)
        idx = np.flatnonzero(block)
        centres_all = idx[np.all(np.abs(frac[idx] - 0.5) < inner, axis=1)]
        if len(centres_all) >= 20:
            centres = centres_all[np.linspace(0, len(centres_all) - 1, min(max_centres, len(centres_all))).astype(int)]
            pos = frac[idx] @ cell
            tree = cKDTree(pos)
            cpos = frac[centres] @ cell
            hits = tree.query_ball_point(cpos, radius)
            vecs = [pos[np.asarray(hh, dtype=int)] - c for hh, c in zip(hits, cpos)]
            vecs = np.concatenate(vecs) if vecs else np.zeros((0, 3))
            return vecs[np.linalg.norm(vecs, axis=1) > 1e-8]
    from ase.neighborlist import neighbor_list

    i, d = neighbor_list("iD", atoms, radius, self_interaction=False)
    keep = np.isin(i, np.unique(i)[: max_centres]) if len(i) else np.zeros(0, bool)
    return d[keep]


def _cluster(vecs: np.ndarray, tol: float):
    """Greedy clustering of bond vectors (clusters are >= one neighbour distance apart)."""
    left = np.ones(len(vecs), bool)
    centres, sizes = [], []
    while left.any():
        v = vecs[np.flatnonzero(left)[0]]
        for _ in range(3):
            member = left & (np.linalg.norm(vecs - v, axis=1) < tol)
            v = vecs[member].mean(axis=0)
        member = left & (np.linalg.norm(vecs - v, axis=1) < tol)
        member[np.flatnonzero(left)[0]] = True
        centres.append(vecs[member].mean(axis=0))
        sizes.append(int(member.sum()))
        left &= ~member
    return np.array(centres), np.array(sizes)


def _primitive_basis(atoms, vol_per_atom: float) -> np.ndarray:
    d_est = vol_per_atom ** (1 / 3)
    vecs = _local_vectors(atoms, 1.45 * d_est)
    if len(vecs) < 8:
        raise NotCrystalline("structure: too few neighbours to find a lattice")
    centres, sizes = _cluster(vecs, 0.35 * d_est)
    keep = sizes >= 0.25 * sizes.max()
    centres = centres[keep]
    centres = centres[np.argsort(np.linalg.norm(centres, axis=1))][:14]
    best, best_key = None, None
    for tri in combinations(range(len(centres)), 3):
        b = centres[list(tri)]
        det = abs(np.linalg.det(b))
        if det < 0.3 * vol_per_atom:
            continue
        key = (round(det / vol_per_atom, 1), float(np.linalg.norm(b, axis=1).sum()))
        if best_key is None or key < best_key:
            best, best_key = b, key
    if best is None:
        raise NotCrystalline("structure: bond directions do not form a lattice (not crystalline?)")
    basis = _refine(atoms, best, 3.0 * d_est)
    # big cells multiply the basis error by the number of cells: refine once more on
    # longer vectors (fewer centres, same cost)
    if np.abs(atoms.cell.array @ np.linalg.inv(basis)).max() > 40:
        basis = _refine(atoms, basis, 7.0 * d_est, max_centres=80)
    return basis


def _refine(atoms, basis: np.ndarray, radius: float, max_centres: int = 600) -> np.ndarray:
    """Least-squares basis from bond vectors out to ``radius`` (longer vectors, finer basis).

    Only vectors whose ideal lattice vector lies well inside the search sphere are used: at
    the sphere's edge, noise that shortens a vector keeps it in and noise that lengthens it
    drops it, which would shrink the fitted lattice."""
    vecs = _local_vectors(atoms, radius, max_centres)
    n = np.rint(vecs @ np.linalg.inv(basis))
    d1 = np.linalg.norm(basis, axis=1).min()
    ok = (np.linalg.norm(vecs - n @ basis, axis=1) < 0.3 * d1) & (np.linalg.norm(n @ basis, axis=1) < radius - 0.4 * d1)
    if ok.sum() < 0.5 * len(vecs) or ok.sum() < 6:
        raise NotCrystalline("structure: atoms do not sit on one lattice (not crystalline?)")
    sol, *_ = np.linalg.lstsq(n[ok], vecs[ok], rcond=None)
    return sol


def hnf_lower(m: np.ndarray) -> np.ndarray:
    """Lower-triangular Hermite-like form H = U m (U unimodular, same row lattice), by
    Euclid's algorithm on rows. Zero above the diagonal, positive diagonal."""
    rows = [[int(x) for x in r] for r in np.asarray(m)]
    for c in (2, 1, 0):
        for r in range(c):
            while rows[r][c] != 0:
                q = rows[c][c] // rows[r][c]
                rows[c] = [x - q * y for x, y in zip(rows[c], rows[r])]
                rows[c], rows[r] = rows[r], rows[c]
        if rows[c][c] < 0:
            rows[c] = [-x for x in rows[c]]
    return np.array(rows, dtype=np.int64)


def site_index(n: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Index in [0, det h) of integer sites ``n`` (..., 3) modulo the row lattice of ``h``.
    int32 arithmetic (half the memory traffic); fine below 2**31 sites."""
    (h00, _, _), (h10, h11, _), (h20, h21, h22) = (map(int, row) for row in h)
    n0, n1, n2 = (np.asarray(n[..., c], dtype=np.int32) for c in range(3))
    k = n2 // h22
    n0, n1, n2 = n0 - k * h20, n1 - k * h21, n2 - k * h22
    k = n1 // h11
    n0, n1 = n0 - k * h10, n1 - k * h11
    return n0 % h00 + h00 * (n1 + h11 * n2)


def _classify(basis: np.ndarray, n_shells: int, structure: str | None):
    """Shell vectors (integer, in the basis) and radii from the lattice itself."""
    r = 5 + n_shells
    g = np.arange(-r, r + 1)
    n = np.stack(np.meshgrid(g, g, g, indexing="ij"), axis=-1).reshape(-1, 3)
    n = n[np.any(n != 0, axis=1)]
    length = np.linalg.norm(n @ basis, axis=1)
    order = np.argsort(length)
    n, length = n[order], length[order]
    # shells: split where the length jumps by more than 1.5 % (true shells differ by >= 4 %)
    cut = np.flatnonzero(np.diff(length) > 0.015 * length[1:]) + 1
    groups = np.split(np.arange(len(n)), cut)
    mult = [len(gr) for gr in groups[:3]]
    found = next((s for s, ideal in IDEAL.items() if mult == [m for m, _ in ideal[:3]]), None)
    if found is None or (structure and structure != found):
        want = structure.upper() if structure else "BCC or FCC"
        raise NotCrystalline(f"structure: the lattice is not {want} (its first shells hold {mult} sites)")
    if n_shells > len(IDEAL[found]):
        raise ValueError(f"shells: at most {len(IDEAL[found])} lattice shells are supported, got {n_shells}")
    vectors = [n[gr] for gr in groups[:n_shells]]
    radii = np.array([length[gr].mean() for gr in groups[:n_shells]])
    return found, vectors, radii


def lattice_shells(atoms, n_shells: int = 3, structure: str | None = None) -> LatticeShells:
    """Shells 1..n_shells of every atom of a periodic BCC/FCC structure (see module doc).

    structure: "bcc" or "fcc" to insist on one, None to recognise it. Raises
    :class:`NotCrystalline` (a ValueError) with a one-line reason otherwise.
    """
    if n_shells < 1:
        raise ValueError(f"shells: need at least 1, got {n_shells}")
    if structure is not None and structure not in IDEAL:
        raise ValueError(f"structure: {structure!r} is not 'bcc' or 'fcc'")
    if not all(atoms.pbc):
        raise NotCrystalline("structure: lattice shells need a periodic cell in x, y and z")
    n_atoms = len(atoms)
    cell = atoms.cell.array
    vol = abs(np.linalg.det(cell))
    if n_atoms < 2 or vol < 1e-9:
        raise NotCrystalline("structure: needs at least 2 atoms and a 3D cell")
    basis = _primitive_basis(atoms, vol / n_atoms)
    mf = cell @ np.linalg.inv(basis)
    m = np.rint(mf)
    if np.abs(mf - m).max() > 0.2 or abs(np.linalg.det(m)) < 0.5:
        raise NotCrystalline("structure: the cell is not a whole number of lattice cells")
    basis = np.linalg.solve(m, cell)                 # exact: follows the cell
    structure, vectors, radii = _classify(basis, n_shells, structure)
    d1 = radii[0]
    h = hnf_lower(m)
    n_sites = int(np.prod(np.diag(h)))
    site_n = _nearest_sites(atoms.positions, basis, d1)
    site = site_index(site_n, h)
    owner = np.full(n_sites, -1, dtype=np.int32)
    owner[site] = np.arange(n_atoms, dtype=np.int32)
    if np.count_nonzero(owner >= 0) != n_atoms:
        dup = n_atoms - np.count_nonzero(owner >= 0)
        raise NotCrystalline(f"structure: {dup} atoms share a lattice site with another (not one crystal lattice)")
    neighbours = [np.stack([owner[site_index(site_n + step, h)] for step in v.astype(np.int32)], axis=1)
                  for v in vectors]
    a = float((ATOMS_PER_CUBE[structure] * abs(np.linalg.det(basis))) ** (1 / 3))
    return LatticeShells(structure, a, radii, np.array([len(v) for v in vectors]), neighbours,
                         n_sites, site, m.astype(np.int64), cell_volume=vol)


def _nearest_sites(positions: np.ndarray, basis: np.ndarray, d1: float) -> np.ndarray:
    """Integer coordinates of the lattice site nearest to each atom; refuses atoms that
    are more than OFF_SITE nearest-neighbour distances from every site."""
    u = positions @ np.linalg.inv(basis)
    every = max(1, len(u) // 20000)             # the origin needs only a sample of atoms
    phase = np.exp(2j * np.pi * u[::every]).mean(axis=0)
    if np.abs(phase).min() < 0.2:
        raise NotCrystalline("structure: atoms are not ordered on a lattice (not crystalline)")
    u = u - np.angle(phase) / (2 * np.pi)            # the lattice origin
    n = np.rint(u).astype(np.int32)
    off = np.linalg.norm((u - n) @ basis, axis=1)
    far = np.flatnonzero(off > 0.25 * d1)
    if len(far):    # rounding in an oblique basis may miss the nearest site: try the 8 corners
        corners = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)])
        cand = np.floor(u[far])[:, None, :].astype(np.int32) + corners[None]
        dist = np.linalg.norm((u[far][:, None, :] - cand) @ basis, axis=2)
        best = dist.argmin(axis=1)
        n[far] = cand[np.arange(len(far)), best]
        off[far] = dist[np.arange(len(far)), best]
    bad = int(np.count_nonzero(off > OFF_SITE * d1))
    if bad:
        raise NotCrystalline(f"structure: {bad} of {len(u)} atoms are more than {OFF_SITE:g} neighbour "
                             f"distances from any lattice site (not crystalline)")
    return n
