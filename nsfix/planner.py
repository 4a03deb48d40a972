"""Findings + snapshot → a plan of safe changes, the refusals with reasons, and server-side tasks.

Pure: no I/O. Every change carries the values it expects to find (its precondition) and the
operation that undoes it, so the executor can compare-and-set and roll back days later. The
guards that refuse an object live in `planner_guards`, the writes in `planner_changes`, the
records in `planner_records`; this module puts them together and is where importers find them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Final

from nsfix.findings import AuditResult
from nsfix.model import (
    DefectLog,
    IPAddress,
    Service,
    ServiceGroup,
    ServiceGroupMember,
    Snapshot,
    parse_member,
    parse_service,
    parse_servicegroup,
    parsed_address,
    resolve_member,
)
from nsfix.planner_changes import FlowProbe, planned_changes
from nsfix.planner_guards import Remedy, Subject, remedies, screen
from nsfix.planner_records import (
    COPY_GROUP,
    Canary,
    CanaryChoice,
    Change,
    Operation,
    Plan,
    PlanOptions,
    PlanSnip,
    Refusal,
    RefusalReason,
    ServerTasks,
    Verb,
    VserverPath,
    finding_key,
)
from nsfix.planner_tasks import ServerTaskItem
from nsfix.resources import MEMBER_BINDING, resource

__all__ = [
    "Canary",
    "CanaryChoice",
    "Change",
    "FlowProbe",
    "Operation",
    "Plan",
    "PlanOptions",
    "PlanSnip",
    "Refusal",
    "RefusalReason",
    "ServerTaskItem",
    "ServerTasks",
    "Verb",
    "VserverPath",
    "apply_in_memory",
    "finding_key",
    "plan",
    "server_tasks",
    "target_facts",
]


def screened(
    snapshot: Snapshot, asked: Iterable[Remedy], options: PlanOptions
) -> tuple[list[Refusal], list[Subject]]:
    """Each object's remedy through the guards: the refused, and the subjects cleared to change."""
    refusals: list[Refusal] = []
    cleared: list[Subject] = []
    for remedy in asked:
        outcome = screen(remedy, snapshot, options)
        if isinstance(outcome, Refusal):
            refusals.append(outcome)
        elif outcome is not None:
            cleared.append(outcome)
    return refusals, cleared


def refusals_of(
    snapshot: Snapshot, audit: AuditResult, options: PlanOptions | None = None
) -> list[Refusal]:
    """The objects nsfix plan would refuse to fix, as a plan with these options would say."""
    opts = options or PlanOptions()
    return screened(snapshot, remedies(audit.active(), opts), opts)[0]


