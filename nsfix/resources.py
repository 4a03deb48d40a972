"""What nsfix knows about each NITRO resource: one entry per resource, read by every layer.

Inventory reads what an entry says to read, rules and playbooks test and write the attributes it
names, the planner keys its records by it, the executor finds objects and bindings by it. A new
resource or attribute is added here, once. The official Ansible collection keeps the same kind of
table (`nitro_resource_map.py`); this one holds only what nsfix uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final


class Shape(StrEnum):
    """How inventory asks for a resource."""

    LIST = "list"
    SINGLETON = "singleton"
    BINDINGS = "bindings"
    """Every parent's bindings in one request (`bulkbindings=yes`)."""
    PAGED = "paged"
    """Large tables, read in pages."""


@dataclass(frozen=True)
class Read:
    """One inventory request: only the attributes nsfix uses (small replies at 50,000 services)."""

    attrs: tuple[str, ...]
    shape: Shape
    label: str
    essential: bool = False
    """Without it there is nothing to audit; other reads may be refused (a command policy that
    forbids `show ha node`, a resource an old firmware lacks) and become data defects."""
    via: str | None = None
    """The aggregate binding resource (`lbvserver_binding`) read instead, with `bulkbindings=yes`:
    one request returns every parent's bindings of each of its binding types, so the binding
    types that share it cost one request together."""
    only_if: str | None = None
    """Read only when this resource, read before, has records: without a content-switching
    virtual server there is nothing bound to one, and no policy of one to look up."""


@dataclass(frozen=True)
class Binding:
    """A binding resource: which attribute names the parent (the URL key) and which the child."""

    parent: str
    """The parent's resource type."""
    parent_key: str
    identity: tuple[str, ...]
    """The attributes a binding record carries that name the bound object (a member: ip or
    servername, with port)."""


@dataclass(frozen=True)
class Resource:
    name: str
    """The NITRO resource type, as in `/nitro/v1/config/<name>`."""
    key: str = "name"
    """The attribute that names one object (`servicegroupname` for a service group)."""
    read: Read | None = None
    appliance_wide: bool = False
    """Describes the whole appliance, not one admin partition."""
    updatable: frozenset[str] = frozenset()
    """What a remediation may write: attributes whose old value one update restores exactly."""
    source_ip: frozenset[str] = frozenset()
    """The attributes that decide which source address the backend sees."""
    state: str | None = None
    """The attribute that holds the backend's monitor state."""
    binding: Binding | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    """NITRO attribute → model field, where the names differ (for playbooks)."""
    noun: str = ""
    """What a person calls one object (`service group`)."""
    vserver_binding: str | None = None
    """The binding resource that binds a backend to an lbvserver."""
    monitor_binding: str | None = None
    """The binding resource that binds a monitor to a backend."""


_SOURCE_IP: Final = frozenset({"usip", "useproxyport"})
_BACKEND_UPDATABLE: Final = frozenset({*_SOURCE_IP, "cip"})

