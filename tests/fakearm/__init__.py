"""A fake Azure Resource Manager for tests: HTTPS on 127.0.0.1, in-memory state, real LRO polling."""

from .builtin_roles import ROLE_DEFINITIONS
from .ca import CertBundle, make_ca
from .server import SUBSCRIPTION, FakeArm, Fault, OperationFailure, Request

__all__ = [
    "ROLE_DEFINITIONS",
    "SUBSCRIPTION",
    "CertBundle",
    "FakeArm",
    "Fault",
    "OperationFailure",
    "Request",
    "make_ca",
]
