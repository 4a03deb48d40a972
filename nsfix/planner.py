"""Findings + snapshot → a plan of safe changes, the refusals with reasons, and server-side tasks.

Pure: no I/O. Every change carries the values it expects to find (its precondition) and the
operation that undoes it, so the executor can compare-and-set and roll back days later.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from nsfix.findings import AuditResult, Finding, ObjectRef, PlaybookRef
from nsfix.flow import Trace
from nsfix.model import (
    DataDefect,
    DefectLog,
    HaRole,
    LbVserver,
    Service,
    ServiceGroup,
    ServiceGroupMember,
    Snapshot,
    parse_member,
    parse_service,
    parse_servicegroup,
    resolve_member,
)
from nsfix.resources import key_of, nitro_value, resource, same_value

# Refusal reasons: stable codes for scripts and reports.
SHARED_WITH_PROXY: Final = "shared-with-proxy-vserver"
NO_LAYER2: Final = "no-layer2-adjacency"
INVALID_DATA: Final = "invalid-data"
HA_SECONDARY: Final = "ha-secondary"
UNKNOWN_BINDING_MODE: Final = "bound-to-unknown-mode"
CONFLICTING_REMEDIATION: Final = "conflicting-remediation"

SOURCE_ATTRIBUTES: Final = frozenset({"usip", "useproxyport"})
DSR_COPY_SUFFIX: Final = "_dsr"
NAME_LIMIT: Final = 127  # NetScaler object names are at most 127 characters


@dataclass(frozen=True)
class Operation:
    """One NITRO write, in NITRO's words: verb, resource type and the record sent."""

    verb: str
    """`update` (PUT), `add` (POST), `delete`, `bind`, `unbind`."""
    resource: str
    record: Mapping[str, Any]


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
    precondition: str
    """`attributes`: the object must still have `before`; `absent`/`present`: the object or
    binding must not exist / must exist."""
    fixes: tuple[str, ...]
    """Finding keys `RULE object` this change resolves."""
    vservers: tuple[str, ...]
    risk: str
    canary: bool = False
    group: str | None = None
    """Changes of one opt-in step sequence (a dedicated copy) share a group."""
    flow_before: str | None = None
    flow_after: str | None = None


@dataclass(frozen=True)
class Refusal:
    """A finding nsfix will not fix automatically, and why."""

    object: ObjectRef
    code: str
    reason: str
    findings: tuple[str, ...]
    alternative: str | None = None


@dataclass(frozen=True)
class ServerTaskItem:
    title: str
    linux: tuple[str, ...]
    windows: tuple[str, ...]
    check: tuple[str, ...]


@dataclass(frozen=True)
class ServerTasks:
    """What must be true on one backend server for its DSR virtual servers to work."""

    address: str
    vips: tuple[str, ...]
    vservers: tuple[str, ...]
    modes: tuple[str, ...]
    items: tuple[ServerTaskItem, ...]


@dataclass(frozen=True)
class VserverPath:
    """One backend's packet path through a changed virtual server, before and after the plan."""

    vserver: str
    backend: str
    before: Trace
    after: Trace


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
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.changes


Copy = tuple[Service | ServiceGroup, dict[str, str], list[Finding], list[LbVserver], str | None]
"""A shared service or group to copy for DSR: original, attributes, findings, DSR vservers,
monitor."""

MEMBER_BINDING: Final = "servicegroup_servicegroupmember_binding"

FlowProbe = Callable[[Snapshot, str, str, Mapping[str, str] | None], str | None]
"""(snapshot, vserver, backend object name, attribute overrides) → packet-path outcome."""


def finding_key(finding: Finding) -> str:
    return f"{finding.rule} {finding.object}"


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


def key_record(ref: ObjectRef) -> dict[str, Any]:
    return {key_of(ref.resource): ref.name}


