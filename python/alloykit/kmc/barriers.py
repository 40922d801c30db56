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

import copy

import numpy as np

from ..errors import InputError
from .state import SiteLattice, Stencil


def _hop_frames(lat: SiteLattice) -> np.ndarray:
    """(z, 3, 3) rotations into the hop frame of each first-neighbour direction."""
    from ..sdm.frame import hop_rotation

    _, pts = lat.points(1.5 * lat.a)
    return np.stack([hop_rotation(h, pts, lattice=lat.kind) for h in lat.to_cartesian(lat.steps)])


def _frame_permutations(pos: np.ndarray, tol: float = 1e-4):
    """perm (z, K) with pos[d][k] == pos[0][perm[d][k]] for every hop frame d, or None
    where some frame's sites are not those of frame 0."""
    from scipy.spatial import cKDTree

    tree = cKDTree(pos[0])
    perms = []
    for p in pos:
        dist, j = tree.query(p)
        if dist.max() > tol or len(set(j.tolist())) != len(j):
            return None
        perms.append(j)
    return np.array(perms)


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

        from ..cnn.baselines import fit_linear, record_features
        from ..cnn.data import dataset_species
        from ..sdm.hopset import as_records

        records = as_records(records)
        species = dataset_species(records)
        X, perms, kind, a = record_features(records, n_shells, species=species)
        y = torch.tensor([r.barrier_forward for r in records], dtype=torch.float32)
        K, C = X.shape[1:]
        probes = torch.cat([torch.zeros(1, K, C), torch.eye(K * C).reshape(K * C, K, C)])
        predict = fit_linear(torch.cat([X, probes]), perms, torch.cat([y, torch.zeros(len(probes))]),
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
    at ideal positions (unrelaxed, as :meth:`BarrierModel.predict_structure`).

    Three things make a jump cheap without changing what is predicted:

    * **Site maps.** On a lattice every site sits at a fixed place in each hop frame, so the
      SDM is linear in the one-hot occupations: SDM[c] = sum_k [species_k = c] G_k, with G_k
      the site's Gaussians on the grid (computed once by :func:`alloykit.sdm.sdm_batch`
      itself). A jump's 8 or 12 maps are then one batched matrix product instead of
      thousands of Gaussians.
    * **A frozen network** (``freeze``): batch norm folded into the convolutions and the
      graph traced once (TorchScript), CPU only. Equal to the module to float rounding.
    * **Remembered environments** (``remember`` of them): a vacancy often jumps back and
      forth and revisits an occupation it has seen; the barriers of a seen environment
      (the species on every site within r_c) are returned as first predicted. The memory
      goes into KMC checkpoints, so a resumed run still continues bit for bit.

    ``average_symmetries`` averages over the hop's symmetries (exactly frame-independent, g
    times the cost; it takes the general SDM path).
    """

    def __init__(self, model, average_symmetries: bool = False, batch: int = 256, remember: int = 100_000,
                 freeze: bool = True):
        if int(remember) < 0:
            raise InputError(f"remember: {remember} must be >= 0")
        self.model, self.average_symmetries, self.batch = model, bool(average_symmetries), int(batch)
        self.remember, self.freeze = int(remember), bool(freeze)
        self.memory: dict[bytes, np.ndarray] = {}
        self.asked = self.predicted = 0

    def bind(self, lat, species):
        import torch

        from ..sdm.density import sdm_batch

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
        dev = self.model.device
        # By symmetry every hop frame holds the same sites, in another order: the map G[j] of
        # a lone atom on template site j (channel 0) serves all hops through perm[d][k] = j.
        self._perm = _frame_permutations(self._frame_pos.numpy())
        one = torch.zeros(len(cart), 1, dtype=torch.long, device=dev)
        site_sets = self._frame_pos[:1] if self._perm is not None else self._frame_pos   # else one per frame
        maps = torch.stack([sdm_batch(pos[:, None, :].to(dev), one, spec)[:, 0].reshape(len(cart), -1)
                            for pos in site_sets])
        maps_t = maps.transpose(-1, -2).contiguous()                                   # frames V K
        self._maps_t = maps_t[0] if self._perm is not None else maps_t
        self._network = self._frozen() if self.freeze else self.model.network.eval()
        self.memory.clear()

    def _frozen(self):
        """The network traced and frozen for CPU inference, or the module itself where that
        is not possible (a GPU model, or a TorchScript failure)."""
        import torch

        net = self.model.network.eval()
        if self.model.device.type != "cpu":
            return net
        spec = self.model.spec
        # channels-last (voxel-major) lets oneDNN vectorise over the filters: ~2x on the
        # CPU-sized network; a copy, so the model's own network is left as it was
        cl = torch.channels_last_3d
        example = torch.zeros(2, len(spec.species), spec.grid, spec.grid, spec.grid).contiguous(memory_format=cl)
        try:
            with torch.no_grad():
                return torch.jit.freeze(torch.jit.trace(copy.deepcopy(net).to(memory_format=cl), example,
                                                        check_trace=False))
        except Exception:          # noqa: BLE001 -- an optimisation only: fall back to the module
            return net

    def _predict(self, env) -> np.ndarray:
        """(H, z) barriers of H vacancy environments (H, K) of state species indices."""
        import torch

        from ..sdm.hopset import HopSet

        H, K = env.shape
        z, C, N = self.lattice.z, len(self.model.species), self.model.spec.grid
        chan = np.where(env >= 0, self.columns[np.maximum(env, 0)], -1)
        dev = self.model.device
        if self.average_symmetries:
            chan = np.repeat(chan, z, axis=0).astype(np.int8)
            pos = self._frame_pos.to(dev).repeat(H, 1, 1)
            hops = HopSet(self.model.spec, pos, torch.from_numpy(chan).to(dev), self._ops.to(dev))
            return self.model.predict_hops(hops, None, True, self.batch).astype(float).reshape(H, z)
        onehot = (chan[:, None, :] == np.arange(C)[None, :, None]).astype(np.float32)       # H C K
        out = []
        with torch.no_grad():
            step = max(1, self.batch // z)
            for lo in range(0, H, step):
                x = onehot[lo:lo + step]
                h = len(x)
                if self._perm is not None:       # site k of hop d is template site perm[d][k]
                    xp = np.zeros((K, h, z, C), np.float32)
                    for d, perm in enumerate(self._perm):
                        xp[perm, :, d, :] = x.transpose(2, 0, 1)
                    # one GEMM (V, K) @ (K, h z C), then voxel-major maps: the channels-last layout
                    sdm = (self._maps_t @ torch.from_numpy(xp).to(dev).reshape(K, -1)).reshape(-1, h * z, C)
                    sdm = sdm.transpose(0, 1).contiguous()                                   # h z, V, C
                else:
                    sdm = torch.matmul(self._maps_t, torch.from_numpy(x).to(dev).transpose(1, 2)[:, None])  # h z V C
                sdm = sdm.reshape(h * z, N, N, N, C).permute(0, 4, 1, 2, 3)
                out.append(self._network(sdm).float().cpu().reshape(h, z))
        return torch.cat(out).double().numpy()

    def __call__(self, occ, rep, site) -> np.ndarray:
        env = self.environment(occ, rep, site)[:, 0, :]       # the same K sites for every hop
        if not self.remember:
            return self._predict(env)
        env = np.ascontiguousarray(env, np.int16)
        keys = [row.tobytes() for row in env]
        new = {}
        for i, k in enumerate(keys):
            if k not in self.memory:
                new.setdefault(k, i)
        if len(self.memory) + len(new) > self.remember:      # full: start again with this call's
            self.memory.clear()
            new = {}
            for i, k in enumerate(keys):
                new.setdefault(k, i)
        if new:
            pick = np.fromiter(new.values(), np.int64, len(new))
            self.memory.update(zip(new, self._predict(env[pick])))
        self.asked, self.predicted = self.asked + len(keys), self.predicted + len(new)
        return np.stack([self.memory[k] for k in keys])

    def memory_arrays(self) -> dict:
        """The remembered environments and their barriers, for a checkpoint."""
        K = self.offsets.shape[1]
        keys = np.frombuffer(b"".join(self.memory), np.int16).reshape(-1, K)
        values = np.array(list(self.memory.values()), float).reshape(len(keys), self.lattice.z)
        return {"memory_keys": keys, "memory_values": values}

    def restore_memory(self, arrays: dict) -> None:
        keys, values = arrays["memory_keys"], arrays["memory_values"]
        self.memory = {k.astype(np.int16).tobytes(): v for k, v in zip(keys, values)}

    def describe(self) -> dict:
        return {"model": "cnn", "r_c": self.model.spec.r_c, "grid": self.model.spec.grid,
                "average_symmetries": self.average_symmetries, "remember": self.remember}
