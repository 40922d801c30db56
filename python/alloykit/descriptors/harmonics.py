"""Real spherical harmonics in torch and the rotation-invariant couplings between them.

The harmonics are orthonormal real ``Y_lm`` (m = -l..l, cos for m > 0, sin for m < 0,
no Condon-Shortley phase), written as polynomials in the unit vector so that autograd
sees smooth functions. The coupling tensors (real-basis Clebsch-Gordan / Wigner-3j) are
not typed in or converted from a complex convention: they are computed as the rotation-
invariant subspace of the very harmonics used here (the null space of D1 x D2 x D3 - 1
for two generic rotations), so conventions can never disagree.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch


def lm_index(l: int, m: int) -> int:
    """Position of (l, m) in the flat list l = 0, 1, ...; m = -l..l."""
    return l * l + l + m


def real_sph_harm(u: torch.Tensor, lmax: int) -> torch.Tensor:
    """Y_lm(u) for unit vectors ``u`` (..., 3) -> (..., (lmax+1)^2)."""
    x, y, z = u[..., 0], u[..., 1], u[..., 2]
    # (x + i y)^m split into cos(m phi) sin^m(theta) and sin(m phi) sin^m(theta)
    cos_m, sin_m = [torch.ones_like(x)], [torch.zeros_like(x)]
    for m in range(1, lmax + 1):
        c, s = cos_m[-1], sin_m[-1]
        cos_m.append(x * c - y * s)
        sin_m.append(x * s + y * c)
    # P_l^m(z) / sin^m(theta): polynomials in z by the usual recurrences
    pi = {}
    for m in range(lmax + 1):
        pi[(m, m)] = torch.full_like(z, float(math.prod(range(1, 2 * m, 2))))
        if m + 1 <= lmax:
            pi[(m + 1, m)] = (2 * m + 1) * z * pi[(m, m)]
        for l in range(m + 2, lmax + 1):
            pi[(l, m)] = ((2 * l - 1) * z * pi[(l - 1, m)] - (l + m - 1) * pi[(l - 2, m)]) / (l - m)
    out = [None] * (lmax + 1) ** 2
    for l in range(lmax + 1):
        for m in range(l + 1):
            norm = math.sqrt((2 * l + 1) / (4 * math.pi) * math.factorial(l - m) / math.factorial(l + m))
            if m == 0:
                out[lm_index(l, 0)] = norm * pi[(l, 0)]
            else:
                out[lm_index(l, m)] = math.sqrt(2) * norm * pi[(l, m)] * cos_m[m]
                out[lm_index(l, -m)] = math.sqrt(2) * norm * pi[(l, m)] * sin_m[m]
    return torch.stack(out, dim=-1)


def _rotation(seed: int) -> np.ndarray:
    q = np.random.default_rng(seed).normal(size=4)
    a, b, c, d = q / np.linalg.norm(q)
    return np.array([[a*a+b*b-c*c-d*d, 2*(b*c-a*d), 2*(b*d+a*c)],
                     [2*(b*c+a*d), a*a-b*b+c*c-d*d, 2*(c*d-a*b)],
                     [2*(b*d-a*c), 2*(c*d+a*b), a*a-b*b-c*c+d*d]])


@lru_cache(maxsize=None)
def wigner_d(l: int, seed: int) -> np.ndarray:
    """D^l(R) in this basis, Y_l(R u) = D Y_l(u), for the rotation numbered ``seed``."""
    rng = np.random.default_rng(1000 + l)
    u = rng.normal(size=(4 * (2 * l + 1), 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    rot = _rotation(seed)
    sl = slice(l * l, (l + 1) ** 2)
    y = real_sph_harm(torch.from_numpy(u), l).numpy()[:, sl]
    yr = real_sph_harm(torch.from_numpy(u @ rot.T), l).numpy()[:, sl]
    dt, *_ = np.linalg.lstsq(y, yr, rcond=None)
    return dt.T


def invariant_tensors(ls: tuple[int, ...]) -> list[np.ndarray]:
    """An orthonormal basis of the rotation-invariant tensors in V_l1 x ... x V_lN."""
    shape = tuple(2 * l + 1 for l in ls)
    blocks = []
    for seed in (1, 2):
        k = np.ones((1, 1))
        for l in ls:
            k = np.kron(k, wigner_d(l, seed))
        blocks.append(k - np.eye(k.shape[0]))
    _, s, vt = np.linalg.svd(np.vstack(blocks))    # vt is square: s has one value per row
    return [v.reshape(shape) for v in vt[np.sum(s > 1e-9):]]


@lru_cache(maxsize=None)
def coupling3(l1: int, l2: int, l3: int) -> np.ndarray:
    """The invariant tensor coupling (l1, l2, l3), unit norm, sign fixed (real 3j symbol)."""
    ts = invariant_tensors((l1, l2, l3))
    if len(ts) != 1:
        raise ValueError(f"no unique invariant for l = {(l1, l2, l3)}")
    t = ts[0]
    t[np.abs(t) < 1e-12] = 0.0
    first = t.flat[np.flatnonzero(t)[0]]
    return t * np.sign(first)