def plan(
    snapshot: Snapshot,
    audit: AuditResult,
    *,
    snapshot_digest: str,
    created_at: datetime,
    options: PlanOptions | None = None,
    flow: FlowProbe | None = None,
    traffic: Mapping[str, int] | None = None,
) -> Plan:
    """Turn an audit into changes (one per object), refusals and server-side tasks."""
    opts = options or PlanOptions()
    active = audit.active()
    by_object: dict[ObjectRef, list[Finding]] = {}
    for finding in active:
        by_object.setdefault(finding.object, []).append(finding)

    refusals: list[Refusal] = []
    updates: list[tuple[ObjectRef, dict[str, str], list[Finding]]] = []
    binds: list[tuple[ObjectRef, str, list[Finding]]] = []
    copies: list[Copy] = []
    guidance: list[Finding] = []

    for ref in sorted(by_object, key=lambda r: r.sort_key):
        findings = by_object[ref]
        wanted: dict[str, str] = {}
        conflict = False
        for finding in findings:
            for name, value in finding.remediation.set.items():
                if name in wanted and not same_value(name, wanted[name], value):
                    conflict = True
                wanted[name] = nitro_value(name, value)
        monitor_fix = [f for f in findings if f.remediation.bind_monitor]
        automatic = [f for f in findings if f.remediation.automatic]
        guidance.extend(f for f in findings if not f.remediation.automatic)
        if not automatic and not (monitor_fix and opts.bind_monitor):
            continue
        keys = tuple(finding_key(f) for f in automatic + (monitor_fix if opts.bind_monitor else []))
        obj = object_of(snapshot, ref)
        if snapshot.appliance.ha_role is HaRole.SECONDARY:
            refusals.append(
                Refusal(
                    ref,
                    HA_SECONDARY,
                    "the appliance read is an HA secondary node: changes there are not propagated "
                    "and are lost on the next sync; plan against the primary",
                    keys,
                )
            )
            continue
        if obj is None or ref.member is not None:
            continue
        if conflict:
            refusals.append(
                Refusal(
                    ref,
                    CONFLICTING_REMEDIATION,
                    "two rules ask for different values of the same attribute",
                    keys,
                )
            )
            continue
        needed = set(wanted) | ({"usip"} if wanted.get("useproxyport") == "NO" else set())
        unreported = sorted(name for name in needed if getattr(obj, name, None) is None)
        if unreported:
            refusals.append(
                Refusal(
                    ref,
                    INVALID_DATA,
                    f"the appliance did not report {', '.join(unreported)}: nsfix cannot "
                    "record the "
                    "value a rollback would restore",
                    keys,
                )
            )
            continue
        defects = defects_of(snapshot, obj)
        if defects:
            detail = "; ".join(f"{d.attribute}={d.value!r}: {d.problem}" for d in defects)
            refusals.append(
                Refusal(
                    ref,
                    INVALID_DATA,
                    f"the appliance data for this object is not valid ({detail}); nsfix changes "
                    "nothing it cannot read correctly",
                    keys,
                )
            )
            continue
        if any(f.rule == "DSR-LAYER2" or f.flow == "no-layer2" for f in findings):
            refusals.append(
                Refusal(
                    ref,
                    NO_LAYER2,
                    "a backend address is outside every SNIP subnet: in MAC mode the NetScaler "
                    "cannot "
                    "reach it at layer 2, so turning on the source IP would not make DSR work",
                    keys,
                    alternative="move the server into a SNIP subnet, or switch the virtual server "
                    "to "
                    "IPTUNNEL or TOS redirection (a design change for a person to plan)",
                )
            )
            continue
        bound = vservers_of(snapshot, obj)
        unknown = [vs.name for vs in bound if vs.m is None]
        if unknown and wanted:
            refusals.append(
                Refusal(
                    ref,
                    UNKNOWN_BINDING_MODE,
                    f"also bound to {', '.join(unknown)} whose redirection mode nsfix cannot read; "
                    "changing the source IP could alter that virtual server's traffic",
                    keys,
                )
            )
            continue
        proxy = [vs for vs in bound if vs.m == "IP"]
        dsr = [vs for vs in bound if vs.is_dsr]
        # Only the source IP/port changes what a proxy-mode vserver's servers see.
        if proxy and dsr and SOURCE_ATTRIBUTES & set(wanted):
            names = ", ".join(vs.name for vs in proxy)
            alternative = (
                f"opt in with --dedicated-copies: give the DSR virtual server(s) their own copy "
                f"of {ref.name} with the right settings, bound in place of the shared one"
            )
            reason = (
                f"also bound to proxy-mode virtual server(s) {names}: turning on the source IP "
                "would make those servers see client addresses and reply around the NetScaler"
            )
            obstacle = _copy_obstacle(obj)
            if opts.dedicated_copies and obstacle is None:
                extra = monitor_fix[0].remediation.bind_monitor if monitor_fix else None
                copies.append(
                    (
                        obj,
                        wanted,
                        automatic + (monitor_fix if opts.bind_monitor else []),
                        dsr,
                        extra if opts.bind_monitor else None,
                    )
                )
                continue
            if opts.dedicated_copies and obstacle is not None:
                reason = f"{reason}; nsfix cannot copy it either: {obstacle}"
                alternative = (
                    "create a separate service group for the DSR virtual server with usip YES "
                    "and the same members and monitors, and bind it in place of this one"
                )
            refusals.append(Refusal(ref, SHARED_WITH_PROXY, reason, keys, alternative=alternative))
            continue
        if wanted:
            updates.append((ref, wanted, automatic))
        if monitor_fix and opts.bind_monitor:
            monitor = monitor_fix[0].remediation.bind_monitor
            assert monitor is not None
            binds.append((ref, monitor, monitor_fix))

    changes = _ordered_changes(snapshot, updates, binds, copies, flow, traffic)
    return Plan(
        target=target_facts(snapshot),
        snapshot_digest=snapshot_digest,
        playbooks=audit.playbooks,
        created_at=created_at,
        options=opts,
        changes=tuple(changes),
        refusals=tuple(refusals),
        server_tasks=server_tasks(snapshot, {v for c in changes for v in c.vservers}),
        guidance=tuple(guidance),
        findings=tuple(active),
    )


