"""The Packer plugins a build needs, and why Packer 1.6.6 cannot run it when it cannot.

Packer 1.6.6 has the azure-arm builder built in and no ``packer init`` (reference: packer-1.6-offline.md).
Since Packer 1.7, ``packer init`` installs the ``required_plugins`` a folder declares, and since 1.10 the azure
plugin is no longer bundled (hashicorp/packer CHANGELOG 1.10.0), so a modern Packer builds a compiled folder with
``packer init DIR && packer build DIR``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aibpack.plan.build import Block, RawBlock
from aibpack.plan.capture import SECURITY_NAMES, Capture

PLUGINS_FILE = "packer-plugins.pkr.hcl"  # beside the compiled file; `packer init DIR` reads every *.pkr.hcl
# The first Packer with `packer init` and `required_plugins` (hashicorp/packer CHANGELOG.md, 1.7.0: "New Command
# (HCL only) `packer init` command will download plugins defined in a new `required_plugins` block").
MODERN_PACKER = (1, 7, 0)
_MODERN = ".".join(map(str, MODERN_PACKER))


@dataclass(frozen=True)
class Plugin:
    """One ``required_plugins`` entry."""

    name: str
    source: str
    version: str


# The first release that knows every attribute aibpack writes (hashicorp/packer-plugin-azure CHANGELOG.md and, at
# those tags, builder/azure/arm/config.go and builder/azure/common/client/config.go): target_region blocks came in
# v2.0.3, security_type (Trusted Launch, Confidential VM) in v2.0.5, and oidc_request_url/oidc_request_token
# (GitHub Actions OIDC sign-in, which `aibpack run` sets for --auth env in GitHub Actions) in v2.1.5.
AZURE = Plugin("azure", "github.com/hashicorp/azure", ">= 2.1.5")
# rgl/packer-plugin-windows-update README.md: `source = "github.com/rgl/windows-update"`; v0.16.0 is the first
# release tested with Packer 1.11, which loads plugins only from the plugin directory.
WINDOWS_UPDATE = Plugin("windows-update", "github.com/rgl/windows-update", ">= 0.16.0")


_WINDOWS_UPDATE_BLOCK = re.compile(r'\s*provisioner\s+"windows-update"')


@dataclass(frozen=True)
class ModernOnly:
    """Something in the build that Packer 1.6.6 cannot run, and what it needs instead.

    ``path`` is the template's JSON path when the template itself asks for it (a WindowsUpdate step).
    """

    what: str
    needs: str
    path: tuple[str | int, ...] = ()

    def __str__(self) -> str:
        return f"{self.what} needs {self.needs}"


def required_plugins(provisioners: tuple[Block | RawBlock, ...]) -> tuple[Plugin, ...]:
    """The azure plugin always; rgl's windows-update plugin when a provisioner is one of its (a customize step,
    or a block kept from an existing Packer template)."""
    windows_update = any(
        p.labels[:1] == ("windows-update",) if isinstance(p, Block) else _WINDOWS_UPDATE_BLOCK.match(p.text)
        for p in provisioners
    )
    return (AZURE, WINDOWS_UPDATE) if windows_update else (AZURE,)


def modern_only(capture: Capture, windows_update_paths: list[tuple[str | int, ...]]) -> tuple[ModernOnly, ...]:
    """Why this build needs Packer >= 1.7 and which plugin, one entry per reason (none: 1.6.6 runs it)."""
    needs = []
    azure = f"Packer >= {_MODERN} with the azure plugin ({AZURE.source} {AZURE.version}, from packer init)"
    if capture.security_type is not None:
        name = SECURITY_NAMES[capture.security_type]
        what = f"a {name} as build VM (security_type {capture.security_type}, secure_boot_enabled, vtpm_enabled)"
        needs.append(ModernOnly(what, azure))
    elif capture.gallery_target is not None:
        needs.append(ModernOnly("publishing straight to a gallery (no managed image)", azure))
    if windows_update_paths:
        needs.append(
            ModernOnly(
                "the WindowsUpdate step",
                f"Packer >= {_MODERN} with rgl's windows-update plugin ({WINDOWS_UPDATE.source} "
                f"{WINDOWS_UPDATE.version}, from packer init)",
                windows_update_paths[0],
            )
        )
    return tuple(needs)
