"""An image template exported from Azure, in the shape ``az image builder show`` prints it.

The REST API nests the template's settings under ``properties``, and the portal's JSON view shows them so. The
Azure CLI prints them one level up instead: the SDK model flattens ``properties`` (``x-ms-client-flatten`` on
``ImageTemplate.properties`` in the REST spec, specification/imagebuilder/.../imagebuilder.json), and the CLI
writes the model's attributes, adding a ``resourceGroup`` taken from the ``id`` (azure-cli
src/azure-cli-core/azure/cli/core/commands/transform.py, ``_add_resource_group``). Such a file is put back
into the REST shape here; its read-only fields are ignored by the model, without a warning.
"""

from __future__ import annotations

# The resource's own keys: ARM's Resource and TrackedResource (id, name, type, systemData, tags, location;
# common-types resource-management types.json), the template's identity, the keys a deployment template's
# resource may carry, and the CLI's resourceGroup. Anything else a flattened template holds is a property.
_RESOURCE_KEYS = frozenset(
    {
        "id",
        "name",
        "type",
        "systemdata",
        "tags",
        "location",
        "identity",
        "apiversion",
        "dependson",
        "comments",
        "resourcegroup",
    }
)
# What only a template's properties hold: a flattened template is recognized by these at the top level.
_PROPERTY_MARKERS = frozenset({"source", "distribute", "customize"})


def is_flattened(document: dict) -> bool:
    """Whether ``document`` is a template as the CLI prints it: properties at the top level."""
    keys = {key.lower() for key in document}
    return "properties" not in keys and bool(keys & _PROPERTY_MARKERS)


def unflatten(document: dict) -> dict:
    """The REST shape of a flattened template: its non-resource keys moved under ``properties``, in order."""
    resource = {key: value for key, value in document.items() if key.lower() in _RESOURCE_KEYS}
    resource["properties"] = {key: value for key, value in document.items() if key.lower() not in _RESOURCE_KEYS}
    return resource