def plan(
    snapshot: Snapshot,
    audit: AuditResult,
    *,
    snapshot_digest: str,
    created_at: datetime,
    options: PlanOptions | None = None,
    flow: FlowProbe | None = None,
) -> Plan:
    """Turn an audit into changes (one per object), refusals and server-side tasks, and say
    why the first change is the canary."""
    opts = options or PlanOptions()
    active = audit.active()
    asked = remedies(active, opts)
    refusals, cleared = screened(snapshot, asked, opts)
    changes, canary = planned_changes(snapshot, cleared, flow)
    tasks, snips = server_tasks(snapshot, changes)
    return Plan(
        target=target_facts(snapshot),
        snapshot_digest=snapshot_digest,
        playbooks=audit.playbooks,
        created_at=created_at,
        options=opts,
        changes=tuple(changes),
        refusals=tuple(refusals),
        server_tasks=tasks,
        guidance=tuple(
            f for remedy in asked for f in remedy.findings if not f.remediation.automatic
        ),
        findings=tuple(active),
        canary=canary,
        snips=snips,
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


# --- server-side tasks -------------------------------------------------------------------


def server_tasks(
    snapshot: Snapshot, changes: Iterable[Change]
) -> tuple[tuple[ServerTasks, ...], tuple[PlanSnip, ...]]:
    """Per backend whose traffic the changes alter, what NITRO cannot do (VIPs on a loopback,
    ARP, default gateway); and the SNIPs those tasks name, once.

    A backend the plan does not touch keeps the source address it sees today, so it needs
    nothing new: the tasks follow the changes, not the size of the virtual servers.
    """
    per_address: dict[str, dict[str, set[str]]] = {}
    snips: dict[str, PlanSnip] = {}
    for change in changes:
        backends = _changed_backends(snapshot, change)
        for name in change.vservers:
            vs = snapshot.vservers.get(name)
            if vs is None or not vs.is_dsr or vs.m is None:
                continue
            # Every VIP whose traffic can reach the backend: the vserver's own, those of the
            # vservers whose backup it is, those of content switching in front of it.
            vips = {e.vip_text for e in snapshot.entry_points(vs.name)}
            for address, where, td in backends:
                entry = per_address.setdefault(
                    address, {"vips": set(), "vservers": set(), "modes": set(), "snips": set()}
                )
                # Only a SNIP on the server's own subnet could be its (wrong) default gateway:
                # a gateway is always on-link. Naming just those keeps each task to what matters.
                for snip in snapshot.snips_on_link(where, td):
                    text = str(snip.address)
                    entry["snips"].add(text)
                    snips[text] = PlanSnip(text, str(snip.network), snip.td)
                entry["vips"].update(vips)
                entry["vservers"].add(vs.name)
                entry["modes"].add(vs.m)
    tasks = tuple(
        ServerTasks(
            address=address,
            vips=tuple(sorted(per_address[address]["vips"])),
            vservers=tuple(sorted(per_address[address]["vservers"])),
            modes=tuple(sorted(per_address[address]["modes"])),
            gateways=tuple(sorted(per_address[address]["snips"], key=_address_order)),
        )
        for address in sorted(per_address, key=_address_order)
    )
    return tasks, tuple(snips[a] for a in sorted(snips, key=_address_order))


def _changed_backends(snapshot: Snapshot, change: Change) -> list[tuple[str, IPAddress, int]]:
    """The backends whose traffic one change alters: those of the service or service group it
    writes or binds, and for a step of a dedicated copy, those of the original."""
    record = change.operation.record
    names = {change.object.name, *(str(record[k]) for k in _BACKEND_KEYS if k in record)}
    if change.group and change.group.startswith(COPY_GROUP):
        names.add(change.group.removeprefix(COPY_GROUP))
    found: list[tuple[str, IPAddress, int]] = []
    for name in sorted(names):
        service = snapshot.services.get(name)
        if service is not None and service.address is not None:
            found.append((service.address_text, service.address, service.td))
        group = snapshot.servicegroups.get(name)
        if group is not None:
            found.extend(
                (m.address_text, m.address, group.td)
                for m in group.members
                if m.address is not None
            )
    return found


# The attributes of a written record that name a backend object.
_BACKEND_KEYS: Final = ("name", "servicename", "servicegroupname")


def _address_order(text: str) -> tuple[int, int, str]:
    address = parsed_address(text)
    if address is None:
        return (9, 0, text)
    return (address.version, int(address), text)


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
        if op.verb == Verb.UPDATE and op.resource == "service":
            name = str(record["name"])
            services[name] = replace(services[name], **_flags(record))
        elif op.verb == Verb.UPDATE and op.resource == "servicegroup":
            name = str(record["servicegroupname"])
            groups[name] = replace(groups[name], **_flags(record))
        elif op.verb == Verb.ADD and op.resource == "service":
            services[str(record["name"])] = _service_from(record, snapshot)
        elif op.verb == Verb.ADD and op.resource == "servicegroup":
            groups[str(record["servicegroupname"])] = _group_from(record, snapshot)
        elif op.resource == MEMBER_BINDING:
            grp = groups[str(record["servicegroupname"])]
            member = _member_from(record, snapshot)
            members = [m for m in grp.members if not _same_member(m, record)]
            if op.verb == Verb.BIND:
                members.append(member)
            groups[grp.name] = replace(grp, members=tuple(members))
        elif op.resource == "service_lbmonitor_binding" and op.verb == Verb.BIND:
            svc = services[str(record["name"])]
            monitors = (*svc.monitors, str(record["monitor_name"]))
            services[svc.name] = replace(svc, monitors=monitors)
        elif op.resource == "servicegroup_lbmonitor_binding" and op.verb == Verb.BIND:
            grp = groups[str(record["servicegroupname"])]
            groups[grp.name] = replace(grp, monitors=(*grp.monitors, str(record["monitor_name"])))
        elif op.resource == "lbvserver_service_binding":
            vs = vservers[str(record["name"])]
            bound = [s for s in vs.services if s != record["servicename"]]
            if op.verb == Verb.BIND:
                bound.append(str(record["servicename"]))
            vservers[vs.name] = replace(vs, services=tuple(bound))
        elif op.resource == "lbvserver_servicegroup_binding":
            vs = vservers[str(record["name"])]
            bound = [g for g in vs.servicegroups if g != record["servicegroupname"]]
            if op.verb == Verb.BIND:
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
