"""What the mock knows about each NITRO resource type: attributes, defaults, and how it behaves.

One `ResourceSchema` entry per type holds everything that differs between types, as data and
as typed hooks; the engine (store, reads, writes) is the same for all of them. Adding a resource
type is adding an entry here and its place in `LOAD_ORDER`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mocks.envelopes import (
    bad_action,
    bad_value,
    both_given,
    exists,
    missing,
    no_such,
)
from mocks.values import Key, Record, is_ip, norm, timestamp, truthy

if TYPE_CHECKING:
    from mocks.store import Scope

# A default is either a constant or a function of the record being filled (e.g. timeouts that
# depend on the service type, or a member's servername that mirrors its IP).
Default = Any | Callable[[Mapping[str, Any]], Any]

# Hooks. Each is given the scope of the request: one partition plus the appliance-wide objects.
# A default taken from the partition's state rather than the record (usip from the USIP mode).
Inherited = Callable[["Scope"], Any]
# The attributes a read computes for a stored record, instead of echoing what is stored.
Computed = Callable[["Scope", Record], Record]
# A scenario record turned into the stored one, before defaults are filled.
Loaded = Callable[["Scope", Record], Record]
# Run once the whole scenario is loaded, in the default partition's scope.
Settled = Callable[["Scope"], None]
# Check and complete a validated add (or bind) body; may name an object the add implies.
Prepared = Callable[["Scope", Record], "Implied | None"]
# Run after a record was added, or after it was removed (deleted, or its add undone).
Changed = Callable[["Scope", Key, Record], None]
# Raise when the named object may not be deleted.
Protected = Callable[[str], None]
# enable/disable (to state ENABLED or DISABLED) acting on something other than the object's
# own `state`; returns False to leave the request to the object itself.
Toggled = Callable[["Scope", Record, str], bool]
# One `stat/<type>` record from the stored record and its rendered (computed) form.
ObjectStat = Callable[[Record, Record], Record]
# The single `stat/<type>` record of a type that reports as a whole (hanode).
TypeStat = Callable[["Scope"], Record]
# The `show running config` line for a record, or None when it prints nothing.
CliLine = Callable[[Record], "str | None"]

DEFAULT_PARTITION = "default"


@dataclass(frozen=True)
class Reference:
    """An attribute that names an object of another type (a binding's child, a service's server).

    A rename of the target follows into it. `must_exist`: an add or bind naming a missing target
    fails with 404 (`builtin` names exist without an object). `deleted_with_target`: deleting the
    target deletes the referring record too.
    """

    attr: str
    target: str
    must_exist: bool = False
    deleted_with_target: bool = False
    builtin: frozenset[str] = frozenset()
    error_name: str | None = None


@dataclass(frozen=True)
class ResourceSchema:
    """What the mock knows about one NITRO resource type."""

    name: str
    keys: tuple[str, ...]
    writable: frozenset[str] = frozenset()
    add_only: frozenset[str] = frozenset()
    update_only: frozenset[str] = frozenset()
    # Accepted by an update but not kept (member- and monitor-level settings).
    update_ignored: frozenset[str] = frozenset()
    action_only: frozenset[str] = frozenset()
    readonly: frozenset[str] = frozenset()
    immutable: frozenset[str] = frozenset()
    enums: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    defaults: Mapping[str, Default] = field(default_factory=dict)
    inherited: Mapping[str, Inherited] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    ip_attrs: frozenset[str] = frozenset()
    int_attrs: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    num_attrs: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    summary: tuple[str, ...] = ()
    computed: frozenset[str] = frozenset()
    compute: Computed | None = None
    # Whether the scenario-shaped export shows the computed attributes (a node's HA state).
    export_computed: bool = False
    singleton: bool = False
    appliance_wide: bool = False
    modeled: bool = True
    updatable: bool = True
    binding_parent: str | None = None
    binding_parent_type: str | None = None
    references: tuple[Reference, ...] = ()
    # An attribute whose value finds the first object that holds it (a server by its address).
    found_by: str | None = None
    actions: frozenset[str] = frozenset()
    # Actions that change the session, not the configuration (nspartition switch).
    session_actions: frozenset[str] = frozenset()
    on_load: Loaded | None = None
    after_load: Settled | None = None
    prepare: Prepared | None = None
    after_add: Changed | None = None
    after_remove: Changed | None = None
    protect: Protected | None = None
    toggle: Toggled | None = None
    stat: ObjectStat | None = None
    type_stat: TypeStat | None = None
    cli: CliLine | None = None

    @property
    def path_key(self) -> str:
        """The attribute that the `/<name>` URL segment addresses."""
        return self.binding_parent or self.keys[0]

    @property
    def is_binding(self) -> bool:
        return self.binding_parent is not None

    def canonical_enum(self, attr: str, value: Any) -> str | None:
        """Return the canonical spelling of an enum value, or None if it is not allowed."""
        allowed = self.enums.get(attr)
        if allowed is None or not isinstance(value, str):
            return None
        lowered = value.lower()
        for candidate in allowed:
            if candidate.lower() == lowered:
                return candidate
        return None

    def allowed_for(self, op: str) -> frozenset[str]:
        """Attributes a request body may carry for an operation (add, update, unset)."""
        if op == "add":
            return self.writable | self.add_only
        if op == "update":
            return self.writable | self.update_only
        return self.writable

    def key_default(self, attr: str) -> Any:
        """The constant default of a key attribute (nsip's td), or None."""
        default = self.defaults.get(attr)
        return None if callable(default) else default


# An object an add brings into being with it (the server behind a service added by address).
Implied = tuple[ResourceSchema, Record]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _cli_quote(value: Any) -> str:
    """A value as the CLI prints it: in double quotes, with `\\"` and `\\\\` escaped, when it holds
    blanks or quotes or could be read as an option."""
    text = norm(value)
    if text and not any(c in text for c in ' \t"\'\r') and text[0] not in "-#":
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _cli_port(value: Any) -> str:
    return "*" if norm(value) == "65535" else norm(value)


def _cli_options(schema: ResourceSchema, rec: Record, skip: tuple[str, ...]) -> str:
    """`-attr value` for every attribute that differs from its default."""
    out = []
    for attr, value in rec.items():
        if attr in skip or attr in schema.readonly or attr in schema.keys:
            continue
        default = schema.defaults.get(attr)
        if callable(default):
            default = default(rec)
        if default is not None and norm(default) == norm(value):
            continue
        out.append(f"-{attr} {_cli_quote(value)}")
    return (" " + " ".join(out)) if out else ""


def _weight(rec: Record) -> str:
    weight = norm(rec.get("weight") or "1")
    return "" if weight == "1" else f" -weight {weight}"


# NITRO's "no address" (non-addressable vservers, services on domain-based servers).
UNSET_ADDRESS = "0.0.0.0"  # noqa: S104 - a value NITRO reports, not an address we bind to

YES_NO = ("YES", "NO")
ON_OFF = ("ON", "OFF")
ENABLED_DISABLED = ("ENABLED", "DISABLED")

SERVICE_TYPES = (
    "HTTP", "FTP", "TCP", "UDP", "SSL", "SSL_BRIDGE", "SSL_TCP", "DTLS", "NNTP", "RPCSVR", "DNS",
    "ADNS", "SNMP", "RTSP", "DHCPRA", "ANY", "SIP_UDP", "SIP_TCP", "SIP_SSL", "DNS_TCP",
    "ADNS_TCP", "MYSQL", "MSSQL", "ORACLE", "MONGO", "MONGO_TLS", "RADIUS", "RADIUSListener",
    "RDP", "DIAMETER", "SSL_DIAMETER", "TFTP", "SMPP", "PPTP", "GRE", "SYSLOGTCP", "SYSLOGUDP",
    "FIX", "SSL_FIX", "USER_TCP", "USER_SSL_TCP", "QUIC", "IPFIX", "LOGSTREAM", "LOGSTREAM_SSL",
    "MQTT", "MQTT_TLS", "QUIC_BRIDGE", "HTTP_QUIC",
)
VSERVER_TYPES = (
    "HTTP", "FTP", "TCP", "UDP", "SSL", "SSL_BRIDGE", "SSL_TCP", "DTLS", "NNTP", "DNS", "DHCPRA",
    "ANY", "SIP_UDP", "SIP_TCP", "SIP_SSL", "DNS_TCP", "RTSP", "PUSH", "SSL_PUSH", "RADIUS", "RDP",
    "MYSQL", "MSSQL", "DIAMETER", "SSL_DIAMETER", "TFTP", "ORACLE", "SMPP", "SYSLOGTCP",
    "SYSLOGUDP", "FIX", "SSL_FIX", "PROXY", "USER_TCP", "USER_SSL_TCP", "QUIC", "IPFIX",
    "LOGSTREAM", "MONGO", "MONGO_TLS", "MQTT", "MQTT_TLS", "QUIC_BRIDGE", "HTTP_QUIC",
)
LB_METHODS = (
    "ROUNDROBIN", "LEASTCONNECTION", "LEASTRESPONSETIME", "URLHASH", "DOMAINHASH",
    "DESTINATIONIPHASH", "SOURCEIPHASH", "SRCIPDESTIPHASH", "LEASTBANDWIDTH", "LEASTPACKETS",
    "TOKEN", "SRCIPSRCPORTHASH", "LRTM", "CALLIDHASH", "CUSTOMLOAD", "LEASTREQUEST",
    "AUDITLOGHASH", "STATICPROXIMITY", "USER_TOKEN",
)
PERSISTENCE_TYPES = (
    "SOURCEIP", "COOKIEINSERT", "SSLSESSION", "RULE", "URLPASSIVE", "CUSTOMSERVERID", "DESTIP",
    "SRCIPDESTIP", "CALLID", "RTSPSID", "DIAMETER", "FIXSESSION", "USERSESSION", "NONE",
)
MONITOR_TYPES = (
    "PING", "TCP", "HTTP", "TCP-ECV", "HTTP-ECV", "UDP-ECV", "DNS", "FTP", "LDNS-PING", "LDNS-TCP",
    "LDNS-DNS", "RADIUS", "USER", "HTTP-INLINE", "SIP-UDP", "SIP-TCP", "SIP-TLS", "LOAD",
    "FTP-EXTENDED", "SMTP", "SNMP", "NNTP", "MYSQL", "MYSQL-ECV", "MSSQL-ECV", "ORACLE-ECV",
    "LDAP", "POP3", "CITRIX-XML-SERVICE", "CITRIX-WEB-INTERFACE", "DNS-TCP", "RTSP", "ARP",
    "CITRIX-AG", "CITRIX-AAC-LOGINPAGE", "CITRIX-AAC-LAS", "CITRIX-XD-DDC", "ND6",
    "CITRIX-WI-EXTENDED", "DIAMETER", "RADIUS_ACCOUNTING", "STOREFRONT", "APPC", "SMPP",
    "CITRIX-XNC-ECV", "CITRIX-XDM", "CITRIX-STA-SERVICE", "CITRIX-STA-SERVICE-NHOP", "MQTT",
    "HTTP2", "MONGO", "MONGO-TLS", "MQTT-TLS", "TCPS", "HTTPS", "HTTPS-ECV", "TCPS-ECV",
)

# Monitors every appliance ships with; binding to them must work without a scenario listing them.
BUILTIN_MONITORS = _words(
    "ping tcp http tcp-ecv http-ecv udp-ecv dns ftp tcps https tcps-ecv https-ecv xdm xnc mqtt "
    "mqtt-tls http2direct http2ssl ldns-ping ldns-tcp ldns-dns stasecure sta ping-default "
    "tcp-default arp nd6 gslb-nd6 ping6 ping-default6"
)

# Global modes: attribute in the nsmode record, accepted spellings in enable/disable, default.
NSMODES: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("fr", ("FR", "FastRamp"), True),
    ("l2", ("L2", "L2mode"), False),
    ("usip", ("USIP", "UseSourceIP"), False),
    ("cka", ("CKA", "ClientKeepAlive"), False),
    ("tcpb", ("TCPB", "TCPBuffering"), False),
    ("mbf", ("MBF", "MACbasedforwarding"), False),
    ("edge", ("Edge",), True),
    ("usnip", ("USNIP",), True),
    ("l3", ("L3", "L3mode"), True),
    ("pmtud", ("PMTUD",), True),
    ("mediaclassification", ("Mediaclassification",), False),
    ("sradv", ("SRADV",), False),
    ("dradv", ("DRADV",), False),
    ("iradv", ("IRADV",), False),
    ("sradv6", ("SRADV6",), False),
    ("dradv6", ("DRADV6",), False),
    ("bridgebpdus", ("BridgeBPDUs",), False),
    ("rise_apbr", ("RISE_APBR",), False),
    ("rise_rhi", ("RISE_RHI",), False),
    ("ulfd", ("ULFD",), False),
    ("single_ip", ("SINGLE_IP",), False),
)

