"""``alloykit grs``: generalized representative structures from the command line."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

EXAMPLES = """examples:
  # a 32-atom cell reproducing an L1_2 AuCu3 crystal, on an FCC parent, chemical swaps only
  alloykit grs --target AuCu3.extxyz --natoms 32 --parent fcc:3.75 --allow-images --out grs_aucu3
  # a 54-atom liquid cell from an MD dump (positions free: displacements + LAMMPS cg)
  alloykit grs --target dump.liquid --natoms 54 --steps 400 --allow-images --out grs_liquid
  # a 16-atom Fe-Cr cell, composition given
  alloykit grs --target aged.extxyz --natoms 16 --composition Fe=0.8125,Cr=0.1875 \\
               --parent bcc:2.86 --allow-images --out grs_fecr
"""


def _composition(text):
    out = {}
    for part in text.split(","):
        el, _, frac = part.partition("=")
        try:
            out[el.strip()] = float(frac)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--composition: expected El=fraction,..., got {part!r}") from None
    return out


def _parent(text):
    from ase.build import bulk

    if ":" in text and not Path(text).exists():
        kind, _, a = text.partition(":")
        if kind not in ("fcc", "bcc", "sc", "hcp"):
            raise argparse.ArgumentTypeError(f"--parent: unknown lattice {kind!r} (fcc, bcc, sc, hcp or a file)")
        return bulk("X", kind, a=float(a), cubic=kind != "hcp")
    import ase.io

    return ase.io.read(text)


def run(args) -> int:
    import ase.io
    import matplotlib

    matplotlib.use("Agg")
    from ..cli import UserError
    from . import GRSPotential, build_target, generate, read_structures

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        structures = read_structures(args.target)
        nmax = tuple(int(v) for v in args.nmax.split(","))
        lmax = tuple(int(v) for v in args.lmax.split(","))
        target = build_target(structures, nmax=nmax, lmax=lmax, rcut=args.rcut)
        target.save(out / "target.json")
        weights = tuple(float(w) for w in args.weights.split(","))
        result = generate(target, args.natoms, composition=args.composition, parent=args.parent, steps=args.steps,
                          seed=args.seed, weights=weights, allow_images=args.allow_images, progress=True)
    except ValueError as e:
        raise UserError(str(e)) from None
    atoms = result.atoms
    atoms.calc = None
    ase.io.write(out / "grs.extxyz", atoms)
    ase.io.write(out / "grs.data", atoms, format="lammps-data", specorder=target.elements, masses=True)
    ase.io.write(out / "POSCAR", atoms, format="vasp", direct=True, sort=True)
    pot = GRSPotential(target, weights)
    figs = __import__("alloykit.grs.plots", fromlist=["x"]).plot_target_vs_grs(pot, atoms, structures[:20])
    for k, fig in enumerate(figs):
        fig.savefig(out / ("moments.png" if k == 0 else "histograms.png"), dpi=110)
    summary = {"natoms": len(atoms), "formula": atoms.get_chemical_formula(), "loss": result.loss,
               "steps": len(result.history), "hit_step": result.hit_step, "target_atoms": target.natoms,
               "ndescriptors": pot.ace.ndescriptors, "seed": args.seed,
               "files": ["grs.extxyz", "grs.data", "POSCAR", "target.json", "history.json", "moments.png"]}
    (out / "history.json").write_text(json.dumps({"loss": result.history}))
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))
    return 0


def register(sub) -> None:
    p = sub.add_parser("grs", help="generalized representative structures matching a target's ACE descriptors",
                       description=__doc__, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target", nargs="+", required=True, help="structure files (extxyz, LAMMPS data/dump, POSCAR...)")
    p.add_argument("--natoms", type=int, required=True, help="atoms in the GRS cell")
    p.add_argument("--composition", type=_composition, help="El=fraction,... (default: the target's)")
    p.add_argument("--parent", type=_parent, help="parent lattice 'fcc:A', 'bcc:A' or a structure file "
                                                   "(default: a random dense cell, positions free)")
    p.add_argument("--steps", type=int, default=2000, help="annealing steps (default 2000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--weights", default="1,1", help="moment weights alpha_1,alpha_2[,...] (negative: reverse GRS)")
    p.add_argument("--nmax", default="8,2,2,1", help="radial truncation per rank (default the paper's 8,2,2,1)")
    p.add_argument("--lmax", default="0,2,2,1", help="angular truncation per rank (default 0,2,2,1)")
    p.add_argument("--rcut", type=float, help="one cutoff for all element pairs, A (default: from covalent radii)")
    p.add_argument("--allow-images", action="store_true", help="allow a cutoff above half the GRS cell")
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=run)
