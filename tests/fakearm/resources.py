"""Resources inside resource groups: PUT/GET/PATCH/DELETE, Compute's background work and disk export.

A mixin of ``FakeArm`` (``server.py``), which holds the state; ``operations.py`` runs the long-running operations.
Azure's rules for what may be created from what live in ``rules.py``; this module applies them and keeps the
background work that outlives a request going: a CopyStart snapshot's copy (``completionPercent``), a gallery image
version's replication (``replicationStatus``), and what happens to them when their source disappears.
"""

from __future__ import annotations

import copy
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import rules
from .replies import Response, error, now, parse_resource, region

if TYPE_CHECKING:
    from .operations import Operation

Record = dict[str, Any]

# Types whose PUT is a long-running operation (Compute answers 201 + Azure-AsyncOperation).
LRO_TYPES = {
    "microsoft.compute/images",
    "microsoft.compute/disks",
    "microsoft.compute/snapshots",
    "microsoft.compute/galleries",
    "microsoft.compute/galleries/images",
    "microsoft.compute/galleries/images/versions",
    "microsoft.compute/virtualmachines",
}
FAKE_VHD_SIZE = 4096
FAKE_DISK_GB = 30


@dataclass(frozen=True)
class BlobStore:
    """A real Blob service (Azurite) where granted disks are put, so a server-side copy can read them."""

    account_url: str
    account_name: str
    account_key: str
    container: str = "fakearm-md"

    def service(self) -> Any:
        from azure.storage.blob import BlobServiceClient

        key = {"account_name": self.account_name, "account_key": self.account_key}
        return BlobServiceClient(self.account_url, credential=key)


def public(record: Record) -> Record:
    """The record without the fake's own bookkeeping (keys starting with ``_``)."""
    return {k: copy.deepcopy(v) for k, v in record.items() if not k.startswith("_")}


