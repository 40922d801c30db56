"""Tiny progress reporting for long work (stderr, one line per update, no dependency)."""
from __future__ import annotations

import sys
import time


class Progress:
    """``with Progress("relaxing", total=n) as p: ... p.update()``.

    Prints at most every ``every`` seconds, so it is cheap inside loops.
    Silent when ``enabled`` is False (tests, MPI ranks other than 0).
    """

    def __init__(self, label: str, total: int | None = None, every: float = 2.0, enabled: bool = True):
        self.label, self.total, self.every, self.enabled = label, total, every, enabled
        self.done = 0
        self._t0 = self._last = time.perf_counter()

    def __enter__(self):
        return self

    def update(self, n: int = 1, note: str = "") -> None:
        self.done += n
        now = time.perf_counter()
        if self.enabled and (now - self._last >= self.every or self.done == self.total):
            self._last = now
            of = f"/{self.total}" if self.total else ""
            print(f"[{self.label}] {self.done}{of} {note} ({now - self._t0:.1f} s)", file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        if self.enabled and exc[0] is None:
            print(f"[{self.label}] done: {self.done} in {time.perf_counter() - self._t0:.1f} s", file=sys.stderr, flush=True)
        return False
