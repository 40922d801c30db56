"""The GRS loss (Goff et al., Eqs. 13-14), per centre element and with exact gradients.

Q = sum_e w_e sum_k alpha_k < ((M_k,e - M^t_k,e) / scale^k)^2 >_descriptors

M_1 is the mean of the descriptors of the atoms of element e, M_k (k >= 2) their k-th
central moment; w_e is the target's fraction of element e; the average runs over the
descriptor components, each divided by its rank's RMS over the target (``Target.scale``). Squared
differences make Q smooth with a zero gradient at the optimum. A negative alpha (reverse
GRS, pushing away from the target) uses x / (1 + x) instead of x so that Q stays bounded
below. The moments come from power sums, so other structures of an ensemble (Eq. 14) and
other MPI ranks enter by adding their sums, and forces stay exact.
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import InputError
from .target import Target, central_moments, power_sums


class GRSLoss:
    def __init__(self, target: Target, weights=(1.0, 1.0), device="cpu"):
        if len(weights) > target.max_moment:
            raise InputError(f"weights: {len(weights)} moments asked for but the target keeps {target.max_moment}")
        if len(weights) == 0 or all(w == 0 for w in weights):
            raise InputError("weights: at least one moment weight must be non-zero")
        self.target, self.weights = target, tuple(float(w) for w in weights)
        self.kmax = len(self.weights)
        dev = torch.device(device)
        t = lambda a: torch.as_tensor(a, dtype=torch.float64, device=dev)  # noqa: E731
        self.t_moments = central_moments(t(target.sums[:, :self.kmax]), t(target.counts))
        self.scale = t(target.scale)
        self.element_weight = t(target.counts / target.counts.sum())
        self.present = t(target.counts > 0)
        self.nel = len(target.elements)
        self._numpy = tuple(a.cpu().numpy() for a in (self.t_moments, self.scale, self.element_weight * self.present))

    def sums(self, b: torch.Tensor, elem: torch.Tensor):
        """Power sums and counts of a structure's descriptors (add those of others to combine)."""
        return power_sums(b, elem, self.nel, self.kmax)

    def from_sums(self, sums, counts):
        """Q from power sums: torch tensors (differentiable) or numpy arrays (the
        incremental search's fast path: no torch dispatch per move), same arithmetic."""
        if isinstance(sums, np.ndarray):
            t_moments, scale, weight = self._numpy
        else:
            t_moments, scale, weight = self.t_moments, self.scale, self.element_weight * self.present
        moments = central_moments(sums, counts)
        q = 0.0
        for k, alpha in enumerate(self.weights):
            if alpha == 0:
                continue
            diff = (moments[:, k] - t_moments[:, k]) / scale ** (k + 1)
            x = (diff ** 2).mean(1)    # per element
            if alpha < 0:
                x = x / (1.0 + x)
            q = q + alpha * (weight * x).sum()
        return q

    def __call__(self, b: torch.Tensor, elem: torch.Tensor) -> torch.Tensor:
        return self.from_sums(*self.sums(b, elem))
