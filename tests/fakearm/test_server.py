"""The fake Resource Manager, driven by the real azure-mgmt-* clients as aibpack drives them."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient

from .ca import CertBundle
from .fixtures import StubCredential
from .sdk import client_kwargs, version_body
from .server import ROLE_DEFINITIONS, FakeArm

PRINCIPAL = "33333333-2222-4333-8444-555555555555"


@pytest.fixture
def rm(fake_arm: FakeArm) -> ResourceManagementClient:
    return ResourceManagementClient(StubCredential(), fake_arm.subscription_id, **client_kwargs(fake_arm))


@pytest.fixture
def compute(fake_arm: FakeArm) -> ComputeManagementClient:
    return ComputeManagementClient(StubCredential(), fake_arm.subscription_id, **client_kwargs(fake_arm))


@pytest.fixture
def authz(fake_arm: FakeArm) -> AuthorizationManagementClient:
    return AuthorizationManagementClient(StubCredential(), fake_arm.subscription_id, **client_kwargs(fake_arm))


@pytest.fixture
def gallery(fake_arm: FakeArm) -> str:
    """Group ``rg`` with gallery ``g``, definition ``d`` and a managed image ``src``; returns the image ID."""
    fake_arm.add_group("rg", "westus")
    fake_arm.add_gallery_image("rg", "g", "d")
    return fake_arm.add_resource(
        f"/subscriptions/{fake_arm.subscription_id}/resourceGroups/rg/providers/Microsoft.Compute/images/src"
    )


def test_resource_group_lifecycle(fake_arm: FakeArm, rm: ResourceManagementClient) -> None:
    groups = rm.resource_groups
    assert groups.check_existence("rg1") is False
    created = groups.create_or_update("rg1", {"location": "westus", "tags": {"createdBy": "aibpack"}})
    assert created.id == f"/subscriptions/{fake_arm.subscription_id}/resourceGroups/rg1"
    assert groups.check_existence("RG1") is True
    groups.create_or_update("rg2", {"location": "westus"})
    assert [g.name for g in groups.list(filter="tagName eq 'createdBy' and tagValue eq 'aibpack'")] == ["rg1"]
    assert groups.update("rg1", {"tags": {"a": "b"}}).tags == {"a": "b"}
    with pytest.raises(ResourceExistsError, match="InvalidResourceGroupLocation"):
        groups.create_or_update("rg1", {"location": "eastus"})
    fake_arm.add_resource(f"{created.id}/providers/Microsoft.Network/virtualNetworks/vnet", {"tags": {"x": "1"}})
    assert [r.name for r in rm.resources.list_by_resource_group("rg1", filter="tagName eq 'x'")] == ["vnet"]

    fake_arm.clear_requests()
    groups.begin_delete("rg1").result()
    assert [(m, s) for m, _, s in fake_arm.requests] == [("DELETE", 202), ("GET", 202), ("GET", 200)]
    assert fake_arm.resource_groups() == {"rg2": {}}
    assert fake_arm.resources() == []
    with pytest.raises(ResourceNotFoundError, match="ResourceGroupNotFound"):
        groups.get("rg1")


def test_compute_put_is_polled_through_azure_async_operation(
    fake_arm: FakeArm, compute: ComputeManagementClient
) -> None:
    fake_arm.add_group("rg", "westus")
    fake_arm.lro_polls = 2
    gallery = compute.galleries.begin_create_or_update("rg", "g", {"location": "westus"}).result()
    assert gallery.provisioning_state == "Succeeded"
    statuses = [(m, "/operations/" in p, s) for m, p, s in fake_arm.requests]
    assert statuses == [("PUT", False, 201), *[("GET", True, 200)] * 3, ("GET", False, 200)]


def test_gallery_image_version_with_replication_status(
    fake_arm: FakeArm, compute: ComputeManagementClient, gallery: str
) -> None:
    versions = compute.gallery_image_versions
    result = versions.begin_create_or_update("rg", "g", "d", "1.0.0", version_body(gallery, ("westus", "eastus")))
    assert result.result().provisioning_state == "Succeeded"
    plain = versions.get("rg", "g", "d", "1.0.0")
    assert plain.replication_status is None
    assert plain.publishing_profile.published_date is not None
    expanded = versions.get("rg", "g", "d", "1.0.0", expand="ReplicationStatus")
    assert expanded.replication_status.aggregated_state == "Completed"
    assert [s.region for s in expanded.replication_status.summary] == ["westus", "eastus"]
    assert [v.name for v in versions.list_by_gallery_image("rg", "g", "d")] == ["1.0.0"]


def test_version_needs_its_definition_and_source(
    fake_arm: FakeArm, compute: ComputeManagementClient, gallery: str
) -> None:
    with pytest.raises(ResourceNotFoundError, match="ParentResourceNotFound"):
        compute.gallery_image_versions.begin_create_or_update("rg", "g", "nope", "1.0.0", version_body(gallery))
    with pytest.raises(HttpResponseError, match="InvalidParameter"):
        compute.gallery_image_versions.begin_create_or_update("rg", "g", "d", "1.0.0", version_body(gallery + "x"))


def test_nested_resources_block_deleting_their_parent(compute: ComputeManagementClient, gallery: str) -> None:
    with pytest.raises(ResourceExistsError, match="CannotDeleteResource"):
        compute.galleries.begin_delete("rg", "g").result()
    compute.gallery_images.begin_delete("rg", "g", "d").result()
    compute.galleries.begin_delete("rg", "g").result()
    with pytest.raises(ResourceNotFoundError):
        compute.galleries.get("rg", "g")


def test_429_with_retry_after_ms_then_500_are_retried(
    fake_arm: FakeArm, compute: ComputeManagementClient, gallery: str
) -> None:
    throttled = fake_arm.inject("PUT", r"/versions/", 429, retry_after_ms=50)
    broken = fake_arm.inject("PUT", r"/versions/", 500)
    started = time.monotonic()
    compute.gallery_image_versions.begin_create_or_update("rg", "g", "d", "1.0.0", version_body(gallery)).result()
    assert time.monotonic() - started >= 0.05
    assert (throttled.hits, broken.hits, throttled.remaining) == (1, 1, 0)
    assert [s for m, _, s in fake_arm.requests if m == "PUT"] == [429, 500, 201]


def test_failed_operation_raises_with_its_error(
    fake_arm: FakeArm, compute: ComputeManagementClient, gallery: str
) -> None:
    failure = fake_arm.fail_operation(r"/versions/1\.0\.0$", code="ReplicationFailed", message="eastus is full")
    poller = compute.gallery_image_versions.begin_create_or_update("rg", "g", "d", "1.0.0", version_body(gallery))
    with pytest.raises(HttpResponseError) as err:
        poller.result()
    assert err.value.error.code == "ReplicationFailed"
    assert "eastus is full" in err.value.message
    assert failure.hits == 1
    expanded = compute.gallery_image_versions.get("rg", "g", "d", "1.0.0", expand="ReplicationStatus")
    assert expanded.provisioning_state == "Failed"
    assert expanded.replication_status.aggregated_state == "Failed"


def test_operation_delay_lets_parallel_callers_overlap(
    fake_arm: FakeArm, compute: ComputeManagementClient, gallery: str
) -> None:
    fake_arm.lro_delay = 0.3
    # One managed image per version: Azure serializes versions made from one managed image (test_rules.py).
    sources = [fake_arm.add_resource(f"{gallery}{n}", {"location": "westus"}) for n in range(4)]

    def create(n: int) -> str:
        body = version_body(sources[n])
        poller = compute.gallery_image_versions.begin_create_or_update("rg", "g", "d", f"1.0.{n}", body)
        return poller.result().provisioning_state

    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        states = list(pool.map(create, range(4)))
    elapsed = time.monotonic() - started
    assert states == ["Succeeded"] * 4
    assert 0.3 <= elapsed < 0.9


def test_role_definitions_and_assignments(fake_arm: FakeArm, authz: AuthorizationManagementClient) -> None:
    fake_arm.add_group("rg")
    sub_scope = f"/subscriptions/{fake_arm.subscription_id}"
    rg_scope = f"{sub_scope}/resourceGroups/rg"
    (contributor,) = authz.role_definitions.list(sub_scope, filter="roleName eq 'Contributor'")
    assert contributor.name == ROLE_DEFINITIONS["Contributor"] == "b24988ac-6180-42a0-ab88-20f7382dd24c"
    assert authz.role_definitions.get(sub_scope, ROLE_DEFINITIONS["Reader"]).role_name == "Reader"

    params = {"properties": {"roleDefinitionId": contributor.id, "principalId": PRINCIPAL}}
    assert list(authz.role_assignments.list_for_scope(rg_scope, filter=f"principalId eq '{PRINCIPAL}'")) == []
    created = authz.role_assignments.create(rg_scope, str(uuid.uuid4()), params)
    assert created.scope == rg_scope
    with pytest.raises(ResourceExistsError) as err:
        authz.role_assignments.create(rg_scope, str(uuid.uuid4()), params)
    assert err.value.error.code == "RoleAssignmentExists"

    fake_arm.add_role_assignment(sub_scope, "Reader", PRINCIPAL)
    fake_arm.add_role_assignment(sub_scope, "Owner", "someone-else")
    at_rg = authz.role_assignments.list_for_scope(rg_scope, filter=f"principalId eq '{PRINCIPAL}'")
    assert sorted(a.role_definition_id.rsplit("/", 1)[1] for a in at_rg) == sorted(
        [ROLE_DEFINITIONS["Contributor"], ROLE_DEFINITIONS["Reader"]]  # inherited from the subscription too
    )
    at_sub = authz.role_assignments.list_for_scope(sub_scope, filter="atScope()")
    assert {a.scope for a in at_sub} == {sub_scope}

    with pytest.raises(HttpResponseError, match="RoleDefinitionDoesNotExist"):
        authz.role_assignments.create(
            rg_scope,
            str(uuid.uuid4()),
            {"properties": {"roleDefinitionId": "/x/" + str(uuid.uuid4()), "principalId": "p"}},
        )


def test_unknown_subscription_and_unhandled_routes(fake_arm: FakeArm, rm: ResourceManagementClient) -> None:
    other = ResourceManagementClient(StubCredential(), str(uuid.uuid4()), **client_kwargs(fake_arm))
    with pytest.raises(ResourceNotFoundError, match="SubscriptionNotFound"):
        other.resource_groups.get("rg")
    assert fake_arm.unhandled == []
    fake_arm.add_group("rg")
    with pytest.raises(ResourceNotFoundError, match="fakearm has no handler"):
        rm.resource_groups.begin_export_template("rg", {"resources": ["*"]}).result()
    assert fake_arm.unhandled == [
        ("POST", f"/subscriptions/{fake_arm.subscription_id}/resourcegroups/rg/exportTemplate")
    ]


def test_the_ca_is_required(fake_arm: FakeArm, fakearm_certs: CertBundle) -> None:
    untrusting = ResourceManagementClient(
        StubCredential(), fake_arm.subscription_id, **client_kwargs(fake_arm, connection_verify=True, retry_total=0)
    )
    with pytest.raises(ServiceRequestError, match="CERTIFICATE_VERIFY_FAILED"):
        untrusting.resource_groups.check_existence("rg")
    assert fake_arm.requests == []


def test_requests_are_fast_with_nodelay(fake_arm: FakeArm, rm: ResourceManagementClient) -> None:
    rm.resource_groups.check_existence("warm-up")
    started = time.monotonic()
    for _ in range(10):
        rm.resource_groups.check_existence("rg")
    assert (time.monotonic() - started) / 10 < 0.03
