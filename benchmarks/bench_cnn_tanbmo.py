"""The barrier CNN on Ta-Nb-Mo (issue 13, item 4): held-out MAE against the number of
training barriers, next to the paper's figures and the LR/NN baselines; held-out
compositions (paper Fig. 3); aged (MC/MD) samples (Fig. 4).

Data: results/neb_tanbmo.sqlite (tanbmo_dataset.py). Test set: every usable barrier of
the held-out samples ("-1" of each of the 22 compositions, never trained on). Training
pool: the "-0" samples (all rounds). Learning curve: the first 1/4, 1/2 and all of the
training vacancies (seeded order), each split 9:1 train/validation by vacancy (the CNN
draws its own 9:1 split of the same vacancies); at each
point the CNN (CPU-sized unless CUDA: 4 conv x 16 filters, 16^3 voxels), the paper's LR
(one-hot sites, 6 shells) and NN (2 x 10 ReLU) on the same split. Paper (its
Supplementary Note 2 and Fig. 2): 0.0312 eV with 10k barriers, 0.0137 eV with 726k.

Fig. 3: a second CNN trained on both sample sets of every composition except TEST_COMPS,
scored on those. Fig. 4: the full model on results/neb_tanbmo_aged.sqlite when present.
Writes results/cnn_tanbmo.json and results/cnn_tanbmo.png (+ the model in
results/cnn_tanbmo_model/, used by the composition maps).
Usage: python benchmarks/bench_cnn_tanbmo.py [--epochs E] [--threads T] [--quick]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, parse_torch_run, write  # noqa: E402

from alloykit.cnn import TrainConfig, evaluate_model, fit_linear, fit_mlp, train_model  # noqa: E402
from alloykit.cnn.baselines import record_features  # noqa: E402
from alloykit.cnn.io import save  # noqa: E402
from alloykit.neb import open_dataset  # noqa: E402
from alloykit.structures import composition_key  # noqa: E402

DATASET = RESULTS / "neb_tanbmo.sqlite"
AGED = RESULTS / "neb_tanbmo_aged.sqlite"
PAPER = [{"barriers": 10_000, "mae": 0.0312, "what": "paper, 10k (Supplementary Note 2)"},
         {"barriers": 726_000, "mae": 0.0137, "what": "paper, 726k"}]
TEST_COMPS = ["Ta0.33Nb0.33Mo0.33", "Ta0.20Nb0.20Mo0.60", "Ta0.60Nb0.20Mo0.20"]   # sample-id labels


def baselines(train, val, test, seed: int, epochs: int) -> dict:
    """LR and NN on one-hot sites (6 shells), trained on ``train`` (NN: early stopping on
    ``val``), MAE on ``test``."""
    recs = train + val + test
    X, perms, _, _ = record_features(recs, 6)
    y = torch.tensor([r.barrier_forward for r in recs], dtype=torch.float32)
    i_tr = np.arange(len(train))
    i_va = np.arange(len(train), len(train) + len(val))
    i_te = np.arange(len(train) + len(val), len(recs))
    truth = y[i_te].numpy()
    lr = fit_linear(X, perms, y, i_tr, ridge=1e-3)
    nn, _ = fit_mlp(X, perms, y, i_tr, i_va, TrainConfig(epochs=epochs * 3, batch_size=64, augment="symmetry",
                                                         seed=seed, device="cpu"))
    return {"lr_mae": float(np.abs(lr(i_te) - truth).mean()), "nn_mae": float(np.abs(nn(i_te) - truth).mean())}


def split_vacancies(records, fraction: float, seed: int):
    """The first ``fraction`` of the vacancies in a seeded order, 9:1 train/validation."""
    keys = sorted({(r.sample_id, r.vacancy_site) for r in records})
    order = [keys[k] for k in np.random.default_rng(seed).permutation(len(keys))]
    use = order[:max(2, round(fraction * len(order)))]
    val = set(use[:max(1, len(use) // 10)])
    pick = set(use)
    return ([r for r in records if (r.sample_id, r.vacancy_site) in pick - val],
            [r for r in records if (r.sample_id, r.vacancy_site) in val])


def main(argv=None) -> dict:
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=120)
    args = parse_torch_run(p, argv)
    cuda = torch.cuda.is_available()
    arch = dict(n=3, width=60, grid6=32) if cuda else dict(n=1, width=16, grid6=16)
    epochs = 3 if args.quick else args.epochs
    cfg = TrainConfig(epochs=epochs, batch_size=100 if cuda else 32, augment="symmetry", seed=args.seed,
                      stop_patience=15, plateau_patience=5)
    with open_dataset(DATASET) as ds:
        recs = list(ds.records())
        status = ds.status()
    pool = [r for r in recs if r.sample_id.endswith("-0")]
    test = [r for r in recs if r.sample_id.endswith("-1")]
    out = {"dataset": DATASET.name, "usable_barriers": status["usable_barriers"],
           "compositions": len({composition_key(r.composition) for r in recs}), "test_barriers": len(test),
           "device": torch.cuda.get_device_name() if cuda else "cpu", "threads": args.threads, "architecture": arch,
           "epochs_max": epochs, "paper": PAPER, "curve": []}
    train_mean = np.mean([r.barrier_forward for r in pool])
    out["mae_of_training_mean"] = float(np.mean([abs(r.barrier_forward - train_mean) for r in test]))
    model = None
    for frac in ((0.25, 1.0) if args.quick else (0.25, 0.5, 1.0)):
        tr, va = split_vacancies(pool, frac, args.seed)
        t0 = time.perf_counter()
        model, rep = train_model(tr + va, n_shells=6, **arch, split_by="vacancy", test=[],
                                 val_fraction=len(va) / (len(tr) + len(va)), config=cfg, progress=False)
        cnn = evaluate_model(model, test)
        row = {"fraction": frac, "training_barriers": len(tr), "validation_barriers": len(va),
               "cnn_mae": cnn["mae"], "cnn_val_mae": rep["best_val_mae"], "cnn_epochs": rep["epochs_run"],
               "cnn_seconds": round(time.perf_counter() - t0, 1),
               "cnn_by_moving_species": cnn["by_moving_species"], **baselines(tr, va, test, args.seed, epochs)}
        out["curve"].append(row)
        print({k: v for k, v in row.items() if k != "cnn_by_moving_species"}, flush=True)
    save(model, RESULTS / "cnn_tanbmo_model")
    final = evaluate_model(model, test)
    # Fig. 3: compositions never seen
    held = set(TEST_COMPS)
    seen = [r for r in recs if r.sample_id.rsplit("-", 1)[0] not in held]
    unseen = [r for r in recs if r.sample_id.rsplit("-", 1)[0] in held]
    tr, va = split_vacancies(seen, 1.0, args.seed)
    m3, _ = train_model(tr + va, n_shells=6, **arch, split_by="vacancy", test=[],
                        val_fraction=len(va) / (len(tr) + len(va)), config=cfg, progress=False)
    fig3 = evaluate_model(m3, unseen)
    out["held_out_compositions"] = {"compositions": sorted(held), "training_barriers": len(tr),
                                    "mae": fig3["mae"], "by_composition": fig3["by_composition"],
                                    "by_moving_species": fig3["by_moving_species"]}
    print("held-out compositions", fig3["mae"], fig3["by_composition"], flush=True)
    results = {"held-out samples": final, "held-out compositions": fig3}
    if AGED.exists():
        with open_dataset(AGED) as ds:
            aged = list(ds.records())
        res = evaluate_model(model, aged)
        out["aged"] = {"dataset": AGED.name, "n": res["n"], "mae": res["mae"], "by_sample": res["by_sample"],
                       "by_moving_species": res["by_moving_species"],
                       "random_test_mean_eV": float(np.mean([r.barrier_forward for r in test if "0.33" in r.sample_id]
                                                            or [np.nan])),
                       "aged_mean_eV": float(np.mean([r.barrier_forward for r in aged]))}
        results["aged (MC/MD)"] = res
        print("aged", out["aged"]["mae"], flush=True)
    plot(out, results)
    write("cnn_tanbmo", out)
    return out


def plot(out, results) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 1 + len(results), figsize=(4.6 * (1 + len(results)), 4))
    ax = axes[0]
    n = [r["training_barriers"] for r in out["curve"]]
    for key, style, label in (("cnn_mae", "s-", "CNN"), ("nn_mae", "^--", "NN"), ("lr_mae", "o--", "LR")):
        ax.plot(n, [1000 * r[key] for r in out["curve"]], style, label=f"{label} (ours)")
    for pt in out["paper"]:
        ax.plot(pt["barriers"], 1000 * pt["mae"], "k*", ms=10)
        ax.annotate(pt["what"], (pt["barriers"], 1000 * pt["mae"]), fontsize=7, xytext=(-60, 8),
                    textcoords="offset points")
    ax.axhline(1000 * out["mae_of_training_mean"], color="grey", lw=0.8, ls=":", label="training mean")
    ax.set(xscale="log", xlabel="training barriers", ylabel="held-out MAE, meV", title="Ta-Nb-Mo, MoNbTaW")
    ax.legend(fontsize=7)
    for ax, (name, res) in zip(axes[1:], results.items()):
        ax.scatter(res["true"], res["pred"], s=5, alpha=0.5)
        lo, hi = float(np.min(res["true"])), float(np.max(res["true"]))
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
        ax.set(xlabel="NEB barrier, eV", ylabel="CNN, eV", title=f"{name}: MAE {1000 * res['mae']:.0f} meV")
    fig.tight_layout()
    fig.savefig(RESULTS / "cnn_tanbmo.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