# In inventory's read order: appliance facts first, then the load-balancing objects.
RESOURCES: Final[tuple[Resource, ...]] = (
    Resource(
        "nsversion",
        read=Read(("version",), Shape.SINGLETON, "version"),
        appliance_wide=True,
    ),
    Resource(
        "nshostname",
        key="hostname",
        # A list read: an appliance may have no hostname record, and that is no error.
        read=Read(("hostname",), Shape.LIST, "hostname"),
        appliance_wide=True,
    ),
    Resource(
        "hanode",
        key="id",
        read=Read(("id", "ipaddress", "state", "hastatus"), Shape.LIST, "HA state"),
        appliance_wide=True,
    ),
    Resource(
        "nsconfig",
        read=Read(
            ("configchanged", "lastconfigchangedtime", "lastconfigsavetime"),
            Shape.SINGLETON,
            "saved vs running",
        ),
    ),
    Resource(
        "nspartition",
        key="partitionname",
        read=Read(("partitionname",), Shape.LIST, "partitions"),
        appliance_wide=True,
    ),
    Resource(
        "nsip",
        key="ipaddress",
        read=Read(("ipaddress", "netmask", "type", "state", "td"), Shape.LIST, "SNIPs"),
        noun="SNIP",
    ),
    Resource(
        "nsip6",
        key="ipv6address",
        read=Read(("ipv6address", "type", "state", "td"), Shape.LIST, "IPv6 SNIPs"),
        noun="IPv6 SNIP",
    ),
    Resource(
        "nsmode",
        read=Read(("usip", "mbf", "l2", "l3", "usnip"), Shape.SINGLETON, "global modes"),
    ),
    Resource(
        "lbvserver",
        read=Read(
            (
                "name",
                "ipv46",
                "ippattern",
                "ipmask",
                "port",
                "servicetype",
                "m",
                "tosid",
                "sessionless",
                "state",
                "curstate",
                "effectivestate",
                "lbmethod",
                "td",
                "backupvserver",
            ),
            Shape.PAGED,
            "virtual servers",
            essential=True,
        ),
        fields={"ipv46": "vip_text"},
        noun="virtual server",
    ),
    Resource(
        "lbvserver_service_binding",
        read=Read(
            ("name", "servicename", "weight"),
            Shape.BINDINGS,
            "vserver bindings",
            essential=True,
            via="lbvserver_binding",
        ),
        binding=Binding("lbvserver", "name", ("servicename",)),
        noun="virtual server binding",
    ),
    Resource(
        "lbvserver_servicegroup_binding",
        read=Read(
            ("name", "servicegroupname", "weight"),
            Shape.BINDINGS,
            "vserver group bindings",
            essential=True,
            via="lbvserver_binding",
        ),
        binding=Binding("lbvserver", "name", ("servicegroupname",)),
        noun="virtual server binding",
    ),
    Resource(
        "service",
        read=Read(
            (
                "name",
                "servername",
                "ipaddress",
                "port",
                "servicetype",
                "usip",
                "useproxyport",
                "cip",
                "state",
                "svrstate",
                "healthmonitor",
                "td",
            ),
            Shape.PAGED,
            "services",
            essential=True,
        ),
        updatable=_BACKEND_UPDATABLE,
        source_ip=_SOURCE_IP,
        state="svrstate",
        fields={"ipaddress": "address_text", "usip": "effective_usip"},
        noun="service",
        vserver_binding="lbvserver_service_binding",
        monitor_binding="service_lbmonitor_binding",
    ),
    Resource(
        "servicegroup",
        key="servicegroupname",
        read=Read(
            (
                "servicegroupname",
                "servicetype",
                "usip",
                "useproxyport",
                "cip",
                "state",
                "servicegroupeffectivestate",
                "td",
            ),
            Shape.PAGED,
            "service groups",
            essential=True,
        ),
        updatable=_BACKEND_UPDATABLE,
        source_ip=_SOURCE_IP,
        state="servicegroupeffectivestate",
        fields={
            "servicegroupname": "name",
            "servicegroupeffectivestate": "effective_state",
            "usip": "effective_usip",
        },
        noun="service group",
        vserver_binding="lbvserver_servicegroup_binding",
        monitor_binding="servicegroup_lbmonitor_binding",
    ),
    Resource(
        "servicegroup_servicegroupmember_binding",
        read=Read(
            ("servicegroupname", "ip", "servername", "port", "weight", "state", "svrstate"),
            Shape.BINDINGS,
            "group members",
            essential=True,
            via="servicegroup_binding",
        ),
        binding=Binding("servicegroup", "servicegroupname", ("ip", "servername", "port")),
        noun="group member",
    ),
    Resource(
        "server",
        read=Read(("name", "ipaddress", "domain", "state"), Shape.PAGED, "servers"),
        noun="server",
    ),
    Resource(
        "lbmonitor",
        key="monitorname",
        read=Read(("monitorname", "type", "scriptname", "state"), Shape.LIST, "monitors"),
        noun="monitor",
    ),
    Resource(
        "service_lbmonitor_binding",
        read=Read(("name", "monitor_name"), Shape.BINDINGS, "service monitors"),
        binding=Binding("service", "name", ("monitor_name",)),
        noun="monitor binding",
    ),
    Resource(
        "servicegroup_lbmonitor_binding",
        read=Read(
            ("servicegroupname", "monitor_name"),
            Shape.BINDINGS,
            "group monitors",
            via="servicegroup_binding",
        ),
        binding=Binding("servicegroup", "servicegroupname", ("monitor_name",)),
        noun="monitor binding",
    ),
    # Content switching in front of lbvservers: its VIPs reach their backends too.
    Resource(
        "csvserver",
        read=Read(
            ("name", "ipv46", "port", "servicetype", "td", "state"), Shape.LIST, "cs vservers"
        ),
        noun="content switching virtual server",
    ),
    Resource(
        "csvserver_lbvserver_binding",
        read=Read(
            ("name", "lbvserver"),
            Shape.BINDINGS,
            "cs default targets",
            via="csvserver_binding",
            only_if="csvserver",
        ),
        binding=Binding("csvserver", "name", ("lbvserver",)),
        noun="content switching default binding",
    ),
    Resource(
        "csvserver_cspolicy_binding",
        read=Read(
            ("name", "policyname", "targetlbvserver"),
            Shape.BINDINGS,
            "cs policies bound",
            via="csvserver_binding",
            only_if="csvserver",
        ),
        binding=Binding("csvserver", "name", ("policyname",)),
        noun="content switching policy binding",
    ),
    Resource(
        "cspolicy",
        key="policyname",
        read=Read(
            ("policyname", "action"),
            Shape.LIST,
            "cs policies",
            only_if="csvserver_cspolicy_binding",
        ),
        noun="content switching policy",
    ),
    Resource(
        "csaction",
        read=Read(
            ("name", "targetlbvserver"),
            Shape.LIST,
            "cs actions",
            only_if="csvserver_cspolicy_binding",
        ),
        noun="content switching action",
    ),
)

