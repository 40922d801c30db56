"""Eq. 1 on a batch: sum of Gaussians per species channel on the cubic grid.

Each Gaussian factorises, exp(-|r - g|^2 / 2D^2) = gx * gy * gz, so an SDM never needs a
per-voxel exponential. Two equivalent ways to sum them:

* ``window`` (default): each atom adds a W^3 block (W = 8 voxels per axis around it, clipped
  to the grid) of gz (x) gy (x) gx into the flat output with one ``index_add_``. Terms
  further than 4 D from the atom along an axis are dropped; each is below exp(-8) = 3.4e-4
  of the atom's peak. Cost per atom: W^3, independent of the grid size.
* ``dense``: all grid points, one batched matrix product per batch: (gz (x) gy)^T @ gx.
  Exact, cost per atom C * N^3; good on a GPU for small grids.

:func:`sdm_reference` is the direct, slow evaluation of Eq. 1 (float64, every voxel, every
atom) that the tests compare against.
"""
from __future__ import annotations

import numpy as np
import torch

from .shells import SDMSpec

WINDOW = 8


def _prepare(positions: torch.Tensor, species: torch.Tensor, spec: SDMSpec):
    """Grid coordinates (voxel units, centre of voxel 0 at 0) and per-atom weights: atoms
    with species < 0 (padding) or |r| >= r_c get weight 0."""
    r = torch.linalg.vector_norm(positions, dim=-1)
    weight = ((species >= 0) & (r < spec.r_c)).to(positions.dtype)
    u = positions / spec.delta + (spec.grid - 1) / 2.0
    return u, weight, species.clamp(min=0).long()


def sdm_batch(positions: torch.Tensor, species: torch.Tensor, spec: SDMSpec, method: str = "window",
              window: int = WINDOW, chunk: int | None = None) -> torch.Tensor:
    """SDMs of B configurations already in the hop frame.

    positions: (B, M, 3) A, relative to the vacancy; species: (B, M) channel index, -1 for
    padding. Returns (B, C, N, N, N) with axes (channel, z, y, x) as in Eq. 1's Xi(z, y, x, beta),
    same dtype and device as ``positions``. ``chunk``: maps per pass of the window method
    (default 16 on the CPU, where the scatter's intermediates then stay in cache; all on a GPU).
    """
    if positions.dim() != 3 or positions.shape[-1] != 3 or species.shape != positions.shape[:2]:
        raise ValueError("sdm_batch: positions must be (B, M, 3) and species (B, M)")
    if method == "dense":
        return _dense(positions, species, spec)
    if method != "window":
        raise ValueError(f"method: {method!r} is not 'window' or 'dense'")
    B, N = positions.shape[0], spec.grid
    out = torch.zeros((B, len(spec.species), N, N, N), dtype=positions.dtype, device=positions.device)
    chunk = chunk or (16 if positions.device.type == "cpu" else max(B, 1))
    for lo in range(0, B, chunk):
        _window_into(out[lo:lo + chunk], positions[lo:lo + chunk], species[lo:lo + chunk], spec, min(window, N))
    return out


def _window_into(out, positions, species, spec, W):
    """Add the maps of ``positions`` into ``out`` (contiguous, zeroed)."""
    B = positions.shape[0]
    N, C, dev = spec.grid, len(spec.species), positions.device
    u, weight, ch = _prepare(positions, species, spec)
    start = (torch.floor(u) - (W // 2 - 1)).clamp(0, N - W)                        # B M 3, float
    g = torch.exp(-0.5 * (start[..., None] + torch.arange(W, device=dev, dtype=u.dtype) - u[..., None]) ** 2)
    g[:, :, 2] *= weight[..., None]
    block = g[:, :, 2, :, None, None] * g[:, :, 1, None, :, None] * g[:, :, 0, None, None, :]
    # int32 flat indices: half the memory traffic of int64 (a chunk has < 2^31 voxels)
    s = start.to(torch.int32)
    k = torch.arange(W, device=dev, dtype=torch.int32)
    base = ((torch.arange(B, device=dev, dtype=torch.int32)[:, None] * C + ch.to(torch.int32)) * N + s[..., 2]) \
        * (N * N) + s[..., 1] * N + s[..., 0]
    offsets = ((k[:, None, None] * N + k[None, :, None]) * N + k[None, None, :]).reshape(-1)
    out.view(-1).index_add_(0, (base[..., None] + offsets).reshape(-1), block.reshape(-1))


def _dense(positions, species, spec):
    B, M, _ = positions.shape
    N, C = spec.grid, len(spec.species)
    u, weight, ch = _prepare(positions, species, spec)
    grid = torch.arange(N, device=positions.device, dtype=u.dtype)
    g = torch.exp(-0.5 * (u[..., None] - grid) ** 2)                                # B M 3 N
    zc = torch.nn.functional.one_hot(ch, C).to(u.dtype) * weight[..., None]         # B M C
    zc = zc[..., None] * g[:, :, 2, None, :]                                        # B M C N(z)
    zy = (zc[..., None] * g[:, :, 1, None, None, :]).reshape(B, M, C * N * N)
    return torch.bmm(zy.transpose(1, 2), g[:, :, 0]).view(B, C, N, N, N)


def sdm_reference(positions: np.ndarray, species: list[str], spec: SDMSpec) -> np.ndarray:
    """Eq. 1 evaluated directly: for every atom within r_c and every voxel, the full
    Gaussian (float64). positions: (M, 3) in the hop frame. Returns (C, N, N, N)."""
    c = spec.centres()
    z, y, x = np.meshgrid(c, c, c, indexing="ij")
    out = np.zeros((len(spec.species), spec.grid, spec.grid, spec.grid))
    for r, s in zip(np.asarray(positions, float), species):
        if np.linalg.norm(r) >= spec.r_c:
            continue
        d2 = (r[0] - x) ** 2 + (r[1] - y) ** 2 + (r[2] - z) ** 2
        out[spec.species.index(s)] += np.exp(-d2 / (2 * spec.delta ** 2))
    return out
