"""A service principal's certificate for tests: PEM (certificate and key in one file) or PKCS#12 with a password."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID


def _make() -> tuple[Any, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aibpack-ci")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def x5t(cert: x509.Certificate) -> str:
    """The JWT ``x5t`` header of an assertion signed with ``cert``: its SHA-1 thumbprint, base64url (RFC 7515)."""
    return base64.urlsafe_b64encode(cert.fingerprint(hashes.SHA1())).decode().rstrip("=")


def write_pem_certificate(path: Path) -> tuple[Path, str]:
    """(the PEM file, its x5t)."""
    key, cert = _make()
    pem = serialization.Encoding.PEM
    path.write_bytes(
        cert.public_bytes(pem) + key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return path, x5t(cert)


def write_pkcs12_certificate(path: Path, password: str) -> tuple[Path, str]:
    """(the .pfx file, its x5t)."""
    key, cert = _make()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = pkcs12.serialize_key_and_certificates(
        b"aibpack-ci", key, cert, None, serialization.BestAvailableEncryption(password.encode())
    )
    path.write_bytes(data)
    return path, x5t(cert)
