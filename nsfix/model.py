"""Frozen records of one NetScaler partition's load-balancing set-up, parsed from NITRO records.

Parsing never raises on bad appliance data: a value that cannot be understood becomes `None` on the
record and a `DataDefect` in the snapshot, so one broken object never hides the rest of the box.
"""

from __future__ import annotations

import ipaddress
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from functools import cached_property, lru_cache
from typing import Any, Final

from nsfix.resources import FALSE_WORDS, TRUE_WORDS, WILDCARD_PORT

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Record = Mapping[str, Any]

DEFAULT_PARTITION: Final = "default"

REDIRECTION_MODES: Final = frozenset({"IP", "MAC", "IPTUNNEL", "TOS"})
# Modes in which the server answers the client directly (the NetScaler docs' DSR variants).
DSR_MODES: Final = frozenset({"MAC", "IPTUNNEL", "TOS"})

SCRIPT_MONITOR_TYPES: Final = frozenset({"USER"})


class HaRole(StrEnum):
    """This node's part in an HA pair, as `show ha node` names it."""

    PRIMARY = "Primary"
    SECONDARY = "Secondary"
    STANDALONE = "Standalone"
    UNKNOWN = "Unknown"

    @property
    def writable(self) -> bool:
        """Only the primary of a pair, or a node on its own, keeps what is written to it: a
        secondary loses it at the next sync, and a node in any other state may be either."""
        return self in {HaRole.PRIMARY, HaRole.STANDALONE}


@dataclass(frozen=True, slots=True)
class DataDefect:
    """A value on the appliance nsfix could not understand; reported, never fatal."""

    resource: str
    name: str
    attribute: str
    value: str
    problem: str
    partition: str = DEFAULT_PARTITION


@dataclass(frozen=True, slots=True)
class Monitor:
    """An `lbmonitor`: its type decides whether the NetScaler learns a backend's MAC from it."""

    name: str
    type: str
    scriptname: str | None = None
    state: str = "ENABLED"

    @property
    def is_script(self) -> bool:
        """Script (USER) monitors send no probe of their own, so MAC mode learns nothing from
        them (CTX138969)."""
        return self.type in SCRIPT_MONITOR_TYPES or bool(self.scriptname)


class UsipSource:
    """The effective usip of a service or service group, from its own value and the global
    mode it was read with (both are fields of the dataclasses that inherit this)."""

    # No instance dictionary: the dataclasses that inherit this are made by the hundred thousand.
    __slots__ = ()

    usip: bool | None
    global_usip: bool | None

    @property
    def effective_usip(self) -> bool | None:
        return effective_usip(self.usip, self.global_usip)

    @property
    def usip_inherited(self) -> bool:
        """The appliance did not report usip: the object follows the global USIP mode."""
        return self.usip is None and self.global_usip is not None


@dataclass(frozen=True, slots=True)
class Service(UsipSource):
    """A `service`: one backend address and port, with the source-IP settings DSR depends on."""

    name: str
    servicetype: str
    address: IPAddress | None
    """`None` when the appliance's `ipaddress` is missing or not an address (see the defects)."""
    address_text: str
    port: int | None
    servername: str | None
    usip: bool | None
    useproxyport: bool | None
    cip: bool | None
    state: str
    svrstate: str
    healthmonitor: bool | None
    td: int
    monitors: tuple[str, ...] = ()
    """Explicitly bound monitors; none means the appliance's default monitor applies."""
    partition: str = DEFAULT_PARTITION
    global_usip: bool | None = None
    """The global USIP mode when the service was read: what it follows when `usip` is unset."""


@dataclass(frozen=True, slots=True)
class ServiceGroupMember:
    """One `servicegroup_servicegroupmember_binding`: a backend inside a service group."""

    servicegroupname: str
    address: IPAddress | None
    address_text: str
    servername: str | None
    port: int | None
    state: str
    svrstate: str
    weight: int | None


@dataclass(frozen=True, slots=True)
class ServiceGroup(UsipSource):
    """A `servicegroup`: its members share its `usip` and `useproxyport` settings."""

    name: str
    servicetype: str
    usip: bool | None
    useproxyport: bool | None
    cip: bool | None
    state: str
    effective_state: str
    td: int
    members: tuple[ServiceGroupMember, ...] = ()
    monitors: tuple[str, ...] = ()
    partition: str = DEFAULT_PARTITION
    global_usip: bool | None = None


@dataclass(frozen=True, slots=True)
class LbVserver:
    """An `lbvserver` with the names of what is bound to it."""

    name: str
    servicetype: str
    vip: IPAddress | None
    vip_text: str
    """`ipv46` as the appliance gave it, or `ippattern/ipmask` for a wildcard virtual server."""
    port: int | None
    m: str | None
    """Redirection mode IP, MAC, IPTUNNEL or TOS; `None` when the appliance sent something else."""
    m_text: str
    tosid: int | None
    sessionless: bool | None
    state: str
    curstate: str
    lbmethod: str
    td: int
    services: tuple[str, ...] = ()
    servicegroups: tuple[str, ...] = ()
    partition: str = DEFAULT_PARTITION
    service_weights: Mapping[str, int] = field(default_factory=dict)
    """Weights of the service bindings that report one (a rebind must restore it)."""
    servicegroup_weights: Mapping[str, int] = field(default_factory=dict)
    backup: str | None = None
    """`backupvserver`: the virtual server that takes this one's traffic when it is down."""

    @property
    def is_dsr(self) -> bool:
        return self.m in DSR_MODES

    @property
    def addressable(self) -> bool:
        """Clients can reach it at its own VIP: not a `0.0.0.0`/`::` vserver that only takes
        traffic as a backup or from a content-switching vserver."""
        if self.vip is None:
            return "/" in self.vip_text  # a wildcard range is addressable
        return not self.vip.is_unspecified


def _how(chain: tuple[str, ...]) -> str:
    if len(chain) == 1:
        return "its own VIP"
    return f"backup chain {' -> '.join(chain)}"


