"""The error types of alloykit.

Library functions raise :class:`InputError` for anything the user can fix (a file, a field,
an option value) with a one-line message that names it, e.g. ``"dump.gz frame 3: column
'type' has value 4, but only 3 species are given"``. The CLI prints such a message as
``alloykit <command>: <message>`` and exits with status 2; ``--debug`` shows the traceback.
"""
from __future__ import annotations


class AlloykitError(Exception):
    """Base of every error alloykit raises on purpose."""


class InputError(AlloykitError, ValueError):
    """Bad input from the user (a file, a field, an option value). A ValueError too, so
    code that catches ValueError keeps working."""

    def __init__(self, message: str):
        # one line always: the CLI prints it as is
        text = str(message).strip()
        super().__init__(text.splitlines()[0] if text else type(self).__name__)


def one_line(e: BaseException) -> str:
    """The first line of an exception's message (its type name if it has none)."""
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
