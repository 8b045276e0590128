"""The validator of ``ImageTemplate``: built by pydantic from the models, kept between runs.

Building it loads pydantic's schema machinery and walks every model, which costs more than all the rest of a
compile. What pydantic builds, pydantic-core's *core schema*, is plain data naming our classes, so it is pickled
into the user's cache, keyed by the model sources and the pydantic versions, and later runs hand it straight to
pydantic-core. ``normalize`` reads the same schema, so names and tags have one description.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any

from pydantic_core import SchemaValidator
from pydantic_core import __version__ as core_version

from aibpack.cache import cache_dir
from aibpack.model.template import ImageTemplate

CoreSchema = dict[str, Any]
# Keys pydantic uses for JSON Schema and serialization; validation never reads them (and they hold lambdas).
_NOT_FOR_VALIDATION = frozenset({"metadata", "serialization"})


@functools.cache
def validator() -> SchemaValidator:
    """pydantic-core's validator of ``ImageTemplate``; its output is model instances."""
    return SchemaValidator(core_schema())


@functools.cache
def core_schema() -> CoreSchema:
    """The core schema of ``ImageTemplate``: from the cache when the models are unchanged, else built and kept."""
    directory = cache_dir("models")
    file = directory / f"{_models_digest()}.pickle" if directory else None
    if file is not None and file.is_file():
        try:
            with file.open("rb") as stream:
                return pickle.load(stream)
        except Exception:  # a stale or damaged cache entry is rebuilt, whatever broke it
            pass
    schema = build_core_schema()
    if file is not None:
        _store(file, schema)
    return schema


def build_core_schema() -> CoreSchema:
    """Have pydantic build the schema from the models (the slow part this module caches)."""
    from pydantic import TypeAdapter

    return _for_validation(TypeAdapter(ImageTemplate).core_schema)


def _for_validation(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _for_validation(value) for key, value in node.items() if key not in _NOT_FOR_VALIDATION}
    if isinstance(node, list):
        return [_for_validation(item) for item in node]
    return node


def _models_digest() -> str:
    """Changes with any model source, and with the pydantic and Python that build the schema.

    pydantic's version is read from its ``version.py``, not imported: importing pydantic costs more than
    everything else this function does.
    """
    digest = hashlib.sha256(f"{core_version} {sys.version}".encode())
    pydantic = importlib.util.find_spec("pydantic")
    sources = [Path(pydantic.origin).parent / "version.py"] if pydantic and pydantic.origin else []
    sources += sorted(Path(__file__).parent.glob("*.py"))
    for source in sources:
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:32]


def _store(file: Path, schema: CoreSchema) -> None:
    """Write ``file`` whole or not at all: another process may be reading or writing it too."""
    try:
        fd, temporary = tempfile.mkstemp(dir=file.parent, prefix=".tmp-")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as stream:
            pickle.dump(schema, stream, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, file)
    except (OSError, pickle.PicklingError):
        Path(temporary).unlink(missing_ok=True)
