"""``alloykit grs``: generalized representative structures from the command line."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .. import cliopts

EXAMPLES = """examples:
  # a 32-atom cell reproducing an L1_2 AuCu3 crystal, on an FCC parent, chemical swaps only
  alloykit grs --target AuCu3.extxyz --natoms 32 --parent fcc:3.75 --allow-images --out grs_aucu3
  # a 54-atom liquid cell from an MD dump (positions free: displacements + LAMMPS cg)
  alloykit grs --target dump.liquid --natoms 54 --steps 400 --allow-images --out grs_liquid
  # a 16-atom Fe-Cr cell, composition given
  alloykit grs --target aged.extxyz --natoms 16 --composition Fe=0.8125,Cr=0.1875 \\
               --parent bcc:2.86 --allow-images --out grs_fecr
  # a LAMMPS dump with atom types only: name the element of each type
  alloykit grs --target dump.gz --species Fe Cr --natoms 16 --parent bcc:2.86 --allow-images --out grs_dump
  # a set of 8 cells (16 and 32 atoms) matching a DFT dataset together, with its coverage report;
  # rerun with a larger --ncells and the same --out to grow it
  alloykit grs --target Ta_*.extxyz --ncells 8 --natoms 16 32 --steps 300 --coverage --out ta_set
  # reverse GRS (paper Fig. 6): cells pushed away from a random alloy, weights -0.01,-0.01
  alloykit grs --target random_FeCrSiV.extxyz --reverse --ncells 4 --natoms 16 --parent bcc:2.85 \
               --allow-images --out reverse
