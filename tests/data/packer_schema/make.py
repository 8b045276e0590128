#!/usr/bin/env python3
"""Regenerate ``schema.json``: the HCL2 schema of the blocks aibpack emits, read from the plugins' own source.

Packer decodes a ``source`` or ``provisioner`` body with the ``hcldec`` spec that ``packer-sdc
mapstructure-to-hcl2`` generates into each plugin's ``*.hcl2spec.go``; an attribute missing from that spec is
"Unsupported argument", a value of another type fails to convert. This script reads those generated files
(and the provisioner meta-arguments Packer core decodes itself) and writes their names and types as JSON.

    python tests/data/packer_schema/make.py \\
        --azure    /work/.mirror/hashicorp+packer-plugin-azure/repo@v2.6.3 \\
        --packer   /work/.mirror/hashicorp+packer/repo@v1.16.0 \\
        --sdk      /work/.mirror/hashicorp+packer-plugin-sdk/repo \\
        --windows-update /work/.mirror/rgl+packer-plugin-windows-update/repo@v0.18.4

Each argument is a git directory (or a checkout) and an optional ``@ref`` (default HEAD). The SDK's ref defaults
to the version the azure plugin's ``go.mod`` requires, since that is the code its ``config.Flat*`` types come from.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent / "schema.json"

AZURE_SPEC = "builder/azure/arm/config.hcl2spec.go"
SDK_SPEC = "template/config/custom_types.hcl2spec.go"
PROVISIONER_SPECS = {  # provisioner type -> file in hashicorp/packer
    "shell": "provisioner/shell/provisioner.hcl2spec.go",
    "powershell": "provisioner/powershell/provisioner.hcl2spec.go",
    "windows-restart": "provisioner/windows-restart/provisioner.hcl2spec.go",
    "file": "provisioner/file/provisioner.hcl2spec.go",
}
WINDOWS_UPDATE_SPEC = "update/provisioner.hcl2spec.go"
PROVISIONER_META = "hcl2template/types.build.provisioners.go"

_FUNC = re.compile(r"^func \(\*(Flat\w+)\) HCL2Spec\(\) map\[string\]hcldec\.Spec \{$")
_ENTRY = re.compile(r'^\s*"(?P<key>[^"]+)":\s*&hcldec\.(?P<kind>AttrSpec|BlockSpec|BlockListSpec)\{(?P<body>.*)\},?$')
_ATTR_TYPE = re.compile(r"Type: (cty\.\w+(?:\(cty\.\w+\))?)")
_NESTED = re.compile(r"Nested: hcldec\.ObjectSpec\(\(\*(?:\w+\.)?(Flat\w+)\)\(nil\)\.HCL2Spec\(\)\)")
_META_FIELD = re.compile(r'^\s*\w+\s+(?P<go>[\w.\[\]]+)\s+`hcl:"(?P<name>\w+),optional"`')
CTY_TYPES = {
    "cty.String": "string",
    "cty.Number": "number",
    "cty.Bool": "bool",
    "cty.List(cty.String)": "list(string)",
    "cty.List(cty.Number)": "list(number)",
    "cty.Map(cty.String)": "map(string)",
}
GO_TYPES = {"string": "string", "int": "number", "bool": "bool", "[]string": "list(string)", "cty.Value": "any"}


class Repo:
    """A git directory or checkout of the GitHub repository ``name``, read at one ref."""

    def __init__(self, name: str, spec: str) -> None:
        path, _, ref = spec.partition("@")
        self.name, self.path, self.ref = name, Path(path), ref or "HEAD"
        self.commit = self._git("rev-parse", f"{self.ref}^{{commit}}").strip()

    def _git(self, *args: str) -> str:
        flag = "--git-dir" if (self.path / "HEAD").is_file() and not (self.path / ".git").exists() else "-C"
        return subprocess.run(["git", flag, str(self.path), *args], check=True, capture_output=True, text=True).stdout

    def read(self, file: str) -> str:
        return self._git("show", f"{self.commit}:{file}")


def parse_specs(go_source: str) -> dict[str, dict[str, dict[str, object]]]:
    """Every ``Flat*`` type's spec in a generated file: attribute types and nested blocks."""
    specs: dict[str, dict[str, dict[str, object]]] = {}
    current: dict[str, dict[str, object]] | None = None
    for line in go_source.splitlines():
        if match := _FUNC.match(line):
            current = {"attributes": {}, "blocks": {}}
            specs[match.group(1)] = current
            continue
        if current is None:
            continue
        if line == "}":
            current = None
            continue
        entry = _ENTRY.match(line)
        if not entry:
            continue
        body = entry.group("body")
        if entry.group("kind") == "AttrSpec":
            cty = _ATTR_TYPE.search(body)
            if cty is None or cty.group(1) not in CTY_TYPES:
                raise SystemExit(f"unknown attribute type in: {line.strip()}")
            current["attributes"][entry.group("key")] = CTY_TYPES[cty.group(1)]
        else:
            nested = _NESTED.search(body)
            if nested is None:
                raise SystemExit(f"unknown block spec in: {line.strip()}")
            current["blocks"][entry.group("key")] = {
                "type": nested.group(1),
                "repeated": entry.group("kind") == "BlockListSpec",
            }
    return specs


