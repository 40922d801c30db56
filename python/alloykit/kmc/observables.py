"""What a KMC run measures, from the unwrapped integer displacements of the state.

Definitions (replicas pooled; R_i the displacement of atom or vacancy i, t the mean
simulated time of the replicas, d1 the first-neighbour distance):

* mean-square displacements <R^2> of the vacancies and, per species, of every atom of that
  species (tracer MSD, atoms that never moved included);
* diffusion coefficients D = <R^2> / (6 t) (Einstein relation in 3D);
* tracer correlation factor f = sum_i R_i^2 / (d1^2 sum_i n_i), n_i the jumps of atom i:
  the ratio of the tracer MSD to that of uncorrelated jumps of the same number and length
  (Bardeen & Herring 1951; Manning, *Diffusion Kinetics for Atoms in Crystals*, 1968;
  Allnatt & Lidiard, *Atomic Transport in Solids*, 1993, ch. 8). For a single vacancy in a
  pure lattice f = 0.7272 (BCC) and 0.7815 (FCC) (Compaan & Haven 1956; Montet 1973);
* Warren-Cowley alpha per lattice shell and species pair, through
  :func:`alloykit.csro.sro.order_parameters` (vacant sites left out).
"""
from __future__ import annotations

import numpy as np

from .state import KmcState


def _sq(lat, disp) -> np.ndarray:
    return (lat.to_cartesian(disp) ** 2).sum(-1)


def transport(state: KmcState, atom_kind: np.ndarray) -> dict:
    """MSDs (A^2), D (cm^2/s) and f per species; ``atom_kind`` (R, A) species of each atom."""
    lat = state.lattice
    t = float(state.time.mean())
    to_cm2_s = 1e-16 / (6.0 * t) if t > 0 else float("nan")
    msd_v = float(_sq(lat, state.vac_disp).mean())
    out = {"step": int(state.steps_done), "time": t, "msd_vacancy": msd_v, "D_vacancy": msd_v * to_cm2_s,
           "msd": {}, "D": {}, "f": {}}
    r2 = _sq(lat, state.atom_disp)
    for k, s in enumerate(state.species):
        mine = atom_kind == k
        if not mine.any():
            continue
        msd = float(r2[mine].mean())
        jumps = int(state.atom_jumps[mine].sum())
        out["msd"][s] = msd
        out["D"][s] = msd * to_cm2_s
        out["f"][s] = float(r2[mine].sum() / (jumps * lat.d1 ** 2)) if jumps else None
    return out


def shell_steps(lat, n_shells: int = 2) -> list[np.ndarray]:
    """Integer steps of the first ``n_shells`` (1-3) lattice shells, one of each +/- pair."""
    n, cart = lat.points(lat.a * 1.45)      # holds three shells of BCC and of FCC
    r = np.round(np.linalg.norm(cart, axis=1) / lat.a, 4)
    out = []
    for radius in np.unique(r)[:n_shells]:
        shell = n[r == radius]
        keep = [i for i, v in enumerate(shell.tolist()) if tuple(v) > tuple(-x for x in v)]
        out.append(shell[keep])
    return out


def warren_cowley(state: KmcState, shells: list[np.ndarray], by_replica: bool = False) -> dict:
    """alpha_ab per shell, pooled over replicas: {"A-B": [alpha shell 1, ...]}; with
    ``by_replica`` one such list per replica ({"A-B": [[shell 1, ...] of replica 0, ...]}),
    for the spread between independent runs."""
    from ..csro.sro import order_parameters

    lat, S = state.lattice, len(state.species)
    occ = state.occ
    coords = lat.coords(np.arange(lat.n_sites))
    groups = [slice(r, r + 1) for r in range(state.replicas)] if by_replica else [slice(None)]
    out = []
    for g in groups:
        counts = np.zeros((len(shells), S, S), np.int64)
        for k, half in enumerate(shells):
            for step in half:
                nb = occ[g, lat.index(coords + step)]
                mine = occ[g]
                both = (mine >= 0) & (nb >= 0)
                c = np.bincount(mine[both].astype(np.int64) * S + nb[both], minlength=S * S).reshape(S, S)
                counts[k] += c + c.T             # both directions of each pair
        types = occ[g][occ[g] >= 0].astype(np.int64)
        _, _, alpha, _ = order_parameters(counts, types, S)
        out.append({f"{a}-{b}": [None if not np.isfinite(x) else float(x) for x in alpha[:, i, j]]
                    for i, a in enumerate(state.species) for j, b in enumerate(state.species)})
    if not by_replica:
        return out[0]
    return {pair: [o[pair] for o in out] for pair in out[0]}
