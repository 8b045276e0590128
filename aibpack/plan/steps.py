"""Customize and validate steps → Packer provisioners, one step one block, in template order.

Inline lines are kept byte-exact. A remote ``scriptUri``/``sourceUri`` is fetched inside the VM with
retries and checked against ``sha256Checksum``; a local path (or ``file://`` URI, relative to the
template) is uploaded by Packer itself, after its checksum is verified here.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from aibpack.errors import AibpackError, JsonPath, format_path
from aibpack.model.customize import FileStep, PowerShellStep, ShellStep, WindowsRestartStep, WindowsUpdateStep
from aibpack.plan.build import Attribute, Block, Expr, Interpolation, OsType, RemoteFile

DEFAULT_RESTART_COMMAND = 'shutdown /r /f /t 0 /c "packer restart"'
DEFAULT_RESTART_TIMEOUT = "5m"
DEFAULT_UPDATE_SEARCH = "BrowseOnly=0 and IsInstalled=0"
DOWNLOAD_RETRIES = 10


@dataclass(frozen=True)
class StepContext:
    """What turning a step into a provisioner needs besides the step."""

    os: OsType
    template_dir: Path
    output_dir: Path
    staged: Mapping[str, Path]
    secret_values: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Planned:
    block: Block
    remote: RemoteFile | None = None


def plan_step(step: object, path: JsonPath, ctx: StepContext) -> Planned:
    """The provisioner for one customize/validate step."""
    if isinstance(step, ShellStep):
        return _shell(step, path, ctx)
    if isinstance(step, PowerShellStep):
        return _powershell(step, path, ctx)
    if isinstance(step, FileStep):
        return _file(step, path, ctx)
    if isinstance(step, WindowsRestartStep):
        return Planned(_restart(step, path))
    assert isinstance(step, WindowsUpdateStep)
    return Planned(_update(step, path))


def _name(step: object, path: JsonPath) -> str:
    """The provisioner's name in Packer's output: the step's ``name``, else its JSON path."""
    return getattr(step, "name", "") or format_path(path)


def _shell(step: ShellStep, path: JsonPath, ctx: StepContext) -> Planned:
    if ctx.os == "Windows":
        raise AibpackError(
            "Shell steps run on Linux, but this build is Windows (PowerShell, WindowsRestart or WindowsUpdate "
            "steps, or a Windows source); use PowerShell",
            path=(*path, "type"),
        )
    name = _name(step, path)
    if step.inline is not None:
        return Planned(
            Block("provisioner", ("shell",), (Attribute("name", name), shell_inline(step.inline, path, ctx)))
        )
    local = _local_file(step.script_uri or "", step.sha256_checksum, (*path, "scriptUri"), ctx)
    if local is not None:
        return Planned(Block("provisioner", ("shell",), (Attribute("name", name), Attribute("script", local))))
    target = f"/tmp/aibpack-{_slug(path)}.sh"
    lines = [*_curl(step.script_uri or "", target, step.sha256_checksum), f"chmod +x {target}", target]
    remote = RemoteFile(step.script_uri or "", step.sha256_checksum.lower(), (*path, "scriptUri"))
    return Planned(Block("provisioner", ("shell",), (Attribute("name", name), shell_inline(lines, path, ctx))), remote)