def target_facts(snapshot: Snapshot) -> dict[str, Any]:
    facts = snapshot.appliance
    return {
        "url": facts.url,
        "hostname": facts.hostname,
        "version": facts.version,
        "release": facts.release,
        "ha_role": facts.ha_role,
        "partition": facts.partition,
    }


def _update_change(
    snapshot: Snapshot,
    ref: ObjectRef,
    wanted: Mapping[str, str],
    findings: Sequence[Finding],
    flow: FlowProbe | None,
) -> Change:
    obj = object_of(snapshot, ref)
    assert obj is not None
    before = {name: observed(obj, name) for name in wanted}
    after = dict(wanted)
    if after.get("useproxyport") == "NO" and after.get("usip", before.get("usip")) != "YES":
        # NITRO accepts useproxyport only together with usip YES.
        after["usip"] = "YES"
        before["usip"] = observed(obj, "usip")
    changed = {k: v for k, v in after.items() if before.get(k) != v}
    vservers = tuple(sorted({vs.name for vs in vservers_of(snapshot, obj) if vs.is_dsr}))
    flow_before = flow_after = None
    if flow is not None and vservers:
        flow_before = flow(snapshot, vservers[0], ref.name, None)
        flow_after = flow(snapshot, vservers[0], ref.name, changed)
    return Change(
        id="",
        object=ref,
        operation=Operation("update", ref.resource, {**key_record(ref), **changed}),
        inverse=Operation(
            "update", ref.resource, {**key_record(ref), **{k: before[k] for k in changed}}
        ),
        before={k: before[k] for k in changed},
        after=changed,
        precondition="attributes",
        fixes=tuple(finding_key(f) for f in findings),
        vservers=vservers,
        risk=_update_risk(ref, obj, changed, vservers),
        flow_before=flow_before,
        flow_after=flow_after,
    )


def observed(obj: Service | ServiceGroup, attribute: str) -> str:
    """The object's value in NITRO's vocabulary; empty when the appliance did not report it."""
    value = getattr(obj, attribute, None)
    return "" if value is None else nitro_value(attribute, value)


def _update_risk(
    ref: ObjectRef, obj: Service | ServiceGroup, changed: Mapping[str, str], vservers: Sequence[str]
) -> str:
    parts = []
    if changed.get("usip") == "YES":
        parts.append(
            f"from now on {', '.join(vservers) or 'the virtual server'} forwards with the client's "
            "address; the server must hold the VIP on a non-ARPing loopback and route replies to "
            "its default gateway (see server-side tasks), or the connections fail"
        )
    if changed.get("useproxyport") == "NO":
        parts.append("server-side connections reuse the client's source port")
    if isinstance(obj, ServiceGroup):
        parts.append(f"applies to all {len(obj.members)} members of the group at once")
    if obj.state != "ENABLED":
        parts.append(f"the {ref.resource} is {obj.state.lower()}: no live traffic is affected now")
    return "; ".join(parts) or "low: attribute change on an object that carries no traffic"


