"""A Python model that fails on chosen MPI ranks in the middle of a run (for
tests/test_mpi_failures.py): Lennard-Jones through ``pair_style mliap/unified`` whose
force call raises on the ranks in ``fail_ranks`` from call ``fail_call`` on.

``python mpi_model_check.py MODEL_FILE RANKS CALL`` writes such a model (RANKS: e.g. 1 or
0,1); LAMMPS loads it with ALLOYKIT_MODEL_MODULES=mpi_model_check and tests/ on PYTHONPATH.
"""
import sys

from alloykit.mliap import save_model
from alloykit.mliap.models import TorchLennardJones


class FailingLJ(TorchLennardJones):
    def __init__(self, *args, fail_ranks=(), fail_call=0, **kwargs):
        super().__init__(*args, **kwargs)
        self.fail_ranks, self.fail_call, self.calls = [int(r) for r in fail_ranks], int(fail_call), 0

    def compute_forces(self, data):
        from mpi4py import MPI

        self.calls += 1
        rank = MPI.COMM_WORLD.Get_rank()
        if rank in self.fail_ranks and self.calls >= self.fail_call:
            raise ValueError(f"injected model failure on rank {rank} at call {self.calls}")
        return super().compute_forces(data)

    def to_dict(self):
        config, tensors = super().to_dict()
        config.update(fail_ranks=self.fail_ranks, fail_call=self.fail_call)
        return config, tensors

    @classmethod
    def from_dict(cls, config, tensors):
        return cls(config["element_types"], rcut=config["rcut"], fail_ranks=config["fail_ranks"],
                   fail_call=config["fail_call"], **tensors)


if __name__ == "__main__":
    from mpi_model_check import FailingLJ as Saved    # saved under its module's name, not __main__

    path, ranks, call = sys.argv[1], sys.argv[2], int(sys.argv[3])
    save_model(Saved(["Ar"], epsilon=0.0104, sigma=3.4, rcut=8.5,
                         fail_ranks=[int(r) for r in ranks.split(",") if r], fail_call=call), path)
