"""The Packer build plan: a small, render-ready model of one ``.pkr.hcl`` file.

Values are plain Python data; ``Expr`` marks a raw HCL expression (a variable reference). Strings in
provisioners and the source are Go-template escaped on render, because Packer renders them again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from aibpack.plan.capture import Capture
    from aibpack.plan.plugins import ModernOnly, Plugin

OsType = Literal["Linux", "Windows"]


@dataclass(frozen=True)
class Expr:
    """A raw HCL expression, written as is (``var.location``, ``build.Password``)."""

    text: str


@dataclass(frozen=True)
class Interpolation:
    """A string template of literal text and references (``"${path.root}/scripts/a.sh"``).

    The plan says what the parts are; render escapes the literal text, so no escaping happens in plan.
    """

    parts: tuple[str | Expr, ...]


Value = str | int | bool | Expr | Interpolation | list["Value"] | dict[str, "Value"]


@dataclass(frozen=True)
class Attribute:
    name: str
    value: Value


@dataclass(frozen=True)
class Block:
    """``type "label" { attributes; blocks }``."""

    type: str
    labels: tuple[str, ...] = ()
    attributes: tuple[Attribute, ...] = ()
    blocks: tuple[Block, ...] = ()
    comment: str = ""


@dataclass(frozen=True)
class Variable:
    name: str
    type: str
    default: Value
    description: str
    sensitive: bool = False


@dataclass(frozen=True)
class RawBlock:
    """A provisioner block kept verbatim from an existing Packer template (``--provisioners``)."""

    text: str
    comment: str = ""


@dataclass(frozen=True)
class RemoteFile:
    """A ``scriptUri``/``sourceUri`` that ``run`` fetches and verifies before the build."""

    uri: str
    sha256: str
    json_path: tuple[str | int, ...]


@dataclass(frozen=True)
class BuildPlan:
    name: str
    input_file: str
    os_type: OsType
    variables: tuple[Variable, ...]
    locals: tuple[Attribute, ...]
    source: Block
    provisioners: tuple[Block | RawBlock, ...]
    capture: Capture
    plugins: tuple[Plugin, ...]
    modern_only: tuple[ModernOnly, ...]
    packer_delivers: str  # what `packer build` of this file leaves behind
    run_delivers: tuple[str, ...]  # the distribution targets only `aibpack run` delivers
    remote_files: tuple[RemoteFile, ...] = field(default=())
    # secureString values → the sensitive variables that carry them; never written, never shown.
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def source_ref(self) -> str:
        return f"source.azure-arm.{self.name}"
