"""The plan file: a JSON document that is exactly what will be applied, sealed by a digest.

Pure: it turns a `Plan` into a document and back. Reading refuses a document whose digest does
not match its content, and one that holds a write nsfix's planner never makes (the digest is a
self-hash: whoever edits a plan can seal it again). Binding a plan to what the CAB approved is
`approval`'s job.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from nsfix import __version__
from nsfix.canonical import (
    DecodeError,
    canonical_json,
    canonical_text,
    digest,
    digest_text,
    from_jsonable,
)
from nsfix.errors import NsfixError
from nsfix.model import DEFAULT_PARTITION, Snapshot
from nsfix.planner import Plan
from nsfix.shapes import unplanned

SCHEMA: Final = "nsfix.plan"
SCHEMA_VERSION: Final = 1


MAKE_A_NEW_PLAN: Final = "Make a new plan (nsfix plan) and have it reviewed again"


class PlanFileError(NsfixError):
    """The file is not a plan nsfix can trust; the message says why."""


def snapshot_digest(snapshot: Snapshot) -> str:
    """Identifies the configuration a plan was made from (not when or how it was read)."""
    content = {
        "appliance": {
            "url": snapshot.appliance.url,
            "partition": snapshot.appliance.partition,
            "version": snapshot.appliance.version,
        },
        "modes": snapshot.modes,
        "snips": snapshot.snips,
        "vservers": snapshot.vservers,
        "services": snapshot.services,
        "servicegroups": snapshot.servicegroups,
        "servers": snapshot.servers,
        "monitors": snapshot.monitors,
    }
    return digest(content)


def plan_document(plan: Plan) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(plan_file(plan).text)
    return document


@dataclass(frozen=True)
class PlanFile:
    text: str
    """The file's content: the body serialised once, canonically, then its digest."""
    digest: str


def plan_file(plan: Plan) -> PlanFile:
    """The plan file, whose digest is taken from exactly the bytes written (the body, as the
    file holds it) and appended as its last member: one serialisation per run."""
    body = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "nsfix_version": __version__,
        "plan": plan,
        "summary": summary(plan),
    }
    text = canonical_json(body)
    sealed = digest_text(text)
    text = text[:-1]  # the body's closing brace; the digest goes before it (one copy at a time)
    return PlanFile(f'{text},"digest":{json.dumps(sealed)}}}\n', sealed)


def summary(plan: Plan) -> dict[str, Any]:
    return {
        "changes": len(plan.changes),
        "objects": len({(c.object.resource, c.object.name) for c in plan.changes}),
        "vservers": sorted({v for c in plan.changes for v in c.vservers}),
        "refusals": len(plan.refusals),
        "guidance": len(plan.guidance),
        "server_tasks": len(plan.server_tasks),
        "findings": len(plan.findings),
    }


def read_plan_document(document: Any, source: str = "plan") -> Plan:
    """Check schema and digest, then rebuild the plan; any doubt is a `PlanFileError`."""
    if not isinstance(document, Mapping):
        raise PlanFileError(f"{source}: not an nsfix plan (expected a JSON object)")
    if document.get("schema") != SCHEMA:
        raise PlanFileError(f"{source}: not an nsfix plan (schema is {document.get('schema')!r})")
    version = document.get("schema_version")
    if version != SCHEMA_VERSION:
        raise PlanFileError(
            f"{source}: plan schema version {version!r} is not supported "
            f"(this nsfix reads version {SCHEMA_VERSION})"
        )
    stated = document.get("digest")
    body = {k: v for k, v in document.items() if k != "digest"}
    actual = digest_text(canonical_text(body))
    if stated != actual:
        raise PlanFileError(
            f"{source}: the plan's digest does not match its content: it was changed after it "
            f"was made. {MAKE_A_NEW_PLAN}"
        )
    try:
        plan = from_jsonable(Plan, document.get("plan"), "plan")
    except DecodeError as exc:
        raise PlanFileError(f"{source}: malformed plan: {exc}. {MAKE_A_NEW_PLAN}") from None
    assert isinstance(plan, Plan)
    problems = unplanned(plan.changes, plan_partition(plan))
    if problems:
        raise PlanFileError(
            f"{source}: the plan holds writes nsfix's planner never makes, so it was edited "
            f"after it was made: {'; '.join(problems)}. {MAKE_A_NEW_PLAN}"
        )
    return plan


def plan_partition(plan: Plan) -> str:
    """The admin partition every change of the plan is in."""
    return str(plan.target.get("partition") or DEFAULT_PARTITION)


def plan_digest(document: Mapping[str, Any]) -> str:
    return str(document.get("digest", ""))
