"""Reading and writing structures: one reader for every format alloykit takes.

:func:`read_frames` yields ``ase.Atoms`` from

* LAMMPS text dumps (``*.dump``, ``*.lammpstrj``, ``dump.*`` or any file starting with
  ``ITEM: TIMESTEP``; ``.gz`` too): a streaming parser (numpy's C reader per frame, about a
  second for 1e6 atoms); many frames; orthogonal, restricted and general triclinic boxes;
  x/xu/xs/xsu coordinates; an ``element`` or a ``type`` column; atoms sorted by ``id``;
* LAMMPS data files (``*.data``, ``*.lmp``, ``data.*``): atom styles atomic, charge, full,
  molecular; image flags applied; elements from ``species`` or from ``Masses``;
* everything ASE reads (extxyz, POSCAR, cif, ...).

Types map to elements one way everywhere: ``species[type - 1]``, else an element column,
else ``Masses`` matched to standard atomic masses. A typed file with no way to know its
elements is an :class:`~alloykit.errors.InputError` naming the file -- never a guess.
Frames are numbered from 0 (as ``index`` counts them); each frame carries
``info["source"]``, ``info["frame"]`` and, for dumps, ``info["timestep"]``.

Every frame of every format passes :func:`check_structure` (finite coordinates, a periodic
cell with volume, no two atoms within 0.1 A); header counts must match the atom lines in
both directions (dumps, data files, POSCAR); ids are unique; element symbols are exact
('fe' is refused, not capitalised); a cut or damaged ``.gz`` is an InputError.
"""
from __future__ import annotations

import gzip
import itertools
import math
import re
import zlib
from pathlib import Path
from typing import Iterator

import numpy as np
from ase import Atoms
from ase.data import atomic_masses, atomic_numbers

from ..errors import InputError
from .neighbours import cell_heights, periodic_images
from .species import check_species, element_of_mass, nearest_element, species_of, symbols_from_types


class FrameError(InputError):
    """One frame that could not be read; the message names the file and frame."""


# ----------------------------------------------------------------------------- formats

def open_text(path):
    path = Path(path)
    return gzip.open(path, "rt") if path.name.endswith(".gz") else open(path, "r")


def guess_format(path) -> str:
    """'lammps-dump', 'lammps-data' or 'ase', from the name, then from the first line."""
    p = Path(path)
    name = p.name[:-3] if p.name.endswith(".gz") else p.name
    if name.endswith((".dump", ".lammpstrj")) or name.startswith("dump."):
        return "lammps-dump"
    if name.endswith((".data", ".lmp")) or name.startswith("data."):
        return "lammps-data"
    try:
        with open_text(p) as f:
            first = f.readline().strip()
    except (OSError, UnicodeDecodeError, EOFError, zlib.error):
        return "ase"
    return "lammps-dump" if first.startswith("ITEM: TIMESTEP") else "ase"


def _index(index):
    """``index`` (int, slice, or text like ':', '-1', '2:10:2') as an int or a slice."""
    if isinstance(index, (int, np.integer)):
        return int(index)
    if isinstance(index, slice):
        return index
    text = str(index).strip()
    try:
        if ":" not in text:
            return int(text)
        parts = [int(p) if p.strip() else None for p in text.split(":")]
        if len(parts) > 3:
            raise ValueError
        return slice(*parts)
    except ValueError:
        raise InputError(f"index: {index!r} is not a frame number or a slice like ':', '-1', '0:10:2'") from None