MODE_ALIASES: dict[str, str] = {
    alias.lower(): attr for attr, aliases, _default in NSMODES for alias in aliases
}
MODE_LABEL: dict[str, str] = {attr: aliases[0] for attr, aliases, _default in NSMODES}

DEFAULT_VERSION = "NetScaler NS14.1: Build 25.56.nc, Date: Jun  5 2025, 10:19:01   (64-bit)"


def _timeouts(kind: str) -> Callable[[Mapping[str, Any]], Any]:
    """Idle timeouts depend on the protocol, as on the appliance."""

    def pick(rec: Mapping[str, Any]) -> Any:
        stype = str(rec.get("servicetype", "")).upper()
        if stype in ("HTTP", "SSL", "FTP", "SSL_BRIDGE", "RTSP", "PUSH", "SSL_PUSH"):
            return "180" if kind == "clt" else "360"
        if stype in ("UDP", "DNS", "ADNS", "SNMP", "RADIUS", "TFTP", "SIP_UDP", "SYSLOGUDP"):
            return "120"
        return "9000"

    return pick


def _member_servername(rec: Mapping[str, Any]) -> Any:
    return rec.get("ip")


def _global_usip(scope: Scope) -> str:
    # A service created without -usip inherits the global USIP mode (CTX109858).
    return "YES" if truthy(scope.singleton(NSMODE).get("usip")) else "NO"


def _implied_server(address: str) -> Implied:
    """The server object the appliance creates for a service or member added by address."""
    return SERVER, {"name": address, "ipaddress": address}


# --- service ---------------------------------------------------------------------------------


def _service_state(rec: Mapping[str, Any]) -> str:
    if rec.get("state") == "DISABLED":
        return "OUT OF SERVICE"
    given = rec.get("svrstate")
    return given if isinstance(given, str) and given else "UP"


def _service_computed(scope: Scope, rec: Record) -> Record:
    return {"svrstate": _service_state(rec)}


def _load_service(scope: Scope, rec: Record) -> Record:
    if "ipaddress" not in rec and "ip" in rec:
        rec["ipaddress"] = rec.pop("ip")
    return rec


def _settle_server(scope: Scope, clean: Record, ip: Any, address_attr: str) -> Implied | None:
    """Fill the address and servername of a service or member body from the one given.

    A servername alone names a server (whose address is taken) or is itself an address. An
    address names the first server that holds it, or a server the add creates, named after it
    (as the appliance does).
    """
    servers = scope.table(SERVER)
    if ip is None:
        servername = clean.get("servername")
        server = servers.rows.get((norm(servername),))
        if server is not None:
            clean[address_attr] = server.get("ipaddress", UNSET_ADDRESS)
            return None
        if not is_ip(servername):
            raise no_such("serverName", servername)
        ip = servername
    clean[address_attr] = ip
    holder = servers.holder_of(norm(ip))
    if holder is not None:
        clean["servername"] = holder[0]
        return None
    clean["servername"] = ip
    return None if (norm(ip),) in servers.rows else _implied_server(norm(ip))


def _service_address(scope: Scope, clean: Record) -> Implied | None:
    """A service is added by `ip` or `servername` and stores `ipaddress` and `servername`."""
    ip = clean.pop("ip", None)
    servername = clean.get("servername")
    if ip is None and servername is None:
        raise missing("serverName")
    if ip is not None and servername is not None and servername != ip:
        raise both_given("serverName", "IP")
    return _settle_server(scope, clean, ip, "ipaddress")


def _service_stat(rec: Record, full: Record) -> Record:
    return {
        "name": rec.get("name"), "primaryipaddress": rec.get("ipaddress"),
        "primaryport": rec.get("port"), "servicetype": rec.get("servicetype"),
        "state": full["svrstate"], "throughput": "0", "totalrequests": "0",
        "requestsrate": 0, "curclntconnections": "0", "cursrvrconnections": "0",
    }


def _service_cli(rec: Record) -> str:
    return (
        f"add service {_cli_quote(rec.get('name'))} {_cli_quote(rec.get('servername'))} "
        f"{rec.get('servicetype')} {_cli_port(rec.get('port'))}"
        + _cli_options(SERVICE, rec, ("servername", "servicetype", "port", "ipaddress",
                                      "svrstate"))
    )


SERVICE = ResourceSchema(
    name="service",
    keys=("name",),
    writable=_words(
        "name servername servicetype port cleartextport cachetype maxclient healthmonitor maxreq "
        "cacheable cip cipheader usip pathmonitor pathmonitorindv useproxyport sc sp "
        "rtspsessionidremap clttimeout svrtimeout customserverid serverid cka tcpb cmp "
        "maxbandwidth accessdown monthreshold state downstateflush tcpprofilename httpprofilename "
        "contentinspectionprofilename hashid comment appflowlog netprofile td processlocal "
        "dnsprofilename monconnectionclose"
    ),
    add_only=_words("ip"),
    update_only=_words("ipaddress weight monitor_name_svc"),
    update_ignored=_words("weight monitor_name_svc"),
    action_only=_words("newname delay graceful"),
    readonly=_words(
        "svrstate numofconnections policyname serviceconftype serviceconftype2 value gslb "
        "dup_state publicip publicport monitor_state monstatcode lastresponse responsetime "
        "statechangetimesec statechangetimemsec tickssincelaststatechange stateupdatereason "
        "clmonowner clmonview serviceipstr oracleserverversion nodefaultbindings"
    ),
    immutable=_words("name servername servicetype port td cachetype cleartextport"),
    enums={
        "servicetype": SERVICE_TYPES,
        "cachetype": ("TRANSPARENT", "REVERSE", "FORWARD"),
        "healthmonitor": YES_NO,
        "cacheable": YES_NO,
        "cip": ENABLED_DISABLED,
        "usip": YES_NO,
        "pathmonitor": YES_NO,
        "pathmonitorindv": YES_NO,
        "useproxyport": YES_NO,
        "sc": ON_OFF,
        "sp": ON_OFF,
        "rtspsessionidremap": ON_OFF,
        "cka": YES_NO,
        "tcpb": YES_NO,
        "cmp": YES_NO,
        "accessdown": YES_NO,
        "state": ENABLED_DISABLED,
        "downstateflush": ENABLED_DISABLED,
        "appflowlog": ENABLED_DISABLED,
        "processlocal": ENABLED_DISABLED,
        "graceful": YES_NO,
        "monconnectionclose": ("RESET", "FIN"),
    },
    defaults={
        "servername": lambda rec: rec.get("ipaddress"),
        "maxclient": "0",
        "maxreq": "0",
        "healthmonitor": "YES",
        "cacheable": "NO",
        "cip": "DISABLED",
        # usip: inherited from the partition's global USIP mode, see `inherited`.
        "useproxyport": "YES",
        "sc": "OFF",
        "sp": "OFF",
        "rtspsessionidremap": "OFF",
        "clttimeout": _timeouts("clt"),
        "svrtimeout": _timeouts("svr"),
        "customserverid": "None",
        "cka": "NO",
        "tcpb": "NO",
        "cmp": "NO",
        "maxbandwidth": "0",
        "accessdown": "NO",
        "monthreshold": "0",
        "state": "ENABLED",
        "downstateflush": "ENABLED",
        "appflowlog": "ENABLED",
        "td": "0",
        "processlocal": "DISABLED",
        "pathmonitor": "NO",
        "pathmonitorindv": "NO",
    },
    required=("name", "servicetype", "port"),
    ip_attrs=_words("ip ipaddress"),
    int_attrs={"port": (1, 65535), "cleartextport": (1, 65535)},
    num_attrs={
        "maxclient": (0, 4294967294), "maxreq": (0, 65535), "clttimeout": (0, 31536000),
        "svrtimeout": (0, 31536000), "maxbandwidth": (0, 4294967287), "monthreshold": (0, 65535),
        "td": (0, 4094), "hashid": (1, 4294967295), "serverid": (0, 4294967295),
        "weight": (1, 100), "delay": (0, 4294967295),
    },
    inherited={"usip": _global_usip},
    summary=("name", "servername", "ipaddress", "servicetype", "port"),
    computed=_words("svrstate"),
    compute=_service_computed,
    references=(Reference("servername", "server"),),
    actions=_words("enable disable unset rename rm"),
    on_load=_load_service,
    prepare=_service_address,
    stat=_service_stat,
    cli=_service_cli,
)

