"""Run under mpiexec by test_mliap_mpi.py: the LJ test system through mliap/unified on
MPI.COMM_WORLD (domain decomposition, ghost forces reverse-communicated). Rank 0 writes
energy, pressure tensor, forces and per-atom energies to the JSON file in argv[1]."""
import json
import sys

from mpi4py import MPI

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from conftest import LJ_RCUT, SYSTEM, lj_model  # noqa: E402

from alloykit.lmp import Lammps  # noqa: E402
from alloykit.mliap import load_unified  # noqa: E402

comm = MPI.COMM_WORLD
with Lammps(comm=comm) as lmp:
    lmp.raw.commands_string(SYSTEM.format(n=3))
    load_unified(lmp, lj_model())
    lmp.commands(["pair_style mliap/unified LATER", "pair_coeff * * Ar Kr", "compute pe all pe/atom",
                  "thermo_style custom pe pxx pyy pzz pxy pxz pyz", "run 0"])
    out = {k: lmp.thermo(k) for k in "pe pxx pyy pzz pxy pxz pyz".split()}
    out["f"] = list(lmp.raw.gather_atoms("f", 1, 3))
    out["pe_atom"] = list(lmp.raw.gather("c_pe", 1, 1))
    out["procs"] = list(lmp.raw.extract_setting("world_size") for _ in range(1))
    out["nlocal"] = comm.allgather(int(lmp.raw.extract_setting("nlocal")))
    out["rcut"] = LJ_RCUT
if comm.Get_rank() == 0:
    with open(sys.argv[1], "w") as fh:
        json.dump(out, fh)