def read_frames(path, species=None, index=":", errors: str = "raise", fmt: str | None = None,
                atom_style: str | None = None) -> Iterator[Atoms]:
    """The frames ``index`` of ``path`` as ``ase.Atoms`` (see module doc).

    species: element of each LAMMPS type (type 1 first); checked against element columns
    and Masses when those exist too. errors: "raise" stops at the first bad frame with an
    InputError; "yield" yields a :class:`FrameError` in its place and goes on (dumps).
    """
    p = Path(path)
    if errors not in ("raise", "yield"):
        raise InputError(f"errors: {errors!r} is not 'raise' or 'yield'")
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    species = None if species is None else check_species(species, f"{p}: species")
    idx = _index(index)
    fmt = fmt or guess_format(p)
    if fmt == "lammps-dump":
        frames = _read_dump(p, species)
    elif fmt == "lammps-data":
        frames = iter([_read_data(p, species, atom_style)])
    else:
        frames = _read_ase(p, species, None if fmt == "ase" else fmt)
    # stream a forward slice; anything counted from the end needs every frame first
    if isinstance(idx, slice) and (idx.start or 0) >= 0 and (idx.stop is None or idx.stop >= 0) \
            and (idx.step or 1) > 0:
        chosen = itertools.islice(frames, idx.start, idx.stop, idx.step)
    else:
        every = list(frames)
        try:
            chosen = every[idx] if isinstance(idx, slice) else [every[idx]]
        except IndexError:
            raise InputError(f"{p}: index {index!r} is outside its {len(every)} frame(s)") from None
    for item in chosen:
        if isinstance(item, FrameError):
            if errors == "raise":
                raise item
        yield item


def read_structure(path, species=None, index=-1, **kw) -> Atoms:
    """One frame of ``path`` (default the last)."""
    frames = list(read_frames(path, species, index if isinstance(index, slice) else _index(index), **kw))
    if not frames:
        raise InputError(f"{path}: no frame in the file")
    return frames[-1]


def _is_poscar(p: Path) -> bool:
    from ase.io.formats import filetype

    try:
        return filetype(str(p)) == "vasp"
    except Exception:       # ASE's guess fails on odd files; then it is not a POSCAR we check
        return False


def _check_poscar_count(p: Path, n: int) -> None:
    """ASE reads as many coordinate lines as the counts line says and ignores the rest: a
    count below the lines would drop atoms silently."""
    with open_text(p) as f:
        lines = f.read().splitlines()
    if len(lines) < 8:
        return                      # ASE read it; nothing to compare
    start = 6 if lines[5].split() and not lines[5].split()[0].isdigit() else 5
    j = start + 1
    if j < len(lines) and lines[j].strip()[:1] in ("s", "S"):      # Selective dynamics
        j += 1
    m = 0
    for line in lines[j + 1:]:
        try:
            [float(w) for w in line.split()[:3]]
        except ValueError:
            break
        if len(line.split()) < 3:
            break
        m += 1
    if m != n:
        raise InputError(f"{p}: the counts line says {n} atoms but {m} coordinate lines follow")


def _check_xyz_symbols(p: Path) -> None:
    """ASE capitalises (ext)xyz symbols ('fe', 'FE' -> Fe): a miscased symbol is refused
    here instead, with the line. Frames are walked by their atom counts; anything ASE
    itself cannot parse is left to ASE's error."""
    with open_text(p) as f:
        ln = 0
        while True:
            head = f.readline()
            ln += 1
            if not head.strip():
                return
            try:
                n = int(head.split()[0])
            except ValueError:
                return
            props = re.search(r"Properties=(\S+)", f.readline())
            ln += 1
            col, at = 0, None
            fields = (props.group(1).strip('"') if props else "species:S:1:pos:R:3").split(":")
            for name, _, width in zip(fields[0::3], fields[1::3], fields[2::3]):
                if name in ("species", "symbols"):
                    at = col
                col += int(width) if width.isdigit() else 1
            for line in itertools.islice(f, n):
                ln += 1
                words = line.split()
                if at is not None and len(words) > at and words[at] not in atomic_numbers and not words[at].isdigit():
                    hint = f" (did you mean {words[at].capitalize()!r}?)" if words[at].capitalize() in atomic_numbers \
                        else ""
                    raise InputError(f"{p} line {ln}: {words[at]!r} is not an element symbol{hint}")


