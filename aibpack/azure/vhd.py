"""VHD targets: the build's OS disk snapshot copied server-side into the page blob at ``uri``.

A read SAS on the snapshot (Snapshots - Grant Access, learn.microsoft.com/rest/api/compute/snapshots/grant-access)
is the source of a Copy Blob into the destination (learn.microsoft.com/rest/api/storageservices/copy-blob: "The
Copy Blob operation copies a blob to a destination within the storage account", from any blob a SAS authorizes,
asynchronously; ``x-ms-copy-status`` is ``pending`` until it ends and ``x-ms-copy-progress`` counts "bytes copied
/ total bytes"). The disk's bytes never pass through the aibpack host. Several VHD targets share one grant, and
access is revoked when the last copy ends (Snapshots - Revoke Access).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from aibpack.model.resource_id import parse_id
from aibpack.progress import Task

from .clients import AzureContext, AzureFailure
from .images import NO_SNAPSHOT
from .results import Built, RegionStatus, RunOutput, TargetFailed

if TYPE_CHECKING:
    from aibpack.model.distribute import VhdTarget

# How long the snapshot's read SAS lives: the azure plugin's default for its VHD SAS (packer-plugin-azure
# builder/azure/arm/config.go, ``sas_token_duration``: 24h); the copy is server-side but may take hours.
SAS_SECONDS = 24 * 3600


def strip_sas(uri: str) -> str:
    """The blob URL without its query (SAS token)."""
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


class SharedAccess:
    """One read SAS on the OS disk snapshot for every VHD target: granted on first use, revoked after the last."""

    def __init__(self, ctx: AzureContext, snapshot_id: str, users: int) -> None:
        self._snapshot = parse_id(snapshot_id)
        self._snapshots = ctx.for_subscription(self._snapshot.subscription).compute.snapshots
        self._users = users
        self._lock = threading.Lock()
        self._sas: str | None = None

    def acquire(self) -> str:
        from azure.mgmt.compute.models import GrantAccessData

        with self._lock:
            if self._sas is None:
                grant = GrantAccessData(access="Read", duration_in_seconds=SAS_SECONDS)
                poller = self._snapshots.begin_grant_access(self._snapshot.resource_group, self._snapshot.name, grant)
                self._sas = poller.result().access_sas
            return self._sas

    def release(self) -> None:
        """One user is done; the last revokes the SAS (also when a copy failed)."""
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._sas is not None:
                self._snapshots.begin_revoke_access(self._snapshot.resource_group, self._snapshot.name).result()
                self._sas = None


def export_vhd(
    ctx: AzureContext,
    target: VhdTarget,
    built: Built,
    access: SharedAccess | None,
    tags: Mapping[str, str],
    task: Task,
) -> RunOutput:
    """Copy the OS disk snapshot to the target's blob and wait, showing the bytes copied."""
    if not target.uri:
        raise TargetFailed("a VHD target needs a uri")
    if access is None or not built.os_snapshot_id:
        raise TargetFailed(NO_SNAPSHOT)
    out = RunOutput(target.run_output_name, "VHD", artifact_uri=strip_sas(target.uri))
    try:
        task.update("granting read access to the OS disk snapshot")
        source = access.acquire()
        blob = blob_client(ctx, target.uri)
        task.update(f"starting the copy to {out.artifact_uri}")
        blob.start_copy_from_url(source, metadata={_metadata_key(k): v for k, v in tags.items()})
        _wait(blob, task, ctx.progress_every, out)
    except TargetFailed:
        raise
    except Exception as exc:
        raise TargetFailed.from_azure(exc, out) from exc
    finally:
        access.release()
    out.provisioning_state, out.regions = "Succeeded", [RegionStatus(built.location, "Completed")]
    return out


def blob_client(ctx: AzureContext, uri: str) -> Any:
    """The destination blob, by its SAS when ``uri`` has one, else with the run's credential."""
    from azure.storage.blob import BlobClient

    credential = None if urlsplit(uri).query else ctx.credential
    return BlobClient.from_blob_url(uri, credential=credential, connection_verify=ctx.connection_verify)


def _wait(blob: Any, task: Task, every: float, out: RunOutput) -> None:
    while True:
        copy = blob.get_blob_properties().copy
        done, total = _bytes(copy.progress)
        if total:
            task.update(f"copying to {out.artifact_uri}: {_size(done)} of {_size(total)} ({100 * done // total}%)")
        if copy.status != "pending":
            break
        time.sleep(every)
    if copy.status != "success":
        # Copy Blob ends "success", "aborted" or "failed", with the reason in x-ms-copy-status-description.
        failure = AzureFailure(f"Copy{str(copy.status).capitalize()}", copy.status_description or str(copy.status))
        raise TargetFailed(failure.text, out, failure)
    task.finish(f"copied {_size(total)} to {out.artifact_uri}")


def _bytes(progress: str | None) -> tuple[int, int]:
    match = re.match(r"^(\d+)/(\d+)$", progress or "")
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} bytes"
    value, units = count / 1024, ["KiB", "MiB", "GiB"]
    while value >= 1024 and len(units) > 1:
        value, units = value / 1024, units[1:]
    return f"{value:.1f} {units[0]}"


def _metadata_key(name: str) -> str:
    """Blob metadata names must be C# identifiers (Set Blob Metadata, x-ms-meta-name)."""
    key = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return key if key[:1].isalpha() or key[:1] == "_" else f"_{key}"