def _bind_monitor_change(
    snapshot: Snapshot, ref: ObjectRef, monitor: str, findings: Sequence[Finding]
) -> Change:
    obj = object_of(snapshot, ref)
    assert obj is not None
    binding = (
        "service_lbmonitor_binding"
        if ref.resource == "service"
        else ("servicegroup_lbmonitor_binding")
    )
    record = {**key_record(ref), "monitor_name": monitor}
    vservers = tuple(sorted(vs.name for vs in vservers_of(snapshot, obj) if vs.is_dsr))
    return Change(
        id="",
        object=ObjectRef(binding, ref.name, ref.partition),
        operation=Operation("bind", binding, record),
        inverse=Operation("unbind", binding, record),
        before={},
        after={"monitor_name": monitor},
        precondition="absent",
        fixes=tuple(finding_key(f) for f in findings),
        vservers=vservers,
        risk=f"adds {monitor} probes toward the backend; the NetScaler learns its MAC from them",
    )


def _copy_changes(
    snapshot: Snapshot,
    service: Service,
    wanted: Mapping[str, str],
    findings: Sequence[Finding],
    dsr_vservers: Sequence[LbVserver],
    taken: set[str],
    extra_monitor: str | None,
) -> list[Change]:
    """Add a DSR-only copy of a shared service, bind it where the original was, unbind it."""
    name = _free_name(service.name, taken)
    taken.add(name)
    copy_ref = ObjectRef("service", name, service.partition)
    keys = tuple(finding_key(f) for f in findings)
    group = f"copy:{service.name}"
    record: dict[str, Any] = {
        "name": name,
        "servicetype": service.servicetype,
        "port": service.port,
        # The copy keeps the original's values except what the findings ask to change.
        "usip": wanted.get("usip") or observed(service, "usip"),
        "useproxyport": wanted.get("useproxyport") or observed(service, "useproxyport"),
        "td": service.td,
    }
    if service.servername:
        record["servername"] = service.servername
    else:
        record["ip"] = service.address_text
    if service.cip is not None:
        record["cip"] = nitro_value("cip", service.cip)
    record.update({k: v for k, v in wanted.items() if k not in {"usip", "useproxyport"}})
    vservers = tuple(vs.name for vs in dsr_vservers)
    out = [
        Change(
            id="",
            object=copy_ref,
            operation=Operation("add", "service", record),
            inverse=Operation("delete", "service", {"name": name}),
            before={},
            after={k: str(v) for k, v in record.items()},
            precondition="absent",
            fixes=keys,
            vservers=vservers,
            group=group,
            risk=f"new service {name} for DSR only; settings nsfix does not read (timeouts, "
            f"profiles, limits) take their defaults, review them against {service.name}",
        )
    ]
    monitors = [*service.monitors]
    if extra_monitor is not None and extra_monitor not in monitors:
        # The original's monitors cannot teach MAC mode the server's MAC; the copy gets one.
        monitors.insert(0, extra_monitor)
    for monitor in monitors:
        binding = {"name": name, "monitor_name": monitor}
        out.append(
            Change(
                id="",
                object=ObjectRef("service_lbmonitor_binding", name, service.partition),
                operation=Operation("bind", "service_lbmonitor_binding", binding),
                inverse=Operation("unbind", "service_lbmonitor_binding", binding),
                before={},
                after={"monitor_name": monitor},
                precondition="absent",
                fixes=keys,
                vservers=vservers,
                group=group,
                risk=f"monitors {name} like {service.name}",
            )
        )
    for vs in dsr_vservers:
        # The copy takes the original's weight, and a rollback re-binds the original with it.
        weight = vs.service_weights.get(service.name)
        extra = {} if weight is None else {"weight": weight}
        new_binding = {"name": vs.name, "servicename": name, **extra}
        old_binding = {"name": vs.name, "servicename": service.name, **extra}
        out.append(
            Change(
                id="",
                object=ObjectRef("lbvserver_service_binding", vs.name, service.partition),
                operation=Operation("bind", "lbvserver_service_binding", new_binding),
                inverse=Operation("unbind", "lbvserver_service_binding", new_binding),
                before={},
                after={"servicename": name},
                precondition="absent",
                fixes=keys,
                vservers=(vs.name,),
                group=group,
                risk=f"{vs.name} briefly balances over both {service.name} and {name}",
            )
        )
        out.append(
            Change(
                id="",
                object=ObjectRef("lbvserver_service_binding", vs.name, service.partition),
                operation=Operation("unbind", "lbvserver_service_binding", old_binding),
                inverse=Operation("bind", "lbvserver_service_binding", old_binding),
                before={"servicename": service.name},
                after={},
                precondition="present",
                fixes=keys,
                vservers=(vs.name,),
                group=group,
                risk=f"{vs.name} stops using the shared {service.name}; "
                "its proxy-mode users keep it",
            )
        )
    return out


def _copy_obstacle(obj: Service | ServiceGroup) -> str | None:
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