def _read_ase(p: Path, species, fmt) -> Iterator[Atoms]:
    import ase.io

    k, seen = 0, False
    try:
        # parallel=False: under MPI, ASE would read on rank 0 and broadcast, and a rank-0
        # failure would leave the others in that broadcast; each rank reads for itself
        for k, atoms in enumerate(ase.io.iread(str(p), index=":", format=fmt, parallel=False)):
            if k == 0 and fmt in (None, "vasp") and _is_poscar(p):
                _check_poscar_count(p, len(atoms))
            if k == 0 and (fmt in ("extxyz", "xyz") or (fmt is None and re.search(r"\.(ext)?xyz(\.gz)?$", p.name))):
                _check_xyz_symbols(p)
            check_structure(atoms, f"{p} frame {k}")
            if species is not None:
                species_of(atoms, species, f"{p} frame {k}: species")
            atoms.info.update(source=str(p), frame=k)
            seen = True
            yield atoms
    except InputError:
        raise
    except Exception as e:     # ASE raises many kinds on malformed files
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"{p} frame {k}: unreadable ({type(e).__name__}: {msg})") from None
    if not seen:
        raise InputError(f"{p}: no frame in the file (empty?)")


# closer than this, two atoms are one atom written twice (or a corrupt coordinate)
MIN_SEPARATION = 0.1        # A
# beyond this a coordinate is corrupt (1e300, a unit mix-up), not a position in a cell
MAX_COORDINATE = 1e7        # A


def check_structure(atoms: Atoms, where: str, min_separation: float = MIN_SEPARATION) -> Atoms:
    """The checks every reader and entry point applies to a structure, as one-line
    InputErrors naming ``where``: atoms present, finite coordinates within
    ``MAX_COORDINATE``, a finite periodic cell with volume (no flat or zero vector), and no
    two atoms (or an atom and a periodic image) closer than ``min_separation``. Returns
    ``atoms``."""
    n = len(atoms)
    if n == 0:
        raise InputError(f"{where}: no atoms")
    if np.any(atoms.numbers == 0):
        raise InputError(f"{where}: atom {int(np.argmax(atoms.numbers == 0))} has no element (symbol X)")
    pos, cell = atoms.positions, atoms.cell.array
    bad = ~np.all(np.isfinite(pos), axis=1)
    if bad.any():
        raise InputError(f"{where}: atom {int(np.argmax(bad))} has a NaN or inf coordinate")
    far = np.abs(pos).max(axis=1)
    if far.max() > MAX_COORDINATE:
        k = int(np.argmax(far))
        raise InputError(f"{where}: atom {k} has a coordinate of {pos[k][np.argmax(np.abs(pos[k]))]:.3g} A "
                         f"(beyond {MAX_COORDINATE:g} A: corrupt)")
    if not np.all(np.isfinite(cell)):
        raise InputError(f"{where}: the cell contains NaN or inf")
    pbc = np.asarray(atoms.pbc, dtype=bool)
    if pbc.any():
        h = cell_heights(atoms.cell.complete().array if not pbc.all() else cell)
        if not h[pbc].min() > min_separation:
            raise InputError(f"{where}: the periodic cell is degenerate (a zero or flat cell vector; "
                             f"face spacings {', '.join(f'{x:.3g}' for x in h)} A)")
    pair = closest_pair(atoms, min_separation)
    if pair is not None:
        i, j, d = pair
        raise InputError(f"{where}: atoms {i} and {j} are {d:.3f} A apart (closer than {min_separation} A: "
                         "duplicated or corrupt coordinates)")
    return atoms


def closest_pair(atoms: Atoms, r: float):
    """(i, j, d) of some pair of atoms (periodic images included) closer than ``r``, or
    None. Linear time whatever the input: atoms are binned in cubes of side r/sqrt(3)
    first -- two in one cube are closer than r -- so the k-d tree never meets a pile of
    coincident atoms (every atom at the origin)."""
    from scipy.spatial import cKDTree

    images, owner = periodic_images(atoms, r)
    keys = np.floor(images / (r / np.sqrt(3.0))).astype(np.int64)
    keys -= keys.min(axis=0)
    span = keys.max(axis=0) + 1
    if np.prod(span.astype(float)) < 2.0 ** 62:
        flat = np.ravel_multi_index(keys.T, span)
        order = np.argsort(flat, kind="stable")
        same = np.flatnonzero(np.diff(flat[order]) == 0)
    else:                                   # huge spread of coordinates: sort rows instead
        order = np.lexsort(keys.T[::-1])
        same = np.flatnonzero(np.all(np.diff(keys[order], axis=0) == 0, axis=1))
    if len(same):
        a, b = order[same[0]], order[same[0] + 1]
        return int(owner[a]), int(owner[b]), float(np.linalg.norm(images[a] - images[b]))
    pairs = cKDTree(images).query_pairs(r, output_type="ndarray")
    if len(pairs):
        a, b = pairs[0]
        return int(owner[a]), int(owner[b]), float(np.linalg.norm(images[a] - images[b]))
    return None


