"""Inputs stage: the digest of what the build is made from, and whether every target already holds an artifact
made from exactly that (then the template is up to date and nothing is built).

Read-only. The digest is finished here with what only a run knows: the source's ``latest`` as Azure resolves it
now, and the bytes of remote files downloaded without a ``sha256Checksum``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aibpack.errors import AibpackError, BuildFailed
from aibpack.inputs import TAG, BuildInputs
from aibpack.pipeline import Compiled
from aibpack.plan import output_image
from aibpack.plan.capture import Capture
from aibpack.run.report import RunOptions

if TYPE_CHECKING:
    from aibpack.azure.clients import AzureContext
    from aibpack.azure.inputs import Published


@dataclass(frozen=True)
class InputsCheck:
    """The complete inputs, what ``latest`` became (the build pins it), and what the targets already hold."""

    inputs: BuildInputs
    source_version: str | None
    published: Published
    notes: tuple[str, ...] = ()

    @property
    def tags(self) -> dict[str, str]:
        """The tag every artifact of this build carries."""
        return {TAG: self.inputs.digest}


def inputs_stage(
    options: RunOptions, ctx: AzureContext, compiled: Compiled, offline: BuildInputs, downloaded: Mapping[str, Path]
) -> InputsCheck:
    """Resolve the source, finish the digest, and look for artifacts already tagged with it."""
    from aibpack.azure.inputs import find_published, resolve_source

    try:
        resolved = resolve_source(ctx, compiled.template)
        inputs = offline.resolved(source=resolved.reference, downloaded=downloaded)
        published = find_published(ctx, compiled.template, inputs.digest)
        if not resolved.unlisted:
            return InputsCheck(inputs, resolved.version, published)
        # What Packer will build from is unknown, so nothing made from it is known to be up to date.
        published.missing += [output.run_output_name for output in published.outputs]
        published.outputs.clear()
        note = f"{resolved.unlisted}: built, as nothing made from it can be known to be up to date"
        return InputsCheck(inputs, None, published, (note,))
    except AibpackError as exc:
        raise exc.located(options.template) from None


def replaces_image(options: RunOptions, compiled: Compiled, check: InputsCheck, capture: Capture) -> bool:
    """Whether Packer must replace the managed image it builds (an older build's, at the target's ID): ``-force``.

    An image at that ID which aibpack did not publish (no aibpackInputs tag) is refused: a build never deletes it.
    ``capture`` says what Packer delivers: a gallery version Packer publishes replaces no image.
    """
    published = check.published
    if published.foreign:
        path, image_id = published.foreign[0]
        error = BuildFailed(
            f"managed image {image_id} already exists and aibpack did not publish it (it has no {TAG} tag); "
            "Packer cannot overwrite it: delete it or give another imageId",
            path=path,
        )
        raise error.located(options.template)
    image = output_image(compiled.template, compiled.name)
    if capture.gallery_target is not None or image.target_index is None:
        return False
    target_id = compiled.template.properties.distribute[image.target_index].image_id.lower()
    return any(image_id.lower() == target_id for image_id in published.replaceable)
