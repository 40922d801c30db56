"""alloykit: concentrated and high-entropy alloys through LAMMPS.

Capabilities live in subpackages (``alloykit.lmp`` is the only one that touches the
LAMMPS library; ``alloykit.mliap`` couples Python models to LAMMPS). Structures travel
between stages as ``ase.Atoms``. Importing this package is cheap: it imports neither
LAMMPS nor torch (``import lammps`` imports it through the plugin entry point).
"""

__version__ = "0.1.0"
