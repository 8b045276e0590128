"""``properties.customize`` and ``properties.validate.inVMValidations`` steps."""

from __future__ import annotations

from dataclasses import field
from typing import Annotated, Literal

from aibpack.model.base import AibModel, constraint


class _Step(AibModel):
    name: str = ""


class _Script(_Step):
    script_uri: str | None = None
    inline: list[str] | None = None
    sha256_checksum: str = ""


class ShellStep(_Script):
    type: Literal["Shell"]


class PowerShellStep(_Script):
    type: Literal["PowerShell"]
    run_elevated: bool = False
    run_as_system: bool = False
    valid_exit_codes: list[int] | None = None


class FileStep(_Step):
    type: Literal["File"]
    source_uri: str = ""
    destination: str = ""
    sha256_checksum: str = ""


class WindowsRestartStep(_Step):
    type: Literal["WindowsRestart"]
    restart_command: str = ""
    restart_check_command: str = ""
    restart_timeout: str = ""


class WindowsUpdateStep(_Step):
    type: Literal["WindowsUpdate"]
    search_criteria: str = ""
    filters: list[str] = field(default_factory=list)
    update_limit: Annotated[int, constraint(ge=0)] = 0


# Tagged by ``type`` where they are used: ``Annotated[Customizer, tagged_by("type")]``.
Customizer = ShellStep | PowerShellStep | FileStep | WindowsRestartStep | WindowsUpdateStep
Validator = ShellStep | PowerShellStep | FileStep
