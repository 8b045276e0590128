"""External tools the tests use: skipped on a developer machine without them, required in CI."""

from __future__ import annotations

import os
import shutil

import pytest


def require_tool(name: str, path: str | None = None) -> str:
    found = path if path and os.access(path, os.X_OK) else shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed (apt-get install -y {name}; .ci/run does)"
    if os.environ.get("AIBPACK_REQUIRE_TOOLS") == "1":
        pytest.fail(message)
    pytest.skip(message)
