"""``aibpack permissions check|grant TEMPLATE``: the role assignments the build identity needs."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from aibpack.azure.permissions import PRINCIPAL_TYPES
from aibpack.commands.distribute import load_template, template_ids
from aibpack.commands.options import azure_context, azure_options, retired_provisioner_options, template_options

if TYPE_CHECKING:
    from aibpack.azure.permissions import Permissions, RoleNeed


@click.group("permissions")
def permissions_group() -> None:
    """Check or grant the roles a build needs (Contributor on destinations and staging, Reader on the source).

    Also Managed Identity Operator on the build VM's identities and data roles on storage scripts and VHDs.
    """


def _assignee_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--assignee-principal-type",
        "principal_type",
        type=click.Choice(PRINCIPAL_TYPES),
        help="What the assignee is (default: ServicePrincipal, or User for a signed-in user checking itself).",
    )(func)
    return click.option("--assignee", metavar="OBJECT_ID", help="Whose roles (default: the signed-in identity).")(func)


def _prepare(
    template: Path,
    assignee: str | None,
    principal_type: str | None,
    subscription: str | None,
    auth: str,
    options: dict[str, Any],
) -> tuple[Permissions, list[RoleNeed]]:
    from aibpack.azure.permissions import Permissions, needed_roles
    from aibpack.errors import AibpackError

    compiled = load_template(template, options)
    ctx, signed_in = azure_context(subscription, auth, template_ids(compiled.template))
    principal = assignee or signed_in.object_id
    if not principal:
        raise AibpackError("cannot tell the signed-in identity's object ID from its token; pass --assignee OBJECT_ID")
    kind = principal_type or (signed_in.principal_type if not assignee else "ServicePrincipal")
    storage = tuple(remote.uri for remote in compiled.plan.remote_files)
    needs = needed_roles(compiled.template, ctx.subscription_id, storage)
    return Permissions(ctx, principal, kind), needs  # type: ignore[arg-type]


def _command(name: str) -> Callable[[Callable[[Permissions, list[RoleNeed]], int]], click.Command]:
    """A ``permissions`` subcommand: the template and assignee options, then ``action`` on what they name."""

    def wrap(action: Callable[[Permissions, list[RoleNeed]], int]) -> click.Command:
        @permissions_group.command(name, help=action.__doc__)
        @click.argument("template", type=click.Path(path_type=Path))
        @_assignee_options
        @azure_options()
        @template_options
        @retired_provisioner_options
        def command(
            template: Path,
            assignee: str | None,
            principal_type: str | None,
            subscription: str | None,
            auth: str,
            **options: Any,
        ) -> None:
            sys.exit(action(*_prepare(template, assignee, principal_type, subscription, auth, options)))

        return command

    return wrap


@_command("check")
def check_command(permissions: Permissions, needs: list[RoleNeed]) -> int:
    """Print `missing: ROLE on SCOPE` for each missing role; exit 1 when any is missing."""
    missing = permissions.missing(needs)
    for need in missing:
        click.echo(f"missing: {need.role} on {permissions.scope(need)}")
    if not missing:
        click.echo(f"ok: {permissions.assignee} has all {len(needs)} roles the build needs")
    return 1 if missing else 0


@_command("grant")
def grant_command(permissions: Permissions, needs: list[RoleNeed]) -> int:
    """Create the missing role assignments (only those; running it twice creates nothing more)."""
    created = permissions.grant(permissions.missing(needs))
    for need in created:
        click.echo(f"granted: {need.role} on {permissions.scope(need)}")
    if not created:
        click.echo(f"ok: nothing to grant, {permissions.assignee} has all {len(needs)} roles the build needs")
    return 0
