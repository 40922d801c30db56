"""Where alloykit's LAMMPS input scripts (the repository's ``inputs/``) are: installed as
``alloykit/lammps_inputs`` by ``pip install .``, or in the source tree for editable installs."""
from __future__ import annotations

from pathlib import Path


def inputs_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "lammps_inputs", here.parents[1] / "inputs"):
        if candidate.is_dir():
            return candidate
    return here.parents[1] / "inputs"
