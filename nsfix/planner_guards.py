"""Why the planner leaves an object alone: one guard per refusal reason, tried in a fixed order."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from nsfix.findings import Finding, ObjectRef
from nsfix.model import DataDefect, IPAddress, LbVserver, Service, ServiceGroup, Snapshot
from nsfix.planner_records import PlanOptions, Refusal, RefusalReason, finding_key
from nsfix.resources import nitro_value, resource, same_value

SOURCE_ATTRIBUTES: Final = resource("service").source_ip | resource("servicegroup").source_ip


@dataclass(frozen=True)
class Remedy:
    """What the active findings on one object ask the planner to do."""

    ref: ObjectRef
    findings: tuple[Finding, ...]
    """Every active finding on the object, whether nsfix may fix it or not."""
    wanted: Mapping[str, str]
    """The attribute values the findings ask for, in NITRO's words."""
    conflict: bool
    """Two findings ask for different values of the same attribute."""
    automatic: tuple[Finding, ...]
    monitor_findings: tuple[Finding, ...]
    """Findings whose monitor the operator lets the planner bind (empty without the opt-in)."""

    @property
    def fixes(self) -> tuple[Finding, ...]:
        return self.automatic + self.monitor_findings

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(finding_key(f) for f in self.fixes)

    @property
    def monitor(self) -> str | None:
        """The monitor to bind, when the operator opted in and a finding names one."""
        return self.monitor_findings[0].remediation.bind_monitor if self.monitor_findings else None


def remedies(active: Sequence[Finding], options: PlanOptions) -> list[Remedy]:
    """One remedy per object with active findings, in the objects' order."""
    by_object: dict[ObjectRef, list[Finding]] = {}
    for finding in active:
        by_object.setdefault(finding.object, []).append(finding)
    return [
        _remedy(ref, by_object[ref], options) for ref in sorted(by_object, key=lambda r: r.sort_key)
    ]


def _remedy(ref: ObjectRef, findings: Sequence[Finding], options: PlanOptions) -> Remedy:
    wanted: dict[str, str] = {}
    conflict = False
    for finding in findings:
        for name, value in finding.remediation.set.items():
            if name in wanted and not same_value(name, wanted[name], value):
                conflict = True
            wanted[name] = nitro_value(name, value)
    monitor = [f for f in findings if f.remediation.bind_monitor] if options.bind_monitor else []
    return Remedy(
        ref=ref,
        findings=tuple(findings),
        wanted=wanted,
        conflict=conflict,
        automatic=tuple(f for f in findings if f.remediation.automatic),
        monitor_findings=tuple(monitor),
    )


@dataclass(frozen=True)
class Subject:
    """A service or service group with a remedy, as the snapshot shows it."""

    remedy: Remedy
    obj: Service | ServiceGroup
    bound: tuple[LbVserver, ...]
    """The virtual servers it is bound to."""

    @property
    def ref(self) -> ObjectRef:
        return self.remedy.ref

    @property
    def dsr(self) -> tuple[LbVserver, ...]:
        return tuple(vs for vs in self.bound if vs.is_dsr)

    @property
    def proxy_users(self) -> tuple[LbVserver, ...]:
        """Proxy-mode virtual servers whose servers would see the change meant for DSR ones."""
        # Only the source IP/port changes what a proxy-mode vserver's servers see.
        if not (self.dsr and SOURCE_ATTRIBUTES & set(self.remedy.wanted)):
            return ()
        return tuple(vs for vs in self.bound if vs.m == "IP")


def object_of(snapshot: Snapshot, ref: ObjectRef) -> Service | ServiceGroup | None:
    if ref.resource == "service":
        return snapshot.services.get(ref.name)
    if ref.resource == "servicegroup":
        return snapshot.servicegroups.get(ref.name)
    return None


def vservers_of(snapshot: Snapshot, obj: Service | ServiceGroup) -> list[LbVserver]:
    if isinstance(obj, Service):
        return snapshot.vservers_of_service(obj.name)
    return snapshot.vservers_of_servicegroup(obj.name)


def screen(remedy: Remedy, snapshot: Snapshot, options: PlanOptions) -> Subject | Refusal | None:
    """The subject the planner may change, the first refusal that stops it, or None when there
    is nothing for nsfix to do (no fix allowed, or not a service or service group itself)."""
    if not remedy.fixes:
        return None
    # The appliance comes first: on a node that is not the primary nothing is planned.
    refusal = ha_not_primary(remedy, snapshot)
    if refusal is not None:
        return refusal
    obj = object_of(snapshot, remedy.ref)
    if obj is None or remedy.ref.member is not None:
        return None
    subject = Subject(remedy, obj, tuple(vservers_of(snapshot, obj)))
    for guard in GUARDS:
        refusal = guard(subject, snapshot, options)
        if refusal is not None:
            return refusal
    return subject


