from .fixtures import fake_arm, fake_arm_env, fake_az, fakearm_certs, stub_credential

__all__ = ["fake_arm", "fake_arm_env", "fake_az", "fakearm_certs", "stub_credential"]
