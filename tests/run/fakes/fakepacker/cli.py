"""Packer's commands (`version`, `init`, `build`), its machine-readable output with artifact.go's lines, and the call
log (FAKE_PACKER_LOG)."""

import hashlib
import json
import os
import re
import sys
import time

from . import PLUGIN_V2, VERSION, Failed
from .arm import Arm
from .auth import sign_in
from .build import build
from .config import prepare
from .hcl import read_source, template_files

BUILDER_ID = "Azure.ResourceManagement.VMImage"  # artifact.go


def enc(text):
    return text.replace(",", "%!(PACKER_COMMA)").replace("\r", "\\r").replace("\n", "\\n")


def machine(target, kind, *data):
    print(",".join([str(int(time.time())), target, kind, *(enc(d) for d in data)]), flush=True)


def artifact(target, lines):
    """artifact.go: Id() is the managed image's ID, else the gallery version's; String() lists the rest."""
    found = dict(line.split(": ", 1) for line in lines)
    image_id = found.get("ManagedImageId") or found.get("ManagedImageSharedImageGalleryId")
    machine(target, "artifact-count", "1")
    machine(target, "artifact", "0", "builder-id", BUILDER_ID)
    machine(target, "artifact", "0", "id", image_id)
    machine(target, "artifact", "0", "string", f"{BUILDER_ID}:\n\n" + "".join(f"{line}\n" for line in lines))
    machine(target, "artifact", "0", "files-count", "0")
    machine(target, "artifact", "0", "end")


def log_call(argv, extra=None):
    """One JSON line per call; PKR_VAR_ values only as digests, so a test can tell which secret arrived without the
    log holding it."""
    if os.environ.get("FAKE_PACKER_LOG"):
        with open(os.environ["FAKE_PACKER_LOG"], "a") as log:
            names = sorted(k for k in os.environ if k.startswith("PKR_VAR_"))
            digests = {k: digest(os.environ[k]) for k in names}
            entry = {"argv": argv, "pid": os.getpid(), "pgid": os.getpgid(0), "env": names, "env_sha256": digests}
            log.write(json.dumps({**entry, **(extra or {})}) + "\n")


def digest(value):
    return hashlib.sha256(value.encode()).hexdigest()


def logged_source(config):
    """The evaluated source block for the log, each value that came from a PKR_VAR_ replaced by its digest."""
    secret = {os.environ[k] for k in os.environ if k.startswith("PKR_VAR_") and os.environ[k]}
    return {k: f"sha256:{digest(v)}" if isinstance(v, str) and v in secret else v for k, v in config.items()}


def errored(target, message):
    machine("", "ui", "error", f"==> {target}: {message}")
    machine(target, "error", message)
    machine("", "ui", "error", f"Build '{target}' errored after 3 minutes: {message}")
    machine("", "error-count", "1")


def build_command(argv):
    try:
        name, config = read_source(template_files(argv), argv)
    except Failed as exc:
        log_call(argv)
        machine("", "ui", "error", str(exc))
        return 1
    record = {"source": logged_source(config)}
    target = f"azure-arm.{name}"

    def say(text):
        machine("", "ui", "say", f"==> {target}: {text}")

    try:
        prepare(config)
    except Failed as exc:  # a Prepare error is a diagnostic about the source block (hcl2template/utils.go)
        log_call(argv, record)
        machine(
            "", "ui", "error", f"Error: {exc}\n\n  on {template_files(argv)[0].name}:\n  (source code not available)"
        )
        return 1
    say("Running builder ...")
    try:
        token, sub, kind = sign_in(config, PLUGIN_V2, say)
    except Failed as exc:
        log_call(argv, {**record, "auth": None})
        errored(target, str(exc))
        return 1
    log_call(argv, {**record, "auth": kind, "subscription": sub, "start": time.time()})
    try:
        lines = build(config, sub, Arm(token), say, force="-force" in argv)
    except Failed as exc:
        errored(target, str(exc))
        return 1
    machine("", "ui", "say", f"Build '{target}' finished after 12 minutes 3 seconds.")
    artifact(target, lines)
    return 0


def main(argv):
    if argv[:1] == ["version"]:
        log_call(argv)
        print("Packer v" + ".".join(map(str, VERSION)))
        return 0
    if argv[:1] == ["init"]:
        log_call(argv)
        if VERSION < (1, 7, 0):  # Packer 1.6.6 prints its usage and exits 127 (reference: packer-1.6-offline.md)
            print("Usage: packer [--version] [--help] <command> [<args>]", file=sys.stderr)
            return 127
        text = "".join(f.read_text() for f in template_files(argv))
        for source, version in re.findall(r'source\s*=\s*"([^"]+)"\s*\n\s*version\s*=\s*"([^"]+)"', text):
            print(f'Installed plugin {source} {version.lstrip(">= ")} in "/root/.config/packer/plugins/{source}"')
        return 0
    if argv[:1] != ["build"]:
        log_call(argv)
        print("fake packer: unsupported " + " ".join(argv), file=sys.stderr)
        return 1
    return build_command(argv)
