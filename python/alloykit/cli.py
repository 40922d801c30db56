"""The ``alloykit`` command: one subcommand per capability.

A capability adds itself by providing ``alloykit/<name>/cli.py`` with
``register(subparsers)``, which adds its parser(s) and sets ``func`` on them
(``parser.set_defaults(func=run)``; ``run(args) -> int``). It is then listed in
``CAPABILITIES`` below; modules that are not there yet are skipped.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__

# module paths of the capability CLIs, in the order shown by --help
CAPABILITIES = (
    "alloykit.lmp.cli",
    "alloykit.mliap.cli",
    "alloykit.mpdm.cli",
    "alloykit.csro.cli",
    "alloykit.neb.cli",
    "alloykit.cnn.cli",
    "alloykit.grs.cli",
    "alloykit.demo",
)


class UserError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="alloykit",
        description="Concentrated-alloy toolkit driven through LAMMPS (GRS, MPDM, VMEB CNN).",
    )
    p.add_argument("--version", action="version", version=f"alloykit {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for modname in CAPABILITIES:
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as e:
            if e.name and modname.startswith(e.name):
                continue    # capability not present in this version
            raise
        mod.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except UserError as e:
        print(f"alloykit {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
