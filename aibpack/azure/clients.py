"""Where Azure is (cloud, endpoint, credential scope), who we are (credential, subscription), and the clients.

Nothing here imports the Azure SDK at module import time: ``aibpack compile`` must never load it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from aibpack import __version__
from aibpack.errors import EXIT_USAGE, AibpackError

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.mgmt.authorization import AuthorizationManagementClient
    from azure.mgmt.compute import ComputeManagementClient
    from azure.mgmt.resource.resources import ResourceManagementClient

# Resource Manager per cloud (`az cloud show`, endpoints.resourceManager): azure-docs china/resources-developer-guide.md
# and azure-government/compare-azure-government-global-azure.md ("Guidance for developers").
CLOUDS = {
    "AzureCloud": "https://management.azure.com",
    "AzureChinaCloud": "https://management.chinacloudapi.cn",
    "AzureUSGovernment": "https://management.usgovcloudapi.net",
}
# How often a wait asks Azure how far it is (replication status, copy percentage), for the progress display.
PROGRESS_EVERY = 30.0
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_SUBSCRIPTION_IN_ID = re.compile(r"^/subscriptions/([^/]+)(?:/|$)", re.IGNORECASE)


class Endpoint(NamedTuple):
    """The Resource Manager URL and the token scope that goes with it."""

    url: str
    scope: str


def cloud_name(environ: Mapping[str, str]) -> str:
    cloud = environ.get("AIBPACK_CLOUD") or "AzureCloud"
    if cloud not in CLOUDS:
        raise AibpackError(
            f"AIBPACK_CLOUD={cloud} is not a known cloud (use one of {', '.join(CLOUDS)}, "
            "or set AIBPACK_ARM_ENDPOINT for another cloud)"
        )
    return cloud


def arm_endpoint(environ: Mapping[str, str] | None = None) -> Endpoint:
    """``AIBPACK_ARM_ENDPOINT`` if set, else the endpoint of ``AIBPACK_CLOUD`` (default AzureCloud)."""
    environ = os.environ if environ is None else environ
    url = (environ.get("AIBPACK_ARM_ENDPOINT") or "").strip().rstrip("/")
    if url:
        if not url.lower().startswith("https://"):
            raise AibpackError(f"AIBPACK_ARM_ENDPOINT={url} must be an https:// URL (bearer tokens need TLS)")
    else:
        url = CLOUDS[cloud_name(environ)]
    return Endpoint(url, f"{url}/.default")


def _float_env(environ: Mapping[str, str], name: str) -> float | None:
    text = environ.get(name)
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise AibpackError(f"{name}={text} is not a number") from None


@dataclass
class AzureContext:
    """Everything needed to talk to one subscription; the clients are made on first use."""

    credential: TokenCredential
    subscription_id: str
    endpoint: str = CLOUDS["AzureCloud"]
    scope: str = f"{CLOUDS['AzureCloud']}/.default"
    connection_verify: str | bool = True
    polling_interval: float | None = None
    retry_backoff_factor: float | None = None
    retry_total: int = 10
    progress_every: float = PROGRESS_EVERY
    extra_kwargs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(
        cls, credential: TokenCredential, subscription_id: str, environ: Mapping[str, str] | None = None
    ) -> AzureContext:
        """Endpoint, TLS trust and (for tests) polling and retry back-off from the environment."""
        environ = os.environ if environ is None else environ
        endpoint = arm_endpoint(environ)
        polling = _float_env(environ, "AIBPACK_POLLING_INTERVAL")
        return cls(
            credential=credential,
            subscription_id=subscription_id,
            endpoint=endpoint.url,
            scope=endpoint.scope,
            connection_verify=environ.get("REQUESTS_CA_BUNDLE") or True,
            polling_interval=polling,
            progress_every=polling if polling is not None else PROGRESS_EVERY,
            retry_backoff_factor=_float_env(environ, "AIBPACK_RETRY_BACKOFF"),
        )

    def for_subscription(self, subscription_id: str) -> AzureContext:
        """The same identity and settings in another subscription (e.g. a gallery elsewhere)."""
        if subscription_id.lower() == self.subscription_id.lower():
            return self
        return replace(self, subscription_id=subscription_id)

    @property
    def client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "base_url": self.endpoint,
            "credential_scopes": [self.scope],
            "connection_verify": self.connection_verify,
            "retry_total": self.retry_total,
            "user_agent": f"aibpack/{__version__}",
            **self.extra_kwargs,
        }
        if self.polling_interval is not None:
            kwargs["polling_interval"] = self.polling_interval
        if self.retry_backoff_factor is not None:
            kwargs["retry_backoff_factor"] = self.retry_backoff_factor
        return kwargs

    @cached_property
    def resources(self) -> ResourceManagementClient:
        from azure.mgmt.resource.resources import ResourceManagementClient

        return ResourceManagementClient(self.credential, self.subscription_id, **self.client_kwargs)

    @cached_property
    def compute(self) -> ComputeManagementClient:
        from azure.mgmt.compute import ComputeManagementClient

        return ComputeManagementClient(self.credential, self.subscription_id, **self.client_kwargs)

    @cached_property
    def authorization(self) -> AuthorizationManagementClient:
        from azure.mgmt.authorization import AuthorizationManagementClient

        return AuthorizationManagementClient(self.credential, self.subscription_id, **self.client_kwargs)


def one_line(text: str, limit: int = 500) -> str:
    """Collapse a multi-line SDK message to one line, as errors must be."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass(frozen=True)
