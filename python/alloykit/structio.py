"""What every file reader of alloykit shares: opening text that may be gzip-compressed,
and telling LAMMPS dumps and data files from formats ASE reads."""
from __future__ import annotations

import gzip
from pathlib import Path


def open_text(path: Path):
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
    except (OSError, UnicodeDecodeError, EOFError):
        return "ase"
    return "lammps-dump" if first.startswith("ITEM: TIMESTEP") else "ase"
