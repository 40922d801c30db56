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

Every number a command takes goes through one of the ``type=`` functions below
(:func:`number_in` and its presets ``finite_float``, ``positive_float``, ``nonneg_float``,
``positive_int``, ``nonneg_int``, ``probability``, ``open_fraction``): NaN, inf, text and
out-of-range values are refused while the command line is read, as one line naming the
option (``alloykit cnn train: argument --lr: 'inf' is not a finite number``).
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
    p.add_argument("--seed", type=nonneg_int, default=DEFAULT_SEED,
                   help=f"seed of every random step; same seed, same result (default: {DEFAULT_SEED})")
    return p


def potential(required: bool = True, default: str | None = None) -> argparse.ArgumentParser:
    p = _parent()
    p.add_argument("--potential", metavar="NAME", required=required and default is None, default=default,
                   help="a named potential (see 'alloykit potentials')"
                        + (f" (default: {default})" if default else ""))
    return p


# ----------------------------------------------------------------------------- value types
# argparse ``type=`` functions: a bad value is refused while the command line is read, as
# "argument --lr: 'inf' is not a finite number", before any work starts. Integers accept
# integral floats ("1e6") so that sizes can be written as users write them.

def _number(text, kind=float):
    try:
        x = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if x != x or x in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    if kind is int:
        if not x.is_integer():
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
        return int(x)
    return x


def number_in(kind=float, lo=None, hi=None, lo_open: bool = False, hi_open: bool = False, name: str = ""):
    """A type function for finite numbers of ``kind`` (int or float) in [lo, hi] (either
    end open, either end absent)."""
    if lo is not None and hi is not None:
        what = f"between {lo} and {hi}"
    elif lo is not None:
        what = {(0, True): "above 0", (0, False): "0 or more", (1, False): "1 or more"}.get(
            (lo, lo_open), f"{'above' if lo_open else 'at least'} {lo}")
    elif hi is not None:
        what = f"{'below' if hi_open else 'at most'} {hi}"
    else:
        what = ""

    def parse(text):
        x = _number(text, kind)
        if (lo is not None and (x < lo or (lo_open and x == lo))) or \
                (hi is not None and (x > hi or (hi_open and x == hi))):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return x

    parse.__name__ = name or f"{kind.__name__} {what}".strip()
    return parse


finite_float = number_in(float, name="finite number")
positive_float = number_in(float, lo=0, lo_open=True, name="positive number")
nonneg_float = number_in(float, lo=0, name="number >= 0")
positive_int = number_in(int, lo=1, name="positive integer")
nonneg_int = number_in(int, lo=0, name="integer >= 0")
probability = number_in(float, lo=0, hi=1, name="fraction in [0, 1]")
open_fraction = number_in(float, lo=0, hi=1, lo_open=True, hi_open=True, name="fraction in (0, 1)")
