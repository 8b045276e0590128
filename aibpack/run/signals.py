"""SIGINT and SIGTERM during a run: raise between the stages, record during cleanup (which must finish)."""

from __future__ import annotations

import contextlib
import signal
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


def signals_deferred(seen: list[str]) -> contextlib.AbstractContextManager[None]:
    """During cleanup a signal must not abort the deletes: record it, exit 130 afterwards."""
    return _signal_handler(lambda signum, _frame: seen.append(signal.Signals(signum).name))