def resolve(name: str, specs: dict[str, dict[str, dict[str, object]]]) -> dict[str, object]:
    """One spec with its nested block specs inlined (``{"attributes", "blocks": {name: {..., "repeated"}}}``)."""
    spec = specs[name]
    blocks = {}
    for block, ref in spec["blocks"].items():
        assert isinstance(ref, dict)
        blocks[block] = {"repeated": ref["repeated"], **resolve(str(ref["type"]), specs)}
    return {"attributes": dict(sorted(spec["attributes"].items())), "blocks": dict(sorted(blocks.items()))}


def provisioner_meta(go_source: str) -> dict[str, str]:
    """The meta-arguments Packer core decodes on every provisioner block (``decodeProvisioner``)."""
    body = go_source.split("func (p *Parser) decodeProvisioner", 1)[1].split("diags := gohcl.DecodeBody", 1)[0]
    out = {}
    for line in body.splitlines():
        if match := _META_FIELD.match(line):
            out[match.group("name")] = GO_TYPES[match.group("go")]
    return dict(sorted(out.items()))


def sdk_ref(azure: Repo) -> str:
    """The packer-plugin-sdk version the azure plugin's go.mod requires."""
    match = re.search(r"github\.com/hashicorp/packer-plugin-sdk (v[\w.\-]+)", azure.read("go.mod"))
    if match is None:
        raise SystemExit("packer-plugin-sdk not found in the azure plugin's go.mod")
    return match.group(1)


def build(azure: Repo, packer: Repo, sdk: Repo, windows_update: Repo) -> dict[str, object]:
    sdk_specs = parse_specs(sdk.read(SDK_SPEC))
    azure_specs = {**sdk_specs, **parse_specs(azure.read(AZURE_SPEC))}
    provisioners = {}
    for kind, file in PROVISIONER_SPECS.items():
        provisioners[kind] = resolve("FlatConfig", parse_specs(packer.read(file)))
    provisioners["windows-update"] = resolve("FlatConfig", parse_specs(windows_update.read(WINDOWS_UPDATE_SPEC)))

    def cite(repo: Repo, *files: str) -> dict[str, object]:
        return {"repository": repo.name, "ref": repo.ref, "commit": repo.commit, "files": list(files)}

    return {
        "about": "Generated by tests/data/packer_schema/make.py from the plugins' *.hcl2spec.go; do not edit.",
        "sources": [
            cite(azure, AZURE_SPEC),
            cite(sdk, SDK_SPEC),
            cite(packer, *PROVISIONER_SPECS.values(), PROVISIONER_META),
            cite(windows_update, WINDOWS_UPDATE_SPEC),
        ],
        "source": {"azure-arm": resolve("FlatConfig", azure_specs)},
        "provisioner": dict(sorted(provisioners.items())),
        "provisioner_meta": provisioner_meta(packer.read(PROVISIONER_META)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--azure", required=True, help="hashicorp/packer-plugin-azure: GITDIR[@REF]")
    parser.add_argument("--packer", required=True, help="hashicorp/packer: GITDIR[@REF]")
    parser.add_argument("--sdk", required=True, help="hashicorp/packer-plugin-sdk: GITDIR[@REF] (ref: azure's go.mod)")
    parser.add_argument("--windows-update", required=True, help="rgl/packer-plugin-windows-update: GITDIR[@REF]")
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    azure = Repo("hashicorp/packer-plugin-azure", args.azure)
    sdk = Repo("hashicorp/packer-plugin-sdk", args.sdk if "@" in args.sdk else f"{args.sdk}@{sdk_ref(azure)}")
    packer = Repo("hashicorp/packer", args.packer)
    windows_update = Repo("rgl/packer-plugin-windows-update", args.windows_update)
    schema = build(azure, packer, sdk, windows_update)
    args.output.write_text(json.dumps(schema, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