# --- lbvserver: its state rolls up that of its services and service-group members -----------


def _member_state(scope: Scope, rec: Mapping[str, Any]) -> str:
    group = scope.table(SERVICEGROUP).rows.get((norm(rec.get("servicegroupname")),))
    if rec.get("state") == "DISABLED" or (group is not None
                                          and group.get("state") == "DISABLED"):
        return "OUT OF SERVICE"
    given = rec.get("svrstate")
    return given if isinstance(given, str) and given else "UP"


def _group_counts(scope: Scope, group_name: str) -> tuple[int, int]:
    """Members of a service group: how many, and how many are UP."""
    members = scope.table(SERVICEGROUP_MEMBER_BINDING)
    total = up = 0
    for key in members.children(group_name):
        total += 1
        if _member_state(scope, members.rows[key]) == "UP":
            up += 1
    return total, up


def _vserver_counts(scope: Scope, name: str) -> tuple[int, int]:
    """Services behind a virtual server (group members counted one by one): total and UP."""
    services = scope.table(SERVICE)
    total = up = 0
    for key in scope.table(LBVSERVER_SERVICE_BINDING).children(name):
        total += 1
        svc = services.rows.get((key[1],))
        if svc is not None and _service_state(svc) == "UP":
            up += 1
    groups = scope.table(SERVICEGROUP)
    for key in scope.table(LBVSERVER_SERVICEGROUP_BINDING).children(name):
        group = groups.rows.get((key[1],))
        if group is None or group.get("state") == "DISABLED":
            total += 1
            continue
        g_total, g_up = _group_counts(scope, key[1])
        total += g_total
        up += g_up
    return total, up


