"""Structures and frames from files: LAMMPS text dumps (multi-frame, gzip), LAMMPS data
files and anything ASE reads.

The dump reader is a small streaming parser (numpy's C text reader per frame, so a
1,000,000-atom frame takes about a second): orthogonal and triclinic boxes; ``x``,
``xu`` or scaled ``xs``/``xsu`` coordinates; species from an ``element`` column or from
``type`` and a species list; atoms sorted by ``id``. Every frame of one file must have
the same number of atoms.
"""
from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Iterator

import numpy as np
from ase import Atoms

from ..structio import guess_format, open_text


def read_frames(path, species=None, fmt: str | None = None) -> Iterator[Atoms]:
    """Every frame of ``path`` as ``ase.Atoms`` (``info["timestep"]`` for dumps).

    species: element of each LAMMPS atom type (type 1 first), needed when a dump or data
    file has types but no element names or masses.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    fmt = fmt or guess_format(path)
    if fmt == "lammps-dump":
        yield from _read_dump(path, species)
    elif fmt == "lammps-data":
        yield _read_data(path, species)
    else:
        import ase.io

        yield from ase.io.iread(str(path), index=":")


def read_structure(path, species=None, fmt: str | None = None) -> Atoms:
    """The last frame of ``path``."""
    last = None
    for last in read_frames(path, species, fmt):
        pass
    if last is None:
        raise ValueError(f"{path}: no frame in the file")
    return last


def _read_data(path: Path, species) -> Atoms:
    import ase.io
    from ase.data import atomic_numbers

    kwargs = {"format": "lammps-data", "atom_style": "atomic", "units": "metal"}
    if species:
        kwargs["Z_of_type"] = {t + 1: atomic_numbers[s] for t, s in enumerate(species)}
    try:
        atoms = ase.io.read(str(path), **kwargs)
    except Exception as e:
        raise ValueError(f"{path}: not a readable LAMMPS data file (atom_style atomic): {e}") from None
    if not species and "masses" not in _data_sections(path):
        raise ValueError(f"{path}: the data file has no Masses section; give the species of each type")
    return atoms


def _data_sections(path: Path) -> set:
    with open_text(path) as f:
        return {line.strip().lower() for line in f if line.strip() in ("Masses", "Atoms", "Velocities")}


def _box(lines: list[str], header: str):
    """Cell and origin from the BOX BOUNDS lines (orthogonal or restricted triclinic)."""
    vals = np.array([[float(v) for v in ln.split()] for ln in lines])
    flags = header.split()[3:]
    tilt = np.zeros(3)
    if flags and flags[0] == "xy":
        tilt = vals[:, 2]
        flags = flags[3:]
    xy, xz, yz = tilt
    xlo = vals[0, 0] - min(0.0, xy, xz, xy + xz)
    xhi = vals[0, 1] - max(0.0, xy, xz, xy + xz)
    ylo = vals[1, 0] - min(0.0, yz)
    yhi = vals[1, 1] - max(0.0, yz)
    zlo, zhi = vals[2, 0], vals[2, 1]
    cell = np.array([[xhi - xlo, 0, 0], [xy, yhi - ylo, 0], [xz, yz, zhi - zlo]])
    pbc = [f.startswith("p") for f in flags] if len(flags) == 3 else [True] * 3
    return cell, np.array([xlo, ylo, zlo]), pbc


def _read_dump(path: Path, species) -> Iterator[Atoms]:
    n_first = None
    frame = 0
    with open_text(path) as f:
        while True:
            line = f.readline()
            if not line:
                return
            if not line.startswith("ITEM: TIMESTEP"):
                if line.strip():
                    raise ValueError(f"{path}: frame {frame + 1}: expected 'ITEM: TIMESTEP', got {line.strip()[:40]!r}")
                continue
            frame += 1
            try:
                atoms = _next_frame(f, path, frame, species, n_first)
            except ValueError as e:     # name the file and frame in every message
                msg = str(e)
                raise ValueError(msg if msg.startswith(str(path)) else f"{path}: frame {frame}: {msg}") from None
            n_first = len(atoms)
            yield atoms


def _next_frame(f, path, frame, species, n_first) -> Atoms:
    """The frame after its 'ITEM: TIMESTEP' line."""
    step = int(f.readline())
    if not f.readline().startswith("ITEM: NUMBER OF ATOMS"):
        raise ValueError("missing NUMBER OF ATOMS")
    n = int(f.readline())
    if n_first is not None and n != n_first:
        raise ValueError(f"{path}: frame {frame} (timestep {step}) has {n} atoms but frame 1 has "
                         f"{n_first}: every frame must hold the same atoms")
    header = f.readline()
    if not header.startswith("ITEM: BOX BOUNDS") or "abc" in header:
        raise ValueError(f"unsupported box header {header.strip()!r}")
    cell, origin, pbc = _box([f.readline() for _ in range(3)], header)
    cols = f.readline().split()[2:]
    lines = list(islice(f, n))
    if len(lines) < n:
        raise ValueError(f"{path}: frame {frame} (timestep {step}) is cut short: {len(lines)} of {n} atom lines")
    return _frame_atoms(path, frame, step, cols, lines, cell, origin, pbc, species)


def _frame_atoms(path, frame, step, cols, lines, cell, origin, pbc, species) -> Atoms:
    where = f"{path}: frame {frame} (timestep {step})"
    numeric = [c for c in cols if c != "element"]
    use = [k for k, c in enumerate(cols) if c != "element"]
    data = np.loadtxt(lines, usecols=use, ndmin=2) if lines else np.zeros((0, len(use)))
    col = {c: data[:, k] for k, c in enumerate(numeric)}
    for keys, scaled in ((("x", "y", "z"), False), (("xu", "yu", "zu"), False),
                         (("xs", "ys", "zs"), True), (("xsu", "ysu", "zsu"), True)):
        if all(k in col for k in keys):
            xyz = np.stack([col[k] for k in keys], axis=1)
            pos = xyz @ cell if scaled else xyz - origin
            break
    else:
        raise ValueError(f"{where}: no x y z (or xu/xs) columns in {cols}")
    if "element" in cols:
        k = cols.index("element")
        symbols = [ln.split()[k] for ln in lines]
    elif "type" in col:
        types = col["type"].astype(int)
        if not species:
            raise ValueError(f"{where}: the dump has atom types but no element column; give the species "
                             "of each type (e.g. --species Fe Cr)")
        if types.min(initial=1) < 1 or types.max(initial=1) > len(species):
            raise ValueError(f"{where}: atom types run to {types.max()} but only {len(species)} species given")
        symbols = np.asarray(species)[types - 1].tolist()
    else:
        raise ValueError(f"{where}: no type or element column in {cols}")
    atoms = Atoms(symbols=symbols, positions=pos, cell=cell, pbc=pbc)
    if "id" in col:
        order = np.argsort(col["id"], kind="stable")
        atoms = atoms[order]
    atoms.info["timestep"] = step
    return atoms


def write_lammps_data(atoms: Atoms, path, species=None) -> list[str]:
    """Write ``atoms`` as a LAMMPS data file by LAMMPS itself (``write_data``), so that
    ``read_data`` gives back exactly the box and coordinates the alloykit driver creates
    (full precision, atoms in order, IDs 1..N). Returns the species of types 1, 2, ...."""
    from ..lmp import Lammps, safe_token
    from ..lmp.structure import put_atoms, species_of

    species = species_of(atoms, species)
    target = safe_token(str(Path(path).resolve()), "path")
    with Lammps() as lmp:
        lmp.commands(["units metal", "atom_style atomic", "atom_modify map array"])
        put_atoms(lmp, atoms, species)
        lmp.command(f"write_data {target}")
    return species
