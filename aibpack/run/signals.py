"""SIGINT and SIGTERM during a run: raise between the stages, record during cleanup (which must finish).

While builds run in worker threads, the main thread only records a signal in a ``Cancel`` that every build
watches: between its stages, and inside ``packer build`` (which then stops Packer's process group).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator


class Interrupted(Exception):
    """SIGINT or SIGTERM reached aibpack outside the packer build."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


@contextlib.contextmanager
def _signal_handler(handler: Callable[[int, object], None]) -> Iterator[None]:
    """``handler`` for SIGINT and SIGTERM (unless ignored on entry) for the duration of the block."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for sig, old in previous.items():
            if old is not signal.SIG_IGN:
                signal.signal(sig, handler)
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)


def signals_raise() -> contextlib.AbstractContextManager[None]:
    """SIGINT/SIGTERM outside the packer build raise ``Interrupted`` so ``finally`` cleans up."""

    def handler(signum: int, _frame: object) -> None:
        raise Interrupted(signal.Signals(signum).name)

    return _signal_handler(handler)


class Cancel:
    """A stop request shared by concurrent builds: the first signal's name, and a list per running Packer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[list[str]] = []
        self.signal_name: str | None = None

    def listener(self) -> list[str]:
        """A list that receives every signal from now on (``run_packer``'s ``signals``)."""
        with self._lock:
            listener = [self.signal_name] if self.signal_name else []
            self._listeners.append(listener)
            return listener

    def request(self, signal_name: str) -> None:
        with self._lock:
            self.signal_name = self.signal_name or signal_name
            for listener in self._listeners:
                listener.append(signal_name)

    def check(self) -> None:
        """Raise ``Interrupted`` between stages once a stop was requested."""
        if self.signal_name:
            raise Interrupted(self.signal_name)


def signals_cancel(cancel: Cancel) -> contextlib.AbstractContextManager[None]:
    """While builds run in other threads: every SIGINT/SIGTERM goes to ``cancel`` (a second one kills Packer)."""
    return _signal_handler(lambda signum, _frame: cancel.request(signal.Signals(signum).name))
