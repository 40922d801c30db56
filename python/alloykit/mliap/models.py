"""Pair potentials written in torch as ML-IAP unified models.

They prove the coupling against LAMMPS's built-in pair styles (``lj/cut``, ``morse``)
and are the template for descriptor-based models: the energy is written in torch and
the pair forces come from autograd, so forces are the exact gradient of the energy.
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import InputError
from ..structures.species import check_species
from .base import MLIAPUnified
from .store import register_model_class

# a pair cutoff beyond this is a typo (LAMMPS would build neighbour lists of the whole box)
MAX_RCUT = 100.0


def _pair_matrix(values, n: int, name: str) -> torch.Tensor:
    """A scalar or an n x n symmetric table of per-element-pair parameters."""
    try:
        t = torch.as_tensor(values, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise InputError(f"{name}: expected a number or a table of numbers, got {values!r:.60}") from None
    if not bool(torch.isfinite(t).all()):
        raise InputError(f"{name}: contains NaN or inf")
    if t.ndim == 0:
        t = t.expand(n, n).clone()
    if t.shape != (n, n) or not torch.allclose(t, t.T):
        raise InputError(f"{name}: expected a number or a symmetric {n}x{n} table, got shape {tuple(t.shape)}")
    return t


class TorchPairModel(MLIAPUnified):
    """E = sum over bonds of phi_{ab}(r) for r < rcut; subclasses define ``phi``."""

    params: tuple[str, ...] = ()
    positive: tuple[str, ...] = ()        # parameters that must be > 0 (lengths, stiffnesses)

    def __init__(self, element_types, rcut: float, device: str = "cpu", **tables):
        elements = check_species(element_types, "element_types")
        try:
            rcut = float(rcut)
        except (TypeError, ValueError):
            raise InputError(f"rcut: {rcut!r} is not a number") from None
        if not 0 < rcut <= MAX_RCUT:
            raise InputError(f"rcut: {rcut} A; need a cutoff above 0 and at most {MAX_RCUT:g} A")
        # no descriptors: LAMMPS still wants ndescriptors, nparams >= 1; cutoff = 2 * rcutfac
        super().__init__(None, elements, 1, 1, 0.5 * rcut)
        self.device = torch.device(device)
        n = len(self.element_types)
        for name in self.params:
            if name not in tables:
                raise InputError(f"{name}: missing")
            t = _pair_matrix(tables[name], n, name)
            if name in self.positive and not bool((t > 0).all()):
                raise InputError(f"{name}: must be > 0, got {t.min().item():g}")
            setattr(self, name, t.to(self.device))

    def phi(self, r: torch.Tensor, ei: torch.Tensor, ej: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def compute_forces(self, data):
        rij = torch.from_numpy(data.rij).to(self.device).requires_grad_(True)
        ei = torch.from_numpy(data.elems[data.pair_i].astype(np.int64)).to(self.device)
        ej = torch.from_numpy(data.jelems.astype(np.int64)).to(self.device)
        r = torch.linalg.vector_norm(rij, dim=1)
        eij = self.phi(r, ei, ej)
        # each bond appears once per direction and LAMMPS gives half of eij to atom i
        (fij,) = torch.autograd.grad(0.5 * eij.sum(), rij)
        data.update_pair_energy(eij.detach().cpu().numpy())
        data.update_pair_forces(fij.cpu().numpy())

    def to_dict(self):
        config = {"element_types": self.element_types, "rcut": 2.0 * self.rcutfac}
        return config, {name: getattr(self, name).cpu() for name in self.params}

    @classmethod
    def from_dict(cls, config, tensors):
        return cls(config["element_types"], rcut=config["rcut"], **tensors)


@register_model_class
class TorchLennardJones(TorchPairModel):
    """4 eps [(sigma/r)^12 - (sigma/r)^6], truncated at rcut as ``pair_style lj/cut``
    (``truncation="cut"``, unshifted) or force-shifted as ``lj/smooth/linear``
    (``truncation="linear"``: energy and force go to zero at rcut)."""

    params = ("epsilon", "sigma")
    positive = ("sigma",)

    def __init__(self, element_types, epsilon, sigma, rcut: float, truncation: str = "cut", device: str = "cpu"):
        if truncation not in ("cut", "linear"):
            raise InputError(f"truncation: expected 'cut' or 'linear', got {truncation!r}")
        self.truncation = truncation
        super().__init__(element_types, rcut, device, epsilon=epsilon, sigma=sigma)

    def _lj(self, r, eps, sig):
        sr6 = (sig / r) ** 6
        return 4.0 * eps * (sr6 * sr6 - sr6), 4.0 * eps * (-12.0 * sr6 * sr6 + 6.0 * sr6) / r

    def phi(self, r, ei, ej):
        eps, sig = self.epsilon[ei, ej], self.sigma[ei, ej]
        e, _ = self._lj(r, eps, sig)
        if self.truncation == "linear":
            rc = torch.full_like(r, 2.0 * self.rcutfac)
            ec, dec = self._lj(rc, eps, sig)
            e = e - ec - (r - rc) * dec
        return e

    def to_dict(self):
        config, tensors = super().to_dict()
        config["truncation"] = self.truncation
        return config, tensors

    @classmethod
    def from_dict(cls, config, tensors):
        return cls(config["element_types"], rcut=config["rcut"], truncation=config.get("truncation", "cut"), **tensors)


@register_model_class
class TorchMorse(TorchPairModel):
    """``pair_style morse`` (unshifted): D0 [exp(-2 a (r - r0)) - 2 exp(-a (r - r0))]."""

    params = ("d0", "alpha", "r0")
    positive = ("alpha", "r0")

    def __init__(self, element_types, d0, alpha, r0, rcut: float, device: str = "cpu"):
        super().__init__(element_types, rcut, device, d0=d0, alpha=alpha, r0=r0)

    def phi(self, r, ei, ej):
        x = torch.exp(-self.alpha[ei, ej] * (r - self.r0[ei, ej]))
        return self.d0[ei, ej] * (x * x - 2.0 * x)


class NullModel(MLIAPUnified):
    """Zero energy, no work: measures the bare cost of the coupling per call."""

    def __init__(self, element_types, rcut: float = 2.0):
        super().__init__(None, list(element_types), 1, 1, 0.5 * float(rcut))

    def compute_forces(self, data):
        pass
