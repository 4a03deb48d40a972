"""Read a NetScaler configuration text (`ns.conf`, `show ns runningConfig`) into NITRO records.

The records are the ones inventory reads from NITRO, keyed by resource type, so the one
`build_snapshot` turns either into the same Snapshot. CLI option names are NITRO attribute names
in other case (`-useProxyPort` is `useproxyport`); what the text leaves out takes the value NITRO
reports for it (docs: /work/shared/reference/nitro-api.md §5): `useproxyport YES`, `cip
DISABLED`, `m IP`, `state ENABLED`, `td 0`. A service or service group without `-usip` keeps none,
so that it follows the global USIP mode as the appliance does. Runtime state (monitor state, HA
state, unsaved changes) is not in a configuration text and stays unknown.

Commands nsfix does not model are kept (counted, with their lines) and ignored; a line that is
not a well-formed command becomes a problem with its line number, never an exception.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from nsfix.model import DataDefect, Snapshot, build_snapshot
from nsfix.nscli.syntax import SyntaxProblem, Token, split_lines, tokenize
from nsfix.resources import APPLIANCE_WIDE, WILDCARD_PORT
from nsfix.sourcemap import BOUND, CHANGED, DEFINED, EXTRA_KEY, Mention, ObjectKey, SourceMap

Record = dict[str, Any]

_MEMBER: Final = "servicegroup_servicegroupmember_binding"
DEFECT_RESOURCE: Final = "config line"
"""What a data defect of a line that is not a usable command names as its resource."""

# What NITRO reports for an attribute the text leaves out (the CLI prints only non-defaults).
_DEFAULTS: Final[Mapping[str, Mapping[str, Any]]] = {
    "server": {"state": "ENABLED", "td": "0"},
    "service": {
        "useproxyport": "YES",
        "cip": "DISABLED",
        "state": "ENABLED",
        "healthmonitor": "YES",
        "td": "0",
    },
    "servicegroup": {
        "useproxyport": "YES",
        "cip": "DISABLED",
        "state": "ENABLED",
        "healthmonitor": "YES",
        "td": "0",
    },
    "lbvserver": {
        "ipv46": "0.0.0.0",  # noqa: S104 - NITRO's "no address" of a non-addressable vserver
        "port": 0,
        "m": "IP",
        "sessionless": "DISABLED",
        "state": "ENABLED",
        "lbmethod": "LEASTCONNECTION",
        "td": "0",
    },
    "lbmonitor": {"state": "ENABLED"},
    "csvserver": {"state": "ENABLED", "td": "0"},
    "nsip": {"type": "SNIP", "state": "ENABLED", "td": "0"},
    "nsip6": {"type": "SNIP", "state": "ENABLED", "td": "0"},
    _MEMBER: {"weight": "1", "state": "ENABLED"},
}

# Global modes: attribute of the nsmode record, the CLI's names for it, factory default
# (NITRO reference §5.8: FR, Edge, USNIP, L3 and PMTUD on; USIP and MBF off).
_MODES: Final[tuple[tuple[str, tuple[str, ...], bool], ...]] = (
    ("fr", ("fr", "fastramp"), True),
    ("l2", ("l2", "l2mode"), False),
    ("usip", ("usip", "usesourceip"), False),
    ("cka", ("cka", "clientkeepalive"), False),
    ("tcpb", ("tcpb", "tcpbuffering"), False),
    ("mbf", ("mbf", "macbasedforwarding"), False),
    ("edge", ("edge",), True),
    ("usnip", ("usnip",), True),
    ("l3", ("l3", "l3mode"), True),
    ("pmtud", ("pmtud",), True),
    ("mediaclassification", ("mediaclassification",), False),
    ("sradv", ("sradv",), False),
    ("dradv", ("dradv",), False),
    ("iradv", ("iradv",), False),
    ("sradv6", ("sradv6",), False),
    ("dradv6", ("dradv6",), False),
    ("bridgebpdus", ("bridgebpdus",), False),
    ("rise_apbr", ("rise_apbr",), False),
    ("rise_rhi", ("rise_rhi",), False),
    ("ulfd", ("ulfd",), False),
    ("single_ip", ("single_ip",), False),
)
_MODE_OF: Final = {alias: attr for attr, aliases, _ in _MODES for alias in aliases}

RUNTIME: Final[Mapping[str, frozenset[str]]] = {
    "service": frozenset({"svrstate"}),
    "servicegroup": frozenset({"servicegroupeffectivestate"}),
    _MEMBER: frozenset({"svrstate"}),
    "lbvserver": frozenset({"curstate", "effectivestate"}),
    "csvserver": frozenset({"curstate"}),
    "hanode": frozenset({"state"}),
    "nsconfig": frozenset({"configchanged", "lastconfigchangedtime", "lastconfigsavetime"}),
}
"""What NITRO reports and no configuration text says: the appliance's state at the moment of
the read (monitor and HA states, unsaved changes). A snapshot from a text has them unknown."""

# The monitors every partition has without a line in ns.conf, with their types.
BUILTIN_MONITORS: Final[Mapping[str, str]] = {
    "ping-default": "PING",
    "tcp-default": "TCP",
    "ping": "PING",
    "tcp": "TCP",
    "http": "HTTP",
    "tcp-ecv": "TCP-ECV",
    "http-ecv": "HTTP-ECV",
    "udp-ecv": "UDP-ECV",
    "dns": "DNS",
    "ftp": "FTP",
    "tcps": "TCPS",
    "https": "HTTPS",
    "tcps-ecv": "TCPS-ECV",
    "https-ecv": "HTTPS-ECV",
    "xdm": "CITRIX-XDM",
    "xnc": "CITRIX-XNC-ECV",
    "mqtt": "MQTT",
    "mqtt-tls": "MQTT-TLS",
    "http2direct": "HTTP2",
    "http2ssl": "HTTP2",
    "ldns-ping": "LDNS-PING",
    "ldns-tcp": "LDNS-TCP",
    "ldns-dns": "LDNS-DNS",
    "stasecure": "CITRIX-STA-SERVICE",
    "sta": "CITRIX-STA-SERVICE",
    "arp": "ARP",
    "nd6": "ND6",
    "gslb-nd6": "ND6",
    "ping6": "PING",
    "ping-default6": "PING",
}

# The object words of set/unset/enable/disable/rm: resource type and its key attribute.
_OBJECTS: Final[Mapping[tuple[str, ...], tuple[str, str]]] = {
    ("service",): ("service", "name"),
    ("servicegroup",): ("servicegroup", "servicegroupname"),
    ("server",): ("server", "name"),
    ("lb", "vserver"): ("lbvserver", "name"),
    ("lb", "monitor"): ("lbmonitor", "monitorname"),
    ("cs", "vserver"): ("csvserver", "name"),
    ("cs", "policy"): ("cspolicy", "policyname"),
    ("cs", "action"): ("csaction", "name"),
    ("ns", "ip"): ("nsip", "ipaddress"),
    ("ns", "ip6"): ("nsip6", "ipv6address"),
}

# Objects the appliance has without an `add` line (the NSIP6 link-local address): a `set` of
# one is no mistake, and nsfix does not use them.
_IMPLICIT: Final = frozenset({"nsip", "nsip6"})

# CLI option names whose NITRO attribute is spelled otherwise than in lower case.
_ATTRIBUTE: Final[Mapping[str, str]] = {"monitorname": "monitor_name"}

_VERSION: Final = re.compile(r"#\s*NS(\d+\.\d+)\s*:?\s*Build\s+(\d+\.\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class Problem:
    """A line that could not be used, and why."""

    line: int
    text: str
    problem: str


@dataclass(frozen=True)
class Command:
    """One command line split into its command words, positional words and `-option` values."""

    line: int
    text: str
    words: tuple[str, ...]
    """The command words in lower case (`add`, `lb`, `vserver`)."""
    args: tuple[str, ...]
    options: Mapping[str, str]
    """Option → value, the option in lower case and NITRO's spelling; several words joined."""


