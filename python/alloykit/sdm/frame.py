"""The hop-aligned frame and the symmetries that fix a hop.

Frame: x along the hop (vacancy -> moving atom, as in the paper's Fig. 1c). The rotation
about x is fixed by a first neighbour of the vacancy (mover excluded) that makes the
smallest angle with the hop: its component perpendicular to x gives +y. In a perfect lattice
several neighbours tie (three for a BCC <111> hop); they are related by the symmetries
that fix the hop, so whichever one is taken, the lattice sites land on the same positions
of the frame up to one of those symmetries -- which is why augmenting with them
(:func:`hop_symmetries`) is exact. Among tied neighbours (cosines within 0.05) the one
closest in angle to the environment's "chemical dipole" sum_j w_j r_j (perpendicular to x;
w_j = channel index + 1) is taken, so the frame depends on the configuration only, not on
how it is oriented or on relaxation noise: a rigid rotation or mirror of the structure
gives the same map.

The first shell here is the lattice's count of nearest atoms (7 besides the mover in BCC,
11 in FCC), not a distance factor, which size mismatch breaks (relaxed first neighbours of
a Cr-Mo-V vacancy spread over 2.33-2.60 A). It only picks the reference atom for +y: if
thermal noise or a second vacancy in the first shell puts another atom among the nearest,
the map is turned about the hop axis -- the hop, the atoms and the barrier's inputs are
unchanged, and training augments over such turns anyway.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..structures.lattice import Lattice, environment_lattice, lattice_points


def hop_rotation(hop: np.ndarray, env_positions: np.ndarray, weights: np.ndarray | None = None,
                 lattice: str | None = None) -> np.ndarray:
    """3x3 rotation R with rows (x, y, z) of the hop frame: ``r_frame = R @ r``.

    weights: one per environment atom (e.g. species channel + 1) for the tie-break above;
    without them ties go to the neighbour listed first. lattice: "bcc"/"fcc", which
    sets the size of the first shell (default: recognised from the environment)."""
    hop = np.asarray(hop, float)
    d1 = float(np.linalg.norm(hop))
    if d1 < 1e-6:
        raise InputError("hop record: hop vector has zero length")
    x = hop / d1
    pos = np.asarray(env_positions, float).reshape(-1, 3)
    if lattice is None:
        lattice = environment_lattice(pos, hop).name
    r = np.linalg.norm(pos, axis=1)
    # first shell of the vacancy: the nearest atoms but the mover, kept in the listed order
    # (exact ties of the tie-break below go to the first listed, whatever rounding does to r)
    others = np.flatnonzero((r > 1e-6) & (np.linalg.norm(pos - hop, axis=1) > 0.3 * d1))
    near = np.sort(others[np.argsort(r[others], kind="stable")[:Lattice(lattice, 1.0).nn - 1]])
    y = None
    if len(near):
        cand = pos[near]
        perp = cand - np.outer(cand @ x, x)
        rho = np.linalg.norm(perp, axis=1)
        cosines = np.where(rho > 0.1 * d1, cand @ x / np.linalg.norm(cand, axis=1), -np.inf)
        if np.isfinite(cosines.max()):
            tied = np.flatnonzero(cosines > cosines.max() - 0.05)
            score = np.zeros(len(tied))
            if weights is not None:
                w = np.asarray(weights, float).reshape(-1)
                dipole = (w[:, None] * pos).sum(0)
                # rounded: in an ideal lattice symmetric candidates tie exactly, and rounding
                # noise (a ghost atom's x + L, a data file's digits) must not pick among them
                score = np.round((perp[tied] / rho[tied, None]) @ (dipole - (dipole @ x) * x), 6)
            y = perp[tied[int(np.argmax(score))]]
    if y is None:     # no usable neighbour: the cube axis least aligned with the hop
        axis = np.eye(3)[int(np.argmin(np.abs(x)))]
        y = axis - (axis @ x) * x
    y = y / np.linalg.norm(y)
    return np.stack([x, y, np.cross(x, y)])


def rotations_about_x(angles) -> np.ndarray:
    """(n, 3, 3) rotations by ``angles`` (radians) about +x."""
    a = np.asarray(angles, float).reshape(-1)
    c, s = np.cos(a), np.sin(a)
    R = np.zeros((len(a), 3, 3))
    R[:, 0, 0] = 1.0
    R[:, 1, 1], R[:, 1, 2], R[:, 2, 1], R[:, 2, 2] = c, -s, s, c
    return R


def _mirror_about_x(phi: float) -> np.ndarray:
    """Reflection through the plane that contains x and makes angle ``phi`` with y."""
    c, s = np.cos(2 * phi), np.sin(2 * phi)
    return np.array([[1.0, 0, 0], [0, c, s], [0, s, -c]])


def hop_symmetries(template: np.ndarray, tol: float = 1e-3) -> np.ndarray:
    """(g, 3, 3) orthogonal maps that fix x and map the site set ``template`` (ideal lattice
    in the hop frame, vacancy at the origin) onto itself; the identity comes first.

    Candidates are the rotations about x and the mirrors through x that take the nearest
    site off the axis onto another site of the same x and radius; each is kept if it maps
    every site onto a site. Mirrors are included: barriers from any interatomic potential
    are unchanged by reflections as well as rotations.
    """
    t = np.asarray(template, float)
    rho = np.hypot(t[:, 1], t[:, 2])
    off = rho > 1e-6
    k0 = np.flatnonzero(off)[np.argmin(np.linalg.norm(t[off], axis=1))]
    ref_angle = np.arctan2(t[k0, 2], t[k0, 1])
    same = off & (np.abs(t[:, 0] - t[k0, 0]) < tol) & (np.abs(rho - rho[k0]) < tol)
    angles = np.arctan2(t[same, 2], t[same, 1])
    candidates = [np.eye(3)]
    candidates += list(rotations_about_x(angles - ref_angle))
    candidates += [_mirror_about_x((a + ref_angle) / 2) for a in angles]
    keep: list[np.ndarray] = []
    for g in candidates:
        moved = t @ g.T
        d = np.linalg.norm(moved[:, None, :] - t[None, :, :], axis=2).min(1)
        if d.max() < 10 * tol and not any(np.allclose(g, h, atol=1e-6) for h in keep):
            keep.append(g)
    return np.stack(keep)


def site_permutations(template: np.ndarray, ops: np.ndarray) -> np.ndarray:
    """(g, K) index arrays: site k of the template goes to site ``perm[g, k]`` under op g."""
    t = np.asarray(template, float)
    out = []
    for g in ops:
        d = np.linalg.norm((t @ g.T)[:, None, :] - t[None, :, :], axis=2)
        out.append(d.argmin(1))
    return np.stack(out)


def hop_template(lattice: str, a: float, rmax: float) -> np.ndarray:
    """Sites of the ideal lattice within ``rmax`` of a vacancy, in the hop frame of one of
    its first-neighbour hops: (K, 3), sorted by distance then x, y, z (a fixed site order
    for the one-hot baselines). The moving atom's site is (d1, 0, 0)."""
    pts = lattice_points(lattice, a, max(rmax, 1.2 * a))
    hop = pts[0]
    t = pts @ hop_rotation(hop, pts, lattice=lattice).T
    t = t[np.linalg.norm(t, axis=1) <= rmax]
    key = np.round(t, 6) + 0.0     # + 0.0 turns -0.0 into 0.0 for a stable order
    order = np.lexsort((key[:, 2], key[:, 1], key[:, 0], np.round(np.linalg.norm(t, axis=1), 6)))
    return t[order]
