"""One CLI vocabulary: the options every ``alloykit`` command shares, as argparse parents.

=================  ==========================================================
``--species A B``  element of LAMMPS type 1, 2, ... (files with types only)
``--structure F``  a structure file (never a lattice name)
``--lattice K``    a lattice kind: bcc or fcc
``--out DIR``      the output folder (made if missing)
``--seed N``       seed of every random step (default 0)
``--potential P``  a named potential (``alloykit potentials``)
``--quiet``        no progress lines
``--debug``        show the Python traceback of an error
=================  ==========================================================

A command adds the parents it needs: ``sub.add_parser("x", parents=[common(), species()])``.
"""
from __future__ import annotations

import argparse

DEFAULT_SEED = 0


def _parent() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(add_help=False)


def common() -> argparse.ArgumentParser:
    """``--quiet`` and ``--debug``: on every command."""
    p = _parent()
    p.add_argument("--quiet", action="store_true", help="print no progress lines")
    p.add_argument("--debug", action="store_true", help="show the Python traceback of an error")
    return p


def species() -> argparse.ArgumentParser:
    p = _parent()
    p.add_argument("--species", nargs="+", metavar="EL", default=None,
                   help="element of LAMMPS type 1, 2, ... (for dumps and data files with types only), "
                        "e.g. --species Fe Cr")
    return p


def structure(required: bool = True, help: str = "structure file: extxyz, POSCAR, LAMMPS data or dump "
                                                 "(.gz too)") -> argparse.ArgumentParser:
    p = _parent()
    p.add_argument("--structure", metavar="FILE", required=required, help=help)
    return p


def lattice(default: str | None = None, help: str = "lattice kind") -> argparse.ArgumentParser:
    p = _parent()
    p.add_argument("--lattice", choices=("bcc", "fcc"), default=default,
                   help=f"{help} (default: {default or 'detected from the structure'})")
    return p


def out(default: str) -> argparse.ArgumentParser:
    p = _parent()
    p.add_argument("--out", metavar="DIR", default=default, help=f"output folder (default: {default})")
    return p


def seed() -> argparse.ArgumentParser:
    p = _parent()
    p.add_argument("--seed", type=int, default=DEFAULT_SEED,
                   help=f"seed of every random step; same seed, same result (default: {DEFAULT_SEED})")
    return p


def potential(required: bool = True, default: str | None = None) -> argparse.ArgumentParser:
    p = _parent()
    p.add_argument("--potential", metavar="NAME", required=required and default is None, default=default,
                   help="a named potential (see 'alloykit potentials')"
                        + (f" (default: {default})" if default else ""))
    return p