def ha_not_primary(remedy: Remedy, snapshot: Snapshot) -> Refusal | None:
    why = snapshot.appliance.ha.refusal(snapshot.appliance.url)
    if why is None:
        return None
    return Refusal(remedy.ref, RefusalReason.HA_NOT_PRIMARY, why, remedy.keys)


def conflicting_remediation(
    subject: Subject, snapshot: Snapshot, options: PlanOptions
) -> Refusal | None:
    if not subject.remedy.conflict:
        return None
    return Refusal(
        subject.ref,
        RefusalReason.CONFLICTING_REMEDIATION,
        "two rules ask for different values of the same attribute",
        subject.remedy.keys,
    )


def unreported_attributes(
    subject: Subject, snapshot: Snapshot, options: PlanOptions
) -> Refusal | None:
    wanted = subject.remedy.wanted
    # NITRO takes useproxyport NO only with usip YES, so the update may write usip as well.
    needed = set(wanted) | ({"usip"} if wanted.get("useproxyport") == "NO" else set())
    unreported = sorted(name for name in needed if getattr(subject.obj, name, None) is None)
    if not unreported:
        return None
    return Refusal(
        subject.ref,
        RefusalReason.INVALID_DATA,
        f"the appliance did not report {', '.join(unreported)}: nsfix cannot record the value a "
        "rollback would restore",
        subject.remedy.keys,
    )


def invalid_data(subject: Subject, snapshot: Snapshot, options: PlanOptions) -> Refusal | None:
    bound = {vs.name for vs in subject.bound}
    # A defect on a virtual server it is bound to counts too: the change is judged by that
    # vserver's mode, VIP and TOS id.
    defects = defects_of(snapshot, subject.obj) + [
        d for d in snapshot.defects if d.resource == "lbvserver" and d.name in bound
    ]
    if not defects:
        return None
    detail = "; ".join(f"{d.attribute}={d.value!r}: {d.problem}" for d in defects)
    return Refusal(
        subject.ref,
        RefusalReason.INVALID_DATA,
        f"the appliance data for this object is not valid ({detail}); nsfix changes nothing it "
        "cannot read correctly",
        subject.remedy.keys,
    )


def defects_of(snapshot: Snapshot, obj: Service | ServiceGroup) -> list[DataDefect]:
    """Defects on the object itself, on its server, or on any of its members."""
    names = {obj.name}
    if isinstance(obj, Service) and obj.servername:
        names.add(obj.servername)
    found = []
    for defect in snapshot.defects:
        if defect.name in names or (
            isinstance(obj, ServiceGroup) and defect.name.startswith(f"{obj.name} member ")
        ):
            found.append(defect)
    return found


@dataclass(frozen=True)
class Blocker:
    """One backend address that MAC mode cannot reach, and why."""

    label: str
    reason: RefusalReason
    why: str


def backend_addresses(obj: Service | ServiceGroup) -> list[tuple[str, IPAddress | None, str]]:
    """(label, address, how it is named) of every address the object forwards to, in a stable
    order: the service's own, or every member of the group."""
    if isinstance(obj, Service):
        return [(f"service {obj.name}", obj.address, obj.address_text or obj.servername or "?")]
    out = []
    for member in obj.members:
        named = member.address_text or member.servername or "?"
        out.append((f"member {named}:{member.port}", member.address, member.servername or named))
    return sorted(out, key=lambda item: item[0])


def mac_blockers(subject: Subject, snapshot: Snapshot) -> list[Blocker]:
    """Every backend address of the subject that a MAC-mode vserver it is bound to cannot reach
    at layer 2 within its traffic domain, or that a TOS-mode one cannot serve (no IP)."""
    obj = subject.obj
    blockers: dict[str, Blocker] = {}
    for vs in sorted((v for v in subject.dsr if v.m == "TOS"), key=lambda v: v.name):
        # TOS-based DSR supports IP-based services only: a domain-based server cannot decode it.
        for label, address, named in backend_addresses(obj):
            if address is None and label not in blockers:
                blockers[label] = Blocker(
                    label,
                    RefusalReason.BACKEND_ADDRESS_UNKNOWN,
                    f"{label} has no IP address ({named}), and TOS redirection ({vs.name}) "
                    "supports IP-based services only",
                )
    for vs in sorted((v for v in subject.dsr if v.m == "MAC"), key=lambda v: v.name):
        if vs.td != obj.td:
            label = f"virtual server {vs.name}"
            blockers[label] = Blocker(
                label,
                RefusalReason.OTHER_TRAFFIC_DOMAIN,
                f"{vs.name} is in traffic domain {vs.td}, {subject.ref} in {obj.td}",
            )
        for label, address, named in backend_addresses(obj):
            if label in blockers:
                continue
            if address is None:
                blockers[label] = Blocker(
                    label,
                    RefusalReason.BACKEND_ADDRESS_UNKNOWN,
                    f"{label} has no IP address nsfix can check ({named})",
                )
            elif snapshot.snip_for(address, obj.td) is None:
                others = snapshot.other_domain_snips(address, obj.td)
                if others:
                    blockers[label] = Blocker(
                        label,
                        RefusalReason.OTHER_TRAFFIC_DOMAIN,
                        f"{label} is only in the subnet of SNIP {others[0].address} of traffic "
                        f"domain {others[0].td}, not of traffic domain {obj.td}",
                    )
                else:
                    blockers[label] = Blocker(
                        label,
                        RefusalReason.NO_LAYER2,
                        f"{label} is outside every SNIP subnet of traffic domain {obj.td}",
                    )
    return list(blockers.values())


