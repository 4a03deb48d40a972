"""Findings + snapshot → a plan of safe changes, the refusals with reasons, and server-side tasks.

Pure: no I/O. Every change carries the values it expects to find (its precondition) and the
operation that undoes it, so the executor can compare-and-set and roll back days later. The
guards that refuse an object live in `planner_guards`, the writes in `planner_changes`, the
records in `planner_records`; this module puts them together and is where importers find them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from nsfix.findings import AuditResult
from nsfix.model import (
    DefectLog,
    IPAddress,
    LbVserver,
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
from nsfix.planner_guards import Subject, remedies, screen
from nsfix.planner_records import (
    Canary,
    CanaryChoice,
    Change,
    Operation,
    Plan,
    PlanOptions,
    Refusal,
    RefusalReason,
    ServerTaskItem,
    ServerTasks,
    Verb,
    VserverPath,
    finding_key,
)
from nsfix.resources import MEMBER_BINDING, resource

__all__ = [
    "Canary",
    "CanaryChoice",
    "Change",
    "FlowProbe",
    "Operation",
    "Plan",
    "PlanOptions",
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
    refusals: list[Refusal] = []
    cleared: list[Subject] = []
    for remedy in asked:
        outcome = screen(remedy, snapshot, opts)
        if isinstance(outcome, Refusal):
            refusals.append(outcome)
        elif outcome is not None:
            cleared.append(outcome)
    changes, canary = planned_changes(snapshot, cleared, flow)
    return Plan(
        target=target_facts(snapshot),
        snapshot_digest=snapshot_digest,
        playbooks=audit.playbooks,
        created_at=created_at,
        options=opts,
        changes=tuple(changes),
        refusals=tuple(refusals),
        server_tasks=server_tasks(snapshot, {v for c in changes for v in c.vservers}),
        guidance=tuple(
            f for remedy in asked for f in remedy.findings if not f.remediation.automatic
        ),
        findings=tuple(active),
        canary=canary,
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


def server_tasks(snapshot: Snapshot, vserver_names: Iterable[str]) -> tuple[ServerTasks, ...]:
    """Per backend address, what NITRO cannot do: VIPs on a loopback, ARP, default gateway."""
    per_address: dict[str, dict[str, set[str]]] = {}
    for name in sorted(set(vserver_names)):
        vs = snapshot.vservers.get(name)
        if vs is None or not vs.is_dsr or vs.m is None:
            continue
        for address, where, td in _backend_addresses(snapshot, vs):
            entry = per_address.setdefault(
                address, {"vips": set(), "vservers": set(), "modes": set(), "snips": set()}
            )
            # Only a SNIP on the server's own subnet could be its (wrong) default gateway: a
            # gateway is always on-link. Naming just those keeps each task to what matters.
            entry["snips"].update(str(s.address) for s in snapshot.snips_on_link(where, td))
            # Every VIP whose traffic can reach the backend: the vserver's own, those of the
            # vservers whose backup it is, those of content switching in front of it.
            entry["vips"].update(e.vip_text for e in snapshot.entry_points(vs.name))
            entry["vservers"].add(vs.name)
            entry["modes"].add(vs.m)
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
                items=_task_items(vips, modes, tuple(sorted(entry["snips"], key=_address_order))),
            )
        )
    return tuple(out)


def _address_order(text: str) -> tuple[int, int, str]:
    address = parsed_address(text)
    if address is None:
        return (9, 0, text)
    return (address.version, int(address), text)


def _backend_addresses(snapshot: Snapshot, vs: LbVserver) -> list[tuple[str, IPAddress, int]]:
    """(address as the appliance spells it, the address, its traffic domain) of each backend."""
    found: list[tuple[str, IPAddress, int]] = []
    for name in vs.services:
        service = snapshot.services.get(name)
        if service is not None and service.address is not None:
            found.append((service.address_text, service.address, service.td))
    for name in vs.servicegroups:
        group = snapshot.servicegroups.get(name)
        if group is not None:
            found.extend(
                (m.address_text, m.address, group.td)
                for m in group.members
                if m.address is not None
            )
    return found


def _gateway_item(gateways: Sequence[str]) -> ServerTaskItem:
    """The server's default route must lead to the router, never back to the NetScaler."""
    if gateways:
        named = ", ".join(gateways)
        title = (
            "Keep the default gateway on the upstream router, not on the NetScaler's SNIP on "
            f"this subnet ({named}): DSR replies must go straight to the clients"
        )
        hop = f"the default route's next hop is the router, and none of: {named}"
    else:
        title = (
            "Keep the default gateway on the upstream router (no NetScaler SNIP is on this "
            "server's subnet): DSR replies must go straight to the clients"
        )
        hop = "the default route's next hop is the router"
    return ServerTaskItem(
        title=title,
        linux=("ip route show default",),
        windows=("route print 0.0.0.0",),
        check=(hop, "from the server: traceroute -n <a client address> leaves via the router"),
    )


def _no_neighbour_answers(v4: Sequence[str], v6: Sequence[str]) -> ServerTaskItem:
    """ARP for IPv4 VIPs, neighbour discovery for IPv6 ones: the server must stay silent."""
    linux: list[str] = []
    windows: list[str] = []
    check: list[str] = []
    if v4 or not v6:
        linux += [
            "sysctl -w net.ipv4.conf.all.arp_ignore=1",
            "sysctl -w net.ipv4.conf.all.arp_announce=2",
            "echo -e 'net.ipv4.conf.all.arp_ignore=1\\nnet.ipv4.conf.all.arp_announce=2' "
            "> /etc/sysctl.d/90-nsfix-dsr.conf",
        ]
        windows += [
            'netsh interface ipv4 set interface "<LAN adapter>" weakhostreceive=enabled',
            'netsh interface ipv4 set interface "Loopback" weakhostreceive=enabled '
            "weakhostsend=enabled",
        ]
        check += [
            "Linux: sysctl net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce "
            "(expect 1 and 2)",
            "from another host on the subnet: arping -c 3 <VIP> must get no answer from this "
            "server's MAC",
        ]
    if v6:
        # Linux answers a neighbour solicitation only for addresses on the interface it
        # arrives on, so an IPv6 VIP on lo stays silent without a sysctl.
        linux.append("IPv6: nothing to set while the VIP is on lo (it is never solicited there)")
        windows += [
            'netsh interface ipv6 set interface "<LAN adapter>" weakhostreceive=enabled',
            'netsh interface ipv6 set interface "Loopback" weakhostreceive=enabled '
            "weakhostsend=enabled",
        ]
        check.append(
            "from another host on the subnet: ndisc6 <VIP> <interface> must get no answer from "
            "this server"
        )
    windows.append("leave the loopback adapter without a default gateway")
    check.append(
        'Windows: netsh interface ipv4 show interface "Loopback" level=verbose '
        "(weak host receive/send enabled)"
    )
    what = "ARP" if not v6 else ("neighbour discovery" if not v4 else "ARP or neighbour discovery")
    return ServerTaskItem(
        title=f"Never answer {what} for the VIP: otherwise clients and the router reach the "
        "server directly and bypass the NetScaler",
        linux=tuple(linux),
        windows=tuple(windows),
        check=tuple(check),
    )


def _task_items(
    vips: Sequence[str], modes: Sequence[str], gateways: Sequence[str]
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
        _no_neighbour_answers(v4, v6),
        _gateway_item(gateways),
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
