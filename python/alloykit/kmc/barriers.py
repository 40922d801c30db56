"""Barrier models for KMC: the z hops of a vacancy -> their migration barriers (eV).

A model is called as ``model(occ, rep, site) -> (P, z)``: occ (R, N) species on the sites
of every replica, and P vacancies (replica ``rep[i]``, site ``site[i]``); column k is the
hop along the lattice's k-th first-neighbour step.

Every model reads the species on lattice sites around the vacancy through integer steps
(:class:`~alloykit.kmc.state.SiteLattice`), so nothing is searched by distance during a
run. ``reach`` (A) is how far from the vacancy a model looks: after a jump, hops of other
vacancies are re-predicted only if one of the two changed sites lies within it.

* :class:`ConstantBarrier` -- one barrier for every hop (the analytic checks);
* :class:`FunctionBarrier` -- a user function of the mover and the sites within ``reach``;
* :class:`LinearBarrier` -- the paper's LR baseline (one-hot site occupancies in the hop
  frame, :func:`alloykit.cnn.baselines.fit_linear`), evaluated as a table lookup;
* :class:`SiteNetBarrier` -- the paper's NN baseline (:func:`alloykit.cnn.baselines.fit_mlp`);
* :class:`CNNBarrier` -- a trained :class:`alloykit.cnn.BarrierModel` on spatial density maps.

Hop frame: for each of the z hop directions one rotation into the hop frame is fixed from
the ideal lattice (:func:`alloykit.sdm.hop_rotation` without the chemical tie-break). The
frames the tie-break could pick differ from it by a symmetry that fixes the hop, under which
the LR baseline is exactly invariant (least squares on every symmetry copy) and the NN and
CNN nearly so (trained with those symmetries as augmentation; ``average_symmetries`` makes
the CNN exactly invariant, at g times the cost).
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from .state import SiteLattice, Stencil


def _hop_frames(lat: SiteLattice) -> np.ndarray:
    """(z, 3, 3) rotations into the hop frame of each first-neighbour direction."""
    from ..sdm.frame import hop_rotation

    _, pts = lat.points(1.5 * lat.a)
    return np.stack([hop_rotation(h, pts, lattice=lat.kind) for h in lat.to_cartesian(lat.steps)])


def _columns(model_species, state_species) -> np.ndarray:
    """Column of each state species in the model's species list."""
    missing = sorted(set(state_species) - set(model_species))
    if missing:
        raise InputError(f"barrier model: knows species {list(model_species)}, the structure also has {missing}")
    return np.array([list(model_species).index(s) for s in state_species], np.int64)


class SiteBarrier:
    """Base of models that read the species on a fixed list of sites per hop direction:
    ``offsets`` (z, K, 3), the integer steps from the vacancy to the K sites, in the
    model's order, for each direction (set by :meth:`bind`)."""

    reach = 0.0
    offsets: np.ndarray = None

    def bind(self, lat: SiteLattice, species) -> None:
        self.lattice, self.species = lat, list(species)

    def _stencil(self, offsets) -> None:
        self.offsets = np.asarray(offsets, np.int32)
        self.stencil = Stencil(self.lattice, self.offsets)

    def environment(self, occ: np.ndarray, rep, site) -> np.ndarray:
        """(P, z, K) species on the K sites of each hop (-1 vacancy)."""
        return occ[np.asarray(rep).reshape(-1, 1, 1), self.stencil.at(site)]

    def describe(self) -> dict:
        return {"model": type(self).__name__}


class ConstantBarrier(SiteBarrier):
    def __init__(self, barrier: float):
        self.barrier = float(barrier)

    def __call__(self, occ, rep, site) -> np.ndarray:
        return np.full((len(site), self.lattice.z), self.barrier)

    def describe(self) -> dict:
        return {"model": "constant", "barrier": self.barrier}


