"""aibpack's per-user cache: things derived from the installed code, kept between runs like ``__pycache__``."""

from __future__ import annotations

import os
from pathlib import Path

from aibpack import __version__


def cache_dir(kind: str) -> Path | None:
    """``$XDG_CACHE_HOME/aibpack/<kind>-<version>`` (private to the user), or None when there can be none."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path(os.path.expanduser("~"), ".cache")  # a relative one is ignored
    if not base.is_absolute():  # no home directory either: no cache, rather than one in the working directory
        return None
    directory = base / "aibpack" / f"{kind}-{__version__}"
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    return directory