def _member_record(group: str, member: ServiceGroupMember) -> dict[str, Any]:
    """The member binding that puts the same backend into `group`."""
    # NITRO takes ip or servername, not both; the server name also covers members added by
    # IP (the appliance names their server after the address) and domain-based servers.
    record: dict[str, Any] = {"servicegroupname": group}
    if member.servername:
        record["servername"] = member.servername
    else:
        record["ip"] = member.address_text
    record["port"] = member.port
    if member.weight is not None:
        record["weight"] = member.weight
    if member.state == "DISABLED":
        # A member taken out of service in the original stays out of service in the copy.
        record["state"] = "DISABLED"
    return record


def _member_text(member: ServiceGroupMember) -> str:
    """`address:port`, as findings name a member."""
    return f"{member.address_text or member.servername}:{member.port}"


def _group_copy_changes(
    group: ServiceGroup,
    wanted: Mapping[str, str],
    findings: Sequence[Finding],
    dsr_vservers: Sequence[LbVserver],
    taken: set[str],
    extra_monitor: str | None,
) -> list[Change]:
    """Add a DSR-only copy of a shared service group with the same members and monitors,
    bind it where the original was on the DSR virtual servers, and unbind the original there."""
    name = _free_name(group.name, taken)
    taken.add(name)
    partition = group.partition
    keys = tuple(finding_key(f) for f in findings)
    step_group = f"copy:{group.name}"
    vservers = tuple(vs.name for vs in dsr_vservers)
    record: dict[str, Any] = {
        "servicegroupname": name,
        "servicetype": group.servicetype,
        # The copy keeps the original's values except what the findings ask to change.
        "usip": wanted.get("usip") or observed(group, "usip"),
        "useproxyport": wanted.get("useproxyport") or observed(group, "useproxyport"),
        "td": group.td,
    }
    if group.cip is not None:
        record["cip"] = nitro_value("cip", group.cip)
    if group.state == "DISABLED":
        record["state"] = "DISABLED"
    record.update({k: v for k, v in wanted.items() if k not in {"usip", "useproxyport"}})

    def change(
        ref: ObjectRef,
        operation: Operation,
        inverse: Operation,
        risk: str,
        *,
        before: Mapping[str, str] | None = None,
        after: Mapping[str, str] | None = None,
        on: tuple[str, ...] = vservers,
    ) -> Change:
        return Change(
            id="",
            object=ref,
            operation=operation,
            inverse=inverse,
            before=dict(before or {}),
            after=dict(after or {}),
            precondition="present" if operation.verb == "unbind" else "absent",
            fixes=keys,
            vservers=on,
            group=step_group,
            risk=risk,
        )

    out = [
        change(
            ObjectRef("servicegroup", name, partition),
            Operation("add", "servicegroup", record),
            Operation("delete", "servicegroup", {"servicegroupname": name}),
            f"new service group {name} for DSR only; settings nsfix does not read (timeouts, "
            f"profiles, limits, member options other than weight and state) take their "
            f"defaults, review them against {group.name}",
            after={k: str(v) for k, v in record.items()},
        )
    ]
    for member in group.members:
        binding = _member_record(name, member)
        out.append(
            change(
                ObjectRef(MEMBER_BINDING, name, partition, member=_member_text(member)),
                Operation("bind", MEMBER_BINDING, binding),
                Operation("unbind", MEMBER_BINDING, binding),
                f"{name} gets the member {_member_text(member)} of {group.name}; the server "
                "receives monitor probes from the copy as well",
                after={k: str(v) for k, v in binding.items() if k != "servicegroupname"},
            )
        )
    monitors = [*group.monitors]
    if extra_monitor is not None and extra_monitor not in monitors:
        # The original's monitors cannot teach MAC mode the servers' MACs; the copy gets one.
        monitors.insert(0, extra_monitor)
    for monitor in monitors:
        binding = {"servicegroupname": name, "monitor_name": monitor}
        out.append(
            change(
                ObjectRef("servicegroup_lbmonitor_binding", name, partition),
                Operation("bind", "servicegroup_lbmonitor_binding", binding),
                Operation("unbind", "servicegroup_lbmonitor_binding", binding),
                f"monitors {name} like {group.name}",
                after={"monitor_name": monitor},
            )
        )
    for vs in dsr_vservers:
        # Once the model reads the weight of group bindings, the copy takes the original's and
        # a rollback re-binds the original with it; until then both are bound without one.
        weights = vs.servicegroup_weights
        weight = weights.get(group.name)
        extra = {} if weight is None else {"weight": weight}
        new_binding = {"name": vs.name, "servicegroupname": name, **extra}
        old_binding = {"name": vs.name, "servicegroupname": group.name, **extra}
        ref = ObjectRef("lbvserver_servicegroup_binding", vs.name, partition)
        out.append(
            change(
                ref,
                Operation("bind", "lbvserver_servicegroup_binding", new_binding),
                Operation("unbind", "lbvserver_servicegroup_binding", new_binding),
                f"{vs.name} briefly balances over both {group.name} and {name}, each member twice",
                after={"servicegroupname": name},
                on=(vs.name,),
            )
        )
        out.append(
            change(
                ref,
                Operation("unbind", "lbvserver_servicegroup_binding", old_binding),
                Operation("bind", "lbvserver_servicegroup_binding", old_binding),
                f"{vs.name} stops using the shared {group.name}; its proxy-mode users keep it",
                before={"servicegroupname": group.name},
                on=(vs.name,),
            )
        )
    return out


