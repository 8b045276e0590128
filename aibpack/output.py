"""Writing files so that an error never leaves one half-written: a temporary name, then a rename.

The file gets the mode any other tool would give it: a file that is replaced keeps its mode, and a new one
follows the umask (``mkstemp`` alone would make every file 0600).
"""

from __future__ import annotations

import os
import stat
import tempfile
import threading
from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _mode_for(path)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            os.fchmod(handle.fileno(), mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    """The mode of the file being replaced, else what ``open()`` would create: 0666 less the umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process umask, read without changing it where Linux tells it (``Umask:`` in /proc/self/status, proc(5)).

    Elsewhere it can only be read by setting it and back; the lock keeps two of our threads (a catalogue's builds)
    from interleaving that and leaving the wrong umask behind.
    """
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:
        umask = os.umask(0o022)
        os.umask(umask)
    return umask
