"""Count meta-structures in a frame: vectorised over atoms (scipy cKDTree + numpy).

For every atom: its z nearest neighbours (periodic images included, orthogonal or triclinic
cell, any orientation of the crystal). A local frame is built from the nearest bond b0 and
the bond b1 whose angle to b0 is closest to the ideal one (70.53 deg in BCC, 60 deg in FCC);
the rotation taking it onto the same pair of ideal directions maps every bond onto the
ideal shell, and each bond takes the nearest ideal slot. Any such frame differs from another
by a cubic point operation (the stabiliser of a shell vertex acts transitively on the
vertices at that angle), which the type lookup quotients out, so the type does not depend
on the choice.

An atom is *unclassified* (type -1, never forced into a type) when
  ``few_neighbours``: fewer than z neighbours within the cutoff (surface, FCC vacancy);
  ``shell_mismatch``: two bonds take the same slot or one is more than ``tolerance_deg``
                      from its slot (BCC vacancy: a second-shell atom fills the gap at
                      54.7 deg; wrong lattice; strong disorder);
  ``overlap``:        another atom closer than half the nearest-neighbour distance.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np
from ase import Atoms
from ase.cell import Cell
from ase.data import atomic_numbers
from scipy.spatial import cKDTree

from .enumerate import LATTICES, MetaTable, cubic_point_group, meta_table
from .readers import FrameError, read_frames

# Shell tolerances. A BCC shell read as FCC (Bain path) is off by 7.9 deg rms, an FCC shell
# read as BCC by 9.7 deg; Gaussian thermal noise of 0.1 A per component on a 2.48 A bond
# gives about 4 deg rms. Slots are filled within MAX_ANGLE_DEG (second-shell directions are
# >= 45 deg away).
MAX_ANGLE_DEG = 25.0      # must stay below 30 (half the smallest angle between slots)
RMS_ANGLE_DEG = {"bcc": 6.0, "fcc": 6.0}
REFINE = 1                # rotation refinements after the rough frame
CUTOFF_FACTOR = 1.25      # x median nearest-neighbour distance; below BCC's 3rd and FCC's 2nd shell
REASONS = ("few_neighbours", "shell_mismatch", "overlap")
_CHUNK = 1 << 17          # atoms per block in the orientation step (bounds memory)


@dataclass
class FrameCount:
    """Meta-structure counts of one frame. ``types``: (N,) per-atom type index, -1 when
    unclassified; ``counts``: (T,) classified atoms of each type."""
    label: str
    lattice: str
    species: list[str]
    counts: np.ndarray
    types: np.ndarray = field(repr=False)
    reasons: dict[str, int]
    composition: np.ndarray
    nn_distance: float

    @property
    def n_atoms(self) -> int:
        return len(self.types)

    @property
    def n_classified(self) -> int:
        return int(self.counts.sum())

    @property
    def n_unclassified(self) -> int:
        return self.n_atoms - self.n_classified

    def summary(self) -> dict:
        """JSON-able (without the per-atom types)."""
        return {"label": self.label, "lattice": self.lattice, "species": self.species,
                "n_atoms": self.n_atoms, "n_classified": self.n_classified,
                "n_unclassified": self.n_unclassified, "unclassified": self.reasons,
                "composition": dict(zip(self.species, map(float, self.composition))),
                "nn_distance": self.nn_distance, "counts": self.counts.tolist()}


# ----------------------------------------------------------------------------- species

def species_indices(atoms: Atoms, species: list[str] | None, label: str = "atoms"):
    """(N,) species index of every atom and the species names.

    LAMMPS input (``atoms.arrays["type"]``): type t is species t-1; ``species`` only names
    them (default "1", "2", ..., at least two). Otherwise chemical symbols are matched
    against ``species`` (default: the symbols present, by atomic number)."""
    if "type" in atoms.arrays:
        t = np.asarray(atoms.arrays["type"], dtype=np.int64)
        names = list(species) if species else [str(i + 1) for i in range(max(2, int(t.max(initial=1))))]
        bad = (t < 1) | (t > len(names))
        if bad.any():
            raise FrameError(f"{label}: field 'type' has value {int(t[bad][0])}, but only "
                             f"{len(names)} species {names} are given")
        return (t - 1).astype(np.int8), names
    uniq, inverse = np.unique(np.array(atoms.get_chemical_symbols()), return_inverse=True)
    present = sorted(uniq, key=lambda s: atomic_numbers.get(s, 0))
    if species is None:
        if len(present) < 2:
            raise FrameError(f"{label}: only element {present} present; name the species "
                             "(e.g. species=['Fe', 'Cr']) to count a pure frame")
        species = present
    names = list(species)
    unknown = [s for s in present if s not in names]
    if unknown:
        raise FrameError(f"{label}: element {unknown[0]!r} is not one of the species {names}")
    return np.array([names.index(s) for s in uniq], dtype=np.int8)[inverse], names


# ----------------------------------------------------------------------------- neighbours

@dataclass
class Shells:
    """Nearest neighbours of every atom: ``index`` (N, q) of the atom (periodic images map
    back to it), ``bonds`` (N, q, 3) vectors, ``dist`` (N, q+1) with column 0 the atom itself."""
    index: np.ndarray
    bonds: np.ndarray
    dist: np.ndarray
    nn_distance: float
    cutoff: float


def _with_images(positions, cell, pbc, skin):
    """Wrapped positions plus periodic images within ``skin`` of the cell faces, and the
    original index of every point (handles triclinic cells and cells smaller than skin)."""
    pbc = np.asarray(pbc, dtype=bool)
    if not pbc.any():
        return positions, positions, np.arange(len(positions))
    cell = np.asarray(Cell(cell).complete())
    frac = np.linalg.solve(cell.T, positions.T).T
    frac[:, pbc] -= np.floor(frac[:, pbc])
    wrapped = frac @ cell
    volume = abs(np.linalg.det(cell))
    heights = volume / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
    pts, idx = frac, np.arange(len(frac))
    for d in np.flatnonzero(pbc):
        s = skin / heights[d]
        blocks, idxs = [pts], [idx]
        for m in range(-int(np.ceil(s)), int(np.ceil(s)) + 1):
            if m == 0:
                continue
            shifted = pts[:, d] + m
            keep = (shifted >= -s) & (shifted < 1.0 + s)
            p = pts[keep]
            p[:, d] += m
            blocks.append(p)
            idxs.append(idx[keep])
        pts, idx = np.concatenate(blocks), np.concatenate(idxs)
    return wrapped, pts @ cell, idx


def neighbour_shells(positions, cell, pbc, q: int, cutoff: float | None = None,
                     workers: int = -1, only: np.ndarray | None = None) -> Shells:
    """The q nearest neighbours of every atom (or of the atoms ``only``). Without
    ``cutoff``, it is CUTOFF_FACTOR x the median nearest-neighbour distance."""
    positions = np.asarray(positions, dtype=float)
    n = len(positions)
    volume = abs(np.linalg.det(np.asarray(Cell(cell).complete())))
    # images within skin of the faces: enough for any neighbour within the cutoff
    skin = cutoff if cutoff else 1.6 * (volume / max(n, 1)) ** (1 / 3)
    for _ in range(2):
        wrapped, pts, idx = _with_images(positions, cell, pbc, skin)
        tree = cKDTree(pts, balanced_tree=False, compact_nodes=False)
        dist, nbr = tree.query(wrapped if only is None else wrapped[only], k=q + 1, workers=workers)
        nn = float(np.median(dist[:, 1])) if n > 1 else np.inf
        cut = cutoff if cutoff else CUTOFF_FACTOR * nn
        if cut <= skin or not np.asarray(pbc).any():
            break
        skin = 1.05 * cut                  # density guess was off (e.g. mostly vacuum)
    valid = nbr[:, 1:] < len(pts)          # cKDTree marks missing neighbours with len(pts)
    safe = np.where(valid, nbr[:, 1:], 0)
    bonds = pts[safe] - (wrapped if only is None else wrapped[only])[:, None, :]
    return Shells(index=idx[safe], bonds=bonds, dist=dist, nn_distance=nn, cutoff=cut)


# ----------------------------------------------------------------------------- slots

SECOND_SHELL = {"bcc": 6, "fcc": 6}   # extra candidates, so a second-shell atom that
                                      # thermal noise brings closer cannot hide a first one


def _templates(lattice: str):
    """Ideal shell directions, the nearest-vertex cosine, and the template frames.

    In the cuboctahedron no point operation fixes an ordered pair of adjacent vertices, so
    the operation taking the ideal pair onto an atom's (b0, b1) may be improper; both
    choices of the second vertex (mirror images about the plane of t0 and the centre) are
    kept and the better fit wins per atom."""
    d = meta_table(lattice, 2).directions
    cos_pair = 1.0 / 3.0 if lattice == "bcc" else 0.5
    near = np.flatnonzero(np.abs(d @ d[0] - cos_pair) < 1e-9)
    # vertices next to t0 reachable from near[0] by a proper rotation that fixes t0
    proper = [g for g in cubic_point_group() if np.linalg.det(g) > 0 and np.allclose(g @ d[0], d[0])]
    reach = [int(np.argmin(np.linalg.norm(d - g @ d[near[0]], axis=1))) for g in proper]
    seconds = [near[0]] + [j for j in near if j not in reach][:1]
    return d, cos_pair, np.array([_frame(d[0][None], d[j][None])[0] for j in seconds])


def _frame(e1, b):
    """Orthonormal frames (n, 3, 3), rows e1, e2, e3, from unit e1 and a second vector b."""
    e2 = b - np.sum(b * e1, axis=1, keepdims=True) * e1
    e2 /= np.linalg.norm(e2, axis=1, keepdims=True)
    return np.stack([e1, e2, _cross(e1, e2)], axis=1)


def _cross(a, b):
    """Cross product of (..., 3) arrays (np.cross is several times slower on many rows)."""
    return np.stack([a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
                     a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
                     a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]], axis=-1)


def _polar_rotation(m: np.ndarray, iters: int = 6) -> np.ndarray:
    """Nearest rotation to each (n, 3, 3) matrix (its polar factor), by the Newton iteration
    X <- (X + X^-T) / 2 with closed-form 3x3 inverses: much faster than a batched SVD, and
    quadratically convergent from the near-rotations met here."""
    x = m / np.maximum(np.sqrt((m * m).sum(axis=(1, 2), keepdims=True) / 3), 1e-30)
    for _ in range(iters):
        cof = _cross(x[:, [1, 2, 0]], x[:, [2, 0, 1]])          # rows r1 x r2, r2 x r0, r0 x r1
        det = (x[:, 0] * cof[:, 0]).sum(axis=1)
        det = np.where(np.abs(det) < 1e-12, 1e-12, det)
        x = 0.5 * (x + cof / det[:, None, None])                  # X^-T = cofactors / det
    return x


def assign_slots(bonds: np.ndarray, valid: np.ndarray, lattice: str,
                 max_angle_deg: float | None = None, rms_angle_deg: float | None = None):
    """For every atom and shell slot, the candidate bond that fills it, an ok flag and
    the rms angle (deg) between the bonds and their slots after the best rotation.

    bonds: (n, q, 3) candidate bonds, nearest first; valid: (n, q) within the cutoff.
    A rough rotation from the frame of (b0, b1) gives each slot the candidate closest in
    angle; the best rotation for that assignment (polar factor of sum_s d_s u_s^T) then
    re-assigns them. ok: no candidate fills two slots, no other candidate lies within
    ``max_angle_deg`` of a slot (an extra atom in the shell), every bond is within
    ``max_angle_deg`` of its slot and the rms angle is within ``rms_angle_deg``."""
    dirs, cos_pair, frames = _templates(lattice)
    z = len(dirs)
    max_cos = np.cos(np.radians(max_angle_deg if max_angle_deg is not None else MAX_ANGLE_DEG))
    rms_tol = rms_angle_deg if rms_angle_deg is not None else RMS_ANGLE_DEG[lattice]
    pick = np.empty((len(bonds), z), dtype=np.int8)
    ok = np.empty(len(bonds), dtype=bool)
    rms = np.empty(len(bonds))
    for lo in range(0, len(bonds), _CHUNK):
        hi = min(lo + _CHUNK, len(bonds))
        u = bonds[lo:hi].astype(np.float32)
        u /= np.maximum(np.sqrt((u * u).sum(axis=2, keepdims=True)), 1e-30)
        v = valid[lo:hi]
        u[~v] = 0.0                # cosine 0 to every slot: never within the tolerance
        cos0 = (u[:, 1:z] * u[:, :1]).sum(axis=2)
        # b1 among the z nearest only: under strong noise a second-shell atom at a similar
        # angle is a worse guess than a first-shell one
        j1 = 1 + np.argmin(np.where(v[:, 1:z], np.abs(cos0 - cos_pair), np.inf), axis=1)
        frame = _frame(u[:, 0], u[np.arange(hi - lo), j1])
        best = None
        for tmpl in frames:        # rough rotation onto the template: tmpl^T @ frame
            m, top, _ = _pick(u, np.matmul(tmpl.T.astype(np.float32), frame), dirs)
            fit = top.sum(axis=1)
            if best is None:
                best, m_best = fit, m
            else:
                better = fit > best
                best, m_best = np.where(better, fit, best), np.where(better[:, None], m, m_best)
        for _ in range(REFINE):    # best rotation for these picks, then pick again
            sel = np.take_along_axis(u, m_best[..., None], axis=1)            # (n, z, 3)
            rot = _polar_rotation(np.matmul(dirs.T.astype(np.float32), sel))  # sum_s d_s u_s^T
            m_best, top, score = _pick(u, rot, dirs)
        # slots are >= 60 deg apart and max_angle < 30 deg: a candidate is within the
        # tolerance of at most one slot, so this counts the candidates in the shell
        aligned = (score >= max_cos).reshape(hi - lo, -1).sum(axis=1)
        ms = np.sort(m_best, axis=1)
        distinct = (ms[:, 1:] != ms[:, :-1]).all(axis=1)
        angle = np.arccos(np.clip(top, -1.0, 1.0))
        rms[lo:hi] = np.degrees(np.sqrt(np.mean(angle * angle, axis=1)))
        pick[lo:hi] = m_best
        ok[lo:hi] = distinct & (aligned == z) & (top.min(axis=1) >= max_cos)
    ok &= rms <= rms_tol
    return pick, ok, rms


def _pick(u, rot, dirs):
    """For each slot, the candidate closest in angle after ``rot`` (actual -> ideal),
    its cosine, and all cosines (n, z, q)."""
    slot_dirs = np.matmul(dirs.astype(np.float32), rot)        # rot^T d_s: (n, z, 3)
    score = np.matmul(slot_dirs, u.transpose(0, 2, 1))          # (n, z, q)
    m = score.argmax(axis=2)
    return m, np.take_along_axis(score, m[..., None], axis=2)[..., 0], score


# ----------------------------------------------------------------------------- counting

def classify(shells: Shells, sp: np.ndarray, table: MetaTable, rms_angle_deg: float | None = None):
    """Per-atom type index (-1: unclassified) and the count of each unclassified reason."""
    z, k = table.z, table.n_species
    n = len(sp)
    dist = shells.dist[:, 1:]
    valid = dist <= shells.cutoff                      # inf (missing) counts as too far
    few = valid.sum(axis=1) < z
    overlap = shells.dist[:, 1] < 0.5 * shells.nn_distance
    pick, ok, _ = assign_slots(shells.bonds, valid, table.lattice, rms_angle_deg=rms_angle_deg)
    mismatch = ~ok & ~few & ~overlap
    good = ~(few | overlap | mismatch)
    nbr = np.take_along_axis(shells.index, pick.astype(np.int64), axis=1)     # (n, z) by slot
    code = sp[nbr].astype(np.int64) @ (k ** np.arange(z, dtype=np.int64))
    types = np.full(n, -1, dtype=np.int32)
    types[good] = sp[good].astype(np.int32) * table.n_orbits + table.orbit_of_code[code[good]]
    reasons = {"few_neighbours": int(few.sum()), "shell_mismatch": int(mismatch.sum()),
               "overlap": int((overlap & ~few).sum())}
    return types, reasons


def detect_lattice(atoms: Atoms, sample: int = 4000, seed: int = 0) -> tuple[str, float]:
    """'bcc' or 'fcc', whichever leaves more atoms of a random subsample classified, and
    that fraction. Only geometry is used."""
    n = len(atoms)
    pick = np.sort(np.random.default_rng(seed).permutation(n)[:sample])
    shells = neighbour_shells(atoms.positions, atoms.cell, atoms.pbc, q=18, only=pick)
    best = ("bcc", -1.0)
    for lattice in LATTICES:
        z = 8 if lattice == "bcc" else 12
        q = z + SECOND_SHELL[lattice]
        valid = shells.dist[:, 1:q + 1] <= shells.cutoff
        _, ok, _ = assign_slots(shells.bonds[:, :q], valid, lattice)
        frac = float(np.mean(ok & (valid.sum(axis=1) >= z)))
        if frac > best[1]:
            best = (lattice, frac)
    return best


def count_atoms(atoms: Atoms, lattice: str = "bcc", species: list[str] | None = None, *,
                cutoff: float | None = None, rms_angle_deg: float | None = None,
                min_classified: float = 0.5, label: str = "atoms") -> FrameCount:
    """Count the meta-structures of one frame.

    lattice: 'bcc', 'fcc' or 'auto'. species: names in type order (see species_indices).
    Raises FrameError (one line, naming ``label``) for unknown species, too many species,
    or when fewer than ``min_classified`` of the atoms have a clean shell (not this lattice).
    """
    if len(atoms) == 0:
        raise FrameError(f"{label}: no atoms")
    sp, names = species_indices(atoms, species, label)
    if lattice == "auto":
        lattice, _ = detect_lattice(atoms)
    if lattice not in LATTICES:
        raise FrameError(f"{label}: lattice must be bcc, fcc or auto, not {lattice!r}")
    try:
        table = meta_table(lattice, len(names))
    except ValueError as e:
        raise FrameError(f"{label}: {e}") from None
    shells = neighbour_shells(atoms.positions, atoms.cell, atoms.pbc, q=table.z + SECOND_SHELL[lattice],
                              cutoff=cutoff)
    types, reasons = classify(shells, sp, table, rms_angle_deg)
    n_ok = int((types >= 0).sum())
    if n_ok < min_classified * len(atoms):
        worst = max(reasons, key=reasons.get)
        raise FrameError(f"{label}: only {n_ok} of {len(atoms)} atoms have a clean {lattice} shell "
                         f"(most: {worst}); not a {lattice} crystal?")
    counts = np.bincount(types[types >= 0], minlength=table.n_types).astype(np.int64)
    composition = np.bincount(sp, minlength=len(names)) / len(sp)
    return FrameCount(label, lattice, names, counts, types, reasons, composition, shells.nn_distance)


def count_files(paths: Iterable[str], lattice: str = "bcc", species: list[str] | None = None,
                fmt: str | None = None, **kw) -> Iterator[FrameCount | FrameError]:
    """Count every frame of every file; a bad frame yields its FrameError and counting goes on."""
    for path in paths:
        for label, item in read_frames(path, fmt):
            if isinstance(item, FrameError):
                yield item
                continue
            try:
                yield count_atoms(item, lattice, species, label=label, **kw)
            except FrameError as e:
                yield e