def _free_name(base: str, taken: set[str]) -> str:
    stem = base[: NAME_LIMIT - len(DSR_COPY_SUFFIX) - 3]
    candidate = f"{stem}{DSR_COPY_SUFFIX}"
    counter = 2
    while candidate in taken:
        candidate = f"{stem}{DSR_COPY_SUFFIX}{counter}"
        counter += 1
    return candidate


def _ordered_changes(
    snapshot: Snapshot,
    updates: Sequence[tuple[ObjectRef, dict[str, str], list[Finding]]],
    binds: Sequence[tuple[ObjectRef, str, list[Finding]]],
    copies: Sequence[Copy],
    flow: FlowProbe | None,
    traffic: Mapping[str, int] | None,
) -> list[Change]:
    """Canary first (the quietest single service), then the rest; ids in apply order."""
    update_changes = [_update_change(snapshot, ref, w, f, flow) for ref, w, f in updates]

    def quietness(change: Change) -> tuple[bool, int, int, int, str]:
        # A live backend proves the change on real traffic; the quietest one risks least.
        obj = object_of(snapshot, change.object)
        live = isinstance(obj, Service) and obj.state == "ENABLED" and obj.svrstate == "UP"
        live = live or (isinstance(obj, ServiceGroup) and obj.effective_state == "UP")
        size = len(obj.members) if isinstance(obj, ServiceGroup) else 1
        load = (traffic or {}).get(change.object.name, 0)
        return (not live, load, size, len(change.vservers), change.object.name)

    update_changes.sort(key=quietness)
    ordered: list[Change] = []
    # Monitors go before the usip change of the same object: MAC learning must work first.
    bind_changes = {ref: _bind_monitor_change(snapshot, ref, m, f) for ref, m, f in binds}
    for change in update_changes:
        if change.object in bind_changes:
            ordered.append(bind_changes.pop(change.object))
        ordered.append(change)
    ordered.extend(bind_changes.values())
    taken = set(snapshot.services) | set(snapshot.servicegroups)
    for original, wanted, findings, dsr_vservers, monitor in copies:
        if isinstance(original, ServiceGroup):
            ordered.extend(
                _group_copy_changes(original, wanted, findings, dsr_vservers, taken, monitor)
            )
        else:
            ordered.extend(
                _copy_changes(snapshot, original, wanted, findings, dsr_vservers, taken, monitor)
            )
    numbered = []
    for index, change in enumerate(ordered, start=1):
        numbered.append(replace(change, id=f"c{index}", canary=index == 1))
    return numbered


# --- server-side tasks -------------------------------------------------------------------


def server_tasks(snapshot: Snapshot, vserver_names: Iterable[str]) -> tuple[ServerTasks, ...]:
    """Per backend address, what NITRO cannot do: VIPs on a loopback, ARP, default gateway."""
    per_address: dict[str, dict[str, set[str]]] = {}
    for name in sorted(set(vserver_names)):
        vs = snapshot.vservers.get(name)
        if vs is None or not vs.is_dsr or vs.m is None:
            continue
        for address in _backend_addresses(snapshot, vs):
            entry = per_address.setdefault(
                address, {"vips": set(), "vservers": set(), "modes": set()}
            )
            entry["vips"].add(vs.vip_text)
            entry["vservers"].add(vs.name)
            entry["modes"].add(vs.m)
    snips = ", ".join(str(s.address) for s in snapshot.snips) or "the NetScaler's SNIPs"
    out = []
    for address in sorted(per_address, key=_address_order):
        entry = per_address[address]
        vips = tuple(sorted(entry["vips"]))
        modes = tuple(sorted(entry["modes"]))
        out.append(
            ServerTasks(
                address=address,
                vips=vips,
                vservers=tuple(sorted(entry["vservers"])),
                modes=modes,
                items=_task_items(vips, modes, snips),
            )
        )
    return tuple(out)


