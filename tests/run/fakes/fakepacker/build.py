"""builder.go Run, written from hashicorp/packer-plugin-azure v2.6.3 (builder/azure/arm/).

The build group's location, the destination checks (with `-force`, an existing managed image or gallery version of the
same name is deleted first, else the build fails), the VM, the capture or the publish
(step_publish_to_shared_image_gallery.go's version: from the build VM, in the build location, in the target regions),
the cleanup. One simplification: the VM is PUT directly, where the plugin deploys an ARM template holding it
(template_factory.go).
"""

import json
import os
import random
import string
import sys
import time
from pathlib import Path

from . import Failed
from .arm import must, rid


def build(c, sub, arm, say, force=False):
    """The build in subscription ``sub`` (the one the builder signed in to), through ``arm``; ``force``: -force."""
    tags = c.get("azure_tags") or {}
    suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=10))  # tempname.go
    group, temp_group = c.get("build_resource_group_name"), None
    if group:
        status, found = arm("GET", rid(sub, group))
        if status != 200:
            raise Failed(f"Cannot locate the existing build resource group {group}.")
        location = found["location"]
    else:
        location, group = c["location"], f"pkr-Resource-Group-{suffix}"
        temp_group = group
    if c.get("managed_image_name"):
        mi_group = c["managed_image_resource_group_name"]
        if arm("GET", rid(sub, mi_group))[0] != 200 and mi_group != temp_group:
            raise Failed(f"Cannot locate the managed image resource group {mi_group}, received error 404")
        image = rid(sub, mi_group, f"images/{c['managed_image_name']}")
        if arm("GET", image)[0] == 200:
            if not force:
                raise Failed(
                    f"the managed image named {c['managed_image_name']} already exists "
                    f"in the resource group {mi_group}, use a different manage image name or use the -force option to "
                    "automatically delete it."
                )
            say(f"the managed image named {c['managed_image_name']} already exists, but deleting it due to -force flag")
            must(arm("DELETE", image), "deleting the managed image")
    sig = (c.get("shared_image_gallery_destination") or [{}])[0]
    if sig.get("gallery_name"):
        sig_sub = sig.get("subscription") or sub
        definition = rid(sig_sub, sig["resource_group"], f"galleries/{sig['gallery_name']}/images/{sig['image_name']}")
        status, body = arm("GET", definition)
        if status != 200:
            raise Failed(
                f'failed to get image "{sig["image_name"]}" from image gallery "{sig["gallery_name"]}" in resource '
                f'group "{sig["resource_group"]}": {json.dumps(body)}'
            )
        version = f"{definition}/versions/{sig['image_version']}"
        if arm("GET", version)[0] == 200 and force:
            say(f"deleting the existing gallery image version {sig['image_version']} due to -force flag")
            must(arm("DELETE", version), "deleting the gallery image version")
        elif arm("GET", version)[0] == 200:
            raise Failed(
                f"a gallery image version for image name:version {sig['image_name']}:{sig['image_version']} already "
                f"exists in gallery {sig['gallery_name']}, use a different gallery image version or use the -force "
                "option to automatically delete it."
            )
    if temp_group:
        say(f"Creating resource group '{temp_group}' in '{location}'")
        must(arm("PUT", rid(sub, temp_group), {"location": location, "tags": tags}), "creating resource group")
    os_disk = rid(sub, group, f"disks/pkros{suffix}")  # tempname.go: OSDiskName
    disk = {
        "osType": c["os_type"],
        "hyperVGeneration": "V2",
        "creationData": {"createOption": "Empty"},
        "diskSizeGB": 30,
    }
    must(arm("PUT", os_disk, {"location": location, "tags": tags, "properties": disk}), "deploying the OS disk")
    vm = rid(sub, group, f"virtualMachines/pkrvm{suffix}")
    properties = {
        "hardwareProfile": {"vmSize": c.get("vm_size", "Standard_A1")},
        "storageProfile": {"osDisk": {"managedDisk": {"id": os_disk}}},
    }
    if c.get("security_type"):  # template_factory.go SetSecurityProfile
        properties["securityProfile"] = {
            "securityType": c["security_type"],
            "uefiSettings": {
                "secureBootEnabled": bool(c.get("secure_boot_enabled")),
                "vTpmEnabled": bool(c.get("vtpm_enabled")),
            },
        }
    say(f"Deploying deployment template ... (pkrvm{suffix})")
    must(arm("PUT", vm, {"location": location, "tags": tags, "properties": properties}), "deploying the build VM")
    try:
        provision(say)
        return capture(c, arm, sub, location, vm, os_disk, sig, tags, say)
    finally:
        say(f"Deleting Virtual Machine deployment and its attached resources (pkrvm{suffix})...")
        arm("DELETE", vm)
        arm("DELETE", os_disk)
        if temp_group:
            say(f"Deleting resource group '{temp_group}'")
            arm("DELETE", rid(sub, temp_group))


