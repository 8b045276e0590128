"""Long-running operations as ARM polls them, and the faults a test injects (mixed into ``FakeArm``).

An operation is done after ``lro_polls`` polls and ``lro_delay`` seconds (``rules.job_fraction``). Resources are
polled at ``Azure-AsyncOperation`` (Compute's operation status, ``{"status": "InProgress"|"Succeeded"|"Failed"}``),
resource-group deletes and disk access at ``Location`` (202 until done, then the result). A test can answer requests
with an error instead (``inject``: 429 with Retry-After, 5xx) or make operations end ``Failed`` (``fail_operation``,
``fail_replication``).
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import rules
from .replies import Response, error, now

_DEFAULT_CODES = {400: "BadRequest", 404: "NotFound", 409: "Conflict", 429: "TooManyRequests"}


@dataclass(kw_only=True)
class Trigger:
    """Which requests a fault or failure applies to: ``method`` (None: any) and a path, ``remaining`` more times
    (None: always); ``hits`` counts the requests it applied to."""

    method: str | None
    path_regex: re.Pattern[str]
    remaining: int | None = 1
    hits: int = 0

    def fire(self, method: str, path: str) -> bool:
        """True, counting the request, when it matches and times are left."""
        if self.remaining == 0 or (self.method and self.method != method) or not self.path_regex.search(path):
            return False
        self.hits += 1
        if self.remaining is not None:
            self.remaining -= 1
        return True


def _trigger(method: str | None, path_regex: str, times: int | None) -> dict[str, Any]:
    """The ``Trigger`` fields from a test control's arguments."""
    return {
        "method": method.upper() if method else None,
        "path_regex": re.compile(path_regex, re.IGNORECASE),
        "remaining": times,
    }


@dataclass
class Fault(Trigger):
    """An injected error answered instead of the real response."""

    status: int
    code: str
    message: str
    retry_after_ms: int | None = None
    retry_after: int | None = None


@dataclass
class OperationFailure(Trigger):
    """Makes long-running operations started by matching requests end ``Failed`` with this error."""

    code: str
    message: str
    region: str | None = None


@dataclass
class Operation:
    """A long-running operation: done after ``total`` polls and ``delay`` seconds (see ``rules.job_fraction``)."""

    id: str
    total: int
    delay: float
    finish: Callable[[bool], None]
    done: int = 0
    started: float = field(default_factory=time.monotonic)
    error: dict[str, str] | None = None
    failed_region: str | None = None
    status: str = "InProgress"
    result: Any = None
    start_time: str = field(default_factory=now)

    @property
    def job(self) -> dict[str, Any]:
        return {"total": self.total, "done": self.done, "started": self.started, "delay": self.delay}


