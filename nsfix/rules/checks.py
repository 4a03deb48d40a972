"""Built-in checks: the relationships a plain attribute expectation cannot express."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from nsfix.findings import ObjectRef
from nsfix.model import (
    DataDefect,
    IPAddress,
    LbVserver,
    Service,
    ServiceGroup,
    ServiceGroupMember,
    Snapshot,
)


@dataclass(frozen=True)
class BackendAddress:
    """One address traffic is forwarded to: a service, or one member of a service group."""

    owner: Service | ServiceGroup
    member: ServiceGroupMember | None
    address: IPAddress | None
    address_text: str
    port: int | None

    @property
    def label(self) -> str:
        return self.address_text or (self.member.servername if self.member else None) or "?"


SubjectObject = LbVserver | Service | ServiceGroup | BackendAddress | DataDefect


@dataclass(frozen=True)
class Subject:
    """What a rule looks at: an object, and the virtual server it was reached through."""

    ref: ObjectRef
    obj: SubjectObject
    via: LbVserver | None = None


@dataclass(frozen=True)
class Violation:
    attribute: str | None
    current: str | None
    expected: str | None
    message: str
    flow: str | None = None


@dataclass(frozen=True)
class Unknown:
    attribute: str
    reason: str


Verdict = Violation | Unknown | None
Check = Callable[[Subject, Snapshot], Verdict]


def monitors_of(subject: Subject) -> tuple[str, ...]:
    obj = subject.obj
    owner = obj.owner if isinstance(obj, BackendAddress) else obj
    return owner.monitors if isinstance(owner, Service | ServiceGroup) else ()


def mac_learning_monitor(subject: Subject, snapshot: Snapshot) -> Verdict:
    """MAC mode learns the server's MAC from a monitor probe; script monitors send none."""
    obj = subject.obj
    if isinstance(obj, Service) and obj.healthmonitor is False:
        return Violation(
            "healthmonitor",
            "NO",
            "YES with a PING or TCP monitor",
            f"{subject.ref} is not health-monitored (healthmonitor NO): in MAC mode the NetScaler "
            "never learns its MAC address and forwards the traffic back to itself",
            flow="mac-not-learned",
        )
    names = monitors_of(subject)
    if not names:
        return None  # the appliance binds its default ping/tcp monitor, which learns the MAC
    known = [snapshot.monitors[n] for n in names if n in snapshot.monitors]
    if len(known) < len(names):
        missing = sorted(set(names) - set(snapshot.monitors))
        return Unknown("monitor_name", f"monitor type not known for {', '.join(missing)}")
    if all(m.is_script for m in known):
        listing = ", ".join(f"{m.name} ({m.type})" for m in known)
        return Violation(
            "monitor_name",
            listing,
            "at least one PING or TCP monitor",
            f"{subject.ref} has only script monitors ({listing}): in MAC mode the NetScaler "
            "never learns the server's MAC, ARPs for its own VIP and loops the traffic to itself",
            flow="mac-not-learned",
        )
    return None


def layer2_adjacency(subject: Subject, snapshot: Snapshot) -> Verdict:
    """MAC mode rewrites only the destination MAC: the server must share a subnet with a SNIP."""
    obj = subject.obj
    if not isinstance(obj, BackendAddress):
        return None
    if obj.address is None:
        return Unknown("ipaddress", f"no usable address ({obj.address_text or 'missing'})")
    td = obj.owner.td
    if subject.via is not None and subject.via.td != td:
        return Violation(
            "td",
            str(td),
            str(subject.via.td),
            f"{subject.ref} is in traffic domain {td} but bound to {subject.via.name} in traffic "
            f"domain {subject.via.td}: the NetScaler forwards within one traffic domain only",
            flow="no-layer2",
        )
    if snapshot.snip_for(obj.address, td) is not None:
        return None
    same_domain = [s for s in snapshot.snips if s.td == td]
    subnets = ", ".join(str(s.network) for s in same_domain) or "no SNIP configured"
    where = f" of traffic domain {td}" if td else ""
    others = snapshot.other_domain_snips(obj.address, td)
    beyond = (
        f" (SNIP {others[0].address} of traffic domain {others[0].td} holds it, but a SNIP of "
        "another traffic domain is no adjacency)"
        if others
        else ""
    )
    return Violation(
        "ipaddress",
        obj.address_text,
        f"inside a SNIP subnet{where} ({subnets})",
        f"{obj.address_text} ({subject.ref}) is outside every SNIP subnet{where}{beyond}, so "
        "MAC-mode forwarding cannot reach it at layer 2; use IPTUNNEL or TOS redirection for "
        "remote servers",
        flow="no-layer2",
    )


def proxy_usip_gateway(subject: Subject, snapshot: Snapshot) -> Verdict:
    """USIP in proxy mode only works if the server routes its replies back via the NetScaler."""
    obj = subject.obj
    if not isinstance(obj, Service | ServiceGroup) or obj.effective_usip is not True:
        return None
    if isinstance(obj, Service):
        vservers = snapshot.vservers_of_service(obj.name)
    else:
        vservers = snapshot.vservers_of_servicegroup(obj.name)
    if not vservers or any(vs.m != "IP" for vs in vservers):
        return None
    names = ", ".join(vs.name for vs in vservers)
    return Violation(
        "usip",
        "YES",
        "the server's default gateway is a NetScaler SNIP",
        f"{subject.ref} uses the client's source IP behind proxy-mode virtual servers ({names}): "
        "the server must route replies through the NetScaler, or they bypass it and are reset",
        flow="asymmetric",
    )


def usip_explicit(subject: Subject, snapshot: Snapshot) -> Verdict:
    """usip YES that comes from the global mode follows a later change of that mode."""
    obj = subject.obj
    if not isinstance(obj, Service | ServiceGroup) or obj.effective_usip is not True:
        return None
    if obj.usip_inherited:
        return Violation(
            "usip",
            "YES (not set: follows the global USIP mode)",
            "YES set on the object itself",
            f"{subject.ref} has no usip of its own and follows the global USIP mode, which is "
            "on: turning the global mode off later silently breaks this DSR virtual server",
        )
    if snapshot.modes.usip is not True:
        return None
    return Violation(
        "usip",
        "YES (global USIP mode is on)",
        "YES set on the object itself",
        f"{subject.ref} has usip YES while the global USIP mode is on: if it was inherited rather "
        "than set, turning the global mode off later silently breaks this DSR virtual server",
    )


def data_defect(subject: Subject, snapshot: Snapshot) -> Verdict:
    obj = subject.obj
    if not isinstance(obj, DataDefect):
        return None
    return Violation(
        obj.attribute,
        obj.value or "(missing)",
        None,
        f"{obj.resource} {obj.name!r}: {obj.attribute} = {obj.value!r}: {obj.problem}",
    )


CHECKS: Final[Mapping[str, Check]] = {
    "mac-learning-monitor": mac_learning_monitor,
    "layer2-adjacency": layer2_adjacency,
    "proxy-usip-gateway": proxy_usip_gateway,
    "usip-explicit": usip_explicit,
    "data-defect": data_defect,
}
