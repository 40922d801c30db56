"""``alloykit mcmd`` (hybrid MC/MD run) and ``alloykit sro`` (short-range order of files)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .. import cliopts
from ..errors import InputError

MCMD_EXAMPLES = """examples:
  # the paper's protocol (30 swaps / 100 steps, 300 K) on a random Fe-20Cr BCC sample
  alloykit mcmd --lattice bcc --composition Fe=0.8,Cr=0.2 --size 10 --a 2.8665 \\
      --potential FeCr --steps 20000 --out aged
  # faster ageing at 600 K, stop when the PE has converged, frames every 5000 steps
  alloykit mcmd --structure start.data --species Fe Cr --potential FeCr --temperature 600 \\
      --swap-every 20 --until-converged --dump-every 5000 --out aged600
  # predicted vacancy-migration barrier spectra every 1000 steps (trained CNN, alloykit cnn train)
  alloykit mcmd --lattice bcc --composition Fe=0.8,Cr=0.2 --size 8 --potential FeCr \\
      --barrier-model vmeb_model --spectra-every 1000 --out aged_spectra
  # continue a stopped run from its last checkpoint (same protocol, more steps allowed)
  alloykit mcmd --resume --out aged --steps 40000
  # in parallel (LAMMPS domain decomposition)
  mpiexec -n 2 alloykit mcmd --lattice fcc --composition Cu=0.5,Ni=0.5 --size 8 \\
      --potential-file CuNi.eam.alloy --pair-style eam/alloy --out cuni

outputs in --out: summary.json, records.jsonl (PE, acceptance, SRO per record), mcmd.png
(PE and delta vs step), spectra.png (barrier spectra per moving species), checkpoint.json with its
checkpoint.<step>.restart, dumps/, initial.extxyz, final.extxyz, logs.
"""

SRO_EXAMPLES = """examples:
  alloykit sro aged/final.extxyz
  alloykit sro aged/dumps/frame.*.lammpstrj.gz --shells 3 --out sro_aged
  alloykit sro run.dump.gz --species Ta Nb Mo --every 10      # types 1,2,3 = Ta,Nb,Mo
  alloykit sro glassy.data --species Cu Zr --method histogram
  alloykit sro hot.dump --species Fe Cr --lattice bcc       # insist on BCC

outputs in --out: sro.json (alpha, delta, pair counts, random-alloy sigma per shell and
pair, for every frame) and sro.png.
"""


# argparse options that map one-to-one on McmdSettings fields (None: not given)
SETTING_ARGS = ("temperature", "steps", "timestep", "ensemble", "pressure", "swap_every", "swap_trials",
                "record_every", "checkpoint_every", "dump_every", "shells", "converge_window", "converge_tol",
                "seed", "barrier_model", "spectra_every", "spectra_range", "spectra_bins")


def _potential(args, elements):
    """The potential of the run: a named one, a file with its pair style, or (resume
    only) None for the run's own."""
    from ..lmp import Potential

    if args.potential_file:
        if args.potential:
            raise InputError("potential: give --potential NAME or --potential-file FILE, not both")
        if not args.pair_style:
            raise InputError("pair-style: needed with --potential-file (e.g. eam/alloy)")
        return Potential.custom(args.pair_style, "* * {file:0} {elements}", elements,
                                [args.potential_file], name=Path(args.potential_file).name)
    if not args.potential and not args.resume:
        raise InputError("potential: give --potential NAME (see 'alloykit potentials') "
                         "or --potential-file FILE --pair-style STYLE")
    return args.potential


def _sample(args):
    from ..structures import random_solid_solution, read_structure

    if args.structure:
        return read_structure(args.structure, args.species)
    if not (args.lattice and args.composition):
        raise InputError("structure: give --structure FILE, or --lattice and --composition (or --resume)")
    size = args.size[0] if len(args.size) == 1 else tuple(args.size)
    seed = args.seed if args.sample_seed is None else args.sample_seed
    return random_solid_solution(args.lattice, args.composition, size, args.a, seed or 0)