# ----------------------------------------------------------------------------- dumps

class _Lines:
    """Line iterator with push-back, for resynchronising after a bad frame."""

    def __init__(self, f):
        self.f, self.back = f, []

    def next(self) -> str | None:
        if self.back:
            return self.back.pop()
        line = self.f.readline()
        return line if line else None

    def take(self, n: int) -> list[str]:
        """Up to n lines; never reads past them (a cut gzip stream further on does not
        cost the frames before it)."""
        out = self.back[::-1][:n]
        self.back = self.back[: len(self.back) - len(out)]
        out.extend(itertools.islice(self.f, n - len(out)))
        return out

    def push(self, lines: list[str]) -> None:
        self.back.extend(reversed(lines))


def _read_dump(path: Path, species) -> Iterator[Atoms | FrameError]:
    frame, label = -1, f"{path}"
    try:
        with open_text(path) as f:
            lines = _Lines(f)
            while True:
                line = lines.next()
                if line is None:
                    break
                if not line.startswith("ITEM: TIMESTEP"):
                    if frame < 0 and line.strip():
                        raise InputError(f"{path}: not a LAMMPS dump (first line {line.strip()[:40]!r})")
                    continue                          # resynchronise on the next frame
                frame += 1
                label = f"{path} frame {frame}"
                try:
                    ts_line = lines.next()
                    step = int(ts_line.split()[0])
                    label = f"{path} frame {frame} (timestep {step})"
                    atoms = _dump_frame(lines, label, species)
                    _no_extra_lines(lines, label, len(atoms))
                    try:
                        check_structure(atoms, label)
                    except InputError as e:
                        raise FrameError(str(e)) from None
                    atoms.info.update(source=str(path), frame=frame, timestep=step)
                    yield atoms
                except FrameError as e:
                    yield e
                except (ValueError, IndexError, AttributeError) as e:
                    yield FrameError(f"{label}: malformed header ({e})")
    except (OSError, EOFError, UnicodeDecodeError, zlib.error) as e:      # e.g. a cut gzip stream
        yield FrameError(f"{label}: unreadable from here on ({_why(e)})")
        return
    if frame < 0:
        yield FrameError(f"{path}: no frame in the file (empty?)")


def _why(e: BaseException) -> str:
    if isinstance(e, EOFError):
        return "the compressed file is cut short"
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {text[:100]}" if text else type(e).__name__


def _no_extra_lines(lines: _Lines, label: str, n: int) -> None:
    """After a frame's n atom lines comes the next frame or the end: more atom lines mean
    NUMBER OF ATOMS is too small (the reader would drop atoms)."""
    extra = []
    while True:
        line = lines.next()
        if line is None or line.startswith("ITEM:"):
            if line is not None:
                lines.push([line])
            break
        if line.strip():
            extra.append(line)
    if extra:
        raise FrameError(f"{label}: {n + len(extra)} atom lines where NUMBER OF ATOMS says {n}")


def _expect(lines: _Lines, item: str, label: str) -> str:
    line = lines.next()
    if line is None:
        raise FrameError(f"{label}: file ends before 'ITEM: {item}' (truncated)")
    if not line.startswith(f"ITEM: {item}"):
        lines.push([line])
        raise FrameError(f"{label}: expected 'ITEM: {item}', found {line.strip()[:40]!r}")
    return line


