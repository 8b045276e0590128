"""``properties.customize`` and ``properties.validate.inVMValidations`` steps."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from aibpack.model.base import AibModel


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
    filters: list[str] = Field(default_factory=list)
    update_limit: int = Field(default=0, ge=0)


Customizer = Annotated[
    ShellStep | PowerShellStep | FileStep | WindowsRestartStep | WindowsUpdateStep,
    Field(discriminator="type"),
]
Validator = Annotated[ShellStep | PowerShellStep | FileStep, Field(discriminator="type")]