def run_mcmd_cli(args) -> int:
    from ..parallel import agree, world
    from .mcmd import McmdSettings, run_mcmd
    from .plots import plot_mcmd

    comm = world()
    given = {k: getattr(args, k) for k in SETTING_ARGS if getattr(args, k) is not None}
    if given.get("barrier_model"):      # resumable from any folder
        given["barrier_model"] = str(Path(given["barrier_model"]).resolve())
    if args.until_converged:
        given["stop_when_converged"] = True
    if args.inherent:
        given["inherent"] = True
    if args.sgcmc_deltamu is not None:
        given["sgcmc"] = {"deltamu": args.sgcmc_deltamu, "every": args.sgcmc_every or given.get("swap_every", 100),
                          "fraction": args.sgcmc_fraction, "variance": args.sgcmc_variance}
    # every rank reads the input (a file one rank cannot read fails on every rank)
    with agree(comm, "reading the input"):
        # a resumed run keeps its saved settings; only options given here change them
        settings = None if args.resume else McmdSettings(**given)
        atoms = None if args.resume else _sample(args)
        if atoms is not None:
            elements = args.species or sorted(set(atoms.get_chemical_symbols()))
        else:
            saved = Path(args.out) / "settings.json"
            elements = json.loads(saved.read_text())["species"] if saved.exists() else (args.species or [])
        potential = _potential(args, elements)
    result = run_mcmd(atoms, potential, args.out, settings, resume=args.resume,
                      species=args.species, comm=comm, progress=not args.quiet, lattice=args.lattice,
                      **(given if args.resume else {}))
    if comm is None or comm.Get_rank() == 0:
        import matplotlib

        matplotlib.use("Agg")
        fig = plot_mcmd(result.records, shell=1, quantity=args.plot)
        fig.savefig(Path(args.out) / "mcmd.png", dpi=110, bbox_inches="tight")
        s = result.summary
        print(json.dumps({k: s[k] for k in ("status", "steps_done", "pe_first", "pe_last", "converged_at_step",
                                            "sro_last", "wall_s")}, indent=1))
    return 0


def run_sro_cli(args) -> int:
    from ..structures import read_frames
    from .plots import plot_sro, plot_sro_frames
    from .sro import sro_frames

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    every = max(1, args.every)
    report, all_results, labels = [], [], []
    for path in args.files:
        frames = list(read_frames(path, args.species, index=slice(0, None, every)))
        results = list(sro_frames(frames, args.shells, args.species, args.method, args.lattice))
        entries = []
        for atoms, r in zip(frames, results):
            d = r.to_dict()
            d.update(frame=atoms.info["frame"], timestep=atoms.info.get("timestep"))
            entries.append(d)
            all_results.append(r)
            labels.append(f"{Path(path).name}#{d['frame']}")
            first = {p: v[0] for p, v in d["alpha"].items() if p.split("-")[0] <= p.split("-")[1]}
            if not args.quiet:
                print(f"{path} frame {d['frame']}: {d['structure'] or d['method']} "
                      f"a={d['lattice_parameter'] or float('nan'):.4f} alpha_1 " +
                      " ".join(f"{p}={'nan' if v is None else f'{v:+.4f}'}" for p, v in first.items()))
        report.append({"file": str(path), "frames": entries})
        # written after every file: a later bad file keeps what is done
        (out / "sro.json").write_text(json.dumps({"files": report}, indent=1))
    import matplotlib

    matplotlib.use("Agg")
    if len(all_results) > 3:
        fig = plot_sro_frames(all_results, shell=1)
    else:
        fig = plot_sro(all_results, labels)
    fig.savefig(out / "sro.png", dpi=110, bbox_inches="tight")
    return 0