def _dump_frame(lines: _Lines, label: str, species) -> Atoms:
    _expect(lines, "NUMBER OF ATOMS", label)
    n = int(lines.next().split()[0])
    if n <= 0:
        raise FrameError(f"{label}: NUMBER OF ATOMS is {n}")
    box_line = _expect(lines, "BOX BOUNDS", label)
    flags = box_line.split()[3:]
    triclinic = flags[:3] == ["xy", "xz", "yz"]
    general = flags[:2] == ["abc", "origin"]   # LAMMPS general triclinic: a, b, c and origin
    rows = [lines.next() for _ in range(3)]
    if any(r is None for r in rows):
        raise FrameError(f"{label}: file ends inside BOX BOUNDS (truncated)")
    bounds = np.array([[float(x) for x in r.split()] for r in rows])
    if not np.all(np.isfinite(bounds)):
        raise FrameError(f"{label}: BOX BOUNDS contain NaN or inf")
    pbc = [fl.startswith("p") for fl in flags[3 if triclinic else 2 if general else 0:]]
    if len(pbc) != 3:
        pbc = [True] * 3
    if general:
        cell, origin = bounds[:, :3], bounds[:, 3]
    else:
        xy, xz, yz = bounds[:, 2] if triclinic else (0.0, 0.0, 0.0)
        # LAMMPS writes the bounding box of a triclinic cell; undo the tilt offsets
        xlo = bounds[0, 0] - min(0.0, xy, xz, xy + xz)
        xhi = bounds[0, 1] - max(0.0, xy, xz, xy + xz)
        ylo, yhi = bounds[1, 0] - min(0.0, yz), bounds[1, 1] - max(0.0, yz)
        zlo, zhi = bounds[2, 0], bounds[2, 1]
        if not (xhi > xlo and yhi > ylo and zhi > zlo):
            raise FrameError(f"{label}: BOX BOUNDS have hi <= lo")
        cell = np.array([[xhi - xlo, 0, 0], [xy, yhi - ylo, 0], [xz, yz, zhi - zlo]])
        origin = np.array([xlo, ylo, zlo])
    return _dump_atoms(lines, label, n, cell, origin, pbc, species)


def _dump_atoms(lines: _Lines, label: str, n: int, cell, origin, pbc, species) -> Atoms:
    header = _expect(lines, "ATOMS", label)
    cols = header.split()[2:]
    col = {c: i for i, c in enumerate(cols)}
    for xyz in (("x", "y", "z"), ("xu", "yu", "zu"), ("xs", "ys", "zs"), ("xsu", "ysu", "zsu")):
        if all(c in col for c in xyz):
            break
    else:
        raise FrameError(f"{label}: ATOMS columns {cols} have no x y z (or xu/xs/xsu) positions")
    if "type" not in col and "element" not in col:
        raise FrameError(f"{label}: ATOMS columns {cols} have no 'type' or 'element' column")
    if "element" not in col and species is None:
        raise FrameError(f"{label}: the dump has atom types but no element column; give the species "
                         "of each type (e.g. --species Fe Cr)")
    body = lines.take(n)
    stop = next((i for i, s in enumerate(body) if s.startswith("ITEM:")), None)
    if stop is not None:                 # the next frame's header: give it back
        lines.push(body[stop:])
        raise FrameError(f"{label}: {stop} atom lines where NUMBER OF ATOMS says {n}")
    if len(body) < n:
        raise FrameError(f"{label}: truncated, {len(body)} atom lines where NUMBER OF ATOMS says {n}")
    numeric = [c for c in ("id", "type") if c in col] + list(xyz)
    try:
        values = np.loadtxt(body, usecols=[col[c] for c in numeric], ndmin=2, comments=None)
        names = (np.loadtxt(body, usecols=[col["element"]], dtype=str, ndmin=1, comments=None)
                 if "element" in col else None)
    except ValueError as e:
        raise FrameError(f"{label}: bad ATOMS line ({str(e).splitlines()[0]})") from None
    v = {c: values[:, k] for k, c in enumerate(numeric)}
    pos = values[:, -3:]
    if not np.all(np.isfinite(pos)):
        raise FrameError(f"{label}: positions contain NaN or inf")
    if names is not None:
        bad = sorted({s for s in names.tolist() if s not in atomic_numbers or s == "X"})
        if bad:
            raise FrameError(f"{label}: column 'element' has {bad[0]!r}, not an element symbol")
        symbols = names.tolist()
        if species is not None:
            other = sorted(set(symbols) - set(species))
            if other:
                raise FrameError(f"{label}: column 'element' has {other[0]} but species are {' '.join(species)}")
    else:
        t = v["type"]
        if np.any(t != np.round(t)):
            raise FrameError(f"{label}: column 'type' has values that are not integers")
        try:
            symbols = symbols_from_types(t.astype(np.int64), species, label)
        except InputError as e:
            raise FrameError(str(e)) from None
    if xyz[0].startswith("xs"):
        pos = pos @ cell
    else:
        pos = pos - origin
    atoms = Atoms(symbols=symbols, positions=pos, cell=cell, pbc=pbc)
    if "type" in v:
        atoms.arrays["type"] = v["type"].astype(np.int32)
    if "id" in v:
        ids = v["id"].astype(np.int64)
        order = np.argsort(ids, kind="stable")
        if np.any(np.diff(ids[order]) == 0):
            dup = int(ids[order][np.flatnonzero(np.diff(ids[order]) == 0)[0]])
            raise FrameError(f"{label}: atom id {dup} appears twice")
        atoms = atoms[order]
    return atoms