class FunctionBarrier(SiteBarrier):
    """``fn(mover, env, positions, hop) -> barriers`` for H hops: mover (H,) species index
    of the moving atom, env (H, K) species on every site within ``reach`` of the vacancy (-1
    vacant; the mover's own site included when reach >= d1), positions (H, K, 3) their
    Cartesian vectors from the vacancy and hop (H, 3) the hop vector, vacancy -> mover (A).
    Species indices refer to the state's species list."""

    def __init__(self, fn, reach: float = 0.0, name: str = "function"):
        self.fn, self.reach, self.name = fn, float(reach), name

    def bind(self, lat, species):
        super().bind(lat, species)
        n, cart = lat.points(self.reach) if self.reach > 0 else (np.zeros((0, 3), np.int32), np.zeros((0, 3)))
        self._stencil(np.concatenate([lat.steps[:, None, :], np.broadcast_to(n, (lat.z,) + n.shape)], axis=1))
        self._cart, self._hops = cart, lat.to_cartesian(lat.steps)

    def __call__(self, occ, rep, site) -> np.ndarray:
        env = self.environment(occ, rep, site)             # P z 1+K: the mover first
        P, z, K = env.shape
        pos = np.broadcast_to(self._cart, (P * z,) + self._cart.shape)
        hop = np.tile(self._hops, (P, 1))
        out = self.fn(env[..., 0].reshape(-1), env[..., 1:].reshape(P * z, K - 1), pos, hop)
        return np.asarray(out, float).reshape(P, z)

    def describe(self) -> dict:
        return {"model": self.name, "reach": self.reach}


class _TemplateBarrier(SiteBarrier):
    """Sites of :func:`alloykit.sdm.hop_template` (the baselines' one-hot sites)."""

    def __init__(self, species, lattice: str, a: float, n_shells: int):
        self.model_species, self.kind, self.a, self.n_shells = list(species), lattice, float(a), int(n_shells)

    def bind(self, lat, species):
        from ..sdm.frame import hop_template
        from ..sdm.shells import cutoff_for_shells

        super().bind(lat, species)
        if lat.kind != self.kind:
            raise InputError(f"barrier model: trained on {self.kind.upper()}, the structure is {lat.kind.upper()}")
        self.reach = cutoff_for_shells(lat.kind, lat.a, self.n_shells)
        template = hop_template(self.kind, self.a, cutoff_for_shells(self.kind, self.a, self.n_shells))
        template = template * (lat.a / self.a)
        offs = []
        for R in _hop_frames(lat):
            nf = (template @ R) @ lat.inv_basis
            n = np.rint(nf)
            if np.abs(nf - n).max() > 0.05:
                raise InputError("barrier model: its template sites are not lattice sites of the structure")
            offs.append(n)
        self._stencil(np.stack(offs))
        self.columns = _columns(self.model_species, species)


class LinearBarrier(_TemplateBarrier):
    """E = bias + sum_k w[k, species on site k]: the LR baseline as a table lookup."""

    def __init__(self, weights, bias: float, species, lattice: str, a: float, n_shells: int):
        super().__init__(species, lattice, a, n_shells)
        self.weights, self.bias = np.asarray(weights, float), float(bias)

    @classmethod
    def fit(cls, records, n_shells: int = 3, ridge: float = 1e-6) -> "LinearBarrier":
        """Least squares on HopRecords (e.g. an NEB dataset), exactly as the paper's LR
        baseline (:func:`alloykit.cnn.baselines.fit_linear`); its weights are read back
        by predicting probe rows (zero, then each single one-hot)."""
        import torch

        from ..cnn.baselines import fit_linear, site_features
        from ..cnn.data import dataset_species
        from ..sdm import HopSet, describe_lattice, lattice_symmetries, sdm_spec

        species = dataset_species(records)
        kind, a = describe_lattice(records)
        spec = sdm_spec(species, kind, a, n_shells)
        hops = HopSet.from_records(records, spec, lattice_symmetries(kind, a, spec.r_c), lattice=kind)
        X, perms = site_features(hops, kind, a, n_shells)
        K, C = X.shape[1:]
        probes = torch.cat([torch.zeros(1, K, C), torch.eye(K * C).reshape(K * C, K, C)])
        predict = fit_linear(torch.cat([X, probes]), perms, torch.cat([hops.targets, torch.zeros(len(probes))]),
                             np.arange(len(X)), ridge)
        p = predict(np.arange(len(X), len(X) + len(probes)))
        return cls((p[1:] - p[0]).reshape(K, C), float(p[0]), species, kind, a, n_shells)

    def bind(self, lat, species):
        super().bind(lat, species)
        # one column per state species plus a zero column last, which species -1 selects
        self.table = np.concatenate([self.weights[:, self.columns], np.zeros((len(self.weights), 1))], axis=1)
        self._row = np.arange(len(self.table)) * self.table.shape[1]
        self._flat = self.table.ravel()

    def __call__(self, occ, rep, site) -> np.ndarray:
        env = self.environment(occ, rep, site)
        # s mod (C + 1) sends species -1 (vacant) to the zero column C
        return self.bias + self._flat[self._row + env % self.table.shape[1]].sum(-1)

    def describe(self) -> dict:
        return {"model": "linear", "n_shells": self.n_shells, "sites": int(len(self.weights))}


