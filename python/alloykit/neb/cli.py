"""``alloykit neb run|status|export|spectrum``: vacancy-migration barrier datasets."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .. import cliopts
from ..errors import InputError

# ranks one command may ask mpiexec for: --replicas x --groups above this is refused
MAX_REPLICAS, MAX_GROUPS, MAX_RANKS = 64, 64, 256

EXAMPLES = """examples:
  # 8 barriers around each of 4 random sites of one Fe-20Cr sample, 11 replicas, here:
  alloykit neb run fecr.sqlite --composition Fe=0.8,Cr=0.2 --size 5 --sites 4 --potential FeCr
  # the paper's kind of set: a ternary grid, 10 sites per sample, two NEBs at a time
  mpiexec -n 22 alloykit neb run grid.sqlite --grid Fe,Cr,Ni --step 0.25 --lattice bcc \\
      --size 10 --sites 10 --potential MoCoNiVFeAlCr --replicas 11
  # CSRO samples from 'alloykit csro mcmd' (last frame of each dump), relaxed first
  alloykit neb run csro.sqlite --structure aged/dump.mcmd --frames -1 --species Fe Cr \\
      --potential FeCr --relax-samples
  # killed? rerun the same command: finished vacancies are kept, the rest is computed
  alloykit neb status fecr.sqlite
  alloykit neb export fecr.sqlite -o fecr.jsonl
  alloykit neb spectrum fecr.sqlite -o fecr_spectrum.png
