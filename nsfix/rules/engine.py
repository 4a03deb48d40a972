"""Evaluate playbooks over a snapshot: select objects, follow bindings, test, waive, aggregate."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from nsfix.canonical import digest
from nsfix.findings import AuditResult, Finding, ObjectRef, PlaybookRef, Unevaluated, Waiver
from nsfix.model import DataDefect, LbVserver, Service, ServiceGroup, Snapshot
from nsfix.rules.attributes import attribute_word
from nsfix.rules.checks import CHECKS, BackendAddress, Subject, Unknown, Verdict, Violation
from nsfix.rules.playbook import Playbook, Rule, load_playbook
from nsfix.rules.waivers import find_waiver

BUILTIN_PLAYBOOKS = Path(__file__).resolve().parent.parent / "playbooks"


@dataclass(frozen=True)
class PathVerdict:
    """What the packet-path model says about a subject reached through one vserver."""

    outcome: str
    healthy: bool
    proven_healthy: bool
    """Healthy from known facts alone, with nothing assumed."""


FlowExplainer = Callable[[Snapshot, LbVserver, Subject], PathVerdict | None]
"""Given a finding's vserver and subject, the packet path that shows (or disproves) the harm."""


def trace_vserver_of(snapshot: Snapshot, subject: Subject) -> LbVserver | None:
    """The vserver to trace a subject through: the one it was reached by, else its first."""
    if subject.via is not None:
        return subject.via
    obj = subject.obj
    if isinstance(obj, Service):
        bound = snapshot.vservers_of_service(obj.name)
    elif isinstance(obj, ServiceGroup):
        bound = snapshot.vservers_of_servicegroup(obj.name)
    else:
        return None
    return min(bound, key=lambda vs: vs.name) if bound else None


def _backup_note(snapshot: Snapshot, subject: Subject) -> str:
    """On a backup chain, say which virtual server is the primary: the one clients use."""
    if subject.via is None:
        return ""
    primaries = snapshot.primaries_of(subject.via.name)
    if not primaries:
        return ""
    return f" ({subject.via.name} is the backup of {', '.join(primaries)})"


def parse_playbook(text: str, source: str) -> Playbook:
    return load_playbook(text, source, frozenset(CHECKS))


def service_ref(service: Service) -> ObjectRef:
    return ObjectRef("service", service.name, service.partition)


def group_ref(group: ServiceGroup) -> ObjectRef:
    return ObjectRef("servicegroup", group.name, group.partition)


def backends(snapshot: Snapshot, vs: LbVserver) -> Iterator[Subject]:
    for name in vs.services:
        service = snapshot.services.get(name)
        if service is not None:
            yield Subject(service_ref(service), service, vs)
    for name in vs.servicegroups:
        group = snapshot.servicegroups.get(name)
        if group is not None:
            yield Subject(group_ref(group), group, vs)


def addresses(snapshot: Snapshot, vs: LbVserver) -> Iterator[Subject]:
    for subject in backends(snapshot, vs):
        owner = subject.obj
        if isinstance(owner, Service):
            yield Subject(
                subject.ref,
                BackendAddress(owner, None, owner.address, owner.address_text, owner.port),
                vs,
            )
        elif isinstance(owner, ServiceGroup):
            for member in owner.members:
                label = member.address_text or member.servername or "?"
                ref = replace(subject.ref, member=f"{label}:{member.port}")
                yield Subject(
                    ref,
                    BackendAddress(owner, member, member.address, member.address_text, member.port),
                    vs,
                )


def matches_where(resource: str, obj: object, rule: Rule) -> bool:
    return all(
        attribute_word(resource, obj, name) in accepted
        for name, accepted in rule.select.where.items()
    )


def subjects(snapshot: Snapshot, rule: Rule) -> Iterator[Subject]:
    resource = rule.select.resource
    if resource == "defect":
        for defect in snapshot.defects:
            yield Subject(ObjectRef(defect.resource, defect.name, defect.partition), defect)
        return
    if resource == "lbvserver":
        for vs in sorted(snapshot.vservers.values(), key=lambda v: v.name):
            if vs.m is None or not matches_where(resource, vs, rule):
                continue  # an unknown mode is a data defect of its own, not a guess
            if rule.follow == "backends":
                yield from backends(snapshot, vs)
            elif rule.follow == "addresses":
                yield from addresses(snapshot, vs)
            else:
                yield Subject(ObjectRef("lbvserver", vs.name, vs.partition), vs)
        return
    if resource == "service":
        for service in sorted(snapshot.services.values(), key=lambda s: s.name):
            if matches_where(resource, service, rule):
                yield Subject(service_ref(service), service)
        return
    for group in sorted(snapshot.servicegroups.values(), key=lambda g: g.name):
        if matches_where(resource, group, rule):
            yield Subject(group_ref(group), group)