class SiteNetBarrier(_TemplateBarrier):
    """The NN baseline: a :class:`alloykit.cnn.SiteMLP` (e.g. ``fit_mlp(...)[1].model``) on
    the flattened (K, C) one-hots. ``average_symmetries`` averages it over the site
    permutations of the symmetries that fix the hop (exactly frame-independent)."""

    def __init__(self, network, species, lattice: str, a: float, n_shells: int, average_symmetries: bool = False):
        super().__init__(species, lattice, a, n_shells)
        self.network, self.average_symmetries = network.eval(), bool(average_symmetries)

    def bind(self, lat, species):
        from ..sdm.frame import hop_symmetries, hop_template, site_permutations
        from ..sdm.shells import cutoff_for_shells

        super().bind(lat, species)
        template = hop_template(self.kind, self.a, cutoff_for_shells(self.kind, self.a, self.n_shells))
        self.perms = site_permutations(template, hop_symmetries(template)) if self.average_symmetries \
            else np.arange(len(template))[None]

    def __call__(self, occ, rep, site) -> np.ndarray:
        import torch

        env = self.environment(occ, rep, site).reshape(-1, self.offsets.shape[1])
        x = np.zeros(env.shape + (len(self.model_species),), np.float32)
        h, k = np.nonzero(env >= 0)
        x[h, k, self.columns[env[h, k]]] = 1.0
        with torch.no_grad():
            out = [self.network(torch.from_numpy(x[:, p].reshape(len(x), -1))).double().numpy() for p in self.perms]
        return np.mean(out, axis=0).reshape(len(site), self.lattice.z)

    def describe(self) -> dict:
        return {"model": "mlp", "n_shells": self.n_shells, "average_symmetries": self.average_symmetries}


class CNNBarrier(SiteBarrier):
    """A trained :class:`alloykit.cnn.BarrierModel`: the SDM of every site within its r_c,
    at ideal positions (unrelaxed, as :meth:`BarrierModel.predict_structure`)."""

    def __init__(self, model, average_symmetries: bool = False, batch: int = 256):
        self.model, self.average_symmetries, self.batch = model, bool(average_symmetries), int(batch)

    def bind(self, lat, species):
        import torch

        super().bind(lat, species)
        if lat.kind != self.model.lattice:
            raise InputError(f"barrier model: trained on {self.model.lattice.upper()}, "
                             f"the structure is {lat.kind.upper()}")
        spec = self.model.spec
        self.reach = spec.r_c
        n, cart = lat.points(spec.r_c - 1e-6)
        frames = _hop_frames(lat)
        self._stencil(np.broadcast_to(n, (lat.z,) + n.shape))
        self._frame_pos = torch.from_numpy(np.stack([cart @ R.T for R in frames]).astype(np.float32))
        self._ops = torch.as_tensor(self.model.symmetries(), dtype=torch.float32)
        self.columns = _columns(self.model.species, species)

    def __call__(self, occ, rep, site) -> np.ndarray:
        import torch

        from ..sdm.hopset import HopSet

        env = self.environment(occ, rep, site)
        P, z, K = env.shape
        chan = np.where(env >= 0, self.columns[np.maximum(env, 0)], -1).astype(np.int8).reshape(P * z, K)
        dev = self.model.device
        pos = self._frame_pos.to(dev).repeat(P, 1, 1)
        hops = HopSet(self.model.spec, pos, torch.from_numpy(chan).to(dev), self._ops.to(dev))
        return self.model.predict_hops(hops, None, self.average_symmetries, self.batch).astype(float).reshape(P, z)

    def describe(self) -> dict:
        return {"model": "cnn", "r_c": self.model.spec.r_c, "grid": self.model.spec.grid,
                "average_symmetries": self.average_symmetries}