@dataclass(frozen=True)
class CsVserver:
    """A content-switching virtual server: the lbvservers it can hand a request to."""

    name: str
    vip: IPAddress | None
    vip_text: str
    port: int | None
    td: int
    state: str
    targets: tuple[str, ...]
    """The default lbvserver and every policy's target lbvserver, sorted."""


@dataclass(frozen=True)
class EntryPoint:
    """A VIP at which client traffic enters and can reach a virtual server."""

    vip_text: str
    vserver: str
    """The virtual server (lb or cs) that owns the VIP."""
    how: str
    """How traffic gets from there to the virtual server, in words."""


def effective_usip(reported: bool | None, global_usip: bool | None) -> bool | None:
    """The usip value the appliance acts on: the object's own, else the global USIP mode.

    The one place nsfix decides it: rules, the packet path, the planner and the reports all read
    it through `effective_usip` of a service or service group. A service created without -usip
    inherits the global mode and follows later changes of it (CTX109858); for service groups the
    documentation does not say, and nsfix assumes the same (docs/verdicts.md).
    """
    return reported if reported is not None else global_usip


@dataclass(frozen=True, slots=True)
class Server:
    """A `server` object: the name services and members may refer to instead of an address."""

    name: str
    address: IPAddress | None
    address_text: str
    domain: str | None
    state: str


@dataclass(frozen=True, slots=True)
class Snip:
    """A subnet IP (`nsip` SNIP or MIP, `nsip6` SNIP): the layer-2 reach of MAC-mode forwarding
    within its traffic domain."""

    address: IPAddress
    network: IPNetwork
    type: str
    state: str
    td: int


@dataclass(frozen=True)
class GlobalModes:
    """The `nsmode` flags that matter to DSR: USIP inheritance and MAC-based forwarding."""

    usip: bool | None
    mbf: bool | None
    l2: bool | None
    l3: bool | None
    usnip: bool | None


@dataclass(frozen=True)
class ApplianceFacts:
    """What nsfix must know about the box before it trusts a read or plans a write."""

    url: str
    hostname: str | None
    version: str
    release: str | None
    """`14.1-25.56` parsed from `nsversion`, when the string has NetScaler's usual shape."""
    ha_role: HaRole
    ha_peers: tuple[str, ...]
    config_changed: bool | None
    """`nsconfig.configchanged`: running configuration differs from the saved one."""
    partition: str
    partitions: tuple[str, ...]
    ha_state: str = ""
    """This node's own `state` as `hanode` reported it (empty when there was no record)."""
    ha_primary: str | None = None
    """The address of a peer that reports itself Primary: where to write instead."""

    @property
    def ha(self) -> HaState:
        return HaState(self.ha_role, self.ha_peers, self.ha_state, self.ha_primary)


