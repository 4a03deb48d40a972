"""The records a plan is made of: NITRO writes with their undo, refusals, server-side tasks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from nsfix.findings import Finding, ObjectRef, PlaybookRef
from nsfix.flow import Trace
from nsfix.planner_tasks import ServerTaskItem, task_items


class Verb(StrEnum):
    """The NITRO write an operation makes; plan files and journals carry the value."""

    UPDATE = "update"
    """PUT: change attributes of an existing object."""
    ADD = "add"
    """POST: create an object."""
    DELETE = "delete"
    BIND = "bind"
    UNBIND = "unbind"

    @property
    def creates(self) -> bool:
        """add and bind make something exist; delete and unbind remove it."""
        return self in {Verb.ADD, Verb.BIND}


class Precondition(StrEnum):
    """What apply must find before it writes a change."""

    ATTRIBUTES = "attributes"
    """The object still has the change's `before` values."""
    ABSENT = "absent"
    """The object or binding does not exist yet."""
    PRESENT = "present"
    """The object or binding still exists."""


class RefusalReason(StrEnum):
    """Why nsfix will not fix an object itself: stable codes for scripts and reports."""

    SHARED_WITH_PROXY = "shared-with-proxy-vserver"
    NO_LAYER2 = "no-layer2-adjacency"
    """MAC mode, and a backend is outside every SNIP subnet of its traffic domain."""
    OTHER_TRAFFIC_DOMAIN = "other-traffic-domain"
    """MAC mode, and only a SNIP of another traffic domain (or a vserver of another domain)
    would reach the backend."""
    BACKEND_ADDRESS_UNKNOWN = "backend-address-unknown"
    """MAC mode, and a backend has no IP address nsfix can check (a domain-based server)."""
    INVALID_DATA = "invalid-data"
    HA_NOT_PRIMARY = "ha-not-primary"
    """The node read is not the primary of its HA pair, nor standalone."""
    UNKNOWN_BINDING_MODE = "bound-to-unknown-mode"
    CONFLICTING_REMEDIATION = "conflicting-remediation"


class CanaryChoice(StrEnum):
    """Why the first change is the canary: stable codes for scripts and reports."""

    LIVE = "up-backend-on-up-vserver"
    """An enabled backend that is UP behind an enabled DSR virtual server that is UP: the
    canary's write changes live traffic, so its verification proves something."""
    NO_LIVE_CANDIDATE = "no-live-candidate"
    """No change that can go first changes the live traffic of a DSR virtual server; the first
    change still goes alone, but its verification proves nothing on live traffic."""


@dataclass(frozen=True)
class Operation:
    """One NITRO write, in NITRO's words: verb, resource type and the record sent."""

    verb: Verb
    resource: str
    record: Mapping[str, Any]


COPY_GROUP: Final = "copy:"
"""`Change.group` of the steps of a dedicated copy: `copy:` and the original's name."""


@dataclass(frozen=True)
class Change:
    """One write to one object, with what it expects to find and how to undo it."""

    id: str
    object: ObjectRef
    operation: Operation
    inverse: Operation
    before: Mapping[str, str]
    """Observed values of the attributes it changes (empty for an add or bind)."""
    after: Mapping[str, str]
    precondition: Precondition
    fixes: tuple[str, ...]
    """Finding keys `RULE object` this change resolves."""
    vservers: tuple[str, ...]
    risk: str
    canary: bool = False
    group: str | None = None
    """Changes of one opt-in step sequence (a dedicated copy) share a group."""
    flow_before: str | None = None
    flow_after: str | None = None

    def __post_init__(self) -> None:
        # A plan file is canonical JSON (sorted keys); attributes read in a person's order
        # wherever they are shown, whether the change was just made or read back.
        object.__setattr__(self, "before", in_reading_order(self.before))
        object.__setattr__(self, "after", in_reading_order(self.after))


# The source-IP attributes first, in the order the fix is explained; others by name.
_READING_ORDER: Final = ("usip", "useproxyport", "cip")


def in_reading_order(values: Mapping[str, str]) -> dict[str, str]:
    def rank(name: str) -> tuple[int, str]:
        return (_READING_ORDER.index(name) if name in _READING_ORDER else len(_READING_ORDER), name)

    return {name: values[name] for name in sorted(values, key=rank)}


@dataclass(frozen=True)
class Refusal:
    """A finding nsfix will not fix automatically, and why."""

    object: ObjectRef
    code: RefusalReason
    reason: str
    findings: tuple[str, ...]
    alternative: str | None = None


@dataclass(frozen=True)
class Canary:
    """The change apply writes and verifies alone before the rest, and why that one."""

    change: str
    """Its id: the canary is always the first change, `c1`."""
    code: CanaryChoice
    reason: str
    """One sentence for the reviewer: what makes it live, or why no change is."""


@dataclass(frozen=True)
class ServerTasks:
    """What must be true on one backend server for its DSR virtual servers to work: the facts,
    once; the steps (`items`) follow from them."""

    address: str
    vips: tuple[str, ...]
    vservers: tuple[str, ...]
    modes: tuple[str, ...]
    gateways: tuple[str, ...] = ()
    """The SNIPs on the server's own subnet (the plan's `snips`): the only ones that could be
    its wrong default gateway."""

    @property
    def items(self) -> tuple[ServerTaskItem, ...]:
        return task_items(self.vips, self.modes, self.gateways)


@dataclass(frozen=True)
class PlanSnip:
    """A SNIP that server tasks name, said once per plan."""

    address: str
    network: str
    """Its subnet, `10.100.0.0/24`: the servers on it could take it for their gateway."""
    td: int


@dataclass(frozen=True)
class VserverPath:
    """One backend's packet path through a changed virtual server, before and after the plan."""

    vserver: str
    backend: str
    before: Trace
    after: Trace
    alike: tuple[str, ...] = ()
    """The other changed virtual servers whose path is of the same kind (mode, and outcome and
    usip before and after): the drawing stands for them too, each with its own addresses."""


@dataclass(frozen=True)
class PlanOptions:
    bind_monitor: bool = False
    """Bind the rule's monitor (ping-default) where script-only monitors keep MAC mode blind."""
    dedicated_copies: bool = False
    """For a service or service group shared with a proxy-mode vserver: give the DSR vserver its
    own copy."""


@dataclass(frozen=True)
class Plan:
    target: Mapping[str, Any]
    snapshot_digest: str
    playbooks: tuple[PlaybookRef, ...]
    created_at: datetime
    options: PlanOptions
    changes: tuple[Change, ...]
    refusals: tuple[Refusal, ...]
    server_tasks: tuple[ServerTasks, ...]
    guidance: tuple[Finding, ...]
    """Active findings with no automatic remediation: a person must act."""
    findings: tuple[Finding, ...]
    """Every active finding the plan considered."""
    paths: tuple[VserverPath, ...] = ()
    """The packet path of each changed virtual server before and after, for reports."""
    canary: Canary | None = None
    """Why the first change is the canary; None when there is no change (and in plan files
    made before nsfix said why)."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    snips: tuple[PlanSnip, ...] = ()
    """The SNIPs the server tasks name as possible gateways, once."""

    @property
    def empty(self) -> bool:
        return not self.changes


def finding_key(finding: Finding) -> str:
    """How a change or refusal names the finding it answers: `RULE object`."""
    return f"{finding.rule} {finding.object}"
