"""``aibpack permissions check|grant TEMPLATE``: the role assignments the build identity needs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from aibpack.commands.distribute import azure_context, load_template, template_ids
from aibpack.commands.options import azure_options, template_options


@click.group("permissions")
def permissions_group() -> None:
    """Check or grant the roles a build needs (Contributor on destinations and staging, Reader on the source)."""


def _prepare(template: Path, assignee: str | None, subscription: str | None, auth: str, options: dict[str, Any]):
    from aibpack.azure.permissions import needed_roles, principal_from_token

    image = load_template(template, options)
    ctx = azure_context(subscription, auth, template_ids(image))
    principal = assignee or principal_from_token(ctx)
    return ctx, needed_roles(image, ctx.subscription_id), principal


@permissions_group.command("check")
@click.argument("template", type=click.Path(path_type=Path))
@click.option("--assignee", metavar="OBJECT_ID", help="Whose roles (default: the signed-in identity).")
@azure_options()
@template_options
def check_command(template: Path, assignee: str | None, subscription: str | None, auth: str, **options: Any) -> None:
    """Print `missing: ROLE on SCOPE` for each missing role; exit 1 when any is missing."""
    from aibpack.azure.permissions import missing_roles

    ctx, needs, principal = _prepare(template, assignee, subscription, auth, options)
    missing = missing_roles(ctx, needs, principal)
    for need in missing:
        click.echo(f"missing: {need}")
    if not missing:
        click.echo(f"ok: {principal} has all {len(needs)} roles the build needs")
    sys.exit(1 if missing else 0)


@permissions_group.command("grant")
@click.argument("template", type=click.Path(path_type=Path))
@click.option("--assignee", metavar="OBJECT_ID", help="Whose roles (default: the signed-in identity).")
@azure_options()
@template_options
def grant_command(template: Path, assignee: str | None, subscription: str | None, auth: str, **options: Any) -> None:
    """Create the missing role assignments (only those; running it twice creates nothing more)."""
    from aibpack.azure.permissions import grant_roles, missing_roles

    ctx, needs, principal = _prepare(template, assignee, subscription, auth, options)
    created = grant_roles(ctx, missing_roles(ctx, needs, principal), principal)
    for need in created:
        click.echo(f"granted: {need}")
    if not created:
        click.echo(f"ok: nothing to grant, {principal} has all {len(needs)} roles the build needs")
    sys.exit(0)