class AzureFailure:
    """Azure's error code and message (an ARM error body's ``error``), or the exception's type and text."""

    code: str
    message: str

    @property
    def text(self) -> str:
        return f"{self.code}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def azure_error(exc: BaseException) -> AzureFailure:
    """What Azure said went wrong: the ARM error's code and message, one line each."""
    error = getattr(exc, "error", None)
    code, message = getattr(error, "code", None), getattr(error, "message", None)
    if code and message:
        return AzureFailure(one_line(code), one_line(message))
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    storage_code = getattr(exc, "error_code", None)
    if storage_code:  # azure-storage puts the service's code here, and its message on the first line
        return AzureFailure(str(storage_code), one_line(text.splitlines()[0]))
    return AzureFailure(type(exc).__name__, one_line(text))


def describe_error(exc: BaseException) -> str:
    """``Code: message`` for an ARM error, else the exception's text, on one line."""
    failure = azure_error(exc)
    return failure.text if getattr(getattr(exc, "error", None), "code", None) else failure.message


def enum_text(value: object) -> str:
    """An SDK enum's value ("Completed"), not its Python name: f"{x}" gives "ReplicationState.COMPLETED"."""
    return str(getattr(value, "value", value) or "")


def poll_with(poller: Any, every: float, report: Callable[[], None]) -> Any:
    """Wait for a long-running operation, calling ``report`` every ``every`` seconds while it runs."""
    while not poller.done():
        poller.wait(every)
        if not poller.done():
            report()
    return poller.result()


def resolve_subscription(
    explicit: str | None, candidate_ids: Iterable[str] = (), environ: Mapping[str, str] | None = None
) -> str:
    """``--subscription``, else the first subscription in the template's IDs, else AZURE_SUBSCRIPTION_ID."""
    environ = os.environ if environ is None else environ
    if explicit:
        if not _GUID.match(explicit.strip()):
            raise AibpackError(f"--subscription {explicit}: expected a subscription ID (a GUID)", exit_code=EXIT_USAGE)
        return explicit.strip()
    for resource_id in candidate_ids:
        match = _SUBSCRIPTION_IN_ID.match((resource_id or "").strip())
        if match and _GUID.match(match.group(1)):
            return match.group(1)
    from_env = (environ.get("AZURE_SUBSCRIPTION_ID") or "").strip()
    if from_env:
        if not _GUID.match(from_env):
            raise AibpackError(f"AZURE_SUBSCRIPTION_ID={from_env}: expected a subscription ID (a GUID)")
        return from_env
    raise AibpackError(
        "no subscription: pass --subscription, use full resource IDs in the template, or set AZURE_SUBSCRIPTION_ID"
    )
