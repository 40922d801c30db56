"""The GRS effective potential (Eq. 16): V = V_core + Q_GRS, an ML-IAP unified model.

Inside LAMMPS (``pair_style mliap/unified``) its energy is the loss and its forces are
the loss's exact gradient, so LAMMPS's minimisers and MD work on it unchanged. The same
object evaluates structures standalone (``energy_and_forces``), for Monte Carlo.

V_core is built in: A [1 + cos(pi r / r_core)] per bond shorter than r_core (LAMMPS's
``pair_style soft``), r_core = ``core_fraction`` x the shortest distance of that element
pair in the target (or x the sum of covalent radii if the pair never occurs there).
Under MPI the per-rank descriptor power sums are added over ``comm`` before the loss, and
the loss's gradient is sent back through each rank's own sums, so forces stay exact.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from ase.data import atomic_numbers, covalent_radii

from ..descriptors import Pairs
from ..mliap import MLIAPUnified
from ..mliap.store import register_model_class
from .loss import GRSLoss
from .target import Target


@register_model_class
class GRSPotential(MLIAPUnified):
    def __init__(self, target: Target, weights=(1.0, 1.0), core_strength: float = 1.0,
                 core_fraction: float = 0.9, comm=None, device: str = "cpu"):
        self.target = target
        self.ace = target.descriptor(device=device)
        self.loss = GRSLoss(target, weights, device=device)
        self.device = torch.device(device)
        cov = np.array([covalent_radii[atomic_numbers[e]] for e in self.ace.elements])
        fallback = 0.8 * (cov[:, None] + cov[None, :])
        dmin = np.where(np.isfinite(target.dmin), core_fraction * target.dmin, fallback)
        self.r_core = torch.tensor(np.minimum(dmin, dmin.T), dtype=torch.float64, device=self.device)
        self.core_strength = float(core_strength)
        self.weights, self.core_fraction = tuple(weights), float(core_fraction)
        self.comm = comm
        rmax = max(self.ace.rmax, float(self.r_core.max()))
        super().__init__(None, list(self.ace.elements), self.ace.ndescriptors, 1, 0.5 * rmax)
        self.ensemble_sums = None    # power sums of other structures (Eq. 14), if any

    # --- the energy -------------------------------------------------------------------
    def _core(self, pairs: Pairs) -> torch.Tensor:
        """Per-directed-pair core energy (each bond counted twice: halve when summing)."""
        rc = self.r_core[pairs.ielem[pairs.i], pairs.jelem]
        r = torch.linalg.vector_norm(pairs.rij, dim=1)
        x = torch.clamp(r / rc, max=1.0)
        return torch.where(r < rc, self.core_strength * (1.0 + torch.cos(math.pi * x)), torch.zeros_like(r))

    def _reduce(self, sums, counts):
        """Sums over MPI ranks (and the ensemble), as a leaf that gradients stop at, and
        this structure's atom count over the ranks (the ensemble's cells not included)."""
        s, c = sums.detach(), counts.detach()
        if self.comm is not None and self.comm.Get_size() > 1:
            from mpi4py import MPI

            buf = np.concatenate([s.cpu().numpy().ravel(), c.cpu().numpy()])
            self.comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
            s = torch.from_numpy(buf[:s.numel()].reshape(s.shape)).to(s)
            c = torch.from_numpy(buf[s.numel():]).to(c)
        own = c.sum()
        if self.ensemble_sums is not None:
            s, c = s + self.ensemble_sums[0].to(s), c + self.ensemble_sums[1].to(c)
        return s.requires_grad_(True), c, own

    def loss_and_core(self, pairs: Pairs):
        """Q, the core energy of each directed pair, the surrogate whose gradient is the
        force, and the structure's atom count over MPI ranks (each atom carries Q / count
        inside LAMMPS, so that the energy LAMMPS sums is Q, with or without an ensemble)."""
        b = self.ace.from_pairs(pairs)
        sums, counts = self.loss.sums(b, pairs.ielem)
        g_sums, g_counts, natoms = self._reduce(sums, counts)
        q = self.loss.from_sums(g_sums, g_counts)
        (dq,) = torch.autograd.grad(q, g_sums)
        core_pairs = self._core(pairs)
        # d(Q + core)/d(rij): Q through this rank's own sums, chained with dQ/dsums
        surrogate = (sums * dq).sum() + 0.5 * core_pairs.sum()
        return q.detach(), core_pairs.detach(), surrogate, natoms

    def energy_and_forces(self, atoms):
        """Standalone: (V_core + Q, forces (N, 3)) of an ase.Atoms."""
        pos = torch.tensor(atoms.positions, dtype=torch.float64, device=self.device, requires_grad=True)
        pairs = self.ace.pairs(atoms, pos)
        q, core_pairs, surrogate, _ = self.loss_and_core(pairs)
        (grad,) = torch.autograd.grad(surrogate, pos)
        return float(q + 0.5 * core_pairs.sum()), (-grad).cpu().numpy()

    def energy(self, atoms) -> float:
        pairs = self.ace.pairs(atoms)
        with torch.enable_grad():
            q, core_pairs, _, _ = self.loss_and_core(pairs)
        return float(q + 0.5 * core_pairs.sum())

    # --- inside LAMMPS ----------------------------------------------------------------
    def compute_forces(self, data):
        nloc = data.nlocal
        rij = torch.from_numpy(data.rij).to(self.device).requires_grad_(True)
        elems = torch.from_numpy(data.elems.astype(np.int64)).to(self.device)
        pairs = Pairs(rij=rij, i=torch.from_numpy(data.pair_i.astype(np.int64)).to(self.device),
                      jelem=torch.from_numpy(data.jelems.astype(np.int64)).to(self.device), ielem=elems[:nloc])
        q, core_pairs, surrogate, ntotal = self.loss_and_core(pairs)
        (fij,) = torch.autograd.grad(surrogate, rij)
        # the loss is shared equally by all atoms (it is not a sum of atomic terms)
        core_atom = torch.zeros(nloc, dtype=torch.float64, device=self.device).index_add(0, pairs.i, 0.5 * core_pairs)
        eatoms = (core_atom + q / float(ntotal)).cpu().numpy()
        data.eatoms = np.ascontiguousarray(eatoms[data.iatoms] if len(eatoms) else eatoms)
        data.energy = float(eatoms.sum())
        data.update_pair_forces(np.ascontiguousarray(fij.cpu().numpy()))

    # --- files ------------------------------------------------------------------------
    def to_dict(self):
        t = self.target
        config = {"target": {"descriptor": t.descriptor_config, "counts": t.counts.tolist(),
                             "scale": t.scale.tolist(), "natoms": t.natoms, "volume": t.volume,
                             "dmin": [[None if not np.isfinite(v) else float(v) for v in row] for row in t.dmin]},
                  "weights": list(self.weights), "core_strength": self.core_strength,
                  "core_fraction": self.core_fraction}
        return config, {"sums": torch.from_numpy(t.sums)}

    @classmethod
    def from_dict(cls, config, tensors):
        tc = config["target"]
        dmin = np.array([[np.inf if v is None else v for v in row] for row in tc["dmin"]], dtype=float)
        target = Target(tc["descriptor"], tensors["sums"].numpy(), np.array(tc["counts"]), np.array(tc["scale"]),
                        dmin, int(tc["natoms"]), float(tc.get("volume", 0.0)))
        comm = None
        try:    # under `mpirun lmp`: the model shares the loss over all ranks
            from mpi4py import MPI

            comm = MPI.COMM_WORLD if MPI.COMM_WORLD.Get_size() > 1 else None
        except ImportError:
            pass
        return cls(target, config["weights"], config["core_strength"], config["core_fraction"], comm=comm)