"""


def _settings(args):
    from .driver import NebSettings

    return NebSettings.protocol(args.protocol, args.potential, replicas=args.replicas, spring=args.spring,
                                ftol=args.ftol, relax_ftol=args.relax_ftol, n1=args.n1, n2=args.n2, box=args.box,
                                env_cutoff=args.env_cutoff)


def _sites(text: str):
    text = text.strip()
    if text == "all":
        return "all"
    if "," not in text:
        try:
            return int(text)
        except ValueError:
            raise InputError(f"--sites: {text!r} is not 'all', a count or a list like 0,5,9") from None
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise InputError(f"--sites: {text!r} is not a comma-separated list of atom indices") from None


def _samples(args):
    from . import samples as smp

    lattice = args.lattice or "bcc"    # of generated samples; files: detected (or checked against --lattice)
    if args.structure:
        out = smp.file_samples(args.structure, args.frames, args.species)
        recipe = {"kind": "files", "files": [str(p) for p in args.structure], "frames": args.frames}
    elif args.grid:
        out = smp.grid_samples(args.grid.split(","), args.step, lattice, args.size, args.a, args.per_composition,
                               args.min_fraction, args.seed)
        recipe = {"kind": "grid", "elements": args.grid, "step": args.step, "min_fraction": args.min_fraction}
    else:
        comp = smp.parse_composition(args.composition or "Fe=0.8,Cr=0.2")
        out = [(f"{smp.composition_label(comp)}-{r}",
                smp.random_solid_solution(lattice, comp, args.size, args.a, smp.sample_seed(args.seed, r)))
               for r in range(args.per_composition)]
        recipe = {"kind": "composition", "composition": comp}
    recipe.update(lattice=lattice, size=args.size, a=args.a, per_composition=args.per_composition,
                  relax_samples=args.relax_samples)
    if args.relax_samples:
        from mpi4py import MPI

        from ..lmp import relax

        # one rank plans: its LAMMPS must not wait for the others
        out = [(sid, smp.plain_atoms(relax(a, args.potential, box="aniso", ftol=1e-6, comm=MPI.COMM_SELF)))
               for sid, a in out]
    return out, recipe


def _plan(args) -> dict:
    from .farm import plan_dataset

    settings = _settings(args)
    samples, recipe = _samples(args)
    return plan_dataset(args.dataset, samples, _sites(args.sites), settings, args.seed, recipe,
                        lattice=args.lattice if args.structure else None)


def run_cmd(args) -> int:
    from mpi4py import MPI

    from ..parallel import QUICK_S, on_root
    from .farm import launch, run_farm

    comm = MPI.COMM_WORLD
    if comm.Get_size() == 1:
        replicas = _settings(args).replicas
        if replicas * args.groups > MAX_RANKS:
            raise InputError(f"--replicas {replicas} x --groups {args.groups} = {replicas * args.groups} "
                             f"MPI ranks; more than the {MAX_RANKS} one command starts (use mpiexec yourself)")
        plan = _plan(args)
        if not args.quiet:
            print(f"[neb] {'planned' if plan['created'] else 'resuming'} {args.dataset}: {plan['tasks']} vacancies",
                  file=sys.stderr, flush=True)
        launch(args.dataset, args.groups, quiet=args.quiet)
    else:
        # rank 0 plans (relaxing samples may take long: more time before the watchdog); the
        # others wait, sleeping, and every rank ends with rank 0's error if it fails
        on_root(comm, "planning the dataset", _plan, args, limit=QUICK_S * (6 if args.relax_samples else 1))
        run_farm(args.dataset, comm, progress=not args.quiet)
    status = on_root(comm, "writing the dataset's status", _status, args.dataset)
    if comm.Get_rank() == 0:
        _emit(status, args.json)
    return 0


def _status(dataset) -> dict:
    from .store import Dataset

    with Dataset(dataset) as ds:
        status = ds.status()
    png = Path(dataset).with_suffix("").as_posix() + "_spectrum.png"
    _spectrum_png(dataset, png)
    status["spectrum_png"] = png
    return status


def _spectrum_png(dataset, png) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plots import spectrum

    fig, summary = spectrum(dataset, png)
    plt.close(fig)
    return summary


def _emit(obj: dict, json_out) -> None:
    text = json.dumps(obj, indent=1, default=str)
    if json_out:
        Path(json_out).write_text(text + "\n")
    print(text)


def status_cmd(args) -> int:
    from .store import Dataset

    with Dataset(args.dataset) as ds:
        _emit(ds.status(), args.json)
    return 0


def export_cmd(args) -> int:
    from .store import Dataset

    with Dataset(args.dataset) as ds:
        out = ds.export(args.output, converged_only=not args.all)
        _emit({"output": str(out), "records": ds.count(not args.all)}, None)
    return 0


def spectrum_cmd(args) -> int:
    from .store import Dataset

    Dataset(args.dataset).close()    # a missing or foreign file: one line, before matplotlib
    out = args.output or Path(args.dataset).with_suffix("").as_posix() + "_spectrum.png"
    summary = _spectrum_png(args.dataset, out)
    summary["png"] = str(out)
    _emit(summary, args.json)
    return 0


def register(sub) -> None:
    p = sub.add_parser("neb", help="vacancy-migration barriers (climbing-image NEB) and their datasets",
                       description=__doc__, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    nsub = p.add_subparsers(dest="neb_command", metavar="SUBCOMMAND", required=True)

    r = nsub.add_parser("run", help="build or resume a barrier dataset (works under mpiexec)",
                        parents=[cliopts.common(), cliopts.species(), cliopts.seed(), cliopts.potential(),
                                 cliopts.lattice(None, "lattice kind of generated samples (bcc when not given) "
                                                       "and, when given, of --structure files")],
                        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
                        description="Plan samples x vacancy sites into DATASET (SQLite) and compute every hop. "
                                    "Under 'mpiexec -n N', N/R groups of R=--replicas ranks run NEBs side by side; "
                                    "without it, --groups x R ranks are started with mpiexec.")
    r.add_argument("dataset", help="dataset file (SQLite), created or resumed")
    src = r.add_mutually_exclusive_group()
    src.add_argument("--composition", help="one composition, e.g. Fe=0.8,Cr=0.2 (the default)")
    src.add_argument("--grid", metavar="ELEMENTS", help="composition grid over these elements, e.g. Fe,Cr,Ni")
    src.add_argument("--structure", nargs="+", metavar="FILE",
                     help="samples from files (extxyz, POSCAR, LAMMPS dump or data, .gz too); typed LAMMPS files "
                          "need --species")
    r.add_argument("--step", type=cliopts.number_in(float, 0, 1, lo_open=True), default=0.25, help="grid step (fractions multiple of it; default 0.25)")
    r.add_argument("--min-fraction", type=cliopts.number_in(float, 0, 1, hi_open=True), default=0.0, help="grid: drop compositions with a smaller fraction")
    r.add_argument("--per-composition", type=cliopts.positive_int, default=1, help="random samples per composition (default 1)")
    r.add_argument("--size", type=cliopts.positive_int, default=5, help="cubic cells per edge (default 5: 250 BCC atoms)")
    r.add_argument("--a", type=cliopts.positive_float, help="lattice parameter, A (default: Vegard's law; the box is relaxed)")
    r.add_argument("--frames", default=":", help="frames of --structure files: index or slice (default all)")
    r.add_argument("--relax-samples", action="store_true", help="relax each sample (positions and box) first")
    r.add_argument("--sites", default="all", help="vacancy sites per sample: all, a count (random), or i,j,k")
    r.add_argument("--protocol", choices=["reference", "fast"], default="reference",
                   help="reference: the paper's NEB (11 replicas, ftol 0.001 eV/A); fast: one climbing image, "
                        "ftol 0.01 eV/A, end states to 1e-4 eV/A (validated on Ta-Nb-Mo, single-humped paths "
                        "only); the options below override either")
    r.add_argument("--replicas", type=cliopts.number_in(int, 3, MAX_REPLICAS), help="NEB replicas = MPI ranks per NEB (reference: 11)")
    r.add_argument("--groups", type=cliopts.number_in(int, 1, MAX_GROUPS), default=1, help="NEBs at a time when not under mpiexec (default 1)")
    r.add_argument("--spring", type=cliopts.positive_float, help="NEB spring, eV/A (default 5)")
    r.add_argument("--ftol", type=cliopts.positive_float, help="NEB force tolerance, eV/A (reference: 0.001)")
    r.add_argument("--relax-ftol", type=cliopts.positive_float, help="end-state force tolerance, eV/A (reference: 1e-6)")
    r.add_argument("--n1", type=cliopts.positive_int, help="step budget, plain NEB stage (default 1000)")
    r.add_argument("--n2", type=cliopts.positive_int, help="step budget, climbing-image stage (default 1000)")
    r.add_argument("--box", choices=["aniso", "iso", "none"], help="initial-state box relaxation (default aniso)")
    r.add_argument("--env-cutoff", type=cliopts.number_in(float, 0, 30, lo_open=True), help="radius of the stored environment, A (default 8)")
    r.add_argument("--json", metavar="FILE", help="also write the final status here")
    r.set_defaults(func=run_cmd)

    s = nsub.add_parser("status", help="progress and barrier statistics of a dataset", parents=[cliopts.common()])
    s.add_argument("dataset")
    s.add_argument("--json", metavar="FILE", help="also write it here")
    s.set_defaults(func=status_cmd)

    e = nsub.add_parser("export", help="write a dataset as JSON lines (.jsonl) or CSV (.csv)",
                        parents=[cliopts.common()])
    e.add_argument("dataset")
    e.add_argument("-o", "--output", metavar="FILE", required=True,
                   help="out.jsonl (one hop record per line, environments included) or out.csv")
    e.add_argument("--all", action="store_true", help="include flagged records (default: usable barriers only)")
    e.set_defaults(func=export_cmd)

    sp = nsub.add_parser("spectrum", help="histogram of barriers per moving species (PNG + JSON)",
                         parents=[cliopts.common()])
    sp.add_argument("dataset")
    sp.add_argument("-o", "--output", metavar="FILE", help="PNG file (default DATASET_spectrum.png)")
    sp.add_argument("--json", metavar="FILE", help="also write the summary here")
    sp.set_defaults(func=spectrum_cmd)
