"""Chemical short-range order: Warren-Cowley alpha and the paper's delta, per shell and pair.

For shell k and species pair (a, b), with a the central atom and b a neighbour in shell k:

* ``N_ab^k``: number of (a-centred, b-neighbour) pairs in shell k (ordered pairs, so
  ``N_ab = N_ba``);
* ``N0_ab^k = P_a^k * c_b``: the same count in an ideal random mixture, where
  ``P_a^k = sum_b N_ab^k`` is the number of shell-k neighbours of all a atoms
  (= ``N_a * Z_k`` without vacancies) and ``c_b = N_b / N``;
* ``delta_ab^k = N_ab^k - N0_ab^k`` (the paper's "non-proportional number");
* ``alpha_ab^k = 1 - N_ab^k / N0_ab^k = -delta_ab^k / N0_ab^k`` (Warren-Cowley).

Sum rules (exact): ``sum_b c_b alpha_ab = 0`` and ``sum_b delta_ab = 0`` for every a;
alpha is symmetric (``alpha_ab = alpha_ba``) when no site is empty.

Noise of an ideal random alloy (independent sites, N atoms, Z_k neighbours; derivation in
:func:`random_sigma`): ``sigma(alpha_ab) = sqrt(((1-c_a)(1-c_b)/(c_a c_b) + 1) / (N Z_k))``
for a != b and ``sqrt(2) (1-c_a) / (c_a sqrt(N Z_k))`` for a == b. With exact counts the
mean is not exactly 0 but ``-1/(N-1)`` (a != b) and ``(1-c_a)/(c_a (N-1))`` (a == b).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..structures import LatticeSites, NotCrystalline, lattice_sites, neighbour_pairs, species_indices


@dataclass
class DistanceShells:
    """Shells from a histogram of pair distances (the fallback for non-BCC/FCC samples).

    pairs[k]: (i, j) arrays of ordered pairs in shell k+1; edges: (K+1,) shell bounds (A).
    """

    radii: np.ndarray
    coordination: np.ndarray     # mean number of neighbours per atom in each shell
    edges: np.ndarray
    pairs: list
    structure: str | None = None
    a: float | None = None
    method: str = "histogram"


@dataclass
class SRO:
    """Short-range order of one structure. Arrays are (K, S, S): shell, centre, neighbour."""

    species: list
    concentrations: np.ndarray
    n_atoms: int
    counts: np.ndarray           # N_ab^k
    ideal: np.ndarray            # N0_ab^k
    alpha: np.ndarray
    delta: np.ndarray
    sigma: np.ndarray            # random-alloy standard deviation of alpha
    radii: np.ndarray
    coordination: np.ndarray
    method: str
    structure: str | None = None
    a: float | None = None
    info: dict = field(default_factory=dict)

    def pair_labels(self):
        s = self.species
        return [(i, j, f"{s[i]}-{s[j]}") for i in range(len(s)) for j in range(len(s))]

    def to_dict(self) -> dict:
        """JSON-able: per pair "A-B" a list over shells (None where undefined)."""
        def per_pair(arr, cast=float):
            return {lab: [None if not np.isfinite(v) else cast(v) for v in arr[:, i, j]]
                    for i, j, lab in self.pair_labels()}
        return {
            "species": list(self.species), "n_atoms": int(self.n_atoms),
            "concentrations": dict(zip(self.species, map(float, self.concentrations))),
            "method": self.method, "structure": self.structure,
            "lattice_parameter": None if self.a is None else float(self.a),
            "shell_radii": [float(r) for r in self.radii],
            "coordination": [float(z) for z in self.coordination],
            "alpha": per_pair(self.alpha), "delta": per_pair(self.delta),
            "pairs": per_pair(self.counts, int), "random_pairs": per_pair(self.ideal),
            "random_sigma_alpha": per_pair(self.sigma), **self.info,
        }


def random_sigma(concentrations, n_atoms: int, coordination) -> np.ndarray:
    """Standard deviation of alpha_ab^k in an ideal random alloy, (K, S, S).

    Derivation: write the occupation of site i by species a as ``s_i^a = c_a + e_i^a``.
    With fixed counts, sum_i e_i^a = 0, so ``N_ab - N Z c_a c_b = Q_ab = sum_(i,j) e_i^a e_j^b``
    over the N Z ordered neighbour pairs. Treating sites as independent (error O(1/N)),
    with ``E[e^a e^b] = C_ab = c_a delta_ab - c_a c_b`` on one site, only the terms with
    (k,l) = (i,j) or (j,i) survive in Var(Q): ``Var(N_ab) = N Z (C_aa C_bb + C_ab^2)`` and
    ``Var(N_aa) = 2 N Z C_aa^2``. Dividing by ``N0_ab = N Z c_a c_b`` gives the formulas in
    the module doc.
    """
    c = np.asarray(concentrations, dtype=float)
    z = np.atleast_1d(np.asarray(coordination, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        off = np.sqrt(np.outer(1 - c, 1 - c) / np.outer(c, c) + 1.0)
        diag = np.sqrt(2.0) * (1 - c) / c
    base = np.where(np.eye(len(c), dtype=bool), np.diag(diag), off)
    return base[None] / np.sqrt(n_atoms * z)[:, None, None]


def pair_counts(types: np.ndarray, shells, n_species: int) -> np.ndarray:
    """N_ab^k (K, S, S) from species indices and lattice or distance shells."""
    s2 = n_species * n_species
    out = []
    if isinstance(shells, LatticeSites):
        for nb in shells.neighbours:
            if nb.size and nb.min() < 0:     # vacancies: drop empty sites
                centre = np.broadcast_to(types[:, None], nb.shape)[nb >= 0]
                codes = centre * n_species + types[nb[nb >= 0]]
            else:
                codes = (types[:, None] * n_species + types[nb]).ravel()
            out.append(np.bincount(codes, minlength=s2))
    else:
        for i, j in shells.pairs:
            out.append(np.bincount(types[i] * n_species + types[j], minlength=s2))
    return np.array(out, dtype=np.int64).reshape(-1, n_species, n_species)


def order_parameters(counts: np.ndarray, types: np.ndarray, n_species: int):
    """(concentrations, N0, alpha, delta) from pair counts."""
    n = len(types)
    conc = np.bincount(types, minlength=n_species) / n
    per_centre = counts.sum(axis=2)                  # P_a^k
    ideal = per_centre[:, :, None] * conc[None, None, :]
    delta = counts - ideal
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(ideal > 0, 1.0 - counts / ideal, np.nan)
    return conc, ideal, alpha, delta


def distance_shells(atoms, n_shells: int = 3, gap: float | None = None, rmax: float | None = None) -> DistanceShells:
    """Shells as groups of pair distances separated by empty gaps (width ``gap`` A,
    default 4 % of the typical neighbour distance). Refuses when the first ``n_shells``
    groups cannot be separated, i.e. when shells overlap."""
    n = len(atoms)
    vol = abs(np.linalg.det(atoms.cell.array)) if any(atoms.pbc) else None
    if vol is None or vol < 1e-9:
        span = np.ptp(atoms.positions, axis=0) + 1.0
        vol = float(np.prod(span))
    d_est = (vol / max(n, 1)) ** (1 / 3)
    gap = 0.04 * d_est if gap is None else float(gap)
    limit = 4.0 * d_est if rmax is None else float(rmax)
    r = min(2.0 * d_est, limit)
    while True:
        i, j, d, _ = neighbour_pairs(atoms, r, sort=False)
        order = np.argsort(d, kind="stable")
        ds = d[order]
        breaks = np.flatnonzero(np.diff(ds) > gap) + 1
        # a group is complete only if a gap follows it inside the search radius
        complete = list(breaks)
        if len(ds) and r - ds[-1] > gap:
            complete.append(len(ds))
        # stop widening once far more pairs than K shells can hold are in (all merged)
        if len(complete) >= n_shells or r >= limit or len(d) > 20 * n_shells * max(n, 1):
            break
        r = min(r * 1.3, limit)
    if len(complete) < n_shells:
        lo = ds[complete[-1]] if complete else (ds[0] if len(ds) else 0.0)
        k = len(complete) + 1
        raise NotCrystalline(f"shells: pair distances run without a gap of {gap:.3f} A from {lo:.3f} A to "
                             f"{r:.3f} A, so shell {k} overlaps the next (use the lattice method or fewer shells)")
    bounds = [0] + complete[:n_shells]
    pairs, radii, coord, edges = [], [], [], [0.0]
    for k in range(n_shells):
        sel = order[bounds[k]:bounds[k + 1]]
        if len(sel) < 0.25 * n:
            raise NotCrystalline(f"shells: shell {k + 1} near {ds[bounds[k]]:.3f} A holds only {len(sel) / n:.2f} "
                                 "neighbours per atom: stray distances between shells (overlap)")
        pairs.append((i[sel], j[sel]))
        radii.append(float(d[sel].mean()))
        coord.append(len(sel) / n)
        upper = ds[bounds[k + 1]] if bounds[k + 1] < len(ds) else r
        edges.append(float(0.5 * (ds[bounds[k + 1] - 1] + upper)))
    return DistanceShells(np.array(radii), np.array(coord), np.array(edges), pairs)


def find_shells(atoms, n_shells: int = 3, method: str = "lattice", lattice: str | None = None):
    """Lattice shells ("lattice", :func:`alloykit.structures.lattice_sites`), distance
    shells ("histogram"), or lattice falling back to distances ("auto"). lattice: "bcc" or
    "fcc" to insist on one (default: recognised)."""
    if method not in ("lattice", "histogram", "auto"):
        raise InputError(f"method: {method!r} is not 'lattice', 'histogram' or 'auto'")
    if method == "histogram":
        return distance_shells(atoms, n_shells)
    try:
        return lattice_sites(atoms, n_shells, lattice)
    except NotCrystalline as first:
        if method == "lattice":
            raise
        try:
            return distance_shells(atoms, n_shells)
        except NotCrystalline as second:
            raise NotCrystalline(f"{first}; and {second}") from None


def compute_sro(atoms, shells=3, species=None, method: str = "lattice", lattice: str | None = None) -> SRO:
    """Warren-Cowley alpha and delta of ``atoms`` for shells 1..K.

    shells: K (int), or shells already found for this structure (a :class:`LatticeSites`
    or :class:`DistanceShells`, e.g. to analyse several type arrays on the same sites).
    species: species order of the output (default: those present, sorted); may include
    absent species (their alpha is NaN).
    """
    if isinstance(shells, (int, np.integer)):
        shells = find_shells(atoms, int(shells), method, lattice)
    types, species = species_indices(atoms, species)
    return sro_from_types(types, species, shells)


def sro_from_types(types: np.ndarray, species, shells) -> SRO:
    """SRO for species indices ``types`` (N,) on the sites of ``shells``."""
    s = len(species)
    counts = pair_counts(types, shells, s)
    conc, ideal, alpha, delta = order_parameters(counts, types, s)
    z = np.asarray(shells.coordination, dtype=float)
    return SRO(list(species), conc, len(types), counts, ideal, alpha, delta,
               random_sigma(conc, len(types), z), np.asarray(shells.radii), z, shells.method,
               getattr(shells, "structure", None), getattr(shells, "a", None),
               {"vacancies": shells.vacancies} if isinstance(shells, LatticeSites) else {})


def sro_frames(frames, shells: int = 3, species=None, method: str = "lattice", lattice: str | None = None):
    """SRO of every frame of an iterable of Atoms (e.g. :func:`alloykit.structures.read_frames`).

    Lattice shells found for one frame are reused for the next when every atom is still on
    its site (swap MC/MD moves species, not sites), so long trajectories cost one lattice
    fit plus one count per frame.
    """
    found = None
    for atoms in frames:
        if not (isinstance(found, LatticeSites) and found.matches(atoms)):
            found = find_shells(atoms, shells, method, lattice)
        yield compute_sro(atoms, found, species)
