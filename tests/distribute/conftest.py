"""Fixtures for the distribution tests: the fake ARM, a context on it, templates and seeded sources."""

from __future__ import annotations

import pytest
from fakearm import FakeArm
from fakearm.fixtures import StubCredential, fake_arm, fake_arm_env, fake_az, fakearm_certs, stub_credential

from aibpack.azure.clients import AzureContext

__all__ = ["fake_arm", "fake_arm_env", "fake_az", "fakearm_certs", "stub_credential"]


@pytest.fixture
def ctx(fake_arm: FakeArm, fake_arm_env: dict[str, str], stub_credential: StubCredential) -> AzureContext:
    return AzureContext.from_env(stub_credential, fake_arm.subscription_id)
