"""Real Packer runs the compiled shell provisioners over SSH (a local sshd), and they print what the
template says: HCL escaping and Packer's Go-template pass both undone exactly once."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cli import run
from support.tools import require_tool

from aibpack.packer.machine import parse_line

TRICKY = [
    "dollar-brace ${HOME} and $${x} and $$${y}",
    "percent-brace %{ for } and %%{z}",
    'go {{ .Path }} {{"{{"}} {{- trim }} and }} {{',
    "quotes \"double\" 'single' back\\slash trailing\\",
    "tab\there, unicode é ✓ 😀",
    "EOT",
    "${",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """A throw-away sshd on 127.0.0.1 that lets the current user in with a fresh key."""
    binary = require_tool("sshd", "/usr/sbin/sshd")
    if os.geteuid() != 0:
        pytest.skip("sshd for the runtime test needs root (CI runs as root)")
    home = tmp_path_factory.mktemp("sshd")
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(home / name)], check=True)
    (home / "authorized_keys").write_text((home / "client.pub").read_text())
    Path("/run/sshd").mkdir(exist_ok=True)
    fakebin = home / "bin"
    fakebin.mkdir()
    waagent = fakebin / "waagent"
    waagent.write_text('#!/bin/sh\n[ "$1" = -version ] && exit 0\necho "FAKE-WAAGENT $*"\n')
    waagent.chmod(0o755)
    port = _free_port()
    config = home / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {home / 'host'}\nPidFile {home / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {home / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nUsePAM no\nStrictModes no\nSubsystem sftp internal-sftp\n"
        f"SetEnv PATH={fakebin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
    )
    proc = subprocess.Popen([binary, "-D", "-e", "-f", str(config)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port, home / "client"
    proc.terminate()
    proc.wait(timeout=10)


def _runnable(hcl: str, port: int, key: Path, keep_deprovision: bool = False) -> str:
    """The compiled build on a null source that reaches this machine over SSH (as root, so without sudo);
    the final deprovision step is left out unless ``keep_deprovision``."""
    null_source = (
        'source "null" "vm" {\n'
        f'  ssh_host             = "127.0.0.1"\n  ssh_port             = {port}\n'
        f'  ssh_username         = "root"\n  ssh_private_key_file = "{key}"\n'
        "}\n"
    )
    text, count = re.subn(r'source "azure-arm" "[^"]+" \{.*?\n\}\n', null_source, hcl, flags=re.S)
    assert count == 1
    text = re.sub(r'sources = \["source\.azure-arm\.[^"]+"\]', 'sources = ["source.null.vm"]', text)
    if keep_deprovision:
        return text.replace('"sudo sh /tmp/DeprovisioningScript.sh"', '"sh /tmp/DeprovisioningScript.sh"')
    text, count = re.subn(
        r'\n  provisioner "shell" \{\n    name\s+= "aibpack: deprovision \(waagent\)".*?\n  \}\n',
        "\n",
        text,
        flags=re.S,
    )
    assert count == 1
    return text


def test_compiled_shell_lines_print_what_the_template_says(
    sshd: tuple[int, Path], packer_bin: str, tmp_path: Path
) -> None:
    port, key = sshd
    heredoc = ["cat <<'AIBPACK_TEST_END'", *TRICKY, "AIBPACK_TEST_END"]
    template = {
        "location": "westus2",
        "properties": {
            "source": {"type": "PlatformImage", "publisher": "Canonical", "offer": "o", "sku": "s"},
            "customize": [
                {"type": "Shell", "name": "heredoc", "inline": heredoc},
                {"type": "Shell", "name": "echo", "inline": ["printf '%s\\n' 'single ${NOT_EXPANDED} {{ .Vars }}'"]},
            ],
            "distribute": [{"type": "VHD", "runOutputName": "vhd", "uri": "https://a.blob.core.windows.net/c/i.vhd"}],
        },
    }
    printed = _build(template, tmp_path / "tricky", port, key, packer_bin)
    assert printed == [*TRICKY, "single ${NOT_EXPANDED} {{ .Vars }}"]


def _build(template: dict, tmp_path: Path, port: int, key: Path, packer_bin: str, **kw: bool) -> list[str]:
    """Compile ``template``, build it over SSH, return what the provisioners printed."""
    tmp_path.mkdir()
    source = tmp_path / "t.json"
    source.write_text(json.dumps(template), encoding="utf-8")
    assert run(["compile", str(source), "-o", str(tmp_path / "t.pkr.hcl")]).code == 0
    build = tmp_path / "build.pkr.hcl"
    build.write_text(_runnable((tmp_path / "t.pkr.hcl").read_text(encoding="utf-8"), port, key, **kw))
    result = subprocess.run(
        [packer_bin, "build", "-color=false", "-machine-readable", build.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    events = [parse_line(line) for line in result.stdout.splitlines()]
    return [
        event.data[1].split("null.vm: ", 1)[1]
        for event in events
        if event is not None and event.type == "ui" and event.data[:1] == ("message",)
    ]


def test_deprovision_runs_the_default_script_or_the_one_a_customizer_wrote(
    sshd: tuple[int, Path], packer_bin: str, tmp_path: Path
) -> None:
    port, key = sshd
    script = Path("/tmp/DeprovisioningScript.sh")
    script.unlink(missing_ok=True)
    template = {
        "location": "westus2",
        "properties": {
            "source": {"type": "PlatformImage", "publisher": "Canonical", "offer": "o", "sku": "s"},
            "customize": [{"type": "Shell", "name": "work", "inline": ["echo customizing"]}],
            "distribute": [{"type": "VHD", "runOutputName": "vhd", "uri": "https://a.blob.core.windows.net/c/i.vhd"}],
        },
    }
    try:
        printed = _build(template, tmp_path / "default", port, key, packer_bin, keep_deprovision=True)
        assert printed == ["customizing", "FAKE-WAAGENT -force -deprovision+user"]
        script.unlink()
        template["properties"]["customize"].append(
            {"type": "Shell", "name": "mine", "inline": [f"echo 'echo MY-DEPROVISION' > {script}"]}
        )
        printed = _build(template, tmp_path / "override", port, key, packer_bin, keep_deprovision=True)
        assert printed == ["customizing", "MY-DEPROVISION"]
    finally:
        script.unlink(missing_ok=True)
