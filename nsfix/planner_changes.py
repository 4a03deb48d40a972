"""The writes of a plan (updates, monitor bindings, DSR copies) in apply order, canary first."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from nsfix.findings import ObjectRef
from nsfix.model import LbVserver, Service, ServiceGroup, ServiceGroupMember, Snapshot
from nsfix.planner_guards import SOURCE_ATTRIBUTES, Subject, object_of
from nsfix.planner_records import (
    COPY_GROUP,
    Canary,
    CanaryChoice,
    Change,
    Operation,
    Precondition,
    Verb,
    finding_key,
)
from nsfix.resources import MEMBER_BINDING, Resource, nitro_value, resource

DSR_COPY_SUFFIX: Final = "_dsr"
NAME_LIMIT: Final = 127  # NetScaler object names are at most 127 characters

FlowProbe = Callable[[Snapshot, str, str, Mapping[str, str] | None], str | None]
"""(snapshot, vserver, backend object name, attribute overrides) → packet-path outcome."""


@dataclass(frozen=True)
class Backend:
    """A service or a service group as the copy builder needs it: its NITRO entry, the bindings
    that hang off it, and where a virtual server keeps their weights."""

    entry: Resource
    monitor_binding: str
    vserver_binding: str
    vserver_key: str
    """The attribute that names the object in a virtual server binding."""
    weights: Callable[[LbVserver], Mapping[str, int]]
    """The weights of the object's bindings on one virtual server."""

    @property
    def resource(self) -> str:
        return self.entry.name

    @property
    def key(self) -> str:
        return self.entry.key

    @property
    def noun(self) -> str:
        return self.entry.noun


def _backend(name: str, weights: Callable[[LbVserver], Mapping[str, int]]) -> Backend:
    entry = resource(name)
    if entry.monitor_binding is None or entry.vserver_binding is None:
        raise ValueError(f"the resource table names no bindings of {name}")
    binding = resource(entry.vserver_binding).binding
    if binding is None:
        raise ValueError(f"{entry.vserver_binding} is not a binding in the resource table")
    return Backend(
        entry=entry,
        monitor_binding=entry.monitor_binding,
        vserver_binding=entry.vserver_binding,
        vserver_key=binding.identity[0],
        weights=weights,
    )


SERVICE: Final = _backend("service", lambda vs: vs.service_weights)
SERVICE_GROUP: Final = _backend("servicegroup", lambda vs: vs.servicegroup_weights)


def backend_of(obj: Service | ServiceGroup) -> Backend:
    return SERVICE if isinstance(obj, Service) else SERVICE_GROUP


def observed(obj: Service | ServiceGroup, attribute: str) -> str:
    """The object's value in NITRO's vocabulary; empty when the appliance did not report it."""
    value = getattr(obj, attribute, None)
    return "" if value is None else nitro_value(attribute, value)


def planned_changes(
    snapshot: Snapshot,
    cleared: Sequence[Subject],
    flow: FlowProbe | None,
) -> tuple[list[Change], Canary | None]:
    """The writes for the objects the guards let through, in apply order, and why the first
    is the canary (None when there is nothing to write)."""
    updates: list[tuple[Subject, Change]] = []
    monitors: dict[ObjectRef, Change] = {}
    copies: list[Change] = []
    taken = set(snapshot.services) | set(snapshot.servicegroups)
    for subject in cleared:
        if subject.proxy_users:
            # The guards let a shared object through only when it gets its own DSR copy.
            copies.extend(copy_changes(subject, taken))
            continue
        if subject.remedy.wanted:
            updates.append((subject, update_change(snapshot, subject, flow)))
        if subject.remedy.monitor is not None:
            monitors[subject.ref] = monitor_change(subject)
    return ordered_changes(snapshot, updates, monitors, copies)


# --- updates and monitor bindings on the object itself ----------------------------------------


