"""The Blob service data plane for the fake: ``GET https://<account>.blob.<suffix>/<container>/<blob>``.

Enough for a client that downloads a script: anonymous reads where the container allows them, bearer tokens
checked against role assignments (data actions), ranged reads as azure-storage-blob makes them. Sources:
- Get Blob: https://learn.microsoft.com/rest/api/storageservices/get-blob (200/206, ``Content-Range``,
  ``x-ms-blob-type``).
- Anonymous access: a container's ``publicAccess`` (None, Blob, Container) decides; a storage account with
  ``allowBlobPublicAccess: false`` refuses every anonymous request with 409 ``PublicAccessNotPermitted``
  (https://learn.microsoft.com/azure/storage/blobs/anonymous-read-access-prevent); an anonymous read of a private
  container is 404 ``ResourceNotFound`` (common REST error codes: "The specified resource does not exist.").
- Microsoft Entra authorization: the token's audience must be ``https://storage.azure.com``; the caller needs a
  role with the data action ``Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read`` at or above the
  account, else 403 ``AuthorizationPermissionMismatch``
  (https://learn.microsoft.com/azure/storage/blobs/authorize-access-azure-active-directory; Owner and Contributor
  carry no data actions: built-in roles reference).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .authorization import Authorization
from .directory import Directory

PublicAccess = Literal["None", "Blob", "Container"]
BLOB_READ = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
STORAGE_AUDIENCE = "https://storage.azure.com"
# Account host names: <account>.blob.<endpoint suffix> (core.windows.net, core.chinacloudapi.cn, ...).
BLOB_HOST = re.compile(r"^(?P<account>[a-z0-9]{3,24})\.blob\.(?P<suffix>[a-z0-9.-]+?)(?::\d+)?$", re.IGNORECASE)
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


@dataclass
class Container:
    public_access: PublicAccess = "None"
    blobs: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Account:
    name: str
    resource_id: str
    allow_public_access: bool = True
    containers: dict[str, Container] = field(default_factory=dict)


@dataclass
class BlobReply:
    status: int
    body: bytes
    headers: dict[str, str]


def _storage_error(status: int, code: str, message: str) -> BlobReply:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><Error>'
        f"<Code>{code}</Code><Message>{message}\nRequestId:{uuid.uuid4()}</Message></Error>"
    ).encode()
    return BlobReply(status, body, {"Content-Type": "application/xml", "x-ms-error-code": code})


class BlobService:
    def __init__(self, directory: Directory, authorization: Authorization) -> None:
        self.directory = directory
        self.authorization = authorization
        self.accounts: dict[str, Account] = {}

    def handle(self, method: str, account_name: str, path: str, headers: Mapping[str, str]) -> BlobReply:
        account = self.accounts.get(account_name.lower())
        if account is None:
            return _storage_error(404, "ResourceNotFound", "The specified resource does not exist.")
        if method not in ("GET", "HEAD"):
            return _storage_error(403, "AuthorizationPermissionMismatch", "The fake serves reads only.")
        container_name, _, blob_name = path.lstrip("/").partition("/")
        container = account.containers.get(container_name)
        authorization = headers.get("authorization", "")
        if not authorization:
            if not account.allow_public_access:
                return _storage_error(
                    409, "PublicAccessNotPermitted", "Public access is not permitted on this storage account."
                )
            if container is None or container.public_access == "None":
                return _storage_error(404, "ResourceNotFound", "The specified resource does not exist.")
        elif problem := self._authorize(account, authorization):
            return problem
        if container is None:
            return _storage_error(404, "ContainerNotFound", "The specified container does not exist.")
        if blob_name not in container.blobs:
            return _storage_error(404, "BlobNotFound", "The specified blob does not exist.")
        return self._content(container.blobs[blob_name], headers.get("range") or headers.get("x-ms-range"), method)

    def _authorize(self, account: Account, authorization: str) -> BlobReply | None:
        claims = self.directory.verify(authorization.removeprefix("Bearer ").strip())
        if claims is None or claims.get("aud") != STORAGE_AUDIENCE:
            return _storage_error(
                401,
                "InvalidAuthenticationInfo",
                "Server failed to authenticate the request. "
                "Please refer to the information in the www-authenticate header.",
            )
        if not self.authorization.allows_data_action(claims["oid"], account.resource_id, BLOB_READ):
            return _storage_error(
                403,
                "AuthorizationPermissionMismatch",
                "This request is not authorized to perform this operation using this permission.",
            )
        return None

    @staticmethod
    def _content(data: bytes, range_header: str | None, method: str) -> BlobReply:
        headers = {
            "Content-Type": "application/octet-stream",
            "ETag": f'"0x{hashlib.sha256(data).hexdigest()[:16].upper()}"',
            "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT",
            "Accept-Ranges": "bytes",
            "x-ms-blob-type": "BlockBlob",
            "x-ms-version": "2025-01-05",
        }
        match = _RANGE.match(range_header or "")
        if not match:
            return BlobReply(200, b"" if method == "HEAD" else data, headers)
        start = int(match.group(1))
        end = min(int(match.group(2)) if match.group(2) else len(data) - 1, len(data) - 1)
        if start >= len(data) and data:
            return _storage_error(
                416, "InvalidRange", "The range specified is invalid for the current size of the resource."
            )
        headers["Content-Range"] = f"bytes {start}-{max(end, start)}/{len(data)}" if data else "bytes */0"
        return BlobReply(206, data[start : end + 1], headers)