def _lbvserver_computed(scope: Scope, rec: Record) -> Record:
    total, up = _vserver_counts(scope, norm(rec.get("name")))
    state = "UP" if up else "DOWN"
    if rec.get("state") == "DISABLED":
        state = "OUT OF SERVICE"
    return {
        "curstate": state,
        "effectivestate": state,
        "health": str(up * 100 // total) if total else "0",
        "totalservices": str(total),
        "activeservices": str(up),
    }


def _lbvserver_stat(rec: Record, full: Record) -> Record:
    total, up = int(full["totalservices"]), int(full["activeservices"])
    return {
        "name": rec.get("name"), "primaryipaddress": rec.get("ipv46"),
        "primaryport": rec.get("port"), "type": rec.get("servicetype"),
        "state": full["curstate"], "vslbhealth": full["health"], "actsvcs": str(up),
        "inactsvcs": str(total - up), "tothits": "0", "hitsrate": 0,
        "totalrequests": "0", "requestsrate": 0, "establishedconn": "0",
        "curclntconnections": "0", "cursrvrconnections": "0",
    }


def _lbvserver_cli(rec: Record) -> str:
    return (
        f"add lb vserver {_cli_quote(rec.get('name'))} {rec.get('servicetype')} "
        f"{rec.get('ipv46')} {_cli_port(rec.get('port'))}"
        + _cli_options(LBVSERVER, rec, ("servicetype", "ipv46", "port"))
    )


LBVSERVER = ResourceSchema(
    name="lbvserver",
    keys=("name",),
    writable=_words(
        "name servicetype ipv46 ippattern ipmask port ipset range persistencetype timeout "
        "persistencebackup backuppersistencetimeout lbmethod hashlength netmask v6netmasklen "
        "backuplbmethod cookiename rule listenpolicy listenpriority resrule persistmask "
        "v6persistmasklen pq sc rtspnat m tosid datalength dataoffset sessionless "
        "trofspersistence state connfailover redirurl cacheable clttimeout somethod sopersistence "
        "sopersistencetimeout healththreshold sothreshold sobackupaction redirectportrewrite "
        "downstateflush backupvserver disableprimaryondown insertvserveripport vipheader "
        "authenticationhost authentication authn401 authnvsname push pushvserver pushlabel "
        "pushmulticlients tcpprofilename httpprofilename dbprofilename comment l2conn "
        "oracleserverversion mssqlserverversion mysqlprotocolversion mysqlserverversion "
        "mysqlcharacterset mysqlservercapabilities appflowlog netprofile icmpvsrresponse rhistate "
        "newservicerequest newservicerequestunit newservicerequestincrementinterval "
        "minautoscalemembers maxautoscalemembers persistavpno skippersistency td authnprofile "
        "macmoderetainvlan dbslb dns64 bypassaaaa recursionavailable processlocal dnsprofilename "
        "lbprofilename redirectfromport httpsredirecturl retainconnectionsoncluster "
        "adfsproxyprofile tcpprobeport quicprofilename quicbridgeprofilename probeprotocol "
        "probesuccessresponsecode probeport toggleorder orderthreshold"
    ),
    action_only=_words("newname weight servicename"),
    readonly=_words(
        "curstate effectivestate status lbrrreason redirect precedence homepage dnsvservername "
        "domain policyname cachevserver health gotopriorityexpression ruletype groupname "
        "cookiedomain map gt2gb consolidatedlconn consolidatedlconngbl thresholdvalue bindpoint "
        "invoke labeltype labelname version totalservices activeservices statechangetimesec "
        "statechangetimeseconds statechangetimemsec tickssincelaststatechange isgslb "
        "vsvrdynconnsothreshold backupvserverstatus nodefaultbindings value ipmapping ngname type"
    ),
    immutable=_words("name servicetype port range td"),
    enums={
        "servicetype": VSERVER_TYPES,
        "persistencetype": PERSISTENCE_TYPES,
        "persistencebackup": ("SOURCEIP", "NONE"),
        "lbmethod": LB_METHODS,
        "backuplbmethod": (
            "ROUNDROBIN", "LEASTCONNECTION", "LEASTRESPONSETIME", "SOURCEIPHASH",
            "LEASTBANDWIDTH", "LEASTPACKETS", "CUSTOMLOAD",
        ),
        "pq": ON_OFF,
        "sc": ON_OFF,
        "rtspnat": ON_OFF,
        "m": ("IP", "MAC", "IPTUNNEL", "TOS"),
        "sessionless": ENABLED_DISABLED,
        "trofspersistence": ENABLED_DISABLED,
        "state": ENABLED_DISABLED,
        "connfailover": ("DISABLED", "STATEFUL", "STATELESS"),
        "cacheable": YES_NO,
        "somethod": ("CONNECTION", "DYNAMICCONNECTION", "BANDWIDTH", "HEALTH", "NONE"),
        "sopersistence": ENABLED_DISABLED,
        "sobackupaction": ("DROP", "ACCEPT", "REDIRECT"),
        "redirectportrewrite": ENABLED_DISABLED,
        "downstateflush": ENABLED_DISABLED,
        "disableprimaryondown": ENABLED_DISABLED,
        "insertvserveripport": ("OFF", "VIPADDR", "V6TOV4MAPPING"),
        "authentication": ON_OFF,
        "authn401": ON_OFF,
        "push": ENABLED_DISABLED,
        "pushmulticlients": YES_NO,
        "l2conn": ON_OFF,
        "appflowlog": ENABLED_DISABLED,
        "icmpvsrresponse": ("PASSIVE", "ACTIVE"),
        "rhistate": ("PASSIVE", "ACTIVE"),
        "newservicerequestunit": ("PER_SECOND", "PERCENT"),
        "skippersistency": ("Bypass", "ReLb", "None"),
        "macmoderetainvlan": ENABLED_DISABLED,
        "dbslb": ENABLED_DISABLED,
        "dns64": ENABLED_DISABLED,
        "bypassaaaa": YES_NO,
        "recursionavailable": YES_NO,
        "processlocal": ENABLED_DISABLED,
        "retainconnectionsoncluster": YES_NO,
        "toggleorder": ("ASCENDING", "DESCENDING"),
        "probeprotocol": ("HTTP",),
    },
    defaults={
        "ipv46": UNSET_ADDRESS,
        "port": 0,
        "range": "1",
        "persistencetype": "NONE",
        "timeout": "2",
        "backuppersistencetimeout": "2",
        "lbmethod": "LEASTCONNECTION",
        "hashlength": "80",
        "v6netmasklen": "128",
        "rule": "none",
        "listenpolicy": "NONE",
        "listenpriority": "101",
        "resrule": "none",
        "v6persistmasklen": "128",
        "pq": "OFF",
        "sc": "OFF",
        "rtspnat": "OFF",
        "m": "IP",
        "sessionless": "DISABLED",
        "trofspersistence": "ENABLED",
        "state": "ENABLED",
        "connfailover": "DISABLED",
        "cacheable": "NO",
        "clttimeout": _timeouts("clt"),
        "sopersistence": "DISABLED",
        "sopersistencetimeout": "2",
        "healththreshold": "0",
        "redirectportrewrite": "DISABLED",
        "downstateflush": "ENABLED",
        "disableprimaryondown": "DISABLED",
        "insertvserveripport": "OFF",
        "authentication": "OFF",
        "authn401": "OFF",
        "push": "DISABLED",
        "pushmulticlients": "NO",
        "l2conn": "OFF",
        "appflowlog": "ENABLED",
        "icmpvsrresponse": "PASSIVE",
        "rhistate": "PASSIVE",
        "newservicerequest": "0",
        "newservicerequestunit": "PER_SECOND",
        "newservicerequestincrementinterval": "0",
        "minautoscalemembers": "0",
        "maxautoscalemembers": "0",
        "td": "0",
        "macmoderetainvlan": "DISABLED",
        "dbslb": "DISABLED",
        "dns64": "DISABLED",
        "bypassaaaa": "NO",
        "recursionavailable": "NO",
        "processlocal": "DISABLED",
        "retainconnectionsoncluster": "NO",
        "toggleorder": "ASCENDING",
        "orderthreshold": "0",
    },
    required=("name", "servicetype"),
    ip_attrs=_words("ipv46 ippattern ipmask"),
    int_attrs={"port": (0, 65535)},
    num_attrs={
        "range": (1, 254), "timeout": (0, 1440), "backuppersistencetimeout": (2, 1440),
        "hashlength": (1, 4096), "v6netmasklen": (1, 128), "listenpriority": (0, 101),
        "v6persistmasklen": (1, 128), "tosid": (1, 63), "datalength": (1, 100),
        "dataoffset": (0, 25400), "clttimeout": (0, 31536000), "td": (0, 4094),
        "healththreshold": (0, 100), "weight": (1, 100),
    },
    summary=("name", "servicetype", "ipv46", "port"),
    computed=_words("curstate effectivestate health totalservices activeservices"),
    compute=_lbvserver_computed,
    actions=_words("enable disable unset rename rm"),
    stat=_lbvserver_stat,
    cli=_lbvserver_cli,
)

# --- servicegroup ------------------------------------------------------------------------------


def _servicegroup_computed(scope: Scope, rec: Record) -> Record:
    if rec.get("state") == "DISABLED":
        return {"servicegroupeffectivestate": "OUT OF SERVICE"}
    total, up = _group_counts(scope, norm(rec.get("servicegroupname")))
    if total and up == total:
        return {"servicegroupeffectivestate": "UP"}
    return {"servicegroupeffectivestate": "PARTIAL-UP" if up else "DOWN"}


def _toggle_members(scope: Scope, item: Record, state: str) -> bool:
    """enable/disable naming a servername or port acts on the group's matching members."""
    if "servername" not in item and "port" not in item:
        return False
    group = item.get("servicegroupname")
    if group is None:
        raise missing("servicegroupname")
    scope.require_parent(SERVICEGROUP_MEMBER_BINDING, str(group))
    members = scope.table(SERVICEGROUP_MEMBER_BINDING)
    found = False
    for key in members.children(norm(group)):
        rec = members.rows[key]
        if "servername" in item and norm(rec.get("servername")) != norm(item["servername"]):
            continue
        if "port" in item and norm(rec.get("port")) != norm(item["port"]):
            continue
        rec["state"] = state
        found = True
    if not found:
        raise no_such("servername", item.get("servername"))
    return True


def _servicegroup_stat(rec: Record, full: Record) -> Record:
    return {
        "servicegroupname": rec.get("servicegroupname"),
        "servicetype": rec.get("servicetype"),
        "state": full["servicegroupeffectivestate"],
    }


def _servicegroup_cli(rec: Record) -> str:
    return (
        f"add serviceGroup {_cli_quote(rec.get('servicegroupname'))} {rec.get('servicetype')}"
        + _cli_options(SERVICEGROUP, rec, ("servicetype",))
    )


SERVICEGROUP = ResourceSchema(
    name="servicegroup",
    keys=("servicegroupname",),
    writable=_words(
        "servicegroupname servicetype cachetype td maxclient maxreq cacheable cip cipheader usip "
        "pathmonitor pathmonitorindv useproxyport healthmonitor sc sp rtspsessionidremap "
        "clttimeout svrtimeout cka tcpb cmp maxbandwidth monthreshold state downstateflush "
        "tcpprofilename httpprofilename contentinspectionprofilename comment appflowlog "
        "netprofile autoscale memberport autodisablegraceful autodisabledelay monconnectionclose "
        "processlocal dnsprofilename bootstrap hashid serverid customserverid nodefaultbindings"
    ),
    update_only=_words("weight monitor_name_svc dup_weight servername port"),
    update_ignored=_words("weight monitor_name_svc dup_weight servername port"),
    action_only=_words("newname delay graceful servername port"),
    readonly=_words(
        "servicegroupeffectivestate numofconnections serviceconftype value svrstate ip "
        "monstatcode monstatparam1 monstatparam2 monstatparam3 statechangetimemsec groupcount "
        "stateupdatereason clmonowner clmonview"
    ),
    immutable=_words("servicegroupname servicetype cachetype td bootstrap memberport"),
    enums={
        "servicetype": SERVICE_TYPES,
        "cachetype": ("TRANSPARENT", "REVERSE", "FORWARD"),
        "cacheable": YES_NO,
        "cip": ENABLED_DISABLED,
        "usip": YES_NO,
        "pathmonitor": YES_NO,
        "pathmonitorindv": YES_NO,
        "useproxyport": YES_NO,
        "healthmonitor": YES_NO,
        "sc": ON_OFF,
        "sp": ON_OFF,
        "rtspsessionidremap": ON_OFF,
        "cka": YES_NO,
        "tcpb": YES_NO,
        "cmp": YES_NO,
        "state": ENABLED_DISABLED,
        "downstateflush": ENABLED_DISABLED,
        "appflowlog": ENABLED_DISABLED,
        "autoscale": ("DISABLED", "DNS", "POLICY", "CLOUD", "API"),
        "autodisablegraceful": YES_NO,
        "monconnectionclose": ("RESET", "FIN"),
        "processlocal": ENABLED_DISABLED,
        "bootstrap": YES_NO,
        "nodefaultbindings": YES_NO,
        "graceful": YES_NO,
    },
    defaults={
        "td": "0",
        "maxclient": "0",
        "maxreq": "0",
        "cacheable": "NO",
        "cip": "DISABLED",
        "useproxyport": "YES",
        "healthmonitor": "YES",
        "sc": "OFF",
        "sp": "OFF",
        "rtspsessionidremap": "OFF",
        "clttimeout": _timeouts("clt"),
        "svrtimeout": _timeouts("svr"),
        "cka": "NO",
        "tcpb": "NO",
        "cmp": "NO",
        "maxbandwidth": "0",
        "monthreshold": "0",
        "state": "ENABLED",
        "downstateflush": "ENABLED",
        "appflowlog": "ENABLED",
        "autoscale": "DISABLED",
        "pathmonitor": "NO",
        "pathmonitorindv": "NO",
        "processlocal": "DISABLED",
        "bootstrap": "NO",
        "autodisablegraceful": "NO",
    },
    required=("servicegroupname", "servicetype"),
    int_attrs={"memberport": (1, 65535), "port": (1, 65535)},
    num_attrs={
        "maxclient": (0, 4294967294), "maxreq": (0, 65535), "clttimeout": (0, 31536000),
        "svrtimeout": (0, 31536000), "maxbandwidth": (0, 4294967287), "monthreshold": (0, 65535),
        "td": (0, 4094), "weight": (1, 100), "delay": (0, 4294967295),
    },
    inherited={"usip": _global_usip},
    summary=("servicegroupname", "servicetype"),
    computed=_words("servicegroupeffectivestate"),
    compute=_servicegroup_computed,
    actions=_words("enable disable unset rename rm"),
    toggle=_toggle_members,
    stat=_servicegroup_stat,
    cli=_servicegroup_cli,
)

# --- server ------------------------------------------------------------------------------------


def _server_address(scope: Scope, clean: Record) -> None:
    if "ipaddress" not in clean and "domain" not in clean:
        raise missing("IPAddress")


def _server_cli(rec: Record) -> str:
    address = rec.get("ipaddress") or rec.get("domain")
    return (f"add server {_cli_quote(rec.get('name'))} {_cli_quote(address)}"
            + _cli_options(SERVER, rec, ("ipaddress", "domain")))


SERVER = ResourceSchema(
    name="server",
    keys=("name",),
    writable=_words(
        "name ipaddress domain translationip translationmask domainresolveretry state "
        "ipv6address comment td querytype domainresolvenow"
    ),
    action_only=_words("newname delay graceful internal"),
    readonly=_words("statechangetimesec tickssincelaststatechange autoscale customserverid"),
    immutable=_words("name td ipv6address domain"),
    enums={
        "state": ENABLED_DISABLED,
        "ipv6address": YES_NO,
        "querytype": ("A", "AAAA", "SRV"),
        "graceful": YES_NO,
    },
    defaults={"state": "ENABLED", "ipv6address": "NO", "td": "0", "domainresolveretry": "5"},
    required=("name",),
    ip_attrs=_words("ipaddress translationip translationmask"),
    num_attrs={"td": (0, 4094), "domainresolveretry": (5, 20939), "delay": (0, 4294967295)},
    summary=("name", "ipaddress", "domain"),
    found_by="ipaddress",
    actions=_words("enable disable unset rename rm"),
    prepare=_server_address,
    cli=_server_cli,
)

# --- lbmonitor and bindings --------------------------------------------------------------------


def _lbmonitor_cli(rec: Record) -> str | None:
    if norm(rec.get("monitorname")) in BUILTIN_MONITORS:
        return None  # built in: no line of its own
    return (f"add lb monitor {_cli_quote(rec.get('monitorname'))} {rec.get('type')}"
            + _cli_options(LBMONITOR, rec, ("type", "password")))


LBMONITOR = ResourceSchema(
    name="lbmonitor",
    keys=("monitorname",),
    writable=_words(
        "monitorname type action respcode httprequest rtsprequest customheaders maxforwards "
        "sipmethod sipuri sipreguri send recv query querytype scriptname scriptargs dispatcherip "
        "dispatcherport username password secondarypassword logonpointname lasversion radkey "
        "radnasid radnasip radaccounttype radframedip radapn radmsisdn radaccountsession lrtm "
        "deviation units1 interval units3 resptimeout units4 resptimeoutthresh retries "
        "failureretries alertretries successretries downtime units2 destip destport state "
        "reverse transparent iptunnel tos tosid secure validatecred domain ipaddress group "
        "filename basedn binddn filter attribute database oraclesid sqlquery evalrule "
        "mssqlprotocolversion snmpoid snmpcommunity snmpthreshold snmpversion metrictable "
        "application sitepath storename storefrontacctservice hostname netprofile originhost "
        "originrealm hostipaddress vendorid productname firmwarerevision authapplicationid "
        "acctapplicationid inbandsecurityid supportedvendorids vendorspecificvendorid "
        "vendorspecificauthapplicationids vendorspecificacctapplicationids kcdaccount storedb "
        "storefrontcheckbackendservices trofscode trofsstring sslprofile metric metrictable "
        "metricthreshold metricweight servicename servicegroupname"
    ),
    readonly=_words("lrtmconf lrtmconfstr dynamicresponsetimeout dynamicinterval multimetrictable"),
    immutable=_words("monitorname type"),
    enums={
        "type": MONITOR_TYPES,
        "lrtm": ENABLED_DISABLED,
        "state": ENABLED_DISABLED,
        "reverse": YES_NO,
        "transparent": YES_NO,
        "iptunnel": YES_NO,
        "tos": YES_NO,
        "secure": YES_NO,
        "units1": ("SEC", "MSEC", "MIN"),
        "units2": ("SEC", "MSEC", "MIN"),
        "units3": ("SEC", "MSEC", "MIN"),
        "units4": ("SEC", "MSEC", "MIN"),
    },
    defaults={
        "interval": 5,
        "units3": "SEC",
        "resptimeout": 2,
        "units4": "SEC",
        "retries": 3,
        "downtime": 30,
        "units2": "SEC",
        "successretries": 1,
        "failureretries": 0,
        "alertretries": 0,
        "state": "ENABLED",
        "reverse": "NO",
        "transparent": "NO",
        "iptunnel": "NO",
        "tos": "NO",
        "secure": "NO",
        "lrtm": "ENABLED",
        "destport": 0,
        "destip": UNSET_ADDRESS,
    },
    action_only=_words("type"),
    required=("monitorname", "type"),
    ip_attrs=_words("destip dispatcherip"),
    int_attrs={"destport": (0, 65535)},
    summary=("monitorname", "type"),
    actions=_words("enable disable unset rm"),
    cli=_lbmonitor_cli,
)


def _vserver_service_computed(scope: Scope, rec: Record) -> Record:
    """A service binding reports the bound service's address, type and state."""
    svc = scope.table(SERVICE).rows.get((norm(rec.get("servicename")),))
    if svc is None:
        return {}
    return {
        "ipv46": svc.get("ipaddress"),
        "port": svc.get("port"),
        "servicetype": svc.get("servicetype"),
        "curstate": _service_state(svc),
        "dynamicweight": "0",
    }


def _member_computed(scope: Scope, rec: Record) -> Record:
    return {"svrstate": _member_state(scope, rec)}


def _load_member(scope: Scope, rec: Record) -> Record:
    if "ip" not in rec:
        server = scope.table(SERVER).rows.get((norm(rec.get("servername")),))
        if server is not None and "ipaddress" in server:
            rec["ip"] = server["ipaddress"]
    return rec


def _member_address(scope: Scope, clean: Record) -> Implied | None:
    """A member is bound by `ip` or `servername` and stores both."""
    ip, servername = clean.get("ip"), clean.get("servername")
    if ip is None and servername is None:
        raise missing("IP")
    if ip is not None and servername is not None and norm(servername) != norm(ip):
        raise both_given("serverName", "IP")
    return _settle_server(scope, clean, ip, "ip")


def _monitor(attr: str) -> Reference:
    return Reference(attr, "lbmonitor", must_exist=True, deleted_with_target=True,
                     builtin=BUILTIN_MONITORS, error_name="monitorName")

LBVSERVER_SERVICE_BINDING = ResourceSchema(
    name="lbvserver_service_binding",
    keys=("name", "servicename"),
    writable=_words("name servicename weight order"),
    readonly=_words(
        "ipv46 port servicetype curstate dynamicweight vserverid cookieipport preferredlocation "
        "stateflag"
    ),
    defaults={"weight": "1"},
    required=("name", "servicename"),
    num_attrs={"weight": (1, 100), "order": (1, 8192)},
    computed=_words("ipv46 port servicetype curstate dynamicweight"),
    compute=_vserver_service_computed,
    binding_parent="name",
    binding_parent_type="lbvserver",
    references=(Reference("servicename", "service", must_exist=True, deleted_with_target=True),),
    actions=_words("unbind"),
    cli=lambda rec: (f"bind lb vserver {_cli_quote(rec.get('name'))} "
                     f"{_cli_quote(rec.get('servicename'))}" + _weight(rec)),
)

LBVSERVER_SERVICEGROUP_BINDING = ResourceSchema(
    name="lbvserver_servicegroup_binding",
    keys=("name", "servicegroupname"),
    writable=_words("name servicegroupname weight order"),
    readonly=_words("servicename stateflag"),
    defaults={},
    required=("name", "servicegroupname"),
    num_attrs={"weight": (1, 100), "order": (1, 8192)},
    binding_parent="name",
    binding_parent_type="lbvserver",
    references=(Reference("servicegroupname", "servicegroup", must_exist=True,
                          deleted_with_target=True),),
    actions=_words("unbind"),
    cli=lambda rec: (f"bind lb vserver {_cli_quote(rec.get('name'))} "
                     f"{_cli_quote(rec.get('servicegroupname'))}" + _weight(rec)),
)

CS_TYPES = (
    "HTTP", "SSL", "TCP", "FTP", "RTSP", "SSL_TCP", "UDP", "DNS", "SIP_UDP", "SIP_TCP", "SIP_SSL",
    "ANY", "RADIUS", "RDP", "MYSQL", "MSSQL", "DIAMETER", "SSL_DIAMETER", "DNS_TCP", "ORACLE",
    "SMPP", "PROXY", "MONGO", "MONGO_TLS", "MQTT", "MQTT_TLS", "HTTP_QUIC", "QUIC",
)

CSACTION = ResourceSchema(
    name="csaction",
    keys=("name",),
    writable=_words("name targetlbvserver targetvserver targetvserverexpr comment"),
    readonly=_words("hits referencecount undefhits builtin"),
    required=("name",),
    references=(Reference("targetlbvserver", "lbvserver", must_exist=True),),
    actions=_words("unset rename rm"),
    cli=lambda rec: (f"add cs action {_cli_quote(rec.get('name'))} -targetLBVserver "
                     f"{_cli_quote(rec.get('targetlbvserver'))}"),
)

CSPOLICY = ResourceSchema(
    name="cspolicy",
    keys=("policyname",),
    writable=_words("policyname url rule domain action logaction"),
    readonly=_words("vstype hits bindhits labelname labeltype priority activepolicy cspolicytype"),
    required=("policyname",),
    references=(Reference("action", "csaction", must_exist=True),),
    actions=_words("unset rename rm"),
    cli=lambda rec: (f"add cs policy {_cli_quote(rec.get('policyname'))} -rule "
                     f"{_cli_quote(rec.get('rule'))} -action {_cli_quote(rec.get('action'))}"),
)

CSVSERVER = ResourceSchema(
    name="csvserver",
    keys=("name",),
    writable=_words(
        "name td servicetype ipv46 targettype dnsrecordtype persistenceid ippattern ipmask range "
        "port ipset state stateupdate cacheable redirecturl clttimeout precedence casesensitive "
        "somethod sopersistence sopersistencetimeout sothreshold rhistate redirectportrewrite "
        "downstateflush backupvserver disableprimaryondown insertvserveripport vipheader rtspnat "
        "authenticationhost authentication listenpolicy listenpriority authn401 authnvsname push "
        "pushvserver pushlabel pushmulticlients tcpprofilename httpprofilename dbprofilename "
        "oracleserverversion comment mssqlserverversion l2conn mysqlprotocolversion "
        "mysqlserverversion mysqlcharacterset mysqlservercapabilities appflowlog netprofile "
        "icmpvsrresponse authnprofile dnsprofilename dtls persistencetype persistmask "
        "v6persistmasklen timeout cookiename persistencebackup backuppersistencetimeout "
        "tcpprobeport probeprotocol probesuccessresponsecode probeport"
    ),
    readonly=_words(
        "ip value ngname type curstate sc status cachetype redirect homepage dnsvservername "
        "domain policyname servicename weight cachevserver targetvserver priority url "
        "gotopriorityexpression bindpoint invoke labeltype labelname gt2gb statechangetimesec "
        "statechangetimemsec tickssincelaststatechange ruletype lbvserver targetlbvserver "
        "nodefaultbindings version"
    ),
    immutable=_words("servicetype td"),
    enums={"servicetype": CS_TYPES, "state": ENABLED_DISABLED},
    defaults={"td": "0", "state": "ENABLED", "port": 80},
    required=("name", "servicetype"),
    ip_attrs=_words("ipv46 ippattern ipmask"),
    int_attrs={"port": (0, 65535)},
    num_attrs={"td": (0, 4094)},
    summary=("name", "servicetype", "ipv46", "port"),
    computed=_words("curstate"),
    compute=lambda scope, rec: {
        "curstate": "OUT OF SERVICE" if rec.get("state") == "DISABLED" else "UP"
    },
    actions=_words("enable disable unset rename rm"),
    cli=lambda rec: (f"add cs vserver {_cli_quote(rec.get('name'))} {rec.get('servicetype')} "
                     f"{rec.get('ipv46')} {_cli_port(rec.get('port'))}"),
)

CSVSERVER_LBVSERVER_BINDING = ResourceSchema(
    name="csvserver_lbvserver_binding",
    keys=("name", "lbvserver"),
    writable=_words("name lbvserver targetvserver"),
    required=("name", "lbvserver"),
    binding_parent="name",
    binding_parent_type="csvserver",
    references=(Reference("lbvserver", "lbvserver", must_exist=True, deleted_with_target=True),),
    actions=_words("unbind"),
    cli=lambda rec: (f"bind cs vserver {_cli_quote(rec.get('name'))} -lbvserver "
                     f"{_cli_quote(rec.get('lbvserver'))}"),
)

CSVSERVER_CSPOLICY_BINDING = ResourceSchema(
    name="csvserver_cspolicy_binding",
    keys=("name", "policyname"),
    writable=_words(
        "name policyname targetlbvserver priority gotopriorityexpression bindpoint invoke "
        "labeltype labelname"
    ),
    readonly=_words("hits rule"),
    required=("name", "policyname"),
    num_attrs={"priority": (1, 2147483647)},
    binding_parent="name",
    binding_parent_type="csvserver",
    references=(
        Reference("policyname", "cspolicy", must_exist=True, deleted_with_target=True),
        Reference("targetlbvserver", "lbvserver", must_exist=True),
    ),
    actions=_words("unbind"),
    cli=lambda rec: (f"bind cs vserver {_cli_quote(rec.get('name'))} -policyName "
                     f"{_cli_quote(rec.get('policyname'))}"
                     + (f" -targetLBVserver {_cli_quote(rec['targetlbvserver'])}"
                        if rec.get("targetlbvserver") else "")),
)

SERVICEGROUP_MEMBER_BINDING = ResourceSchema(
    name="servicegroup_servicegroupmember_binding",
    keys=("servicegroupname", "servername", "port"),
    writable=_words(
        "servicegroupname ip servername port weight customserverid serverid state hashid "
        "nameserver dbsttl order"
    ),
    readonly=_words(
        "svrstate statechangetimesec tickssincelaststatechange graceful delay trofsreason "
        "orderstr"
    ),
    enums={"state": ENABLED_DISABLED},
    defaults={
        "servername": _member_servername,
        "weight": "1",
        "customserverid": "None",
        "state": "ENABLED",
        "hashid": "0",
        "serverid": "0",
    },
    required=("servicegroupname", "port"),
    ip_attrs=_words("ip nameserver"),
    int_attrs={"port": (1, 65535)},
    num_attrs={"weight": (1, 100), "hashid": (0, 4294967295), "dbsttl": (0, 2147483647)},
    computed=_words("svrstate"),
    compute=_member_computed,
    binding_parent="servicegroupname",
    binding_parent_type="servicegroup",
    references=(Reference("servername", "server"),),
    actions=_words("unbind"),
    on_load=_load_member,
    prepare=_member_address,
    cli=lambda rec: (f"bind serviceGroup {_cli_quote(rec.get('servicegroupname'))} "
                     f"{_cli_quote(rec.get('servername'))} {_cli_port(rec.get('port'))}"
                     + _weight(rec)
                     + (f" -state {rec['state']}" if norm(rec.get("state") or "ENABLED")
                        != "ENABLED" else "")),
)

SERVICE_LBMONITOR_BINDING = ResourceSchema(
    name="service_lbmonitor_binding",
    keys=("name", "monitor_name"),
    writable=_words("name monitor_name monstate weight passive"),
    readonly=_words("monstatcode monstatparam1 monstatparam2 monstatparam3 monitor_state"),
    enums={"monstate": ENABLED_DISABLED},
    defaults={"weight": "1", "monstate": "ENABLED", "passive": False},
    required=("name", "monitor_name"),
    num_attrs={"weight": (1, 100)},
    binding_parent="name",
    binding_parent_type="service",
    references=(_monitor("monitor_name"),),
    actions=_words("unbind"),
    cli=lambda rec: (f"bind service {_cli_quote(rec.get('name'))} -monitorName "
                     f"{_cli_quote(rec.get('monitor_name'))}"),
)

SERVICEGROUP_LBMONITOR_BINDING = ResourceSchema(
    name="servicegroup_lbmonitor_binding",
    keys=("servicegroupname", "monitor_name"),
    writable=_words(
        "servicegroupname monitor_name port weight customserverid serverid state hashid passive "
        "monstate nameserver dbsttl order"
    ),
    readonly=_words("monstatcode monstatparam1 monstatparam2 monstatparam3"),
    enums={"state": ENABLED_DISABLED, "monstate": ENABLED_DISABLED},
    defaults={"weight": "1", "monstate": "ENABLED", "passive": False},
    required=("servicegroupname", "monitor_name"),
    int_attrs={"port": (1, 65535)},
    num_attrs={"weight": (1, 100)},
    binding_parent="servicegroupname",
    binding_parent_type="servicegroup",
    references=(_monitor("monitor_name"),),
    actions=_words("unbind"),
    cli=lambda rec: (f"bind serviceGroup {_cli_quote(rec.get('servicegroupname'))} -monitorName "
                     f"{_cli_quote(rec.get('monitor_name'))}"),
)

# --- system ------------------------------------------------------------------------------------


def _ip_options(rec: Record) -> str:
    """The options `show running config` prints for an address: only what is not the default."""
    out = ""
    if norm(rec.get("type") or "SNIP") != "SNIP":
        out += f" -type {rec.get('type')}"
    if norm(rec.get("state") or "ENABLED") != "ENABLED":
        out += f" -state {rec.get('state')}"
    if norm(rec.get("td") or "0") != "0":
        out += f" -td {norm(rec.get('td'))}"
    return out


def _nsip_cli(rec: Record) -> str | None:
    if norm(rec.get("type")) == "NSIP":
        return None  # the NSIP is `set ns config -IPAddress`, not an `add ns ip` line
    return f"add ns ip {rec.get('ipaddress')} {rec.get('netmask')}" + _ip_options(rec)


NSIP = ResourceSchema(
    name="nsip",
    keys=("ipaddress", "td"),
    writable=_words(
        "ipaddress netmask type arp icmp vserver telnet ftp gui ssh snmp mgmtaccess "
        "restrictaccess dynamicrouting decrementttl ospf bgp rip hostroute "
        "advertiseondefaultpartition networkroute tag hostrtgw metric vserverrhilevel "
        "vserverrhimode ospflsatype ospfarea state vrid icmpresponse ownernode arpresponse "
        "ownerdownresponse td arpowner mptcpadvertise"
    ),
    readonly=_words(
        "iptype flags hostrtgwact ospfareaval viprtadv2bsd vipvsercount vipvserdowncount "
        "vipvsrvrrhiactivecount vipvsrvrrhiactiveupcount freeports riserhimsgcode"
    ),
    immutable=_words("ipaddress type td"),
    enums={
        "type": ("SNIP", "VIP", "NSIP", "GSLBsiteIP", "CLIP", "LSN", "HostIP", "MIP"),
        "arp": ENABLED_DISABLED,
        "icmp": ENABLED_DISABLED,
        "vserver": ENABLED_DISABLED,
        "telnet": ENABLED_DISABLED,
        "ftp": ENABLED_DISABLED,
        "gui": ("ENABLED", "SECUREONLY", "DISABLED"),
        "ssh": ENABLED_DISABLED,
        "snmp": ENABLED_DISABLED,
        "mgmtaccess": ENABLED_DISABLED,
        "restrictaccess": ENABLED_DISABLED,
        "dynamicrouting": ENABLED_DISABLED,
        "decrementttl": ENABLED_DISABLED,
        "ospf": ENABLED_DISABLED,
        "bgp": ENABLED_DISABLED,
        "rip": ENABLED_DISABLED,
        "hostroute": ENABLED_DISABLED,
        "advertiseondefaultpartition": ENABLED_DISABLED,
        "networkroute": ENABLED_DISABLED,
        "state": ENABLED_DISABLED,
        "icmpresponse": ("NONE", "ONE_VSERVER", "ALL_VSERVERS", "VRID"),
        "arpresponse": ("NONE", "ONE_VSERVER", "ALL_VSERVERS"),
        "ownerdownresponse": YES_NO,
        "mptcpadvertise": YES_NO,
        "vserverrhilevel": ("ONE_VSERVER", "ALL_VSERVERS", "NONE", "VSVR_CNTRLD"),
        "vserverrhimode": ("DYNAMIC_ROUTING", "RISE"),
        "ospflsatype": ("TYPE1", "TYPE5"),
    },
    defaults={
        "td": "0",
        "type": "SNIP",
        "arp": "ENABLED",
        "icmp": "ENABLED",
        "vserver": "ENABLED",
        "telnet": "ENABLED",
        "ftp": "ENABLED",
        "gui": "ENABLED",
        "ssh": "ENABLED",
        "snmp": "ENABLED",
        "mgmtaccess": "DISABLED",
        "restrictaccess": "DISABLED",
        "dynamicrouting": "DISABLED",
        "decrementttl": "DISABLED",
        "ospf": "DISABLED",
        "bgp": "DISABLED",
        "rip": "DISABLED",
        "hostroute": "DISABLED",
        "advertiseondefaultpartition": "DISABLED",
        "networkroute": "DISABLED",
        "tag": "0",
        "vserverrhilevel": "ONE_VSERVER",
        "ospflsatype": "TYPE5",
        "state": "ENABLED",
        "icmpresponse": "NONE",
        "ownernode": "255",
        "arpresponse": "NONE",
        "ownerdownresponse": "YES",
        "mptcpadvertise": "NO",
    },
    required=("ipaddress", "netmask"),
    ip_attrs=_words("ipaddress netmask hostrtgw"),
    num_attrs={"td": (0, 4094), "ownernode": (0, 255), "tag": (0, 4294967295)},
    summary=("ipaddress", "netmask", "type", "td"),
    actions=_words("enable disable unset rm"),
    cli=_nsip_cli,
)

def _nsip6_cli(rec: Record) -> str:
    return f"add ns ip6 {rec.get('ipv6address')}" + _ip_options(rec)


NSIP6 = ResourceSchema(
    name="nsip6",
    keys=("ipv6address", "td"),
    writable=_words(
        "ipv6address scope type vlan nd icmp vserver telnet ftp gui ssh snmp mgmtaccess "
        "restrictaccess state map dynamicrouting decrementttl hostroute "
        "advertiseondefaultpartition networkroute tag ip6hostrtgw metric vserverrhilevel "
        "ospf6lsatype ospfarea ownernode ownerdownresponse td mptcpadvertise"
    ),
    readonly=_words(
        "iptype curstate viprtadv2bsd vipvsercount vipvserdowncount vipvsrvrrhiactivecount "
        "vipvsrvrrhiactiveupcount systemtype"
    ),
    immutable=_words("ipv6address type td"),
    enums={
        "type": ("NSIP", "VIP", "SNIP", "GSLBsiteIP", "ADNSsvcIP", "CLIP"),
        "scope": ("global", "link-local"),
        "nd": ENABLED_DISABLED,
        "icmp": ENABLED_DISABLED,
        "vserver": ENABLED_DISABLED,
        "state": ENABLED_DISABLED,
        "mgmtaccess": ENABLED_DISABLED,
    },
    defaults={
        "td": "0",
        "type": "SNIP",
        "scope": "global",
        "nd": "ENABLED",
        "icmp": "ENABLED",
        "vserver": "ENABLED",
        "mgmtaccess": "DISABLED",
        "state": "ENABLED",
    },
    required=("ipv6address",),
    num_attrs={"td": (0, 4094)},
    summary=("ipv6address", "type", "td"),
    actions=_words("enable disable unset rm"),
    cli=_nsip6_cli,
)

LOCAL_NODE: Key = ("0",)  # hanode id 0 is this appliance


def _hanode_computed(scope: Scope, rec: Record) -> Record:
    """Node 0 shows this appliance's HA state; a peer the opposite one, unless it is down."""
    if norm(rec.get("id")) == "0":
        return {"state": scope.ha_state}
    stored = norm(rec.get("state")).lower()
    if stored and stored not in {"primary", "secondary"}:
        # A peer the scenario marks as down (UNKNOWN) stays down whatever this node is.
        return {"state": rec.get("state")}
    return {"state": "Secondary" if scope.ha_state == "Primary" else "Primary"}


def _settle_local_node(scope: Scope) -> None:
    """Node 0 always exists, first, with this appliance's address and hostname; a Primary or
    Secondary state given for it is where the appliance's HA state starts."""
    nodes = scope.table(HANODE)
    if LOCAL_NODE not in nodes.rows:
        node: Record = {"id": 0}
        scope.fill_defaults(HANODE, node)
        nodes.insert_first(node)
    node0 = nodes.rows[LOCAL_NODE]
    node0.setdefault("ipaddress", scope.singleton(NSCONFIG).get("ipaddress"))
    hostname = scope.singleton(NSHOSTNAME).get("hostname")
    if hostname:
        node0.setdefault("name", hostname)
    given = node0.get("state")
    if isinstance(given, str) and given.strip():
        lowered = given.strip().lower()
        scope.store.ha_state = (
            lowered.capitalize() if lowered in ("primary", "secondary") else given.strip()
        )


def _keep_local_node(name: str) -> None:
    if norm(name) == "0":
        raise bad_value("id", name)


def _hanode_stat(scope: Scope) -> Record:
    nodes = scope.table(HANODE)
    peers = len(nodes.rows.keys() - {LOCAL_NODE})
    node0 = nodes.rows.get(LOCAL_NODE, {})
    master = scope.ha_state.upper()
    if node0.get("hastatus") == "STAYSECONDARY" and master == "SECONDARY":
        master = "STAYSECONDARY"
    return {
        "hacurstatus": "YES" if peers else "NO",
        "hacurstate": "DISABLED" if node0.get("hastatus") == "DISABLED" else "UP",
        "hacurmasterstate": master,
        "transtime": timestamp(scope.store.boot),
        "hatotpktrx": "0",
        "hatotpkttx": "0",
        "hapktrxrate": 0,
        "hapkttxrate": 0,
        "haerrproptimeout": "0",
        "haerrsyncfailure": "0",
    }


HANODE = ResourceSchema(
    name="hanode",
    keys=("id",),
    writable=_words(
        "id ipaddress inc hastatus hasync haprop hellointerval deadinterval failsafe maxflips "
        "maxfliptime syncvlan syncstatusstrictmode"
    ),
    readonly=_words(
        "name flags state enaifaces disifaces hamonifaces haheartbeatifaces pfifaces ifaces "
        "netmask ssl2 masterstatetime routemonitor curflips completedfliptime routemonitorstate"
    ),
    immutable=_words("id ipaddress inc"),
    enums={
        "inc": ENABLED_DISABLED,
        "hastatus": ("ENABLED", "STAYSECONDARY", "DISABLED", "STAYPRIMARY"),
        "hasync": ENABLED_DISABLED,
        "haprop": ENABLED_DISABLED,
        "failsafe": ON_OFF,
        "syncstatusstrictmode": ENABLED_DISABLED,
    },
    defaults={
        "inc": "DISABLED",
        "hastatus": "ENABLED",
        "hasync": "ENABLED",
        "haprop": "ENABLED",
        "hellointerval": "200",
        "deadinterval": "3",
        "failsafe": "OFF",
        "maxflips": "0",
        "maxfliptime": "0",
        "syncstatusstrictmode": "DISABLED",
    },
    required=("id", "ipaddress"),
    ip_attrs=_words("ipaddress"),
    int_attrs={"id": (0, 64)},
    num_attrs={"hellointerval": (200, 1000), "deadinterval": (3, 60), "syncvlan": (1, 4094)},
    computed=_words("state"),
    compute=_hanode_computed,
    export_computed=True,
    appliance_wide=True,
    actions=_words("unset rm"),
    # This node (id 0) has no `add` line; a peer is `add HA node <id> <address>`.
    cli=lambda rec: None if norm(rec.get("id")) == "0"
    else f"add HA node {norm(rec.get('id'))} {rec.get('ipaddress')}",
    after_load=_settle_local_node,
    protect=_keep_local_node,
    type_stat=_hanode_stat,
)


def _nspartition_computed(scope: Scope, rec: Record) -> Record:
    if rec.get("partitionname") == scope.partition.name:
        return {"partitiontype": "Current Partition"}
    return {}


def _not_default(scope: Scope, clean: Record) -> None:
    if clean["partitionname"] == DEFAULT_PARTITION:
        raise exists()


def _open_partition(scope: Scope, key: Key, rec: Record) -> None:
    ids = [int(norm(r.get("partitionid"))) for r in scope.table(NSPARTITION).rows.values()
           if norm(r.get("partitionid")).isdigit()]
    rec["partitionid"] = max(ids, default=0) + 1
    scope.store.open_partition(key[0])


def _close_partition(scope: Scope, key: Key, rec: Record) -> None:
    scope.store.close_partition(key[0])


def _keep_default(name: str) -> None:
    if name == DEFAULT_PARTITION:
        raise bad_action("delete")


NSPARTITION = ResourceSchema(
    name="nspartition",
    keys=("partitionname",),
    writable=_words("partitionname maxbandwidth minbandwidth maxconn maxmemlimit partitionmac"),
    action_only=_words("force save"),
    readonly=_words("partitionid partitiontype pmacinternal"),
    immutable=_words("partitionname"),
    defaults={
        "maxbandwidth": "10240",
        "minbandwidth": "10240",
        "maxconn": "1024",
        "maxmemlimit": "10",
    },
    required=("partitionname",),
    computed=_words("partitiontype"),
    compute=_nspartition_computed,
    appliance_wide=True,
    actions=_words("switch unset rm"),
    session_actions=_words("switch"),
    cli=lambda rec: f"add ns partition {_cli_quote(rec.get('partitionname'))}",
    prepare=_not_default,
    after_add=_open_partition,
    after_remove=_close_partition,
    protect=_keep_default,
)


def _load_nsmode(scope: Scope, given: Record) -> Record:
    """Scenario modes come as the `mode` list, as booleans, or as NITRO's words for them."""
    rec: Record = {attr: default for attr, _aliases, default in NSMODES}
    modes = given.pop("mode", None)
    if isinstance(modes, str):
        modes = modes.replace(",", " ").split()
    if isinstance(modes, list):
        enabled = {MODE_ALIASES.get(str(m).lower()) for m in modes}
        for attr in rec:
            rec[attr] = attr in enabled
    for attr, value in given.items():
        if attr in rec and isinstance(value, str) and value.lower() in (
            "true", "false", "yes", "no", "on", "off", "enabled", "disabled"
        ):
            rec[attr] = truthy(value)
        else:
            rec[attr] = value
    return rec


def _enabled_modes(rec: Record) -> list[str]:
    return [MODE_LABEL[attr] for attr in MODE_LABEL if rec.get(attr) is True]


def _toggle_modes(scope: Scope, item: Record, state: str) -> bool:
    """enable/disable nsmode switches the modes its `mode` list names."""
    modes = item.get("mode")
    if isinstance(modes, str):
        modes = modes.replace(",", " ").split()
    if not isinstance(modes, list) or not modes:
        raise missing("mode")
    attrs: list[str] = []
    for mode in modes:
        found = MODE_ALIASES.get(str(mode).lower())
        if found is None:
            raise bad_value("mode", mode)
        attrs.append(found)
    nsmode = scope.singleton(NSMODE)
    for attr in attrs:
        nsmode[attr] = state == "ENABLED"
    return True


def _nsmode_cli(rec: Record) -> str | None:
    enabled = _enabled_modes(rec)
    return ("enable ns mode " + " ".join(enabled)) if enabled else None


NSMODE = ResourceSchema(
    name="nsmode",
    keys=(),
    action_only=_words("mode"),
    readonly=frozenset(attr for attr, _names, _default in NSMODES),
    defaults={attr: default for attr, _names, default in NSMODES},
    computed=_words("mode"),
    compute=lambda scope, rec: {"mode": _enabled_modes(rec)},
    singleton=True,
    updatable=False,
    actions=_words("enable disable"),
    on_load=_load_nsmode,
    toggle=_toggle_modes,
    cli=_nsmode_cli,
)


def _load_nsconfig(scope: Scope, rec: Record) -> Record:
    """configchanged and the change and save times of a scenario become the partition's."""
    part = scope.partition
    if "configchanged" in rec:
        part.changed = truthy(rec["configchanged"])
        if part.changed:
            part.last_changed = time.time()
    # Times given by the scenario are shown as given until the first change or save.
    for attr, label in (("lastconfigchangedtime", "changed"), ("lastconfigsavetime", "saved")):
        if isinstance(rec.get(attr), str) and rec[attr]:
            part.labels[label] = rec[attr]
    for attr in NSCONFIG.computed:
        rec.pop(attr, None)
    return rec


def _nsconfig_computed(scope: Scope, rec: Record) -> Record:
    part = scope.partition
    out: Record = {
        "configchanged": part.changed,
        "lastconfigchangedtime": part.labels.get("changed") or timestamp(part.last_changed),
        "lastconfigsavetime": part.labels.get("saved") or timestamp(part.last_saved),
        "currentsytemtime": timestamp(time.time()),
    }
    if scope.table(HANODE).rows.keys() - {LOCAL_NODE}:
        out["systemtype"] = "HA"
    return out


def _nsconfig_cli(rec: Record) -> str:
    return f"set ns config -IPAddress {rec.get('ipaddress')} -netmask {rec.get('netmask')}"


NSCONFIG = ResourceSchema(
    name="nsconfig",
    keys=(),
    writable=_words(
        "ipaddress netmask nsvlan ifnum tagged httpport maxconn maxreq cip cipheader "
        "cookieversion securecookie pmtumin pmtutimeout ftpportrange crportrange timezone "
        "grantquotamaxclient exclusivequotamaxclient grantquotaspillover "
        "exclusivequotaspillover nwfwmode"
    ),
    action_only=_words("all force level rbaconfig outtype template ignoredevicespecific"),
    readonly=_words(
        "configchanged lastconfigchangedtime lastconfigsavetime currentsytemtime systemtype "
        "primaryip primaryip6 flags range svmcmd systemtime"
    ),
    enums={
        "tagged": YES_NO,
        "cip": ENABLED_DISABLED,
        "cookieversion": ("0", "1"),
        "securecookie": ENABLED_DISABLED,
        "nwfwmode": ("NOFIREWALL", "BASIC", "FULL"),
    },
    defaults={
        "ipaddress": "192.0.2.10",
        "netmask": "255.255.255.0",
        "nsvlan": "0",
        "tagged": "NO",
        "httpport": [80],
        "maxconn": "0",
        "maxreq": "0",
        "cip": "DISABLED",
        "cipheader": "X-Forwarded-For",
        "cookieversion": "0",
        "securecookie": "ENABLED",
        "pmtumin": "576",
        "pmtutimeout": "10",
        "timezone": "CoordinatedUniversalTime",
        "grantquotamaxclient": "10",
        "exclusivequotamaxclient": "80",
        "grantquotaspillover": "10",
        "exclusivequotaspillover": "80",
        "nwfwmode": "NOFIREWALL",
        "systemtype": "Stand-alone",
    },
    ip_attrs=_words("ipaddress netmask"),
    # systemtype is stored (a scenario may set it) but reads "HA" while there are peers.
    computed=_words(
        "configchanged lastconfigchangedtime lastconfigsavetime currentsytemtime"
    ),
    compute=_nsconfig_computed,
    singleton=True,
    actions=_words("save unset clear"),
    on_load=_load_nsconfig,
    cli=_nsconfig_cli,
)

NSVERSION = ResourceSchema(
    name="nsversion",
    keys=(),
    readonly=_words("version mode installedversion"),
    defaults={"version": DEFAULT_VERSION, "mode": "1"},
    singleton=True,
    appliance_wide=True,
    updatable=False,
)

NSHOSTNAME = ResourceSchema(
    name="nshostname",
    keys=(),
    writable=_words("hostname ownernode"),
    singleton=True,
    appliance_wide=True,
    cli=lambda rec: f"set ns hostName {_cli_quote(rec['hostname'])}" if rec.get("hostname")
    else None,
)

# Every modeled type, in the order a scenario is loaded: nsmode before services (usip inherits
# the global mode), parents before bindings, servers before services and members. Exports list
# the types in this order too.
LOAD_ORDER: tuple[ResourceSchema, ...] = (
    NSVERSION, NSHOSTNAME, HANODE, NSPARTITION, NSMODE, NSCONFIG, NSIP, NSIP6, SERVER, LBMONITOR,
    SERVICE, SERVICEGROUP, LBVSERVER, SERVICEGROUP_MEMBER_BINDING, LBVSERVER_SERVICE_BINDING,
    LBVSERVER_SERVICEGROUP_BINDING, SERVICE_LBMONITOR_BINDING, SERVICEGROUP_LBMONITOR_BINDING,
    CSACTION, CSPOLICY, CSVSERVER, CSVSERVER_LBVSERVER_BINDING, CSVSERVER_CSPOLICY_BINDING,
)
SCHEMAS: dict[str, ResourceSchema] = {s.name: s for s in LOAD_ORDER}

# The order `show running config` prints its lines in.
RUNNING_CONFIG_ORDER: tuple[ResourceSchema, ...] = (
    NSHOSTNAME, NSPARTITION, HANODE, NSCONFIG, NSMODE, NSIP, NSIP6, SERVER, LBMONITOR, SERVICE,
    SERVICEGROUP, LBVSERVER,
    LBVSERVER_SERVICE_BINDING, LBVSERVER_SERVICEGROUP_BINDING, SERVICEGROUP_MEMBER_BINDING,
    SERVICE_LBMONITOR_BINDING, SERVICEGROUP_LBMONITOR_BINDING, CSACTION, CSPOLICY, CSVSERVER,
    CSVSERVER_LBVSERVER_BINDING, CSVSERVER_CSPOLICY_BINDING,
)

# Read-only aggregates: `<parent>_binding/<name>` lists every binding type of that parent.
AGGREGATES: dict[str, tuple[str, ...]] = {}
# The binding types whose parent is a type: they follow its renames and go with its deletes.
BINDINGS_OF: dict[str, tuple[ResourceSchema, ...]] = {}
# The attributes that name an object of a type (see Reference).
REFERRERS: dict[str, tuple[tuple[ResourceSchema, Reference], ...]] = {}
for _schema in SCHEMAS.values():
    _parent = _schema.binding_parent_type
    for _named in (_parent, *(ref.target for ref in _schema.references)):
        if _named is not None and _named not in SCHEMAS:
            raise ValueError(f"{_schema.name} names {_named!r}, which is not in LOAD_ORDER")
    if _parent is not None:
        AGGREGATES[f"{_parent}_binding"] = (*AGGREGATES.get(f"{_parent}_binding", ()),
                                            _schema.name)
        BINDINGS_OF[_parent] = (*BINDINGS_OF.get(_parent, ()), _schema)
    for _reference in _schema.references:
        REFERRERS[_reference.target] = (*REFERRERS.get(_reference.target, ()),
                                        (_schema, _reference))


def unmodeled_schema(type_name: str, first_attr: str) -> ResourceSchema:
    """A permissive schema for a type that a scenario carries but the mock does not model."""
    return ResourceSchema(name=type_name, keys=(first_attr,), modeled=False,
                          actions=_words("enable disable unset rename rm"))