# ----------------------------------------------------------------------------- data files

_STYLE_COLUMNS = {"atomic": (1, 2), "charge": (1, 3), "full": (2, 4), "molecular": (2, 3)}   # type col, first x col
_NCOLS = {"atomic": 5, "charge": 6, "full": 7, "molecular": 6}
_HEADER = re.compile(r"^\s*([-+.\deE]+)\s+([-+.\deE]+)\s+(xlo xhi|ylo yhi|zlo zhi)")


def _read_data(p: Path, species, atom_style) -> Atoms:
    where = f"{p}"
    try:
        with open_text(p) as f:
            text = f.read().splitlines()
    except (OSError, EOFError, UnicodeDecodeError, zlib.error) as e:
        raise InputError(f"{where}: unreadable ({_why(e)})") from None
    natoms = ntypes = None
    box = {}
    tilt = (0.0, 0.0, 0.0)
    sections: dict[str, list[str]] = {}
    style_hint = None
    k = 1                                        # line 0 is the title
    while k < len(text):
        line = text[k].split("#")[0].strip()
        if not line:
            k += 1
            continue
        words = line.split()
        head = words[0]
        if head in ("Atoms", "Masses", "Velocities", "Bonds", "Angles", "Dihedrals", "Impropers",
                    "Pair", "PairIJ") or line.endswith("Coeffs"):
            name = head
            if head == "Atoms" and "#" in text[k]:
                style_hint = text[k].split("#", 1)[1].strip().split()[0] if text[k].split("#", 1)[1].strip() else None
            k += 1
            body = []
            while k < len(text) and not text[k].strip():
                k += 1
            while k < len(text) and text[k].strip() and not text[k].strip()[0].isalpha():
                body.append(text[k].split("#")[0])
                k += 1
            sections[name] = body
            continue
        try:
            if line.endswith(" atoms"):
                natoms = int(words[0])
            elif line.endswith("atom types"):
                ntypes = int(words[0])
            elif _HEADER.match(line):
                m = _HEADER.match(line)
                box[m.group(3)[0]] = (float(m.group(1)), float(m.group(2)))
            elif line.endswith("xy xz yz"):
                tilt = tuple(float(w) for w in words[:3])
        except ValueError:
            raise InputError(f"{where}: bad header line {text[k].strip()[:50]!r}") from None
        k += 1
    if natoms is None:
        raise InputError(f"{where}: not a LAMMPS data file (no 'N atoms' header line)")
    if natoms <= 0:
        raise InputError(f"{where}: header says {natoms} atoms")
    if set(box) != {"x", "y", "z"}:
        raise InputError(f"{where}: the header lacks xlo xhi / ylo yhi / zlo zhi")
    lo = np.array([box[c][0] for c in "xyz"])
    hi = np.array([box[c][1] for c in "xyz"])
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)) and np.all(np.isfinite(tilt))):
        raise InputError(f"{where}: box bounds contain NaN or inf")
    if np.any(hi <= lo):
        raise InputError(f"{where}: box has hi <= lo ({'xyz'[int(np.argmax(hi <= lo))]})")
    rows = sections.get("Atoms")
    if not rows:
        raise InputError(f"{where}: no Atoms section")
    if len(rows) != natoms:
        raise InputError(f"{where}: the header says {natoms} atoms but the Atoms section has {len(rows)} lines")
    style = atom_style or style_hint
    ncol = len(rows[0].split())
    if style is None:
        style = {5: "atomic", 8: "atomic", 7: "full", 10: "full"}.get(ncol)
        if style is None:
            raise InputError(f"{where}: cannot tell the atom style from {ncol} columns; write 'Atoms # atomic' "
                             "(or charge, full, molecular)")
    if style not in _STYLE_COLUMNS:
        raise InputError(f"{where}: atom style {style!r} is not one of {', '.join(_STYLE_COLUMNS)}")
    tcol, xcol = _STYLE_COLUMNS[style]
    try:
        vals = np.array([[float(w) for w in r.split()] for r in rows])
    except ValueError:
        raise InputError(f"{where}: Atoms section has a line that is not numbers") from None
    if vals.ndim != 2 or vals.shape[1] not in (_NCOLS[style], _NCOLS[style] + 3):
        raise InputError(f"{where}: Atoms lines have {ncol} columns, not {_NCOLS[style]} (+3 image flags) "
                         f"of atom style {style}")
    ids, types, pos = vals[:, 0].astype(np.int64), vals[:, tcol], vals[:, xcol:xcol + 3]
    if not np.all(np.isfinite(pos)):
        raise InputError(f"{where}: positions contain NaN or inf")
    if np.any(types != np.round(types)) or types.min() < 1 or (ntypes and types.max() > ntypes):
        raise InputError(f"{where}: atom types must be integers 1..{ntypes}")
    if len(np.unique(ids)) != len(ids):
        raise InputError(f"{where}: duplicate atom ids")
    xy, xz, yz = tilt
    cell = np.array([[hi[0] - lo[0], 0, 0], [xy, hi[1] - lo[1], 0], [xz, yz, hi[2] - lo[2]]])
    if vals.shape[1] == _NCOLS[style] + 3:
        pos = pos + vals[:, -3:] @ cell
    types = types.astype(np.int64)
    masses = _masses(sections.get("Masses"), where)
    if species is None:
        if not masses:
            raise InputError(f"{where}: atom types but no element names and no Masses; give the species "
                             "of each type (e.g. --species Fe Cr)")
        species = []
        for t in range(1, int(max(types.max(), ntypes or 0)) + 1):
            el = element_of_mass(masses[t]) if t in masses else None
            if el is None:
                got = "no Masses line" if t not in masses else \
                    f"mass {masses[t]} matches no element (nearest {nearest_element(masses[t])})"
                raise InputError(f"{where}: type {t}: {got}; give the species of each type (e.g. --species Fe Cr)")
            species.append(el)
    syms = symbols_from_types(types, species, where)
    order = np.argsort(ids, kind="stable")
    atoms = Atoms(symbols=syms, positions=pos - lo, cell=cell, pbc=True)[order]
    atoms.arrays["type"] = types[order].astype(np.int32)
    if masses:
        atoms.set_masses([masses.get(int(t), atomic_masses[atomic_numbers[s]])
                          for t, s in zip(atoms.arrays["type"], atoms.get_chemical_symbols())])
    atoms.info.update(source=str(p), frame=0, species=list(species))
    return check_structure(atoms, where)


