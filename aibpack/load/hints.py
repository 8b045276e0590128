"""What a file given as TEMPLATE is when it is not an image template, and what to do with it instead.

A newcomer passes what they have: a Bicep file, the ARM parameters file beside a template, a Packer template,
the output of ``az image builder list``. Each gets a message that names it and the command that takes it.
Only reached on the error path, so it costs nothing when the template is right.
"""

from __future__ import annotations

import re
from pathlib import Path

IMAGE_TEMPLATE_TYPE = "Microsoft.VirtualMachineImages/imageTemplates"
NOT_A_TEMPLATE = (
    f"not an image template: expected a {IMAGE_TEMPLATE_TYPE} resource or an ARM deployment template holding one"
)

# Bicep declarations start a line with a keyword (Bicep's file structure: targetScope, param, var, resource,
# module, output, ...); a resource names its type with an API version, 'Microsoft.X/y@2022-07-01'.
_BICEP = re.compile(
    r"^\s*(?:targetScope\s*=|(?:param|var|output|metadata|type|func)\s+\w+"
    r"|(?:resource|module)\s+\w+\s+'[^'\n]*@[^'\n]*')",
    re.MULTILINE,
)
# Packer HCL2 top-level blocks (packer, source "TYPE" "NAME", build, variable "NAME").
_PACKER_HCL = re.compile(r'^\s*(?:packer\s*\{|source\s+"[^"]+"\s+"[^"]+"|build\s*\{|variables?\s+"?\w*"?\s*\{)', re.M)


def bicep(path: Path) -> str | None:
    """The message for a ``.bicep``/``.bicepparam`` file, which aibpack reads only once built into ARM JSON."""
    suffix = path.suffix.lower()
    if suffix == ".bicep":
        return f"a Bicep file: build it into an ARM template first, `az bicep build --file {path}`, and pass the .json"
    if suffix == ".bicepparam":
        return (
            f"a Bicep parameters file: build it first, `az bicep build-params --file {path}`, "
            "and pass the .json with --parameters"
        )
    return None


def syntax(path: Path, text: str) -> str | None:
    """What a file that is not JSON at all looks like it is: Bicep or a Packer HCL2 template."""
    if path.name.lower().endswith(".pkr.hcl") or _PACKER_HCL.search(text):
        return _packer(path)
    if _BICEP.search(text):
        return f"this looks like Bicep: build it into an ARM template first, `az bicep build --file {path}`"
    return None


def not_a_template(document: object, path: Path) -> str:
    """The message for JSON that holds no image template, naming what it is where that can be told."""
    if isinstance(document, list):
        templates = [item for item in document if _is_image_template(item)]
        if templates and len(templates) == len(document):
            return (
                f"a list of {len(templates)} image templates, as `az image builder list` prints: "
                "save the one to build in a file of its own (`az image builder show -g GROUP -n NAME`)"
            )
        return f"{NOT_A_TEMPLATE} (found a JSON array)"
    if not isinstance(document, dict):
        return f"{NOT_A_TEMPLATE} (found a JSON {type(document).__name__})"
    if _is_parameters_file(document):
        return (
            "an ARM parameters file, not a template: pass it with the template it belongs to, "
            f"aibpack compile TEMPLATE --parameters {path}"
        )
    if "builders" in document:
        return _packer(path)
    keys = ", ".join(list(document)[:6]) or "none"
    return f"{NOT_A_TEMPLATE} (found a JSON object with the keys: {keys})"


def _packer(path: Path) -> str:
    return (
        "a Packer template: `aibpack import "
        f"{path}` turns its provisioners into customize steps; `aibpack compile TEMPLATE --provisioners {path}` "
        "keeps them as they are"
    )


def _is_image_template(item: object) -> bool:
    return isinstance(item, dict) and str(item.get("type", "")).lower() == IMAGE_TEMPLATE_TYPE.lower()


def _is_parameters_file(document: dict) -> bool:
    """An ARM parameters file: its ``$schema`` is deploymentParameters.json, or it holds only parameter values."""
    schema = document.get("$schema")
    if isinstance(schema, str) and "deploymentparameters" in schema.lower():
        return True
    entries = document.get("parameters")
    return (
        "resources" not in document
        and isinstance(entries, dict)
        and bool(entries)
        and all(isinstance(e, dict) and ("value" in e or "reference" in e) for e in entries.values())
    )
