"""The residence-time (BKL) loop over vacancy hops, with a cache of barriers.

Bortz, Kalos & Lebowitz, J. Comput. Phys. 17, 10 (1975); Young & Elcock, Proc. Phys. Soc.
89, 735 (1966). Each step, in every replica: the rates Gamma_h = nu exp(-E_h / k_B T) of
all hops h of all vacancies (zero into a vacant site) sum to Gamma_tot; hop h is chosen
with probability Gamma_h / Gamma_tot (one uniform number u1) and the clock advances by
-ln(u2) / Gamma_tot (a second one).

The barriers E (R, V, z) are cached. After a jump from site s to site t only hops whose
barrier can have changed are re-predicted: all z hops of the vacancy that moved, and those
of other vacancies with s or t within the model's ``reach`` (or within one hop, where the
rate's "target occupied" factor may change). Predictions of every replica's refreshed hops
go to the model in one batch.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from .state import KmcState, Stencil

K_B = 8.617333262e-5     # Boltzmann constant, eV/K


class Kmc:
    """BKL kinetic Monte Carlo of ``state`` with barrier model ``model`` (see barriers.py)."""

    def __init__(self, state: KmcState, model, temperature: float, nu: float = 1e13, seed: int = 0,
                 barrier: np.ndarray | None = None, rng_state: dict | None = None):
        if not temperature > 0 or not nu > 0:
            raise InputError(f"temperature and nu must be > 0, got {temperature} K and {nu} Hz")
        self.state, self.model = state, model
        self.temperature, self.nu = float(temperature), float(nu)
        self.beta = 1.0 / (K_B * self.temperature)
        model.bind(state.lattice, state.species)
        lat = state.lattice
        self.z, self.steps = lat.z, lat.steps
        self.rng = np.random.default_rng(seed)
        if rng_state is not None:
            self.rng.bit_generator.state = rng_state
        R, V = state.vac_site.shape
        self.barrier = np.zeros((R, V, self.z))
        self.rate = np.zeros((R, V, self.z))
        self.target = np.zeros((R, V, self.z), np.int64)
        self.predictions = 0
        self._hop = Stencil(lat, self.steps)
        rep, vac = np.divmod(np.arange(R * V), V)
        if barrier is None:
            self._refresh(rep, vac)
        else:       # from a checkpoint: cached barriers as they were (bit-identical resume)
            self.barrier[:] = barrier
            self._targets(rep, vac)
        self._near = max(getattr(model, "reach", 0.0), lat.d1) + 1e-6
        self._r = np.arange(R)
        self._site1 = np.zeros(1, np.int64)

    def _targets(self, rep, vac) -> None:
        """Hop targets and rates of vacancies (rep[i], vac[i]) from their cached barriers."""
        target = self._hop.at(self.state.vac_site[rep, vac])
        self.target[rep, vac] = target
        open_ = self.state.occ[rep[:, None], target] >= 0
        self.rate[rep, vac] = self.nu * np.exp(-self.beta * self.barrier[rep, vac]) * open_

    def _refresh(self, rep, vac) -> None:
        """Re-predict every hop of vacancies (rep[i], vac[i])."""
        site = self.state.vac_site[rep, vac]
        self.barrier[rep, vac] = self.model(self.state.occ, rep, site)
        self.predictions += len(site) * self.z
        self._targets(rep, vac)

    def _step_one(self) -> None:
        """:meth:`step` for one replica with one vacancy, in scalars where numpy's per-call
        cost would dominate."""
        st, z = self.state, self.z
        rate = self.rate[0, 0]
        cum = np.cumsum(rate)
        total = cum[-1]
        if not total > 0:
            raise InputError("kmc: the vacancy has no possible hop")
        u = 1.0 - self.rng.random(2)
        k = min(int(np.searchsorted(cum, u[0] * total)), z - 1)
        st.time[0] += -np.log(u[1]) / total
        s, t = int(st.vac_site[0, 0]), int(self.target[0, 0, k])
        occ, at = st.occ[0], st.atom_at[0]
        atom = int(at[t])
        occ[s], occ[t] = occ[t], -1
        at[s], at[t] = atom, -1
        step = self.steps[k]
        st.atom_disp[0, atom] -= step
        st.atom_jumps[0, atom] += 1
        st.vac_site[0, 0] = t
        st.vac_disp[0, 0] += step
        st.steps_done += 1
        self._site1[0] = t
        e = self.model(st.occ, self._r, self._site1)[0]
        self.barrier[0, 0] = e
        self.predictions += z
        target = self._hop.at_one(t)
        self.target[0, 0] = target
        self.rate[0, 0] = self.nu * np.exp(-self.beta * e) * (occ[target] >= 0)

    def step(self) -> None:
        """One event in every replica."""
        st, R, z = self.state, self.state.replicas, self.z
        if R == 1 and st.n_vacancies == 1:
            return self._step_one()
        r = self._r
        flat = self.rate.reshape(R, -1)
        cum = np.cumsum(flat, axis=1)
        total = cum[:, -1]
        if not np.all(total > 0):
            raise InputError("kmc: a replica has no possible hop (every vacancy surrounded by vacancies?)")
        u = 1.0 - self.rng.random((R, 2))          # in (0, 1]
        pick = np.minimum((cum < (u[:, 0] * total)[:, None]).sum(1), flat.shape[1] - 1)
        v, k = np.divmod(pick, z)
        st.time += -np.log(u[:, 1]) / total
        s, t = st.vac_site[r, v], self.target[r, v, k]
        atom = st.atom_at[r, t]
        st.occ[r, s], st.occ[r, t] = st.occ[r, t], -1
        st.atom_at[r, s], st.atom_at[r, t] = atom, -1
        step = self.steps[k]
        st.atom_disp[r, atom] -= step               # the atom goes t -> s, against the hop step
        st.atom_jumps[r, atom] += 1
        st.vac_site[r, v] = t
        st.vac_disp[r, v] += step
        st.steps_done += 1
        if st.n_vacancies == 1:
            self._refresh(r, v)
            return
        # other vacancies whose environment holds s or t: their hops, too
        lat = st.lattice
        nv = lat.coords(st.vac_site)                                      # R V 3
        near = np.zeros(st.vac_site.shape, bool)
        for changed in (s, t):
            d = lat.minimum_image(lat.to_cartesian(nv - lat.coords(changed)[:, None, :]))
            near |= np.linalg.norm(d, axis=-1) <= self._near
        near[r, v] = True
        rep, vac = np.nonzero(near)
        self._refresh(rep, vac)

    def run(self, n: int, callback=None, every: int = 0) -> None:
        """``n`` steps; ``callback(self)`` after every ``every`` steps (counted from step 0)."""
        for _ in range(int(n)):
            self.step()
            if callback is not None and every and self.state.steps_done % every == 0:
                callback(self)
