"""Active learning for barrier datasets: which vacancies the NEB should compute next.

An NEB barrier costs minutes; a model's guess costs microseconds. The next vacancies are
those on which a committee of cheap models disagrees most: ``n_models`` linear models (the
paper's LR baseline, one-hot site occupancies in the hop frame,
:func:`alloykit.cnn.baselines.fit_linear`), each fitted to a bootstrap resample of the
training *vacancies* (a vacancy's hops share their environment, so they are resampled
together). The spread of their predictions is the variance of the fitted model that the
data leave open: large where the training set has seen few environments like this one
(query by committee, Seung et al. 1992; bootstrap committees, Breiman 1996).

A vacancy's score is the mean spread over its hops. Candidates are every site of the given
samples (unrelaxed environments, first neighbours from the lattice: the same records
:meth:`BarrierModel.predict_structure` uses). Chosen vacancies are kept apart: one whose
site lies within ``min_separation`` of a vacancy already chosen in the same sample is
skipped, as its environment mostly repeats that one.

- :func:`committee_spread`: per-hop spread of the committee on candidate records.
- :func:`choose_vacancies`: the next ``n`` (sample_id, site) by spread, or at random
  (``method="random"``, the baseline the active choice is measured against).
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import InputError
from ..sdm.environment import hop_records
from ..sdm.hopset import as_records, describe_lattice
from .baselines import fit_linear, record_features

METHODS = ("ensemble", "random")


def _vacancy_key(rec) -> tuple:
    return (str(rec.sample_id), int(rec.vacancy_site))


def committee_spread(train_records, candidate_records, n_models: int = 8, n_shells: int = 3, ridge: float = 1e-3,
                     seed: int = 0, species=None) -> np.ndarray:
    """Standard deviation, over ``n_models`` bootstrap linear models, of the predicted
    barrier of each candidate hop (eV). Training targets: ``barrier_forward``."""
    train, cand = as_records(train_records), as_records(candidate_records)
    if len(train) < 2 or not cand:
        raise InputError(f"committee: needs >= 2 training barriers and candidates, got {len(train)} and {len(cand)}")
    if n_models < 2:
        raise InputError(f"n_models: {n_models}; a committee needs at least 2")
    lattice, a = describe_lattice(train)
    X, perms, _, _ = record_features(train + cand, n_shells, lattice, a, species)
    y = torch.tensor([r.barrier_forward for r in train] + [0.0] * len(cand), dtype=torch.float32)
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(train):
        groups.setdefault(_vacancy_key(r), []).append(i)
    keys = list(groups)
    rng = np.random.default_rng(seed)
    cand_idx = np.arange(len(train), len(train) + len(cand))
    preds = []
    for _ in range(n_models):
        pick = rng.integers(len(keys), size=len(keys))
        rows = np.concatenate([groups[keys[k]] for k in pick])
        preds.append(fit_linear(X, perms, y, rows, ridge)(cand_idx))
    return np.std(preds, axis=0)


def candidates(samples: dict, exclude=(), cutoff: float = 8.0, lattice: str | None = None) -> list:
    """Hop records (unrelaxed) of every site of ``samples`` {sample_id: Atoms} that is not
    in ``exclude`` [(sample_id, site)]."""
    skip = {(str(s), int(i)) for s, i in exclude}
    out = []
    for sid, atoms in samples.items():
        sites = [i for i in range(len(atoms)) if (str(sid), i) not in skip]
        for r in hop_records(atoms, sites, cutoff, lattice):
            r.sample_id = str(sid)
            out.append(r)
    return out


def choose_vacancies(train_records, samples: dict, n: int, exclude=(), method: str = "ensemble",
                     n_models: int = 8, n_shells: int = 3, min_separation: float = 0.0, seed: int = 0) -> list[dict]:
    """The next ``n`` vacancies to compute among every site of ``samples`` {sample_id:
    Atoms} not in ``exclude``: [{sample_id, site, score}], best first. ``method``:
    "ensemble" (largest committee spread, eV) or "random" (score NaN). ``min_separation``
    (A): no two chosen sites of one sample closer than this (periodic distance)."""
    if method not in METHODS:
        raise InputError(f"method: {method!r} is not one of {', '.join(METHODS)}")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n: {n}; need a positive number of vacancies")
    skip = {(str(s), int(i)) for s, i in exclude}
    pool = [(str(sid), i) for sid, atoms in samples.items() for i in range(len(atoms)) if (str(sid), i) not in skip]
    if not pool:
        raise InputError("no candidate vacancies left")
    rng = np.random.default_rng(seed)
    if method == "random":
        order = rng.permutation(len(pool))
        scores = {pool[k]: float("nan") for k in order}
        ranked = [pool[k] for k in order]
    else:
        cand = candidates(samples, skip)
        spread = committee_spread(train_records, cand, n_models, n_shells, seed=seed)
        per: dict[tuple, list[float]] = {}
        for r, s in zip(cand, spread):
            per.setdefault(_vacancy_key(r), []).append(float(s))
        scores = {k: float(np.mean(v)) for k, v in per.items()}
        ranked = sorted(scores, key=lambda k: (-scores[k], k))
    chosen: list[tuple] = []
    for key in ranked:
        if len(chosen) == n:
            break
        if min_separation > 0 and any(c[0] == key[0] and _distance(samples[key[0]], c[1], key[1]) < min_separation
                                      for c in chosen):
            continue
        chosen.append(key)
    return [{"sample_id": s, "site": int(i), "score": scores[(s, i)]} for s, i in chosen]


def _distance(atoms, i: int, j: int) -> float:
    return float(atoms.get_distance(i, j, mic=True))
