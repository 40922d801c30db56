"""Radial basis with a smooth cutoff: R_n(r) = T_{n-1}(x(r)) f_c(r), n = 1..nmax.

x(r) is Drautz's scaled-exponential distance (ACE, PRB 99, 014104), mapping [0, rc] onto
[-1, 1] with more resolution at short range for larger ``lam``; T_k are Chebyshev
polynomials; f_c = (1 + cos(pi r / rc)) / 2 takes value and slope to zero at rc, so
descriptors and forces are continuous when neighbours cross the cutoff.
"""
from __future__ import annotations

import math

import torch


def scaled_distance(r: torch.Tensor, rc: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    return 1.0 - 2.0 * (torch.exp(-lam * (r / rc - 1.0)) - 1.0) / (torch.exp(lam) - 1.0)


def cutoff_function(r: torch.Tensor, rc: torch.Tensor) -> torch.Tensor:
    inside = r < rc
    return torch.where(inside, 0.5 * (1.0 + torch.cos(math.pi * torch.clamp(r / rc, max=1.0))), torch.zeros_like(r))


def radial_basis(r: torch.Tensor, rc: torch.Tensor, lam: torch.Tensor, nmax: int) -> torch.Tensor:
    """(npairs,) distances with per-pair rc and lam -> (npairs, nmax)."""
    x = scaled_distance(r, rc, lam)
    t = [torch.ones_like(x), x]
    for _ in range(2, nmax):
        t.append(2.0 * x * t[-1] - t[-2])
    return torch.stack(t[:nmax], dim=-1) * cutoff_function(r, rc)[:, None]