class Operations:
    """Starting, advancing and answering polls of operations; the faults tests inject."""

    # FakeArm (server.py) provides these.
    _lock: threading.RLock
    _operations: dict[str, Operation]
    _faults: list[Fault]
    _failures: list[OperationFailure]
    lro_polls: int
    lro_delay: float
    lro_retry_after: int | None
    operations_started: int

    # ---- test controls -----------------------------------------------------------------------------------

    def inject(
        self,
        method: str | None = None,
        path_regex: str = ".*",
        status: int = 500,
        *,
        times: int | None = 1,
        retry_after_ms: int | None = None,
        retry_after: int | None = None,
        code: str | None = None,
        message: str = "injected by fakearm",
    ) -> Fault:
        """Answer the next ``times`` requests matching ``method`` and ``path_regex`` with ``status``."""
        fault = Fault(
            status=status,
            code=code or _DEFAULT_CODES.get(status, "InternalServerError"),
            message=message,
            retry_after_ms=retry_after_ms,
            retry_after=retry_after,
            **_trigger(method, path_regex, times),
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def fail_operation(
        self,
        path_regex: str,
        code: str = "InternalOperationError",
        message: str = "operation failed (injected by fakearm)",
        *,
        method: str | None = None,
        times: int | None = 1,
    ) -> OperationFailure:
        """Make the next ``times`` long-running operations on matching paths end ``Failed``."""
        failure = OperationFailure(code=code, message=message, **_trigger(method, path_regex, times))
        with self._lock:
            self._failures.append(failure)
        return failure

    def fail_replication(
        self, path_regex: str, region: str, detail: str = "Failed with internal server error."
    ) -> None:
        """Make the next gallery image version PUT on a matching path end Failed, replication to ``region`` failing.

        The message is the one Azure gave for a failed regional replication (Azure/azure-cli#15539); the code is not
        in that report, so the fake's generic one is used.
        """
        message = (
            "Gallery replication jobs failed in one or more regions. The failing regions' details are as follows: "
            f"'{{region:{region}, detail:{detail}}}'. If retry does not work, then please do an update by removing "
            "the failed regions and update again by adding them back."
        )
        self.fail_operation(path_regex, message=message, method="PUT").region = region

    def _fault(self, method: str, path: str) -> Response | None:
        """The injected error this request gets, if any."""
        fault = next((f for f in self._faults if f.fire(method, path)), None)
        if fault is None:
            return None
        headers = {}
        if fault.retry_after_ms is not None:
            headers["x-ms-retry-after-ms"] = str(fault.retry_after_ms)
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        return Response(fault.status, {"error": {"code": fault.code, "message": fault.message}}, headers)

    # ---- operations --------------------------------------------------------------------------------------

    def _start_operation(self, method: str, path: str, finish: Callable[[bool], None]) -> Operation:
        op = Operation(id=str(uuid.uuid4()), total=self.lro_polls, delay=self.lro_delay, finish=finish)
        failure = next((f for f in self._failures if f.fire(method, path)), None)
        if failure is not None:
            op.error = {"code": failure.code, "message": failure.message}
            op.failed_region = failure.region
        self._operations[op.id] = op
        self.operations_started += 1
        return op

    def _advance(self, op: Operation) -> None:
        if op.status != "InProgress":
            return
        if op.done < op.total or rules.job_fraction(op.job) < 1.0:
            op.done = min(op.total, op.done + 1)
            return
        op.status = "Failed" if op.error else "Succeeded"
        op.finish(op.error is None)

    def _lro_headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.lro_retry_after)} if self.lro_retry_after is not None else {}

    def _async_headers(self, host: str, sub: str, location: str, op: Operation) -> dict[str, str]:
        url = (
            f"https://{host}/subscriptions/{sub}/providers/Microsoft.Compute/locations/{location or 'global'}"
            f"/operations/{op.id}?api-version=2024-03-01"
        )
        return {"Azure-AsyncOperation": url, **self._lro_headers()}

    def _accepted(self, host: str, sub: str, op: Operation) -> Response:
        """202 Accepted with the ``Location`` to poll until ``op`` is done."""
        location = f"https://{host}/subscriptions/{sub}/operationresults/{op.id}?api-version=2025-04-01"
        return Response(202, None, {"Location": location, **self._lro_headers()})

    def _poll_async(self, op_id: str) -> Response:
        op = self._operations.get(op_id)
        if not op:
            return error(404, "OperationNotFound", f"operation {op_id} not found")
        self._advance(op)
        body: dict[str, Any] = {"name": op.id, "status": op.status, "startTime": op.start_time}
        if op.status != "InProgress":
            body["endTime"] = now()
        if op.status == "Failed":
            body["error"] = op.error
        return Response(200, body, self._lro_headers() if op.status == "InProgress" else {})

    def _poll_location(self, op_id: str, host: str, path: str) -> Response:
        op = self._operations.get(op_id)
        if not op:
            return error(404, "OperationNotFound", f"operation {op_id} not found")
        self._advance(op)
        if op.status == "InProgress":
            return Response(
                202, None, {"Location": f"https://{host}{path}?api-version=2025-04-01", **self._lro_headers()}
            )
        if op.status == "Failed":
            assert op.error
            return error(409, op.error["code"], op.error["message"])
        return Response(200, op.result)
