"""What an audit says: findings with their severity, object, evidence and permitted remediation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from nsfix.exitcodes import ExitCode
from nsfix.model import DEFAULT_PARTITION, Snapshot


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Severity) -> bool:
        return self.rank >= other.rank


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


@dataclass(frozen=True)
class ObjectRef:
    """An appliance object in NITRO's words: `service/svc_app1`, `servicegroup/sg_web`."""

    resource: str
    name: str
    partition: str = DEFAULT_PARTITION
    member: str | None = None
    """For a service-group member: `address:port` inside the group `name`."""

    @property
    def sort_key(self) -> tuple[str, str, str, str]:
        # A group's own findings sort before those of its members (member None vs text).
        return (self.partition, self.resource, self.name, self.member or "")

    def __str__(self) -> str:
        where = "" if self.partition == DEFAULT_PARTITION else f"{self.partition}:"
        inner = f" member {self.member}" if self.member else ""
        return f"{where}{self.resource}/{self.name}{inner}"


@dataclass(frozen=True)
class Remediation:
    """What a rule allows the planner to do about a finding."""

    set: Mapping[str, str] = field(default_factory=dict)
    """Attribute values to write on the object (NITRO names and values, e.g. usip: YES)."""
    guidance: str = ""
    """What a person must do when nsfix may not or cannot change it."""
    bind_monitor: str | None = None
    """Opt-in: a monitor the planner may bind (only with the planner's explicit permission)."""

    @property
    def automatic(self) -> bool:
        return bool(self.set)


@dataclass(frozen=True)
class Waiver:
    """An accepted exception: (rule, object) hidden until it expires."""

    rule: str
    object: str
    """`resource/name`, optionally `partition:resource/name`; `*` for any object."""
    reason: str
    owner: str
    expires: date
    source: str = ""

    def active(self, today: date) -> bool:
        return today <= self.expires


@dataclass(frozen=True)
class Finding:
    """One rule broken by one object, with the evidence and what may be done about it."""

    rule: str
    title: str
    severity: Severity
    object: ObjectRef
    message: str
    via: tuple[str, ...] = ()
    """The virtual servers through which the object was reached."""
    attribute: str | None = None
    current: str | None = None
    expected: str | None = None
    rationale: str = ""
    reference: str | None = None
    remediation: Remediation = field(default_factory=Remediation)
    flow: str | None = None
    """The packet-path outcome that explains the harm (`loop`, `mac-not-learned`, ...)."""
    waiver: Waiver | None = None

    @property
    def waived(self) -> bool:
        return self.waiver is not None

    def key(self) -> tuple[str, str, str]:
        """Stable identity across runs (for `--since` comparisons)."""
        return (self.rule, str(self.object), self.attribute or "")


@dataclass(frozen=True)
class Unevaluated:
    """A rule that could not be decided for an object: the value it needs is not reported."""

    rule: str
    object: ObjectRef
    attribute: str
    reason: str


@dataclass(frozen=True)
class PlaybookRef:
    """Which rules an audit used: name, file, and a digest of the rules as loaded."""

    name: str
    source: str
    digest: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class AuditResult:
    """Everything one audit of one snapshot produced."""

    findings: tuple[Finding, ...]
    unevaluated: tuple[Unevaluated, ...] = ()
    expired_waivers: tuple[Waiver, ...] = ()
    playbooks: tuple[PlaybookRef, ...] = ()
    passed: tuple[tuple[str, ObjectRef], ...] = ()
    """(rule, object) pairs that were checked and complied: the passing test cases of JUnit."""
    refused: Mapping[ObjectRef, str] = field(default_factory=dict)
    """Objects whose automatic fix nsfix plan would refuse, with why: a report must not promise
    a fix the plan will not make."""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def active(self) -> list[Finding]:
        return [f for f in self.findings if not f.waived]

    def worst(self) -> Severity | None:
        active = self.active()
        return max((f.severity for f in active), key=lambda s: s.rank) if active else None

    def counts(self) -> dict[str, int]:
        """Active findings per severity, waived ones, and rules that could not be decided."""
        out = {s.value: 0 for s in Severity}
        out["waived"] = 0
        for finding in self.findings:
            out["waived" if finding.waived else finding.severity.value] += 1
        out["unevaluated"] = len(self.unevaluated)
        return out

    def fails(self, threshold: Severity) -> bool:
        return any(f.severity.at_least(threshold) for f in self.active())


@dataclass(frozen=True)
class TargetAudit:
    """One appliance partition: its audit, or why it could not be audited."""

    url: str
    partition: str
    snapshot: Snapshot | None
    result: AuditResult | None
    error: str | None = None
    appliance: str | None = None
    """The appliance's name in the fleet file (None outside a fleet): what people call it."""

    @property
    def ok(self) -> bool:
        return self.result is not None

    @property
    def where(self) -> str:
        """`edge-01 (https://10.0.0.10)` in a fleet, the URL alone otherwise."""
        return f"{self.appliance} ({self.url})" if self.appliance else self.url


def audit_exit_code(targets: Sequence[TargetAudit], fail_on: Severity) -> ExitCode:
    """0 compliant, 1 nothing could be read, 2 findings at or above `fail_on`, 3 partial, 8 both.

    Partial with findings is a code of its own (8), so neither fact hides the other: a job that
    treats 2 as "see the report" still hears about an appliance it could not read.
    """
    read = [t for t in targets if t.result is not None]
    if not read:
        return ExitCode.ERROR
    findings = any(t.result.fails(fail_on) for t in read if t.result is not None)
    if len(read) < len(targets):
        return ExitCode.PARTIAL_FINDINGS if findings else ExitCode.PARTIAL
    if findings:
        return ExitCode.FINDINGS
    return ExitCode.OK
