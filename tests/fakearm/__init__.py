"""A fake Azure Resource Manager for tests: HTTPS on 127.0.0.1, in-memory state, real LRO polling."""

from .builtin_roles import ROLE_DEFINITIONS
from .ca import CertBundle, make_ca
from .operations import Fault, OperationFailure
from .routing import Request
from .server import SUBSCRIPTION, FakeArm

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
