"""Fixtures for the aibpack.azure tests: the fake Resource Manager and an AzureContext pointed at it.

``fakearm`` imports because tests/conftest.py puts ``tests/`` on sys.path. This directory has no
``__init__.py`` on purpose: with ``tests/`` on sys.path, a package named ``azure`` would shadow the SDK.
"""

from __future__ import annotations

import pytest
from fakearm import FakeArm
from fakearm.fixtures import (
    StubCredential,
    fake_arm,
    fake_arm_env,
    fake_az,
    fakearm_certs,
    stub_credential,
)

from aibpack.azure.clients import AzureContext

__all__ = ["fake_arm", "fake_arm_env", "fake_az", "fakearm_certs", "stub_credential"]


@pytest.fixture
def ctx(fake_arm: FakeArm, fake_arm_env: dict[str, str], stub_credential: StubCredential) -> AzureContext:
    """What ``aibpack run`` builds from the environment, with a stub credential."""
    return AzureContext.from_env(stub_credential, fake_arm.subscription_id)
