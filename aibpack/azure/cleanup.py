"""``aibpack cleanup``: staging groups a crashed run left behind.

Only groups tagged ``createdBy=aibpack`` are ever candidates: a user-named staging group that already existed
is never tagged by aibpack, so it can never be listed, let alone deleted, here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from aibpack.errors import BuildFailed

from .clients import AzureContext, describe_error
from .staging import CREATED_BY, TAG_CREATED_AT, TAG_CREATED_BY, TAG_RUN_ID, TAG_TEMPLATE


@dataclass(frozen=True)
class Orphan:
    """A staging group aibpack created; ``created_at`` is None when its timestamp tag is missing or bad."""

    name: str
    id: str
    location: str
    created_at: dt.datetime | None
    run_id: str | None
    template_name: str | None
    tags: dict[str, str] = field(default_factory=dict)

    def age(self, now: dt.datetime) -> dt.timedelta | None:
        return now - self.created_at if self.created_at else None


def _parse_timestamp(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def find_orphans(
    ctx: AzureContext, older_than: dt.timedelta | None = None, now: dt.datetime | None = None
) -> list[Orphan]:
    """Groups tagged ``createdBy=aibpack`` (not being deleted): older than ``older_than`` (all with None), and
    every group whose ``aibpackCreatedAt`` is missing or unreadable, whose age is unknown (``Orphan.age`` is None):
    the caller lists those and deletes them only when asked to (a run still going must not lose its group)."""
    from azure.core.exceptions import AzureError

    now = now or dt.datetime.now(dt.timezone.utc)
    try:
        groups = list(
            ctx.resources.resource_groups.list(filter=f"tagName eq '{TAG_CREATED_BY}' and tagValue eq '{CREATED_BY}'")
        )
    except AzureError as exc:
        raise BuildFailed(f"could not list resource groups: {describe_error(exc)}") from exc
    orphans = []
    for group in groups:
        tags = dict(group.tags or {})
        state = (group.properties.provisioning_state if group.properties else None) or ""
        # Resource Manager filtered on the tag; a group whose tags came back is checked again, one without is ours.
        if (tags and tags.get(TAG_CREATED_BY) != CREATED_BY) or state.lower() == "deleting":
            continue
        orphan = Orphan(
            name=group.name,
            id=group.id,
            location=group.location,
            created_at=_parse_timestamp(tags.get(TAG_CREATED_AT)),
            run_id=tags.get(TAG_RUN_ID),
            template_name=tags.get(TAG_TEMPLATE),
            tags=tags,
        )
        age = orphan.age(now)
        if older_than is None or age is None or age > older_than:
            orphans.append(orphan)
    return sorted(orphans, key=lambda o: o.name.lower())


def deletable(orphans: list[Orphan], include_unknown_age: bool = False) -> list[Orphan]:
    """The orphans a ``--yes`` deletes: those of known age, and those of unknown age only when asked for."""
    return [o for o in orphans if include_unknown_age or o.created_at is not None]


def delete_orphans(ctx: AzureContext, orphans: list[Orphan]) -> list[str]:
    """Delete the groups in parallel and wait for all; returns the names deleted, raises if any failed."""
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    started, failures, deleted = [], [], []
    for orphan in orphans:
        try:
            started.append((orphan, ctx.resources.resource_groups.begin_delete(orphan.name)))
        except ResourceNotFoundError:
            deleted.append(orphan.name)  # already gone: someone else cleaned up
        except AzureError as exc:
            failures.append(f"{orphan.name}: {describe_error(exc)}")
    for orphan, poller in started:
        try:
            poller.result()
            deleted.append(orphan.name)
        except AzureError as exc:
            failures.append(f"{orphan.name}: {describe_error(exc)}")
    if failures:
        raise BuildFailed(
            f"deleted {len(deleted)} of {len(orphans)} staging resource groups; could not delete " + "; ".join(failures)
        )
    return deleted
