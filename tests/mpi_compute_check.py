"""A per-atom test model for compute mliap/unified/atom, and (run under mpiexec by
test_mliap_compute.py) the LJ test system's compute on MPI.COMM_WORLD: rank 0 writes the
gathered per-atom array and the ranks' atom counts to the JSON file in argv[1]."""
import json
import sys

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])


class NeighbourCount:
    """Per-atom model: neighbours of each element within 2*rcutfac, and the sum of their
    distances (to see the pair vectors, not only the counts)."""

    element_types = ["Ar", "Kr"]
    n_outputs = 3

    def __init__(self, cutoff=5.0):
        self.rcutfac = cutoff / 2

    def compute_peratom(self, data):
        out = np.zeros((data.nlistatoms, 3))
        row_of = np.full(data.ntotal, -1)
        row_of[data.iatoms] = np.arange(data.nlistatoms)
        row = row_of[data.pair_i]
        np.add.at(out, (row, data.jelems), 1.0)
        np.add.at(out[:, 2], row, np.linalg.norm(data.rij, axis=1))
        data.peratom = out


COMMANDS = ["pair_style zero 5.0", "pair_coeff * *", "compute m all mliap/unified/atom LATER Ar Kr", "run 0"]

if __name__ == "__main__":
    from mpi4py import MPI

    from conftest import SYSTEM

    from alloykit.lmp import Lammps
    from alloykit.mliap import load_peratom

    comm = MPI.COMM_WORLD
    with Lammps(comm=comm) as lmp:
        lmp.raw.commands_string(SYSTEM.format(n=3))
        load_peratom(lmp, NeighbourCount())
        lmp.commands(COMMANDS)
        out = {"m": list(lmp.raw.gather("c_m", 1, 3)),
               "nlocal": comm.allgather(int(lmp.raw.extract_setting("nlocal")))}
    if comm.Get_rank() == 0:
        with open(sys.argv[1], "w") as fh:
            json.dump(out, fh)