@dataclass(frozen=True)
class ParsedConfig:
    """A configuration text as NITRO records, with where each object was written."""

    records: Mapping[str, Any]
    source: SourceMap
    problems: tuple[Problem, ...]
    ignored: tuple[int, ...]
    """The lines of commands nsfix does not model (kept for the count, not used)."""
    commands: int
    """The commands nsfix understood."""
    version: str | None = None


@dataclass
class _Builder:
    tables: dict[str, dict[tuple[str, ...], Record]] = field(default_factory=dict)
    singletons: dict[str, Record] = field(default_factory=dict)
    mentions: dict[ObjectKey, list[Mention]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    ignored: list[int] = field(default_factory=list)
    modes: dict[str, bool] | None = None
    version: str | None = None
    commands: int = 0

    def table(self, resource: str) -> dict[tuple[str, ...], Record]:
        return self.tables.setdefault(resource, {})

    def mention(self, resource: str, name: str, line: int, role: str, member: str = "") -> None:
        self.mentions.setdefault((resource, name, member), []).append(Mention(line, role))

    def problem(self, command: Command, text: str) -> None:
        self.problems.append(Problem(command.line, command.text, text))

    def add(self, command: Command, resource: str, key: str, record: Record) -> None:
        name = str(record[key])
        table = self.table(resource)
        if (name,) in table:
            self.problem(command, f"{resource} {name!r} is added twice (the later line is used)")
        table[(name,)] = {**_DEFAULTS.get(resource, {}), **record}
        self.mention(resource, name, command.line, DEFINED)


def parse_config(text: str, path: str | None = None) -> ParsedConfig:
    """Every line of `text`; never raises (bad lines become problems)."""
    builder = _Builder()
    for number, line in enumerate(split_lines(text), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            match = _VERSION.match(stripped)
            if match and builder.version is None:
                builder.version = f"NetScaler NS{match.group(1)}: Build {match.group(2)}"
            continue
        try:
            tokens = tokenize(stripped)
        except SyntaxProblem as exc:
            builder.problems.append(Problem(number, line, f"{exc} (column {exc.column})"))
            continue
        _dispatch(builder, number, line, tokens)
    return _finish(builder, path)


def looks_like_config(text: str) -> bool:
    """Whether a file is a NetScaler configuration text: a version header, or a CLI command
    among its first lines (a copy of a CLI session may start with the prompt's line)."""
    seen = 0
    for line in split_lines(text[:65536]):
        stripped = line.strip()
        if _VERSION.match(stripped):
            return True
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.split(None, 1)[0].lower() in _VERBS:
            return True
        seen += 1
        if seen >= 5:
            break
    return False


_VERBS: Final = frozenset(
    {"add", "set", "unset", "bind", "unbind", "enable", "disable", "rm", "link", "unlink"}
)


def _command(number: int, text: str, tokens: list[Token], size: int) -> Command:
    words = tuple(t.text.lower() for t in tokens[:size])
    args: list[str] = []
    options: dict[str, list[str]] = {}
    current: list[str] | None = None
    for token in tokens[size:]:
        if token.is_option:
            name = token.text[1:].lower()
            current = options.setdefault(_ATTRIBUTE.get(name, name), [])
        elif current is None:
            args.append(token.text)
        else:
            current.append(token.text)
    return Command(number, text, words, tuple(args), {k: " ".join(v) for k, v in options.items()})


Handler = Callable[[_Builder, Command], None]


def _dispatch(builder: _Builder, number: int, text: str, tokens: list[Token]) -> None:
    lowered = tuple(t.text.lower() for t in tokens[:3])
    for size in (3, 2, 1):
        handler = _HANDLERS.get(lowered[:size]) if len(lowered) >= size else None
        if handler is not None:
            builder.commands += 1
            handler(builder, _command(number, text, tokens, size))
            return
    verb = lowered[0] if lowered else ""
    for size in (2, 1):
        objects = tuple(t.text.lower() for t in tokens[1 : 1 + size])
        target = _OBJECTS.get(objects)
        if target is not None and verb in _CHANGES:
            builder.commands += 1
            _CHANGES[verb](builder, _command(number, text, tokens, 1 + size), *target)
            return
    builder.ignored.append(number)


# --- the commands -------------------------------------------------------------------------


def _need(builder: _Builder, command: Command, count: int, what: str) -> bool:
    if len(command.args) >= count:
        return True
    builder.problem(command, f"'{' '.join(command.words)}' needs {what}")
    return False


def _port(text: str) -> Any:
    if text == "*":
        return WILDCARD_PORT
    # ASCII digits only: `²` is a digit to str.isdigit and no number to int().
    return int(text) if text.isascii() and text.isdigit() else text


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _address_like(text: str) -> bool:
    """Written as an address, even a wrong one (`333:333:33:333`): not a domain name, which
    has letters beyond hex digits or dot-separated words."""
    if _is_address(text):
        return True
    if not re.fullmatch(r"[0-9A-Fa-f:.]+", text):
        return False
    return ":" in text or all(part.isdigit() for part in text.split("."))


def _with_options(record: Record, command: Command, *, skip: Iterable[str] = ()) -> Record:
    skipped = set(skip)
    for name, value in command.options.items():
        if name not in skipped:
            record[name] = _port(value) if name == "port" else value
    return record


def _add_server(builder: _Builder, command: Command) -> None:
    if not _need(builder, command, 2, "a name and an address or domain"):
        return
    name, where = command.args[0], command.args[1]
    record: Record = {"name": name}
    record["ipaddress" if _address_like(where) else "domain"] = where
    builder.add(command, "server", "name", _with_options(record, command))


def _adder(resource: str, positional: tuple[str, ...], required: int, what: str) -> Handler:
    """`add <object> <positional words...> -option value ...`: the words name the attributes in
    `positional` (the first is the key); fewer than `required` is a problem."""

    def add(builder: _Builder, command: Command) -> None:
        if not _need(builder, command, required, what):
            return
        record: Record = {}
        for attribute, word in zip(positional, command.args, strict=False):
            if attribute in ("servicetype", "type"):
                record[attribute] = word.upper()
            else:
                record[attribute] = _port(word) if attribute == "port" else word
        builder.add(command, resource, positional[0], _with_options(record, command))

    return add


_NAME_AND_TYPE: Final = "a name and a service type"
_VSERVER: Final = ("name", "servicetype", "ipv46", "port")


def _set_nsconfig(builder: _Builder, command: Command) -> None:
    config = builder.singletons.setdefault("nsconfig", {})
    _with_options(config, command)
    address, mask = command.options.get("ipaddress"), command.options.get("netmask")
    if address:
        # The NSIP is an `nsip` record of type NSIP, as NITRO lists it.
        record: Record = {"ipaddress": address, "netmask": mask or "", "type": "NSIP"}
        builder.table("nsip")[(address,)] = {**_DEFAULTS["nsip"], **record}
        builder.mention("nsip", address, command.line, DEFINED)


def _hostname(builder: _Builder, command: Command) -> None:
    if _need(builder, command, 1, "a host name"):
        builder.table("nshostname")[("",)] = {"hostname": command.args[0]}


def _modes(on: bool) -> Handler:
    def change(builder: _Builder, command: Command) -> None:
        if builder.modes is None:
            # ns.conf lists every enabled mode on one line: what it does not list is off.
            builder.modes = {attr: False for attr, _, _ in _MODES}
        for word in command.args:
            attr = _MODE_OF.get(word.lower())
            if attr is None:
                builder.problem(command, f"unknown mode {word!r}")
            else:
                builder.modes[attr] = on

    return change


def _known(builder: _Builder, command: Command) -> None:
    """A command nsfix understands and has no use for (features)."""


def _add_hanode(builder: _Builder, command: Command) -> None:
    if _need(builder, command, 2, "a node id and an address"):
        record: Record = {"id": command.args[0], "ipaddress": command.args[1]}
        builder.table("hanode")[(command.args[0],)] = _with_options(record, command)
        builder.mention("hanode", command.args[0], command.line, DEFINED)


def _set_hanode(builder: _Builder, command: Command) -> None:
    node = command.args[0] if command.args else "0"
    record = builder.table("hanode").setdefault((node,), {"id": node})
    _with_options(record, command)
    builder.mention("hanode", node, command.line, CHANGED)


def _bind_lbvserver(builder: _Builder, command: Command) -> None:
    if not _need(builder, command, 1, "a virtual server name"):
        return
    name = command.args[0]
    target = command.args[1] if len(command.args) > 1 else None
    group = command.options.get("servicegroupname")
    service = command.options.get("servicename")
    if target is None and group is None and service is None:
        return  # a policy binding (-policyName): not a backend
    record: Record = {"name": name, "weight": command.options.get("weight", "1")}
    # `bind lb vserver v x` names a service or a service group alike; `_finish` tells which.
    key = (name, group or service or str(target))
    resource = (
        "lbvserver_servicegroup_binding"
        if group
        else "lbvserver_service_binding"
        if service
        else "lbvserver_backend"
    )
    record["_target"] = group or service or target
    builder.table(resource)[key] = record
    builder.mention("lbvserver", name, command.line, BOUND)
    builder.mentions.setdefault(("_backend", str(record["_target"]), ""), []).append(
        Mention(command.line, BOUND)
    )


def _bound_monitor(builder: _Builder, command: Command, parent: str, key: str) -> bool:
    """`bind service|serviceGroup <name> -monitorName <monitor>`: True when it was one."""
    monitor = command.options.get("monitor_name")
    if not monitor:
        return False
    name = command.args[0]
    builder.table(f"{parent}_lbmonitor_binding")[(name, monitor)] = {
        key: name,
        "monitor_name": monitor,
    }
    builder.mention(parent, name, command.line, BOUND)
    return True


def _bind_servicegroup(builder: _Builder, command: Command) -> None:
    if not _need(builder, command, 1, "a service group name"):
        return
    if _bound_monitor(builder, command, "servicegroup", "servicegroupname"):
        return
    group = command.args[0]
    if len(command.args) < 3:
        if not command.options:
            builder.problem(command, "'bind servicegroup' needs a member and its port")
        return  # a policy binding: not a backend
    member, port = command.args[1], _port(command.args[2])
    record: Record = {"servicegroupname": group, "servername": member, "port": port}
    record = {**_DEFAULTS[_MEMBER], **_with_options(record, command)}
    builder.table(_MEMBER)[(group, member, str(port))] = record
    builder.mention("servicegroup", group, command.line, BOUND)
    builder.mention("servicegroup", group, command.line, DEFINED, f"{member}:{port}")


def _bind_service(builder: _Builder, command: Command) -> None:
    # Other service bindings (policies) are not backends.
    if _need(builder, command, 1, "a service name"):
        _bound_monitor(builder, command, "service", "name")


def _bind_csvserver(builder: _Builder, command: Command) -> None:
    if not _need(builder, command, 1, "a virtual server name"):
        return
    name = command.args[0]
    target = command.options.get("lbvserver")
    policy = command.options.get("policyname")
    if target:
        builder.table("csvserver_lbvserver_binding")[(name, target)] = {
            "name": name,
            "lbvserver": target,
        }
    elif policy:
        record: Record = {"name": name, "policyname": policy}
        if command.options.get("targetlbvserver"):
            record["targetlbvserver"] = command.options["targetlbvserver"]
        builder.table("csvserver_cspolicy_binding")[(name, policy)] = record
    else:
        return
    builder.mention("csvserver", name, command.line, BOUND)


def _unbind(builder: _Builder, command: Command) -> None:
    """unbind lb vserver / serviceGroup / service: the binding it names goes."""
    if not command.args:
        builder.problem(command, f"'{' '.join(command.words)}' needs a name")
        return
    parent = command.args[0]
    kind = command.words[1:]
    if kind == ("lb", "vserver"):
        target = (
            command.args[1]
            if len(command.args) > 1
            else (command.options.get("servicename") or command.options.get("servicegroupname"))
        )
        for resource in (
            "lbvserver_backend",
            "lbvserver_service_binding",
            "lbvserver_servicegroup_binding",
        ):
            builder.table(resource).pop((parent, str(target)), None)
        builder.mention("lbvserver", parent, command.line, CHANGED)
    elif kind == ("servicegroup",):
        monitor = command.options.get("monitor_name")
        if monitor:
            builder.table("servicegroup_lbmonitor_binding").pop((parent, monitor), None)
        elif len(command.args) >= 3:
            port = _port(command.args[2])
            builder.table(_MEMBER).pop((parent, command.args[1], str(port)), None)
        builder.mention("servicegroup", parent, command.line, CHANGED)
    elif kind == ("service",):
        monitor = command.options.get("monitor_name")
        if monitor:
            builder.table("service_lbmonitor_binding").pop((parent, monitor), None)
        builder.mention("service", parent, command.line, CHANGED)


def _changed_object(builder: _Builder, command: Command, resource: str, key: str) -> Record | None:
    if not command.args:
        builder.problem(command, f"'{' '.join(command.words)}' needs a name")
        return None
    name = command.args[0]
    record = builder.table(resource).get((name,))
    if record is None and resource == "lbmonitor" and name in BUILTIN_MONITORS:
        # A built-in monitor has no `add` line; a changed one has a `set` line.
        record = {"monitorname": name, "type": BUILTIN_MONITORS[name], "state": "ENABLED"}
        builder.table(resource)[(name,)] = record
    if record is None and resource in _IMPLICIT:
        builder.ignored.append(command.line)
        return None
    if record is None:
        builder.problem(command, f"{resource} {name!r} is changed here but never added")
        return None
    builder.mention(resource, name, command.line, CHANGED)
    return record


def _set(builder: _Builder, command: Command, resource: str, key: str) -> None:
    record = _changed_object(builder, command, resource, key)
    if record is not None:
        _with_options(record, command, skip=(key,))


def _unset(builder: _Builder, command: Command, resource: str, key: str) -> None:
    record = _changed_object(builder, command, resource, key)
    if record is None:
        return
    defaults = _DEFAULTS.get(resource, {})
    for name in command.options:
        record.pop(name, None)
        if name in defaults:
            record[name] = defaults[name]


def _state(value: str) -> Callable[[_Builder, Command, str, str], None]:
    def change(builder: _Builder, command: Command, resource: str, key: str) -> None:
        record = _changed_object(builder, command, resource, key)
        if record is not None:
            record["state"] = value

    return change


def _rm(builder: _Builder, command: Command, resource: str, key: str) -> None:
    if _changed_object(builder, command, resource, key) is not None:
        builder.table(resource).pop((command.args[0],), None)


_HANDLERS: Final[Mapping[tuple[str, ...], Handler]] = {
    ("add", "server"): _add_server,
    ("add", "service"): _adder(
        "service",
        ("name", "servername", "servicetype", "port"),
        4,
        "a name, a server or address, a service type and a port",
    ),
    ("add", "servicegroup"): _adder(
        "servicegroup", ("servicegroupname", "servicetype"), 2, _NAME_AND_TYPE
    ),
    ("add", "lb", "vserver"): _adder("lbvserver", _VSERVER, 2, _NAME_AND_TYPE),
    ("add", "lb", "monitor"): _adder(
        "lbmonitor", ("monitorname", "type"), 2, "a name and a monitor type"
    ),
    ("add", "cs", "vserver"): _adder("csvserver", _VSERVER, 2, _NAME_AND_TYPE),
    ("add", "cs", "policy"): _adder("cspolicy", ("policyname",), 1, "a name"),
    ("add", "cs", "action"): _adder("csaction", ("name",), 1, "a name"),
    ("add", "ns", "ip"): _adder("nsip", ("ipaddress", "netmask"), 2, "an address and a netmask"),
    ("add", "ns", "ip6"): _adder("nsip6", ("ipv6address",), 1, "an address with its prefix length"),
    ("add", "ns", "partition"): _adder("nspartition", ("partitionname",), 1, "a partition name"),
    ("add", "ha", "node"): _add_hanode,
    ("set", "ha", "node"): _set_hanode,
    ("set", "ns", "config"): _set_nsconfig,
    ("set", "ns", "hostname"): _hostname,
    ("enable", "ns", "mode"): _modes(True),
    ("disable", "ns", "mode"): _modes(False),
    ("enable", "ns", "feature"): _known,
    ("disable", "ns", "feature"): _known,
    ("bind", "lb", "vserver"): _bind_lbvserver,
    ("bind", "servicegroup"): _bind_servicegroup,
    ("bind", "service"): _bind_service,
    ("bind", "cs", "vserver"): _bind_csvserver,
    ("unbind", "lb", "vserver"): _unbind,
    ("unbind", "servicegroup"): _unbind,
    ("unbind", "service"): _unbind,
}

_CHANGES: Final[Mapping[str, Callable[[_Builder, Command, str, str], None]]] = {
    "set": _set,
    "unset": _unset,
    "enable": _state("ENABLED"),
    "disable": _state("DISABLED"),
    "rm": _rm,
}


# --- from tables to NITRO records -------------------------------------------------------


def _finish(builder: _Builder, path: str | None) -> ParsedConfig:
    tables = builder.tables
    servers = tables.get("server", {})
    groups = tables.get("servicegroup", {})

    def address_of(name: str) -> str | None:
        server = servers.get((name,))
        if server is not None:
            found = server.get("ipaddress")
            return str(found) if found else None
        return name if _address_like(name) else None

    for service in tables.get("service", {}).values():
        if "ipaddress" not in service:
            found = address_of(str(service["servername"]))
            if found:
                service["ipaddress"] = found
    for member in tables.get(_MEMBER, {}).values():
        name = str(member["servername"])
        found = address_of(name)
        if found and "ip" not in member:
            member["ip"] = found
            label = f"{found}:{member['port']}"
            group = str(member["servicegroupname"])
            builder.mentions.setdefault(("servicegroup", group, label), []).extend(
                builder.mentions.get(("servicegroup", group, f"{name}:{member['port']}"), [])
            )
    # `bind lb vserver v x`: a binding of the service group x if there is one, else a service.
    for (name, target), record in tables.pop("lbvserver_backend", {}).items():
        target_name = str(record.pop("_target"))
        if (target_name,) in groups:
            resource, attribute = "lbvserver_servicegroup_binding", "servicegroupname"
        else:
            resource, attribute = "lbvserver_service_binding", "servicename"
        tables.setdefault(resource, {})[(name, target)] = {
            "name": name,
            attribute: target_name,
            **{k: v for k, v in record.items() if k != "name"},
        }
    for resource in ("lbvserver_service_binding", "lbvserver_servicegroup_binding"):
        for record in tables.get(resource, {}).values():
            record.pop("_target", None)
    backends = {key[1]: marks for key, marks in builder.mentions.items() if key[0] == "_backend"}
    for name, marks in backends.items():
        del builder.mentions[("_backend", name, "")]
        owner = "servicegroup" if (name,) in groups else "service"
        builder.mentions.setdefault((owner, name, ""), []).extend(marks)

    records: dict[str, Any] = {}
    if builder.version is not None:
        records["nsversion"] = {"version": builder.version}
    nodes = tables.pop("hanode", {})
    # Node 0 is the appliance itself; a configuration says nothing of its HA state.
    own = nodes.pop(("0",), {"id": "0"})
    records["hanode"] = [own, *nodes.values()]
    records["nsmode"] = (
        builder.modes
        if builder.modes is not None
        else {attr: default for attr, _, default in _MODES}
    )
    for resource, singleton in builder.singletons.items():
        records[resource] = singleton
    monitors = tables.setdefault("lbmonitor", {})
    for name, kind in BUILTIN_MONITORS.items():
        monitors.setdefault((name,), {"monitorname": name, "type": kind, "state": "ENABLED"})
    for resource, table in tables.items():
        records[resource] = list(table.values())
    mentions = {
        key: tuple(sorted(marks, key=lambda m: (m.role != DEFINED, m.line)))
        for key, marks in builder.mentions.items()
    }
    return ParsedConfig(
        records=records,
        source=SourceMap(path, mentions),
        problems=tuple(builder.problems),
        ignored=tuple(builder.ignored),
        commands=builder.commands,
        version=builder.version,
    )


def snapshot_from_config(
    parsed: ParsedConfig,
    *,
    source: str,
    partition: str,
    collected_at: datetime,
    appliance: Mapping[str, Any] | None = None,
) -> Snapshot:
    """The Snapshot of a parsed configuration; its problems are data defects naming file:line.

    `appliance` holds the appliance-wide records (version, host name, HA nodes, partitions) of
    the default partition's file, for a partition's file that has none of its own.
    """
    records = dict(parsed.records)
    if appliance:
        for resource in APPLIANCE_WIDE:
            if resource in appliance and (resource not in records or resource == "hanode"):
                records[resource] = appliance[resource]
    snapshot = build_snapshot(
        records, url=f"file:{source}", partition=partition, collected_at=collected_at
    )
    defects = tuple(
        DataDefect(
            DEFECT_RESOURCE,
            f"{source}:{p.line}",
            "text",
            p.text.strip()[:200],
            p.problem,
            partition,
        )
        for p in parsed.problems
    )
    # A defect of a line points at that line.
    lines = {
        (DEFECT_RESOURCE, f"{source}:{p.line}", ""): (Mention(p.line, DEFINED),)
        for p in parsed.problems
    }
    located = SourceMap(source, {**parsed.source.mentions, **lines})
    return replace(
        snapshot,
        defects=(*defects, *snapshot.defects),
        extra={**snapshot.extra, EXTRA_KEY: located, "raw": records},
    )
