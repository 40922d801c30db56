"""The barrier CNN served back to LAMMPS as a per-atom ML-IAP model.

:class:`BarrierAtomModel` wraps a trained :class:`~alloykit.cnn.predictor.BarrierModel` for
``compute ID group mliap/unified/atom MODEL El1 El2 ...`` (alloykit's plugin): for every atom
of the group, the predicted barriers (eV) of the first-neighbour hops into a vacancy made at
that atom's site -- 8 columns for BCC, 12 for FCC, the same numbers as
``BarrierModel.predict_structure`` on the same structure (unrelaxed environments).

Column k is always the hop along the k-th ideal first-neighbour vector of
:meth:`~alloykit.structures.Lattice.hop_vectors` (sorted by x, y, z in the crystal's cube
axes), so a column means the same hop on every atom, step and MPI rank. A hop whose target
site holds no atom (a vacancy next to the site) has no barrier: NaN.

How the movers are found from the pairs alone (no cell, no global lattice fit, so it works
on each MPI rank's atoms and their ghosts):

1. orientation and scale, once per call, from the rank's bonds: the ``nn`` nearest
   neighbours of every atom, matched to the ideal first-neighbour directions, a Kabsch
   rotation fitted to the matches (twice), and of the cubic group's equivalent rotations the
   one nearest the identity (a crystal along the box axes gets exactly the cube frame);
   ``a`` from the median matched bond length. Second-shell atoms that thermal noise brings
   among the nearest point along other directions and are left out of the fit.
2. per atom, the site is re-centred on its first shell (the mean offset of the atoms nearest
   the ideal hop vectors, which removes the atom's own thermal displacement), then the mover
   of hop k is the atom nearest the ideal site; farther than 0.4 first-neighbour distances
   means that site is vacant. So a mover is the atom *on* the neighbouring lattice site, not
   one of the nearest atoms: right under size mismatch and thermal noise, where a distance
   cutoff between the first and second BCC shells (15 % apart) fails.

The environment of a hop is every atom within the cutoff of the vacancy site (ghosts
included, sorted by distance then atom id, as :func:`~alloykit.structures.points_within`
sorts them), turned into :class:`~alloykit.structures.HopRecord`s and predicted by the very
code ``predict_structure`` uses.
"""
from __future__ import annotations

import itertools

import numpy as np

from ..mliap.base import MLIAPUnified
from ..structures import HopRecord, Lattice
from ..structures.lattice import NN_PER_A, OFF_SITE

ENV_MARGIN = 0.5     # A beyond the SDM's r_c, as predict_structure takes its environments


def _proper_cubic_group() -> np.ndarray:
    """The 24 rotations of the cube (signed permutation matrices with det +1)."""
    ops = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1, -1), repeat=3):
            g = np.zeros((3, 3))
            g[range(3), perm] = signs
            if np.linalg.det(g) > 0:
                ops.append(g)
    return np.stack(ops)


CUBIC = _proper_cubic_group()


