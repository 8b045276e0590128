"""What distribution starts from (the build's image and OS disk snapshot) and reports per target: AIB's
runOutputs, with Azure's error when a target failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aibpack.model.distribute import norm_region

from .clients import AzureFailure, azure_error

__all__ = ["Built", "RegionStatus", "RunOutput", "TargetFailed", "norm_region"]


@dataclass(frozen=True)
class Built:
    """The build's managed image, what it is, and the snapshot of its OS disk when Packer left one."""

    image_id: str
    location: str
    os_type: str = "Linux"
    hyper_v_generation: str | None = None
    os_snapshot_id: str | None = None


@dataclass
class RegionStatus:
    name: str
    replication_state: str
    details: str = ""
    progress: int = 0  # shown while waiting; not in the run outputs

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "replicationState": self.replication_state, "details": self.details}


@dataclass
class RunOutput:
    """One target's result, in AIB's runOutputs shape (see ``to_dict``); ``error`` is Azure's, where Azure said."""

    run_output_name: str
    type: str
    artifact_id: str | None = None
    artifact_uri: str | None = None
    provisioning_state: str = "Failed"
    regions: list[RegionStatus] = field(default_factory=list)
    error: AzureFailure | None = None

    @property
    def succeeded(self) -> bool:
        return self.provisioning_state == "Succeeded"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "runOutputName": self.run_output_name,
            "type": self.type,
            "artifactId": self.artifact_id,
            "artifactUri": self.artifact_uri,
            "provisioningState": self.provisioning_state,
            "regions": [r.to_dict() for r in self.regions],
        }
        if self.error:
            out["error"] = self.error.to_dict()
        return out


class TargetFailed(Exception):
    """A target failed; carries what is known so far (artifact ID, regions) and Azure's error if Azure said."""

    def __init__(self, message: str, output: RunOutput | None = None, failure: AzureFailure | None = None) -> None:
        super().__init__(message)
        self.output = output
        self.failure = failure or AzureFailure("DistributionFailed", message)

    @classmethod
    def from_azure(cls, exc: BaseException, output: RunOutput | None = None) -> TargetFailed:
        failure = azure_error(exc)
        return cls(failure.text, output, failure)