def update_change(snapshot: Snapshot, subject: Subject, flow: FlowProbe | None) -> Change:
    """Set the attributes the findings ask for, and nothing that already has its value."""
    ref, obj, wanted = subject.ref, subject.obj, subject.remedy.wanted
    key = {backend_of(obj).key: ref.name}
    before = {name: observed(obj, name) for name in wanted}
    after = dict(wanted)
    if after.get("useproxyport") == "NO" and after.get("usip", before.get("usip")) != "YES":
        # NITRO accepts useproxyport only together with usip YES.
        after["usip"] = "YES"
        before["usip"] = observed(obj, "usip")
    changed = {k: v for k, v in after.items() if before.get(k) != v}
    vservers = tuple(sorted({vs.name for vs in subject.dsr}))
    flow_before = flow_after = None
    if flow is not None and vservers:
        flow_before = flow(snapshot, vservers[0], ref.name, None)
        flow_after = flow(snapshot, vservers[0], ref.name, changed)
    return Change(
        id="",
        object=ref,
        operation=Operation(Verb.UPDATE, ref.resource, {**key, **changed}),
        inverse=Operation(Verb.UPDATE, ref.resource, {**key, **{k: before[k] for k in changed}}),
        before={k: before[k] for k in changed},
        after=changed,
        precondition=Precondition.ATTRIBUTES,
        fixes=tuple(finding_key(f) for f in subject.remedy.automatic),
        vservers=vservers,
        risk=_update_risk(ref, obj, changed, vservers),
        flow_before=flow_before,
        flow_after=flow_after,
    )


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


def monitor_change(subject: Subject) -> Change:
    """Bind the monitor the operator allowed, so that MAC mode learns the backend's MAC."""
    ref, backend, monitor = subject.ref, backend_of(subject.obj), subject.remedy.monitor
    assert monitor is not None
    record = {backend.key: ref.name, "monitor_name": monitor}
    return Change(
        id="",
        object=ObjectRef(backend.monitor_binding, ref.name, ref.partition),
        operation=Operation(Verb.BIND, backend.monitor_binding, record),
        inverse=Operation(Verb.UNBIND, backend.monitor_binding, record),
        before={},
        after={"monitor_name": monitor},
        precondition=Precondition.ABSENT,
        fixes=tuple(finding_key(f) for f in subject.remedy.monitor_findings),
        vservers=tuple(sorted(vs.name for vs in subject.dsr)),
        risk=f"adds {monitor} probes toward the backend; the NetScaler learns its MAC from them",
    )


# --- dedicated DSR copies of a shared service or service group --------------------------------


def copy_changes(subject: Subject, taken: set[str]) -> list[Change]:
    """Add a DSR-only copy of a shared service or service group, bind it where the original was
    on the DSR virtual servers, and unbind the original there; its proxy-mode users keep it."""
    original = subject.obj
    name = _free_name(original.name, taken)
    taken.add(name)
    if isinstance(original, Service):
        return _copy_steps(subject, name, _service_record(original, name, subject), ())
    return _copy_steps(subject, name, _group_record(original, name, subject), original.members)


def _service_record(service: Service, name: str, subject: Subject) -> dict[str, Any]:
    record: dict[str, Any] = {
        "name": name,
        "servicetype": service.servicetype,
        "port": service.port,
        **_source(subject),
        "td": service.td,
    }
    # NITRO takes ip or servername, not both.
    if service.servername:
        record["servername"] = service.servername
    else:
        record["ip"] = service.address_text
    if service.cip is not None:
        record["cip"] = nitro_value("cip", service.cip)
    return {**record, **_other_wanted(subject)}


def _group_record(group: ServiceGroup, name: str, subject: Subject) -> dict[str, Any]:
    record: dict[str, Any] = {
        "servicegroupname": name,
        "servicetype": group.servicetype,
        **_source(subject),
        "td": group.td,
    }
    if group.cip is not None:
        record["cip"] = nitro_value("cip", group.cip)
    if group.state == "DISABLED":
        record["state"] = "DISABLED"
    return {**record, **_other_wanted(subject)}


def _source(subject: Subject) -> dict[str, str]:
    """The copy keeps the original's source IP and port, except what the findings ask to change."""
    wanted = subject.remedy.wanted
    return {
        name: wanted.get(name) or observed(subject.obj, name) for name in ("usip", "useproxyport")
    }


def _other_wanted(subject: Subject) -> dict[str, str]:
    return {k: v for k, v in subject.remedy.wanted.items() if k not in SOURCE_ATTRIBUTES}