def _masses(rows, where) -> dict[int, float]:
    out = {}
    for r in rows or []:
        w = r.split()
        try:
            out[int(w[0])] = float(w[1])
        except (ValueError, IndexError):
            raise InputError(f"{where}: bad Masses line {r.strip()!r}") from None
        if not (math.isfinite(out[int(w[0])]) and out[int(w[0])] > 0):
            raise InputError(f"{where}: Masses of type {w[0]} is {w[1]}, not a positive number")
    return out


# ----------------------------------------------------------------------------- writers

def wrap_to_box(prism, positions: np.ndarray):
    """ASE positions -> LAMMPS-frame positions inside the periodic box (``prism``: ASE's
    ``Prism`` of the cell), and the image flags that undo the wrapping. Whole periods are
    subtracted (no round trip through fractional coordinates), so atoms inside the box keep
    every bit: a data file read by LAMMPS holds the same coordinates as atoms created
    through the library by :func:`alloykit.lmp.put_atoms`."""
    x = prism.vector_to_lammps(np.asarray(positions, dtype=float))
    cell = prism.cell
    frac = np.linalg.solve(cell.T, x.T).T
    images = np.floor(frac).astype(np.int64) * np.asarray(prism.pbc, dtype=np.int64)
    return x - images @ cell, images