@dataclass(frozen=True)
class Snapshot:
    """One partition of one appliance, read at one moment. Immutable input to audit and plan."""

    appliance: ApplianceFacts
    modes: GlobalModes
    snips: tuple[Snip, ...]
    vservers: Mapping[str, LbVserver]
    services: Mapping[str, Service]
    servicegroups: Mapping[str, ServiceGroup]
    servers: Mapping[str, Server]
    monitors: Mapping[str, Monitor]
    defects: tuple[DataDefect, ...]
    collected_at: datetime
    requests: int = 0
    """HTTP requests the collection took, login and logout included."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    csvservers: Mapping[str, CsVserver] = field(default_factory=dict)

    # --- indexes: built once per snapshot, on first use, so every lookup is O(1) or O(log n) ---

    @cached_property
    def _vservers_by_service(self) -> Mapping[str, tuple[LbVserver, ...]]:
        found: dict[str, list[LbVserver]] = {}
        for vs in self.vservers.values():
            for name in vs.services:
                found.setdefault(name, []).append(vs)
        return {name: tuple(bound) for name, bound in found.items()}

    @cached_property
    def _vservers_by_group(self) -> Mapping[str, tuple[LbVserver, ...]]:
        found: dict[str, list[LbVserver]] = {}
        for vs in self.vservers.values():
            for name in vs.servicegroups:
                found.setdefault(name, []).append(vs)
        return {name: tuple(bound) for name, bound in found.items()}

    @cached_property
    def _backed_up_by(self) -> Mapping[str, tuple[str, ...]]:
        """Backup vserver → the vservers whose `backupvserver` it is, sorted."""
        found: dict[str, list[str]] = {}
        for vs in self.vservers.values():
            if vs.backup is not None:
                found.setdefault(vs.backup, []).append(vs.name)
        return {name: tuple(sorted(primaries)) for name, primaries in found.items()}

    @cached_property
    def _cs_by_target(self) -> Mapping[str, tuple[CsVserver, ...]]:
        found: dict[str, list[CsVserver]] = {}
        for cs in self.csvservers.values():
            for target in cs.targets:
                found.setdefault(target, []).append(cs)
        return {name: tuple(each) for name, each in found.items()}

    @cached_property
    def _snip_index(
        self,
    ) -> Mapping[tuple[int, int], tuple[tuple[int, dict[int, list[Snip]]], ...]]:
        """(td, IP version) → for each prefix length in use, network address → SNIPs: a lookup
        masks the address once per prefix length instead of testing every SNIP."""
        index: dict[tuple[int, int], dict[int, dict[int, list[Snip]]]] = {}
        for snip in self.snips:
            net = snip.network
            by_length = index.setdefault((snip.td, net.version), {})
            by_length.setdefault(net.prefixlen, {}).setdefault(int(net.network_address), []).append(
                snip
            )
        return {
            key: tuple(sorted(by_length.items(), reverse=True)) for key, by_length in index.items()
        }

    def primaries_of(self, vserver: str) -> list[str]:
        """The virtual servers whose backup chain leads to `vserver` (not itself), sorted."""
        found: set[str] = set()
        frontier = [vserver]
        while frontier:
            current = frontier.pop()
            for name in self._backed_up_by.get(current, ()):
                if name not in found and name != vserver:
                    found.add(name)
                    frontier.append(name)
        return sorted(found)

    def entry_points(self, vserver: str) -> tuple[EntryPoint, ...]:
        """Every VIP whose traffic can reach `vserver`: its own when it is addressable, that of
        every virtual server whose backup (chain) it is, and that of every content-switching
        virtual server that hands requests to it or to one of those. Cycles end the walk."""
        out: dict[str, EntryPoint] = {}
        seen: set[str] = set()
        # Each item: a virtual server, and the chain of names from it down to `vserver`.
        frontier: list[tuple[str, ...]] = [(vserver,)]
        while frontier:
            chain = frontier.pop(0)
            name = chain[0]
            if name in seen:
                continue
            seen.add(name)
            vs = self.vservers.get(name)
            if vs is None:
                continue
            if vs.addressable and vs.vip_text not in out:
                out[vs.vip_text] = EntryPoint(vs.vip_text, name, _how(chain))
            for cs in self._cs_by_target.get(name, ()):
                if cs.vip is not None and not cs.vip.is_unspecified:
                    how = f"content switching {cs.name} hands requests to {name}"
                    if len(chain) > 1:
                        how += f", {_how(chain)}"
                    out.setdefault(cs.vip_text, EntryPoint(cs.vip_text, cs.name, how))
            for primary in self._backed_up_by.get(name, ()):
                frontier.append((primary, *chain))
        return tuple(out[vip] for vip in sorted(out))

    def dsr_vservers(self) -> list[LbVserver]:
        return [vs for vs in self.vservers.values() if vs.is_dsr]

    def vservers_of_service(self, service: str) -> list[LbVserver]:
        return list(self._vservers_by_service.get(service, ()))

    def vservers_of_servicegroup(self, group: str) -> list[LbVserver]:
        return list(self._vservers_by_group.get(group, ()))

    def snip_for(self, address: IPAddress, td: int) -> Snip | None:
        """The SNIP of traffic domain `td` whose subnet holds `address`: the layer-2 adjacency
        MAC mode needs. A SNIP of another traffic domain is no adjacency: each traffic domain is
        its own layer-2 and layer-3 world. Enabled SNIPs and true SNIPs (not MIPs) first."""
        return best_snip(self.snips_on_link(address, td))

    def snips_on_link(self, address: IPAddress, td: int) -> list[Snip]:
        found: list[Snip] = []
        value = int(address)
        bits = address.max_prefixlen
        for length, networks in self._snip_index.get((td, address.version), ()):
            mask = ((1 << length) - 1) << (bits - length) if length else 0
            found.extend(networks.get(value & mask, ()))
        return found

    def other_domain_snips(self, address: IPAddress, td: int) -> list[Snip]:
        """SNIPs whose subnet holds `address` but in another traffic domain (they do not help)."""
        domains = sorted({domain for domain, _ in self._snip_index if domain != td})
        return [s for other in domains for s in self.snips_on_link(address, other)]


def best_snip(candidates: Iterable[Snip]) -> Snip | None:
    """The SNIP the NetScaler would use among these: enabled first, a true SNIP before a MIP."""
    ranked = sorted(
        candidates, key=lambda s: (s.state == "DISABLED", s.type != "SNIP", s.address.packed)
    )
    return ranked[0] if ranked else None


# --- parsing: NITRO records in, frozen records and defects out ------------------------------


class DefectLog:
    """Collects the defects met while parsing one partition."""

    def __init__(self, partition: str) -> None:
        self.partition = partition
        self.items: list[DataDefect] = []

    def add(self, resource: str, name: str, attribute: str, value: Any, problem: str) -> None:
        text = shown(value)
        self.items.append(
            DataDefect(resource, name, attribute, text[:200], problem, self.partition)
        )


def shown(value: Any) -> str:
    """A value as a person reads it: text as it is, anything else (a list, an object, a number)
    as its JSON, so a broken value looks like what the appliance sent."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if type(value) is int:
        return str(value)  # what json spells, without its cost (NITRO sends ports as numbers)
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


# The attributes that name an object (its own name, or what a binding joins) and the words nsfix
# matches on, per resource. NITRO sends them as text; anything else becomes its JSON (so the
# record stays visible under a name) and a defect.
NAMES: Final[Mapping[str, tuple[str, ...]]] = {
    "lbvserver": ("name",),
    "service": ("name",),
    "servicegroup": ("servicegroupname",),
    "servicegroup_servicegroupmember_binding": ("servicegroupname",),
    "lbvserver_service_binding": ("name", "servicename"),
    "lbvserver_servicegroup_binding": ("name", "servicegroupname"),
    "server": ("name",),
    "lbmonitor": ("monitorname",),
    "service_lbmonitor_binding": ("name", "monitor_name"),
    "servicegroup_lbmonitor_binding": ("servicegroupname", "monitor_name"),
    "csvserver": ("name",),
    "csvserver_lbvserver_binding": ("name", "lbvserver"),
    "csvserver_cspolicy_binding": ("name", "policyname", "targetlbvserver"),
    "cspolicy": ("policyname", "action"),
    "csaction": ("name", "targetlbvserver"),
    "nspartition": ("partitionname",),
    "_unread": ("resource",),
}
WORDS: Final[Mapping[str, tuple[str, ...]]] = {
    "hanode": ("ipaddress", "state"),
    "nsip": ("type",),
    "nsip6": ("type",),
    "lbmonitor": ("type",),
    "nsversion": ("version",),
    "nshostname": ("hostname",),
}
# Where a defect about a whole record finds the record's name.
_LABELS: Final = (
    "name",
    "servicegroupname",
    "monitorname",
    "policyname",
    "partitionname",
    "ipaddress",
    "ipv6address",
    "resource",
)


