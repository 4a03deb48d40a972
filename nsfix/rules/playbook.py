"""Playbooks: rules as YAML data, checked on load so a bad one names its file, line and field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from nsfix.findings import Remediation, Severity
from nsfix.resources import FLAG_WORDS, is_flag, nitro_value
from nsfix.rules.attributes import attribute_names, updatable
from nsfix.yamlsource import (
    Document,
    Path_,
    expect_list,
    expect_mapping,
    expect_text,
    only_keys,
    parse,
    require,
)

RESOURCES: Final = ("lbvserver", "service", "servicegroup", "defect")
FOLLOW: Final = ("none", "backends", "addresses")
"""`backends`: services and service groups bound to the selected vserver; `addresses`: every
backend address (each service, and each member of each bound group)."""


@dataclass(frozen=True)
class Selector:
    resource: str
    where: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Attribute → accepted values (NetScaler words, upper case): all conditions must hold."""


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: Severity
    select: Selector
    follow: str = "none"
    expect: Mapping[str, str] = field(default_factory=dict)
    check: str | None = None
    remediation: Remediation = field(default_factory=Remediation)
    rationale: str = ""
    reference: str | None = None
    source: str = ""
    """`file:line` of the rule, for messages about it."""


@dataclass(frozen=True)
class Playbook:
    name: str
    description: str
    rules: tuple[Rule, ...]
    source: str


def word(value: Any) -> str:
    """A NetScaler value as a word. YAML 1.1 reads a bare YES/NO/ON/OFF as a boolean."""
    if isinstance(value, bool):
        return "YES" if value else "NO"
    return str(value).strip().upper()


def value_word(doc: Document, path: Path_, attribute: str, value: Any) -> str:
    """A playbook value in NITRO's vocabulary for the attribute (cip ENABLED, usip YES)."""
    text = word(value)
    if not is_flag(attribute):
        return text
    spelled = nitro_value(attribute, text)
    allowed = FLAG_WORDS[attribute]
    if spelled not in allowed:
        raise doc.error(path, f"{text!r} is not a value of {attribute} ({' or '.join(allowed)})")
    return spelled


def load_playbook(text: str, source: str, checks: frozenset[str]) -> Playbook:
    """Parse and check a playbook; `checks` are the built-in check names it may refer to."""
    doc = parse(text, source)
    top = expect_mapping(doc, doc.data, ())
    only_keys(doc, top, (), {"playbook", "description", "version", "rules"})
    name = expect_text(doc, require(doc, top, (), "playbook"), ("playbook",))
    version = top.get("version", 1)
    if version != 1:
        raise doc.error(
            ("version",), f"unsupported playbook version {version!r} (this nsfix reads 1)"
        )
    description = expect_text(doc, top.get("description", ""), ("description",), allow_empty=True)
    rules_raw = expect_list(doc, require(doc, top, (), "rules"), ("rules",))
    if not rules_raw:
        raise doc.error(("rules",), "a playbook needs at least one rule")
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(rules_raw):
        rule = _rule(doc, raw, ("rules", index), checks)
        if rule.id in seen:
            raise doc.error(("rules", index, "id"), f"duplicate rule id {rule.id!r}")
        seen[rule.id] = index
        rules.append(rule)
    return Playbook(name, description, tuple(rules), source)


_RULE_KEYS: Final = {
    "id",
    "title",
    "severity",
    "select",
    "follow",
    "expect",
    "check",
    "remediation",
    "rationale",
    "reference",
}


