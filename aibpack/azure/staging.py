"""The staging resource group: where Packer builds, and what ``run`` must leave clean afterwards.

Either aibpack creates ``IT_<destination RG>_<template>_<8 hex>`` (and deletes it whole), or the template
names a ``stagingResourceGroup``: created by us when missing (then also deleted whole), else the user's, and
then only the resources tagged with this run's ``aibpackRunId`` are deleted, never the group.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from dataclasses import dataclass

from aibpack.errors import AibpackError, BuildFailed
from aibpack.model.resource_id import parse_id
from aibpack.progress import Progress, Task

from .clients import AzureContext, describe_error, poll_with

# AIB tags its staging groups createdBy and imageTemplateName (azure-compute-docs image-builder-overview.md, "Staging
# resource group"); aibpack does the same with its own value, and adds its run ID and creation time.
CREATED_BY = "aibpack"
TAG_CREATED_BY = "createdBy"
TAG_TEMPLATE = "imageTemplateName"
TAG_RUN_ID = "aibpackRunId"
TAG_CREATED_AT = "aibpackCreatedAt"
# Marks what aibpack created in Azure (staging groups, temporary disks, gallery versions).
AIBPACK_TAGS = {TAG_CREATED_BY: CREATED_BY}
MAX_GROUP_NAME = (
    90  # resource groups: 1-90 characters (azure-docs management/resource-name-rules.md, Microsoft.Resources)
)
# Delete dependents before what they depend on (VM before NIC before VNet; version before definition).
_DELETE_ORDER = {
    "microsoft.compute/virtualmachines": 0,
    "microsoft.network/networkinterfaces": 1,
    "microsoft.compute/galleries/images/versions": 1,
    "microsoft.network/virtualnetworks": 3,
    "microsoft.network/publicipaddresses": 3,
    "microsoft.network/networksecuritygroups": 4,
    "microsoft.compute/galleries/images": 4,
    "microsoft.compute/galleries": 5,
}
_DEFAULT_RANK = 2
_UNSAFE = re.compile(r"[^\w.()-]")


@dataclass(frozen=True)
class StagingGroup:
    """A staging group for one run; ``created_by_us`` decides whether cleanup deletes the group itself."""

    name: str
    id: str
    location: str
    created_by_us: bool
    run_id: str

    @property
    def resource_tags(self) -> dict[str, str]:
        """Tags to put on everything this run creates in the group, so cleanup can find exactly that."""
        return {TAG_CREATED_BY: CREATED_BY, TAG_RUN_ID: self.run_id}


def new_run_id() -> str:
    return uuid.uuid4().hex


def utc_timestamp(now: dt.datetime | None = None) -> str:
    return (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")


def staging_group_name(destination_group: str, template_name: str, run_id: str) -> str:
    """``IT_<destination RG>_<template>_<8 hex of the run id>``, trimmed fairly to ARM's 90 characters."""
    suffix = hashlib.sha256(run_id.encode()).hexdigest()[:8]
    group, template = _UNSAFE.sub("-", destination_group), _UNSAFE.sub("-", template_name)
    budget = MAX_GROUP_NAME - len(f"IT___{suffix}")
    template_len = min(len(template), max(budget - len(group), budget // 2))
    group_len = min(len(group), budget - template_len)
    return f"IT_{group[:group_len]}_{template[:template_len]}_{suffix}"


def _group_tags(template_name: str, run_id: str, extra: dict[str, str] | None) -> dict[str, str]:
    return {
        **(extra or {}),
        TAG_CREATED_BY: CREATED_BY,
        TAG_TEMPLATE: template_name,
        TAG_RUN_ID: run_id,
        TAG_CREATED_AT: utc_timestamp(),
    }


@dataclass(frozen=True)
class _Purpose:
    """What every staging group of a run gets, whoever names it: its location, run and tags."""

    location: str
    run_id: str
    tags: dict[str, str]


def _create_group(ctx: AzureContext, name: str, purpose: _Purpose) -> StagingGroup:
    """Create a group that is ours for this run; refuses a name that already exists (it is someone else's)."""
    from azure.core.exceptions import AzureError

    try:
        if ctx.resources.resource_groups.check_existence(name):
            raise BuildFailed(f"staging resource group {name} already exists; refusing to build in it")
        group = ctx.resources.resource_groups.create_or_update(
            name, {"location": purpose.location, "tags": purpose.tags}
        )
    except AzureError as exc:
        raise BuildFailed(f"could not create staging resource group {name}: {describe_error(exc)}") from exc
    return StagingGroup(group.name, group.id, group.location, created_by_us=True, run_id=purpose.run_id)


def _use_named_group(ctx: AzureContext, group_id: str, purpose: _Purpose) -> StagingGroup:
    """The template's ``stagingResourceGroup``: create it if missing, else use the user's group untouched."""
    from azure.core.exceptions import AzureError

    where = ("properties", "stagingResourceGroup")
    try:
        parsed = parse_id(group_id)
    except ValueError as exc:
        raise AibpackError(str(exc), path=where) from None
    if parsed.namespace or parsed.subscription.lower() != ctx.subscription_id.lower():
        raise AibpackError(
            f"'{group_id}' must be a resource group ID in the build's subscription {ctx.subscription_id}", path=where
        )
    try:
        exists = ctx.resources.resource_groups.check_existence(parsed.resource_group)
        group = ctx.resources.resource_groups.get(parsed.resource_group) if exists else None
    except AzureError as exc:
        raise BuildFailed(
            f"could not read staging resource group {parsed.resource_group}: {describe_error(exc)}", path=where
        ) from exc
    if group is None:
        return _create_group(ctx, parsed.resource_group, purpose)
    return StagingGroup(group.name, group.id, group.location, created_by_us=False, run_id=purpose.run_id)


def prepare_staging(
    ctx: AzureContext,
    *,
    staging_resource_group: str | None,
    destination_group: str,
    template_name: str,
    location: str,
    run_id: str,
    extra_tags: dict[str, str] | None = None,
) -> StagingGroup:
    """The staging group of design.md, from the template's ``stagingResourceGroup`` or its absence."""
    purpose = _Purpose(location, run_id, _group_tags(template_name, run_id, extra_tags))
    if staging_resource_group:
        return _use_named_group(ctx, staging_resource_group, purpose)
    return _create_group(ctx, staging_group_name(destination_group, template_name, run_id), purpose)


def delete_staging(ctx: AzureContext, staging: StagingGroup, task: Task | None = None) -> list[str]:
    """Delete what this run put in Azure for staging and wait, saying how far it is on ``task``; returns the
    deleted IDs (group first)."""
    from azure.core.exceptions import AzureError

    task = task or Progress.silent().task(staging.name)
    try:
        deleted = _delete_group(ctx, staging, task) if staging.created_by_us else _delete_tagged(ctx, staging, task)
    except AzureError as exc:
        what = f"resource group {staging.name}" if staging.created_by_us else f"resources of run {staging.run_id}"
        how = (
            f"az group delete --name {staging.name}"
            if staging.created_by_us
            else f"az resource delete --ids $(az resource list -g {staging.name} "
            f"--tag {TAG_RUN_ID}={staging.run_id} --query [].id -o tsv)"
        )
        raise BuildFailed(f"could not delete staging {what}: {describe_error(exc)} (delete it with {how})") from exc
    if not staging.created_by_us:
        task.finish(f"deleted {len(deleted)} resource(s) of this run")
    else:
        task.finish(f"deleted, with its {len(deleted) - 1} resource(s)" if deleted else "already gone")
    return deleted


def _delete_group(ctx: AzureContext, staging: StagingGroup, task: Task) -> list[str]:
    client = ctx.resources
    if not client.resource_groups.check_existence(staging.name):
        return []
    contents = [r.id for r in client.resources.list_by_resource_group(staging.name)]
    task.update(f"deleting the group and its {len(contents)} resource(s)")

    def report() -> None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            left = sum(1 for _ in client.resources.list_by_resource_group(staging.name))
        except ResourceNotFoundError:  # gone before the operation said it was done
            return
        task.update(f"deleting the group: {left} of {len(contents)} resource(s) left")

    poll_with(client.resource_groups.begin_delete(staging.name), ctx.progress_every, report)
    return [staging.id, *contents]


def _delete_tagged(ctx: AzureContext, staging: StagingGroup, task: Task) -> list[str]:
    """Only what carries this run's tag, dependents first; every other resource in the group is the user's.

    Resource Manager matches the tag: "When you filter by a tag name and value, the tags for each resource are not
    returned in the results" (azure-rest-api-specs resources.json, Resources_ListByResourceGroup ``$filter``), so
    what the filtered list holds is this run's, with no tags left to read back.
    """
    client = ctx.resources
    ours = list(
        client.resources.list_by_resource_group(
            staging.name, filter=f"tagName eq '{TAG_RUN_ID}' and tagValue eq '{staging.run_id}'"
        )
    )
    versions = {r.type.lower(): _api_version(ctx, r.type) for r in ours}
    deleted: list[str] = []
    for rank in sorted({_rank(r.type) for r in ours}):
        batch = [r for r in ours if _rank(r.type) == rank]
        task.update(f"deleting this run's resources: {len(deleted)} of {len(ours)} done")
        pollers = [client.resources.begin_delete_by_id(r.id, api_version=versions[r.type.lower()]) for r in batch]
        for poller in pollers:
            poller.result()
        deleted.extend(r.id for r in batch)
    return deleted


def _rank(resource_type: str) -> int:
    return _DELETE_ORDER.get(resource_type.lower(), _DEFAULT_RANK)


def _api_version(ctx: AzureContext, resource_type: str) -> str:
    """The newest stable api-version the provider offers for the type, as ``az resource delete`` picks it."""
    namespace, _, type_path = resource_type.partition("/")
    provider = ctx.resources.providers.get(namespace)
    for item in provider.resource_types or []:
        if (item.resource_type or "").lower() == type_path.lower():
            versions = sorted(item.api_versions or [], key=lambda v: ("preview" not in v.lower(), v))
            if versions:
                return versions[-1]
    raise BuildFailed(f"Azure offers no api-version for {resource_type}; delete {namespace} resources by hand")