def _lammps_box(atoms: Atoms):
    """The LAMMPS box of ``atoms`` (lower-triangular cell, ASE's Prism) and the positions
    in it."""
    from ase.calculators.lammps import Prism

    prism = Prism(atoms.cell.array, pbc=atoms.pbc)
    box = tuple(float(x) for x in prism.get_lammps_prism())
    pos, _ = wrap_to_box(prism, atoms.positions)
    return box, np.asarray(pos, float), bool(prism.is_skewed())


def write_lammps_data(atoms: Atoms, path, species=None, masses: dict | None = None) -> list[str]:
    """Write ``atoms`` as a LAMMPS data file (atom style atomic, ids 1..N in order, full
    precision). Type t is ``species[t - 1]`` (default: elements present, sorted); Masses
    from ``masses`` or the standard atomic masses, with the element in a comment. Returns
    the species."""
    species = species_of(atoms, species)
    (xhi, yhi, zhi, xy, xz, yz), pos, skewed = _lammps_box(atoms)
    types = np.array([species.index(s) + 1 for s in atoms.get_chemical_symbols()], dtype=int)
    masses = dict(masses or {})
    lines = ["LAMMPS data file written by alloykit (species: " + " ".join(species) + ")", "",
             f"{len(atoms)} atoms", f"{len(species)} atom types", "",
             f"0.0 {xhi!r} xlo xhi", f"0.0 {yhi!r} ylo yhi", f"0.0 {zhi!r} zlo zhi"]
    if skewed or any(abs(t) > 0 for t in (xy, xz, yz)):
        lines.append(f"{xy!r} {xz!r} {yz!r} xy xz yz")
    lines += ["", "Masses", ""]
    lines += [f"{t} {float(masses.get(s, atomic_masses[atomic_numbers[s]]))!r}  # {s}"
              for t, s in enumerate(species, 1)]
    lines += ["", "Atoms # atomic", ""]
    lines += [f"{i} {t} {x!r} {y!r} {z!r}" for i, (t, (x, y, z)) in enumerate(zip(types, pos.tolist()), 1)]
    Path(path).write_text("\n".join(lines) + "\n")
    return species


def write_lammps_dump(frames, path, species=None, timesteps=None) -> list[str]:
    """Write frames as a LAMMPS text dump (``id type element x y z``; ``.gz`` compresses).
    Returns the species (type t = species[t - 1])."""
    frames = list(frames)
    if not frames:
        raise InputError(f"{path}: no frames to write")
    species = species_of(frames[0], species)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wt") as f:
        for k, atoms in enumerate(frames):
            (xhi, yhi, zhi, xy, xz, yz), pos, skewed = _lammps_box(atoms)
            step = timesteps[k] if timesteps is not None else atoms.info.get("timestep", k)
            pb = " ".join("pp" if p else "ff" for p in atoms.pbc)
            f.write(f"ITEM: TIMESTEP\n{int(step)}\nITEM: NUMBER OF ATOMS\n{len(atoms)}\n")
            if skewed:
                lo = (min(0.0, xy, xz, xy + xz), min(0.0, yz))
                hi = (max(0.0, xy, xz, xy + xz), max(0.0, yz))
                f.write(f"ITEM: BOX BOUNDS xy xz yz {pb}\n{lo[0]!r} {xhi + hi[0]!r} {xy!r}\n"
                        f"{lo[1]!r} {yhi + hi[1]!r} {xz!r}\n0.0 {zhi!r} {yz!r}\n")
            else:
                f.write(f"ITEM: BOX BOUNDS {pb}\n0.0 {xhi!r}\n0.0 {yhi!r}\n0.0 {zhi!r}\n")
            f.write("ITEM: ATOMS id type element x y z\n")
            syms = atoms.get_chemical_symbols()
            for i, (s, (x, y, z)) in enumerate(zip(syms, pos.tolist()), 1):
                f.write(f"{i} {species.index(s) + 1} {s} {x!r} {y!r} {z!r}\n")
    return species
