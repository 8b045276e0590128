"""The fake Resource Manager, driven by the real azure-mgmt-* clients as aibpack drives them."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

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

from .builtin_roles import ROLE_DEFINITIONS
from .ca import CertBundle
from .fixtures import FAKE_USER, StubCredential
from .sdk import client_kwargs, version_body
from .server import FakeArm

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


def test_tags_on_versions_and_images_are_kept_listed_and_patched(
    fake_arm: FakeArm, compute: ComputeManagementClient, gallery: str
) -> None:
    body = {**version_body(gallery), "tags": {"aibpackInputs": "abc"}}
    compute.gallery_image_versions.begin_create_or_update("rg", "g", "d", "1.0.0", body).result()
    listed = list(compute.gallery_image_versions.list_by_gallery_image("rg", "g", "d"))
    assert [v.tags for v in listed] == [{"aibpackInputs": "abc"}]
    compute.images.begin_update("rg", "src", {"tags": {"aibpackInputs": "def"}}).result()
    assert compute.images.get("rg", "src").tags == {"aibpackInputs": "def"}


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
    fake_arm.directory.add_user(PRINCIPAL)
    sub_scope = f"/subscriptions/{fake_arm.subscription_id}"
    rg_scope = f"{sub_scope}/resourceGroups/rg"
    (contributor,) = authz.role_definitions.list(sub_scope, filter="roleName eq 'Contributor'")
    assert contributor.name == ROLE_DEFINITIONS["Contributor"] == "b24988ac-6180-42a0-ab88-20f7382dd24c"
    assert contributor.id == f"{sub_scope}/providers/Microsoft.Authorization/roleDefinitions/{contributor.name}"
    reader = authz.role_definitions.get(sub_scope, "acdd72a7-3385-48ef-bd42-f606fba81ae7")
    assert (reader.role_name, reader.permissions[0].actions) == ("Reader", ["*/read"])

    params = {"properties": {"roleDefinitionId": contributor.id, "principalId": PRINCIPAL}}
    assert list(authz.role_assignments.list_for_scope(rg_scope, filter=f"principalId eq '{PRINCIPAL}'")) == []
    created = authz.role_assignments.create(rg_scope, str(uuid.uuid4()), params)
    assert (created.scope, created.principal_type) == (rg_scope, "User")
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
            {"properties": {"roleDefinitionId": "/x/" + str(uuid.uuid4()), "principalId": PRINCIPAL}},
        )


def test_assigned_to_follows_groups_and_management_groups(
    fake_arm: FakeArm, authz: AuthorizationManagementClient
) -> None:
    fake_arm.add_group("rg")
    sp = fake_arm.directory.add_service_principal()
    inner = fake_arm.directory.add_group(members=(sp.object_id,))
    outer = fake_arm.directory.add_group(members=(inner.object_id,))
    fake_arm.set_management_groups("mg-platform", "mg-root")
    sub_scope = f"/subscriptions/{fake_arm.subscription_id}"
    rg_scope = f"{sub_scope}/resourceGroups/rg"
    fake_arm.add_role_assignment("/providers/Microsoft.Management/managementGroups/mg-root", "Reader", outer.object_id)
    fake_arm.add_role_assignment(rg_scope, "Contributor", inner.object_id)
    fake_arm.add_role_assignment(f"{rg_scope}/providers/Microsoft.Compute/images/x", "Owner", sp.object_id)

    direct = authz.role_assignments.list_for_scope(rg_scope, filter=f"atScope() and principalId eq '{sp.object_id}'")
    assert list(direct) == []  # principalId eq leaves group membership out
    held = authz.role_assignments.list_for_scope(rg_scope, filter=f"atScope() and assignedTo('{sp.object_id}')")
    assert {(a.scope, a.principal_id) for a in held} == {
        ("/providers/Microsoft.Management/managementGroups/mg-root", outer.object_id),
        (rg_scope, inner.object_id),
    }
    below_too = authz.role_assignments.list_for_scope(rg_scope, filter=f"assignedTo('{sp.object_id}')")
    assert len(list(below_too)) == 3
    with pytest.raises(HttpResponseError) as err:
        list(authz.role_assignments.list_for_scope(rg_scope, filter=f"assignedTo('{inner.object_id}')"))
    assert err.value.status_code == 400


def test_principal_type_must_match_the_directory(fake_arm: FakeArm, authz: AuthorizationManagementClient) -> None:
    from azure.mgmt.authorization.models import RoleAssignmentCreateParameters

    fake_arm.add_group("rg")
    sp = fake_arm.directory.add_service_principal()
    scope = f"/subscriptions/{fake_arm.subscription_id}/resourceGroups/rg"
    role = f"/subscriptions/{fake_arm.subscription_id}/providers/Microsoft.Authorization/roleDefinitions/"
    role += ROLE_DEFINITIONS["Reader"]
    # azure-mgmt-authorization sends principalType "User" unless told otherwise.
    with pytest.raises(HttpResponseError) as err:
        authz.role_assignments.create(
            scope, str(uuid.uuid4()), RoleAssignmentCreateParameters(role_definition_id=role, principal_id=sp.object_id)
        )
    assert err.value.error.code == "UnmatchedPrincipalType"
    created = authz.role_assignments.create(
        scope,
        str(uuid.uuid4()),
        RoleAssignmentCreateParameters(
            role_definition_id=role, principal_id=sp.object_id, principal_type="ServicePrincipal"
        ),
    )
    assert created.principal_type == "ServicePrincipal"
    unknown = str(uuid.uuid4())
    with pytest.raises(HttpResponseError) as err:
        authz.role_assignments.create(
            scope, str(uuid.uuid4()), {"properties": {"roleDefinitionId": role, "principalId": unknown}}
        )
    assert err.value.error.code == "PrincipalNotFound"


def test_tag_filter_leaves_tags_out_of_the_resource_list(fake_arm: FakeArm, rm: ResourceManagementClient) -> None:
    group = fake_arm.add_group("rg")
    fake_arm.add_resource(f"{group}/providers/Microsoft.Network/virtualNetworks/vnet", {"tags": {"run": "r1"}})
    filtered = list(rm.resources.list_by_resource_group("rg", filter="tagName eq 'run' and tagValue eq 'r1'"))
    assert [(r.name, r.tags) for r in filtered] == [("vnet", None)]
    assert [r.tags for r in rm.resources.list_by_resource_group("rg")] == [{"run": "r1"}]


def test_requests_need_an_api_version_and_a_token_for_arm(fake_arm: FakeArm) -> None:
    import requests

    url = f"{fake_arm.base_url}/subscriptions/{fake_arm.subscription_id}/resourcegroups"
    session = requests.Session()
    session.verify = fake_arm.ca_path
    session.trust_env = False
    assert session.get(url).json()["error"]["code"] == "MissingApiVersionParameter"
    missing = session.get(url, params={"api-version": "2025-04-01"})
    assert missing.status_code == 401
    assert fake_arm.directory.tenant_id in missing.headers["WWW-Authenticate"]
    forged = session.get(url, params={"api-version": "2025-04-01"}, headers={"Authorization": "Bearer a.b.c"})
    assert forged.json()["error"]["code"] == "InvalidAuthenticationToken"
    storage = fake_arm.token(FAKE_USER, "https://storage.azure.com")
    wrong = session.get(url, params={"api-version": "2025-04-01"}, headers={"Authorization": f"Bearer {storage}"})
    assert wrong.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"


def test_platform_image_catalogue(fake_arm: FakeArm, compute: ComputeManagementClient) -> None:
    for version in ("2019.0.20240101", "2019.0.20240612", "2019.0.20231010"):
        fake_arm.add_platform_image(
            "MicrosoftWindowsServer",
            "WindowsServer",
            "2019-datacenter-gensecond",
            version,
            os_type="Windows",
            generation="V2",
        )
    images = compute.virtual_machine_images
    (latest,) = images.list(
        "westus", "MicrosoftWindowsServer", "WindowsServer", "2019-datacenter-gensecond", top=1, orderby="name desc"
    )
    assert latest.name == "2019.0.20240612"
    got = images.get("westus", "MicrosoftWindowsServer", "WindowsServer", "2019-datacenter-gensecond", latest.name)
    assert (got.os_disk_image.operating_system, got.hyper_v_generation) == ("Windows", "V2")
    with pytest.raises(ResourceNotFoundError):
        images.get("eastus", "MicrosoftWindowsServer", "WindowsServer", "2019-datacenter-gensecond", latest.name)


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


def _proxied(fake: FakeArm, proxy_port: int) -> Any:
    import requests

    session = requests.Session()
    session.verify = fake.ca_path
    session.trust_env = False
    session.proxies = {"https": f"http://127.0.0.1:{proxy_port}"}
    return session


def test_blob_reads_follow_public_access_and_data_roles(fake_arm: FakeArm) -> None:
    from .proxy import tunnel_proxy

    fake_arm.add_group("rg-scripts")
    account = fake_arm.add_blob("rg-scripts", "scripts01", "private", "setup.sh", b"echo hi\n")
    fake_arm.add_blob("rg-scripts", "scripts01", "public", "open.sh", b"echo open\n", public_access="Blob")
    fake_arm.add_blob(
        "rg-scripts", "locked01", "public", "open.sh", b"x", public_access="Blob", allow_public_access=False
    )
    with tunnel_proxy(fake_arm.port) as proxy:
        session = _proxied(fake_arm, proxy.server_address[1])
        base = "https://scripts01.blob.core.windows.net"
        assert session.get(f"{base}/public/open.sh").content == b"echo open\n"
        anonymous = session.get(f"{base}/private/setup.sh")
        assert (anonymous.status_code, anonymous.headers["x-ms-error-code"]) == (404, "ResourceNotFound")
        locked = session.get("https://locked01.blob.core.usgovcloudapi.net/public/open.sh")
        assert (locked.status_code, locked.headers["x-ms-error-code"]) == (409, "PublicAccessNotPermitted")

        def read(token: str) -> Any:
            return session.get(f"{base}/private/setup.sh", headers={"Authorization": f"Bearer {token}"})

        storage_token = fake_arm.token(FAKE_USER, "https://storage.azure.com")
        assert read(fake_arm.token(FAKE_USER)).status_code == 401  # a Resource Manager token
        fake_arm.add_role_assignment(account, "Contributor", FAKE_USER)  # no data actions
        assert read(storage_token).headers["x-ms-error-code"] == "AuthorizationPermissionMismatch"
        fake_arm.add_role_assignment(account, "Storage Blob Data Reader", FAKE_USER)
        granted = read(storage_token)
        assert (granted.status_code, granted.content) == (200, b"echo hi\n")
        ranged = session.get(
            f"{base}/private/setup.sh", headers={"Authorization": f"Bearer {storage_token}", "Range": "bytes=0-3"}
        )
        assert (ranged.status_code, ranged.content, ranged.headers["Content-Range"]) == (206, b"echo", "bytes 0-3/8")
    assert proxy.targets[0] == "scripts01.blob.core.windows.net:443"


def test_token_endpoint_client_credentials(fake_arm: FakeArm) -> None:
    import requests

    from .directory import FEDERATION_AUDIENCE, jwt, jwt_claims

    app = fake_arm.directory.add_service_principal(
        secret="s3cret", federated=("https://token.actions.example", "repo:x")
    )
    url = f"{fake_arm.base_url}/{fake_arm.directory.tenant_id}/oauth2/v2.0/token"
    form = {
        "grant_type": "client_credentials",
        "client_id": app.app_id,
        "scope": "https://management.azure.com/.default",
    }
    ok = requests.post(url, data={**form, "client_secret": "s3cret"}, verify=fake_arm.ca_path)
    claims = jwt_claims(ok.json()["access_token"])
    assert claims is not None and (claims["oid"], claims["appid"]) == (app.object_id, app.app_id)
    bad = requests.post(url, data={**form, "client_secret": "nope"}, verify=fake_arm.ca_path)
    assert (bad.status_code, bad.json()["error_codes"]) == (401, [7000215])
    assertion = jwt(
        {"iss": "https://token.actions.example", "sub": "repo:x", "aud": FEDERATION_AUDIENCE, "exp": time.time() + 300},
        key=b"someone else's key",
    )
    federated = {
        **form,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    assert requests.post(url, data=federated, verify=fake_arm.ca_path).status_code == 200
    wrong = {**federated, "client_assertion": jwt({"iss": "x", "sub": "y", "aud": FEDERATION_AUDIENCE, "exp": 2**40})}
    assert requests.post(url, data=wrong, verify=fake_arm.ca_path).json()["error_codes"] == [70021]
