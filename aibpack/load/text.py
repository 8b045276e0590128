"""Reading the user's text files: UTF-8 (a BOM allowed) or UTF-16, which is what Windows PowerShell 5.1 writes.

``az image builder show ... > template.json`` in Windows PowerShell 5.1 writes UTF-16 LE with a BOM: ``>`` is
``Out-File`` (Microsoft's Out-File page), whose default there is "Unicode", UTF-16 LE, always with a BOM
(about_Character_Encoding). Other tools write UTF-16 without a BOM. JSON text starts with ASCII, so UTF-16
without a BOM shows itself by a NUL in every other one of its first bytes (RFC 4627, section 3).
"""

from __future__ import annotations

import codecs
from pathlib import Path

from aibpack.errors import AibpackError


def read_text(path: Path, what: str = "file") -> str:
    """The text of ``path``; a missing, unreadable or undecodable file is an ``AibpackError`` naming it."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise AibpackError(f"{what} not found", file=path) from None
    except IsADirectoryError:
        raise AibpackError(f"{what} is a directory", file=path) from None
    except OSError as err:
        raise AibpackError(f"cannot read the {what}: {err.strerror}", file=path) from None
    return decode_text(data, path)


def decode_text(data: bytes, file: Path | str) -> str:
    """UTF-8 with or without a BOM, or UTF-16 (LE or BE) with or without one."""
    codec = _codec(data)
    try:
        return codecs.decode(data, codec)
    except UnicodeDecodeError as err:
        name = "UTF-8" if codec == "utf-8-sig" else "UTF-16"
        raise AibpackError(
            f"not {name} text (invalid byte at offset {err.start}); save it as UTF-8", file=str(file)
        ) from None


def _codec(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # the BOM says which byte order, and is dropped
    if len(data) >= 4 and data[0] == 0 and data[1] != 0 and data[2] == 0:
        return "utf-16-be"
    if len(data) >= 4 and data[0] != 0 and data[1] == 0 and data[3] == 0:
        return "utf-16-le"
    return "utf-8-sig"
