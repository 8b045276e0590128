"""VHD targets exported to a real Blob service (Azurite, see ``support/azurite.py``) by server-side copies."""

from __future__ import annotations

import io

from fakearm import FakeArm
from fakearm.dist_helpers import make_template, seed_build
from fakearm.resources import BlobStore
from support.azurite import ACCOUNT, KEY, azurite, sas_uri

__all__ = ["azurite"]

from aibpack.azure.clients import AzureContext
from aibpack.azure.distribute import distribute_all
from aibpack.progress import Progress


def test_vhds_are_server_side_copies_of_the_os_disk_snapshot(
    azurite: str, fake_arm: FakeArm, ctx: AzureContext
) -> None:
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient(azurite, credential={"account_name": ACCOUNT, "account_key": KEY})
    service.create_container("vhds")
    fake_arm.use_blob_store(BlobStore(azurite, ACCOUNT, KEY))
    built = seed_build(fake_arm)
    targets = [
        {
            "type": "VHD",
            "runOutputName": "vhd",
            "uri": sas_uri(azurite, "vhds", "golden.vhd"),
            "artifactTags": {"team": "platform"},
        },
        {"type": "VHD", "runOutputName": "copy", "uri": sas_uri(azurite, "vhds", "copy.vhd")},
    ]
    stream = io.StringIO()
    outputs = distribute_all(
        ctx, make_template(targets), built, run_tags={}, run="r1", progress=Progress(stream, live=False, every=0)
    )

    assert [o.succeeded for o in outputs] == [True, True], [o.error for o in outputs]
    assert outputs[0].artifact_uri == f"{azurite}/vhds/golden.vhd"
    blob = service.get_blob_client("vhds", "golden.vhd")
    props = blob.get_blob_properties()
    assert props.blob_type == "PageBlob"
    assert props.metadata == {"team": "platform"}
    assert blob.download_blob().readall() == FakeArm.disk_bytes(built.os_snapshot_id or "")
    # The disk's bytes went from blob to blob: one read SAS on the snapshot for both, revoked afterwards, no disk.
    actions = [p.rsplit("/", 1)[1] for m, p, s in fake_arm.requests if m == "POST"]
    assert actions == ["beginGetAccess", "endGetAccess"]
    assert not [p for m, p, s in fake_arm.requests if "/disks/" in p]
    assert fake_arm.resource(built.os_snapshot_id or "")["properties"].get("diskState") == "Unattached"
    assert [b.name for b in service.get_container_client("fakearm-md").list_blobs()] == []
    assert "vhd: copied 4.0 KiB to" in stream.getvalue()


def test_a_vhd_copy_that_fails_says_why_and_revokes_access(azurite: str, fake_arm: FakeArm, ctx: AzureContext) -> None:
    fake_arm.use_blob_store(BlobStore(azurite, ACCOUNT, KEY))
    built = seed_build(fake_arm)
    target = {"type": "VHD", "runOutputName": "vhd", "uri": sas_uri(azurite, "missing", "golden.vhd")}
    [out] = distribute_all(ctx, make_template([target]), built, run_tags={}, run="r1")
    assert out.provisioning_state == "Failed"
    assert out.to_dict()["error"]["code"] == "ContainerNotFound"
    assert [p.rsplit("/", 1)[1] for m, p, s in fake_arm.requests if m == "POST"] == ["beginGetAccess", "endGetAccess"]
