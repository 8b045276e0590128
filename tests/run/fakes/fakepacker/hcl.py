"""The template, as Packer reads it: HCL2 through python-hcl2; `-var` and `PKR_VAR_` over the defaults (a -var for an
undeclared variable is an error); an argument the plugin's schema lacks is refused (tests/data/packer_schema/
schema.json, generated from the plugin's config.hcl2spec.go), and Packer 1.6.6 also refuses the sign-in fields the
plugin added later.
"""

import json
import os
import re
from pathlib import Path

import hcl2

from . import PLUGIN_V2, Failed

SCHEMA = Path(__file__).resolve().parents[3] / "data" / "packer_schema" / "schema.json"
# Sign-in fields Packer 1.6.6's bundled builder does not know: its `packer validate` refuses each with the words
# below (hashicorp/packer v1.6.6 builder/azure/arm config.hcl2spec.go lacks them; packer-plugin-azure added
# client_cert_password in v2.0.0, oidc_request_url/_token in v2.1.5).
PLUGIN_V2_ONLY = ("client_cert_password", "oidc_request_url", "oidc_request_token")


def template_files(argv):
    path = Path(argv[-1])
    return sorted(path.glob("*.pkr.hcl")) if path.is_dir() else [path]


def literal(text):
    """An HCL quoted string from python-hcl2 (quotes kept) as its value."""
    body = text[1:-1]
    out, i = [], 0
    while i < len(body):
        if body.startswith("$${", i) or body.startswith("%%{", i):
            out.append(body[i + 1 : i + 3])
            i += 3
        elif body[i] == "\\" and i + 1 < len(body):
            out.append({"n": "\n", "r": "\r", "t": "\t"}.get(body[i + 1], body[i + 1]))
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def hcl_value(text, declared):
    """A `-var`/`PKR_VAR_` value of a declared type (strings are taken as they are, as Packer does)."""
    declared = declared.strip("${}")
    if declared == "bool":
        return text == "true"
    if declared.startswith("map"):
        pairs = hcl2.loads(f"m = {text}\n")["m"].items()
        return {literal(k) if k.startswith('"') else k: literal(v) for k, v in pairs}
    return text


def variables(parsed, argv):
    declared, values = {}, {}
    for item in parsed.get("variable", []):
        for name, body in item.items():
            name = name.strip('"')
            declared[name] = str(body.get("type", "string"))
            values[name] = evaluate(body.get("default"), {})
    for name in declared:
        if f"PKR_VAR_{name}" in os.environ:
            values[name] = hcl_value(os.environ[f"PKR_VAR_{name}"], declared[name])
    for i, arg in enumerate(argv):
        if arg == "-var":
            name, _, value = argv[i + 1].partition("=")
            if name not in declared:
                raise Failed(f'Undefined -var variable: A "{name}" variable was passed in but was not found')
            values[name] = hcl_value(value, declared[name])
    return values


def evaluate(value, var):
    if isinstance(value, list):
        return [evaluate(v, var) for v in value]
    if isinstance(value, dict):
        return {k: evaluate(v, var) for k, v in value.items() if k != "__is_block__"}
    if not isinstance(value, str):
        return value
    whole = re.fullmatch(r"\$\{var\.([\w-]+)\}", value)
    if whole:
        return var[whole.group(1)]
    if value.startswith('"'):
        return re.sub(r"\$\{var\.([\w-]+)\}", lambda m: str(var[m.group(1)]), literal(value))
    return value  # another expression (build.Password, path.root): not needed here


def read_source(files, argv):
    """The azure-arm source block, checked against the plugin's schema and evaluated."""
    parsed = {"variable": [], "source": []}
    for file in files:
        for key, items in hcl2.loads(file.read_text(encoding="utf-8")).items():
            parsed.setdefault(key, []).extend(items)
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))["source"]["azure-arm"]
    if not PLUGIN_V2:  # Packer 1.6.6 decodes the block against its own schema, which lacks these
        schema = {**schema, "attributes": {k: v for k, v in schema["attributes"].items() if k not in PLUGIN_V2_ONLY}}
    for item in parsed["source"]:
        for kind, by_name in item.items():
            for name, body in by_name.items():
                if kind.strip('"') == "azure-arm":
                    unknown(body, schema, files[0].name)
                    return name.strip('"'), evaluate(body, variables(parsed, argv))
    raise Failed("no azure-arm source in " + ", ".join(f.name for f in files))


def unknown(body, schema, file):
    """Packer's decode of the body with the plugin's hcldec spec: a name it lacks is an error."""
    for key, value in body.items():
        if key == "__is_block__":
            continue
        if key in schema["blocks"]:
            for block in value if isinstance(value, list) else [value]:
                unknown(block, schema["blocks"][key], file)
        elif key not in schema["attributes"]:
            raise Failed(
                f"Error: Unsupported argument\n\n  on {file}:\n  (source code not available)\n\n"
                f'An argument named "{key}" is not expected here.'
            )