def _kabsch(template: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Rotation R minimising sum |observed - template @ R.T|^2."""
    u, _, vt = np.linalg.svd(template.T @ observed)
    d = np.sign(np.linalg.det(u @ vt))
    return (u @ np.diag([1.0, 1.0, d]) @ vt).T


def fit_orientation(bonds: np.ndarray, lattice: str) -> tuple[np.ndarray, float]:
    """(R, a): the rotation taking the crystal's cube axes to the box frame (ideal vector v
    of the crystal is ``R @ v`` in the box) and the lattice parameter, from ``bonds`` (B, 3),
    mostly first-neighbour vectors. R is the cubic-group representative nearest the identity."""
    lat = Lattice(lattice, 1.0)
    t = lat.hop_vectors() / lat.d1                       # unit ideal directions
    u = bonds / np.linalg.norm(bonds, axis=1, keepdims=True)
    R = np.eye(3)
    if np.median((u @ t.T).max(1)) < 0.95:               # not along the box axes: a first guess
        R = _first_guess(u, t)
    for _ in range(2):
        cos = u @ (t @ R.T).T
        best, good = cos.argmax(1), cos.max(1) > 0.9
        if good.sum() < 3:
            raise ValueError(f"the atoms' nearest neighbours are not on a {lattice.upper()} lattice")
        R = _kabsch(t[best[good]], u[good])
    R = R @ CUBIC[np.argmax(np.einsum("ij,kji->k", R, CUBIC))]     # max trace(R g)
    cos = u @ (t @ R.T).T
    good = cos.max(1) > 0.9
    a = float(np.median(np.linalg.norm(bonds[good], axis=1))) / NN_PER_A[lat.name]
    return R, a


def _first_guess(u: np.ndarray, t: np.ndarray) -> np.ndarray:
    """A rotation mapping two ideal directions onto two observed bond directions at the same
    angle (the smallest angle between first-neighbour directions)."""
    c = t[0] @ t[1:].T
    k2 = 1 + int(np.argmax(np.where(c < 0.99, c, -2)))       # nearest other direction
    u1 = u[u @ u[0] > 0.95].mean(0)
    cand = np.flatnonzero(np.abs(u @ u1 / np.linalg.norm(u1) - c[k2 - 1]) < 0.08)
    if not len(cand):
        raise ValueError("cannot find the lattice orientation from the atoms' nearest neighbours")
    u2 = u[u @ u[cand[0]] > 0.95].mean(0)

    def triad(p, q):
        x = p / np.linalg.norm(p)
        z = np.cross(x, q)
        z /= np.linalg.norm(z)
        return np.stack([x, np.cross(z, x), z], 1)
    return triad(u1, u2) @ triad(t[0], t[k2]).T


def first_neighbour_movers(rij: np.ndarray, row: np.ndarray, n_rows: int, lattice: str,
                           R: np.ndarray | None = None, a: float | None = None) -> np.ndarray:
    """(n_rows, nn) index of the pair whose atom sits on the k-th first-neighbour site of each
    row's atom, -1 where that site is vacant (see module doc). rij: (P, 3) pair vectors,
    row: (P,) owner row of each pair, sorted. R, a: from :func:`fit_orientation` (default:
    fitted here)."""
    nn = Lattice(lattice, 1.0).nn
    movers = np.full((n_rows, nn), -1, dtype=np.int64)
    if not len(rij):
        return movers
    r = np.linalg.norm(rij, axis=1)
    if R is None or a is None:
        order = np.lexsort((r, row))
        starts = np.searchsorted(row[order], np.arange(n_rows))
        rank = np.arange(len(order)) - starts[row[order]]
        R, a = fit_orientation(rij[order[rank < nn]], lattice)
    lat = Lattice(lattice, a)
    ideal = lat.hop_vectors() @ R.T
    near = np.flatnonzero(r < 1.5 * lat.d1)
    centre = np.zeros((n_rows, 3))
    for _ in range(2):      # the second pass with each site re-centred on its first shell
        best = np.full((n_rows, nn), -1, dtype=np.int64)
        dist = np.full((n_rows, nn), np.inf)
        for k, h in enumerate(ideal):
            d = np.linalg.norm(rij[near] - centre[row[near]] - h, axis=1)
            order = np.lexsort((d, row[near]))
            rows, first = np.unique(row[near][order], return_index=True)
            best[rows, k] = near[order[first]]
            dist[rows, k] = d[order[first]]
        ok = dist < OFF_SITE * lat.d1
        movers = np.where(ok, best, -1)
        offset = np.where(ok[..., None], rij[np.maximum(movers, 0)] - ideal[None], 0.0)
        centre = offset.sum(1) / np.maximum(ok.sum(1), 1)[:, None]
    return movers


class BarrierAtomModel(MLIAPUnified):
    """A :class:`~alloykit.cnn.predictor.BarrierModel` as a per-atom ML-IAP model (module doc).

    Save it with :func:`alloykit.mliap.save_model` and use the file in an input script::

        compute bar all mliap/unified/atom barriers.akm Fe Cr
        comm_modify cutoff 9.0        # the model's cutoff + skin, if the potential's is shorter
        dump 1 all custom 1000 bar.dump id type x y z c_bar[*]
    """

    def __init__(self, model):
        self.model = model.to("cpu")
        self.cutoff = float(model.spec.r_c) + ENV_MARGIN
        super().__init__(None, list(model.species), 1, 1, self.cutoff / 2.0)
        self.n_outputs = Lattice(model.lattice, 1.0).nn

    def hop_directions(self) -> np.ndarray:
        """(nn, 3) unit ideal hop vector of each output column, crystal cube axes."""
        lat = Lattice(self.model.lattice, 1.0)
        return lat.hop_vectors() / lat.d1

    def compute_forces(self, data):
        raise TypeError("BarrierAtomModel predicts barriers, it is not a potential: use it with "
                        "compute mliap/unified/atom, not pair_style mliap/unified")

    def compute_peratom(self, data):
        row_of = np.full(data.ntotal, -1, dtype=np.int64)
        row_of[data.iatoms] = np.arange(data.nlistatoms)
        row = row_of[data.pair_i]
        data.peratom = self.barriers(data.rij, row, data.jtags, data.jelems, data.nlistatoms, data.itags)

    def barriers(self, rij, row, jtags, jelems, n_rows: int, itags=None) -> np.ndarray:
        """(n_rows, nn) barriers from the pairs of ``n_rows`` atoms (NaN: no atom to hop)."""
        out = np.full((n_rows, self.n_outputs), np.nan)
        if n_rows == 0:
            return out
        rij, row, jtags = np.asarray(rij, float), np.asarray(row), np.asarray(jtags)
        movers = first_neighbour_movers(rij, row, n_rows, self.model.lattice)
        r = np.linalg.norm(rij, axis=1)
        order = np.lexsort((jtags, np.round(r, 10), row))       # per row: distance, then id
        bounds = np.searchsorted(row[order], np.arange(n_rows + 1))
        species = np.asarray(self.element_types, dtype=object)
        itags = np.arange(n_rows) + 1 if itags is None else np.asarray(itags)
        records, where = [], []
        for i in range(n_rows):
            env = order[bounds[i]:bounds[i + 1]]
            D, names = rij[env], species[jelems[env]].tolist()
            for k, p in enumerate(movers[i]):
                if p < 0:
                    continue
                records.append(HopRecord(vacancy_site=int(itags[i]) - 1, neighbor_site=int(jtags[p]) - 1,
                                         moving_species=str(species[jelems[p]]), hop_vector=rij[p],
                                         env_positions=D, env_species=names, env_cutoff=self.cutoff,
                                         lattice=self.model.lattice))
                where.append((i, k))
        if records:
            pred = self.model.predict_records(records)
            rows, cols = np.array(where).T
            out[rows, cols] = pred
        return out

    def to_dict(self):
        return self.model.to_dict()

    @classmethod
    def from_dict(cls, config, tensors):
        from .predictor import BarrierModel

        return cls(BarrierModel.from_dict(config, tensors))


def load_atom_model(path) -> BarrierAtomModel:
    """A per-atom barrier model from a CNN model folder or a model file (InputError if neither)."""
    from pathlib import Path

    from ..errors import InputError
    from ..mliap.coupling import check_peratom_model
    from ..mliap.store import load_model
    from .io import load

    path = Path(path)
    if path.is_dir():
        return BarrierAtomModel(load(path))
    try:
        model = load_model(path)
        check_peratom_model(model)
    except (OSError, ValueError, TypeError) as e:
        raise InputError(f"barrier_model: {e}") from None
    return model


def save_lammps_model(model, path):
    """Write a BarrierModel (or a saved CNN model folder) as a model file for
    ``compute mliap/unified/atom``; returns the path."""
    from ..mliap import save_model
    from .io import load

    if not hasattr(model, "predict_records"):
        model = load(model)
    return save_model(BarrierAtomModel(model), path)
