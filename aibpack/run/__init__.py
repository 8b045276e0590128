"""``aibpack run``: compile → fetch → check → inputs → staging group → packer → distribute → cleanup → run outputs.

One module per stage; this one only orders them, for one template or a catalogue. First one preflight for every
template (``prepare``): nothing is created in Azure before it has passed for all of them, and a template whose
targets already hold an artifact made from the same inputs is up to date and not built. Then the builds run
concurrently (``execute``), each deleting its staging group in ``finally`` unless ``--keep-staging`` or
``--on-error abort`` keeps it. The Azure SDK is imported only by the stages that need it, when they run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from aibpack.errors import EXIT_INTERRUPTED
from aibpack.run.execute import execute
from aibpack.run.prepare import Prepared, preflight_failed, prepare_all
from aibpack.run.report import RunOptions, RunReport
from aibpack.run.signals import Cancel, Interrupted, signals_cancel, signals_raise

__all__ = ["RunOptions", "RunReport", "run", "run_all"]


def run(options: RunOptions, on_line: Callable[[str], None]) -> RunReport:
    """Run one template; never raises for a user-facing failure: the report carries status and exit code."""
    return run_all([options], on_line)[0]


def run_all(runs: list[RunOptions], on_line: Callable[[str], None], parallel: int | None = None) -> list[RunReport]:
    """Run several templates: one preflight for all, then at most ``parallel`` builds at once (default: all).

    With several templates each line is prefixed with its template's name.
    """
    started = time.monotonic()
    items = [Prepared(options, RunReport(str(options.template), work_dir=options.work_dir)) for options in runs]
    _attach_output(items, on_line)
    try:
        with signals_raise():
            prepare_all(items)
    except Interrupted as exc:  # nothing exists in Azure yet
        return _finish(items, started, f"interrupted by {exc.signal_name}")
    if preflight_failed(items):
        return _finish(items, started)
    building = [item for item in items if item.to_build]
    if building:
        cancel = Cancel()
        workers = min(len(building), parallel or len(building))
        with signals_cancel(cancel), ThreadPoolExecutor(workers, thread_name_prefix="aibpack-build") as pool:
            for future in [pool.submit(execute, item, cancel, started) for item in building]:
                future.result()
    return _finish(items, started)


def _attach_output(items: list[Prepared], on_line: Callable[[str], None]) -> None:
    """Each template's lines to ``on_line``: as they are for one template, prefixed ``[name]`` for several."""
    if len(items) == 1:
        items[0].say = on_line
        return
    lock = threading.Lock()

    def sink(item: Prepared) -> Callable[[str], None]:
        def say(line: str) -> None:
            with lock:
                on_line(f"[{item.name}] {line}")

        return say

    for item in items:
        item.say = sink(item)


def _finish(items: list[Prepared], started: float, interrupted: str | None = None) -> list[RunReport]:
    """The reports, with the duration of what was not built, and every unfinished one canceled by a signal."""
    for item in items:
        report = item.report
        if interrupted and report.error is None and not report.up_to_date:
            report.status, report.exit_code, report.error = "Canceled", EXIT_INTERRUPTED, interrupted
        if not report.duration:
            report.duration = time.monotonic() - started
    return [item.report for item in items]
