"""What the long waits show: a live line per task on a terminal, throttled plain lines in a log."""

from __future__ import annotations

import io

from aibpack.progress import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_on_change_at_most_every_30_seconds() -> None:
    stream, clock = io.StringIO(), Clock()
    progress = Progress(stream, live=False, clock=clock)
    task = progress.task("sig")
    task.update("1.0.0 replicating: westus 0%")
    clock.now = 10
    task.update("1.0.0 replicating: westus 40%")  # too soon: not shown
    clock.now = 31
    task.update("1.0.0 replicating: westus 40%")
    task.update("1.0.0 replicating: westus 40%")  # no change: not shown again
    clock.now = 32
    task.finish("1.0.0 published: westus Completed")  # the last line always
    assert stream.getvalue().splitlines() == [
        "sig: 1.0.0 replicating: westus 0%",
        "sig: 1.0.0 replicating: westus 40%",
        "sig: 1.0.0 published: westus Completed",
    ]


def test_plain_tasks_are_throttled_each_on_its_own() -> None:
    stream, clock = io.StringIO(), Clock()
    progress = Progress(stream, live=False, clock=clock)
    a, b = progress.task("a"), progress.task("b")
    a.update("1")
    b.update("1")
    clock.now = 5
    a.update("2")
    b.update("2")
    assert stream.getvalue().splitlines() == ["a: 1", "b: 1"]


def test_live_lines_are_redrawn_in_place_and_finished_lines_stay() -> None:
    stream = io.StringIO()
    progress = Progress(stream, live=True)
    a, b = progress.task("a"), progress.task("b")
    a.update("copying 10%")
    b.update("replicating 0%")
    a.update("copying 50%")
    a.finish("copied")
    b.finish("published")
    screen = _render(stream.getvalue())
    assert screen == ["a: copied", "b: published"]
    # While both ran there were two live lines, redrawn from the block's first line.
    assert "\x1b[2F" in stream.getvalue()


def test_silent_progress_writes_nothing() -> None:
    task = Progress.silent().task("x")
    task.update("anything")
    task.finish("done")


def test_a_terminal_stream_gets_live_lines() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert Progress(Tty()).live is True
    assert Progress(io.StringIO()).live is False


def _render(output: str) -> list[str]:
    """Play the ANSI cursor moves this module uses ("ESC[nF" up n lines, "ESC[2K" clear line) onto a screen."""
    import re

    screen: list[str] = []
    row = 0
    for token in re.split(r"(\x1b\[\d*F|\x1b\[2K|\n)", output):
        if not token:
            continue
        if token.startswith("\x1b[") and token.endswith("F"):
            row -= int(token[2:-1] or 1)
        elif token == "\x1b[2K":
            while len(screen) <= row:
                screen.append("")
            screen[row] = ""
        elif token == "\n":
            row += 1
        else:
            while len(screen) <= row:
                screen.append("")
            screen[row] += token
    return [line for line in screen if line]
