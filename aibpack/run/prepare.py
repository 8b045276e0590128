"""Everything before the first write to Azure, for every template of a run: one preflight for all.

Per template: compile, fetch and verify remote files, then (read-only) Azure: the subscription, the source's
``latest``, the inputs digest and the artifacts already tagged with it. An up-to-date template stops there. For the
others packer is checked once, then per template how Packer signs in, the source image and the targets, and the
build is compiled as it will run. Every error of every template is kept, so that all of them can be reported before
anything is built.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aibpack.errors import EXIT_FAILED, AibpackError
from aibpack.inputs import BuildInputs
from aibpack.pipeline import Compiled
from aibpack.run.check import (
    Preflight,
    azure_stage,
    distributable,
    packer_can_build,
    packer_stage,
    preflight_stage,
)
from aibpack.run.compile import canonical_stage, compile_stage
from aibpack.run.fetch import fetch_stage
from aibpack.run.inputs import InputsCheck, inputs_stage, replaces_image
from aibpack.run.report import RunOptions, RunReport

if TYPE_CHECKING:
    from aibpack.azure.clients import AzureContext
    from aibpack.azure.credentials import Credential, Identity

MAX_CHECKS = 8  # templates whose Azure reads run at once


@dataclass
class Prepared:
    """One template between preflight and build; ``report`` already says what preflight found."""

    options: RunOptions
    report: RunReport
    canonical: Compiled | None = None
    offline: BuildInputs | None = None
    staged: dict[str, Path] = field(default_factory=dict)
    ctx: AzureContext | None = None
    check: InputsCheck | None = None
    compiled: Compiled | None = None  # as the run builds it, in the work dir
    preflight: Preflight | None = None
    force_packer: bool = False  # Packer replaces an older build's managed image (``packer build -force``)
    say: Callable[[str], None] = print  # where this template's progress lines go

    @property
    def ok(self) -> bool:
        return self.report.error is None

    @property
    def to_build(self) -> bool:
        return self.ok and self.check is not None and (self.options.force or not self.check.published.up_to_date)

    @property
    def name(self) -> str:
        return self.report.template


@contextlib.contextmanager
def _failing(item: Prepared) -> Iterator[None]:
    """Record an ``AibpackError`` on the template's report instead of raising it."""
    try:
        yield
    except AibpackError as exc:
        item.report.fail(exc)


def prepare_all(items: list[Prepared]) -> None:
    """The preflight of every template; each is then ready to build, up to date, or failed."""
    from aibpack.azure.credentials import make_credential

    options = items[0].options
    credential = make_credential(options.auth, options.environ, options.credential)  # one identity for the run
    for item in items:
        with _failing(item):
            _local(item, credential)
    reachable = [item for item in items if item.ok]
    identity = _sign_in(reachable, credential) if reachable else None
    if identity is None:
        return
    _each(reachable, _inputs)
    building = [item for item in items if item.to_build]
    if building:
        _build_checks(building, identity)


def _local(item: Prepared, credential: Credential) -> None:
    """Compile and fetch: no Resource Manager yet (a bad checksum costs not even a read)."""
    options = item.options
    options.work_dir.mkdir(parents=True, exist_ok=True)
    item.canonical, item.offline = canonical_stage(options)
    item.report.template = item.canonical.name
    distributable(options, item.canonical)
    item.staged = fetch_stage(options, item.canonical, credential)
    if item.staged:
        item.say(f"fetched and verified {len(item.staged)} file(s) into {options.work_dir / 'files'}")


def _sign_in(items: list[Prepared], credential: Credential) -> Identity | None:
    """Each template's subscription (one context, with its clients, per subscription), then one sign-in for all: a
    missing login fails here, before any other request, for every template."""
    from aibpack.azure.credentials import sign_in

    contexts: dict[str, AzureContext] = {}
    for item in items:
        with _failing(item):
            assert item.canonical is not None
            ctx = azure_stage(item.options, item.canonical, credential)
            item.ctx = contexts.setdefault(ctx.subscription_id.lower(), ctx)
    signed = [item for item in items if item.ctx is not None]
    if not signed:
        return None
    try:
        identity = sign_in(signed[0].ctx).identity  # type: ignore[arg-type]
    except AibpackError as exc:
        for item in signed:
            item.report.fail(exc)
        return None
    for ctx in contexts.values():
        ctx.compute, ctx.resources  # noqa: B018 - make the shared clients before the threads do
    assert identity is not None  # a Credential always knows, once it has given a token
    return identity


def _inputs(item: Prepared) -> None:
    """The inputs digest and the artifacts already tagged with it: up to date, or to be built."""
    assert item.canonical is not None and item.offline is not None and item.ctx is not None
    item.check = inputs_stage(item.options, item.ctx, item.canonical, item.offline, item.staged)
    item.report.inputs_digest = item.check.inputs.digest
    item.report.notes.extend(item.check.notes)
    if not item.to_build:
        item.report.mark_up_to_date(item.check.published.outputs)
        item.say(f"up to date: every target holds an artifact tagged {item.report.inputs_tag}")


def _build_checks(items: list[Prepared], identity: Identity) -> None:
    """For what is to be built: packer once, then per template the sign-in for Packer, the source image, the
    targets, and the build compiled as it will run."""
    try:
        packer = packer_stage(items[0].options)
    except AibpackError as exc:
        for item in items:
            item.report.fail(exc)
        return

    def check(item: Prepared) -> None:
        assert item.canonical is not None and item.ctx is not None and item.check is not None
        version = item.check.source_version
        pre = preflight_stage(item.options, item.canonical, item.ctx, packer, identity, version)
        item.preflight = pre
        item.report.notes.extend(pre.notes)
        item.force_packer = replaces_image(item.options, item.canonical, item.check, pre.capture)
        item.compiled = compile_stage(item.options, item.staged, pre.target, pre.capture, version, item.canonical)
        packer_can_build(pre, item.compiled)

    _each(items, check)


def _each(items: list[Prepared], work: Callable[[Prepared], None]) -> None:
    """``work`` for every template at once (Azure reads, each in its own thread); errors stay with their template."""

    def guarded(item: Prepared) -> None:
        with _failing(item):
            work(item)

    with ThreadPoolExecutor(min(len(items), MAX_CHECKS), thread_name_prefix="aibpack-check") as pool:
        list(pool.map(guarded, items))


def preflight_failed(items: list[Prepared]) -> bool:
    """Whether any template failed preflight; then the others are marked as not built, and nothing is."""
    failed = [item.name for item in items if not item.ok]
    if not failed:
        return False
    for item in items:
        if item.ok and item.to_build:
            item.report.status, item.report.exit_code = "Canceled", EXIT_FAILED
            item.report.not_built = f"preflight failed for {', '.join(failed)}"
    return True