BY_NAME: Final[Mapping[str, Resource]] = {r.name: r for r in RESOURCES}
INVENTORY: Final[tuple[Resource, ...]] = tuple(r for r in RESOURCES if r.read is not None)


@dataclass(frozen=True)
class InventoryRead:
    """One request (or one paged series) of inventory: a resource, or an aggregate binding
    resource that returns the records of several binding types."""

    name: str
    """What is asked for: `/nitro/v1/config/<name>`."""
    parts: tuple[Resource, ...]
    """The resources whose records the reply holds (one, unless `name` is an aggregate)."""

    @property
    def aggregate(self) -> bool:
        return self.name not in BY_NAME

    @property
    def label(self) -> str:
        return " and ".join(part.read.label for part in self.parts if part.read is not None)

    @property
    def essential(self) -> bool:
        return any(part.read is not None and part.read.essential for part in self.parts)

    @property
    def only_if(self) -> str | None:
        first = self.parts[0].read
        return first.only_if if first is not None else None


def _inventory_reads() -> tuple[InventoryRead, ...]:
    grouped: dict[str, list[Resource]] = {}
    for entry in INVENTORY:
        assert entry.read is not None
        grouped.setdefault(entry.read.via or entry.name, []).append(entry)
    for name, parts in grouped.items():
        conditions = {part.read.only_if for part in parts if part.read is not None}
        assert len(conditions) == 1, f"the parts of {name} are read under different conditions"
    return tuple(InventoryRead(name, tuple(parts)) for name, parts in grouped.items())


INVENTORY_READS: Final[tuple[InventoryRead, ...]] = _inventory_reads()
"""Inventory's requests in order: the binding types of one aggregate share its request."""
APPLIANCE_WIDE: Final = frozenset(r.name for r in RESOURCES if r.appliance_wide)
MEMBER_BINDING: Final = "servicegroup_servicegroupmember_binding"


class UnknownResource(KeyError):
    """A resource type nsfix has no entry for (an edited plan, a typo in a playbook)."""


def resource(name: str) -> Resource:
    try:
        return BY_NAME[name]
    except KeyError:
        raise UnknownResource(f"nsfix knows no NITRO resource {name!r}") from None


def noun_of(name: str) -> str:
    """What a person calls an object of resource type `name` (the type itself if unknown)."""
    entry = BY_NAME.get(name)
    return entry.noun if entry is not None and entry.noun else name


def key_of(name: str) -> str:
    """The attribute that names an object of resource type `name`."""
    return resource(name).key


# NITRO writes the CLI's `*` port as 65535 (NITRO reference, service and lbvserver pages).
WILDCARD_PORT: Final = 65535

# Monitor states (svrstate) in which a backend takes no traffic.
DOWN_STATES: Final = frozenset({"DOWN", "OUT OF SERVICE", "DOWN WHEN GOING OUT OF SERVICE"})


# How NITRO spells the two values of each on/off attribute nsfix may write.
FLAG_WORDS: Final[Mapping[str, tuple[str, str]]] = {
    "usip": ("YES", "NO"),
    "useproxyport": ("YES", "NO"),
    "cip": ("ENABLED", "DISABLED"),
    "sessionless": ("ENABLED", "DISABLED"),
    "healthmonitor": ("YES", "NO"),
}
TRUE_WORDS: Final = frozenset({"YES", "ENABLED", "ON", "TRUE"})
FALSE_WORDS: Final = frozenset({"NO", "DISABLED", "OFF", "FALSE"})


def is_flag(attribute: str) -> bool:
    return attribute in FLAG_WORDS


def nitro_value(attribute: str, value: Any) -> str:
    """A value in the vocabulary NITRO expects for `attribute` (cip: ENABLED, usip: YES)."""
    words = FLAG_WORDS.get(attribute)
    if words is None:
        return str(value)
    if isinstance(value, bool):
        return words[0] if value else words[1]
    text = str(value).strip().upper()
    if text in TRUE_WORDS:
        return words[0]
    if text in FALSE_WORDS:
        return words[1]
    return text


def same_value(attribute: str, left: Any, right: Any) -> bool:
    """Whether two spellings mean the same value (`YES` and `true`, `ENABLED` and `YES`)."""
    if left is None or right is None:
        return left is right
    return nitro_value(attribute, left) == nitro_value(attribute, right)
