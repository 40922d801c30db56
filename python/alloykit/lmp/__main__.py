"""``python -m alloykit.lmp [switches] -in in.script``: a drop-in for ``lmp``.

Runs a LAMMPS input script through the library, with alloykit's plugin available, in
this Python process: so it also works under ``mpirun -n N python -m alloykit.lmp ...``
(one LAMMPS over MPI.COMM_WORLD; ``-partition`` and ``-var`` pass through). Without
``-in`` the script is read from standard input. Exits 1 with LAMMPS's message on error.
"""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    infile = None
    for flag in ("-in", "-i"):
        if flag in args:
            k = args.index(flag)
            if k + 1 >= len(args):
                print(f"alloykit.lmp: {flag} needs a file name", file=sys.stderr)
                return 2
            infile = args[k + 1]
    from .session import import_lammps

    lammps = import_lammps()
    from mpi4py import MPI

    from ..parallel import agree, lammps_grace_s, set_label

    comm = MPI.COMM_WORLD
    status = 0
    lmp = None
    set_label("ERROR")
    try:
        # agreed across ranks: an error on some ranks only (error->one) either reaches every
        # rank here, or ends the job with its message (alloykit.parallel)
        with agree(comm, "the LAMMPS input", limit=None, grace=lammps_grace_s()):
            try:
                lmp = lammps.lammps(cmdargs=args, comm=comm)
                if infile is not None:
                    lmp.file(infile)
                else:
                    lmp.commands_string(sys.stdin.read() if comm.Get_rank() == 0 else "")
            except Exception as e:
                from .session import lammps_error

                raise lammps_error(e) from None
    except Exception as e:
        if comm.Get_rank() == 0:
            print(f"ERROR: {str(e).strip().removeprefix('ERROR: ')}", file=sys.stderr)
        status = 1
    finally:
        if lmp is not None:
            lmp.close()
            lmp.finalize()
    return status


if __name__ == "__main__":
    sys.exit(main())
