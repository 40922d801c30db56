"""``alloykit`` as one MPI rank sees it (run by tests/test_mpi_failures.py under mpiexec,
possibly with different arguments per rank): runs the CLI, then reports this rank's exit
status on stderr as ``[rank R exit S]`` so the test can check that every rank ended alike."""
import os
import sys

from alloykit.cli import main

if __name__ == "__main__":
    status = main(sys.argv[1:])
    print(f"[rank {os.environ.get('PMI_RANK', '?')} exit {status}]", file=sys.stderr, flush=True)
    sys.exit(status)
