"""The plan file: a JSON document that is exactly what will be applied, sealed by a digest.

Pure: it turns a `Plan` into a document and back. What many records share is said once: a
rule's title, severity, rationale, reference and remediation in `rules` (a finding keeps only
what differs), the SNIPs server tasks name in `snips`, the appliance in `target`; so the file
grows with the changes, not with the appliance. Reading refuses a document whose digest does
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
    jsonable,
)
from nsfix.errors import NsfixError
from nsfix.model import DEFAULT_PARTITION, Snapshot
from nsfix.planner import Plan
from nsfix.shapes import unplanned

SCHEMA: Final = "nsfix.plan"
SCHEMA_VERSION: Final = 2
"""2: findings share their rule's facts (`rules`), server tasks are facts without their steps,
SNIPs are named once (`snips`), and one packet path stands for the virtual servers alike."""
RULE_FACTS: Final = ("title", "severity", "rationale", "reference", "remediation")


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
        "plan": plan_content(plan),
        "summary": summary(plan),
    }
    text = canonical_json(body)
    sealed = digest_text(text)
    text = text[:-1]  # the body's closing brace; the digest goes before it (one copy at a time)
    return PlanFile(f'{text},"digest":{json.dumps(sealed)}}}\n', sealed)


def plan_content(plan: Plan) -> dict[str, Any]:
    """The `plan` member: the plan's records, with what findings share said once in `rules`."""
    content: dict[str, Any] = jsonable(plan)
    rules: dict[str, dict[str, Any]] = {}
    for part in ("findings", "guidance"):
        content[part] = [_own_facts(finding, rules) for finding in content[part]]
    content["rules"] = rules
    return content


def _own_facts(finding: dict[str, Any], rules: dict[str, dict[str, Any]]) -> dict[str, Any]:
    shared = rules.setdefault(finding["rule"], {k: finding[k] for k in RULE_FACTS})
    return {k: v for k, v in finding.items() if k not in RULE_FACTS or shared[k] != v}


def _with_rule_facts(content: Any, source: str) -> Any:
    """The `plan` member with each finding whole again, as `Plan` holds it."""
    if not isinstance(content, Mapping):
        return content
    rules = content.get("rules")
    if not isinstance(rules, Mapping):
        raise PlanFileError(
            f"{source}: malformed plan: plan.rules: expected an object. {MAKE_A_NEW_PLAN}"
        )
    whole = {k: v for k, v in content.items() if k != "rules"}
    for part in ("findings", "guidance"):
        findings = content.get(part)
        if not isinstance(findings, list):
            continue
        whole[part] = []
        for index, finding in enumerate(findings):
            rule = finding.get("rule") if isinstance(finding, Mapping) else None
            facts = rules.get(rule) if isinstance(rule, str) else None
            if not isinstance(facts, Mapping):
                raise PlanFileError(
                    f"{source}: malformed plan: plan.{part}[{index}] names rule {rule!r}, "
                    f"which plan.rules does not hold. {MAKE_A_NEW_PLAN}"
                )
            whole[part].append({**facts, **finding})
    return whole


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
        made = ""
        if isinstance(version, int) and not isinstance(version, bool):
            made = " by an older nsfix" if version < SCHEMA_VERSION else " by a newer nsfix"
        raise PlanFileError(
            f"{source}: plan schema version {version!r} is not supported "
            f"(this nsfix reads version {SCHEMA_VERSION}): the plan was made{made or ' elsewhere'}"
            f". {MAKE_A_NEW_PLAN}"
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
        plan = from_jsonable(Plan, _with_rule_facts(document.get("plan"), source), "plan")
    except DecodeError as exc:
        raise PlanFileError(f"{source}: malformed plan: {exc}. {MAKE_A_NEW_PLAN}") from None
    assert isinstance(plan, Plan)
    named = {snip.address for snip in plan.snips}
    for index, task in enumerate(plan.server_tasks):
        unknown = [gateway for gateway in task.gateways if gateway not in named]
        if unknown:
            raise PlanFileError(
                f"{source}: malformed plan: plan.server_tasks[{index}].gateways names "
                f"{', '.join(unknown)}, which plan.snips does not hold. {MAKE_A_NEW_PLAN}"
            )
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