def _copy_steps(
    subject: Subject,
    name: str,
    record: Mapping[str, Any],
    members: Sequence[ServiceGroupMember],
) -> list[Change]:
    """The copy's steps: add it, bind its members and monitors, take the original's place."""
    original = subject.obj
    backend = backend_of(original)
    partition = original.partition
    keys = tuple(finding_key(f) for f in subject.remedy.fixes)
    vservers = tuple(vs.name for vs in subject.dsr)

    def step(
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
            precondition=(
                Precondition.PRESENT if operation.verb is Verb.UNBIND else Precondition.ABSENT
            ),
            fixes=keys,
            vservers=on,
            group=f"{COPY_GROUP}{original.name}",
            risk=risk,
        )

    unread = "timeouts, profiles, limits"
    if members:
        unread = f"{unread}, member options other than weight and state"
    out = [
        step(
            ObjectRef(backend.resource, name, partition),
            Operation(Verb.ADD, backend.resource, record),
            Operation(Verb.DELETE, backend.resource, {backend.key: name}),
            f"new {backend.noun} {name} for DSR only; settings nsfix does not read ({unread}) "
            f"take their defaults, review them against {original.name}",
            after={k: str(v) for k, v in record.items()},
        )
    ]
    for member in members:
        binding = _member_record(name, member)
        out.append(
            step(
                ObjectRef(MEMBER_BINDING, name, partition, member=_member_text(member)),
                Operation(Verb.BIND, MEMBER_BINDING, binding),
                Operation(Verb.UNBIND, MEMBER_BINDING, binding),
                f"{name} gets the member {_member_text(member)} of {original.name}; the server "
                "receives monitor probes from the copy as well",
                after={k: str(v) for k, v in binding.items() if k != "servicegroupname"},
            )
        )
    monitors = [*original.monitors]
    extra = subject.remedy.monitor
    if extra is not None and extra not in monitors:
        # The original's monitors cannot teach MAC mode the backends' MACs; the copy gets one.
        monitors.insert(0, extra)
    for monitor in monitors:
        binding = {backend.key: name, "monitor_name": monitor}
        out.append(
            step(
                ObjectRef(backend.monitor_binding, name, partition),
                Operation(Verb.BIND, backend.monitor_binding, binding),
                Operation(Verb.UNBIND, backend.monitor_binding, binding),
                f"monitors {name} like {original.name}",
                after={"monitor_name": monitor},
            )
        )
    both = ", each member twice" if members else ""
    for vs in subject.dsr:
        # The copy takes the original's weight, and a rollback re-binds the original with it.
        weight = backend.weights(vs).get(original.name)
        extra_weight = {} if weight is None else {"weight": weight}
        new_binding = {"name": vs.name, backend.vserver_key: name, **extra_weight}
        old_binding = {"name": vs.name, backend.vserver_key: original.name, **extra_weight}
        ref = ObjectRef(backend.vserver_binding, vs.name, partition)
        out.append(
            step(
                ref,
                Operation(Verb.BIND, backend.vserver_binding, new_binding),
                Operation(Verb.UNBIND, backend.vserver_binding, new_binding),
                f"{vs.name} briefly balances over both {original.name} and {name}{both}",
                after={backend.vserver_key: name},
                on=(vs.name,),
            )
        )
        out.append(
            step(
                ref,
                Operation(Verb.UNBIND, backend.vserver_binding, old_binding),
                Operation(Verb.BIND, backend.vserver_binding, old_binding),
                f"{vs.name} stops using the shared {original.name}; its proxy-mode users keep it",
                before={backend.vserver_key: original.name},
                on=(vs.name,),
            )
        )
    return out


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


def _free_name(base: str, taken: set[str]) -> str:
    stem = base[: NAME_LIMIT - len(DSR_COPY_SUFFIX) - 3]
    candidate = f"{stem}{DSR_COPY_SUFFIX}"
    counter = 2
    while candidate in taken:
        candidate = f"{stem}{DSR_COPY_SUFFIX}{counter}"
        counter += 1
    return candidate


# --- apply order and the canary --------------------------------------------------------------


