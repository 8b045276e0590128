"""Check stage (preflight): before anything exists in Azure, everything the build needs is there.

Packer and its version, the credential (and how Packer signs in as the same identity), the subscription, the
source image as Azure describes it, and every distribution target: all read-only. The gallery definitions, and this
Packer, decide what Packer delivers. With several templates, packer is checked once, the rest per template.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aibpack.errors import EXIT_USAGE, AibpackError, BuildFailed
from aibpack.pipeline import Compiled
from aibpack.plan.build import OsType
from aibpack.plan.capture import Capture, Definition, run_capture
from aibpack.plan.source import BuildTarget, Generation, generation
from aibpack.run.report import RunOptions

if TYPE_CHECKING:
    from aibpack.azure.clients import AzureContext
    from aibpack.azure.credentials import Credential, Identity
    from aibpack.azure.facts import ImageFacts
    from aibpack.run.auth import PackerSignIn


def distributable(options: RunOptions, compiled: Compiled) -> None:
    """Refuse, before anything is built, a target aibpack cannot deliver (a VHD without ``uri``, a shallow gallery
    version whose source image would go with the staging group, or in other regions than the build's)."""
    from aibpack.azure.distribute import check_distributable, check_shallow
    from aibpack.plan import output_image

    template = compiled.template
    try:
        check_distributable(template)
        kept = output_image(template, compiled.name).target_index is not None
        check_shallow(template, template.location, image_kept=kept)
        for index, target in enumerate(template.properties.distribute):
            if target.type == "SharedImage":
                _version_id(compiled, index)
    except AibpackError as exc:
        raise exc.located(options.template) from None


@dataclass(frozen=True)
class Preflight:
    """What the checks found: Packer and its version, who signed in (and how Packer will), the source image, and
    what Packer delivers."""

    packer: Path
    version: tuple[int, int, int]
    ctx: AzureContext
    packer_sign_in: PackerSignIn
    target: BuildTarget
    capture: Capture  # what Packer delivers, chosen from the gallery definitions and this Packer
    gallery_version_id: str | None = None  # the version Packer publishes straight from the VM, if it does
    notes: tuple[str, ...] = ()


def _target_ids(compiled: Compiled) -> list[str]:
    ids = []
    for target in compiled.template.properties.distribute:
        text = getattr(target, "image_id", None) or getattr(target, "gallery_image_id", None)
        if text:
            ids.append(text)
    if compiled.template.properties.staging_resource_group:
        ids.append(compiled.template.properties.staging_resource_group)
    return ids


def distribute_targets(compiled: Compiled) -> list[Any]:
    from aibpack.azure.checks import DistributeTarget

    targets = []
    for index, target in enumerate(compiled.template.properties.distribute):
        base = ("properties", "distribute", index)
        if target.type == "ManagedImage":
            targets.append(DistributeTarget((*base, "imageId"), "ManagedImage", target.image_id))
        elif target.type == "SharedImage":
            targets.append(DistributeTarget((*base, "galleryImageId"), "SharedImage", _version_id(compiled, index)))
        else:
            targets.append(DistributeTarget((*base, "uri"), "VHD", target.uri or ""))
    return targets


def _version_id(compiled: Compiled, index: int) -> str:
    """A gallery target's ID; with versioning Source, the version's, so that one already there is refused now."""
    from aibpack.azure.gallery import SOURCE_VERSION_MISSING, by_source
    from aibpack.model.source import source_version

    target = compiled.template.properties.distribute[index]
    if "/versions/" in target.gallery_image_id.lower() or not by_source(target):
        return target.gallery_image_id
    version = source_version(compiled.template.properties.source)
    if version is None:
        path = ("properties", "distribute", index, "versioning")
        raise AibpackError(SOURCE_VERSION_MISSING, path=path, exit_code=EXIT_USAGE)
    return f"{target.gallery_image_id.rstrip('/')}/versions/{version}"


def packer_stage(options: RunOptions) -> tuple[Path, tuple[int, int, int]]:
    """The packer binary and its version (checked once, whatever the number of templates)."""
    from aibpack.packer.binary import find_packer, packer_version

    packer = find_packer(options.packer)
    return packer, packer_version(packer)


def azure_stage(options: RunOptions, compiled: Compiled, credential: Credential) -> AzureContext:
    """The subscription (``--subscription``, else the template's IDs, else the environment) and its context."""
    from aibpack.azure.clients import AzureContext, resolve_subscription

    environ = os.environ if options.environ is None else options.environ
    subscription = resolve_subscription(options.subscription, _target_ids(compiled), environ)
    return AzureContext.from_env(credential, subscription, environ)


def preflight_stage(
    options: RunOptions,
    compiled: Compiled,
    ctx: AzureContext,
    packer: tuple[Path, tuple[int, int, int]],
    identity: Identity,
    source_version: str | None = None,
) -> Preflight:
    """How Packer signs in as ``identity`` (who the run signed in as), the source image (its OS and generation, from
    Azure; at ``source_version`` when the run resolved its ``latest``), the targets and whether they can hold this
    image: all read-only.

    The gallery definitions Azure reports, and this Packer, decide what Packer delivers (``plan.capture``).
    """
    from aibpack.azure.checks import check_targets
    from aibpack.run.auth import packer_sign_in, plugin_v2

    binary, version = packer
    environ = os.environ if options.environ is None else options.environ
    sign = packer_sign_in(identity, ctx.subscription_id, version, environ)
    notes: list[str] = []
    try:
        facts = _source_facts(ctx, options, compiled, notes, source_version)
        found = check_targets(ctx, distribute_targets(compiled), facts)
        if facts.guessed and (held := {d.generation.upper() for d in found.values()}) and len(held) == 1:
            # The gallery definitions are Azure's word; a version must match its definition's generation.
            held_generation = held.pop()
            if held_generation != facts.generation.upper():
                notes.append(f"the gallery image definitions are {held_generation}: building a {held_generation} VM")
                facts = replace(facts, generation=held_generation)
        definitions = {int(t.path[2]): Definition(d.security_type, d.location) for t, d in found.items()}
        capture = run_capture(compiled.template, definitions, gallery_direct=plugin_v2(version))
        published = _published_version_id(ctx, compiled, capture)
    except AibpackError as exc:
        raise exc.located(options.template) from None
    target = BuildTarget(os=_os(facts.os_type), generation=_generation(facts.generation), plugin_v2=plugin_v2(version))
    return Preflight(binary, version, ctx, sign, target, capture, published, tuple(notes))


def _source_facts(
    ctx: AzureContext, options: RunOptions, compiled: Compiled, notes: list[str], version: str | None
) -> ImageFacts:
    """The source image's OS, generation and state, as Azure says (or by its names, with a note, when the region's
    catalogue does not list it); refuses an ``--os`` Azure contradicts and a specialized source. ``version``: what
    the run resolved a marketplace ``latest`` to."""
    from aibpack.azure.facts import ImageFacts, NotListed, source_facts

    template = compiled.template
    try:
        facts = source_facts(ctx, template.properties.source, template.location, version)
    except NotListed as exc:  # Packer resolves the image itself; compile's reading of its names stands
        facts = ImageFacts(compiled.plan.os_type, generation(template, options.compile.target), guessed=True)
        notes.append(f"{exc.message}: went by the image's names ({facts.os_type}, {facts.generation})")
    given = options.compile.target.os
    if given and given.lower() != facts.os_type.lower():
        raise AibpackError(
            f"--os {given}, but Azure says the source image is {facts.os_type}", path=("properties", "source")
        )
    if facts.os_state.lower() == "specialized":
        # AIB accepts only generalized sources (azure-compute-docs image-builder-json.md, "source").
        raise BuildFailed(
            "the source image is specialized; AIB and aibpack build from generalized images",
            path=("properties", "source"),
        )
    return facts


def _os(text: str) -> OsType:
    return "Windows" if text.lower() == "windows" else "Linux"


def _generation(text: str) -> Generation:
    return "V2" if text.upper() == "V2" else "V1"


def _published_version_id(ctx: AzureContext, compiled: Compiled, capture: Capture) -> str | None:
    """The version Packer will publish: explicit, the source's, or the next Latest (read-only: Azure is asked)."""
    from aibpack.azure.gallery import choose_version
    from aibpack.azure.results import TargetFailed

    if capture.gallery_target is None:
        return None
    target = compiled.template.properties.distribute[capture.gallery_target]
    assert target.type == "SharedImage"
    try:
        version = choose_version(ctx, compiled.template, target)
    except TargetFailed as exc:
        raise BuildFailed(str(exc), path=("properties", "distribute", capture.gallery_target)) from None
    definition = target.gallery_image_id.rstrip("/").split("/versions/")[0]
    return f"{definition}/versions/{version}"


def packer_can_build(pre: Preflight, compiled: Compiled) -> None:
    """Refuse, before anything is created, a Packer too old for this build (Trusted Launch, a WindowsUpdate step)."""
    from aibpack.packer.binary import require_packer_for

    try:
        require_packer_for(pre.packer, pre.version, compiled.plan.modern_only)
    except AibpackError as exc:
        raise exc.located(compiled.file) from None