class RecordSet:
    """The records of a NITRO document by resource, each resource's shape checked once, when
    first asked for.

    A resource that is neither a list of objects nor one object, and an item of the list that
    is not an object, are defects; so is a name or word (`NAMES`, `WORDS`) that is not text.
    """

    def __init__(
        self, raw: Mapping[str, Any], log: DefectLog, owned: dict[str, Any] | None = None
    ) -> None:
        self._raw = raw
        self._log = log
        self._checked: dict[str, list[Record]] = {}
        self._owned = owned
        self._released: set[str] = set()

    def of(self, resource: str) -> list[Record]:
        """Every record of `resource` (a singleton's one record as a one-element list)."""
        assert resource not in self._released, f"{resource} was released before this read"
        if resource not in self._checked:
            self._checked[resource] = self._check(resource)
        return self._checked[resource]

    def release(self, *resources: str) -> None:
        """Parsed: the records of `resources` are not read again. When the records are the
        set's own (`owned`, the caller has no further use for them) they are dropped now, so
        the memory of the raw records is reused by the parsed objects that follow."""
        for resource in resources:
            self._released.add(resource)
            self._checked.pop(resource, None)
            if self._owned is not None:
                self._owned.pop(resource, None)

    def single(self, resource: str) -> Record | None:
        """The one record of a singleton resource (`nsmode`, `nsversion`, ...), if it was read;
        the first of several, and a defect that says so."""
        found = self.of(resource)
        if len(found) > 1:
            self._log.add(
                resource, "(appliance)", "-", len(found), "several records where one belongs"
            )
        return found[0] if found else None

    def _check(self, resource: str) -> list[Record]:
        value = self._raw.get(resource)
        if value is None:
            return []
        if isinstance(value, Mapping):
            value = [value]
        elif not isinstance(value, list):
            self._log.add(resource, "(appliance)", "-", value, "not a list of records")
            return []
        out = []
        for position, item in enumerate(value, start=1):
            if isinstance(item, Mapping):
                out.append(self._texts(resource, item))
            else:
                # Named by position: each such item is its own defect (and finding).
                self._log.add(resource, f"(item {position})", "-", item, "not a record")
        return out

    def _texts(self, resource: str, record: Record) -> Record:
        wrong = {
            attribute: problem
            for attributes, problem in ((NAMES, "not a name"), (WORDS, "not text"))
            for attribute in attributes.get(resource, ())
            if not isinstance(record.get(attribute), str | None)
        }
        node_id = record.get("id") if resource == "hanode" else None
        if isinstance(node_id, bool) or not isinstance(node_id, str | int | None):
            # NITRO numbers HA nodes (0 is the one answering); anything else is no node id.
            wrong["id"] = "not a node id"
        if not wrong:
            return record
        label = next((shown(record[a]) for a in _LABELS if record.get(a) is not None), "-")
        for attribute, problem in wrong.items():
            self._log.add(resource, label, attribute, record[attribute], problem)
        return {**record, **{attribute: shown(record[attribute]) for attribute in wrong}}


def text(record: Record, attribute: str, default: str = "") -> str:
    value = record.get(attribute)
    if value is None:
        return default
    return shown(value)


def keyword(record: Record, attribute: str, default: str = "") -> str:
    """A keyword (`ENABLED`, `UP`, `TCP`) in capitals, one shared copy of each: at 50,000
    services a copy per record is megabytes of the same few words."""
    return sys.intern(text(record, attribute, default).upper())


def flag(record: Record, attribute: str) -> bool | None:
    """NITRO's YES/NO, ENABLED/DISABLED, ON/OFF and JSON booleans as one `bool`, else `None`."""
    value = record.get(attribute)
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    word = str(value).strip().upper()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def checked_flag(
    record: Record, attribute: str, resource: str, name: str, log: DefectLog
) -> bool | None:
    result = flag(record, attribute)
    if result is None and record.get(attribute) is not None:
        log.add(resource, name, attribute, record.get(attribute), "not a YES/NO value")
    return result


def integer(record: Record, attribute: str) -> int | None:
    value = record.get(attribute)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if value is None:
        return None
    word = str(value).strip()
    if word == "*":
        return WILDCARD_PORT
    try:
        return int(word)
    except ValueError:
        return None


def port(
    record: Record, resource: str, name: str, log: DefectLog, attribute: str = "port"
) -> int | None:
    value = integer(record, attribute)
    if value is None or not 0 <= value <= WILDCARD_PORT:
        if record.get(attribute) is not None:
            log.add(resource, name, attribute, record.get(attribute), "not a port number")
        return None
    return value


def address(
    record: Record, attribute: str, resource: str, name: str, log: DefectLog, *, required: bool
) -> tuple[IPAddress | None, str]:
    word = text(record, attribute).strip()
    if not word:
        if required:
            log.add(resource, name, attribute, None, "missing address")
        return None, ""
    parsed = parsed_address(word)
    if parsed is None:
        log.add(resource, name, attribute, word, "not an IPv4 or IPv6 address")
    return parsed, word


@lru_cache(maxsize=1 << 17)
def parsed_address(word: str) -> IPAddress | None:
    """`word` as an address, or None. A service, its server and a member usually share one
    address: parsed once, and one object held, instead of one per record."""
    try:
        return ipaddress.ip_address(word)
    except ValueError:
        return None


def name_of(record: Record, attribute: str, resource: str, name: str, log: DefectLog) -> str | None:
    """An attribute that names another object: text, or a defect when it is a list, a number,
    an object (a broken record must not pass for a name)."""
    value = record.get(attribute)
    if value is None:
        return None
    if not isinstance(value, str):
        log.add(resource, name, attribute, value, "not a name")
        return None
    return value.strip() or None


MAX_TRAFFIC_DOMAIN: Final = 4094


def traffic_domain(record: Record, resource: str, name: str, log: DefectLog) -> int:
    """`td`, 0 when absent; a value that is no traffic domain id is a defect, not domain 0 in
    silence (the domain decides which SNIPs reach a backend)."""
    td = integer(record, "td")
    if td is not None and 0 <= td <= MAX_TRAFFIC_DOMAIN:
        return td
    if record.get("td") is not None:
        log.add(resource, name, "td", record.get("td"), "not a traffic domain id")
    return 0


