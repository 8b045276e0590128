"""aibpack's per-user cache: things derived from the installed code, kept between runs like ``__pycache__``."""

from __future__ import annotations

import os
from pathlib import Path

from aibpack import __version__


def cache_dir(kind: str) -> Path | None:
    """``$XDG_CACHE_HOME/aibpack/<kind>-<version>`` (private to the user), or None when it can't be created."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    directory = Path(base) / "aibpack" / f"{kind}-{__version__}"
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    return directory
