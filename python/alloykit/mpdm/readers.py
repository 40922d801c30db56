"""Frames from files, one at a time, with one-line errors per frame.

* LAMMPS text dumps (``*.dump``, ``*.lammpstrj``, ``dump.*``, or any file starting with
  ``ITEM: TIMESTEP``; gzip by the ``.gz`` suffix): a small streaming reader here, so a
  bad frame yields an error and the following frames are still read, and a 1e6-atom frame
  parses in about a second. Orthogonal and triclinic boxes; x/xu/xs/xsu coordinates;
  species from a ``type`` or ``element`` column.
* LAMMPS data files (``*.data``, ``*.lmp``, ``data.*``): ``ase.io.read(format="lammps-data")``.
* Anything else (extxyz, POSCAR, ...): ``ase.io.iread``.

Each item is ``(label, atoms_or_error)``: an ``ase.Atoms`` or a :class:`FrameError`
whose message names the file, frame and field. LAMMPS types are kept in
``atoms.arrays["type"]``; element names, when given, as chemical symbols.
"""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Iterator

import numpy as np
from ase import Atoms

from ..structio import guess_format, open_text


class FrameError(Exception):
    """A frame that could not be read or counted; str() is one line naming file and frame."""


def read_frames(path: str | Path, fmt: str | None = None,
                atom_style: str | None = None) -> Iterator[tuple[str, Atoms | FrameError]]:
    """Yield ``(label, Atoms | FrameError)`` for every frame of ``path``."""
    p = Path(path)
    if not p.is_file():
        yield f"{p}", FrameError(f"{p}: no such file")
        return
    fmt = fmt or guess_format(p)
    if fmt == "lammps-dump":
        yield from read_lammps_dump(p)
    elif fmt == "lammps-data":
        import ase.io

        try:
            with open_text(p) as f:
                atoms = ase.io.read(f, format="lammps-data", atom_style=atom_style)
            yield f"{p}", atoms
        except Exception as e:  # ase raises many kinds on malformed files
            yield f"{p}", FrameError(f"{p}: not a readable LAMMPS data file ({type(e).__name__}: {e})".splitlines()[0])
    else:
        import ase.io

        i = 0
        try:
            for i, atoms in enumerate(ase.io.iread(p, index=":", format=None if fmt == "ase" else fmt)):
                yield f"{p} frame {i}", atoms
        except Exception as e:
            yield f"{p} frame {i}", FrameError(f"{p} frame {i}: unreadable ({type(e).__name__}: {e})".splitlines()[0])


class _Lines:
    """Line iterator with push-back, for resynchronising after errors."""

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


def read_lammps_dump(path: Path) -> Iterator[tuple[str, Atoms | FrameError]]:
    frame, label = -1, f"{path}"
    try:
        with open_text(path) as f:
            lines = _Lines(f)
            while True:
                line = lines.next()
                if line is None:
                    return
                if not line.startswith("ITEM: TIMESTEP"):
                    continue                       # resynchronise on the next frame
                frame += 1
                label = f"{path} frame {frame}"
                try:
                    ts_line = lines.next()
                    label = f"{path} frame {frame} (timestep {int(ts_line.split()[0])})"
                    yield label, _read_dump_frame(lines, label)
                except FrameError as e:
                    yield label, e
                except (ValueError, IndexError, AttributeError) as e:
                    yield label, FrameError(f"{label}: malformed header ({e})".splitlines()[0])
    except (OSError, EOFError, UnicodeDecodeError) as e:   # e.g. a cut gzip stream
        where = label if frame >= 0 else f"{path}"
        yield where, FrameError(f"{where}: unreadable from here on ({type(e).__name__}: {e})".splitlines()[0])


def _expect(lines: _Lines, item: str, label: str) -> str:
    line = lines.next()
    if line is None:
        raise FrameError(f"{label}: file ends before 'ITEM: {item}' (truncated)")
    if not line.startswith(f"ITEM: {item}"):
        lines.push([line])
        raise FrameError(f"{label}: expected 'ITEM: {item}', found {line.strip()[:40]!r}")
    return line


def _read_dump_frame(lines: _Lines, label: str) -> Atoms:
    _expect(lines, "NUMBER OF ATOMS", label)
    n = int(lines.next().split()[0])
    if n <= 0:
        raise FrameError(f"{label}: NUMBER OF ATOMS is {n}")
    box_line = _expect(lines, "BOX BOUNDS", label)
    flags = box_line.split()[3:]
    triclinic = flags[:3] == ["xy", "xz", "yz"]
    general = flags[:2] == ["abc", "origin"]   # LAMMPS general triclinic: a, b, c and origin
    bounds = np.array([[float(x) for x in lines.next().split()] for _ in range(3)])
    pbc = [fl.startswith("p") for fl in flags[3 if triclinic else 2 if general else 0:]]
    if len(pbc) != 3:
        pbc = [True] * 3
    if general:
        return _read_atoms(lines, label, n, bounds[:, :3], bounds[:, 3], pbc)
    xy, xz, yz = bounds[:, 2] if triclinic else (0.0, 0.0, 0.0)
    # LAMMPS writes the bounding box of a triclinic cell; undo the tilt offsets
    xlo = bounds[0, 0] - min(0.0, xy, xz, xy + xz)
    xhi = bounds[0, 1] - max(0.0, xy, xz, xy + xz)
    ylo, yhi = bounds[1, 0] - min(0.0, yz), bounds[1, 1] - max(0.0, yz)
    zlo, zhi = bounds[2, 0], bounds[2, 1]
    cell = np.array([[xhi - xlo, 0, 0], [xy, yhi - ylo, 0], [xz, yz, zhi - zlo]])
    return _read_atoms(lines, label, n, cell, np.array([xlo, ylo, zlo]), pbc)


def _read_atoms(lines: _Lines, label: str, n: int, cell, origin, pbc) -> Atoms:
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

    body = lines.take(n)
    stop = next((i for i, s in enumerate(body) if s.startswith("ITEM:")), None)
    if stop is not None:                 # the next frame's header: give it back
        lines.push(body[stop:])
        raise FrameError(f"{label}: {stop} atom lines where NUMBER OF ATOMS says {n}")
    if len(body) < n:
        raise FrameError(f"{label}: truncated, {len(body)} atom lines where NUMBER OF ATOMS says {n}")
    try:
        if "element" in col:
            pos = np.loadtxt(body, usecols=[col[c] for c in xyz], ndmin=2, comments=None)
            symbols = list(np.loadtxt(body, usecols=[col["element"]], dtype=str, ndmin=1, comments=None))
            types = None
        else:
            values = np.loadtxt(body, usecols=[col["type"]] + [col[c] for c in xyz], ndmin=2, comments=None)
            types, pos, symbols = values[:, 0], values[:, 1:], None
    except ValueError as e:
        raise FrameError(f"{label}: bad ATOMS line ({str(e).splitlines()[0]})") from None
    if types is not None:
        if np.any(types != np.round(types)) or np.any(types < 1):
            raise FrameError(f"{label}: column 'type' has values that are not positive integers")
        types = types.astype(np.int32)
    if not np.all(np.isfinite(pos)):
        raise FrameError(f"{label}: positions contain NaN or inf")
    pos = pos @ cell + origin if xyz[0].startswith("xs") else pos
    try:
        atoms = Atoms(symbols=symbols, numbers=None if symbols else np.zeros(n, int),
                      positions=pos - origin, cell=cell, pbc=pbc)
    except (KeyError, ValueError) as e:
        raise FrameError(f"{label}: column 'element' has an unknown element {e}") from None
    if types is not None:
        atoms.arrays["type"] = types
    return atoms
