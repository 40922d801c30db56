"""Fig. 2a on our data: validation MAE vs number of g(r) shells for LR, NN and the CNN.

One random 4:1 train/validation split of the barriers (as the paper's single-composition
study); for n = 1 ... 6 shells: linear regression and the paper's NN (2 x 10 ReLU) on
one-hot site occupancies in the hop frame, and the CNN on SDMs cut at the n-shell r_c.
CPU-sized by default (CNN: 4 conv x 16 filters, Delta 0.88 A, i.e. 16^3 voxels at 6 shells);
on CUDA the paper's size (12 conv x 60 filters, Delta 0.44 A, 32^3). Writes
results/cnn_shells.json and .png.

Data: ``--dataset PATH`` (alloykit.neb dataset or .jsonl), else the one bench_cnn_data.py
makes, else synthetic barriers (alloykit.cnn.SyntheticBarrier; the JSON says so).
Usage: python benchmarks/bench_cnn_shells.py [--dataset PATH] [--epochs E] [--quick]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cnn_data import load_data  # noqa: E402
from common import RESULTS, add_cnn_options, write  # noqa: E402

from alloykit.cnn import TrainConfig, fit, fit_linear, fit_mlp, site_features  # noqa: E402
from alloykit.cnn.model import BarrierCNN  # noqa: E402
from alloykit.sdm import HopSet, describe_lattice, lattice_symmetries, sdm_spec  # noqa: E402


def main(argv=None) -> dict:
    p = add_cnn_options(argparse.ArgumentParser(), epochs=150)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    recs, source = load_data(sys.argv[1:] if argv is None else argv, args.quick)
    species = sorted({s for r in recs for s in r.env_species})
    lattice, a = describe_lattice(recs)
    y = torch.tensor([r.barrier_forward for r in recs], dtype=torch.float32)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(recs))
    n_val = len(recs) // 5
    val, train = np.sort(order[:n_val]), np.sort(order[n_val:])
    epochs = 3 if args.quick else args.epochs
    cnn_cfg = dict(n=3, width=60, grid6=32, batch=100) if cuda else dict(n=1, width=16, grid6=16, batch=32)
    cnn_cfg.update({k: v for k, v in (("n", args.blocks), ("width", args.width)) if v})
    full = sdm_spec(species, lattice, a, 6, grid6=cnn_cfg["grid6"])
    hops6 = HopSet.from_records(recs, full, lattice_symmetries(lattice, a, full.r_c), lattice=lattice)
    out = {"source": source, "n_records": len(recs), "n_train": len(train), "n_val": len(val),
           "device": torch.cuda.get_device_name() if cuda else "cpu", "threads": args.threads,
           "augment": args.augment,
           "lattice": lattice, "a": a,
           "mae_of_mean": float((y[val] - y[train].mean()).abs().mean()),
           "mae_of_species_mean": species_mean_mae(recs, y, train, val), "cnn": cnn_cfg, "shells": []}
    for n_shells in range(1, 7):
        t0 = time.perf_counter()
        X, perms = site_features(hops6, lattice, a, n_shells)
        lr = fit_linear(X, perms, y, train)
        lr_mae = float(np.abs(lr(val) - y[val].numpy()).mean())
        nn_cfg = TrainConfig(epochs=epochs * 3, batch_size=64, augment="symmetry", seed=args.seed, device="cpu")
        nn_pred, _ = fit_mlp(X, perms, y, train, val, nn_cfg)
        nn_mae = float(np.abs(nn_pred(val) - y[val].numpy()).mean())
        spec = sdm_spec(species, lattice, a, n_shells, grid6=cnn_cfg["grid6"])
        hops = HopSet.from_records(recs, spec, lattice_symmetries(lattice, a, spec.r_c), lattice=lattice).to(device)
        torch.manual_seed(args.seed)
        net = BarrierCNN(len(species), spec.grid, n=cnn_cfg["n"], width=cnn_cfg["width"],
                         target_mean=float(y[train].mean()), target_scale=float(y[train].std())).to(device)
        cfg = TrainConfig(epochs=epochs, batch_size=cnn_cfg["batch"], augment=args.augment, seed=args.seed,
                          stop_patience=12, plateau_patience=4)
        res = fit(net, lambda i, aug, gen: hops.sdms(i, aug, gen), y, train, val, cfg, progress=False)
        row = {"n_shells": n_shells, "sites": int(X.shape[1]), "r_c": spec.r_c, "grid": spec.grid,
               "lr_mae": lr_mae, "nn_mae": nn_mae, "cnn_mae": res.best_val, "cnn_epochs": len(res.history),
               "seconds": round(time.perf_counter() - t0, 1)}
        out["shells"].append(row)
        print(row, flush=True)
    plot(out)
    return out


def species_mean_mae(recs, y, train, val) -> float:
    """Validation MAE of guessing the training mean barrier of the moving species."""
    sp = np.array([r.moving_species for r in recs])
    guess = {s: float(y[train][sp[train] == s].mean()) for s in set(sp[train])}
    return float(np.mean([abs(float(y[i]) - guess.get(sp[i], float(y[train].mean()))) for i in val]))


def plot(out) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [r["n_shells"] for r in out["shells"]]
    fig, ax = plt.subplots(figsize=(4.4, 3.4))
    for key, label, m in (("cnn_mae", "CNN", "o-"), ("nn_mae", "NN", "s-"), ("lr_mae", "LR", "^-")):
        ax.plot(n, [1000 * r[key] for r in out["shells"]], m, label=label)
    ax.axhline(1000 * out["mae_of_mean"], color="gray", ls=":", label="mean barrier")
    ax.axhline(1000 * out["mae_of_species_mean"], color="gray", ls="--", label="mean per moving species")
    ax.set_xlabel("neighbour shells (g(r) peaks)")
    ax.set_ylabel("validation MAE (meV)")
    ax.set_title(f"{out['source'][:40]}, {out['n_records']} barriers", fontsize=8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "cnn_shells.png", dpi=110)


if __name__ == "__main__":
    write("cnn_shells", {"argv": sys.argv[1:], **main()})