def _mcmd_parser(sub):
    p = sub.add_parser("mcmd", help="hybrid MC/MD in LAMMPS to grow chemical short-range order",
                       description="Hybrid MC/MD in LAMMPS: Nose-Hoover MD (NVT, or NPT at zero pressure) plus "
                       "fix atom/swap for every species pair (paper defaults: 300 K, 30 trials every 100 steps), "
                       "optionally fix sgcmc. Records PE, acceptance and SRO; checkpoints; exact resume.",
                       epilog=MCMD_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
                       parents=[cliopts.common(), cliopts.species(),
                                cliopts.structure(False, "starting structure file: extxyz, POSCAR, LAMMPS data "
                                                         "or dump (.gz too); or build one with --lattice"),
                                cliopts.lattice(None, "lattice kind of the random solid solution (with "
                                                      "--composition), and of the SRO shells"),
                                cliopts.potential(required=False), cliopts.seed(), cliopts.out("mcmd_out")])
    # None: not given (a resumed run keeps its own seed; a fresh one uses the default 0)
    p.set_defaults(seed=None)
    g = p.add_argument_group("sample (or --structure, or --resume)")
    g.add_argument("--composition", help="e.g. Fe=0.8,Cr=0.2 or Fe80Cr20")
    g.add_argument("--size", type=cliopts.positive_int, nargs="+", default=[10], help="cubic cells per axis (1 or 3 ints)")
    g.add_argument("--a", type=cliopts.positive_float, help="lattice parameter (A); default: Vegard from ASE references")
    g.add_argument("--sample-seed", type=cliopts.nonneg_int, help="seed of the random occupation (default: --seed)")
    g = p.add_argument_group("potential (or --potential NAME)")
    g.add_argument("--potential-file", help="a potential file (used with --pair-style, elements = species)")
    g.add_argument("--pair-style", help="pair style for --potential-file, e.g. eam/alloy or eam/fs")
    g = p.add_argument_group("protocol")
    g.add_argument("--temperature", type=cliopts.positive_float, help="K (default 300)")
    g.add_argument("--steps", type=cliopts.positive_int, help="MD steps (default 20000)")
    g.add_argument("--timestep", type=cliopts.number_in(float, 0, 0.1, lo_open=True), help="ps (default 0.002)")
    g.add_argument("--ensemble", choices=["nvt", "npt"], help="nvt (default) or npt: isotropic, at --pressure")
    g.add_argument("--pressure", type=cliopts.finite_float, help="bar, for npt (default 0)")
    g.add_argument("--swap-every", type=cliopts.positive_int, help="MD steps between swap calls (default 100)")
    g.add_argument("--swap-trials", type=cliopts.nonneg_int, help="trials per species pair per call (default 30)")
    g.add_argument("--sgcmc-deltamu", type=cliopts.finite_float, nargs="+", help="add fix sgcmc with mu_1-mu_k (eV), k=2..N")
    g.add_argument("--sgcmc-every", type=cliopts.positive_int, help="steps between sgcmc calls (default: --swap-every)")
    g.add_argument("--sgcmc-fraction", type=cliopts.number_in(float, 0, 1, lo_open=True), default=0.1, help="fraction of a full MC sweep per call")
    g.add_argument("--sgcmc-variance", type=cliopts.finite_float, nargs="+", help="kappa c_2 ... c_N (variance-constrained)")
    g = p.add_argument_group("output")
    g.add_argument("--record-every", type=cliopts.positive_int, help="steps between records (default 1000)")
    g.add_argument("--checkpoint-every", type=cliopts.nonneg_int, help="steps between restart files (default 10000; 0: end only)")
    g.add_argument("--dump-every", type=cliopts.nonneg_int, help="steps between dump frames (default 0: none)")
    g.add_argument("--shells", type=cliopts.number_in(int, 0, 10), help="SRO shells recorded (default 3; 0: none)")
    g.add_argument("--converge-window", type=cliopts.number_in(int, 2), help="records per window of the PE test (default 10)")
    g.add_argument("--converge-tol", type=cliopts.positive_float, help="eV/atom drift allowed beyond noise (default 1e-4)")
    g.add_argument("--until-converged", action="store_true", help="stop once the PE has converged")
    g.add_argument("--inherent", action="store_true", help="also record the quenched (inherent) PE")
    g = p.add_argument_group("barrier spectra (compute mliap/unified/atom)")
    g.add_argument("--barrier-model", help="trained CNN model folder, or a model file for compute mliap/unified/atom")
    g.add_argument("--spectra-every", type=cliopts.positive_int, help="steps between barrier spectra (a multiple of --record-every)")
    g.add_argument("--spectra-range", type=cliopts.finite_float, nargs=2, metavar=("LO", "HI"),
                   help="histogram range in eV (default 0 2)")
    g.add_argument("--spectra-bins", type=cliopts.number_in(int, 1, 100000), help="histogram bins (default 80)")
    g = p.add_argument_group("plots")
    g.add_argument("--plot", choices=["delta", "alpha"], default="delta", help="SRO quantity in mcmd.png")
    g.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.set_defaults(func=run_mcmd_cli)


def _sro_parser(sub):
    p = sub.add_parser("sro", help="Warren-Cowley alpha and delta per shell of structures and dumps",
                       description="Chemical short-range order per neighbour shell and species pair: "
                       "Warren-Cowley alpha and delta = N_ab - N0_ab (pairs minus the random-mixture count).",
                       epilog=SRO_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
                       parents=[cliopts.common(), cliopts.species(), cliopts.lattice(None, "insist on this lattice"),
                                cliopts.out("sro_out")])
    p.add_argument("files", nargs="+", metavar="FILE", help="dumps (.gz too), data files, extxyz, ...")
    p.add_argument("--shells", type=cliopts.number_in(int, 1, 10), default=3, help="number of shells (default 3)")
    p.add_argument("--method", choices=["lattice", "histogram", "auto"], default="lattice",
                   help="shells from the BCC/FCC lattice (default), from distance gaps, or lattice then gaps")
    p.add_argument("--every", type=cliopts.positive_int, default=1, help="analyse every N-th frame")
    p.set_defaults(func=run_sro_cli)


def register(sub) -> None:
    _mcmd_parser(sub)
    _sro_parser(sub)
