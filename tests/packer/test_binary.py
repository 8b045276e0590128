"""Finding packer, its version and ``packer init``: real Packer 1.6.6 and small fakes."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from aibpack.errors import EXIT_FAILED, BuildFailed
from aibpack.packer.binary import find_packer, init_plugins, needs_init, packer_version
from aibpack.plan.plugins import AZURE
from aibpack.render import render_plugins

FAKES = Path(__file__).parent / "fakes"
REPO_ROOT = Path(__file__).resolve().parents[2]


def test_find_packer_explicit_env_and_path(
    fake: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    versioned = fake("packer-versioned")
    assert find_packer(str(versioned)) == versioned
    monkeypatch.setenv("AIBPACK_PACKER", str(versioned))
    assert find_packer(None) == versioned
    monkeypatch.delenv("AIBPACK_PACKER")
    (tmp_path / "packer").symlink_to(versioned)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_packer(None) == tmp_path / "packer"
    assert find_packer("packer") == tmp_path / "packer"
    monkeypatch.chdir(FAKES.parent)
    assert find_packer("fakes/packer-versioned") == versioned  # absolute: packer runs in the work dir


def test_find_packer_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("AIBPACK_PACKER", raising=False)
    with pytest.raises(BuildFailed, match="packer not found on PATH") as err:
        find_packer(None)
    assert err.value.exit_code == EXIT_FAILED
    with pytest.raises(BuildFailed, match="does not exist"):
        find_packer(str(tmp_path / "nope" / "packer"))
    plain = tmp_path / "packer-plain"
    plain.write_text("#!/bin/sh\n")
    monkeypatch.setenv("AIBPACK_PACKER", str(plain))
    with pytest.raises(BuildFailed, match=r"AIBPACK_PACKER\) is not executable") as err:
        find_packer(None)
    assert err.value.exit_code == EXIT_FAILED


def test_version_of_real_packer(real_packer: Path) -> None:
    version = packer_version(real_packer)
    assert version >= (1, 6, 6)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, (1, 11, 2)),  # the default text has more lines after "Packer v1.11.2"
        ("Packer v1.12.0-dev (abc123)", (1, 12, 0)),
        ("Packer v1.6.6", (1, 6, 6)),
    ],
)
def test_version_of_newer_packer(
    fake: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch, text: str | None, expected: tuple
) -> None:
    if text is not None:
        monkeypatch.setenv("FAKE_VERSION_TEXT", text)
    assert packer_version(fake("packer-versioned")) == expected


def test_version_too_old_or_not_packer(fake: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_VERSION_TEXT", "Packer v1.6.5")
    with pytest.raises(BuildFailed, match=r"is Packer 1\.6\.5; aibpack needs Packer >= 1\.6\.6") as err:
        packer_version(fake("packer-versioned"))
    assert err.value.exit_code == EXIT_FAILED
    monkeypatch.setenv("FAKE_VERSION_TEXT", "cracklib packer: usage ...")
    with pytest.raises(BuildFailed, match="does not look like HashiCorp Packer"):
        packer_version(fake("packer-versioned"))


# -- packer init ------------------------------------------------------------------------------------------


def test_no_init_for_packer_1_6(real_packer: Path, tmp_path: Path) -> None:
    (tmp_path / "packer-plugins.pkr.hcl").write_text(render_plugins([AZURE]))
    version = packer_version(real_packer)
    assert version < (1, 7, 0)
    assert not needs_init(version, tmp_path)
    assert init_plugins(real_packer, version, tmp_path) is False
    # ...because 1.6.6 has no init at all:
    proc = subprocess.run([str(real_packer), "init", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 127


def test_needs_init(tmp_path: Path) -> None:
    assert not needs_init((1, 11, 2), tmp_path)  # nothing to install
    (tmp_path / "img.pkr.hcl").write_text('source "null" "x" {}\n')
    assert not needs_init((1, 11, 2), tmp_path)
    (tmp_path / "packer-plugins.pkr.hcl").write_text(render_plugins([AZURE]))
    assert needs_init((1, 7, 0), tmp_path)
    assert not needs_init((1, 6, 6), tmp_path)


def test_init_fails_clearly(fake: Callable[[str], Path], tmp_path: Path) -> None:
    (tmp_path / "packer-plugins.pkr.hcl").write_text(render_plugins([AZURE]))
    log = tmp_path / "packer.log"
    with pytest.raises(BuildFailed, match=r"packer init .* failed \(exit 1\): Failed getting") as err:
        init_plugins(fake("packer-versioned"), (1, 11, 2), tmp_path, log_path=log)
    assert err.value.exit_code == EXIT_FAILED
    assert "no such host" in str(err.value)
    assert "lookup api.github.com: no such host" in log.read_text()


def test_init_runs(fake: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "packer-plugins.pkr.hcl").write_text(render_plugins([AZURE]))
    record = tmp_path / "init-args"
    monkeypatch.setenv("FAKE_INIT_OK", "1")
    monkeypatch.setenv("FAKE_INIT_RECORD", str(record))
    monkeypatch.setenv("CHECKPOINT_DISABLE", "0")
    log = tmp_path / "packer.log"
    assert init_plugins(fake("packer-versioned"), (1, 11, 2), tmp_path, log_path=log) is True
    assert record.read_text() == f"init {tmp_path} CHECKPOINT_DISABLE=1\n"
    assert "Installed plugin github.com/hashicorp/azure" in log.read_text()