def _address_order(text: str) -> tuple[int, int, str]:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return (9, 0, text)
    return (address.version, int(address), text)


def _backend_addresses(snapshot: Snapshot, vs: LbVserver) -> list[str]:
    found = []
    for name in vs.services:
        service = snapshot.services.get(name)
        if service is not None and service.address is not None:
            found.append(service.address_text)
    for name in vs.servicegroups:
        group = snapshot.servicegroups.get(name)
        if group is not None:
            found.extend(m.address_text for m in group.members if m.address is not None)
    return found


def _task_items(
    vips: Sequence[str], modes: Sequence[str], snips: str
) -> tuple[ServerTaskItem, ...]:
    v4 = [v for v in vips if ":" not in v]
    v6 = [v for v in vips if ":" in v]
    linux_add = [f"ip addr add {v}/32 dev lo" for v in v4] + [
        f"ip -6 addr add {v}/128 dev lo" for v in v6
    ]
    items = [
        ServerTaskItem(
            title=f"Hold the VIP{'s' if len(vips) > 1 else ''} {', '.join(vips)} on a loopback "
            "interface, so the server accepts packets addressed to the VIP",
            linux=(
                *linux_add,
                "persist it in the network configuration (for example a 'lo:dsr' stanza or a "
                "systemd-networkd .network file for lo)",
            ),
            windows=(
                "install the 'Microsoft KM-TEST Loopback Adapter' (hdwwiz, network adapter)",
                *(f'netsh interface ipv4 add address "Loopback" {v} 255.255.255.255' for v in v4),
                *(f'netsh interface ipv6 add address "Loopback" {v}/128' for v in v6),
            ),
            check=(
                *(f"Linux: ip addr show dev lo | grep -w {v}" for v in vips),
                'Windows: netsh interface ipv4 show addresses "Loopback"',
            ),
        ),
        ServerTaskItem(
            title="Never answer ARP for the VIP: otherwise clients and the router reach the server "
            "directly and bypass the NetScaler",
            linux=(
                "sysctl -w net.ipv4.conf.all.arp_ignore=1",
                "sysctl -w net.ipv4.conf.all.arp_announce=2",
                "echo -e 'net.ipv4.conf.all.arp_ignore=1\\nnet.ipv4.conf.all.arp_announce=2' "
                "> /etc/sysctl.d/90-nsfix-dsr.conf",
            ),
            windows=(
                'netsh interface ipv4 set interface "<LAN adapter>" weakhostreceive=enabled',
                'netsh interface ipv4 set interface "Loopback" weakhostreceive=enabled '
                "weakhostsend=enabled",
                "leave the loopback adapter without a default gateway",
            ),
            check=(
                "Linux: sysctl net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce "
                "(expect 1 and 2)",
                "from another host on the subnet: arping -c 3 <VIP> must get no answer from this "
                "server's MAC",
                'Windows: netsh interface ipv4 show interface "Loopback" level=verbose '
                "(weak host receive/send enabled)",
            ),
        ),
        ServerTaskItem(
            title="Keep the default gateway on the upstream router, not on the NetScaler "
            f"({snips}): DSR replies must go straight to the clients",
            linux=("ip route show default",),
            windows=("route print 0.0.0.0",),
            check=(
                f"the default route's next hop is the router, and none of: {snips}",
                "from the server: traceroute -n <a client address> leaves via the router",
            ),
        ),
    ]
    if "IPTUNNEL" in modes:
        items.append(
            ServerTaskItem(
                title="Decapsulate IP-in-IP from the NetScaler's SNIPs (IPTUNNEL mode)",
                linux=(
                    "modprobe ipip && ip link set tunl0 up",
                    *(f"ip addr add {v}/32 dev tunl0" for v in v4),
                    "sysctl -w net.ipv4.conf.tunl0.rp_filter=0 net.ipv4.conf.all.rp_filter=0",
                ),
                windows=("Windows has no built-in IP-in-IP decapsulation: use MAC mode or Linux",),
                check=(
                    "Linux: ip -d link show tunl0; tcpdump -ni any proto 4 shows tunnelled "
                    "requests",
                ),
            )
        )
    if "TOS" in modes:
        items.append(
            ServerTaskItem(
                title="Map the virtual server's TOS id to its VIP (TOS mode)",
                linux=(
                    "mark packets by DSCP/TOS value and route them to the VIP held on lo, for "
                    "example "
                    "with iptables -t mangle rules per TOS id",
                ),
                windows=("TOS-based DSR needs a vendor driver on Windows: use MAC mode or Linux",),
                check=("tcpdump -v -ni any host <VIP> shows the expected tos value on requests",),
            )
        )
    return tuple(items)


