"""Audit results as JUnit XML: a test case per rule and object, so CI dashboards show compliance."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from urllib.parse import urlsplit

from nsfix.findings import Finding, ObjectRef, TargetAudit
from nsfix.rules.playbook import Playbook

READ_CLASSNAME: Final = "nsfix.read"
"""The classname of the one test case of an appliance partition that could not be read."""

# XML 1.0 cannot carry most C0 controls, not even escaped; an appliance name may hold them.
_NOT_XML: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: object) -> str:
    """Text safe for XML 1.0: characters XML cannot carry become U+FFFD."""
    return _NOT_XML.sub("\ufffd", str(value))


def suite_name(target: TargetAudit) -> str:
    return f"{target.where} [{target.partition}]"


def rule_titles(playbooks: Sequence[Playbook], targets: Sequence[TargetAudit]) -> dict[str, str]:
    """Rule id → title, from the playbooks and, for rules they do not list, from the findings."""
    titles = {rule.id: rule.title for book in playbooks for rule in book.rules}
    for target in targets:
        if target.result is not None:
            for finding in target.result.findings:
                titles.setdefault(finding.rule, finding.title)
    return titles


def case_name(ref: ObjectRef, title: str | None) -> str:
    """The same name whether the case passes or fails, so dashboards track it across runs."""
    return f"{ref} — {title}" if title else str(ref)


def failure_text(finding: Finding, refused: str | None = None) -> str:
    lines = [finding.message]
    if finding.attribute:
        lines.append(
            f"{finding.attribute}: current {finding.current or '-'}, "
            f"expected {finding.expected or '-'}"
        )
    if finding.via:
        lines.append(f"reached through: {', '.join(finding.via)}")
    if finding.flow:
        lines.append(f"packet path: {finding.flow}")
    if finding.rationale:
        lines.append(f"why: {finding.rationale}")
    if finding.remediation.automatic and refused:
        lines.append(f"not fixed automatically: {refused}")
    elif finding.remediation.automatic:
        fix = ", ".join(f"{k} {v}" for k, v in finding.remediation.set.items())
        lines.append(f"fix: nsfix plan sets {fix}")
    if finding.remediation.guidance:
        lines.append(f"guidance: {finding.remediation.guidance}")
    if finding.reference:
        lines.append(f"reference: {finding.reference}")
    return "\n".join(lines)


@dataclass
class Counts:
    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0

    def add(self, other: Counts) -> None:
        self.tests += other.tests
        self.failures += other.failures
        self.errors += other.errors
        self.skipped += other.skipped

    def attributes(self) -> dict[str, str]:
        return {
            "tests": str(self.tests),
            "failures": str(self.failures),
            "errors": str(self.errors),
            "skipped": str(self.skipped),
        }


def _element(parent: ET.Element, tag: str, attributes: Mapping[str, object]) -> ET.Element:
    return ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attributes.items()})


def _case(suite: ET.Element, classname: str, name: str) -> ET.Element:
    return _element(suite, "testcase", {"classname": classname, "name": name, "time": "0"})


def _unique(names: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    seen: dict[tuple[str, str], int] = {}
    for key in names:
        seen[key] = seen.get(key, 0) + 1
    return seen


def _timestamp(moment: datetime) -> str:
    # The Ant JUnit schema wants a local date-time without an offset: write it in UTC.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _properties(suite: ET.Element, values: Mapping[str, str]) -> None:
    holder = ET.SubElement(suite, "properties")
    for name, value in values.items():
        _element(holder, "property", {"name": name, "value": value})


def _target_suite(
    root: ET.Element, target: TargetAudit, titles: Mapping[str, str], generated_at: datetime
) -> Counts:
    counts = Counts()
    facts = target.snapshot.appliance if target.snapshot is not None else None
    suite = _element(
        root,
        "testsuite",
        {
            "name": suite_name(target),
            "timestamp": _timestamp(
                target.snapshot.collected_at if target.snapshot else generated_at
            ),
            "hostname": (facts.hostname if facts and facts.hostname else None)
            or urlsplit(target.url).hostname
            or target.url,
        },
    )
    props = {"url": target.url, "partition": target.partition}
    if target.appliance is not None:
        props["appliance"] = target.appliance
    if facts is not None:
        props |= {"ha_role": facts.ha_role, "release": facts.release or facts.version}
    if target.result is not None:
        for book in target.result.playbooks:
            props[f"playbook.{book.name}"] = f"{book.source} {book.digest}"
    _properties(suite, props)

    result = target.result
    if result is None:
        case = _case(suite, READ_CLASSNAME, f"read {suite_name(target)}")
        error = _element(
            case, "error", {"message": target.error or "not read", "type": "unreadable"}
        )
        error.text = xml_text(
            f"{target.where} partition {target.partition} could not be read, so no rule was "
            f"checked there: {target.error or 'not read'}"
        )
        counts.tests, counts.errors = 1, 1
    else:
        decided = {(f.rule, f.object) for f in result.findings}
        multiple = _unique((f.rule, str(f.object)) for f in result.findings)
        for finding in result.findings:
            name = case_name(finding.object, titles.get(finding.rule) or finding.title)
            if multiple[(finding.rule, str(finding.object))] > 1 and finding.attribute:
                name = f"{name} [{finding.attribute}]"
            case = _case(suite, finding.rule, name)
            counts.tests += 1
            if finding.waiver is not None:
                waiver = finding.waiver
                _element(
                    case,
                    "skipped",
                    {
                        "message": f"waived until {waiver.expires} by {waiver.owner}: "
                        f"{waiver.reason}"
                    },
                )
                counts.skipped += 1
            else:
                failure = _element(
                    case, "failure", {"message": finding.message, "type": finding.severity.value}
                )
                failure.text = xml_text(failure_text(finding, result.refused.get(finding.object)))
                counts.failures += 1
        undecided = set()
        for item in result.unevaluated:
            if (item.rule, item.object) in decided or (item.rule, item.object) in undecided:
                continue
            undecided.add((item.rule, item.object))
            case = _case(suite, item.rule, case_name(item.object, titles.get(item.rule)))
            _element(case, "skipped", {"message": f"not evaluated: {item.reason}"})
            counts.tests += 1
            counts.skipped += 1
        for rule, ref in result.passed:
            if (rule, ref) in decided or (rule, ref) in undecided:
                continue
            _case(suite, rule, case_name(ref, titles.get(rule)))
            counts.tests += 1
    for name, value in counts.attributes().items():
        suite.set(name, value)
    suite.set("time", "0")
    return counts


def render_junit(
    targets: Sequence[TargetAudit],
    playbooks: Sequence[Playbook],
    *,
    generated_at: datetime | None = None,
) -> str:
    """One <testsuite> per appliance partition; failures for findings, skipped for waived ones.

    `generated_at` stamps the suites of partitions that could not be read (default: now).
    """
    moment = generated_at or datetime.now(UTC)
    titles = rule_titles(playbooks, targets)
    root = ET.Element("testsuites", {"name": "nsfix audit"})
    total = Counts()
    for target in targets:
        total.add(_target_suite(root, target, titles, moment))
    for name, value in total.attributes().items():
        root.set(name, value)
    root.set("time", "0")
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
