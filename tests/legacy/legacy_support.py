"""Helpers for the legacy-provisioner tests: the real ``packer hcl2_upgrade`` oracle and a validate harness."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import hcl2
import pytest

from aibpack.errors import Diagnostics
from aibpack.legacy import hcl_scan
from aibpack.legacy.preserve import PreservedProvisioners, load_provisioners
from aibpack.render import hcl

DATA = Path(__file__).parent / "data"
RESERVED = frozenset({"subscription_id", "location", "client_id", "client_secret", "tenant_id", "managed_image_name"})


@pytest.fixture
def data_copy(tmp_path: Path) -> Callable[[str], Path]:
    """A fresh copy of a data folder, so tests can place the output anywhere around it."""

    def copy(name: str) -> Path:
        target = tmp_path / "old" / name
        shutil.copytree(DATA / name, target)
        return target

    return copy


def load(path: Path, output_dir: Path, *, build: str | None = None, source: str = "source.null.img"):
    diagnostics = Diagnostics()
    result = load_provisioners(
        path,
        build=build,
        output_dir=output_dir,
        reserved_names=RESERVED,
        compiled_source=source,
        diagnostics=diagnostics,
    )
    return result, diagnostics.warnings


def wrap(result: PreservedProvisioners) -> str:
    """A whole file around the blocks, as the compiled output would hold them (null source)."""
    parts = []
    for variable in result.variables:
        lines = [f"variable {hcl.quote(variable.name)} {{"]
        if variable.type:
            lines.append(f"  type = {variable.type}")
        lines.append(f"  default = {hcl.indent(variable.default)[2:]}")
        if variable.sensitive:
            lines.append("  sensitive = true")
        lines.append("}")
        parts.append("\n".join(lines))
    if result.locals:
        body = "\n".join(f"  {local.name} = {hcl.indent(local.expression)[2:]}" for local in result.locals)
        parts.append("locals {\n" + body + "\n}")
    parts.append('source "null" "img" {\n  communicator = "none"\n}')
    blocks = "\n\n".join(hcl.indent(block) for block in result.blocks)
    parts.append('build {\n  sources = ["source.null.img"]\n\n' + blocks + "\n}")
    return hcl.align("\n\n".join(parts) + "\n")


def packer(packer_bin: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([packer_bin, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def hcl2_upgrade(packer_bin: str, template: Path, out: Path) -> str:
    result = packer(packer_bin, "hcl2_upgrade", "-output-file", str(out), str(template), cwd=template.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    return out.read_text()


def provisioner_bodies(text: str) -> list[tuple[str, dict]]:
    """``[(type, attributes)]`` of every provisioner block in ``text``, values as plain data."""
    parsed = hcl2.loads(text)
    found = parsed.get("provisioner", [])
    for build in parsed.get("build", []):
        found = found + build.get("provisioner", [])
    return [(kind.strip('"'), hcl_scan.literal(body)) for item in found for kind, body in item.items()]


_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def normalized(value: object) -> object:
    """Equal meaning, equal form: ``"5m0s"`` = ``"5m"``, ``"3"`` = ``3``; empty lists are Packer's default."""
    if isinstance(value, dict):
        return {k: normalized(v) for k, v in value.items() if v != []}
    if isinstance(value, list):
        return [normalized(v) for v in value]
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, str) and value and (match := _DURATION.match(value)):
        hours, minutes, seconds = (int(g or 0) for g in match.groups())
        return f"{hours * 3600 + minutes * 60 + seconds}s"
    return value