def parse_monitor(record: Record) -> Monitor:
    script = record.get("scriptname")
    return Monitor(
        name=text(record, "monitorname"),
        type=keyword(record, "type"),
        scriptname=script.strip() or None if isinstance(script, str) else None,
        state=text(record, "state", "ENABLED"),
    )


def parse_server(record: Record, log: DefectLog) -> Server:
    name = text(record, "name")
    domain = name_of(record, "domain", "server", name, log)
    addr, addr_text = address(record, "ipaddress", "server", name, log, required=domain is None)
    return Server(name, addr, addr_text, domain, text(record, "state", "ENABLED"))


def parse_service(
    record: Record,
    monitors: Iterable[str],
    servers: Mapping[str, Server],
    log: DefectLog,
    *,
    global_usip: bool | None = None,
) -> Service:
    name = text(record, "name")
    servername = name_of(record, "servername", "service", name, log)
    addr, addr_text = address(record, "ipaddress", "service", name, log, required=False)
    if not addr_text and servername is not None and servername in servers:
        # Domain-based or name-bound services carry their address on the server object.
        server = servers[servername]
        addr, addr_text = server.address, server.address_text
    if not addr_text:
        log.add("service", name, "ipaddress", None, "missing address")
    return Service(
        name=name,
        servicetype=keyword(record, "servicetype"),
        address=addr,
        address_text=addr_text,
        port=port(record, "service", name, log),
        servername=servername,
        usip=checked_flag(record, "usip", "service", name, log),
        useproxyport=checked_flag(record, "useproxyport", "service", name, log),
        cip=checked_flag(record, "cip", "service", name, log),
        state=keyword(record, "state", "ENABLED"),
        svrstate=keyword(record, "svrstate", "UNKNOWN"),
        healthmonitor=flag(record, "healthmonitor"),
        td=traffic_domain(record, "service", name, log),
        monitors=tuple(monitors),
        partition=log.partition,
        global_usip=global_usip,
    )


def parse_member(record: Record, log: DefectLog) -> ServiceGroupMember:
    group = text(record, "servicegroupname")
    raw_name = record.get("servername")
    named = raw_name if isinstance(raw_name, str) else None
    label = f"{group} member {text(record, 'ip') or named or '?'}:{text(record, 'port')}"
    servername = name_of(
        record, "servername", "servicegroup_servicegroupmember_binding", label, log
    )
    addr, addr_text = address(
        record, "ip", "servicegroup_servicegroupmember_binding", label, log, required=False
    )
    if not addr_text and servername is None:
        log.add("servicegroup_servicegroupmember_binding", label, "ip", None, "missing address")
    return ServiceGroupMember(
        servicegroupname=group,
        address=addr,
        address_text=addr_text,
        servername=servername,
        port=port(record, "servicegroup_servicegroupmember_binding", label, log),
        state=keyword(record, "state", "ENABLED"),
        svrstate=keyword(record, "svrstate", "UNKNOWN"),
        weight=integer(record, "weight"),
    )


def resolve_member(member: ServiceGroupMember, servers: Mapping[str, Server]) -> ServiceGroupMember:
    """Members bound by server name get the server's address."""
    if member.address_text or member.servername is None or member.servername not in servers:
        return member
    server = servers[member.servername]
    return ServiceGroupMember(
        member.servicegroupname,
        server.address,
        server.address_text,
        member.servername,
        member.port,
        member.state,
        member.svrstate,
        member.weight,
    )


def parse_servicegroup(
    record: Record,
    members: Iterable[ServiceGroupMember],
    monitors: Iterable[str],
    log: DefectLog,
    *,
    global_usip: bool | None = None,
) -> ServiceGroup:
    name = text(record, "servicegroupname")
    return ServiceGroup(
        name=name,
        servicetype=keyword(record, "servicetype"),
        usip=checked_flag(record, "usip", "servicegroup", name, log),
        useproxyport=checked_flag(record, "useproxyport", "servicegroup", name, log),
        cip=checked_flag(record, "cip", "servicegroup", name, log),
        state=keyword(record, "state", "ENABLED"),
        effective_state=keyword(record, "servicegroupeffectivestate", "UNKNOWN"),
        td=traffic_domain(record, "servicegroup", name, log),
        members=tuple(members),
        monitors=tuple(monitors),
        partition=log.partition,
        global_usip=global_usip,
    )


def parse_lbvserver(
    record: Record, services: Iterable[str], groups: Iterable[str], log: DefectLog
) -> LbVserver:
    name = text(record, "name")
    pattern = text(record, "ippattern")
    if pattern:
        vip, vip_text = None, f"{pattern}/{text(record, 'ipmask')}"
        _, _ = address(record, "ippattern", "lbvserver", name, log, required=False)
    else:
        vip, vip_text = address(record, "ipv46", "lbvserver", name, log, required=True)
    m_text = text(record, "m").strip()
    m = m_text.upper() if m_text.upper() in REDIRECTION_MODES else None
    if not m_text:
        # NITRO always reports m; without it nsfix cannot tell DSR from proxy mode.
        log.add("lbvserver", name, "m", None, "missing redirection mode")
    elif m is None:
        log.add("lbvserver", name, "m", m_text, "unknown redirection mode")
    tosid = integer(record, "tosid")
    if m == "TOS" and not tosid:
        log.add("lbvserver", name, "tosid", record.get("tosid"), "TOS mode without a TOS id")
    elif m == "TOS" and tosid is not None and not 1 <= tosid <= 63:
        # The TOS field carries six bits: the id is 1-63 (NITRO lbvserver.tosid).
        log.add("lbvserver", name, "tosid", record.get("tosid"), "TOS id outside 1-63")
    return LbVserver(
        name=name,
        servicetype=keyword(record, "servicetype"),
        vip=vip,
        vip_text=vip_text,
        port=port(record, "lbvserver", name, log),
        m=m,
        m_text=m_text,
        tosid=tosid,
        sessionless=checked_flag(record, "sessionless", "lbvserver", name, log),
        state=keyword(record, "state", "ENABLED"),
        curstate=text(record, "curstate", text(record, "effectivestate", "UNKNOWN")).upper(),
        lbmethod=keyword(record, "lbmethod", "LEASTCONNECTION"),
        td=traffic_domain(record, "lbvserver", name, log),
        services=tuple(services),
        servicegroups=tuple(groups),
        partition=log.partition,
        backup=name_of(record, "backupvserver", "lbvserver", name, log),
    )


