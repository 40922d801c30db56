"""The paper's baselines (Fig. 2a): linear regression (LR) and a fully connected network (NN)
on one-hot site occupancies in the hop-aligned frame.

Each hop's environment, already in the hop frame (a :class:`~alloykit.sdm.HopSet`), is
matched to the ideal lattice sites of the first ``n_shells`` g(r) peaks (the template of
:func:`~alloykit.sdm.hop_template`, in a fixed order); a site holds a one-hot of its species,
or zeros if no atom is within 0.3 d1 of it. Features are the flattened (sites x species)
matrix, as in the paper. The hop frame is fixed only up to the symmetries that fix the hop
(see :mod:`alloykit.sdm.frame`), so both baselines are trained on all symmetry-permuted
copies (LR: every copy; NN: a random one per sample and epoch, like the CNN).
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import InputError
from ..sdm.frame import hop_template, site_permutations
from ..sdm.hopset import HopSet, as_records, describe_lattice, lattice_symmetries
from ..sdm.shells import cutoff_for_shells, sdm_spec
from .model import SiteMLP
from .train import TrainConfig, fit, predict


def site_features(hops: HopSet, lattice: str, a: float, n_shells: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(R, K, C) one-hot occupancies of the K template sites and the (g, K) site
    permutations of the hop's symmetries. ``hops`` must reach the n_shells cutoff."""
    r_c = cutoff_for_shells(lattice, a, n_shells)
    if r_c > hops.spec.r_c + 1e-6:
        raise InputError(f"hop set cut at {hops.spec.r_c:.2f} A, below the {n_shells}-shell cutoff {r_c:.2f} A")
    from scipy.spatial import cKDTree

    template = hop_template(lattice, a, r_c)
    d1 = float(np.linalg.norm(template[0]))
    tree = cKDTree(template)
    pos = hops.positions.cpu().numpy().reshape(-1, 3)
    spc = hops.species.cpu().numpy().reshape(-1).astype(np.int64)
    dist, site = tree.query(pos, distance_upper_bound=0.3 * d1)
    ok = (spc >= 0) & np.isfinite(dist)
    R, M = hops.species.shape
    rows = np.repeat(np.arange(R), M)[ok]
    X = np.zeros((R, len(template), len(hops.spec.species)), np.float32)
    X[rows, site[ok], spc[ok]] = 1.0
    perms = site_permutations(template, hops.ops.cpu().numpy())
    return torch.from_numpy(X), torch.from_numpy(perms)


def record_features(records, n_shells: int, lattice: str | None = None, a: float | None = None, species=None):
    """:func:`site_features` straight from HopRecords (their barriers are not needed):
    (X, perms, lattice, a). lattice, a: default :func:`describe_lattice` of the records;
    species: the channels (default: every species in the records, sorted)."""
    from .data import dataset_species

    records = as_records(records)
    species = sorted(species or dataset_species(records))
    if lattice is None or a is None:
        lattice, a = describe_lattice(records)
    spec = sdm_spec(species, lattice, a, n_shells)
    hops = HopSet.from_records(records, spec, lattice_symmetries(lattice, a, spec.r_c), target=None, lattice=lattice)
    X, perms = site_features(hops, lattice, a, n_shells)
    return X, perms, lattice, a


def _permuted(X: torch.Tensor, perms: torch.Tensor, pick: torch.Tensor) -> torch.Tensor:
    return torch.gather(X, 1, perms[pick][..., None].expand(-1, -1, X.shape[2]))


def fit_linear(X: torch.Tensor, perms: torch.Tensor, y: torch.Tensor, train_idx, ridge: float = 1e-6):
    """Least squares on every symmetry copy of the training rows (with a tiny ridge so
    empty or constant columns do no harm). Returns predict(idx) -> numpy barriers."""
    Xt = X[torch.as_tensor(train_idx)]
    copies = torch.cat([_permuted(Xt, perms, torch.full((len(Xt),), g)) for g in range(len(perms))])
    A = np.concatenate([copies.reshape(len(copies), -1).double().numpy(), np.ones((len(copies), 1))], axis=1)
    b = np.tile(y[torch.as_tensor(train_idx)].double().numpy(), len(perms))
    w = np.linalg.solve(A.T @ A + ridge * len(A) * np.eye(A.shape[1]), A.T @ b)
    flat = X.reshape(len(X), -1).double().numpy()
    return lambda idx: flat[np.asarray(idx)] @ w[:-1] + w[-1]


def fit_mlp(X: torch.Tensor, perms: torch.Tensor, y: torch.Tensor, train_idx, val_idx,
            config: TrainConfig | None = None, hidden=(10, 10), progress: bool = False):
    """The paper's NN (two hidden ReLU layers of 10), trained like the CNN (MAE, RMSprop,
    plateau lr, early stopping) with random symmetry permutations as augmentation.
    Returns (predict(idx) -> numpy barriers, TrainResult)."""
    config = config or TrainConfig(batch_size=64, augment="symmetry")
    torch.manual_seed(config.seed)
    yt = y[torch.as_tensor(train_idx)]
    net = SiteMLP(X.shape[1] * X.shape[2], hidden, float(yt.mean()), float(yt.std().clamp(min=1e-3)))

    def make_batch(idx, augment, gen):
        x = X[idx]
        if augment != "none":
            x = _permuted(x, perms, torch.randint(len(perms), (len(idx),), generator=gen))
        return x.reshape(len(idx), -1)

    result = fit(net, make_batch, y, train_idx, val_idx, config, progress=progress)
    return (lambda idx: predict(net, lambda i: make_batch(i, "none", None), idx).numpy()), result