def _rule(doc: Document, raw: Any, path: Path_, checks: frozenset[str]) -> Rule:
    rule = expect_mapping(doc, raw, path)
    only_keys(doc, rule, path, _RULE_KEYS)
    rule_id = expect_text(doc, require(doc, rule, path, "id"), (*path, "id"))
    title = expect_text(doc, require(doc, rule, path, "title"), (*path, "title"))
    severity_text = expect_text(doc, require(doc, rule, path, "severity"), (*path, "severity"))
    try:
        severity = Severity(severity_text.lower())
    except ValueError:
        raise doc.error(
            (*path, "severity"),
            f"{severity_text!r} is not one of {', '.join(s.value for s in Severity)}",
        ) from None
    select = _selector(doc, require(doc, rule, path, "select"), (*path, "select"))
    follow = expect_text(doc, rule.get("follow", "none"), (*path, "follow"))
    if follow not in FOLLOW:
        raise doc.error((*path, "follow"), f"{follow!r} is not one of {', '.join(FOLLOW)}")
    if follow != "none" and select.resource != "lbvserver":
        raise doc.error((*path, "follow"), "only an lbvserver selection can follow bindings")
    expect: dict[str, str] = {}
    if "expect" in rule:
        values = expect_mapping(doc, rule["expect"], (*path, "expect"))
        if not values:
            raise doc.error((*path, "expect"), "must name at least one attribute")
        expect = {
            str(k): value_word(doc, (*path, "expect", str(k)), str(k), v) for k, v in values.items()
        }
    check = None
    if "check" in rule:
        check = expect_text(doc, rule["check"], (*path, "check"))
        if check not in checks:
            raise doc.error(
                (*path, "check"),
                f"unknown check {check!r} (built-in checks: {', '.join(sorted(checks))})",
            )
    if not expect and check is None:
        raise doc.error(path, "a rule needs 'expect' (attribute values) or 'check' (a built-in)")
    if expect and check is not None:
        raise doc.error(path, "give either 'expect' or 'check', not both")
    subject_resources = _subject_resources(select.resource, follow)
    _check_attributes(doc, select.where, (*path, "select", "where"), (select.resource,))
    _check_attributes(doc, expect, (*path, "expect"), subject_resources)
    remediation = _remediation(doc, rule.get("remediation"), (*path, "remediation"))
    for resource in subject_resources if remediation.set else ():
        for name in remediation.set:
            if name not in updatable(resource):
                allowed = ", ".join(sorted(updatable(resource))) or "nothing"
                raise doc.error(
                    (*path, "remediation", "set", name),
                    f"nsfix does not change {resource} attribute {name!r} (it may set: {allowed})",
                )
    rationale = expect_text(doc, rule.get("rationale", ""), (*path, "rationale"), allow_empty=True)
    reference = rule.get("reference")
    if reference is not None:
        reference = expect_text(doc, reference, (*path, "reference"))
    line = doc.line(path)
    return Rule(
        id=rule_id,
        title=title,
        severity=severity,
        select=select,
        follow=follow,
        expect=expect,
        check=check,
        remediation=remediation,
        rationale=" ".join(rationale.split()),
        reference=reference,
        source=f"{doc.source}:{line}" if line else doc.source,
    )


def _subject_resources(resource: str, follow: str) -> tuple[str, ...]:
    """The object types a rule's expectation and remediation apply to."""
    if follow in {"backends", "addresses"}:
        return ("service", "servicegroup")
    return (resource,)


def _check_attributes(
    doc: Document, values: Mapping[str, Any], path: Path_, resources: tuple[str, ...]
) -> None:
    for name in values:
        for resource in resources:
            if name not in attribute_names(resource):
                known = ", ".join(sorted(attribute_names(resource))) or "none"
                problem = f"{resource} has no attribute {name!r} that nsfix reads ({known})"
                raise doc.error((*path, name), problem)


def _selector(doc: Document, raw: Any, path: Path_) -> Selector:
    select = expect_mapping(doc, raw, path)
    only_keys(doc, select, path, {"resource", "where"})
    resource = expect_text(doc, require(doc, select, path, "resource"), (*path, "resource"))
    if resource not in RESOURCES:
        raise doc.error((*path, "resource"), f"{resource!r} is not one of {', '.join(RESOURCES)}")
    where: dict[str, tuple[str, ...]] = {}
    if "where" in select:
        conditions = expect_mapping(doc, select["where"], (*path, "where"))
        for key, value in conditions.items():
            values = value if isinstance(value, list) else [value]
            if not values:
                raise doc.error((*path, "where", str(key)), "needs at least one value")
            where[str(key)] = tuple(
                value_word(doc, (*path, "where", str(key)), str(key), v) for v in values
            )
    return Selector(resource, where)


def _remediation(doc: Document, raw: Any, path: Path_) -> Remediation:
    if raw is None:
        return Remediation()
    remediation = expect_mapping(doc, raw, path)
    only_keys(doc, remediation, path, {"set", "guidance", "bind_monitor"})
    values: dict[str, str] = {}
    if "set" in remediation:
        mapping = expect_mapping(doc, remediation["set"], (*path, "set"))
        values = {
            str(k): value_word(doc, (*path, "set", str(k)), str(k), v) for k, v in mapping.items()
        }
    guidance = expect_text(
        doc, remediation.get("guidance", ""), (*path, "guidance"), allow_empty=True
    )
    bind = remediation.get("bind_monitor")
    if bind is not None:
        bind = expect_text(doc, bind, (*path, "bind_monitor"))
    return Remediation(set=values, guidance=" ".join(guidance.split()), bind_monitor=bind)
