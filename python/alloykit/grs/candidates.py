"""Initial GRS candidates (Goff et al., Sec. III.3): supercells of a parent lattice,
diagonal or not (Hermite normal forms), with random occupations honouring the
composition; and random dense cells for liquid and amorphous targets."""
from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.build import make_supercell

from ..errors import InputError
from ..structures import exact_counts
from ..structures.lattice import compact_supercell, hnf_matrices


def random_occupation(natoms: int, composition: dict, rng) -> list[str]:
    symbols = [e for e, c in exact_counts(composition, natoms).items() for _ in range(c)]
    rng.shuffle(symbols)
    return symbols


def lattice_candidate(parent: Atoms, ncells: int, composition: dict, seed: int = 0,
                      matrix=None, diagonal: bool = False) -> Atoms:
    """A supercell of ``ncells`` copies of ``parent`` with random occupations.

    matrix: the 3x3 integer supercell matrix; None (default): the most compact one
    (:func:`alloykit.structures.lattice.compact_supercell`: an atom's own images as far as
    they can be); "random": a random Hermite normal form of determinant ``ncells``
    (``diagonal``: only diagonal ones, the most compact first).
    """
    rng = np.random.default_rng(seed)
    if matrix is None and not diagonal:
        matrix = compact_supercell(parent.cell.array, ncells)
    elif matrix is None or (isinstance(matrix, str) and matrix == "random"):
        options = hnf_matrices(ncells)
        if diagonal:
            options = [m for m in options if not np.any(m - np.diag(np.diag(m)))]
            options.sort(key=lambda m: np.ptp(np.diag(m)))
            matrix = options[0]
        else:
            matrix = options[rng.integers(len(options))]
    cell = make_supercell(parent, np.asarray(matrix))
    cell.set_chemical_symbols(random_occupation(len(cell), composition, rng))
    return cell


def random_dense_cell(natoms: int, composition: dict, density: float, min_distance: float,
                      seed: int = 0, max_tries: int = 200000) -> Atoms:
    """``natoms`` atoms at random in a cubic box of ``density`` (atoms/A^3), no two closer
    than ``min_distance`` (periodic); random occupations honouring ``composition``."""
    if not (np.isfinite(min_distance) and min_distance > 0):
        raise InputError(f"min_distance: {min_distance} must be a positive distance (A)")
    if not (np.isfinite(density) and density > 0):
        raise InputError(f"density: {density} must be a positive number of atoms per A^3")
    rng = np.random.default_rng(seed)
    length = (natoms / density) ** (1 / 3)
    if min_distance >= length / 2:
        raise InputError(f"min_distance {min_distance} A does not fit a {natoms}-atom cell of side {length:.2f} A")
    pos = np.empty((0, 3))
    tries = 0
    while len(pos) < natoms:
        tries += 1
        if tries > max_tries:
            raise InputError(f"could not place {natoms} atoms {min_distance} A apart at density {density}: lower either")
        p = rng.random(3) * length
        d = pos - p
        d -= length * np.round(d / length)
        if len(pos) == 0 or np.min(np.einsum("ij,ij->i", d, d)) >= min_distance ** 2:
            pos = np.vstack([pos, p])
    return Atoms(random_occupation(natoms, composition, rng), positions=pos, cell=[length] * 3, pbc=True)
