"""``aibpack cleanup``: list (and with ``--yes`` delete) staging groups tagged ``createdBy=aibpack``."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys

import click

from aibpack.commands.options import azure_context, azure_options
from aibpack.errors import AibpackError

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "": "hours"}


def parse_age(text: str) -> dt.timedelta | None:
    """``24h``, ``90m``, ``2d``, ``30s`` (a bare number is hours); ``0`` means no age limit."""
    match = _AGE.match(text)
    if not match:
        raise AibpackError(f"--older-than {text}: expected an age like 24h, 90m, 2d or 0")
    value = float(match.group(1))
    if value == 0:
        return None
    return dt.timedelta(**{_UNITS[match.group(2)]: value})


@click.command("cleanup")
@azure_options(template=False)
@click.option(
    "--older-than",
    default="24h",
    show_default=True,
    metavar="AGE",
    help="Only groups created longer ago than AGE (24h, 90m, 2d; 0 = any age). Groups of unknown age are always "
    "listed.",
)
@click.option("--yes", is_flag=True, help="Delete the groups found (without it they are only listed).")
@click.option(
    "--include-unknown-age",
    is_flag=True,
    help="With --yes, also delete groups whose aibpackCreatedAt tag is missing or unreadable.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the groups found and deleted as JSON on stdout.")
def cleanup_command(
    subscription: str | None, auth: str, older_than: str, yes: bool, include_unknown_age: bool, as_json: bool
) -> None:
    """Find staging resource groups that aibpack created and a crashed run left behind."""
    from aibpack.azure.cleanup import deletable, delete_orphans, find_orphans

    age = parse_age(older_than)
    ctx, _ = azure_context(subscription, auth)
    now = dt.datetime.now(dt.timezone.utc)
    orphans = find_orphans(ctx, age, now)
    doomed = deletable(orphans, include_unknown_age)
    deleted = delete_orphans(ctx, doomed) if yes and doomed else []
    if as_json:
        groups = [
            {
                "name": o.name,
                "location": o.location,
                "createdAt": o.created_at.strftime("%Y-%m-%dT%H:%M:%SZ") if o.created_at else None,
                "imageTemplateName": o.template_name,
                "runId": o.run_id,
            }
            for o in orphans
        ]
        sys.stdout.write(json.dumps({"groups": groups, "deleted": deleted}, indent=2) + "\n")
        return
    if not orphans:
        click.echo("no aibpack staging resource groups found", err=True)
        return
    for orphan in orphans:
        age_text = _age_text(orphan.age(now))
        state = "deleted" if orphan.name in deleted else "found"
        click.echo(f"{state}: {orphan.name} ({orphan.location}, {age_text}, {orphan.template_name or '?'})", err=True)
    unknown = [o.name for o in orphans if o.created_at is None and o.name not in deleted]
    if unknown and not include_unknown_age:
        click.echo(
            f"{'kept' if yes else 'found'} {len(unknown)} group(s) of unknown age (no readable aibpackCreatedAt; a run "
            "may still use them): deleting them also needs --include-unknown-age",
            err=True,
        )
    if not yes:
        click.echo(f"{len(orphans)} group(s) found; rerun with --yes to delete them", err=True)


def _age_text(age: dt.timedelta | None) -> str:
    if age is None:
        return "age unknown"
    hours = age.total_seconds() / 3600
    return f"{hours / 24:.1f} days old" if hours >= 48 else f"{hours:.1f} hours old"