def parse_snip(record: Record, log: DefectLog) -> Snip | None:
    """A SNIP or MIP with its subnet; other `nsip` types (VIP, NSIP) are not a layer-2 reach."""
    kind = keyword(record, "type", "SNIP")
    if kind not in {"SNIP", "MIP"}:
        return None
    name = text(record, "ipaddress")
    addr, _ = address(record, "ipaddress", "nsip", name, log, required=True)
    if addr is None:
        return None
    mask = text(record, "netmask") or ("128" if addr.version == 6 else "255.255.255.255")
    try:
        network = ipaddress.ip_network(f"{addr}/{mask}", strict=False)
    except ValueError:
        log.add("nsip", name, "netmask", mask, "not a netmask")
        return None
    return Snip(
        addr,
        network,
        kind,
        keyword(record, "state", "ENABLED"),
        traffic_domain(record, "nsip", name, log),
    )


def parse_snip6(record: Record, log: DefectLog) -> Snip | None:
    """An IPv6 SNIP (`nsip6`): `ipv6address` carries its prefix length (`2001:db8::1/64`)."""
    kind = keyword(record, "type", "SNIP")
    if kind != "SNIP":
        return None
    word = text(record, "ipv6address").strip()
    if not word:
        log.add("nsip6", "(nsip6)", "ipv6address", None, "missing address")
        return None
    try:
        interface = ipaddress.ip_interface(word if "/" in word else f"{word}/128")
    except ValueError:
        log.add("nsip6", word, "ipv6address", word, "not an IPv6 address with a prefix length")
        return None
    if interface.version != 6:
        log.add("nsip6", word, "ipv6address", word, "not an IPv6 address")
        return None
    return Snip(
        interface.ip,
        interface.network,
        kind,
        keyword(record, "state", "ENABLED"),
        traffic_domain(record, "nsip6", word, log),
    )


def parse_modes(record: Record) -> GlobalModes:
    return GlobalModes(
        usip=flag(record, "usip"),
        mbf=flag(record, "mbf"),
        l2=flag(record, "l2"),
        l3=flag(record, "l3"),
        usnip=flag(record, "usnip"),
    )


def parse_release(version: str) -> str | None:
    """`NetScaler NS14.1: Build 25.56.nc, ...` → `14.1-25.56` (the form admins quote)."""
    match = re.search(r"NS(\d+\.\d+):\s*Build\s+(\d+\.\d+)", version)
    return f"{match.group(1)}-{match.group(2)}" if match else None


@dataclass(frozen=True)
class HaState:
    """What `hanode` says about this node and its peers."""

    role: HaRole
    peers: tuple[str, ...]
    state: str
    """This node's `state` word, as reported."""
    primary: str | None
    """A peer reporting itself Primary."""

    def refusal(self, url: str) -> str | None:
        """Why nsfix must not write to this node, naming the node to use instead; None when it
        may write."""
        if self.role.writable:
            return None
        instead = (
            f"; use the primary {self.primary} instead"
            if self.primary
            else (f"; its peer {', '.join(self.peers)} may be the primary" if self.peers else "")
        )
        if self.role is HaRole.SECONDARY:
            what = "is an HA secondary node: changes there are lost on the next sync"
        elif not self.state and not self.peers:
            what = "did not report its HA node (hanode id 0): nsfix cannot tell it is the primary"
        elif not self.state and url.startswith("file:"):
            # A configuration text (ns.conf) has HA nodes but no HA state.
            what = (
                "is a configuration of an HA pair, which does not say which node is the "
                "primary: plan from the primary itself (or its 'inventory --raw' records)"
            )
        else:
            what = (
                f"reports HA state {self.state or 'none'!r}, not Primary: nsfix writes only to "
                "the primary of an HA pair or to a standalone node"
            )
        return f"{url} {what}{instead}"


def ha_state(hanodes: Iterable[Record]) -> HaState:
    """This node's role from `hanode` (id 0 is the node we talk to), its peers and which of them
    is primary."""
    own: Record | None = None
    peers: list[Record] = []
    for node in hanodes:
        if text(node, "id", "0") == "0":
            own = node
        else:
            peers.append(node)
    addresses = tuple(text(p, "ipaddress") for p in peers if text(p, "ipaddress"))
    primary = next(
        (
            text(p, "ipaddress")
            for p in peers
            if text(p, "state").strip().upper() == "PRIMARY" and text(p, "ipaddress")
        ),
        None,
    )
    if own is None:
        return HaState(HaRole.UNKNOWN, addresses, "", primary)
    state = text(own, "state").strip()
    word = state.upper()
    if not peers and word in {"", "UNKNOWN", "PRIMARY", "STANDALONE"}:
        # Without a peer the node serves alone, whatever its state field says.
        return HaState(HaRole.STANDALONE, (), state, None)
    roles = {
        "PRIMARY": HaRole.PRIMARY,
        "SECONDARY": HaRole.SECONDARY,
        "STAYSECONDARY": HaRole.SECONDARY,
    }
    return HaState(roles.get(word, HaRole.UNKNOWN), addresses, state, primary)


def ha_role(hanodes: Iterable[Record]) -> tuple[HaRole, tuple[str, ...]]:
    """This node's role and its peers' addresses."""
    found = ha_state(hanodes)
    return found.role, found.peers


