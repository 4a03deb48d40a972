"""Audit results as SARIF 2.1.0, for code-scanning dashboards: rules with help, one result each."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from nsfix.findings import Finding, ObjectRef, Remediation, Severity, TargetAudit, Unevaluated
from nsfix.reports.text import remediation_text
from nsfix.rules.playbook import Playbook
from nsfix.sourcemap import BOUND, CHANGED, DEFINED, of_snapshot

SARIF_VERSION: Final = "2.1.0"
SARIF_SCHEMA: Final = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
FINGERPRINT_KEY: Final = "nsfixObject/v1"
"""partialFingerprints key: rule, appliance, partition and object; `/v1` names the recipe."""
LOCATION_KIND: Final = "resource"
"""A SARIF well-known logicalLocation kind; NITRO calls every configuration object a resource."""

LEVELS: Final[Mapping[Severity, str]] = {
    Severity.CRITICAL: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "note",
}


def level(severity: Severity) -> str:
    return LEVELS[severity]


def rule_name(rule_id: str) -> str:
    """SARIF wants an identifier-like name: `DSR-USIP` → `DsrUsip`."""
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", rule_id) if part)


def help_text(remediation: Remediation) -> str:
    return remediation_text(remediation)


def _descriptor(
    rule_id: str,
    title: str,
    severity: Severity,
    rationale: str,
    reference: str | None,
    remediation: Remediation,
    playbook: str | None,
) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "id": rule_id,
        "name": rule_name(rule_id) or rule_id,
        "shortDescription": {"text": title or rule_id},
    }
    if rationale:
        descriptor["fullDescription"] = {"text": rationale}
    if reference and reference.startswith(("https://", "http://")):
        descriptor["helpUri"] = reference
    descriptor["help"] = {"text": help_text(remediation)}
    descriptor["defaultConfiguration"] = {"level": level(severity)}
    properties: dict[str, Any] = {"severity": severity.value}
    if playbook:
        properties["playbook"] = playbook
        properties["tags"] = ["netscaler", playbook]
    descriptor["properties"] = properties
    return descriptor


def rule_descriptors(
    playbooks: Sequence[Playbook], targets: Sequence[TargetAudit]
) -> list[dict[str, Any]]:
    """Every rule of the playbooks, in load order; then rules only known from findings."""
    out: list[dict[str, Any]] = []
    known: set[str] = set()
    for book in playbooks:
        for rule in book.rules:
            if rule.id in known:
                continue
            known.add(rule.id)
            out.append(
                _descriptor(
                    rule.id,
                    rule.title,
                    rule.severity,
                    rule.rationale,
                    rule.reference,
                    rule.remediation,
                    book.name,
                )
            )
    for target in targets:
        if target.result is None:
            continue
        for finding in target.result.findings:
            if finding.rule in known:
                continue
            known.add(finding.rule)
            out.append(
                _descriptor(
                    finding.rule,
                    finding.title,
                    finding.severity,
                    finding.rationale,
                    finding.reference,
                    finding.remediation,
                    None,
                )
            )
        for item in target.result.unevaluated:
            if item.rule not in known:
                known.add(item.rule)
                out.append(
                    {
                        "id": item.rule,
                        "name": rule_name(item.rule) or item.rule,
                        "shortDescription": {"text": item.rule},
                    }
                )
    return out


def qualified_name(url: str, partition: str, ref: ObjectRef) -> str:
    name = f"{url.rstrip('/')}/{partition}/{ref.resource}/{ref.name}"
    return f"{name}/member/{ref.member}" if ref.member else name


def fingerprint(
    rule: str, url: str, partition: str, ref: ObjectRef, attribute: str | None = None
) -> str:
    """Stable across runs for one rule on one object (and attribute) of one appliance partition.

    The appliance is part of it: a fleet has many `service/svc_web`, each its own alert.
    """
    parts = [rule, url.rstrip("/"), partition, ref.resource, ref.name, ref.member or ""]
    key = "\n".join([*parts, attribute or ""])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


ROLE_TEXT: Final[Mapping[str, str]] = {
    DEFINED: "defined here",
    CHANGED: "changed here",
    BOUND: "bound here",
}


def _physical(path: str, line: int) -> dict[str, Any]:
    return {"artifactLocation": {"uri": path}, "region": {"startLine": line}}


def _location(target: TargetAudit, ref: ObjectRef) -> dict[str, Any]:
    """The object by name (logical) and, when the snapshot knows its file, by line (physical:
    code-scanning services place results only there)."""
    name = f"{ref.name} member {ref.member}" if ref.member else ref.name
    location: dict[str, Any] = {}
    source = of_snapshot(target.snapshot.extra) if target.snapshot is not None else None
    if source is not None and source.path is not None:
        mentions = source.of(ref.resource, ref.name, ref.member)
        # An object the file does not write (a built-in monitor) points at the file's start.
        location["physicalLocation"] = _physical(source.path, mentions[0].line if mentions else 1)
    location["logicalLocations"] = [
        {
            "name": name,
            "fullyQualifiedName": qualified_name(target.url, target.partition, ref),
            "kind": LOCATION_KIND,
        }
    ]
    return location


def _related(target: TargetAudit, ref: ObjectRef) -> list[dict[str, Any]]:
    """The other lines that changed or bound the object (the first one defined it)."""
    source = of_snapshot(target.snapshot.extra) if target.snapshot is not None else None
    if source is None or source.path is None:
        return []
    path = source.path
    return [
        {
            "id": index,
            "physicalLocation": _physical(path, mention.line),
            "message": {"text": f"{ref} {ROLE_TEXT.get(mention.role, mention.role)}"},
        }
        for index, mention in enumerate(source.of(ref.resource, ref.name, ref.member)[1:], 1)
    ]


def _finding_result(
    finding: Finding, target: TargetAudit, index: Mapping[str, int]
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": index[finding.rule],
        "level": level(finding.severity),
        "message": {"text": finding.message},
        "locations": [_location(target, finding.object)],
        "partialFingerprints": {
            FINGERPRINT_KEY: fingerprint(
                finding.rule, target.url, target.partition, finding.object, finding.attribute
            )
        },
    }
    related = _related(target, finding.object)
    if related:
        result["relatedLocations"] = related
    if finding.waiver is not None:
        waiver = finding.waiver
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": (
                    f"{waiver.reason} (waived by {waiver.owner} until {waiver.expires}"
                    + (f", {waiver.source}" if waiver.source else "")
                    + ")"
                ),
            }
        ]
    properties: dict[str, Any] = {"severity": finding.severity.value, "object": str(finding.object)}
    if target.appliance is not None:
        properties["appliance"] = target.appliance
    for name in ("attribute", "current", "expected", "flow"):
        value = getattr(finding, name)
        if value is not None:
            properties[name] = value
    if finding.via:
        properties["via"] = list(finding.via)
    result["properties"] = properties
    return result


def _unevaluated_result(
    item: Unevaluated, target: TargetAudit, index: Mapping[str, int]
) -> dict[str, Any]:
    # SARIF's "open": the tool could not tell pass from fail; its level must then be "none".
    return {
        "ruleId": item.rule,
        "ruleIndex": index[item.rule],
        "kind": "open",
        "level": "none",
        "message": {"text": f"{item.object}: not evaluated: {item.reason}"},
        "locations": [_location(target, item.object)],
        "partialFingerprints": {
            FINGERPRINT_KEY: fingerprint(
                item.rule, target.url, target.partition, item.object, item.attribute
            )
        },
        "properties": {"attribute": item.attribute, "object": str(item.object)},
    }


def sarif_document(
    targets: Sequence[TargetAudit], playbooks: Sequence[Playbook], *, tool_version: str
) -> dict[str, Any]:
    """One run: every playbook rule, a result per finding (waived ones suppressed) and per
    unevaluated pair; a partition that could not be read is a failed-invocation notification."""
    rules = rule_descriptors(playbooks, targets)
    index = {rule["id"]: position for position, rule in enumerate(rules)}
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    for target in targets:
        if target.result is None:
            notifications.append(
                {
                    "level": "error",
                    "message": {
                        "text": f"{target.where} partition {target.partition} could not be "
                        f"audited: {target.error or 'not read'}"
                    },
                    "locations": [
                        {
                            "logicalLocations": [
                                {
                                    "name": target.partition,
                                    "fullyQualifiedName": (
                                        f"{target.url.rstrip('/')}/{target.partition}"
                                    ),
                                    "kind": "namespace",
                                }
                            ]
                        }
                    ],
                }
            )
            continue
        results.extend(_finding_result(f, target, index) for f in target.result.findings)
        results.extend(_unevaluated_result(u, target, index) for u in target.result.unevaluated)
    invocation: dict[str, Any] = {"executionSuccessful": not notifications}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "nsfix",
                        "version": tool_version,
                        "rules": rules,
                    }
                },
                "invocations": [invocation],
                "results": results,
                "properties": {
                    "targets": [
                        {
                            "url": t.url,
                            "appliance": t.appliance,
                            "partition": t.partition,
                            "status": "ok" if t.ok else "error",
                        }
                        for t in targets
                    ]
                },
            }
        ],
    }


def render_sarif(
    targets: Sequence[TargetAudit], playbooks: Sequence[Playbook], *, tool_version: str
) -> str:
    """The SARIF log as indented JSON text, ending in a newline."""
    document = sarif_document(targets, playbooks, tool_version=tool_version)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
