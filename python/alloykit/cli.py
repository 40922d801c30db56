"""The ``alloykit`` command: one subcommand per capability.

A capability adds itself by providing ``alloykit/<name>/cli.py`` with
``register(subparsers)``, which adds its parser(s) and sets ``func`` on them
(``parser.set_defaults(func=run)``; ``run(args) -> int``). It is then listed in
``CAPABILITIES`` below; modules that are not there yet are skipped.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import sys
import traceback
import warnings

from . import __version__, parallel
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
    "alloykit.kmc.cli",
    "alloykit.demo",
)


UserError = InputError     # the name the capability CLIs raise


class Parser(argparse.ArgumentParser):
    """argparse with the one-line error of every alloykit command: ``alloykit relax:
    argument --ftol: 'nan' is not a finite number`` (exit 2), no usage block. Subparsers
    inherit the class."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
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


def _note(command: str, quiet: bool = False):
    def show(message, category, filename, lineno, file=None, line=None):
        if not quiet:
            print(f"alloykit {command}: note: {message}", file=sys.stderr)
    return show


def _parse(parser, argv, comm):
    """Parse on every rank; under MPI only rank 0 prints (help, usage errors), and the ranks
    agree on the outcome (mpiexec may give ranks different arguments)."""
    if comm is None:
        return parser.parse_args(argv)
    out, err, code, args = io.StringIO(), io.StringIO(), None, None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            args = parser.parse_args(argv)
        except SystemExit as e:
            code = e.code or 0
    problem = InputError((err.getvalue().strip().splitlines() or ["bad command line"])[-1]) if code else None
    agreed = parallel.settle(comm, problem, "reading the command line")
    if comm.Get_rank() == 0:
        sys.stdout.write(out.getvalue())
        sys.stderr.write(err.getvalue() if code or agreed is None else f"alloykit: {agreed}\n")
    if agreed is not None or code is not None:
        raise SystemExit(2 if agreed is not None or code else 0)
    return args


def _failed(e: BaseException, command: str, debug: bool, comm) -> int:
    """Report an error once and return the exit status. Under MPI an error every rank
    agreed on is printed by rank 0; any other error ends the whole job (MPI_Abort) with its
    message, since the other ranks may be waiting for this one."""
    text = one_line(e)
    if isinstance(e, OSError) and not isinstance(e, AlloykitError) and e.filename is not None:
        text = f"{e.filename}: {e.strerror or text}"
    elif not isinstance(e, (AlloykitError, OSError)):
        text = f"{type(e).__name__}: {text}"
    if comm is None:
        print(f"alloykit {command}: {text}", file=sys.stderr)
        return 2
    if debug and (not parallel.is_agreed(e) or e.__cause__ is not None):
        traceback.print_exception(e)     # the failing rank's own traceback
    if not parallel.is_agreed(e):
        parallel.end_job(f"{text} (rank {comm.Get_rank()})")
    if comm.Get_rank() == 0:
        print(f"alloykit {command}: {text}", file=sys.stderr, flush=True)
    return parallel.EXIT_STATUS


def main(argv: list[str] | None = None) -> int:
    """Run one command. A user mistake prints ``alloykit <command>: <what is wrong>`` and
    returns 2 (``--debug`` shows the traceback instead); warnings print as notes.

    Under mpiexec (more than one rank) the message is printed once and every rank returns
    the same status; an error the ranks could not agree on ends the job (see
    :mod:`alloykit.parallel`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    comm = parallel.world()
    parser = build_parser()
    args = _parse(parser, argv, comm)
    if not getattr(args, "func", None):
        if comm is None or comm.Get_rank() == 0:
            parser.print_help()
        return 0
    # "neb run", "mpdm count", ...: the capability's subparsers use dest "<capability>_command"
    command = " ".join([args.command] + [str(v) for k, v in vars(args).items() if k.endswith("_command") and v])
    parallel.set_label(f"alloykit {command}")
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _note(command, quiet=comm is not None and comm.Get_rank() != 0)
            return int(args.func(args) or 0)
    except (AlloykitError, OSError) as e:
        if debug and comm is None:
            raise
        return _failed(e, command, debug, comm)
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        if comm is None:
            raise           # a bug: the traceback, as always
        return _failed(e, command, True, comm)


if __name__ == "__main__":
    sys.exit(main())
