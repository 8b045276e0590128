"""Reading a private blob with the run's credential (azure-storage-blob), for scripts anonymous reads cannot get.

A blob URL is ``https://<account>.blob.<storage suffix>/<container>/<blob>``. The suffixes of the public and the
sovereign clouds: core.windows.net (azure-docs storage/common/storage-account-overview.md, "Standard endpoints"),
core.chinacloudapi.cn (Azure operated by 21Vianet developer guide, "Endpoint mapping") and core.usgovcloudapi.net
(azure-docs azure-government/compare-azure-government-global-azure.md, "Guidance for developers").
The identity needs a data role on the account: Storage Blob Data Reader or more (Owner and Contributor carry no
data actions: built-in roles reference); its token is for https://storage.azure.com in every cloud.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aibpack.errors import BuildFailed

# Blob endpoints are https://ACCOUNT.blob.SUFFIX: the public cloud's suffix (azure-docs storage/common/
# storage-account-overview.md, "Standard endpoints"), Azure China's and Azure Government's (azure-docs
# china/resources-developer-guide.md and azure-government/compare-azure-government-global-azure.md).
STORAGE_SUFFIXES = ("core.windows.net", "core.chinacloudapi.cn", "core.usgovcloudapi.net")
# Account names: 3 to 24 lower-case letters and digits (azure-docs azure-resource-manager/management/
# resource-name-rules.md, Microsoft.Storage/storageAccounts).
_BLOB_HOST = re.compile(
    r"^(?P<account>[a-z0-9]{3,24})\.blob\.(?P<suffix>" + "|".join(re.escape(s) for s in STORAGE_SUFFIXES) + r")$"
)


def storage_account(uri: str) -> str | None:
    """The storage account of a blob URL without a SAS token (a SAS is its own credential); else None."""
    parts = urlsplit(uri)
    match = _BLOB_HOST.match((parts.hostname or "").lower())
    if not match or parts.scheme.lower() != "https" or "sig" in parse_qs(parts.query):
        return None
    return match.group("account")


def open_blob(uri: str, credential: Any, timeout: float) -> tuple[Iterator[bytes], int]:
    """(the blob's bytes in chunks, its size) read with ``credential``; ``BuildFailed`` saying what is missing."""
    from azure.core.exceptions import AzureError, HttpResponseError
    from azure.storage.blob import BlobClient

    client = BlobClient.from_blob_url(uri, credential=credential, connection_timeout=timeout, read_timeout=timeout)
    try:
        downloader = client.download_blob(max_concurrency=1)
        return downloader.chunks(), downloader.size
    except HttpResponseError as exc:
        code = getattr(exc, "error_code", None) or ""
        if code == "AuthorizationPermissionMismatch" or exc.status_code == 403:
            account = storage_account(uri)
            raise BuildFailed(
                f"cannot read {uri} anonymously, nor as the run's identity: it needs Storage Blob Data Reader on "
                f"storage account {account} (aibpack permissions grant, or az role assignment create)"
            ) from None
        raise BuildFailed(f"cannot read {uri} as the run's identity: {code or exc.status_code}") from None
    except AzureError as exc:
        raise BuildFailed(
            f"cannot read {uri} as the run's identity: {str(exc.message or exc).splitlines()[0]}"
        ) from exc