def _powershell(step: PowerShellStep, path: JsonPath, ctx: StepContext) -> Planned:
    name = _name(step, path)
    attrs = [Attribute("name", name)]
    remote = None
    if step.inline is not None:
        attrs.append(Attribute("inline", step.inline))
    else:
        local = _local_file(step.script_uri or "", step.sha256_checksum, (*path, "scriptUri"), ctx)
        if local is not None:
            attrs.append(Attribute("script", local))
        else:
            target = f"$env:TEMP\\aibpack-{_slug(path)}.ps1"
            # Then the script runs as AIB runs a scriptUri: AIB's PowerShell customizer "corresponds to Packer
            # powershell provisioner" (ImageTemplatePowerShellCustomizer, AIB REST spec), whose script command is
            # `&'PATH'; exit $LastExitCode` (packer provisioner/powershell/provisioner.go, defaultScriptCommand),
            # in a session where only $ProgressPreference was changed.
            lines = [
                *_invoke_web_request(step.script_uri or "", target, step.sha256_checksum),
                f'& "{target}"',
                "exit $LASTEXITCODE",
            ]
            attrs.append(Attribute("inline", lines))
            remote = RemoteFile(step.script_uri or "", step.sha256_checksum.lower(), (*path, "scriptUri"))
    if step.run_as_system:
        attrs += [Attribute("elevated_user", "SYSTEM"), Attribute("elevated_password", "")]
    elif step.run_elevated:
        attrs += [
            Attribute("elevated_user", Expr("build.User")),
            Attribute("elevated_password", Expr("build.Password")),
        ]
    if step.valid_exit_codes:
        attrs.append(Attribute("valid_exit_codes", list(step.valid_exit_codes)))
    return Planned(Block("provisioner", ("powershell",), tuple(attrs)), remote)


def _file(step: FileStep, path: JsonPath, ctx: StepContext) -> Planned:
    name = _name(step, path)
    local = _local_file(step.source_uri, step.sha256_checksum, (*path, "sourceUri"), ctx)
    if local is not None:
        attrs = (
            Attribute("name", name),
            Attribute("source", local),
            Attribute("destination", step.destination),
        )
        return Planned(Block("provisioner", ("file",), attrs))
    remote = RemoteFile(step.source_uri, step.sha256_checksum.lower(), (*path, "sourceUri"))
    if ctx.os == "Windows":
        lines = _invoke_web_request(step.source_uri, step.destination, step.sha256_checksum)
        return Planned(
            Block("provisioner", ("powershell",), (Attribute("name", name), Attribute("inline", lines))),
            remote,
        )
    lines = _curl(step.source_uri, step.destination, step.sha256_checksum)
    return Planned(Block("provisioner", ("shell",), (Attribute("name", name), shell_inline(lines, path, ctx))), remote)


def _restart(step: WindowsRestartStep, path: JsonPath) -> Block:
    name = _name(step, path)
    attrs = [
        Attribute("name", name),
        Attribute("restart_command", step.restart_command or DEFAULT_RESTART_COMMAND),
    ]
    if step.restart_check_command:
        attrs.append(Attribute("restart_check_command", step.restart_check_command))
    attrs.append(Attribute("restart_timeout", step.restart_timeout or DEFAULT_RESTART_TIMEOUT))
    return Block("provisioner", ("windows-restart",), tuple(attrs))


def _update(step: WindowsUpdateStep, path: JsonPath) -> Block:
    name = _name(step, path)
    attrs = (
        Attribute("name", name),
        Attribute("search_criteria", step.search_criteria or DEFAULT_UPDATE_SEARCH),
        Attribute("filters", list(step.filters) or ["include:$true"]),
        Attribute("update_limit", step.update_limit or 1000),
    )
    return Block("provisioner", ("windows-update",), attrs)


def shell_inline(lines: list[str], path: JsonPath, ctx: StepContext) -> Attribute:
    """The ``inline`` of a shell provisioner that runs exactly ``lines``.

    Packer's shell provisioner renders inline lines as Go templates more than once, so no escaping can carry
    a literal ``{{`` through it. Lines holding one are shipped base64-encoded and decoded in the VM into
    the same script Packer would have written, run with the same ``/bin/sh -e``.
    """
    if not any("{{" in line for line in lines):
        return Attribute("inline", lines)
    if any(secret in line for line in lines for secret in ctx.secret_values):
        raise AibpackError(
            "a step with a '{{' line cannot also carry a secureString parameter's value (aibpack ships such "
            "steps base64-encoded, which would write the secret); pass the secret to the script another way",
            path=path,
        )
    script = "".join(line + "\n" for line in lines).encode("utf-8")
    target = f"/tmp/aibpack-{_slug(path)}-inline.sh"
    encoded = base64.b64encode(script).decode("ascii")
    return Attribute("inline", [f"echo {encoded} | base64 -d > {target}", f"/bin/sh -e {target}"])


