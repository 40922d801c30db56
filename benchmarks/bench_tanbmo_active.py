"""Active vs random choice of NEB vacancies on the Ta-Nb-Mo dataset (issue 13, item 3).

Data: results/neb_tanbmo.sqlite as grown by tanbmo_dataset.py. Held out: every usable
barrier of the held-out samples ("-1" of each composition). Both arms start from the same
seed set S (one random vacancy per training sample) and add, round by round, either the
random vacancies ("random-k") or those chosen by committee disagreement ("active-k");
within a round the vacancies are taken in the order they were chosen, so the curve has a
point every STEP vacancies. At each point a model is fitted to the arm's barriers and
scored on the same held-out barriers: the paper's LR baseline (one-hot site occupancies in
the hop frame, 6 g(r) shells, every symmetry copy).

Also: does the committee's spread flag the held-out hops it gets wrong? (Spearman rank
correlation of spread and |error| for the final active-arm committee.)
Writes results/tanbmo_active.json and results/tanbmo_active.png.
Usage: python benchmarks/bench_tanbmo_active.py
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, write  # noqa: E402

from alloykit.cnn.active import committee_spread  # noqa: E402
from alloykit.cnn.baselines import fit_linear, record_features  # noqa: E402
from alloykit.neb import open_dataset  # noqa: E402
from alloykit.sdm import describe_lattice  # noqa: E402

DATASET = RESULTS / "neb_tanbmo.sqlite"
STEP = 4          # vacancies between curve points
SHELLS = 3        # the committee's (as in tanbmo_dataset.py)
CURVE_SHELLS = 6  # the model scored on the held-out set: the paper's LR, 6 shells


def arms(ds) -> tuple[list, dict, list]:
    """(seed vacancies, {arm: ordered added vacancies}, held-out usable records)."""
    seed = [t for t in ds.first_round() if t[0].endswith("-0")]
    added = {"random": [], "active": []}
    for r in ds.rounds():
        arm = r["label"].split("-")[0]
        if arm in added:
            added[arm] += [(s, int(i)) for s, i in r["tasks"]]
    held = [r for r in ds.records() if r.sample_id.endswith("-1")]
    return seed, added, held


def lr_mae(records, held) -> float:
    return float(np.mean(np.abs(_lr_pred(records, held, CURVE_SHELLS) - np.array([r.barrier_forward for r in held]))))


def main() -> dict:
    with open_dataset(DATASET) as ds:
        seed, added, held = arms(ds)
        by_vac = {}
        for r in ds.records():
            by_vac.setdefault((r.sample_id, r.vacancy_site), []).append(r)
        status = ds.status()
    # only computed vacancies (a round may still be running), and as many in both arms
    added = {arm: [v for v in vs if v in by_vac] for arm, vs in added.items()}
    n_add = min(len(added["random"]), len(added["active"]))
    curves = {}
    for arm in ("random", "active"):
        rows = []
        for k in range(0, n_add + 1, STEP):
            recs = [r for v in seed + added[arm][:k] for r in by_vac.get(v, [])]
            rows.append({"vacancies_added": k, "training_barriers": len(recs), "lr_mae": lr_mae(recs, held)})
            print(arm, rows[-1], flush=True)
        curves[arm] = rows
    # the final active committee: does its spread rank the held-out errors?
    final = [r for v in seed + added["active"][:n_add] for r in by_vac.get(v, [])]
    spread = committee_spread(final, held, n_models=8, n_shells=SHELLS, seed=1)
    err = np.abs(_lr_pred(final, held) - np.array([r.barrier_forward for r in held]))
    from scipy.stats import spearmanr

    out = {"dataset": DATASET.name, "dataset_status": {k: status[k] for k in ("vacancies_done", "usable_barriers")},
           "held_out_barriers": len(held), "held_out_compositions": len({r.sample_id for r in held}),
           "seed_vacancies": len(seed), "step_vacancies": STEP, "model": f"LR, {CURVE_SHELLS} shells, ridge 1e-3 (committee: {SHELLS} shells)",
           "curves": curves,
           "spread_vs_error_spearman": float(spearmanr(spread, err).statistic),
           "mean_spread_eV": float(spread.mean()), "mae_final_active_eV": float(err.mean())}
    plot(out)
    write("tanbmo_active", out)
    return out


def _lr_pred(records, held, shells: int = SHELLS) -> np.ndarray:
    """The LR baseline (``shells`` g(r) shells) fitted to ``records``, predicting ``held``."""
    lattice, a = describe_lattice(records)
    X, perms, _, _ = record_features(records + held, shells, lattice, a)
    y = torch.tensor([r.barrier_forward for r in records] + [0.0] * len(held), dtype=torch.float32)
    return fit_linear(X, perms, y, np.arange(len(records)), ridge=1e-3)(np.arange(len(records), len(X)))


def plot(out: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2))
    for arm, style in (("random", "o--"), ("active", "s-")):
        rows = out["curves"][arm]
        ax.plot([r["training_barriers"] for r in rows], [1000 * r["lr_mae"] for r in rows], style,
                label=f"{arm} choice")
    ax.set(xlabel="NEB barriers in training", ylabel="held-out MAE (LR, 6 shells), meV",
           title=f"Ta-Nb-Mo: {out['held_out_barriers']} held-out barriers, "
                 f"{out['held_out_compositions']} samples")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "tanbmo_active.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
