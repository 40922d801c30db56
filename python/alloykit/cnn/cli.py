"""``alloykit cnn train|eval|predict|spectra``: the barrier CNN from the command line."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .. import cliopts
from ..errors import InputError

TRAIN_EXAMPLES = """examples:
  alloykit cnn train fecr_neb/ --out vmeb_model                 # paper-sized: 12 conv, 32^3 SDMs
  alloykit cnn train data.jsonl --test Fe=0.5,Cr=0.5 --blocks 1 --width 16 --grid6 16   # CPU-sized
  alloykit cnn train fecr_neb/ --split-by sample --test mc-0 --checkpoint run.ckpt   # resumable
"""
EVAL_EXAMPLES = """examples:
  alloykit cnn eval vmeb_model heldout_neb/ --out eval_out      # MAEs + spectra PNGs
  alloykit cnn eval vmeb_model csro_neb/ --symmetrize           # average over hop symmetries
"""
PREDICT_EXAMPLES = """examples:
  alloykit cnn predict vmeb_model sample.extxyz                 # every site, 8 barriers each (BCC)
  alloykit cnn predict vmeb_model dump.lammpstrj --species Cr Mo V --sites 0 17 42 --out hops
  alloykit cnn predict vmeb_model sample.data --species Fe Cr   # LAMMPS types 1, 2 -> Fe, Cr
"""
SPECTRA_EXAMPLES = """examples:
  alloykit cnn spectra vmeb_model --potential MoNbTaW           # ternary maps, step 0.1, a from SNAP
  alloykit cnn spectra vmeb_model --a-elements Ta=3.32,Nb=3.31,Mo=3.16 --step 0.05 --sites 100
  alloykit cnn spectra vmeb_model --line Mo --potential MoNbTaW # Ta(100-x)/2 Nb(100-x)/2 Mo(x)
  alloykit cnn spectra vmeb_model --elements Nb Ta --size 4 --sites 20 --threads 1   # a binary, quick
