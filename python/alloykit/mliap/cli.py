"""``alloykit mliap``: write and inspect unified model files for ``pair_style mliap/unified``."""
from __future__ import annotations

import argparse
import json

from .. import cliopts

EXAMPLES = """examples:
  alloykit mliap lj lj_ar.akm --species Ar --epsilon 0.0104 --sigma 3.4 --rcut 8.5
  lmp -in inputs/in.mliap_lj -var model lj_ar.akm
  alloykit mliap show lj_ar.akm
"""


def _lj(args) -> int:
    from ..structures import check_species
    from .models import TorchLennardJones
    from .store import save_model

    m = TorchLennardJones(check_species(args.species, "--species"), epsilon=args.epsilon, sigma=args.sigma, rcut=args.rcut)
    print(save_model(m, args.file))
    return 0


def _morse(args) -> int:
    from ..structures import check_species
    from .models import TorchMorse
    from .store import save_model

    m = TorchMorse(check_species(args.species, "--species"), d0=args.d0, alpha=args.alpha, r0=args.r0, rcut=args.rcut)
    print(save_model(m, args.file))
    return 0


def _show(args) -> int:
    from ..errors import InputError
    from .store import load_model

    try:
        m = load_model(args.file)
    except ValueError as e:       # the store names the file; a bad file is the user's to fix
        raise InputError(str(e)) from None
    print(json.dumps({"class": f"{type(m).__module__}.{type(m).__qualname__}",
                      "element_types": m.element_types, "cutoff": 2 * m.rcutfac,
                      "ndescriptors": m.ndescriptors, "nparams": m.nparams}, indent=1))
    return 0


def _model_parser(s, name: str, help: str):
    p = s.add_parser(name, help=help, parents=[cliopts.common()])
    p.add_argument("file", help="model file to write (.akm)")
    p.add_argument("--species", nargs="+", metavar="EL", required=True,
                   help="element of LAMMPS type 1, 2, ... that the model knows, e.g. --species Ar Kr")
    return p


def register(sub) -> None:
    p = sub.add_parser("mliap", help="unified model files for pair_style mliap/unified",
                       description=__doc__, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
                       parents=[cliopts.common()])
    s = p.add_subparsers(dest="mliap_command", metavar="ACTION", required=True)
    lj = _model_parser(s, "lj", "save a torch Lennard-Jones model (as lj/cut)")
    lj.add_argument("--epsilon", type=cliopts.positive_float, required=True, help="eV")
    lj.add_argument("--sigma", type=cliopts.positive_float, required=True, help="A")
    lj.add_argument("--rcut", type=cliopts.positive_float, required=True, help="cutoff, A")
    lj.set_defaults(func=_lj)
    mo = _model_parser(s, "morse", "save a torch Morse model (as pair_style morse)")
    mo.add_argument("--d0", type=cliopts.positive_float, required=True, help="eV")
    mo.add_argument("--alpha", type=cliopts.positive_float, required=True, help="1/A")
    mo.add_argument("--r0", type=cliopts.positive_float, required=True, help="A")
    mo.add_argument("--rcut", type=cliopts.positive_float, required=True, help="cutoff, A")
    mo.set_defaults(func=_morse)
    sh = s.add_parser("show", help="check a model file and print what it holds", parents=[cliopts.common()])
    sh.add_argument("file", help="model file (.akm)")
    sh.set_defaults(func=_show)
