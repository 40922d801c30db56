"""Fig. 3 / Fig. 4 on our data: MAE per held-out composition, true vs predicted spectra per
moving species, and MAE on CSRO samples.

The CNN is trained with the split by composition of alloykit.cnn (held-out compositions are
never seen in training or validation), then evaluated on each held-out composition; samples
whose id mentions "csro" or "mc" (made by alloykit csro MC/MD), or a separate ``--csro
DATASET`` (default: the one ``bench_cnn_data.py --csro`` makes), are evaluated as the
paper's Fig. 4. CPU-sized network by default (4 conv x 16
filters, 16^3 voxels), the paper's (12 conv x 60, 32^3) on CUDA. Writes
results/cnn_heldout.json and results/cnn_heldout_spectra.png.

Usage: python benchmarks/bench_cnn_heldout.py [--dataset PATH] [--test Fe=0.8,Cr=0.2 ...]
       [--csro PATH] [--epochs E] [--quick]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cnn_data import CSRO_DATASET, load_data  # noqa: E402
from common import RESULTS, add_cnn_options, write  # noqa: E402

from alloykit.cnn import TrainConfig, evaluate_model, open_records, train_model  # noqa: E402
from alloykit.structures import composition_key  # noqa: E402


def is_csro(rec) -> bool:
    sid = str(rec.sample_id).lower()
    return "csro" in sid or "mc" in sid.split(":")[0].split("-")


def main(argv=None) -> dict:
    p = add_cnn_options(argparse.ArgumentParser(), epochs=200)
    p.add_argument("--test", nargs="+", help="held-out compositions (default: Cr 0.2 and 0.4)")
    p.add_argument("--csro", help="a dataset of CSRO samples to evaluate on")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    cuda = torch.cuda.is_available()
    recs, source = load_data(sys.argv[1:] if argv is None else argv, args.quick)
    csro = [r for r in recs if is_csro(r)]
    random = [r for r in recs if not is_csro(r)]
    test = args.test or ["Fe=0.8,Cr=0.2", "Fe=0.6,Cr=0.4"]      # interpolation inside Cr 0.1 ... 0.5
    arch = dict(n=3, width=60, grid6=32) if cuda else dict(n=1, width=16, grid6=16)
    arch.update({k: v for k, v in (("n", args.blocks), ("width", args.width)) if v})
    cfg = TrainConfig(epochs=3 if args.quick else args.epochs, batch_size=100 if cuda else 32,
                      augment=args.augment,
                      seed=args.seed, stop_patience=15, plateau_patience=5)
    model, rep = train_model(random, n_shells=6, **arch, split_by="composition", test=test, config=cfg)
    out = {"source": source, "device": torch.cuda.get_device_name() if cuda else "cpu", "threads": args.threads,
           "augment": args.augment,
           "architecture": arch,
           "n_train": rep["n_train"], "n_val": rep["n_val"], "val_mae": rep["best_val_mae"],
           "epochs": rep["epochs_run"], "train_seconds": rep["seconds"], "held_out": {}}
    held = {c: [r for r in random if composition_key(r.composition) == c] for c in rep["test_groups"]}
    seen = [r for r in random if composition_key(r.composition) not in held]
    means = {s: np.mean([r.barrier_forward for r in seen if r.moving_species == s])
             for s in {r.moving_species for r in seen}}
    overall = float(np.mean([r.barrier_forward for r in seen]))

    def yardsticks(rs):
        """MAE of guessing the training mean, and the training mean of the moving species."""
        y = np.array([r.barrier_forward for r in rs])
        by_species = np.array([means.get(r.moving_species, overall) for r in rs])
        return {"mae_training_mean": float(np.abs(y - overall).mean()),
                "mae_species_mean": float(np.abs(y - by_species).mean())}

    results = {}
    for c, rs in held.items():
        res = evaluate_model(model, rs)
        results[c] = res
        out["held_out"][c] = {"n": res["n"], "mae": res["mae"], **yardsticks(rs),
                              "by_moving_species": res["by_moving_species"]}
        print(c, out["held_out"][c], flush=True)
    if args.csro is None and CSRO_DATASET.exists():
        args.csro = CSRO_DATASET
    if args.csro:
        csro = [r for r in open_records(args.csro) if np.isfinite(r.barrier_forward)]
        out["csro_source"] = Path(args.csro).name
    if csro:
        res = evaluate_model(model, csro)
        out["csro"] = {"n": res["n"], "mae": res["mae"], **yardsticks(csro), "by_sample": res["by_sample"],
                       "by_moving_species": res["by_moving_species"]}
        print("CSRO", out["csro"], flush=True)
        results["CSRO"] = res
    else:
        out["csro"] = "no CSRO samples in the data (pass --csro DATASET)"
    plot(results, out)
    return out


def plot(results, out) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    species = sorted({s for r in results.values() for s in r.moving_species})
    fig, axes = plt.subplots(len(results), len(species), figsize=(3.2 * len(species), 2.6 * len(results)),
                             squeeze=False)
    for row, (name, res) in zip(axes, results.items()):
        sp = np.array(res["moving_species"])
        every = np.concatenate([res["true"], res["pred"]])
        bins = np.linspace(every.min(), every.max(), 25)
        for ax, s in zip(row, species):
            m = sp == s
            if not m.any():
                ax.axis("off")
                continue
            ax.hist(res["true"][m], bins=bins, alpha=0.6, color="C0", label="NEB")
            h, e = np.histogram(res["pred"][m], bins=bins)
            ax.step(e[1:], h, color="C3", label="CNN")
            ax.set_title(f"{name[:24]}: {s}, MAE {np.abs(res['true'][m] - res['pred'][m]).mean() * 1000:.0f} meV",
                         fontsize=8)
            ax.set_xlabel("barrier (eV)", fontsize=8)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"held-out compositions ({out['source'][:40]}, {out['device']})", fontsize=9)
    fig.tight_layout()
    fig.savefig(RESULTS / "cnn_heldout_spectra.png", dpi=110)


if __name__ == "__main__":
    write("cnn_heldout", {"argv": sys.argv[1:], **main()})
