"""The structure layer every capability of alloykit uses: frames, species, compositions,
lattices and lattice-site neighbours, the periodic neighbour search, the hop record.

ASE ``Atoms`` is the currency; everything here takes and returns Atoms or plain arrays.
"""
from .composition import (CompositionRounded, composition_grid, composition_key, composition_of, element_values,
                          exact_counts, format_composition, grid_divisions, parse_composition, random_solid_solution,
                          sample_seed, vegard_lattice_parameter)
from .hops import HopRecord
from .io import (FrameError, check_structure, guess_format, open_text, read_frames, read_structure, write_lammps_data,
                 write_lammps_dump)
from .lattice import (Lattice, LatticeSites, NotCrystalline, detect_lattice, environment_lattice,
                      geometric_shells, lattice_points, lattice_sites)
from .neighbours import cell_heights, neighbour_pairs, periodic_images, points_within
from .species import check_species, index_of, species_indices, species_of

__all__ = ["check_structure", "read_frames", "read_structure", "write_lammps_data", "write_lammps_dump", "guess_format",
           "open_text", "FrameError", "parse_composition", "format_composition", "composition_key",
           "composition_of", "exact_counts", "composition_grid", "grid_divisions", "element_values", "random_solid_solution", "sample_seed",
           "vegard_lattice_parameter", "CompositionRounded", "Lattice", "LatticeSites", "NotCrystalline",
           "detect_lattice", "lattice_sites", "environment_lattice", "lattice_points", "geometric_shells",
           "cell_heights", "neighbour_pairs", "periodic_images", "points_within", "check_species", "species_of",
           "species_indices", "index_of", "HopRecord"]