def provision(say):
    mode = os.environ.get("FAKE_PACKER_MODE", "success")
    if os.environ.get("FAKE_PACKER_PIDFILE"):  # the build is under way: its VM exists
        Path(os.environ["FAKE_PACKER_PIDFILE"]).write_text(str(os.getpid()))
    if mode == "hang":
        say("Provisioning with shell script: /tmp/script.sh")
        try:
            time.sleep(600)
        except KeyboardInterrupt:
            say("Cancelled; cleaning up")
            sys.exit(1)
    if mode == "fail":
        raise Failed("Script exited with non-zero exit status: 7. Allowed exit codes are: [0]")
    say("Provisioning with shell script: /tmp/script.sh")
    try:
        time.sleep(float(os.environ.get("FAKE_PACKER_SECONDS") or 0))
    except KeyboardInterrupt:
        say("Cancelled; cleaning up")
        sys.exit(1)


def capture(c, arm, sub, location, vm, os_disk, sig, tags, say):
    """step_snapshot_os_disk.go (a Copy snapshot of the OS disk, in the managed image's group, when
    managed_image_os_disk_snapshot_name is set), step_capture_image.go (a managed image of the VM) and
    step_publish_to_shared_image_gallery.go (a version)."""
    lines = [f"OSType: {c['os_type']}"]
    source = {"virtualMachineId": vm}
    if c.get("managed_image_name"):
        group = c["managed_image_resource_group_name"]
        snapshot = c.get("managed_image_os_disk_snapshot_name", "")
        if snapshot:
            copy = {"creationData": {"createOption": "Copy", "sourceResourceId": os_disk}}
            body = {"location": location, "tags": tags, "properties": copy}
            must(arm("PUT", rid(sub, group, f"snapshots/{snapshot}"), body), "snapshotting the OS disk")
        image = rid(sub, group, f"images/{c['managed_image_name']}")
        say(f" -> Image ResourceGroupName   : '{group}'")
        image_disk = {"osType": c["os_type"], "osState": "Generalized", "managedDisk": {"id": os_disk}}
        properties = {"sourceVirtualMachine": {"id": vm}, "hyperVGeneration": "V2"}
        properties["storageProfile"] = {"osDisk": image_disk}
        must(arm("PUT", image, {"location": location, "tags": tags, "properties": properties}), "capturing the image")
        lines += [
            f"ManagedImageResourceGroupName: {group}",
            f"ManagedImageName: {c['managed_image_name']}",
            f"ManagedImageId: {image}",
            f"ManagedImageLocation: {location}",
        ]
        if snapshot:  # artifact.go prints it when set
            lines.append(f"ManagedImageOSDiskSnapshotName: {snapshot}")
        source = {"id": image}
    if sig.get("gallery_name"):
        lines += publish(c, arm, sub, location, sig, source, tags, say)
    return lines


def regions(c, sig, location):
    """builder.go: target_region blocks as given, else replication_regions with the build location added."""
    normal = location.replace(" ", "").lower()
    if sig.get("target_region"):
        return [(r["name"].replace(" ", "").lower(), int(r.get("replicas") or 1)) for r in sig["target_region"]]
    count = int(c.get("shared_image_gallery_replica_count") or 1)
    names = [r.replace(" ", "").lower() for r in sig.get("replication_regions") or []]
    return [(n, count) for n in names] + ([] if normal in names else [(normal, count)])


def publish(c, arm, sub, location, sig, source, tags, say):
    sig_sub = sig.get("subscription") or sub
    galleries = f"galleries/{sig['gallery_name']}/images/{sig['image_name']}/versions/{sig['image_version']}"
    version = rid(sig_sub, sig["resource_group"], galleries)
    targets = regions(c, sig, location)
    say("Publishing to Shared Image Gallery ...")
    say(f" -> Source ID used for SIG publish        : '{source.get('id') or source.get('virtualMachineId')}'")
    say(f" -> SIG target regions                    : '[{' '.join(n for n, _ in targets)}]'")
    body = {
        "location": location,
        "tags": tags,
        "properties": {
            "storageProfile": {"source": source},
            "publishingProfile": {
                "targetRegions": [{"name": n, "regionalReplicaCount": r} for n, r in targets],
                "excludeFromLatest": bool(c.get("shared_gallery_image_version_exclude_from_latest")),
                "storageAccountType": sig.get("storage_account_type") or "Standard_LRS",
                "replicationMode": "Shallow" if sig.get("use_shallow_replication") else "Full",
            },
        },
    }
    created = must(arm("PUT", version, body), "publishing to the Shared Image Gallery")
    say(f" -> Shared Gallery Image Version ID : '{created.get('id', version)}'")
    return [
        f"ManagedImageSharedImageGalleryId: {version}",
        f"SharedImageGalleryResourceGroup: {sig['resource_group']}",
        f"SharedImageGalleryName: {sig['gallery_name']}",
        f"SharedImageGalleryImageName: {sig['image_name']}",
        f"SharedImageGalleryImageVersion: {sig['image_version']}",
        f"SharedImageGalleryReplicatedRegions: {', '.join(n for n, _ in targets)}",
    ]