def ha_warnings(hanodes: Iterable[Record]) -> list[str]:
    """What an HA pair's state means for a change made on this node now."""
    nodes = list(hanodes)
    own = next((n for n in nodes if text(n, "id", "0") == "0"), None)
    peers = [n for n in nodes if text(n, "id", "0") != "0"]
    warnings = []
    if own is not None and peers and flag(own, "hasync") is False:
        warnings.append(
            "HA synchronisation is disabled on this node: the peer will not receive this change; "
            "make it there too, or enable hasync"
        )
    for peer in peers:
        state = text(peer, "state").strip().upper()
        if state not in {"PRIMARY", "SECONDARY", "STAYSECONDARY"}:
            warnings.append(
                f"HA peer {text(peer, 'ipaddress') or '?'} reports state {state or 'none'}: it "
                "will not get this change until it is back and synchronises"
            )
    return warnings


def group_by(records: Iterable[Record], key: str) -> dict[str, list[Record]]:
    grouped: dict[str, list[Record]] = {}
    for record in records:
        grouped.setdefault(text(record, key), []).append(record)
    return grouped


def monitor_names(records: Iterable[Record]) -> tuple[str, ...]:
    return tuple(sorted({text(r, "monitor_name") for r in records if text(r, "monitor_name")}))


def parse_services(
    found: RecordSet, servers: Mapping[str, Server], modes: GlobalModes, log: DefectLog
) -> dict[str, Service]:
    """Services with their bound monitors; name-bound ones take their server's address."""
    bound_monitors = group_by(found.of("service_lbmonitor_binding"), "name")
    services: dict[str, Service] = {}
    for record in found.of("service"):
        name = text(record, "name")
        services[name] = parse_service(
            record,
            monitor_names(bound_monitors.get(name, ())),
            servers,
            log,
            global_usip=modes.usip,
        )
    return services


def parse_servicegroups(
    found: RecordSet, servers: Mapping[str, Server], modes: GlobalModes, log: DefectLog
) -> dict[str, ServiceGroup]:
    """Service groups with their members and monitors; members of no group are defects."""
    members_by_group: dict[str, list[ServiceGroupMember]] = {}
    for record in found.of("servicegroup_servicegroupmember_binding"):
        member = resolve_member(parse_member(record, log), servers)
        members_by_group.setdefault(member.servicegroupname, []).append(member)
    bound_monitors = group_by(found.of("servicegroup_lbmonitor_binding"), "servicegroupname")
    groups: dict[str, ServiceGroup] = {}
    for record in found.of("servicegroup"):
        name = text(record, "servicegroupname")
        groups[name] = parse_servicegroup(
            record,
            members_by_group.pop(name, ()),
            monitor_names(bound_monitors.get(name, ())),
            log,
            global_usip=modes.usip,
        )
    for orphan in members_by_group:
        log.add(
            "servicegroup_servicegroupmember_binding",
            orphan,
            "servicegroupname",
            orphan,
            "members bound to a service group that does not exist",
        )
    return groups


def parse_lbvservers(
    found: RecordSet,
    services: Mapping[str, Service],
    groups: Mapping[str, ServiceGroup],
    log: DefectLog,
) -> dict[str, LbVserver]:
    """Virtual servers with what is bound to them, and the binding weights a rebind restores."""
    service_bindings = group_by(found.of("lbvserver_service_binding"), "name")
    group_bindings = group_by(found.of("lbvserver_servicegroup_binding"), "name")
    vservers: dict[str, LbVserver] = {}
    for record in found.of("lbvserver"):
        name = text(record, "name")
        bound_services = service_bindings.get(name, [])
        bound_groups = group_bindings.get(name, [])
        service_names = [text(b, "servicename") for b in bound_services]
        group_names = [text(b, "servicegroupname") for b in bound_groups]
        for service in service_names:
            if service not in services:
                log.add(
                    "lbvserver_service_binding",
                    name,
                    "servicename",
                    service,
                    "bound service does not exist",
                )
        for group in group_names:
            if group not in groups:
                log.add(
                    "lbvserver_servicegroup_binding",
                    name,
                    "servicegroupname",
                    group,
                    "bound service group does not exist",
                )
        vservers[name] = replace(
            parse_lbvserver(record, service_names, group_names, log),
            service_weights=binding_weights(bound_services, "servicename"),
            servicegroup_weights=binding_weights(bound_groups, "servicegroupname"),
        )
    return vservers


def binding_weights(bindings: Iterable[Record], attribute: str) -> dict[str, int]:
    """The weights of the bindings that report one, by bound name."""
    return {
        text(b, attribute): weight for b in bindings if (weight := integer(b, "weight")) is not None
    }


def check_service_monitors(
    services: Iterable[Service], monitors: Mapping[str, Monitor], log: DefectLog
) -> None:
    """A service bound to a monitor that does not exist is a defect."""
    for service in services:
        for monitor in service.monitors:
            if monitor not in monitors:
                log.add(
                    "service_lbmonitor_binding",
                    service.name,
                    "monitor_name",
                    monitor,
                    "bound monitor does not exist",
                )


def parse_csvservers(
    found: RecordSet, vservers: Mapping[str, LbVserver], log: DefectLog
) -> dict[str, CsVserver]:
    """Content-switching vservers with every lbvserver they can send to: the default binding,
    each policy binding's target, and the target of each bound policy's action."""
    targets: dict[str, set[str]] = {}
    for binding in found.of("csvserver_lbvserver_binding"):
        targets.setdefault(text(binding, "name"), set()).add(text(binding, "lbvserver"))
    actions = {text(a, "name"): text(a, "targetlbvserver") for a in found.of("csaction")}
    policy_action = {text(p, "policyname"): text(p, "action") for p in found.of("cspolicy")}
    for binding in found.of("csvserver_cspolicy_binding"):
        reached = targets.setdefault(text(binding, "name"), set())
        reached.add(text(binding, "targetlbvserver"))
        reached.add(actions.get(policy_action.get(text(binding, "policyname"), ""), ""))
    out: dict[str, CsVserver] = {}
    for record in found.of("csvserver"):
        name = text(record, "name")
        vip, vip_text = address(record, "ipv46", "csvserver", name, log, required=False)
        wanted = sorted(t for t in targets.get(name, set()) if t)
        for target in wanted:
            if target not in vservers:
                log.add("csvserver", name, "targetlbvserver", target, "target does not exist")
        out[name] = CsVserver(
            name=name,
            vip=vip,
            vip_text=vip_text,
            port=port(record, "csvserver", name, log),
            td=traffic_domain(record, "csvserver", name, log),
            state=keyword(record, "state", "ENABLED"),
            targets=tuple(wanted),
        )
    return out