def apply_in_memory(snapshot: Snapshot, the_plan: Plan) -> Snapshot:
    """The snapshot as it would be after the plan: attribute updates, added copies, bindings.

    Used to prove a plan (audit again: no remediable finding left) and to explain the after-path.
    """
    services = dict(snapshot.services)
    groups = dict(snapshot.servicegroups)
    vservers = dict(snapshot.vservers)
    for change in the_plan.changes:
        op = change.operation
        record = op.record
        if op.verb == "update" and op.resource == "service":
            name = str(record["name"])
            services[name] = replace(services[name], **_flags(record))
        elif op.verb == "update" and op.resource == "servicegroup":
            name = str(record["servicegroupname"])
            groups[name] = replace(groups[name], **_flags(record))
        elif op.verb == "add" and op.resource == "service":
            services[str(record["name"])] = _service_from(record, snapshot)
        elif op.verb == "add" and op.resource == "servicegroup":
            groups[str(record["servicegroupname"])] = _group_from(record, snapshot)
        elif op.resource == MEMBER_BINDING:
            grp = groups[str(record["servicegroupname"])]
            member = _member_from(record, snapshot)
            members = [m for m in grp.members if not _same_member(m, record)]
            if op.verb == "bind":
                members.append(member)
            groups[grp.name] = replace(grp, members=tuple(members))
        elif op.resource == "service_lbmonitor_binding" and op.verb == "bind":
            svc = services[str(record["name"])]
            monitors = (*svc.monitors, str(record["monitor_name"]))
            services[svc.name] = replace(svc, monitors=monitors)
        elif op.resource == "servicegroup_lbmonitor_binding" and op.verb == "bind":
            grp = groups[str(record["servicegroupname"])]
            groups[grp.name] = replace(grp, monitors=(*grp.monitors, str(record["monitor_name"])))
        elif op.resource == "lbvserver_service_binding":
            vs = vservers[str(record["name"])]
            bound = [s for s in vs.services if s != record["servicename"]]
            if op.verb == "bind":
                bound.append(str(record["servicename"]))
            vservers[vs.name] = replace(vs, services=tuple(bound))
        elif op.resource == "lbvserver_servicegroup_binding":
            vs = vservers[str(record["name"])]
            bound = [g for g in vs.servicegroups if g != record["servicegroupname"]]
            if op.verb == "bind":
                bound.append(str(record["servicegroupname"]))
            vservers[vs.name] = replace(vs, servicegroups=tuple(bound))
    return replace(snapshot, services=services, servicegroups=groups, vservers=vservers)


def _flags(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: str(record[name]).upper() in {"YES", "ENABLED"}
        for name in resource("service").updatable
        if name in record
    }


def _service_from(record: Mapping[str, Any], snapshot: Snapshot) -> Service:
    nitro = dict(record)
    if "ip" in nitro:
        nitro["ipaddress"] = nitro.pop("ip")
    nitro.setdefault("state", "ENABLED")
    return parse_service(nitro, (), snapshot.servers, DefectLog(snapshot.appliance.partition))


def _group_from(record: Mapping[str, Any], snapshot: Snapshot) -> ServiceGroup:
    nitro = dict(record)
    nitro.setdefault("state", "ENABLED")
    log = DefectLog(snapshot.appliance.partition)
    return parse_servicegroup(nitro, (), (), log)


def _member_from(record: Mapping[str, Any], snapshot: Snapshot) -> ServiceGroupMember:
    member = parse_member(dict(record), DefectLog(snapshot.appliance.partition))
    return resolve_member(member, snapshot.servers)


def _same_member(member: ServiceGroupMember, record: Mapping[str, Any]) -> bool:
    """Whether a member binding record (by server name or by IP) names this member."""
    if str(member.port) != str(record.get("port")):
        return False
    if record.get("servername"):
        return member.servername == str(record["servername"])
    return member.address_text == record.get("ip")
