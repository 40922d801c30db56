"""Lattices: the BCC/FCC type, its detection in a structure, and lattice-site neighbours.

:class:`Lattice` is the one lattice type (kind and cubic parameter; shells, hop vectors and
ideal sites follow from it). :func:`lattice_sites` maps every atom of a structure to a site of
the perfect lattice that fits it, and gives neighbours, shells and vacancy hops from the
lattice's connectivity, not from distances -- right under size mismatch, thermal
displacement, relaxation around vacancies and strain. :func:`detect_lattice` is its
summary.

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

import math
from dataclasses import dataclass, field
from functools import cached_property
from itertools import combinations

import numpy as np
from scipy.spatial import cKDTree

from ..errors import InputError
from .composition import ATOMS_PER_CUBE, LATTICES, check_lattice_name
from .neighbours import cell_heights

# ideal (multiplicity, radius / nearest-neighbour distance) of the first shells
IDEAL = {
    "bcc": [(8, 1.0), (6, 1.1547), (12, 1.6330), (24, 1.9149), (8, 2.0), (6, 2.3094)],
    "fcc": [(12, 1.0), (6, 1.4142), (24, 1.7321), (12, 2.0), (24, 2.2361), (8, 2.4495)],
}
NN_PER_A = {"bcc": math.sqrt(3) / 2, "fcc": 1 / math.sqrt(2)}    # first-neighbour distance / a
OFF_SITE = 0.4    # largest distance of an atom from its site, in nearest-neighbour distances


class NotCrystalline(InputError):
    """The structure is not a BCC/FCC crystal (or not one lattice with its cell)."""


@dataclass(frozen=True)
class Lattice:
    """A cubic Bravais lattice: ``name`` "bcc" or "fcc" and conventional parameter ``a`` (A)."""

    name: str
    a: float

    def __post_init__(self):
        object.__setattr__(self, "name", check_lattice_name(self.name))
        if not (math.isfinite(float(self.a)) and float(self.a) > 0):
            raise InputError(f"lattice parameter: {self.a} must be a positive length")
        object.__setattr__(self, "a", float(self.a))

    @property
    def nn(self) -> int:
        """Sites in the first shell (8 BCC, 12 FCC): the hops of a vacancy."""
        return IDEAL[self.name][0][0]

    @property
    def d1(self) -> float:
        """First-neighbour distance (A)."""
        return NN_PER_A[self.name] * self.a

    @property
    def atoms_per_cube(self) -> int:
        return ATOMS_PER_CUBE[self.name]

    def shells(self, n: int | None = None) -> list[tuple[int, float]]:
        """(sites, radius in A) of the first ``n`` geometric shells (up to 6)."""
        return [(m, r * self.d1) for m, r in IDEAL[self.name][:n]]

    def first_shell_cutoff(self) -> float:
        """Midway between the first and second shells (A)."""
        return 0.5 * (IDEAL[self.name][0][1] + IDEAL[self.name][1][1]) * self.d1

    def hop_vectors(self) -> np.ndarray:
        """(nn, 3) first-neighbour vectors along the cube axes (A)."""
        return lattice_points(self.name, self.a, 1.01 * self.d1)

    def points(self, rmax: float) -> np.ndarray:
        """Sites within ``rmax`` of a site at the origin (origin excluded), cube axes."""
        return lattice_points(self.name, self.a, rmax)

    def to_dict(self) -> dict:
        return {"lattice": self.name, "a": self.a}


def lattice_points(lattice: str, a: float, rmax: float) -> np.ndarray:
    """Sites of the ideal cubic lattice within ``rmax`` of a site at the origin (origin
    excluded), conventional cube axes, sorted by distance then x, y, z."""
    lattice = check_lattice_name(lattice)
    m = int(math.ceil(2 * rmax / a)) + 1
    ijk = np.stack(np.meshgrid(*(np.arange(-m, m + 1),) * 3, indexing="ij"), -1).reshape(-1, 3)
    if lattice == "bcc":      # half-integer coordinates all even or all odd
        keep = (ijk % 2 == ijk[:, :1] % 2).all(1)
    else:                     # fcc: coordinate sum even
        keep = ijk.sum(1) % 2 == 0
    pts = ijk[keep] * (a / 2.0)
    r = np.linalg.norm(pts, axis=1)
    inside = (r > 1e-9) & (r <= rmax + 1e-9)
    pts, r = pts[inside], r[inside]
    order = np.lexsort((pts[:, 2], pts[:, 1], pts[:, 0], np.round(r, 6)))
    return pts[order]


def geometric_shells(lattice: str, rmax_over_a: float = 3.2) -> list[tuple[float, int]]:
    """(radius / a, count) of each geometric shell of ``lattice`` up to ``rmax_over_a``."""
    r = np.round(np.linalg.norm(lattice_points(lattice, 1.0, rmax_over_a), axis=1), 6)
    radii, counts = np.unique(r, return_counts=True)
    return [(float(x), int(c)) for x, c in zip(radii, counts)]


@dataclass
class LatticeSites:
    """Every atom of one structure on its site of the lattice, and the shell tables.

    neighbours[k]: (N, Z_k) int32 indices of the atoms on the Z_k sites of shell k+1 around
    each atom (-1 for an empty site, i.e. a vacancy). radii[k]: ideal shell radius (A).
    Vacant sites have no atom; :meth:`owner` and :meth:`site_neighbours` see them too.
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
    basis: np.ndarray = field(default=None, repr=False)      # primitive vectors (rows), A
    site_n: np.ndarray = field(default=None, repr=False)     # (N, 3) integer site of each atom
    origin: np.ndarray = field(default=None, repr=False)     # position of the site n = 0
    vectors: list = field(default=None, repr=False)          # shell k: (Z_k, 3) integer steps

    @property
    def lattice(self) -> Lattice:
        return Lattice(self.structure, self.a)

    @property
    def vacancies(self) -> int:
        return int(self.n_sites - len(self.site))

    @cached_property
    def _hnf(self) -> np.ndarray:
        return hnf_lower(self.supercell)

    @cached_property
    def owner(self) -> np.ndarray:
        """(n_sites,) atom on each site, -1 where the site is vacant."""
        own = np.full(self.n_sites, -1, dtype=np.int32)
        own[self.site] = np.arange(len(self.site), dtype=np.int32)
        return own

    def vacant_sites(self) -> np.ndarray:
        """Integer site coordinates (V, 3) of the vacant sites."""
        h = self._hnf
        g = [np.arange(int(h[k, k])) for k in range(3)]
        n = np.stack(np.meshgrid(*g, indexing="ij"), -1).reshape(-1, 3)
        idx = site_index(n, h)
        empty = np.zeros(self.n_sites, bool)
        empty[idx[self.owner[idx] < 0]] = True
        keep = empty[idx]
        return n[keep]

    def site_position(self, n: np.ndarray) -> np.ndarray:
        """Cartesian position of the ideal sites ``n`` (..., 3) (not wrapped)."""
        return np.asarray(n) @ self.basis + self.origin

    def site_neighbours(self, n: np.ndarray, shell: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """For sites ``n`` (S, 3): (S, Z) atoms on their shell-``shell`` sites (-1 vacant) and
        the (Z, 3) ideal vectors to those sites (A), the same for every site."""
        steps = self.vectors[shell - 1].astype(np.int32)
        n = np.asarray(n, dtype=np.int32).reshape(-1, 3)
        atoms = np.stack([self.owner[site_index(n + s, self._hnf)] for s in steps], axis=1)
        return atoms, steps @ self.basis

    def hops(self, atoms_at=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The first-neighbour hops into a vacancy made at the site of each atom in
        ``atoms_at`` (default: all): (S,) vacancy-site atoms, (S, nn) moving atoms (-1 for a
        vacant neighbour site) and (nn, 3) ideal hop vectors, vacancy -> mover (A)."""
        sel = np.arange(len(self.site)) if atoms_at is None else np.asarray(atoms_at, int).reshape(-1)
        movers, vec = self.site_neighbours(self.site_n[sel], 1)
        return sel, movers, vec

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
        return bool(np.array_equal(site_index(n[0], self._hnf), self.site))


def _local_vectors(atoms, radius: float, max_centres: int = 600):
    """Bond vectors (<= radius) around up to ``max_centres`` atoms, without building a
    neighbour list of the whole structure: a KD-tree of a central block of the cell and
    centres far enough from its edges that no periodic image is needed. Small cells fall
    back to ASE's periodic neighbour list."""
    cell = atoms.cell.array
    frac = atoms.get_scaled_positions(wrap=True)
    h = cell_heights(cell)
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
    inside = np.linalg.norm(n @ basis, axis=1) < radius - 0.4 * d1
    ok = (np.linalg.norm(vecs - n @ basis, axis=1) < 0.3 * d1) & inside
    # judged on the vectors well inside the sphere only: near its edge they are dropped by
    # design, and at 1,000 K that is about half of them
    if ok.sum() < 0.5 * inside.sum() or ok.sum() < 6:
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


def hnf_count(det: int) -> int:
    """How many lower-triangular Hermite normal forms have determinant ``det``."""
    return sum(c * (det // (a * c)) ** 2 for a in range(1, det + 1) if det % a == 0
               for c in range(1, det // a + 1) if (det // a) % c == 0)


def hnf_matrices(det: int) -> list[np.ndarray]:
    """All lower-triangular Hermite normal forms with determinant ``det`` (rows = cell
    vectors in parent units, off-diagonals reduced modulo the diagonal of their column, the
    form :func:`hnf_lower` gives after that reduction): every distinct supercell lattice of
    ``det`` parent cells, once."""
    out = []
    for a in range(1, det + 1):
        if det % a:
            continue
        for c in range(1, det // a + 1):
            if (det // a) % c:
                continue
            f = det // (a * c)
            for b in range(a):
                for d in range(a):
                    for e in range(c):
                        out.append(np.array([[a, 0, 0], [b, c, 0], [d, e, f]]))
    return out


def _reduce_bases(cells: np.ndarray, rounds: int = 12) -> np.ndarray:
    """Pairwise (Gauss) size reduction of many 3x3 row bases at once, shortest first."""
    cells = cells.copy()
    for _ in range(rounds):
        for i in range(3):
            for j in range(3):
                if i == j:
                    continue
                cj = cells[:, j]
                q = np.rint(np.einsum("mk,mk->m", cells[:, i], cj) / np.einsum("mk,mk->m", cj, cj))
                cells[:, i] -= q[:, None] * cj
    order = np.argsort(np.linalg.norm(cells, axis=2), axis=1)
    return np.take_along_axis(cells, order[:, :, None], axis=1)


MAX_HNF = 200000    # above this many candidate shapes, only diagonal ones are searched


def compact_supercell(parent_cell, det: int) -> np.ndarray:
    """The integer matrix M (det M = ``det``, supercell cell = M @ parent_cell) of the most
    compact supercell: the longest shortest lattice vector (an atom's nearest own image as
    far as it can be), then the shortest longest reduced cell vector (most cubic), then the
    first HNF in enumeration order. M is returned size-reduced, so the cell vectors are the
    short ones. Above :data:`MAX_HNF` shapes only diagonal multiples are searched."""
    det = int(det)
    if det < 1:
        raise InputError(f"supercell: {det} parent cells; need a positive integer")
    parent = np.asarray(parent_cell, dtype=float)
    if hnf_count(det) <= MAX_HNF:
        mats = np.array(hnf_matrices(det), dtype=float)
    else:
        mats = np.array([np.diag([a, c, det // (a * c)]) for a in range(1, det + 1) if det % a == 0
                         for c in range(1, det // a + 1) if (det // a) % c == 0], dtype=float)
    red = _reduce_bases(mats @ parent)
    # shortest lattice vector: small integer combinations of the reduced basis
    combos = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1) if (i, j, k) > (0, 0, 0)])
    shortest = np.linalg.norm(np.einsum("ck,mkx->mcx", combos, red), axis=2).min(axis=1)
    longest = np.linalg.norm(red, axis=2).max(axis=1)
    scale = np.abs(np.linalg.det(parent)) ** (1 / 3) * 1e-6
    best = np.lexsort((longest.round(6) if scale == 0 else np.rint(longest / scale), -np.rint(shortest / scale)))[0]
    m = np.rint(red[best] @ np.linalg.inv(parent)).astype(np.int64)
    if np.linalg.det(m) < 0:
        m[0] = -m[0]
    return m


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


def lattice_sites(atoms, n_shells: int = 3, lattice: str | None = None) -> LatticeSites:
    """Every atom of a periodic BCC/FCC structure on its lattice site, with shells
    1..n_shells (see module doc).

    lattice: "bcc" or "fcc" to insist on one, None to recognise it. Raises
    :class:`NotCrystalline` (an InputError) with a one-line reason otherwise, naming the
    atoms that fit no site.
    """
    structure = lattice
    if not 1 <= int(n_shells) <= 6:
        raise InputError(f"shells: need 1 to 6, got {n_shells}")
    if structure is not None:
        structure = check_lattice_name(structure)
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
    site_n, origin = _nearest_sites(atoms.positions, basis, d1)
    site = site_index(site_n, h)
    owner = np.full(n_sites, -1, dtype=np.int32)
    owner[site] = np.arange(n_atoms, dtype=np.int32)
    if np.count_nonzero(owner >= 0) != n_atoms:
        dup = n_atoms - np.count_nonzero(owner >= 0)
        _, first = np.unique(site, return_index=True)
        shared = np.setdiff1d(np.arange(n_atoms), first)[:5].tolist()
        raise NotCrystalline(f"structure: {dup} atoms share a lattice site with another (atoms {shared}...; "
                             "not one crystal lattice)")
    neighbours = [np.stack([owner[site_index(site_n + step, h)] for step in v.astype(np.int32)], axis=1)
                  for v in vectors]
    a = float((ATOMS_PER_CUBE[structure] * abs(np.linalg.det(basis))) ** (1 / 3))
    return LatticeSites(structure, a, radii, np.array([len(v) for v in vectors]), neighbours,
                        n_sites, site, m.astype(np.int64), cell_volume=vol, basis=basis, site_n=site_n,
                        origin=origin, vectors=vectors)


def detect_lattice(atoms, lattice: str | None = None) -> Lattice:
    """The lattice of a periodic BCC/FCC structure: kind and parameter from the exact cell
    (see :func:`lattice_sites`; NotCrystalline when it is not one)."""
    return lattice_sites(atoms, 1, lattice).lattice


def _nearest_sites(positions: np.ndarray, basis: np.ndarray, d1: float) -> tuple[np.ndarray, np.ndarray]:
    """Integer coordinates of the lattice site nearest to each atom, and the lattice origin;
    refuses atoms that are more than OFF_SITE nearest-neighbour distances from every site."""
    u = positions @ np.linalg.inv(basis)
    every = max(1, len(u) // 20000)             # the origin needs only a sample of atoms
    phase = np.exp(2j * np.pi * u[::every]).mean(axis=0)
    if np.abs(phase).min() < 0.2:
        raise NotCrystalline("structure: atoms are not ordered on a lattice (not crystalline)")
    shift = np.angle(phase) / (2 * np.pi)
    u = u - shift                                    # the lattice origin
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
    bad = np.flatnonzero(off > OFF_SITE * d1)
    if len(bad):
        raise NotCrystalline(f"structure: {len(bad)} of {len(u)} atoms are more than {OFF_SITE:g} neighbour "
                             f"distances from any lattice site (atoms {bad[:5].tolist()}...; not crystalline)")
    return n, shift @ basis


def environment_lattice(env_positions, hop_vector, lattice: str | None = None,
                        cutoff: float | None = None) -> Lattice:
    """The lattice of a vacancy environment (positions relative to the vacancy site, no
    cell), e.g. an NEB record's.

    Relaxation moves the first shells towards the vacancy (a mover in a size-mismatched
    alloy by 0.1-0.3 A), so neither the hop length nor the count of atoms within a fixed
    radius is reliable. Instead, for each lattice kind and a grid of parameters, every atom
    is assigned to its nearest ideal shell and the shell counts are compared with the
    ideal multiplicities (shells inside the environment's cutoff only): the best pair wins.
    ``a`` is then refined as the median of r / ideal radius over shells 3 and beyond,
    which relaxation hardly moves.
    """
    pos = np.asarray(env_positions, float).reshape(-1, 3)
    r = np.linalg.norm(pos, axis=1)
    r = r[r > 1e-6]
    hop = float(np.linalg.norm(hop_vector))
    if len(r) < 8 or not hop > 0:
        raise InputError(f"environment: {len(r)} atoms and a hop of {hop:.3f} A are too few to find a lattice")
    rmax = float(cutoff) if cutoff else float(r.max())
    kinds = [check_lattice_name(lattice)] if lattice else list(LATTICES)
    best = None
    for kind in kinds:
        shells = geometric_shells(kind, 4.0)
        radii = np.array([s[0] for s in shells])
        mult = np.array([s[1] for s in shells])
        for a in (hop / NN_PER_A[kind]) * np.linspace(0.85, 1.2, 141):
            inside = radii * a < rmax - 0.25 * a
            if inside.sum() < 3:
                continue
            k = np.abs(r[:, None] / a - radii[None, :]).argmin(1)
            counts = np.bincount(k, minlength=len(radii))
            miss = np.abs(counts[inside] - mult[inside]).sum() / mult[inside].sum()
            spread = np.median(np.abs(r / a - radii[k]))
            key = (round(float(miss), 3), float(spread))
            if best is None or key < best[0]:
                best = (key, kind, a)
    if best is None:
        raise InputError(f"environment: reaches only {rmax:.2f} A, too little to find a lattice")
    (miss, _), kind, a = best
    if miss > 0.25:
        raise InputError(f"environment: not a BCC or FCC vacancy environment ({100 * miss:.0f} % of the "
                         f"shell sites of the best fit, {kind.upper()} a = {a:.3f} A, are wrong)")
    radii = np.array([s[0] for s in geometric_shells(kind, 4.0)])
    k = np.abs(r[:, None] / a - radii[None, :]).argmin(1)
    outer = (k >= 2) & (radii[k] * a < rmax - 0.25 * a)
    if outer.sum() >= 6:
        a = float(np.median(r[outer] / radii[k[outer]]))
    return Lattice(kind, a)
