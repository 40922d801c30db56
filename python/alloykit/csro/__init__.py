"""Chemical short-range order (CSRO): hybrid MC/MD in LAMMPS, and its measure.

- :func:`run_mcmd` (:class:`McmdSettings`): Nose-Hoover MD + ``fix atom/swap`` for every
  species pair (paper: 30 trials / 100 steps at 300 K), optional ``fix sgcmc``; records PE,
  acceptance and SRO, dumps, PE convergence, exact checkpoint/resume, MPI.
- :func:`compute_sro` / :func:`sro_frames` / :func:`sro_of_file`: Warren-Cowley alpha and
  the paper's delta = N_ab - N0_ab per shell and pair; shells from the BCC/FCC lattice
  (:func:`alloykit.structures.lattice_sites`), with a distance-histogram fallback that
  refuses overlapping shells.

Samples, frames and lattices come from :mod:`alloykit.structures`.

Example::

    from alloykit.structures import random_solid_solution
    from alloykit.csro import run_mcmd, compute_sro
    atoms = random_solid_solution("bcc", "Fe=0.8,Cr=0.2", size=8, a=2.8665, seed=1)
    print(compute_sro(atoms).alpha[0])            # ~0: random
    res = run_mcmd(atoms, "FeCr", out="aged", temperature=600, steps=5000)
    print(res.records[-1]["sro"]["alpha"])
"""
from .mcmd import McmdResult, McmdSettings, fecr_default, run_mcmd
from .sro import SRO, compute_sro, distance_shells, find_shells, random_sigma, sro_frames


def sro_of_file(path, shells: int = 3, species=None, method: str = "lattice", lattice=None, every: int = 1):
    """SRO of every ``every``-th frame of a file (LAMMPS dump, .gz too; data file; any
    ASE format). ``species``: element of each LAMMPS type when the file has only types."""
    from ..structures import read_frames

    frames = read_frames(path, species, index=slice(0, None, max(1, int(every))))
    return list(sro_frames(frames, shells, species, method, lattice))


__all__ = ["fecr_default", "run_mcmd", "McmdSettings", "McmdResult", "compute_sro", "sro_frames",
           "sro_of_file", "SRO", "random_sigma", "distance_shells", "find_shells"]