def check_backups(vservers: Mapping[str, LbVserver], log: DefectLog) -> None:
    """A backup that does not exist, or a chain that comes back to where it started."""
    for vs in vservers.values():
        if vs.backup is None:
            continue
        if vs.backup not in vservers:
            log.add("lbvserver", vs.name, "backupvserver", vs.backup, "backup does not exist")
            continue
        seen = [vs.name]
        current: str | None = vs.backup
        while current is not None and current in vservers:
            if current in seen:
                # Reported once, by the first member of the cycle in name order.
                if vs.name == min(seen[seen.index(current) :]):
                    cycle = " -> ".join([*seen[seen.index(current) :], current])
                    log.add("lbvserver", vs.name, "backupvserver", cycle, "backup chain loops")
                break
            seen.append(current)
            current = vservers[current].backup


def log_unread(found: RecordSet, log: DefectLog) -> None:
    """Resources the inventory could not read: whatever depends on them is unknown."""
    for unread in found.of("_unread"):
        log.add(
            text(unread, "resource"),
            "(appliance)",
            "-",
            unread.get("error"),
            "could not be read; what depends on it is unknown",
        )


def parse_appliance_facts(found: RecordSet, url: str, partition: str) -> ApplianceFacts:
    """Version, HA role, saved-config state and partitions: what gates a read or a write."""
    nsversion = found.single("nsversion")
    version = text(nsversion, "version") if nsversion is not None else ""
    ha = ha_state(found.of("hanode"))
    nsconfig = found.single("nsconfig")
    hostname = found.single("nshostname")
    partitions = tuple(
        text(r, "partitionname") for r in found.of("nspartition") if text(r, "partitionname")
    )
    return ApplianceFacts(
        url=url,
        hostname=(text(hostname, "hostname") or None) if hostname is not None else None,
        version=version,
        release=parse_release(version),
        ha_role=ha.role,
        ha_peers=ha.peers,
        ha_state=ha.state,
        ha_primary=ha.primary,
        config_changed=flag(nsconfig, "configchanged") if nsconfig is not None else None,
        partition=partition,
        partitions=partitions,
    )


def _snip_order(snip: Snip) -> tuple[int, int, bytes, int]:
    return (snip.td, snip.address.version, snip.address.packed, snip.network.prefixlen)


def member_order(member: ServiceGroupMember) -> tuple[str, str, int]:
    port = -1 if member.port is None else member.port
    return (member.servername or "", member.address_text, port)


def _canonical_vserver(vs: LbVserver) -> LbVserver:
    return replace(
        vs,
        services=tuple(sorted(dict.fromkeys(vs.services))),
        servicegroups=tuple(sorted(dict.fromkeys(vs.servicegroups))),
    )


def _canonical_group(group: ServiceGroup) -> ServiceGroup:
    return replace(
        group,
        members=tuple(sorted(group.members, key=member_order)),
    )


def build_snapshot(
    raw: Mapping[str, Any],
    *,
    url: str,
    partition: str = DEFAULT_PARTITION,
    collected_at: datetime,
    requests: int = 0,
    consume: bool = False,
) -> Snapshot:
    """Assemble a snapshot from NITRO records keyed by resource type (the shape NITRO returns).

    With `consume` (the caller has no further use for `raw`, a dict) each resource's records
    are removed from `raw` once parsed: at 50,000 services the raw records and the objects
    parsed from them are not all held at once.

    Each step logs its defects as it goes, so their order (servers, services, service groups,
    virtual servers, monitor bindings, unread resources, SNIPs) is the order of the steps; a
    resource's shape is checked, and its defects logged, by the first step that reads it.
    """
    log = DefectLog(partition)
    found = RecordSet(raw, log, raw if consume and isinstance(raw, dict) else None)
    servers = {s.name: s for s in (parse_server(r, log) for r in found.of("server"))}
    found.release("server")
    monitors = {m.name: m for m in (parse_monitor(r) for r in found.of("lbmonitor"))}
    modes = parse_modes(found.single("nsmode") or {})
    services = parse_services(found, servers, modes, log)
    found.release("service", "service_lbmonitor_binding")
    groups = parse_servicegroups(found, servers, modes, log)
    found.release(
        "servicegroup", "servicegroup_servicegroupmember_binding", "servicegroup_lbmonitor_binding"
    )
    vservers = parse_lbvservers(found, services, groups, log)
    found.release("lbvserver", "lbvserver_service_binding", "lbvserver_servicegroup_binding")
    check_service_monitors(services.values(), monitors, log)
    check_backups(vservers, log)
    csvservers = parse_csvservers(found, vservers, log)
    log_unread(found, log)
    snips = tuple(
        s
        for s in [
            *(parse_snip(r, log) for r in found.of("nsip")),
            *(parse_snip6(r, log) for r in found.of("nsip6")),
        ]
        if s is not None
    )
    # The order in which the appliance lists records means nothing to load balancing: every
    # collection is put in one canonical order, so no verdict can depend on it.
    return Snapshot(
        appliance=parse_appliance_facts(found, url, partition),
        modes=modes,
        snips=tuple(sorted(snips, key=_snip_order)),
        vservers={name: _canonical_vserver(vservers[name]) for name in sorted(vservers)},
        services={name: services[name] for name in sorted(services)},
        servicegroups={name: _canonical_group(groups[name]) for name in sorted(groups)},
        servers={name: servers[name] for name in sorted(servers)},
        monitors={name: monitors[name] for name in sorted(monitors)},
        csvservers={name: csvservers[name] for name in sorted(csvservers)},
        defects=tuple(log.items),
        collected_at=collected_at,
        requests=requests,
    )
