"""Per-type NITRO attribute tables for the mock: keys, writable attributes, enums, defaults."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# A default is either a constant or a function of the record being filled (e.g. timeouts that
# depend on the service type, or a member's servername that mirrors its IP).
Default = Any | Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True)
class ResourceSchema:
    """What the mock knows about one NITRO resource type."""

    name: str
    keys: tuple[str, ...]
    writable: frozenset[str] = frozenset()
    add_only: frozenset[str] = frozenset()
    update_only: frozenset[str] = frozenset()
    action_only: frozenset[str] = frozenset()
    readonly: frozenset[str] = frozenset()
    immutable: frozenset[str] = frozenset()
    enums: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    defaults: Mapping[str, Default] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    ip_attrs: frozenset[str] = frozenset()
    int_attrs: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    num_attrs: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    summary: tuple[str, ...] = ()
    singleton: bool = False
    appliance_wide: bool = False
    modeled: bool = True
    binding_parent: str | None = None
    binding_parent_type: str | None = None
    actions: frozenset[str] = frozenset()

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


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


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
SVR_STATES = (
    "UP", "DOWN", "UNKNOWN", "BUSY", "OUT OF SERVICE", "GOING OUT OF SERVICE",
    "DOWN WHEN GOING OUT OF SERVICE", "NS_EMPTY_STR", "Unknown", "DISABLED",
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
        # usip is filled from the partition's global USIP mode when the record is created.
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
    summary=("name", "servername", "ipaddress", "servicetype", "port"),
    actions=_words("enable disable unset rename rm"),
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
    actions=_words("enable disable unset rename rm"),
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
    action_only=_words("newname delay graceful"),
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
    summary=("servicegroupname", "servicetype"),
    actions=_words("enable disable unset rename rm"),
)

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
    actions=_words("enable disable unset rename rm"),
)

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
)

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
    binding_parent="name",
    binding_parent_type="lbvserver",
    actions=_words("unbind"),
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
    actions=_words("unbind"),
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
    binding_parent="servicegroupname",
    binding_parent_type="servicegroup",
    actions=_words("unbind"),
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
    actions=_words("unbind"),
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
    actions=_words("unbind"),
)

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
)

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
    appliance_wide=True,
    actions=_words("unset rm"),
)

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
    appliance_wide=True,
    actions=_words("switch unset rm"),
)

NSMODE = ResourceSchema(
    name="nsmode",
    keys=(),
    writable=_words("mode"),
    readonly=frozenset(attr for attr, _names, _default in NSMODES),
    defaults={attr: default for attr, _names, default in NSMODES},
    singleton=True,
    actions=_words("enable disable"),
)

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
    singleton=True,
    actions=_words("save unset clear"),
)

NSVERSION = ResourceSchema(
    name="nsversion",
    keys=(),
    readonly=_words("version mode installedversion"),
    defaults={"version": DEFAULT_VERSION, "mode": "1"},
    singleton=True,
    appliance_wide=True,
)

NSHOSTNAME = ResourceSchema(
    name="nshostname",
    keys=(),
    writable=_words("hostname ownernode"),
    defaults={"hostname": "ns-mock"},
    singleton=True,
    appliance_wide=True,
)

SCHEMAS: dict[str, ResourceSchema] = {
    s.name: s
    for s in (
        LBVSERVER, SERVICE, SERVICEGROUP, SERVICEGROUP_MEMBER_BINDING, LBVSERVER_SERVICE_BINDING,
        LBVSERVER_SERVICEGROUP_BINDING, SERVER, LBMONITOR, SERVICE_LBMONITOR_BINDING,
        SERVICEGROUP_LBMONITOR_BINDING, NSIP, NSMODE, HANODE, NSVERSION, NSPARTITION, NSCONFIG,
        NSHOSTNAME,
    )
}

# Load order matters: nsmode before services (usip inherits the global mode), parents before
# bindings, servers before services and members.
LOAD_ORDER: tuple[str, ...] = (
    "nsversion", "nshostname", "hanode", "nspartition", "nsmode", "nsconfig", "nsip", "server",
    "lbmonitor", "service", "servicegroup", "lbvserver", "servicegroup_servicegroupmember_binding",
    "lbvserver_service_binding", "lbvserver_servicegroup_binding", "service_lbmonitor_binding",
    "servicegroup_lbmonitor_binding",
)

# Read-only aggregates: `<parent>_binding/<name>` lists every binding type of that parent.
AGGREGATES: dict[str, tuple[str, ...]] = {}
for _schema in SCHEMAS.values():
    if _schema.binding_parent_type is not None:
        AGGREGATES.setdefault(f"{_schema.binding_parent_type}_binding", ())
        AGGREGATES[f"{_schema.binding_parent_type}_binding"] += (_schema.name,)

# Where a rename or delete of an object must follow into bindings that name it as a child.
CHILD_REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    "service": (("lbvserver_service_binding", "servicename"),),
    "servicegroup": (("lbvserver_servicegroup_binding", "servicegroupname"),),
    "lbmonitor": (
        ("service_lbmonitor_binding", "monitor_name"),
        ("servicegroup_lbmonitor_binding", "monitor_name"),
    ),
}


def unmodeled_schema(type_name: str, first_attr: str) -> ResourceSchema:
    """A permissive schema for a type that a scenario carries but the mock does not model."""
    return ResourceSchema(name=type_name, keys=(first_attr,), modeled=False,
                          actions=_words("enable disable unset rename rm"))
