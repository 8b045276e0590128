"""Loading a document from text, as the load-stage tests do (a module, not conftest, so tests can import it)."""

import json
from pathlib import Path

import pytest

from aibpack.errors import AibpackError, Diagnostics
from aibpack.load import LoadedTemplate, LoadOptions, load_document

# The subscription tests/data/corpus_values.json passes.
SUB = "11111111-2222-3333-4444-555555555555"


def load(document: object, **options: object) -> LoadedTemplate:
    text = document if isinstance(document, str) else json.dumps(document)
    return load_document(text, Path("t.json"), LoadOptions(**options), Diagnostics())  # type: ignore[arg-type]


def fails(document: object, **options: object) -> AibpackError:
    with pytest.raises(AibpackError) as caught:
        load(document, **options)
    return caught.value
