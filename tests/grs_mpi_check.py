"""Run under mpiexec by test_grs.py: a GRS cell's energy and forces through
mliap/unified on MPI.COMM_WORLD; rank 0 writes them to the JSON file argv[2].
With argv[4] == "ga" (test_grs_lattice.py): the GA on the lattice cell argv[3], its
population evaluated over the ranks; rank 0 writes the symbols, loss and history."""
import json
import sys

from ase.io import read
from mpi4py import MPI

from alloykit.grs import GRSPotential, Target
from alloykit.lmp import Lammps, put_atoms
from alloykit.mliap import load_unified

comm = MPI.COMM_WORLD
target = Target.load(sys.argv[1])
cell = read(sys.argv[3])
if sys.argv[4:] == ["ga"]:
    from alloykit.grs.ga import genetic

    res = genetic(cell, GRSPotential(target), generations=4, population=6, seed=3, comm=comm)
    if comm.Get_rank() == 0:
        with open(sys.argv[2], "w") as fh:
            json.dump({"symbols": res.atoms.get_chemical_symbols(), "loss": res.loss, "history": res.history}, fh)
    sys.exit(0)
pot = GRSPotential(target, comm=comm)
with Lammps(comm=comm) as lmp:
    lmp.commands(["units metal", "atom_style atomic", "atom_modify map array"])
    put_atoms(lmp, cell, pot.element_types)
    load_unified(lmp, pot)
    lmp.commands(["pair_style mliap/unified LATER", "pair_coeff * * " + " ".join(pot.element_types),
                  "comm_modify cutoff 12.0", "run 0"])
    out = {"energy": lmp.thermo("pe"), "forces": list(lmp.raw.gather_atoms("f", 1, 3)),
           "nlocal": comm.allgather(int(lmp.raw.extract_setting("nlocal")))}
if comm.Get_rank() == 0:
    with open(sys.argv[2], "w") as fh:
        json.dump(out, fh)