"""


def register(sub) -> None:
    p = sub.add_parser("cnn", help="3D CNN for vacancy migration barriers (train, eval, predict, spectra)",
                       description="3D CNN on spatial density maps for path-dependent vacancy migration "
                                   "barriers (Fan, Xing & Cao).")
    cmds = p.add_subparsers(dest="cnn_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])
    fmt = argparse.RawDescriptionHelpFormatter
    device = argparse.ArgumentParser(add_help=False)     # torch threads: every subcommand
    device.add_argument("--threads", type=cliopts.number_in(int, 1, 1024),
                        help="torch CPU threads (default: torch's; 1 is faster on a busy machine)")

    t = cmds.add_parser("train", help="train on an NEB dataset (or .jsonl records)", epilog=TRAIN_EXAMPLES,
                        formatter_class=fmt, description="Train the CNN; the split is by composition, "
                        "so test compositions are never seen in training.",
                        parents=[cliopts.common(), cliopts.out("vmeb_model"), cliopts.seed(), device])
    t.add_argument("dataset", help="NEB dataset (alloykit.neb) or a .jsonl(.gz) file of records")
    t.add_argument("--shells", type=cliopts.number_in(int, 1, 20), default=6, help="g(r) shells in the SDM (default 6, as the paper)")
    t.add_argument("--delta", type=cliopts.positive_float, help="voxel size and Gaussian width, A (default: from --grid6)")
    t.add_argument("--grid6", type=cliopts.number_in(int, 8, 256), default=32,
                   help="voxels per edge at 6 shells, sets Delta (default 32, the paper's; 16 for CPU runs)")
    t.add_argument("--blocks", type=cliopts.number_in(int, 1, 16), default=3, help="n: the CNN has 4n convolutions (default 3)")
    t.add_argument("--width", type=cliopts.number_in(int, 1, 4096), default=60, help="filters per convolution (default 60)")
    t.add_argument("--epochs", type=cliopts.positive_int, default=200)
    t.add_argument("--batch-size", type=cliopts.number_in(int, 2), help="default: the paper's 160/100/80/60 for 4/8/12/16 convolutions")
    t.add_argument("--lr", type=cliopts.positive_float, default=1e-3)
    t.add_argument("--patience", type=cliopts.positive_int, default=15, help="early-stopping patience, epochs")
    t.add_argument("--augment", default="rotation", choices=["none", "rotation", "symmetry", "both"])
    t.add_argument("--split-by", default="composition", choices=["composition", "sample", "vacancy"])
    t.add_argument("--test", nargs="+", metavar="GROUP", help="held-out compositions (Fe=0.5,Cr=0.5) or samples")
    t.add_argument("--n-test", type=cliopts.positive_int, default=1, help="held-out groups drawn at random if --test is not given")
    t.add_argument("--no-test", action="store_true", help="hold nothing out (validation only)")
    t.add_argument("--val-fraction", type=cliopts.open_fraction, default=0.1)
    t.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
    t.add_argument("--checkpoint", help="checkpoint file: written every epoch, resumed from if present")
    t.add_argument("--all-records", action="store_true", help="include unconverged NEB records")
    t.set_defaults(func=_train)

    e = cmds.add_parser("eval", help="MAE per composition/sample/species + spectra plots", epilog=EVAL_EXAMPLES,
                        formatter_class=fmt, description="Evaluate a model on a dataset's barriers.",
                        parents=[cliopts.common(), cliopts.out("cnn_eval"), device])
    e.add_argument("model", help="model folder written by 'alloykit cnn train'")
    e.add_argument("dataset", help="NEB dataset or .jsonl records")
    e.add_argument("--symmetrize", action="store_true", help="average predictions over the hop's symmetries")
    e.add_argument("--device", default="cpu")
    e.set_defaults(func=_eval)

    q = cmds.add_parser("predict", help="all first-neighbour barriers of vacancy sites of a structure",
                        epilog=PREDICT_EXAMPLES, formatter_class=fmt,
                        description="Predict the barriers of every hop into a vacancy at the chosen sites "
                                    "(unrelaxed environments; first neighbours from the lattice). Writes "
                                    "OUT/STEM_barriers.json and OUT/STEM_barriers.png.",
                        parents=[cliopts.common(), cliopts.species(), cliopts.out("cnn_predict"), device])
    q.add_argument("model", help="model folder written by 'alloykit cnn train'")
    q.add_argument("structure", help="extxyz, POSCAR, LAMMPS data or dump (.gz too); the last frame")
    q.add_argument("--sites", nargs="+", type=cliopts.nonneg_int, metavar="I", help="atom indices (0-based; default: all)")
    q.add_argument("--symmetrize", action="store_true", help="average predictions over the hop's symmetries")
    q.add_argument("--device", default="cpu")
    q.set_defaults(func=_predict)

    m = cmds.add_parser("spectra", help="barrier mean/std per moving species across compositions (maps, lines)",
                        epilog=SPECTRA_EXAMPLES, formatter_class=fmt,
                        description="Predict every first-neighbour hop at random vacancy sites of a seeded random\n"
                                    "solid solution per composition (unrelaxed environments), on a simplex grid\n"
                                    "over the model's elements (OUT/spectra_map.json/png: ternary contour maps,\n"
                                    "a line for a binary) or along --line (OUT/spectra_line.json/png).\n"
                                    "Lattice parameters: Vegard's law on --a-elements, on values relaxed with\n"
                                    "--potential (cached in the JSON), or else on ASE's reference volumes.",
                        parents=[cliopts.common(), cliopts.out("cnn_spectra"), cliopts.seed(),
                                 cliopts.potential(required=False), device])
    m.add_argument("model", help="model folder written by 'alloykit cnn train'")
    m.add_argument("--step", type=cliopts.number_in(float, 0, 1, lo_open=True), default=0.1,
                   help="grid step in fraction; must divide 1 (default 0.1)")
    m.add_argument("--min-fraction", type=cliopts.probability, default=0.0,
                   help="smallest fraction of every element (default 0: edges and corners included)")
    m.add_argument("--line", metavar="EL", help="a line instead of the map: EL at x = 0..100 at.%%, "
                                                "the other elements sharing the rest equally")
    m.add_argument("--elements", nargs="+", metavar="EL", help="a subset of the model's species (default: all)")
    m.add_argument("--size", type=cliopts.number_in(int, 1, 100), default=6,
                   help="conventional cubic cells per edge of each sample (default 6: 432 BCC atoms)")
    m.add_argument("--sites", type=cliopts.positive_int, default=50, help="random vacancy sites per sample (default 50)")
    m.add_argument("--a-elements", metavar="EL=A,...",
                   help="lattice parameter (A) of each element for Vegard's law, e.g. Ta=3.32,Nb=3.31,Mo=3.16")
    m.add_argument("--symmetrize", action="store_true", help="average predictions over the hop's symmetries")
    m.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ... (default cpu)")
    m.set_defaults(func=_spectra)


def _threads(args) -> None:
    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(args.threads)


def _records(path, converged_only=True):
    from .data import open_records

    recs = open_records(path, converged_only)
    if not recs:
        raise InputError(f"{path}: no barrier records")
    return recs


def _train(args) -> int:
    from .io import save
    from .pipeline import train_model
    from .train import TrainConfig

    _threads(args)
    recs = _records(args.dataset, not args.all_records)
    batch = args.batch_size or {1: 160, 2: 100, 3: 80}.get(args.blocks, 60)
    cfg = TrainConfig(epochs=args.epochs, batch_size=batch, lr=args.lr, stop_patience=args.patience,
                      augment=args.augment, seed=args.seed, device=args.device)
    model, report = train_model(recs, n_shells=args.shells, delta=args.delta, grid6=args.grid6, n=args.blocks,
                                width=args.width, split_by=args.split_by, test=[] if args.no_test else args.test,
                                n_test=args.n_test, val_fraction=args.val_fraction, config=cfg,
                                checkpoint=args.checkpoint, progress=not args.quiet)
    out = save(model, args.out)
    (out / "training.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"trained on {report['n_train']} barriers ({report['device']}, {report['seconds']} s): "
          f"best validation MAE {report['best_val_mae']:.4f} eV at epoch {report['best_epoch']}")
    for g, v in report.get("test_mae_by_group", {}).items():
        print(f"  held-out {g}: MAE {v['mae']:.4f} eV over {v['n']} barriers")
    print(f"wrote {out}/")
    return 0


def _eval(args) -> int:
    from .io import load
    from .pipeline import evaluate_model
    from .plots import parity_figure, spectra_figure

    _agg()
    _threads(args)
    model = load(args.model, args.device)
    res = evaluate_model(model, _records(args.dataset), args.symmetrize)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = {k: v for k, v in res.items() if k not in ("true", "pred", "moving_species", "composition", "sample_id")}
    (out / "eval.json").write_text(json.dumps(summary, indent=2) + "\n")
    _save(spectra_figure(res["true"], res["pred"], res["moving_species"], f"MAE {res['mae']:.4f} eV"),
          out / "spectra.png")
    _save(parity_figure(res["true"], res["pred"]), out / "parity.png")
    comps = sorted(set(res["composition"]))
    for c in comps if len(comps) > 1 else []:
        m = [k for k, x in enumerate(res["composition"]) if x == c]
        _save(spectra_figure(res["true"][m], res["pred"][m], [res["moving_species"][k] for k in m], c),
              out / f"spectra_{c}.png")
    print(f"MAE {res['mae']:.4f} eV over {res['n']} barriers")
    for c, v in res["by_composition"].items():
        print(f"  {c}: {v['mae']:.4f} eV ({v['n']})")
    print(f"wrote {out}/eval.json and spectra plots")
    return 0


def _predict(args) -> int:
    import numpy as np

    from ..structures import read_structure
    from .io import load
    from .plots import spectra_figure

    _agg()
    _threads(args)
    model = load(args.model, args.device)
    atoms = read_structure(args.structure, species=args.species)
    hops = model.predict_structure(atoms, args.sites, args.symmetrize, progress=not args.quiet)
    out = Path(args.out)
    prefix = out / (Path(args.structure).name.split(".")[0] + "_barriers")
    b = np.array([h["barrier"] for h in hops])
    sp = [h["moving_species"] for h in hops]
    stats = {s: {"mean": float(b[np.array(sp) == s].mean()), "std": float(b[np.array(sp) == s].std()),
                 "n": int(sp.count(s))} for s in sorted(set(sp))}
    doc = {"model": str(args.model), "structure": str(args.structure),
           "n_sites": len({h["vacancy_site"] for h in hops}),
           "environment": "unrelaxed", "by_moving_species": stats, "hops": hops}
    out.mkdir(parents=True, exist_ok=True)
    Path(f"{prefix}.json").write_text(json.dumps(doc, indent=1 if len(hops) <= 2000 else None) + "\n")
    if hops:
        _save(spectra_figure(None, b, sp, f"{args.structure}: {len(hops)} hops"), Path(f"{prefix}.png"))
    for s, v in stats.items():
        print(f"{s} moving: {v['n']} hops, mean {v['mean']:.3f} eV, std {v['std']:.3f} eV")
    print(f"wrote {prefix}.json and {prefix}.png")
    return 0


def _spectra(args) -> int:
    from .io import load
    from .spectra import composition_line, composition_map, figure

    _agg()
    _threads(args)
    if args.a_elements is not None and args.potential is not None:
        raise InputError("give --a-elements or --potential, not both")
    out = Path(args.out)
    stem = "spectra_line" if args.line else "spectra_map"
    model = load(args.model, args.device)
    kw = dict(step=args.step, min_fraction=args.min_fraction, elements=args.elements, size=args.size,
              sites=args.sites, seed=args.seed, a_elements=args.a_elements, potential=args.potential,
              cached=_cached_parameters(out / f"{stem}.json"), average_symmetries=args.symmetrize,
              progress=not args.quiet)
    res = composition_line(model, args.line, **kw) if args.line else composition_map(model, **kw)
    doc = {"model": str(args.model), **res}
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(doc, indent=1) + "\n")
    lp = res["lattice_parameters"]
    what = f"line of {args.line}" if args.line else f"{'-'.join(res['elements'])} map"
    _save(figure(res, f"{what}: {res['n_hops']} hops, {res['sites_per_sample']} sites x {res['n_compositions']} "
                      f"compositions"), out / f"{stem}.png")
    print(f"{res['n_compositions']} compositions, {res['n_hops']} hops in {res['predict_seconds']:.1f} s "
          f"({res['hops_per_second']} hops/s on {res['device']}); lattice parameters: {lp['source']}"
          + (" (cached)" if lp.get("cached") else ""))
    print(f"wrote {out / stem}.json and {out / stem}.png")
    return 0


def _cached_parameters(path: Path) -> dict | None:
    """The lattice parameters of an earlier run's JSON, if readable: relaxing again with the
    same potential would give the same values (spectra.element_lattice_parameters decides)."""
    try:
        lp = json.loads(path.read_text()).get("lattice_parameters")
    except (OSError, ValueError, AttributeError):
        return None
    return lp if isinstance(lp, dict) else None


def _agg() -> None:
    import matplotlib

    matplotlib.use("Agg")     # files only, no display needed


def _save(fig, path) -> None:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
