"""The networks: the paper's 3D CNN (Fig. 1e) and the fully connected baseline.

BarrierCNN: (pools + 1) groups of ``n`` 3x3x3 convolutions of ``width`` filters (4n
convolutions with the paper's three pools), each convolution followed by batch norm and then
ReLU, a 2x2x2 max-pool (stride 2) between groups, and the last convolution's output
flattened into a single linear neuron. Both networks predict in units of the training
targets' spread around their mean (``target_mean``, ``target_scale`` are buffers, so they
travel with the weights): the optimiser then sees O(1) numbers whatever the barrier scale.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import InputError


class _Scaled(nn.Module):
    def __init__(self, target_mean: float, target_scale: float):
        super().__init__()
        # a zero or NaN scale would turn every prediction into the mean, or into NaN
        if not (math.isfinite(float(target_mean)) and math.isfinite(float(target_scale)) and target_scale > 0):
            raise InputError(f"target_mean {target_mean}, target_scale {target_scale}: need finite numbers and "
                             "a scale > 0")
        self.register_buffer("target_mean", torch.tensor(float(target_mean)))
        self.register_buffer("target_scale", torch.tensor(float(target_scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1).float() * self.target_scale + self.target_mean


class MaxPool2(nn.Module):
    """2x2x2 max-pool, stride 2, as ``nn.MaxPool3d(2)`` (same values, no parameters) but as
    three pairwise maxima of strided views: torch's CPU max_pool3d also computes the
    argmax indices and took half the inference time of the CPU-sized network."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.maximum(x[..., 0::2], x[..., 1::2])
        x = torch.maximum(x[..., 0::2, :], x[..., 1::2, :])
        return torch.maximum(x[..., 0::2, :, :], x[..., 1::2, :, :])


class BarrierCNN(_Scaled):
    """SDM (B, channels, grid, grid, grid) -> barrier (B,) in eV."""

    def __init__(self, channels: int, grid: int, n: int = 3, width: int = 60, pools: int = 3,
                 target_mean: float = 0.0, target_scale: float = 1.0):
        super().__init__(target_mean, target_scale)
        if min(channels, grid, n, width) < 1 or pools < 0:
            raise InputError(f"network: channels {channels}, grid {grid}, n {n}, width {width}, pools {pools}: "
                             "need positive sizes")
        if grid % (2 ** pools):
            raise InputError(f"grid {grid} is not divisible by 2^{pools} (one halving per pool)")
        self.config = dict(kind="cnn", channels=int(channels), grid=int(grid), n=int(n), width=int(width),
                           pools=int(pools))
        layers: list[nn.Module] = []
        cin = channels
        for group in range(pools + 1):
            if group:
                layers.append(MaxPool2())
            for _ in range(n):
                # no conv bias: the batch norm right after it has its own shift
                layers += [nn.Conv3d(cin, width, 3, padding=1, bias=False), nn.BatchNorm3d(width),
                           nn.ReLU(inplace=True)]
                cin = width
        side = grid // 2 ** pools
        layers += [nn.Flatten(), nn.Linear(width * side ** 3, 1)]
        self.net = nn.Sequential(*layers)


class SiteMLP(_Scaled):
    """One-hot site occupancies (B, features) -> barrier (B,): the paper's NN baseline, two
    hidden ReLU layers of 10 neurons."""

    def __init__(self, features: int, hidden=(10, 10), target_mean: float = 0.0, target_scale: float = 1.0):
        super().__init__(target_mean, target_scale)
        self.config = dict(kind="mlp", features=int(features), hidden=[int(h) for h in hidden])
        layers: list[nn.Module] = []
        cin = features
        for h in hidden:
            layers += [nn.Linear(cin, h), nn.ReLU()]
            cin = h
        layers.append(nn.Linear(cin, 1))
        self.net = nn.Sequential(*layers)


def build(config: dict, target_mean: float = 0.0, target_scale: float = 1.0) -> nn.Module:
    """A network from its ``config`` dict (the ``kind`` key picks the class)."""
    c = dict(config)
    kind = c.pop("kind")
    if kind == "cnn":
        return BarrierCNN(**c, target_mean=target_mean, target_scale=target_scale)
    if kind == "mlp":
        return SiteMLP(**c, target_mean=target_mean, target_scale=target_scale)
    raise InputError(f"network: unknown kind {kind!r} (cnn or mlp)")
