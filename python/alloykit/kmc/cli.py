"""``alloykit kmc``: lattice kinetic Monte Carlo of vacancies with a barrier model."""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from .. import cliopts
from ..errors import InputError

EXAMPLES = """examples:
  # constant barrier: the analytic check (D_v = z Gamma d1^2 / 6, f = 0.727 in BCC)
  alloykit kmc --lattice bcc --a 2.8665 --size 20 --composition Fe=1 --barrier constant:0.65 \\
      --temperature 700 --steps 100000 --out kmc_const
  # Fe-20Cr with a trained CNN (alloykit cnn train ...), 4 vacancies, SRO every 10000 steps
  alloykit kmc --lattice bcc --a 2.8665 --size 30 --composition Fe=0.8,Cr=0.2 --vacancies 4 \\
      --barrier cnn:vmeb_model --temperature 700 --steps 200000 --sro-every 10000 --out kmc_fecr
  # the linear baseline fitted on an NEB dataset, starting from a structure file
  alloykit kmc --structure aged.extxyz --remove 0 --barrier linear:fecr_neb.sqlite --steps 1e6
  # continue a run from its checkpoint, up to 2e6 steps in all
  alloykit kmc --resume --out kmc_fecr --steps 2e6

outputs in --out: observables.jsonl (time, MSDs, D, f, Warren-Cowley alpha per sample),
trajectory.dump (with --trajectory-every), checkpoint.npz, summary.json, kmc.png.
"""

CLI_FILE = "kmc_cli.json"


def barrier_model(spec: str, seed: int = 0, remember: int = 100_000):
    """A barrier model from a CLI spec: ``constant:E`` (eV), ``cnn:MODEL_DIR`` (remembering
    the barriers of up to ``remember`` seen environments), ``linear:DATASET[:SHELLS]`` (the
    LR baseline fitted on an NEB dataset, default 3 shells)."""
    from . import barriers

    kind, _, rest = str(spec).partition(":")
    if kind == "constant":
        try:
            value = float(rest)
        except ValueError:
            raise InputError(f"--barrier: constant:E needs a number in eV, got {rest!r}") from None
        if not math.isfinite(value):
            raise InputError(f"--barrier: {value} is not a finite barrier")
        return barriers.ConstantBarrier(value)
    if kind == "cnn" and rest:
        from ..cnn import load

        return barriers.CNNBarrier(load(rest), remember=remember)
    if kind == "linear" and rest:
        from ..cnn import open_records

        path, _, shells = rest.partition(":")
        try:
            n_shells = int(shells or 3)
        except ValueError:
            raise InputError(f"--barrier: linear:DATASET[:SHELLS] needs an integer SHELLS, got {shells!r}") from None
        return barriers.LinearBarrier.fit(open_records(path), n_shells)
    raise InputError(f"--barrier: {spec!r} is not constant:E, cnn:MODEL_DIR or linear:DATASET[:SHELLS]")


def _state(args):
    from ..structures import read_structure
    from .state import random_state, state_from_atoms

    if args.structure:
        atoms = read_structure(args.structure, species=args.species)
        return state_from_atoms(atoms, vacancies=args.remove, lattice=args.lattice, replicas=args.replicas)
    if not (args.lattice and args.composition and args.a):
        raise InputError("sample: give --structure FILE, or --lattice, --composition and --a")
    seed = args.seed if args.sample_seed is None else args.sample_seed
    return random_state(args.lattice, args.a, args.size if len(args.size) == 3 else args.size[0], args.composition,
                        args.vacancies, args.replicas, seed)


