"""What Azure already holds for a build: a source's ``latest`` today, artifacts tagged with a digest."""

from __future__ import annotations

from fakearm import FakeArm
from fakearm.dist_helpers import make_template, rid
from support.azurite import ACCOUNT, KEY, azurite, sas_uri

from aibpack.azure.clients import AzureContext
from aibpack.azure.inputs import find_published, resolve_source, version_key

__all__ = ["azurite"]

DIGEST = "d" * 64
VHD = [{"type": "VHD", "runOutputName": "vhd", "uri": "https://account.blob.core.windows.net/vhds/x.vhd"}]


def _platform(version: str = "latest") -> dict[str, str]:
    return {"type": "PlatformImage", "publisher": "Canonical", "offer": "ubuntu", "sku": "22_04", "version": version}


def test_latest_marketplace_version_is_the_highest_by_number(fake_arm: FakeArm, ctx: AzureContext) -> None:
    # "9.10.0" is the highest as text, "10.0.0" as numbers.
    for version in ("9.0.5", "10.0.0", "9.10.0"):
        fake_arm.add_platform_image("Canonical", "ubuntu", "22_04", version)

    resolved = resolve_source(ctx, make_template(VHD, source=_platform()))

    assert (resolved.reference, resolved.version) == ("Canonical:ubuntu:22_04:10.0.0", "10.0.0")
    assert version_key("10.0.0") > version_key("9.10.0") and version_key("1.0.0-beta") is None


def test_a_pinned_source_needs_no_request(fake_arm: FakeArm, ctx: AzureContext) -> None:
    resolved = resolve_source(ctx, make_template(VHD, source=_platform("9.0.5")))
    assert (resolved.reference, resolved.version) == ("Canonical:ubuntu:22_04:9.0.5", None)
    assert fake_arm.requests == []


def test_an_unlisted_marketplace_image_is_named_and_left_unresolved(fake_arm: FakeArm, ctx: AzureContext) -> None:
    resolved = resolve_source(ctx, make_template(VHD, source=_platform()))
    assert resolved.version is None
    assert resolved.unlisted == "Canonical:ubuntu:22_04:latest is not listed in westus's marketplace catalogue"
    assert resolved.reference == "Canonical:ubuntu:22_04:latest (unlisted)"


def test_latest_gallery_version_skips_excluded_and_failed_ones(fake_arm: FakeArm, ctx: AzureContext) -> None:
    fake_arm.add_group("rg", "westus")
    definition = fake_arm.add_gallery_image("rg", "g", "base")
    versions = {"1.0.0": {}, "1.2.0": {"publishingProfile": {"excludeFromLatest": True}}, "1.1.0": {}}
    for name, properties in versions.items():
        fake_arm.add_resource(f"{definition}/versions/{name}", {"location": "westus", "properties": properties})
    fake_arm.add_resource(f"{definition}/versions/1.3.0", {"location": "westus"}, provisioning_state="Failed")
    source = {"type": "SharedImageVersion", "imageVersionId": f"{definition}/versions/latest"}

    resolved = resolve_source(ctx, make_template(VHD, source=source))

    assert resolved.reference == f"{definition}/versions/1.1.0" and resolved.version == "1.1.0"


def test_published_artifacts_are_found_by_their_tag(fake_arm: FakeArm, ctx: AzureContext) -> None:
    fake_arm.add_group("rg", "westus")
    definition = fake_arm.add_gallery_image("rg", "g", "base")
    image = rid(fake_arm, "rg", "images/golden")
    fake_arm.add_resource(image, {"location": "westus", "tags": {"aibpackInputs": DIGEST}})
    fake_arm.add_resource(f"{definition}/versions/1.0.0", {"location": "westus", "tags": {"AIBPACKINPUTS": DIGEST}})
    targets = [
        {"type": "ManagedImage", "imageId": image, "location": "westus", "runOutputName": "mi"},
        {"type": "SharedImage", "galleryImageId": definition, "runOutputName": "latest"},
        {"type": "SharedImage", "galleryImageId": f"{definition}/versions/1.0.0", "runOutputName": "explicit"},
    ]

    published = find_published(ctx, make_template(targets), DIGEST)
    other = find_published(ctx, make_template(targets), "e" * 64)

    assert published.up_to_date and published.missing == []
    assert [(o.run_output_name, o.artifact_id) for o in published.outputs] == [
        ("mi", image),
        ("latest", f"{definition}/versions/1.0.0"),
        ("explicit", f"{definition}/versions/1.0.0"),
    ]
    assert not other.up_to_date and other.missing == ["mi", "latest", "explicit"]
    assert other.replaceable == [image] and other.foreign == []
    assert all(method == "GET" for method, _, _ in fake_arm.requests)


def test_a_missing_target_is_not_up_to_date(fake_arm: FakeArm, ctx: AzureContext) -> None:
    fake_arm.add_group("rg", "westus")
    target = {"type": "ManagedImage", "imageId": rid(fake_arm, "rg", "images/none"), "location": "westus"}
    published = find_published(ctx, make_template([{**target, "runOutputName": "mi"}]), DIGEST)
    assert published.missing == ["mi"] and published.replaceable == [] and published.foreign == []


def test_a_vhd_counts_as_published_by_the_tag_in_its_metadata(azurite: str, ctx: AzureContext) -> None:
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient(azurite, credential={"account_name": ACCOUNT, "account_key": KEY})
    service.create_container("tagged")
    uri = sas_uri(azurite, "tagged", "golden.vhd")
    template = make_template([{"type": "VHD", "runOutputName": "vhd", "uri": uri}])
    assert find_published(ctx, template, DIGEST).missing == ["vhd"]  # no blob yet

    service.get_blob_client("tagged", "golden.vhd").upload_blob(b"\0" * 512, metadata={"aibpackInputs": DIGEST})

    published = find_published(ctx, template, DIGEST)
    assert [(o.run_output_name, o.artifact_uri) for o in published.outputs] == [("vhd", f"{azurite}/tagged/golden.vhd")]
    assert find_published(ctx, template, "e" * 64).missing == ["vhd"]