def ordered_changes(
    snapshot: Snapshot,
    updates: Sequence[tuple[Subject, Change]],
    monitors: Mapping[ObjectRef, Change],
    copies: Sequence[Change],
) -> tuple[list[Change], Canary | None]:
    """The canary first, then the rest; ids c1..cN in apply order."""

    def quietness(update: tuple[Subject, Change]) -> tuple[bool, int, int, tuple[str, ...]]:
        # Live backends first, so that a problem shows while few writes are done; the smallest
        # change of each kind first.
        obj, change = update[0].obj, update[1]
        live = isinstance(obj, Service) and obj.state == "ENABLED" and obj.svrstate == "UP"
        live = live or (isinstance(obj, ServiceGroup) and obj.effective_state == "UP")
        size = len(obj.members) if isinstance(obj, ServiceGroup) else 1
        return (not live, size, len(change.vservers), change.object.sort_key)

    ordered: list[Change] = []
    pending = dict(monitors)
    for _, change in sorted(updates, key=quietness):
        # Monitors go before the usip change of the same object: MAC learning must work first.
        if change.object in pending:
            ordered.append(pending.pop(change.object))
        ordered.append(change)
    ordered.extend(pending.values())
    ordered.extend(copies)
    if not ordered:
        return [], None
    first, code, reason = choose_canary(snapshot, ordered)
    ordered.insert(0, ordered.pop(next(i for i, c in enumerate(ordered) if c is first)))
    numbered = [
        replace(change, id=f"c{index}", canary=index == 1)
        for index, change in enumerate(ordered, start=1)
    ]
    return numbered, Canary(change=numbered[0].id, code=code, reason=reason)


# Why a change cannot be a meaningful canary, as the plan says it.
NO_TRAFFIC: Final = "monitor bindings, which change no client traffic"
COPY_STEPS: Final = "dedicated copies, whose steps stay together and begin with an add"
NOT_UP: Final = "backends not UP"
NO_LIVE_VSERVER: Final = "behind no enabled DSR virtual server that is UP"
MONITOR_FIRST: Final = "live, but their monitor binding must go first"
NOT_CANARIES: Final = (NOT_UP, NO_LIVE_VSERVER, MONITOR_FIRST, NO_TRAFFIC, COPY_STEPS)
"""The order the plan names them in: traffic changes that are not live first."""
NAMED_AT_MOST: Final = 5
_MONITORED: Final = {
    SERVICE.monitor_binding: SERVICE.resource,
    SERVICE_GROUP.monitor_binding: SERVICE_GROUP.resource,
}
"""Monitor binding resource → the resource whose update waits for it."""


@dataclass(frozen=True)
class Blocked:
    """Why a change is no canary: which reason, the object it names, and a detail."""

    what: str
    name: str
    detail: str = ""


def choose_canary(
    snapshot: Snapshot, changes: Sequence[Change]
) -> tuple[Change, CanaryChoice, str]:
    """The change to write and verify alone before the rest, and why that one.

    A canary proves something only if its write changes live traffic: an attribute update of an
    enabled service that is UP (or an enabled group that is UP with a member UP) behind an
    enabled DSR virtual server that is UP, which can go first (no monitor binding of its own
    waits to go before it). Among those, the smallest blast radius: a service before a group,
    fewer members, fewer virtual servers, then the name, so that the order of the records
    never decides. Without one, the first of `changes` stays first. Pure.
    """
    waiting = {
        ObjectRef(_MONITORED[c.object.resource], c.object.name, c.object.partition)
        for c in changes
        if c.group is None and c.object.resource in _MONITORED
    }
    live: list[tuple[Change, tuple[LbVserver, ...]]] = []
    blocked: dict[str, dict[str, str]] = {}
    for change in changes:
        verdict = _canary_verdict(snapshot, change, waiting)
        if isinstance(verdict, Blocked):
            blocked.setdefault(verdict.what, {})[verdict.name] = verdict.detail
        else:
            live.append((change, verdict))
    if live:
        change, vservers = min(live, key=lambda entry: _blast_radius(snapshot, entry[0]))
        return change, CanaryChoice.LIVE, _live_reason(snapshot, change, vservers, len(live))
    first = changes[0]
    reasons = [f"{what}: {_named(blocked[what])}" for what in NOT_CANARIES if what in blocked]
    return (
        first,
        CanaryChoice.NO_LIVE_CANDIDATE,
        f"no change can be a meaningful canary: {'; '.join(reasons)}. The first change, "
        f"{first.object}, still goes alone and is read back, but that proves nothing on live "
        "traffic",
    )


