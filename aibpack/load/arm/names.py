"""ARM's deterministic name functions, ``uniqueString()`` and ``guid()``, computed exactly as Azure does.

Templates use them for names (``concat('img', uniqueString(resourceGroup().id))``), so an offline compile
must give the name Azure would. ``uniqueString`` is a 64-bit MurmurHash variant (two 32-bit lanes, ARM's
own constants) of the arguments joined by ``-``, written as 13 base-32 characters; ``guid`` is the RFC 4122
version-5 UUID of the joined arguments in ARM's namespace. Tests check both against outputs of real
deployments.
"""

from __future__ import annotations

import uuid

_MASK = 0xFFFFFFFF
_C1, _C2 = 0x239B961B, 0xAB0E9789
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
ARM_NAMESPACE = uuid.UUID("11fb06fb-712d-4ddd-98c7-e71bbd588830")


def unique_string(*values: str) -> str:
    """``uniqueString(a, b, ...)``: 13 characters of [a-z2-7]."""
    digest = _hash64("-".join(values).encode("utf-8"))
    return "".join(_BASE32[(digest << 5 * i >> 59) & 31] for i in range(13))


def arm_guid(*values: str) -> str:
    """``guid(a, b, ...)``: a lower-case UUID string."""
    return str(uuid.uuid5(ARM_NAMESPACE, "-".join(values)))


def _rotate(value: int, bits: int) -> int:
    return ((value << bits) | (value >> (32 - bits))) & _MASK


def _lane1(block: int) -> int:
    return _rotate(block * _C1 & _MASK, 15) * _C2 & _MASK


def _lane2(block: int) -> int:
    return _rotate(block * _C2 & _MASK, 17) * _C1 & _MASK


def _avalanche(h: int) -> int:
    h = (h ^ h >> 16) * 0x85EBCA6B & _MASK
    h = (h ^ h >> 13) * 0xC2B2AE35 & _MASK
    return h ^ h >> 16


def _hash64(data: bytes) -> int:
    h1 = h2 = 0
    whole = len(data) - len(data) % 8
    for start in range(0, whole, 8):
        low, high = (int.from_bytes(data[at : at + 4], "little") for at in (start, start + 4))
        h1 = ((_rotate(h1 ^ _lane1(low), 19) + h2) * 5 + 0x561CCD1B) & _MASK
        h2 = ((_rotate(h2 ^ _lane2(high), 13) + h1) * 5 + 0x0BCAA747) & _MASK
    tail = data[whole:]
    if tail:
        h1 ^= _lane1(int.from_bytes(tail[:4], "little"))
        if len(tail) > 4:
            h2 ^= _lane2(int.from_bytes(tail[4:], "little"))
    h1 ^= len(data) & _MASK
    h2 ^= len(data) & _MASK
    h1 = (h1 + h2) & _MASK
    h2 = (h2 + h1) & _MASK
    h1, h2 = _avalanche(h1), _avalanche(h2)
    h1 = (h1 + h2) & _MASK
    h2 = (h2 + h1) & _MASK
    return h2 << 32 | h1