"""


def _parent(text, species=None):
    """'fcc:A', 'bcc:A', 'sc:A', 'hcp:A' or a structure file."""
    import math

    from ase.build import bulk

    from ..errors import InputError
    from ..structures import read_structure

    if ":" in text and not Path(text).exists():
        kind, _, a = text.partition(":")
        if kind not in ("fcc", "bcc", "sc", "hcp"):
            raise InputError(f"--parent: unknown lattice {kind!r} (fcc, bcc, sc, hcp or a file)")
        try:
            a = float(a)
        except ValueError:
            raise InputError(f"--parent: lattice parameter {a!r} is not a number") from None
        if not (math.isfinite(a) and a > 0):
            raise InputError(f"--parent: lattice parameter {a} must be a positive length")
        # the primitive cell: any --natoms is then a whole number of parent cells, and the
        # most compact supercell is searched among all of them
        return bulk("X", kind, a=a)
    return read_structure(text, species=species)


def run(args) -> int:
    import ase.io
    import matplotlib

    matplotlib.use("Agg")
    from ..parallel import agree, make_folder, on_root, world
    from ..structures import parse_composition, write_lammps_data
    from . import GRSPotential, build_target, generate, read_structures

    # under mpiexec every rank builds the same cell (LAMMPS minimisations run over all of
    # them): the input is read and checked on every rank, agreed, so that a file one rank
    # cannot read fails everywhere with one message; rank 0 alone writes and reports
    comm = world()
    with agree(comm, "reading the input"):
        structures = read_structures(args.target, species=args.species)
        nmax, lmax, weights = (_numbers(getattr(args, k), k, t) for k, t in (("nmax", int), ("lmax", int),
                                                                            ("weights", float)))
        composition = parse_composition(args.composition) if args.composition else None
        parent = _parent(args.parent, args.species) if args.parent else None
        target = build_target(structures, nmax=nmax, lmax=lmax, rcut=args.rcut)
    out = make_folder(comm, args.out, "--out")
    on_root(comm, "writing target.json", target.save, out / "target.json")
    if args.reverse:
        if args.weights != "1,1":
            from ..errors import InputError

            raise InputError("--reverse sets the weights to -0.01,-0.01: give --weights or --reverse, not both")
        weights = (-0.01, -0.01)
    if args.ncells > 1 or len(args.natoms) > 1:
        return _run_set(args, comm, out, structures, target, composition, parent, weights)
    result = generate(target, args.natoms[0], composition=composition, parent=parent, steps=args.steps,
                      seed=args.seed, weights=weights, allow_images=args.allow_images, method=args.method,
                      population=args.population, comm=comm, progress=not args.quiet and (comm is None or comm.Get_rank() == 0))
    atoms = result.atoms
    atoms.calc = None

    def write():
        ase.io.write(out / "grs.extxyz", atoms)
        write_lammps_data(atoms, out / "grs.data", species=target.elements)
        ase.io.write(out / "POSCAR", atoms, format="vasp", direct=True, sort=True)
        pot = GRSPotential(target, weights)
        figs = __import__("alloykit.grs.plots", fromlist=["x"]).plot_target_vs_grs(pot, atoms, structures[:20])
        for k, fig in enumerate(figs):
            fig.savefig(out / ("moments.png" if k == 0 else "histograms.png"), dpi=110)
        summary = {"natoms": len(atoms), "formula": atoms.get_chemical_formula(), "loss": result.loss,
                   "steps": len(result.history), "hit_step": result.hit_step, "target_atoms": target.natoms,
                   "ndescriptors": pot.ace.ndescriptors, "seed": args.seed,
                   "pair_mismatch": result.pair_mismatch, "cell_lengths": atoms.cell.lengths().round(4).tolist(),
                   "files": ["grs.extxyz", "grs.data", "POSCAR", "target.json", "history.json", "moments.png"]}
        (out / "history.json").write_text(json.dumps({"loss": result.history}))
        (out / "summary.json").write_text(json.dumps(summary, indent=1))
        print(json.dumps(summary, indent=1))

    on_root(comm, f"writing the results in {out}", write)
    if args.coverage:
        on_root(comm, "writing coverage.json", _coverage, out, target, structures, [atoms])
    return 0


def _run_set(args, comm, out, structures, target, composition, parent, weights) -> int:
    """``--ncells``: a set (:func:`generate_set`) in out/set (resumed from it), its files and summary."""
    from ..parallel import on_root
    from .sets import generate_set, write_set

    grs_set = generate_set(target, args.ncells, list(args.natoms), composition=composition, parent=parent,
                           steps=args.steps, seed=args.seed, weights=weights, refine_passes=args.refine,
                           directory=out / "set", comm=comm, allow_images=args.allow_images,
                           progress=not args.quiet and (comm is None or comm.Get_rank() == 0))

    def write():
        write_set(grs_set, out / "set_lammps", "lammps-data", elements=target.elements)
        summary = {"ncells": len(grs_set.cells), "natoms": [len(c) for c in grs_set.cells],
                   "set_loss": grs_set.loss, "cell_losses": grs_set.cell_losses, "weights": list(weights),
                   "refine_passes": grs_set.refine_passes, "seed": args.seed,
                   "files": ["set/cell_*.extxyz", "set/set.json", "set_lammps/cell_*.data", "target.json"]}
        (out / "summary.json").write_text(json.dumps(summary, indent=1))
        print(json.dumps(summary, indent=1))

    on_root(comm, f"writing the set in {out}", write)
    if args.coverage:
        on_root(comm, "writing coverage.json", _coverage, out, target, structures, grs_set.cells)
    return 0


def _coverage(out, target, structures, cells) -> None:
    """coverage.json (PCA hull fraction, moment MAE) and coverage.png (histograms)."""
    from .coverage import coverage_report

    report = coverage_report(target, cells, structures, histograms=out / "coverage.png")    # descriptors once
    (out / "coverage.json").write_text(json.dumps(report, indent=1))
    print(json.dumps({"coverage": report}, indent=1))


def _numbers(text: str, option: str, kind):
    from ..errors import InputError

    try:
        return tuple(kind(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--{option}: {text!r} is not a comma-separated list of numbers") from None


def register(sub) -> None:
    p = sub.add_parser("grs", help="generalized representative structures matching a target's ACE descriptors",
                       description=__doc__, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
                       parents=[cliopts.common(), cliopts.species(), cliopts.seed()])
    p.add_argument("--target", nargs="+", required=True, help="structure files (extxyz, LAMMPS data/dump, POSCAR...)")
    p.add_argument("--natoms", type=cliopts.positive_int, nargs="+", required=True,
                   help="atoms in the GRS cell; with --ncells, sizes cycled over the cells")
    p.add_argument("--ncells", type=cliopts.positive_int, default=1,
                   help="a set of this many cells matching the target together (Eq. 14), written to OUT/set and "
                        "resumed or grown from it (default 1: one cell)")
    p.add_argument("--refine", type=cliopts.number_in(int, lo=0, hi=100, name="refine passes 0-100"), default=0,
                   help="joint passes over a set after it is built, each cell re-annealed against the others")
    p.add_argument("--reverse", action="store_true",
                   help="reverse GRS: weights -0.01,-0.01 (cells pushed away from the target, loss bounded)")
    p.add_argument("--coverage", action="store_true",
                   help="also write coverage.json/png: PCA hull fraction (Eq. 18) and moment MAE against the target")
    p.add_argument("--composition", help="Fe=0.8,Cr=0.2 or Fe80Cr20 (default: the target's); rounded to whole "
                                         "atoms with a note")
    p.add_argument("--parent", help="parent lattice 'fcc:A', 'bcc:A' or a structure file; the most compact "
                                    "supercell of --natoms atoms is used (default: a random dense cell, positions free)")
    p.add_argument("--steps", type=cliopts.positive_int, default=2000,
                   help="annealing steps, or generations with --method ga (default 2000)")
    p.add_argument("--method", choices=["sa", "ga"], default="sa",
                   help="sa: simulated annealing / pair-first search (default); ga: genetic algorithm")
    p.add_argument("--population", type=cliopts.number_in(int, lo=4, hi=10000, name="population 4-10000"),
                   default=20, help="cells per generation with --method ga (default 20)")
    p.add_argument("--weights", default="1,1", help="moment weights alpha_1,alpha_2[,...] (negative: reverse GRS)")
    p.add_argument("--nmax", default="8,2,2,1", help="radial truncation per rank (default the paper's 8,2,2,1)")
    p.add_argument("--lmax", default="0,2,2,1", help="angular truncation per rank (default 0,2,2,1)")
    p.add_argument("--rcut", type=cliopts.positive_float, help="one cutoff for all element pairs, A (default: from covalent radii)")
    p.add_argument("--allow-images", action="store_true", help="allow a cutoff above half the GRS cell")
    p.add_argument("--out", metavar="DIR", required=True, help="output folder")
    p.set_defaults(func=run)