def expectation(rule: Rule, subject: Subject) -> Verdict:
    obj = subject.obj
    owner = obj.owner if isinstance(obj, BackendAddress) else obj
    if isinstance(owner, DataDefect):
        return None
    resource = subject.ref.resource
    for name, expected in rule.expect.items():
        current = attribute_word(resource, owner, name)
        if current is None:
            return Unknown(name, f"the appliance did not report {name}")
        if current != expected:
            # The effective value of an attribute the object does not set is the global mode's.
            inherited = name == "usip" and getattr(owner, "usip_inherited", False)
            how = " (not set on the object: it follows the global USIP mode)" if inherited else ""
            return Violation(
                name,
                current,
                expected,
                f"{subject.ref}: {name} is {current}{how}, expected {expected}",
            )
    return None


def judge(rule: Rule, subject: Subject, snapshot: Snapshot) -> Verdict:
    if rule.check is not None:
        return CHECKS[rule.check](subject, snapshot)
    return expectation(rule, subject)


@dataclass
class _Pending:
    finding: Finding
    via: list[str]


def evaluate(
    snapshot: Snapshot,
    playbooks: Sequence[Playbook],
    *,
    waivers: Iterable[Waiver] = (),
    today: date,
    explain: FlowExplainer | None = None,
) -> AuditResult:
    """All findings of all rules: one per (rule, object), with every vserver it was reached by."""
    waiver_list = tuple(waivers)
    pending: dict[tuple[str, ObjectRef, str], _Pending] = {}
    unevaluated: dict[tuple[str, ObjectRef, str], Unevaluated] = {}
    expired: dict[str, Waiver] = {}
    checked: dict[tuple[str, ObjectRef], None] = {}
    for playbook in playbooks:
        for rule in playbook.rules:
            for subject in subjects(snapshot, rule):
                verdict = judge(rule, subject, snapshot)
                if isinstance(verdict, Unknown):
                    key3 = (rule.id, subject.ref, verdict.attribute)
                    unevaluated.setdefault(
                        key3, Unevaluated(rule.id, subject.ref, verdict.attribute, verdict.reason)
                    )
                    continue
                if verdict is None:
                    checked[(rule.id, subject.ref)] = None
                    continue
                # Every defect of an object is its own finding; other rules give one per object.
                detail = verdict.attribute or "" if rule.select.resource == "defect" else ""
                key = (rule.id, subject.ref, detail)
                via = subject.via.name if subject.via is not None else None
                if key in pending:
                    if via and via not in pending[key].via:
                        pending[key].via.append(via)
                    continue
                flow = verdict.flow
                traced_vs = trace_vserver_of(snapshot, subject)
                path = explain(snapshot, traced_vs, subject) if explain and traced_vs else None
                if path is not None:
                    if verdict.flow is not None and path.proven_healthy:
                        # The check predicted harm; what is known about the servers rules it out.
                        checked[(rule.id, subject.ref)] = None
                        continue
                    # A healthy path that rests on assumptions does not overrule the prediction.
                    if not (path.healthy and verdict.flow is not None):
                        flow = path.outcome
                waiver, lapsed = find_waiver(waiver_list, rule.id, subject.ref, today)
                for item in lapsed:
                    expired.setdefault(f"{item.source}|{item.rule}|{item.object}", item)
                finding = Finding(
                    rule=rule.id,
                    title=rule.title,
                    severity=rule.severity,
                    object=subject.ref,
                    message=verdict.message + _backup_note(snapshot, subject),
                    attribute=verdict.attribute,
                    current=verdict.current,
                    expected=verdict.expected,
                    rationale=rule.rationale,
                    reference=rule.reference,
                    remediation=rule.remediation,
                    flow=flow,
                    waiver=waiver,
                )
                pending[key] = _Pending(finding, [via] if via else [])
    findings = sorted(
        (replace(p.finding, via=tuple(p.via)) for p in pending.values()),
        key=lambda f: (-f.severity.rank, f.rule, f.object.sort_key, f.attribute or ""),
    )
    return AuditResult(
        findings=tuple(findings),
        unevaluated=tuple(unevaluated.values()),
        expired_waivers=tuple(expired.values()),
        passed=tuple(key for key in checked if (*key, "") not in pending),
        playbooks=tuple(PlaybookRef(p.name, p.source, digest(p)) for p in playbooks),
    )
