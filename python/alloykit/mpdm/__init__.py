"""MPDM: meta-structures and their most probable distribution (He & Lu).

A meta-structure is an atom with its first-neighbour shell (BCC: the 8 cube corners; FCC:
the 12 cuboctahedron vertices), coloured by species. Types are orbits under the 48 cubic
point operations (``enumerate``); the most probable distribution maximises the number of
arrangements under the species-count constraints (``theory``); frames are counted in
``count``; meta-structure energies and chemical potentials are fitted in ``energies``.

Top-level functions::

    table = meta_table("bcc", 2)                      # 44 types, eta, omega (Table 1)
    a = most_probable_distribution(table, 0.2).fractions   # a_l / N at c_B = 0.2
    fc = count_atoms(atoms, "bcc", ["Fe", "Cr"])      # counts, unclassified atoms
    for fc in count_files(["run.lammpstrj.gz"], "bcc", ["Fe", "Cr"]): ...   # type 1 = Fe
    fit = fit_energies(A, E, N, table, method="lstsq")   # e_l, held-out errors
    mu = chemical_potentials(table, fit.e)            # mu_A(c), mu_B(c)
"""
from ..structures import FrameError
from .count import FrameCount, count_atoms, count_files
from .energies import (chemical_potentials, count_matrix, fit_energies, random_bcc_cells,
                       read_labelled, relax_cells)
from .enumerate import MetaTable, burnside_orbit_count, meta_table
from .theory import chi_square, ideal_random, most_probable_distribution

__all__ = ["meta_table", "MetaTable", "burnside_orbit_count", "most_probable_distribution",
           "ideal_random", "chi_square", "count_atoms", "count_files",
           "FrameCount", "FrameError", "fit_energies", "count_matrix",
           "random_bcc_cells", "relax_cells", "read_labelled", "chemical_potentials"]
