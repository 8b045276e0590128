"""Existing Packer provisioners → AIB ``customize`` steps (``aibpack import``).

The conversion is honest rather than complete: what AIB can express is carried over, and every
attribute or provisioner it cannot express gets one warning line naming it, so nothing is dropped
silently. ``compile --provisioners`` is the lossless alternative, and each warning says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

from aibpack.errors import AibpackError, Diagnostics
from aibpack.legacy.template import LegacyProvisioner, LegacyTemplate

# Attributes each converter consumes; anything else on the provisioner is warned about.
_SHELL = {"inline", "script", "scripts", "environment_vars", "env"}
_POWERSHELL = {
    "inline",
    "script",
    "scripts",
    "environment_vars",
    "env",
    "elevated_user",
    "elevated_password",
    "valid_exit_codes",
}
_RESTART = {"restart_command", "restart_check_command", "restart_timeout"}
_FILE = {"source", "sources", "destination"}
_UPDATE = {"search_criteria", "filters", "update_limit"}
_NAME = {"name"}


def customize_steps(template: LegacyTemplate, output_dir: Path, diagnostics: Diagnostics) -> list[dict]:
    """AIB customize steps for ``template``; local files become paths relative to ``output_dir``."""
    if not template.provisioners:
        diagnostics.warn("has no provisioners; nothing to import")
    steps: list[dict] = []
    for provisioner in template.provisioners:
        converter = _CONVERTERS.get(provisioner.type)
        if converter is None:
            _drop(provisioner, provisioner.type, diagnostics)
            continue
        context = _Context(template, provisioner, output_dir.resolve(), diagnostics)
        converted = converter(context)
        _warn_unevaluated(provisioner, converted, diagnostics)
        steps += converted
    return steps


_UNEVALUATED = re.compile(r"\{\{.*?\}\}|\$\{(?:build|source|packer|path|var|local)\.[^}]*\}|\$\{[a-z0-9_]+\(")


def _warn_unevaluated(provisioner: LegacyProvisioner, steps: list[dict], diagnostics: Diagnostics) -> None:
    """Packer template calls left in a step would reach the VM as text: say which, once each."""
    found = dict.fromkeys(_UNEVALUATED.findall(json.dumps(steps, ensure_ascii=False)))
    for text in found:
        diagnostics.warn(
            f"provisioners[{provisioner.index}] ({provisioner.type}): {text} is a Packer expression AIB "
            "does not evaluate; kept as text (replace it, or use --provisioners)"
        )


class _Context:
    def __init__(
        self, template: LegacyTemplate, provisioner: LegacyProvisioner, output_dir: Path, d: Diagnostics
    ) -> None:
        self.template = template
        self.provisioner = provisioner
        self.attributes = provisioner.attributes
        self.output_dir = output_dir
        self.diagnostics = d

    def warn_unused(self, used: set[str]) -> None:
        for name in self.attributes:
            if name not in used | _NAME:
                _drop(self.provisioner, name, self.diagnostics)

    def name(self, fallback: str | None = None) -> dict:
        value = self.attributes.get("name") or fallback
        return {"name": value} if value else {}

    def local_files(self, *names: str) -> list[Path]:
        """The files named by ``names`` (a string or list each), which must exist."""
        files = []
        for name in names:
            value = self.attributes.get(name)
            for item in value if isinstance(value, list) else [value] if value is not None else []:
                path = Path(str(item))
                path = path if path.is_absolute() else self.template.directory / path
                if not path.exists():
                    where = f"provisioners[{self.provisioner.index}] ({self.provisioner.type})"
                    raise AibpackError(f"{where}: {name} {item} not found", file=self.template.file)
                files.append(path)
        return files

    def uri(self, path: Path) -> dict:
        """``scriptUri``-style fields: a path relative to the output (design.md's local files) + checksum."""
        relative = Path(os.path.relpath(path.resolve(), self.output_dir)).as_posix()
        return {"uri": relative, "sha256Checksum": hashlib.sha256(path.read_bytes()).hexdigest()}


def _drop(provisioner: LegacyProvisioner, what: str, diagnostics: Diagnostics) -> None:
    diagnostics.warn(
        f"provisioners[{provisioner.index}] ({provisioner.type}): {what} has no AIB equivalent; "
        "dropped (use --provisioners to keep it exactly)"
    )


def _environment(ctx: _Context, fmt: Callable[[str, str], str]) -> list[str]:
    """``environment_vars``/``env`` as lines that set the same variables at the top of an inline script."""
    pairs = [str(item).split("=", 1) for item in ctx.attributes.get("environment_vars") or []]
    pairs += [[str(k), str(v)] for k, v in (ctx.attributes.get("env") or {}).items()]
    return [fmt(pair[0], pair[1] if len(pair) > 1 else "") for pair in pairs]


def _shell_export(name: str, value: str) -> str:
    """The export Packer's own ``env_var_format`` (``%s='%s'``) amounts to, quoted the same way."""
    quoted = value.replace("'", "'\"'\"'")
    return f"export {name}='{quoted}'"


def _powershell_env(name: str, value: str) -> str:
    quoted = value.replace("'", "''")
    return f"$env:{name} = '{quoted}'"


def _scripted(ctx: _Context, kind: str, extra: dict, fmt: Callable[[str, str], str], used: set[str]) -> list[dict]:
    """One step for inline lines, or one per local script; env vars fold only into inline lines."""
    inline = ctx.attributes.get("inline")
    if inline is not None:
        lines = _environment(ctx, fmt) + [str(line) for line in inline]
        ctx.warn_unused(used)
        return [{"type": kind, **ctx.name(), "inline": lines, **extra}]
    unused = used - {"environment_vars", "env"}
    ctx.warn_unused(unused)
    steps = []
    for path in ctx.local_files("script", "scripts"):
        uri = ctx.uri(path)
        steps.append(
            {
                "type": kind,
                **ctx.name(path.name),
                "scriptUri": uri["uri"],
                "sha256Checksum": uri["sha256Checksum"],
                **extra,
            }
        )
    return steps


def _shell(ctx: _Context) -> list[dict]:
    return _scripted(ctx, "Shell", {}, _shell_export, _SHELL)


def _powershell(ctx: _Context) -> list[dict]:
    extra: dict = {}
    user = ctx.attributes.get("elevated_user")
    if user:
        extra["runElevated"] = True
        if str(user).upper() == "SYSTEM":
            extra["runAsSystem"] = True
    codes = ctx.attributes.get("valid_exit_codes")
    if codes:
        extra["validExitCodes"] = codes
    return _scripted(ctx, "PowerShell", extra, _powershell_env, _POWERSHELL)


def _restart(ctx: _Context) -> list[dict]:
    ctx.warn_unused(_RESTART)
    step = {"type": "WindowsRestart", **ctx.name()}
    for packer_name, aib_name in (
        ("restart_command", "restartCommand"),
        ("restart_check_command", "restartCheckCommand"),
        ("restart_timeout", "restartTimeout"),
    ):
        if packer_name in ctx.attributes:
            step[aib_name] = ctx.attributes[packer_name]
    return [step]


def _file(ctx: _Context) -> list[dict]:
    if ctx.attributes.get("direction", "upload") != "upload":
        _drop(ctx.provisioner, f"direction = {ctx.attributes['direction']}", ctx.diagnostics)
        return []
    ctx.warn_unused(_FILE)
    destination = str(ctx.attributes.get("destination", ""))
    several = "sources" in ctx.attributes
    steps = []
    for path in ctx.local_files("source", "sources"):
        if path.is_dir():
            _drop(ctx.provisioner, f"source directory {path.name} (AIB File uploads one file)", ctx.diagnostics)
            continue
        uri = ctx.uri(path)
        target = destination.rstrip("/\\") + "/" + path.name if several else destination
        steps.append(
            {
                "type": "File",
                **ctx.name(),
                "sourceUri": uri["uri"],
                "sha256Checksum": uri["sha256Checksum"],
                "destination": target,
            }
        )
    return steps


def _windows_update(ctx: _Context) -> list[dict]:
    ctx.warn_unused(_UPDATE)
    step = {"type": "WindowsUpdate", **ctx.name()}
    for packer_name, aib_name in (
        ("search_criteria", "searchCriteria"),
        ("filters", "filters"),
        ("update_limit", "updateLimit"),
    ):
        if packer_name in ctx.attributes:
            step[aib_name] = ctx.attributes[packer_name]
    return [step]


_CONVERTERS: dict[str, Callable[[_Context], list[dict]]] = {
    "shell": _shell,
    "powershell": _powershell,
    "windows-restart": _restart,
    "file": _file,
    "windows-update": _windows_update,
}
