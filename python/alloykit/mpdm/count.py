"""Count meta-structures in a frame: vectorised over atoms (scipy cKDTree + numpy).

A crystal (every atom on a site of one BCC/FCC lattice,
:func:`alloykit.structures.lattice_sites`) is classified from the lattice's connectivity:
an atom's first-shell slots are its lattice neighbour sites, so thermal motion and size
mismatch cannot move atoms between shells or slots; an atom next to a vacant site is
``vacancy_neighbour``. Only a frame that is not one crystal is classified geometrically:

For every atom, its z + 6 nearest neighbours within the cutoff are the candidates
(periodic images included: orthogonal or triclinic cells; the crystal may point anywhere).
A rough rotation comes from the frame of the nearest bond b0 and the bond b1 (among the z
nearest) whose angle to b0 is closest to the ideal one (70.53 deg BCC, 60 deg FCC); each
ideal shell slot then takes the candidate closest to it in angle. Atoms this does not fit
cleanly get the best rotation for their assignment and are assigned again. Any valid
assignment differs from another by a cubic point operation, which the type lookup
quotients out, so the type does not depend on these choices. The 6 extra candidates let a
second-shell atom that thermal noise brings closer than a first-shell one be passed over.

An atom is *unclassified* (type -1, never forced into a type) when
  ``few_neighbours``: fewer than z neighbours within the cutoff (surface, FCC vacancy);
  ``shell_mismatch``: two slots take the same atom, an extra atom lies in the shell, a
                      bond is more than MAX_ANGLE_DEG from its slot, or the rms angle is
                      above ``rms_angle_deg`` (BCC vacancy: the best candidate for the
                      empty slot is a second-shell atom 54.7 deg away; wrong lattice;
                      strong disorder);
  ``overlap``:        another atom closer than half the nearest-neighbour distance.

Only angles decide, and the cutoff follows the frame's own nearest-neighbour distance, so
size mismatch, thermal motion and strain do not move atoms between shells. The lattice is
given, or that of the frame (:func:`alloykit.structures.detect_lattice`); a frame that is
not one crystal (a cluster, a partly molten frame) is counted as the lattice whose shells
fit more of its atoms. Frames come from :func:`alloykit.structures.read_frames`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Iterator

import numpy as np
from ase import Atoms
from scipy.spatial import cKDTree

from ..errors import InputError
from ..structures import (FrameError, LatticeSites, NotCrystalline, lattice_sites, periodic_images,
                          read_frames, species_indices)
from ..structures.composition import LATTICES, check_lattice_name
from .enumerate import MetaTable, cubic_point_group, meta_table

# Shell tolerances. A BCC shell read as FCC (Bain path) is off by 7.9 deg rms, an FCC shell
# read as BCC by 9.7 deg; Gaussian noise of 0.05 A per coordinate on a 2.48 A bond gives
# about 2-3 deg rms (all atoms kept), 0.1 A about 4-5 deg (~10 % unclassified). Slots are
# filled within MAX_ANGLE_DEG (second-shell directions are >= 45 deg away).
MAX_ANGLE_DEG = 25.0      # must stay below 30 (half the smallest angle between slots)
RMS_ANGLE_DEG = 6.0
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


# ----------------------------------------------------------------------------- neighbours

@dataclass
class Shells:
    """Nearest neighbours of every atom: ``index`` (q, N) of the atom (periodic images map
    back to it), ``bonds`` (3, q, N) vectors (component-major, float32: plenty for angles),
    ``dist`` (N, q+1) with column 0 the atom itself."""
    index: np.ndarray
    bonds: np.ndarray
    dist: np.ndarray
    nn_distance: float
    cutoff: float


def neighbour_shells(atoms: Atoms, q: int, cutoff: float | None = None, workers: int = -1) -> Shells:
    """The q nearest neighbours within ``cutoff`` of every atom: one k-d tree over the atoms
    and the periodic images the cutoff reaches (:func:`alloykit.structures.periodic_images`),
    one vectorised query (a per-atom list would cost seconds on 1e6 atoms). Without
    ``cutoff``, it is CUTOFF_FACTOR x the median nearest-neighbour distance (estimated on up
    to 4096 atoms)."""
    n = len(atoms)
    periodic = bool(atoms.pbc.any())
    # images within this skin of the faces reach any neighbour within the cutoff; without a
    # cutoff, 1.6 x the mean atomic spacing is beyond the BCC/FCC cutoff
    skin = cutoff if cutoff else 1.6 * (abs(atoms.cell.complete().volume) / max(n, 1)) ** (1 / 3)
    pts, idx = periodic_images(atoms, skin)
    tree = cKDTree(pts, balanced_tree=False, compact_nodes=False)
    sample = np.arange(0, n, max(1, n // 4096))
    nn = float(np.median(tree.query(pts[sample], k=2)[0][:, 1])) if n > 1 else np.inf
    if not cutoff:
        cutoff = CUTOFF_FACTOR * nn
        if periodic and cutoff > skin:     # the density guess was off (e.g. mostly vacuum)
            pts, idx = periodic_images(atoms, cutoff)
            tree = cKDTree(pts, balanced_tree=False, compact_nodes=False)
    centre = pts[:n]                       # the atoms, wrapped into the cell
    # the upper bound prunes the search (about 20% faster than an unbounded query)
    dist, nbr = tree.query(centre, k=q + 1, distance_upper_bound=cutoff * (1 + 1e-9), workers=workers)
    # neighbour-major (q, n) int32 indices; cKDTree marks missing ones with len(pts)
    safe = nbr[:, 1:].T.astype(np.int32)
    np.minimum(safe, len(pts) - 1, out=safe)
    # component-major (3, q, n): gathering one contiguous coordinate at a time is ~10x
    # faster than pts[safe], and keeps the per-atom arithmetic below on long rows
    bonds = np.empty((3,) + safe.shape, dtype=np.float32)
    for c in range(3):
        np.take(pts[:, c].astype(np.float32), safe, out=bonds[c])
        bonds[c] -= centre[:, c].astype(np.float32)
    return Shells(index=idx.astype(np.int32)[safe], bonds=bonds, dist=dist, nn_distance=nn, cutoff=cutoff)


# ----------------------------------------------------------------------------- slots

SECOND_SHELL = {"bcc": 6, "fcc": 6}   # extra candidates: the second shell has 6 atoms


@lru_cache(maxsize=None)
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
    """Orthonormal frames (n, 3, 3), rows e1, e2, e3, from unit e1 and a second vector b
    (both (n, 3))."""
    e2 = b - np.einsum("ni,ni->n", b, e1)[:, None] * e1
    e2 /= np.maximum(np.sqrt(np.einsum("ni,ni->n", e2, e2)), 1e-30)[:, None]   # degenerate: fails later
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
    with np.errstate(all="ignore"):    # a degenerate (bad) fit may blow up: judged later
        for _ in range(iters):
            cof = _cross(x[:, [1, 2, 0]], x[:, [2, 0, 1]])      # rows r1 x r2, r2 x r0, r0 x r1
            det = np.einsum("ni,ni->n", x[:, 0], cof[:, 0])
            det = np.where(np.abs(det) < 1e-12, 1e-12, det)
            x = 0.5 * (x + cof / det[:, None, None])              # X^-T = cofactors / det
    return np.where(np.isfinite(x), x, 0.0)


def assign_slots(bonds: np.ndarray, valid: np.ndarray, lattice: str,
                 max_angle_deg: float | None = None, rms_angle_deg: float | None = None):
    """For every atom and shell slot, the candidate bond that fills it (n, z), an ok flag
    and the rms angle (deg) between the bonds and their slots.

    bonds: (3, q, n) candidate bonds, nearest first (component-major, as in Shells);
    valid: (n, q) within the cutoff. A rough rotation from the frame of (b0, b1) gives
    each slot the candidate closest in angle. Atoms that this does not fit cleanly get the
    best rotation for their assignment (polar factor of sum_s d_s u_s^T) and are assigned
    again (the rough fit is never better than the best one, so atoms it already passes
    need no refinement). ok: no candidate fills two slots, no other candidate lies within
    ``max_angle_deg`` of a slot (an extra atom in the shell), every bond is within
    ``max_angle_deg`` of its slot and the rms angle is within ``rms_angle_deg``."""
    dirs, cos_pair, frames = _templates(lattice)
    dirs32 = dirs.astype(np.float32)
    z, n_all = len(dirs), bonds.shape[2]
    max_cos = np.cos(np.radians(max_angle_deg if max_angle_deg is not None else MAX_ANGLE_DEG))
    rms_tol = rms_angle_deg if rms_angle_deg is not None else RMS_ANGLE_DEG
    pick = np.empty((n_all, z), dtype=np.int8)
    ok = np.empty(n_all, dtype=bool)
    rms = np.empty(n_all)
    for lo in range(0, n_all, _CHUNK):
        hi = min(lo + _CHUNK, n_all)
        u = bonds[:, :, lo:hi].astype(np.float32)                          # (3, q, n)
        norm = np.sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2])
        # invalid candidates get cosine 0 to every slot: never within the tolerance
        u *= np.where(valid[lo:hi].T, 1.0 / np.maximum(norm, 1e-30), 0.0)
        cos0 = u[0, 1:z] * u[0, :1] + u[1, 1:z] * u[1, :1] + u[2, 1:z] * u[2, :1]   # (z-1, n)
        # b1 among the z nearest only: under strong noise a second-shell atom at a similar
        # angle is a worse guess than a first-shell one
        j1 = 1 + np.argmin(np.abs(cos0 - cos_pair), axis=0)
        n = hi - lo
        frame = _frame(u[:, 0].T, u[:, j1, np.arange(n)].T)
        best = None
        for tmpl in frames:        # rough rotation onto the template: tmpl^T @ frame
            m, top, score = _pick(u, np.einsum("ji,njk->nik", tmpl.astype(np.float32), frame), dirs32)
            fit = top.sum(axis=0)
            if best is None:
                best, m_c, top_c, score_c = fit, m, top, score
            else:
                b = fit > best
                best, m_c, top_c = np.where(b, fit, best), np.where(b, m, m_c), np.where(b, top, top_c)
                score_c = np.where(b, score, score_c)
        ok_c, rms_c = _judge(m_c, top_c, score_c, max_cos, rms_tol)
        redo = np.flatnonzero(~ok_c)
        for _ in range(REFINE if redo.size else 0):
            ur = u[:, :, redo]
            sel = np.take_along_axis(ur, np.broadcast_to(m_c[:, redo], (3, z, redo.size)).astype(np.int64), axis=1)
            mat = np.einsum("si,jsn->nij", dirs32, sel)                   # sum_s d_s u_s^T
            m, top, score = _pick(ur, _polar_rotation(mat), dirs32)
            m_c[:, redo] = m
            ok_c[redo], rms_c[redo] = _judge(m, top, score, max_cos, rms_tol)
        pick[lo:hi], ok[lo:hi], rms[lo:hi] = m_c.T, ok_c, rms_c
    return pick, ok, rms


def _judge(m, top, score, max_cos, rms_tol):
    """ok flag and rms angle (deg) of slot assignments m (z, n) with cosines top (z, n)
    and all cosines score (z, q, n)."""
    z = m.shape[0]
    # slots are >= 60 deg apart and max_angle < 30 deg: a candidate is within the
    # tolerance of at most one slot, so this counts the candidates in the shell
    aligned = np.count_nonzero(score >= max_cos, axis=(0, 1))
    bits = np.left_shift(1, m.astype(np.int32))
    distinct = np.bitwise_or.reduce(bits, axis=0) == bits.sum(axis=0)   # no slot shares
    angle = np.arccos(np.clip(top, -1.0, 1.0))
    rms = np.degrees(np.sqrt(np.mean(angle * angle, axis=0)))
    return distinct & (aligned == z) & (top.min(axis=0) >= max_cos) & (rms <= rms_tol), rms


def _pick(u, rot, dirs):
    """For each slot, the candidate closest in angle after ``rot`` (n, 3, 3; actual ->
    ideal): indices (z, n), cosines (z, n), and all cosines (z, q, n). u: (3, q, n).

    Rotating the bonds coordinate by coordinate and then one (z x 3) @ (3 x q n) product
    keeps every numpy call on long rows (n small batched matrix products, or reductions
    over a short last axis, are several times slower)."""
    rt = np.ascontiguousarray(rot.transpose(2, 1, 0))  # rt[j, i, n] = rot[n, i, j]
    rotated = rt[0][:, None, :] * u[0] + rt[1][:, None, :] * u[1] + rt[2][:, None, :] * u[2]
    score = (dirs @ rotated.reshape(3, -1)).reshape(len(dirs), *u.shape[1:])   # (z, q, n)
    top = score.max(axis=1)
    # index of the maximum as a weighted sum of where it is reached (argmax over a middle
    # axis is slow); an exact tie only occurs for atoms that fail the checks anyway
    q = score.shape[1]
    m = ((score == top[:, None, :]) * np.arange(q, dtype=np.int16)[:, None]).sum(axis=1, dtype=np.int16)
    return np.minimum(m, q - 1).astype(np.int8), top, score


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
    nbr = np.take_along_axis(shells.index, pick.T.astype(np.intp), axis=0)    # (z, n) by slot
    code = (k ** np.arange(z, dtype=np.int64)) @ sp[nbr].astype(np.int64)
    types = np.full(n, -1, dtype=np.int32)
    types[good] = sp[good].astype(np.int32) * table.n_orbits + table.orbit_of_code[code[good]]
    reasons = {"few_neighbours": int(few.sum()), "shell_mismatch": int(mismatch.sum()),
               "overlap": int((overlap & ~few).sum())}
    return types, reasons


def classify_on_sites(sites: LatticeSites, sp: np.ndarray, table: MetaTable):
    """Per-atom type index from lattice connectivity (see module doc), and the count of
    each unclassified reason. The ideal first-shell vectors (the same for every site) are
    matched to the slots once; every atom then reads its slots from the site table."""
    z, k = table.z, table.n_species
    ideal = (sites.vectors[0] @ sites.basis).T[:, :, None].astype(np.float32)     # (3, z, 1)
    pick, ok, _ = assign_slots(ideal, np.ones((1, z), bool), table.lattice)
    if not ok[0]:
        raise NotCrystalline(f"lattice: its first shell does not fit the {table.lattice} slots")
    nbr = sites.neighbours[0][:, pick[0].astype(np.intp)].T                       # (z, n) by slot
    vacancy = (nbr < 0).any(axis=0)
    code = (k ** np.arange(z, dtype=np.int64)) @ sp[np.maximum(nbr, 0)].astype(np.int64)
    types = np.full(len(sp), -1, dtype=np.int32)
    types[~vacancy] = sp[~vacancy].astype(np.int32) * table.n_orbits + table.orbit_of_code[code[~vacancy]]
    return types, {"few_neighbours": 0, "shell_mismatch": 0, "overlap": 0,
                   "vacancy_neighbour": int(vacancy.sum())}


def _count_on_sites(atoms: Atoms, lattice, sp: np.ndarray, n_species: int, label):
    """The lattice-site count, or None when the frame is not one crystal of ``lattice``."""
    if not all(atoms.pbc):
        return None
    try:
        sites = lattice_sites(atoms, 1, lattice)
    except NotCrystalline:
        return None
    try:
        table = meta_table(sites.structure, n_species)
    except InputError as e:
        raise FrameError(f"{label}: {e}") from None
    types, reasons = classify_on_sites(sites, sp, table)
    return sites.structure, table, types, reasons, sites.lattice.d1


def _count_as(atoms: Atoms, lattice: str, sp: np.ndarray, n_species: int, cutoff, rms_angle_deg, label):
    try:
        table = meta_table(lattice, n_species)
    except InputError as e:
        raise FrameError(f"{label}: {e}") from None
    shells = neighbour_shells(atoms, q=table.z + SECOND_SHELL[lattice], cutoff=cutoff)
    types, reasons = classify(shells, sp, table, rms_angle_deg)
    return lattice, table, types, reasons, shells.nn_distance


def count_atoms(atoms: Atoms, lattice: str | None = None, species: list[str] | None = None, *,
                cutoff: float | None = None, rms_angle_deg: float | None = None,
                min_classified: float = 0.5, label: str = "atoms") -> FrameCount:
    """Count the meta-structures of one frame.

    lattice: 'bcc', 'fcc', or None ('auto'): the frame's own (structures.detect_lattice);
    a frame that is not one crystal (a cluster, a partly molten frame) is counted as the
    lattice whose shells fit more of its atoms. species: the elements, in the order of the
    type indices (default: the elements present, sorted; at least two).
    cutoff: neighbour cutoff in A (default CUTOFF_FACTOR x the median nearest-neighbour
    distance). rms_angle_deg: shell-fit tolerance (default RMS_ANGLE_DEG).
    Raises an InputError (one line, naming ``label``) for unknown species, too many species,
    bad positions or cell, or, a FrameError, when fewer than ``min_classified`` of the atoms
    have a clean shell (not this lattice).
    """
    if len(atoms) == 0:
        raise FrameError(f"{label}: no atoms")
    if not np.all(np.isfinite(atoms.positions)):
        raise FrameError(f"{label}: positions contain NaN or inf")
    periodic = atoms.cell.array[atoms.pbc]
    if len(periodic) and np.linalg.matrix_rank(periodic, tol=1e-6) < len(periodic):
        raise FrameError(f"{label}: periodic along an axis whose cell vector is zero or degenerate")
    sp, names = species_indices(atoms, species, label)
    if len(names) < 2:
        raise FrameError(f"{label}: only element {names} present; name the species "
                         "(e.g. species=['Fe', 'Cr']) to count a pure frame")
    args = (sp, len(names), cutoff, rms_angle_deg, label)
    lattice = None if lattice in (None, "auto") else check_lattice_name(lattice)
    found = _count_on_sites(atoms, lattice, sp, len(names), label)
    if found is None and lattice is None:   # not one crystal: the lattice whose shells fit more atoms
        found = max((_count_as(atoms, kind, *args) for kind in LATTICES),
                    key=lambda fit: np.count_nonzero(fit[2] >= 0))
    elif found is None:
        found = _count_as(atoms, lattice, *args)
    lattice, table, types, reasons, nn = found
    n_ok = int((types >= 0).sum())
    if n_ok < min_classified * len(atoms):
        worst = max(reasons, key=reasons.get)
        raise FrameError(f"{label}: only {n_ok} of {len(atoms)} atoms have a clean {lattice} shell "
                         f"(most: {worst}); not a {lattice} crystal?")
    counts = np.bincount(types[types >= 0], minlength=table.n_types).astype(np.int64)
    composition = np.bincount(sp, minlength=len(names)) / len(sp)
    return FrameCount(label, lattice, names, counts, types, reasons, composition, nn)


def frame_label(atoms: Atoms) -> str:
    """``path frame k (timestep t)`` of a frame from :func:`alloykit.structures.read_frames`."""
    info = atoms.info
    step = f" (timestep {info['timestep']})" if "timestep" in info else ""
    return f"{info.get('source', 'atoms')} frame {info.get('frame', 0)}{step}"


def count_files(paths: Iterable[str], lattice: str | None = None, species: list[str] | None = None,
                fmt: str | None = None, **kw) -> Iterator[FrameCount | FrameError]:
    """Count every frame of every file (:func:`alloykit.structures.read_frames`; typed LAMMPS
    files need ``species``). A bad frame or file yields a FrameError and counting goes on."""
    for path in paths:
        for item in _frames(path, species, fmt):
            if not isinstance(item, FrameError):
                try:
                    item = count_atoms(item, lattice, species, label=frame_label(item), **kw)
                except InputError as e:
                    item = FrameError(str(e))
            yield item


def _frames(path, species, fmt):
    """The frames of ``path``, bad ones as FrameErrors; an error about the whole file (not
    there, not a data file, ...) as one FrameError after the frames read before it."""
    try:
        yield from read_frames(path, species, errors="yield", fmt=fmt)
    except InputError as e:
        yield FrameError(str(e))