def run(args) -> int:
    from .run import resume_kmc, run_kmc

    out = Path(args.out)
    if args.resume:
        saved = out / CLI_FILE
        if not saved.is_file():
            raise InputError(f"--resume: {out} holds no KMC run ({CLI_FILE} missing)")
        was = json.loads(saved.read_text())
        spec = args.barrier or was["barrier"]
        res = resume_kmc(out, barrier_model(spec, remember=was.get("remember", args.remember)), args.steps,
                         progress=not args.quiet)
    else:
        if not args.barrier:
            raise InputError("--barrier: required (constant:E, cnn:MODEL_DIR or linear:DATASET)")
        if args.steps is None:
            raise InputError("--steps: required")
        model = barrier_model(args.barrier, args.seed, args.remember)
        state = _state(args)
        out.mkdir(parents=True, exist_ok=True)
        (out / CLI_FILE).write_text(json.dumps({"barrier": args.barrier, "remember": args.remember}) + "\n")
        res = run_kmc(state, model, args.temperature, args.steps, nu=args.nu, seed=args.seed, out=out,
                      sample_every=args.sample_every, sro_every=args.sro_every, sro_shells=args.shells,
                      checkpoint_every=args.checkpoint_every, trajectory_every=args.trajectory_every,
                      progress=not args.quiet)
    fin = res["final"]
    if not args.quiet:
        f = ", ".join(f"{s} {v:.4f}" for s, v in fin["f"].items() if v is not None)
        print(f"{res['steps']} steps x {res['replicas']} replica(s), t = {fin['time']:.4e} s; "
              f"D_vacancy = {fin['D_vacancy']:.4e} cm^2/s; f: {f}; "
              f"{res['ms_per_jump'] or float('nan'):.4f} ms per jump -> {out}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("kmc", help="lattice kinetic Monte Carlo of vacancies (BKL) with a barrier model",
                       description="Residence-time (BKL) kinetic Monte Carlo of vacancies on a BCC/FCC lattice with "
                       "rates nu*exp(-E/kT) from a barrier model; samples MSDs, diffusion coefficients, "
                       "correlation factors and Warren-Cowley SRO; checkpoints that resume exactly.",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
                       parents=[cliopts.common(), cliopts.species(),
                                cliopts.structure(False, "starting structure (its empty sites are vacancies); "
                                                         "or build a random one with --lattice"),
                                cliopts.lattice(None, "lattice kind"), cliopts.seed(), cliopts.out("kmc_out")])
    g = p.add_argument_group("sample (or --structure, or --resume)")
    g.add_argument("--composition", help="e.g. Fe=0.8,Cr=0.2 or Fe80Cr20")
    g.add_argument("--size", type=cliopts.positive_int, nargs="+", default=[20], help="cubic cells per axis (1 or 3 ints)")
    g.add_argument("--a", type=cliopts.positive_float, help="lattice parameter (A)")
    g.add_argument("--vacancies", type=cliopts.positive_int, default=1, help="vacancies in a random sample (default 1)")
    g.add_argument("--remove", type=cliopts.nonneg_int, nargs="+", help="with --structure: atoms to remove as vacancies")
    g.add_argument("--replicas", type=cliopts.positive_int, default=1, help="independent copies stepped together (default 1)")
    g.add_argument("--sample-seed", type=cliopts.nonneg_int, help="seed of the random occupation (default: --seed)")
    g = p.add_argument_group("kinetics")
    g.add_argument("--barrier", help="constant:E | cnn:MODEL_DIR | linear:DATASET[:SHELLS]")
    g.add_argument("--temperature", type=cliopts.number_in(float, lo=0, hi=1e5, lo_open=True, name="temperature in (0, 1e5] K"), default=700.0, help="K (default 700)")
    g.add_argument("--nu", type=cliopts.number_in(float, lo=0, hi=1e20, lo_open=True, name="frequency in (0, 1e20] Hz"), default=1e13, help="attempt frequency, Hz (default 1e13)")
    g.add_argument("--steps", type=cliopts.nonneg_int, help="KMC steps (events per replica), e.g. 1e6")
    g.add_argument("--remember", type=cliopts.nonneg_int, default=100_000,
                   help="cnn: barriers of up to this many seen vacancy environments are kept and reused "
                        "(default 100000, a few tens of MB; 0: predict every jump)")
    g = p.add_argument_group("output")
    g.add_argument("--sample-every", type=cliopts.nonneg_int, help="steps between samples (default steps/100)")
    g.add_argument("--sro-every", type=cliopts.nonneg_int, help="steps between SRO samples (default: --sample-every; 0: none)")
    g.add_argument("--shells", type=cliopts.number_in(int, lo=1, hi=3, name="shell count 1-3"), default=2, help="SRO shells (1-3, default 2)")
    g.add_argument("--checkpoint-every", type=cliopts.nonneg_int, default=0, help="steps between checkpoints (0: end only)")
    g.add_argument("--trajectory-every", type=cliopts.nonneg_int, default=0, help="steps between dump frames (0: none)")
    g.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.set_defaults(func=run)
