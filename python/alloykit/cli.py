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
import warnings

from . import __version__
from .errors import AlloykitError, InputError, one_line

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


UserError = InputError     # the name the capability CLIs raise


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="alloykit",
        description="Concentrated-alloy toolkit driven through LAMMPS (GRS, MPDM, VMEB CNN).",
    )
    p.add_argument("--version", action="version", version=f"alloykit {__version__}")
    p.add_argument("--debug", action="store_true", help="show the Python traceback of an error")
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


def _note(command: str):
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"alloykit {command}: note: {message}", file=sys.stderr)
    return show


def main(argv: list[str] | None = None) -> int:
    """Run one command. A user mistake prints ``alloykit <command>: <what is wrong>`` and
    returns 2 (``--debug`` shows the traceback instead); warnings print as notes."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    # "neb run", "mpdm count", ...: the capability's subparsers use dest "<capability>_command"
    command = " ".join([args.command] + [str(v) for k, v in vars(args).items() if k.endswith("_command") and v])
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _note(command)
            return int(args.func(args) or 0)
    except (AlloykitError, OSError) as e:
        if debug:
            raise
        text = one_line(e)
        if isinstance(e, OSError) and not isinstance(e, AlloykitError) and e.filename is not None:
            text = f"{e.filename}: {e.strerror or text}"
        print(f"alloykit {command}: {text}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