def _canary_verdict(
    snapshot: Snapshot, change: Change, waiting: set[ObjectRef]
) -> tuple[LbVserver, ...] | Blocked:
    """The live DSR virtual servers the change's write reaches, or why it is no canary."""
    ref = change.object
    if change.group is not None:
        return Blocked(COPY_STEPS, f"copy of {change.group.split(':', 1)[1]}")
    if change.operation.verb is not Verb.UPDATE:
        return Blocked(NO_TRAFFIC, str(ref))
    obj = object_of(snapshot, ref)
    down = "not read" if obj is None else _not_up(obj)
    if down:
        return Blocked(NOT_UP, str(ref), down)
    vservers = [snapshot.vservers.get(name) for name in change.vservers]
    live = tuple(vs for vs in vservers if vs is not None and _vserver_live(vs))
    if not live:
        states = [f"{vs.name} {_vserver_state(vs)}" for vs in vservers if vs is not None]
        return Blocked(NO_LIVE_VSERVER, str(ref), ", ".join(states) or "bound to none")
    if ref in waiting:
        return Blocked(MONITOR_FIRST, str(ref))
    return live


def _not_up(obj: Service | ServiceGroup) -> str:
    """Why the backend takes no traffic now; empty when it is enabled and UP."""
    if obj.state != "ENABLED":
        return obj.state.lower()
    if isinstance(obj, Service):
        return "" if obj.svrstate == "UP" else obj.svrstate
    if obj.effective_state != "UP":
        return f"effective state {obj.effective_state}"
    return "" if _members_up(obj) else "no member UP"


def _members_up(group: ServiceGroup) -> int:
    return sum(m.state == "ENABLED" and m.svrstate == "UP" for m in group.members)


def _vserver_live(vs: LbVserver) -> bool:
    return vs.state == "ENABLED" and vs.curstate == "UP"


def _vserver_state(vs: LbVserver) -> str:
    return vs.state.lower() if vs.state != "ENABLED" else vs.curstate


def _blast_radius(snapshot: Snapshot, change: Change) -> tuple[bool, int, int, tuple[str, ...]]:
    """What a failed canary would hit: one backend or a whole group, how many members, how
    many virtual servers; the name makes the order total."""
    obj = object_of(snapshot, change.object)
    members = len(obj.members) if isinstance(obj, ServiceGroup) else 1
    return (isinstance(obj, ServiceGroup), members, len(change.vservers), change.object.sort_key)


def _live_reason(
    snapshot: Snapshot, change: Change, vservers: Sequence[LbVserver], candidates: int
) -> str:
    obj = object_of(snapshot, change.object)
    if isinstance(obj, ServiceGroup):
        what = (
            f"an enabled service group that is UP ({_members_up(obj)} of {len(obj.members)} "
            "members UP)"
        )
    else:
        what = "an enabled service that is UP"
    reason = (
        f"{change.object} is {what} behind {', '.join(vs.name for vs in vservers)} (enabled, "
        "UP): its write changes live "
        "traffic, so its verification proves the change before the rest is written"
    )
    if candidates > 1:
        reason += (
            f". Chosen from {candidates} such changes for the smallest blast radius: a service "
            "before a service group, then fewer members, then fewer virtual servers, then by name"
        )
    return reason


def _named(details: Mapping[str, str]) -> str:
    """`a (DOWN), b (disabled) and 3 more`, sorted by name."""
    texts = [f"{name} ({details[name]})" if details[name] else name for name in sorted(details)]
    if len(texts) <= NAMED_AT_MOST:
        return ", ".join(texts)
    return f"{', '.join(texts[:NAMED_AT_MOST])} and {len(texts) - NAMED_AT_MOST} more"