class ResourceStore:
    """Resources in groups, as ARM and Compute answer for them (mixed into ``FakeArm``)."""

    # FakeArm provides these, and _start_operation, _async_headers, _accepted and _unhandled.
    _resources: dict[str, Record]
    _groups: dict[tuple[str, str], Record]
    _operations: dict[str, Operation]
    _sas: dict[str, str]
    subscriptions: set[str]
    copy_polls: int
    lro_delay: float
    blob_store: BlobStore | None

    # ---- inspection --------------------------------------------------------------------------------------

    def orphaned_versions(self) -> list[str]:
        """Gallery image versions whose source was deleted although they still depend on it (shallow replication
        "skips copying the image", azure-compute-docs articles/virtual-machines/shared-image-galleries.md)."""
        return sorted(r["id"] for r in self._resources.values() if r.get("_source_lost"))

    def _lookup(self, resource_id: str) -> Record | None:
        return self._resources.get(resource_id.lower())

    # ---- requests ----------------------------------------------------------------------------------------

    @staticmethod
    def _resource_body(resource_id: str, full_type: str, body: Record, group: Record) -> Record:
        record = copy.deepcopy(body)
        record.update(
            id=resource_id,
            name=resource_id.rsplit("/", 1)[1],
            type=full_type,
            location=body.get("location") or group["location"],
            tags=dict(body.get("tags") or {}),
        )
        record["properties"] = dict(body.get("properties") or {})
        return record

    def _resource(self, method: str, path: str, query: dict[str, list[str]], body: Any, host: str) -> Response:
        parsed = parse_resource(path)
        if not parsed:
            return self._unhandled(method, path)
        sub, group_name, full_type, is_collection = parsed
        group = self._groups[(sub.lower(), group_name.lower())]
        if is_collection:
            if method != "GET":
                return self._unhandled(method, path)
            prefix = path.lower() + "/"
            items = [
                self._view(r, query)
                for key, r in sorted(self._resources.items())
                if key.startswith(prefix) and "/" not in key[len(prefix) :]
            ]
            return Response(200, {"value": items})
        key = path.lower()
        parent = key.rsplit("/", 2)[0]
        if full_type.count("/") > 1 and parent not in self._resources:
            return error(
                404,
                "ParentResourceNotFound",
                f"Can not perform requested operation on nested resource. "
                f"Parent resource '{parent.rsplit('/', 1)[1]}' not found.",
            )
        existing = self._resources.get(key)
        if method == "PUT":
            return self._put_resource(path, full_type, body or {}, group, existing, host)
        if not existing:
            if method == "DELETE":
                return Response(204)
            return error(
                404,
                "ResourceNotFound",
                f"The Resource '{full_type}/{path.rsplit('/', 1)[1]}' under "
                f"resource group '{group_name}' was not found.",
            )
        if method == "GET":
            return Response(200, self._view(existing, query))
        if method == "PATCH":
            return self._patch_resource(existing, body or {}, host)
        if method == "DELETE":
            return self._delete_resource(sub, existing, host)
        return self._unhandled(method, path)

    def _put_resource(
        self, path: str, full_type: str, body: Record, group: Record, existing: Record | None, host: str
    ) -> Response:
        kind = full_type.lower()
        location = (existing or {}).get("location") or body.get("location") or group["location"]
        if existing is None and (problem := rules.check_name(full_type, path.rsplit("/", 1)[1])):
            return problem
        if problem := self._check_sources_exist(kind, body):
            return problem
        if kind in (rules.DISKS, rules.SNAPSHOTS):
            problem = rules.check_disk_or_snapshot(self._lookup, full_type, location, body)
        elif kind == rules.IMAGES:
            problem = rules.check_image(self._lookup, location, body)
        elif kind == rules.VERSIONS and existing is not None:
            problem = rules.check_version_update(existing, body)
        elif kind == rules.VERSIONS:
            others = [r for r in self._resources.values() if r["type"].lower() == rules.VERSIONS]
            definition = self._lookup(path.rsplit("/versions/", 1)[0])
            problem = rules.check_version_create(self._lookup, others, location, body) or (
                rules.check_version_security(self._lookup, definition, body)
            )
        else:
            problem = None
        if problem:
            return problem
        if kind == rules.VERSIONS and existing is not None:
            return self._update_version(existing, body, host)
        record = self._resource_body(existing["id"] if existing else path, full_type, body, group)
        status = 200 if existing else 201
        if kind not in LRO_TYPES:
            record["properties"]["provisioningState"] = "Succeeded"
            self._resources[path.lower()] = record
            return Response(status, public(record))
        record["properties"]["provisioningState"] = "Updating" if existing else "Creating"
        self._describe_new(record)
        self._resources[path.lower()] = record

        def finish(succeeded: bool) -> None:
            record["properties"]["provisioningState"] = "Succeeded" if succeeded else "Failed"

        op = self._start_operation("PUT", path, finish)
        record["_op"] = op.id
        headers = self._async_headers(host, path.split("/")[2], record["location"], op)
        if kind in (rules.DISKS, rules.SNAPSHOTS):
            # Disks and snapshots answer 202 (the SDK accepts only 200 and 202 for them).
            status = 200 if existing else 202
        return Response(status, public(record), headers)

    def _describe_new(self, record: Record) -> None:
        """What Azure fills in on creation: a version's publishedDate, a disk's size, a CopyStart's copy job."""
        props = record["properties"]
        kind = record["type"].lower()
        if kind == rules.VERSIONS:
            props.setdefault("publishingProfile", {})["publishedDate"] = now()
        if kind in (rules.DISKS, rules.SNAPSHOTS):
            props.setdefault("diskSizeGB", FAKE_DISK_GB)
            props.setdefault("diskState", "Unattached")
            props["timeCreated"] = now()
            creation = props.get("creationData") or {}
            if (creation.get("createOption") or "").lower() == "copystart":
                # CopyStart returns when the copy has started; completionPercent rises to 100 afterwards
                # (DiskRP.json SnapshotProperties.completionPercent: "Percentage complete for the background copy
                # when a resource is created via the CopyStart operation").
                props["completionPercent"] = 0.0
                record["_copy"] = {
                    "source": (creation.get("sourceResourceId") or "").lower(),
                    "total": self.copy_polls,
                    "done": 0,
                    "started": time.monotonic(),
                    "delay": self.lro_delay,
                    "error": None,
                }

    def _update_version(self, existing: Record, body: Record, host: str) -> Response:
        """An accepted update: the allowed publishing fields and tags change, and replication runs again."""
        profile = existing["properties"].setdefault("publishingProfile", {})
        for key, value in ((body.get("properties") or {}).get("publishingProfile") or {}).items():
            if key.lower() in rules.UPDATABLE_PUBLISHING:
                profile[key] = copy.deepcopy(value)
        if "tags" in body:
            existing["tags"] = dict(body.get("tags") or {})
        existing["properties"]["provisioningState"] = "Updating"

        def finish(succeeded: bool) -> None:
            existing["properties"]["provisioningState"] = "Succeeded" if succeeded else "Failed"

        op = self._start_operation("PUT", existing["id"], finish)
        existing["_op"] = op.id
        headers = self._async_headers(host, existing["id"].split("/")[2], existing["location"], op)
        return Response(200, public(existing), headers)

    def _patch_resource(self, existing: Record, body: Record, host: str) -> Response:
        if existing["type"].lower() == rules.VERSIONS:
            if problem := rules.check_version_update(existing, body):
                return problem
            return self._update_version(existing, body, host)
        existing["tags"] = dict(body.get("tags", existing["tags"]) or {})
        existing["properties"].update(body.get("properties") or {})
        return Response(200, public(existing))

    def _check_sources_exist(self, kind: str, body: Record) -> Response | None:
        """What a resource is made from must exist, when it lives in this fake."""
        props = body.get("properties") or {}
        refs: list[str] = []
        if kind == rules.IMAGES:
            os_disk = (props.get("storageProfile") or {}).get("osDisk") or {}
            refs += [(os_disk.get(k) or {}).get("id", "") for k in ("snapshot", "managedDisk")]
            refs.append((props.get("sourceVirtualMachine") or {}).get("id", ""))
        elif kind in (rules.DISKS, rules.SNAPSHOTS):
            creation = props.get("creationData") or {}
            refs += [creation.get("sourceResourceId", ""), (creation.get("imageReference") or {}).get("id", "")]
        elif kind == rules.VERSIONS:
            source_id = rules.version_source(body)
            if source_id and rules.is_child_of_this_fake(source_id, self.subscriptions) and not self._lookup(source_id):
                return error(400, "InvalidParameter", f"The source '{source_id}' was not found.")
        for ref in filter(None, refs):
            if rules.is_child_of_this_fake(ref, self.subscriptions) and not self._lookup(ref):
                return error(404, "NotFound", f"The source resource '{ref}' was not found.")
        return None

    def _delete_resource(self, sub: str, record: Record, host: str) -> Response:
        key = record["id"].lower()
        if record["properties"].get("diskState") == "ActiveSAS":
            return error(
                409,
                "OperationNotAllowed",
                f"Disk {record['name']} cannot be deleted while it has an active SAS (revoke access first).",
            )
        if any(k.startswith(key + "/") for k in self._resources):
            return error(
                409,
                "CannotDeleteResource",
                f"Can not delete resource before nested resources are deleted: {record['id']}",
            )
        record["properties"]["provisioningState"] = "Deleting"

        def finish(succeeded: bool) -> None:
            if not succeeded:
                record["properties"]["provisioningState"] = "Failed"
                return
            self._remove([key])

        op = self._start_operation("DELETE", record["id"], finish)
        headers = self._async_headers(host, sub, record["location"], op)
        headers["Location"] = headers["Azure-AsyncOperation"]
        return Response(202, None, headers)

    def _remove(self, keys: list[str]) -> None:
        """Forget resources, and break what still depended on them, as Azure does."""
        for key in keys:
            self._resources.pop(key, None)
        gone = set(keys)
        for record in self._resources.values():
            job = record.get("_copy")
            if job and job["source"] in gone and not job["error"]:
                # DiskRP.json CopyCompletionErrorReason CopySourceNotFound: "Indicates that the source snapshot was
                # deleted while the background copy of the resource created via CopyStart operation was in progress."
                job["error"] = {
                    "errorCode": "CopySourceNotFound",
                    "errorMessage": "The source snapshot was deleted while the background copy was in progress.",
                }
                record["properties"]["copyCompletionError"] = dict(job["error"])
            if record["type"].lower() == rules.VERSIONS and rules.version_source(record) in gone:
                self._lose_source(record)

    def _lose_source(self, record: Record) -> None:
        """A version replicating from a deleted source fails; a shallow one, which never copied it, breaks."""
        op = self._operations.get(record.get("_op", ""))
        if op is not None and op.status == "InProgress":
            op.error = {"code": "InvalidParameter", "message": "The image version's source was deleted."}
        profile = record["properties"].get("publishingProfile") or {}
        if (profile.get("replicationMode") or "").lower() == "shallow":
            record["_source_lost"] = True

    # ---- GET ---------------------------------------------------------------------------------------------

    def _view(self, record: Record, query: dict[str, list[str]]) -> Record:
        """A resource as GET returns it; each GET moves a CopyStart copy on, as each poll moves an operation."""
        kind = record["type"].lower()
        if kind == rules.SNAPSHOTS and record.get("_copy") is not None:
            self._advance_copy(record)
        view = public(record)
        expand = query.get("$expand", [""])[0].lower()
        if kind == rules.VERSIONS and expand == "replicationstatus":
            view["properties"]["replicationStatus"] = self._replication_status(record)
        return view

    def _advance_copy(self, record: Record) -> None:
        job = record["_copy"]
        if job["error"]:
            return
        job["done"] = min(job["total"], job["done"] + 1)
        fraction = rules.job_fraction(job)
        record["properties"]["completionPercent"] = round(fraction * 100.0, 1)
        if fraction >= 1.0:
            del record["_copy"]

    def _replication_status(self, record: Record) -> Record:
        """Per region: ``state`` Replicating/Completed/Failed and ``progress`` 0-100 (GalleryRP.json
        RegionalReplicationStatus; example GalleryImageVersion_Get_WithReplicationStatus.json). Regions finish one
        after another while the version's operation runs."""
        state = record["properties"]["provisioningState"]
        op = self._operations.get(record.get("_op", ""))
        fraction = 1.0 if op is None else rules.job_fraction(op.job)
        regions = rules.target_regions(record)
        failed = (op.failed_region if op else None) or regions[-1]
        summary = []
        for index, name in enumerate(regions):
            if state == "Succeeded" or (state == "Failed" and region(name) != region(failed)):
                progress, region_state, details = 100, "Completed", ""
            elif state == "Failed":
                detail = (op.error or {}).get("message", "") if op else ""
                progress, region_state, details = 0, "Failed", detail
            else:
                progress = min(100, int(100 * fraction * len(regions) / (index + 1)))
                region_state, details = ("Completed" if progress == 100 else "Replicating"), ""
            summary.append({"region": name, "state": region_state, "progress": progress, "details": details})
        aggregated = {"Succeeded": "Completed", "Failed": "Failed"}.get(state, "InProgress")
        return {"aggregatedState": aggregated, "summary": summary}

    # ---- disk export (grant access / revoke access) ------------------------------------------------------

    @staticmethod
    def disk_bytes(resource_id: str) -> bytes:
        """The fake content of a disk or snapshot: FAKE_VHD_SIZE bytes (512-aligned, as a page blob needs)."""
        seed = f"fakearm disk {resource_id.lower()}\n".encode()
        return (seed * (FAKE_VHD_SIZE // len(seed) + 1))[:FAKE_VHD_SIZE]

    def _disk_action(self, resource_id: str, action: str, host: str) -> Response:
        record = self._lookup(resource_id)
        if not record:
            return error(404, "ResourceNotFound", f"The Resource '{resource_id}' was not found.")
        props = record["properties"]
        if action == "begingetaccess":
            if problem := rules.check_usable(record):
                return problem
            token = uuid.uuid4().hex
            self._sas[token] = record["id"]
            result: Any = {"accessSAS": self._grant(record["id"], token, host)}

            def finish(succeeded: bool) -> None:
                if succeeded:
                    props["diskState"] = "ActiveSAS"
        else:
            result = None

            def finish(succeeded: bool) -> None:
                if succeeded:
                    props["diskState"] = "Unattached"
                    for key in [k for k, v in self._sas.items() if v.lower() == resource_id.lower()]:
                        del self._sas[key]
                        self._revoke(key)

        op = self._start_operation("POST", f"{record['id']}/{action}", finish)
        op.result = result
        return self._accepted(host, resource_id.split("/")[2], op)

    def _grant(self, resource_id: str, token: str, host: str) -> str:
        """A read SAS for the disk: in the blob store when there is one (as Azure's md-*.blob.storage.azure.net)."""
        if self.blob_store is None:
            return f"https://{host}/fakearm/blobs/{token}?sv=2018-03-28&sr=b&sig=fake"
        from datetime import datetime, timedelta, timezone

        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        store = self.blob_store
        container = store.service().get_container_client(store.container)
        if not container.exists():
            container.create_container()
        data = self.disk_bytes(resource_id)
        blob = container.get_blob_client(token)
        blob.create_page_blob(len(data))
        blob.upload_page(data, offset=0, length=len(data))
        sas = generate_blob_sas(
            store.account_name,
            store.container,
            token,
            account_key=store.account_key,
            permission=BlobSasPermissions(read=True),
            expiry=datetime.now(timezone.utc) + timedelta(hours=1),
        )
        return f"{blob.url}?{sas}"

    def _revoke(self, token: str) -> None:
        if self.blob_store is not None:
            self.blob_store.service().get_blob_client(self.blob_store.container, token).delete_blob()

    def _disk_blob(self, method: str, token: str, query: dict[str, list[str]]) -> Response:
        resource_id = self._sas.get(token.lower())
        if method != "GET" or not resource_id or not query.get("sig"):
            return Response(403, b"AuthenticationFailed", {"Content-Type": "application/xml"})
        return Response(200, self.disk_bytes(resource_id), {"Content-Type": "application/octet-stream"})
