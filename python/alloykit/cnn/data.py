"""Barrier records in, splits out; and a synthetic barrier for tests and examples.

Records are :class:`~alloykit.structures.HopRecord`s, as ``alloykit.neb`` datasets yield them
(``Dataset.records(converged_only=True)``). A JSON-lines file of records (``*.jsonl`` or
``*.jsonl.gz``, one ``HopRecord.to_dict()`` per line) is read too, so models can be trained
on data made without the NEB module (:func:`write_jsonl`). Nothing here unpickles anything.

Splits are by *composition* (Fig. 3): the test compositions are never seen in training;
validation records are a random fraction of the training compositions' records (the
paper's 218 per composition). ``by="sample"`` does the same with sample ids, for a dataset
of a single composition, and ``by="vacancy"`` with (sample, vacancy site), for one sample.
"""
from __future__ import annotations

import gzip
import json
import math
import zlib
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..sdm.hopset import as_records
from ..structures import HopRecord, composition_key, index_of, parse_composition


def open_records(path, converged_only: bool = True) -> list[HopRecord]:
    """Records with a finite barrier from an NEB dataset (``alloykit.neb`` SQLite file) or a
    JSON-lines file; ``converged_only`` keeps converged, unflagged hops (a JSON line without
    ``converged`` counts as converged)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.name.endswith((".jsonl", ".jsonl.gz")):
        opener = gzip.open if path.name.endswith(".gz") else open
        rows, ln = [], 0
        try:
            with opener(path, "rt") as fh:
                for ln, line in enumerate(fh, 1):
                    if line.strip():
                        rows.append(json.loads(line))
                        if not isinstance(rows[-1], dict):
                            raise InputError(f"{path} line {ln}: not a record (a JSON object)")
        except EOFError:
            raise InputError(f"{path}: the compressed file is cut short (after line {ln})") from None
        except (OSError, ValueError, zlib.error) as e:
            if isinstance(e, InputError):
                raise
            raise InputError(f"{path} line {ln + 1}: not a JSON-lines file of records ({type(e).__name__})") from None
        if converged_only:     # as Dataset.records(converged_only=True): converged, no flag
            rows = [r for r in rows if r.get("converged", True) and not r.get("flag")]
        try:
            recs = as_records(rows)
        except (InputError, TypeError) as e:
            raise InputError(f"{path}: {e}") from None
    else:
        from ..neb import open_dataset

        with open_dataset(path) as ds:
            recs = as_records(ds.records(converged_only=converged_only))
    return [r for r in recs if math.isfinite(r.barrier_forward)]


def _jsonable(x):
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(f"{type(x).__name__} is not JSON serialisable")


def write_jsonl(records, path) -> Path:
    """Write records as JSON lines (``HopRecord.to_dict()``), gzip if the name ends in .gz."""
    path = Path(path)
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt") as fh:
        for rec in as_records(records):
            fh.write(json.dumps(rec.to_dict(), default=_jsonable) + "\n")
    return path


def dataset_species(records) -> list[str]:
    """Sorted species of all environments: the SDM channels."""
    found: set[str] = set()
    for r in records:
        found.update(r.env_species)
    return sorted(found)


def split(records, by: str = "composition", test=None, n_test: int = 1, val_fraction: float = 0.1,
          seed: int = 0, tol: float = 0.02) -> dict[str, np.ndarray]:
    """Indices of train/val/test records; ``test`` lists held-out compositions (dicts,
    ``"Fe=0.7,Cr=0.3"`` strings or composition keys) or sample ids; otherwise ``n_test``
    groups are drawn with ``seed``. A requested composition holds out every composition of
    the dataset within ``tol`` of it in each fraction (samples have whole numbers of atoms,
    so a 128-atom "Fe=0.8,Cr=0.2" sample is Cr 0.2031). Raises InputError when a requested
    group has no barrier."""
    if by not in ("composition", "sample", "vacancy"):
        raise InputError(f"split by {by!r}: use 'composition', 'sample' or 'vacancy'")
    groups = np.array([group_of(r, by) for r in records])
    names = sorted(set(groups))
    rng = np.random.default_rng(seed)
    if test is None:
        if len(names) <= n_test:
            other = "sample or vacancy" if by == "composition" else "vacancy"
            raise InputError(f"only {len(names)} {by}(s) in the dataset: cannot hold out {n_test} for testing "
                             f"(split by {other}, or hold nothing out)")
        test = list(rng.choice(names, size=n_test, replace=False))
    else:
        comps = {group_of(r, by): r.composition or {} for r in records} if by == "composition" else {}
        chosen = []
        for t in test:
            if by == "composition":
                found = _matching_compositions(t, comps, tol)
            else:
                found = [str(t)] if str(t) in names else []
            if not found:
                raise InputError(f"no barriers for held-out {by} {_as_key(t) if by == 'composition' else t} "
                                 f"(dataset has: {', '.join(names)})")
            chosen += found
        test = sorted(set(chosen))
    is_test = np.isin(groups, test)
    rest = np.flatnonzero(~is_test)
    rest = rest[rng.permutation(len(rest))]
    n_val = max(1, int(round(val_fraction * len(rest)))) if len(rest) > 1 else 0
    return {"train": np.sort(rest[n_val:]), "val": np.sort(rest[:n_val]), "test": np.flatnonzero(is_test),
            "test_groups": sorted(test)}


def _matching_compositions(t, comps: dict, tol: float) -> list[str]:
    key = _as_key(t)
    if key in comps:
        return [key]
    want = _as_dict(t)
    if want is None:
        return []
    return [k for k, c in comps.items()
            if max(abs(float(want.get(el, 0.0)) - float(c.get(el, 0.0))) for el in set(want) | set(c)) <= tol]


def _as_dict(t) -> dict | None:
    if isinstance(t, dict):
        return t
    if "=" in str(t):
        return parse_composition(str(t))
    return None


def group_of(rec, by: str) -> str:
    """The split group of a record: its composition key, sample id or "sample#site"."""
    if by == "composition":
        return composition_key(rec.composition)
    if by == "vacancy":
        return f"{rec.sample_id}#{rec.vacancy_site}"
    return str(rec.sample_id)


def _as_key(t) -> str:
    if isinstance(t, dict):
        return composition_key(t)
    t = str(t)
    if "=" in t:
        return composition_key(parse_composition(t))
    return t


class SyntheticBarrier:
    """A documented stand-in for NEB barriers, for tests and examples (not physics).

    E = e0[M] + sum_j eps[M, s_j] exp(-|r_j - h/2|^2 / 2w^2)
              + sum_j eta[s_j] (exp(-|r_j - h|^2 / 2w^2) - exp(-|r_j|^2 / 2w^2))

    over the atoms j != mover of the environment (r_j relative to the vacancy, h the hop
    vector, M the moving species, w = 1.2 A): a saddle-point crowding term and a term that
    compares the mover's initial and final surroundings, so the barrier depends on the
    path. It depends on distances only, so it is invariant under every rotation and mirror
    that fixes the hop, as real barriers are. e0, eps, eta are drawn from ``seed``.
    """

    def __init__(self, species, seed: int = 0, width: float = 1.2):
        rng = np.random.default_rng(seed)
        self.species = list(species)
        n = len(self.species)
        self.e0 = 0.6 + 0.2 * rng.random(n)
        self.eps = 0.05 * rng.standard_normal((n, n))
        self.eta = 0.10 * rng.standard_normal(n)
        self.width = width

    def __call__(self, rec: HopRecord) -> float:
        r, h = rec.env_positions, rec.hop_vector
        idx = index_of(rec.env_species, self.species)
        m = int(index_of([rec.moving_species], self.species)[0])
        others = np.linalg.norm(r - h, axis=1) > 1e-3
        r, idx = r[others], idx[others]
        g = lambda c: np.exp(-np.sum((r - c) ** 2, axis=1) / (2 * self.width ** 2))  # noqa: E731
        e = self.e0[m] + np.sum(self.eps[m, idx] * g(h / 2))
        return float(e + np.sum(self.eta[idx] * (g(h) - g(np.zeros(3)))))


def synthetic_records(compositions, size=(4, 4, 4), sites_per_sample: int = 8, seed: int = 0,
                      a: float = 2.8665, barrier: SyntheticBarrier | None = None) -> list[HopRecord]:
    """HopRecords from random BCC solid solutions (one per composition, ``sites_per_sample``
    vacancies x 8 hops each), unrelaxed, labelled by :class:`SyntheticBarrier`."""
    from ..sdm.environment import hop_records
    from ..structures import random_solid_solution

    comps = [parse_composition(c) for c in compositions]
    species = sorted({el for c in comps for el in c})
    barrier = barrier or SyntheticBarrier(species, seed)
    out = []
    for k, comp in enumerate(comps):
        atoms = random_solid_solution("bcc", comp, size=size, a=a, seed=seed + k)
        sites = np.random.default_rng(seed + 1000 + k).choice(len(atoms), sites_per_sample, replace=False)
        for rec in hop_records(atoms, sites):
            e = barrier(rec)
            rec.sample_id, rec.composition = f"synthetic-{k}", comp
            rec.barrier_forward = rec.barrier_backward = e
            rec.energy_initial = rec.energy_final = 0.0
            rec.converged = True
            out.append(rec)
    return out
