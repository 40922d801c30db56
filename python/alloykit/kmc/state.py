"""The KMC state: species on the sites of a periodic BCC/FCC lattice, vacancies, and the
integer displacement of every atom.

Sites are numbered as :func:`alloykit.structures.lattice_sites` numbers them: integer
coordinates ``n`` in a primitive basis, reduced modulo the supercell through its Hermite
normal form (``site_index``). Neighbours are integer steps, never distances. Everything
is stored per *replica* (leading axis R): independent copies of the same lattice that
jump together, one event each per step, so that ensembles (the analytic tests, averages
over runs) cost one vectorised loop instead of R Python loops. R = 1 is an ordinary run.

Arrays (R replicas, N sites, A atoms, V vacancies per replica):

* ``occ`` (R, N) int8: species index on each site, -1 for a vacancy;
* ``atom_at`` (R, N) int32: atom on each site, -1 for a vacancy;
* ``atom_species`` (A,) int8 (the same atoms in every replica);
* ``atom_disp`` (R, A, 3) int32: unwrapped displacement of each atom, in basis steps;
* ``atom_jumps`` (R, A) int32: jumps made by each atom;
* ``vac_site`` (R, V) int64, ``vac_disp`` (R, V, 3) int32: the vacancies, likewise;
* ``time`` (R,) float64: simulated time of each replica (s).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..structures import Lattice, exact_counts, lattice_sites, parse_composition, species_indices
from ..structures.lattice import hnf_lower, site_index

# primitive vectors (rows) of the conventional cube of edge 1
PRIMITIVE = {
    "bcc": 0.5 * np.array([[-1.0, 1.0, 1.0], [1.0, -1.0, 1.0], [1.0, 1.0, -1.0]]),
    "fcc": 0.5 * np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]]),
}


@dataclass
class SiteLattice:
    """A periodic lattice: ``basis`` (3, 3) primitive vectors (rows, A), ``supercell`` M
    (cell = M @ basis), the first-neighbour ``steps`` (z, 3) in the basis."""

    kind: str
    a: float
    basis: np.ndarray
    supercell: np.ndarray
    steps: np.ndarray = field(default=None)

    def __post_init__(self):
        self.basis = np.asarray(self.basis, float)
        self.supercell = np.asarray(self.supercell, np.int64)
        self.hnf = hnf_lower(self.supercell)
        self.n_sites = int(np.prod(np.diag(self.hnf)))
        self.cell = self.supercell @ self.basis
        self.inv_basis = np.linalg.inv(self.basis)
        self.inv_cell = np.linalg.inv(self.cell)
        if self.steps is None:
            self.steps = self.points(1.01 * self.d1)[0]
        self.steps = np.asarray(self.steps, np.int32)
        if len(self.steps) != self.z:
            raise InputError(f"lattice: {len(self.steps)} first-neighbour steps, expected {self.z}")

    @property
    def lattice(self) -> Lattice:
        return Lattice(self.kind, self.a)

    @property
    def z(self) -> int:
        return self.lattice.nn

    @property
    def d1(self) -> float:
        return self.lattice.d1

    def coords(self, idx) -> np.ndarray:
        """Canonical integer coordinates (..., 3) of site indices (inverse of ``index``)."""
        idx = np.asarray(idx, np.int64)
        h00, h11 = int(self.hnf[0, 0]), int(self.hnf[1, 1])
        rest = idx // h00
        return np.stack([idx % h00, rest % h11, rest // h11], axis=-1).astype(np.int32)

    def index(self, n) -> np.ndarray:
        """Site index of integer coordinates ``n`` (..., 3), periodic."""
        return site_index(np.asarray(n), self.hnf).astype(np.int64)

    def points(self, rmax: float) -> tuple[np.ndarray, np.ndarray]:
        """Lattice steps within ``rmax`` of a site (origin excluded): integer (P, 3) and
        Cartesian (P, 3), sorted by distance (then by the integer coordinates)."""
        m = int(math.ceil(rmax * np.abs(self.inv_basis).sum(0).max())) + 1
        g = np.arange(-m, m + 1)
        n = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
        cart = n @ self.basis
        r = np.linalg.norm(cart, axis=1)
        keep = (r > 1e-9) & (r <= rmax + 1e-6)
        n, cart, r = n[keep], cart[keep], r[keep]
        order = np.lexsort((n[:, 2], n[:, 1], n[:, 0], np.round(r, 6)))
        return n[order].astype(np.int32), cart[order]

    def to_cartesian(self, n) -> np.ndarray:
        return np.asarray(n, float) @ self.basis

    def minimum_image(self, vec: np.ndarray) -> np.ndarray:
        """Cartesian vectors (..., 3) wrapped to the nearest periodic image (fractional
        rounding: exact for cells that are not strongly sheared)."""
        frac = vec @ self.inv_cell
        return (frac - np.rint(frac)) @ self.cell

    def to_dict(self) -> dict:
        return {"kind": self.kind, "a": self.a, "basis": self.basis.tolist(),
                "supercell": self.supercell.tolist(), "steps": self.steps.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "SiteLattice":
        return cls(d["kind"], float(d["a"]), np.array(d["basis"]), np.array(d["supercell"]), np.array(d["steps"]))

    @classmethod
    def cubic(cls, kind: str, a: float, size) -> "SiteLattice":
        """``size`` (int or three ints) conventional cubes of ``kind`` with parameter ``a``."""
        lat = Lattice(kind, a)
        reps = (int(size),) * 3 if np.isscalar(size) else tuple(int(s) for s in size)
        if len(reps) != 3 or min(reps) < 1:
            raise InputError(f"size: expected three positive repetitions, got {size!r}")
        basis = PRIMITIVE[lat.name] * lat.a
        cell = np.diag(reps).astype(float) * lat.a
        m = np.rint(cell @ np.linalg.inv(basis)).astype(np.int64)
        return cls(lat.name, lat.a, basis, m)


class Stencil:
    """Fixed integer ``steps`` (..., 3) from a site, resolved to site indices.

    site_index (with its periodic reduction) costs far more than the gather it feeds, so
    it is tabulated once on a padded box: ``grid`` holds the site index of every integer
    point of the canonical box widened by ``pad`` on each side, enough for any step. The
    padded grid's flat index is linear in n + step, so the sites around any site are one
    addition and one gather away, at the periodic boundary as well as inside."""

    _grids: dict = {}

    def __init__(self, lat: SiteLattice, steps: np.ndarray):
        self.lat, self.steps = lat, np.asarray(steps, np.int32)
        flat = self.steps.reshape(-1, 3)
        pad = int(max(np.abs(flat).max(initial=0), 1))
        pad = max(pad, 6)      # one grid serves every model up to ~7 A (the CNN's r_c)
        self.grid, self.dims, self.pad = _padded_grid(lat, pad)
        d0, d1, _ = self.dims
        s = self.steps.astype(np.int64)
        self.shift = s[..., 0] + d0 * (s[..., 1] + d1 * s[..., 2])
        self._h = (int(lat.hnf[0, 0]), int(lat.hnf[1, 1]))

    def base(self, site) -> np.ndarray | int:
        """Flat index in the padded grid of the site itself."""
        h00, h11 = self._h
        d0, d1, _ = self.dims
        p = self.pad
        if isinstance(site, (int, np.integer)):
            rest, n0 = divmod(int(site), h00)
            n2, n1 = divmod(rest, h11)
            return (n0 + p) + d0 * ((n1 + p) + d1 * (n2 + p))
        rest, n0 = np.divmod(np.asarray(site, np.int64), h00)
        n2, n1 = np.divmod(rest, h11)
        return (n0 + p) + d0 * ((n1 + p) + d1 * (n2 + p))

    def at_one(self, site: int) -> np.ndarray:
        """steps.shape[:-1] site indices around one site."""
        return self.grid[self.base(int(site)) + self.shift]

    def at(self, site) -> np.ndarray:
        """(P,) + steps.shape[:-1] site indices of site + step for each of ``site`` (P,)."""
        site = np.asarray(site, np.int64).reshape(-1)
        if len(site) == 1:
            return self.at_one(int(site[0]))[None]
        return self.grid[self.base(site).reshape((-1,) + (1,) * self.shift.ndim) + self.shift]


def _padded_grid(lat: SiteLattice, pad: int):
    """(grid, dims, pad): site indices on the canonical box widened by ``pad`` (cached per
    lattice; a wider pad replaces a narrower one)."""
    key = (lat.hnf.tobytes(), lat.n_sites)
    have = Stencil._grids.get(key)
    if have is not None and have[2] >= pad:
        return have
    dims = tuple(int(h) + 2 * pad for h in np.diag(lat.hnf))
    dtype = np.int32 if lat.n_sites < 2 ** 31 else np.int64
    out = np.empty(dims[::-1], dtype)               # z-major: flat = x + d0 (y + d1 z)
    x = np.arange(dims[0], dtype=np.int32) - pad
    for iz in range(dims[2]):                       # a slab at a time: bounded memory
        y, xx = np.meshgrid(np.arange(dims[1], dtype=np.int32) - pad, x, indexing="ij")
        n = np.stack([xx, y, np.full_like(y, iz - pad)], axis=-1)
        out[iz] = lat.index(n)
    Stencil._grids.clear()       # one lattice at a time is what runs use
    Stencil._grids[key] = have = (out.ravel(), dims, pad)
    return have


@dataclass
class KmcState:
    lattice: SiteLattice
    species: list
    occ: np.ndarray
    atom_at: np.ndarray
    atom_species: np.ndarray
    atom_disp: np.ndarray
    atom_jumps: np.ndarray
    vac_site: np.ndarray
    vac_disp: np.ndarray
    time: np.ndarray
    steps_done: int = 0

    @property
    def replicas(self) -> int:
        return self.occ.shape[0]

    @property
    def n_vacancies(self) -> int:
        return self.vac_site.shape[1]

    ARRAYS = ("occ", "atom_at", "atom_species", "atom_disp", "atom_jumps", "vac_site", "vac_disp", "time")

    @classmethod
    def from_occupation(cls, lattice: SiteLattice, species, occ: np.ndarray) -> "KmcState":
        """From (R, N) species indices on the sites, -1 for vacancies (the same number of
        vacancies in every replica). Atom k of a replica is its k-th occupied site; replicas
        may hold different species on atom k (:meth:`species_of_atoms` tells them apart)."""
        occ = np.atleast_2d(np.asarray(occ, np.int8))
        R, N = occ.shape
        if N != lattice.n_sites:
            raise InputError(f"occupation: {N} sites, the lattice has {lattice.n_sites}")
        vac = [np.flatnonzero(o < 0) for o in occ]
        if len({len(v) for v in vac}) != 1 or len(vac[0]) == 0:
            raise InputError("occupation: every replica needs the same number (>= 1) of vacancies")
        filled = occ >= 0
        n_atoms = int(filled[0].sum())
        atom_at = np.full((R, N), -1, np.int32)
        atom_at[filled] = np.tile(np.arange(n_atoms, dtype=np.int32), R)
        return cls(lattice, list(species), occ, atom_at, occ[0][filled[0]].astype(np.int8),
                   np.zeros((R, n_atoms, 3), np.int32), np.zeros((R, n_atoms), np.int32),
                   np.stack(vac).astype(np.int64), np.zeros((R, len(vac[0]), 3), np.int32), np.zeros(R))

    def species_of_atoms(self) -> np.ndarray:
        """(R, A) species of each atom in each replica (atoms keep their species)."""
        out = np.empty(self.atom_disp.shape[:2], np.int8)
        for r in range(self.replicas):
            sites = np.flatnonzero(self.atom_at[r] >= 0)
            out[r, self.atom_at[r, sites]] = self.occ[r, sites]
        return out

    def to_atoms(self, replica: int = 0):
        """The configuration of one replica as ``ase.Atoms`` on ideal sites (vacancies left out)."""
        from ase import Atoms

        occ = self.occ[replica]
        sites = np.flatnonzero(occ >= 0)
        pos = self.lattice.to_cartesian(self.lattice.coords(sites))
        atoms = Atoms([self.species[k] for k in occ[sites]], positions=pos, cell=self.lattice.cell, pbc=True)
        atoms.wrap()
        return atoms


def random_state(lattice: str, a: float, size, composition, vacancies: int = 1, replicas: int = 1,
                 seed: int = 0) -> KmcState:
    """A random solid solution of ``composition`` on ``size`` cubes with ``vacancies``
    random vacant sites per replica (exact counts on the remaining sites; each replica
    drawn independently from ``seed``)."""
    lat = SiteLattice.cubic(lattice, a, size)
    comp = parse_composition(composition)
    n_atoms = lat.n_sites - int(vacancies)
    if vacancies < 1 or n_atoms < 1:
        raise InputError(f"vacancies: need 1 to {lat.n_sites - 1}, got {vacancies}")
    counts = exact_counts(comp, n_atoms)
    species = sorted(counts)
    pool = np.concatenate([np.full(counts[s], k, np.int8) for k, s in enumerate(species)]
                          + [np.full(int(vacancies), -1, np.int8)])
    rng = np.random.default_rng(seed)
    occ = np.stack([pool[rng.permutation(lat.n_sites)] for _ in range(int(replicas))])
    return KmcState.from_occupation(lat, species, occ)


def state_from_atoms(atoms, vacancies=None, species=None, lattice: str | None = None, replicas: int = 1) -> KmcState:
    """A state from a periodic BCC/FCC structure (sites from
    :func:`alloykit.structures.lattice_sites`). Vacancies: the structure's empty sites, plus
    the sites of the atoms listed in ``vacancies`` (removed)."""
    table = lattice_sites(atoms, 1, lattice)
    types, species = species_indices(atoms, species)
    occ = np.full(table.n_sites, -1, np.int8)
    occ[table.site] = types
    if vacancies is not None:
        drop = np.asarray(vacancies, int).reshape(-1)
        if len(drop) and (drop.min() < 0 or drop.max() >= len(atoms)):
            raise InputError(f"vacancies: atom indices must be in 0..{len(atoms) - 1}")
        occ[table.site[drop]] = -1
    if not (occ < 0).any():
        raise InputError("structure: no vacancy (give atoms to remove with vacancies=...)")
    lat = SiteLattice(table.structure, table.a, table.basis, table.supercell, table.vectors[0])
    # table.site numbers sites by the same site_index as SiteLattice.index
    return KmcState.from_occupation(lat, species, np.tile(occ, (int(replicas), 1)))