def _slug(path: JsonPath) -> str:
    return "-".join(str(p) for p in path[1:]).replace("inVMValidations", "validate")


def _is_remote(uri: str) -> bool:
    return urlparse(uri).scheme.lower() in ("http", "https")


def _local_file(uri: str, checksum: str, path: JsonPath, ctx: StepContext) -> Interpolation | None:
    """The HCL path of a local script/file (verified), or None when ``uri`` is remote and not staged."""
    staged = ctx.staged.get(uri)
    if staged is None and _is_remote(uri):
        return None
    if staged is not None:
        file = staged
    else:
        parsed = urlparse(uri)
        if parsed.scheme and parsed.scheme.lower() != "file" and len(parsed.scheme) > 1:
            raise AibpackError(f"unsupported URI scheme '{parsed.scheme}': use https://, file:// or a path", path=path)
        raw = unquote(parsed.path) if parsed.scheme.lower() == "file" else uri
        file = ctx.template_dir / raw
        if not file.is_file():
            raise AibpackError(f"local file '{file}' not found (local paths are relative to the template)", path=path)
        if checksum:
            digest = hashlib.sha256(file.read_bytes()).hexdigest()
            if digest != checksum.lower():
                raise AibpackError(f"sha256 of '{file}' is {digest}, not {checksum}", path=path)
    relative = Path(os.path.relpath(file.resolve(), ctx.output_dir.resolve())).as_posix()
    return Interpolation((Expr("path.root"), "/" + relative))


def _curl(uri: str, target: str, checksum: str) -> list[str]:
    """POSIX sh lines that download ``uri`` to ``target`` with retries and check its sha256."""
    src, dst = shlex.quote(uri), shlex.quote(target)
    lines = [
        "if command -v curl >/dev/null 2>&1; then "
        f"curl --fail --silent --show-error --location --retry {DOWNLOAD_RETRIES} --retry-delay 5 "
        f"--retry-connrefused --output {dst} {src}; "
        f"else wget --quiet --tries={DOWNLOAD_RETRIES} --waitretry=5 --output-document={dst} {src}; fi",
    ]
    if checksum:
        lines.append(f"echo {shlex.quote(checksum.lower() + '  ' + target)} | sha256sum --check --strict -")
    return lines


def _ps_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _invoke_web_request(uri: str, target: str, checksum: str) -> list[str]:
    """PowerShell lines that download ``uri`` to ``target`` with retries and check its sha256.

    They run in a script block of their own (``& { ... }``), a child scope: the ``$ErrorActionPreference =
    'Stop'`` they need ends with it (about_Scopes: "the call operator runs a script block in a child scope"),
    so a script run after them gets PowerShell's default, 'Continue', as it would under AIB.
    """
    dst = f'"{target}"' if target.startswith("$env:") else _ps_quote(target)
    lines = [
        "& {",
        "  $ErrorActionPreference = 'Stop'",
        "  $ProgressPreference = 'SilentlyContinue'",
        f"  for ($attempt = 1; ; $attempt++) {{ try {{ Invoke-WebRequest -UseBasicParsing -Uri {_ps_quote(uri)} "
        f"-OutFile {dst}; break }} catch {{ if ($attempt -ge {DOWNLOAD_RETRIES}) {{ throw }}; "
        "Start-Sleep -Seconds 5 } }",
    ]
    if checksum:
        lines.append(
            f"  if ((Get-FileHash -Algorithm SHA256 -LiteralPath {dst}).Hash -ne {_ps_quote(checksum.upper())}) "
            f"{{ throw {_ps_quote('sha256 mismatch for ' + uri)} }}"
        )
    return [*lines, "}"]


def plan_steps(steps: Sequence[object], base: JsonPath, ctx: StepContext) -> tuple[list[Block], list[RemoteFile]]:
    blocks: list[Block] = []
    remotes: list[RemoteFile] = []
    for index, step in enumerate(steps):
        planned = plan_step(step, (*base, index), ctx)
        blocks.append(planned.block)
        if planned.remote is not None:
            remotes.append(planned.remote)
    return blocks, remotes
