"""Progress of the long waits: gallery replication, snapshot copies, VHD copies, deleting the staging group.

With real Azure these take 10-40 minutes, so each waiting task says what it is doing. On a terminal every task
has a live line, redrawn in place; in a log (CI, not a TTY) a task prints a plain line when its text changes, at
most every ``every`` seconds, and always its last line. Tasks run in threads, so every write takes the lock.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

PLAIN_EVERY = 30.0  # seconds between two plain lines of one task
_CLEAR_LINE = "\x1b[2K"


class Progress:
    """Where tasks report; ``live`` defaults to whether the stream is a terminal."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        live: bool | None = None,
        every: float = PLAIN_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self.live = bool(stream is not None and stream.isatty()) if live is None else live
        self.every = every
        self._clock = clock
        self._lock = threading.Lock()
        self._active: list[Task] = []
        self._drawn = 0

    @classmethod
    def silent(cls) -> Progress:
        """Progress that shows nothing (library calls, tests that do not look at it)."""
        return cls(None, live=False)

    def task(self, name: str) -> Task:
        return Task(self, name)

    # ---- called by Task, under no lock -------------------------------------------------------------------

    def _update(self, task: Task, text: str, final: bool) -> None:
        if self._stream is None:
            return
        with self._lock:
            if self.live:
                self._update_live(task, text, final)
            else:
                self._update_plain(task, text, final)

    def _update_plain(self, task: Task, text: str, final: bool) -> None:
        now = self._clock()
        if text == task.shown:
            return
        if not final and task.shown_at is not None and now - task.shown_at < self.every:
            return
        task.shown, task.shown_at = text, now
        self._write(f"{task.name}: {text}\n")

    def _update_live(self, task: Task, text: str, final: bool) -> None:
        task.shown = text
        if task not in self._active:
            self._active.append(task)
        permanent = []
        if final:
            self._active.remove(task)
            permanent.append(f"{task.name}: {text}")
        width = max(20, shutil.get_terminal_size((120, 24)).columns - 1)
        lines = [*permanent, *(f"{t.name}: {t.shown}" for t in self._active)]
        out = [f"\x1b[{self._drawn}F"] if self._drawn else []
        out += [f"{_CLEAR_LINE}{line[:width]}\n" for line in lines]
        stale = self._drawn - len(lines)
        if stale > 0:  # the block shrank: blank what is left of it, then come back up
            out += [f"{_CLEAR_LINE}\n"] * stale + [f"\x1b[{stale}F"]
        self._drawn = len(self._active)
        self._write("".join(out))

    def _write(self, text: str) -> None:
        assert self._stream is not None
        self._stream.write(text)
        self._stream.flush()


class Task:
    """One waiting thing: ``update`` while it runs, ``finish`` once."""

    def __init__(self, progress: Progress, name: str) -> None:
        self._progress = progress
        self.name = name
        self.shown: str | None = None
        self.shown_at: float | None = None

    def update(self, text: str) -> None:
        self._progress._update(self, text, final=False)

    def finish(self, text: str) -> None:
        self._progress._update(self, text, final=True)


def for_terminal() -> Progress:
    """Progress on stderr, where aibpack's other messages go (stdout may carry ``--json``)."""
    return Progress(sys.stderr)