# Which code a refusal carries when backends are blocked for different reasons: the one a
# person must act on first.
_BLOCKER_ORDER: Final = (
    RefusalReason.OTHER_TRAFFIC_DOMAIN,
    RefusalReason.NO_LAYER2,
    RefusalReason.BACKEND_ADDRESS_UNKNOWN,
)


def unreachable_in_mac_mode(
    subject: Subject, snapshot: Snapshot, options: PlanOptions
) -> Refusal | None:
    """A change of the source IP only helps if MAC mode reaches every backend: a group changes
    only if every member allows it, and the refusal names the members that do not."""
    if not SOURCE_ATTRIBUTES & set(subject.remedy.wanted):
        return None
    blockers = mac_blockers(subject, snapshot)
    if not blockers:
        return None
    code = next(c for c in _BLOCKER_ORDER if any(b.reason is c for b in blockers))
    return Refusal(
        subject.ref,
        code,
        "in MAC mode the NetScaler reaches a server only at layer 2 within its traffic domain, "
        "so turning on the source IP would not make DSR work: "
        + "; ".join(b.why for b in blockers),
        subject.remedy.keys,
        alternative="move the server(s) into a SNIP subnet of the same traffic domain, or "
        "switch the virtual server to IPTUNNEL or TOS redirection (a design change for a person "
        "to plan)",
    )


def bound_to_unknown_mode(
    subject: Subject, snapshot: Snapshot, options: PlanOptions
) -> Refusal | None:
    unknown = [vs.name for vs in subject.bound if vs.m is None]
    if not (unknown and subject.remedy.wanted):
        return None
    return Refusal(
        subject.ref,
        RefusalReason.UNKNOWN_BINDING_MODE,
        f"also bound to {', '.join(unknown)} whose redirection mode nsfix cannot read; changing "
        "the source IP could alter that virtual server's traffic",
        subject.remedy.keys,
    )


def shared_with_proxy(subject: Subject, snapshot: Snapshot, options: PlanOptions) -> Refusal | None:
    """Refused unless the operator opted in to dedicated copies and nsfix can make one."""
    proxy = subject.proxy_users
    if not proxy:
        return None
    obstacle = copy_obstacle(subject.obj)
    if options.dedicated_copies and obstacle is None:
        return None
    names = ", ".join(vs.name for vs in proxy)
    reason = (
        f"also bound to proxy-mode virtual server(s) {names}: turning on the source IP would make "
        "those servers see client addresses and reply around the NetScaler"
    )
    alternative = (
        f"opt in with --dedicated-copies: give the DSR virtual server(s) their own copy of "
        f"{subject.ref.name} with the right settings, bound in place of the shared one"
    )
    if options.dedicated_copies:
        reason = f"{reason}; nsfix cannot copy it either: {obstacle}"
        alternative = (
            "create a separate service group for the DSR virtual server with usip YES and the "
            "same members and monitors, and bind it in place of this one"
        )
    return Refusal(
        subject.ref, RefusalReason.SHARED_WITH_PROXY, reason, subject.remedy.keys, alternative
    )


def copy_obstacle(obj: Service | ServiceGroup) -> str | None:
    """Why nsfix cannot give this object a dedicated copy, or None when it can."""
    if isinstance(obj, Service):
        return None
    if not obj.members:
        return "the group has no members to copy"
    for member in obj.members:
        if member.port is None or not (member.servername or member.address_text):
            where = member.servername or member.address_text or "?"
            return f"the appliance did not report the server and port of member {where}"
    return None


Guard = Callable[[Subject, Snapshot, PlanOptions], Refusal | None]

GUARDS: Final[tuple[Guard, ...]] = (
    conflicting_remediation,
    unreported_attributes,
    invalid_data,
    unreachable_in_mac_mode,
    bound_to_unknown_mode,
    shared_with_proxy,
)
"""The object guards in the order they are tried: the first refusal is the one reported."""
