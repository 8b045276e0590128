"""The fake Resource Manager and ``az``, for the tests that build a compiled folder with the fake ``packer``."""

from __future__ import annotations

from fakearm.fixtures import fake_arm, fake_az, fakearm_certs

__all__ = ["fake_arm", "fake_az", "fakearm_certs"]
