"""What the operator knows about each backend server (loopback VIPs, ARP, gateway), from YAML."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from nsfix.yamlsource import SourceError

KNOWN_FIELDS: Final = ("os", "loopback_vips", "arp_suppressed", "default_gateway")

_NULL: Final = "tag:yaml.org,2002:null"
_BOOL: Final = "tag:yaml.org,2002:bool"
_STR: Final = "tag:yaml.org,2002:str"
# YAML 1.1 spellings PyYAML resolves to booleans.
_BOOL_WORDS: Final = {
    "yes": True,
    "true": True,
    "on": True,
    "no": False,
    "false": False,
    "off": False,
}


@dataclass(frozen=True)
class ServerFact:
    """One backend server as the operator describes it; `None` means unknown."""

    address: str
    loopback_vips: tuple[str, ...] | None
    """VIPs configured on a loopback interface."""
    arp_suppressed: bool | None
    """The loopback does not answer ARP (Linux arp_ignore=1/arp_announce=2, Windows weak host)."""
    default_gateway: str | None
    os: str | None
    """`linux`, `windows`, or whatever else the file says, lower-cased."""


@dataclass(frozen=True)
class ServerFacts:
    """All known servers, keyed by their address in canonical text form."""

    servers: Mapping[str, ServerFact] = field(default_factory=lambda: MappingProxyType({}))

    def get(self, address: str) -> ServerFact | None:
        """The facts for `address`, however the address is written (`10.0.0.1`, `2001:DB8::1`)."""
        canonical = canonical_address(address)
        return self.servers.get(canonical if canonical is not None else address.strip())


class ServerFactsError(SourceError):
    """A server facts file that cannot be used; the message names the source, line and field."""

    def __init__(self, source: str, line: int, field_path: str, problem: str) -> None:
        super().__init__(source, line, field_path, problem)
        self.field = field_path


def canonical_address(text: str) -> str | None:
    """`text` as Python writes the address, or `None` when it is no IP address."""
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def parse_server_facts(text: str, source: str = "<server facts>") -> ServerFacts:
    """Parse and validate a server facts document; raise `ServerFactsError` on the first problem."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise ServerFactsError(source, line, "(document)", exc.problem or "not valid YAML") from exc
    except yaml.YAMLError as exc:
        raise ServerFactsError(source, 1, "(document)", "not valid YAML") from exc
    if root is None:
        raise ServerFactsError(source, 1, "servers", "empty document: expected 'servers:'")
    if not isinstance(root, MappingNode):
        raise _error(source, root, "(document)", "expected a mapping with a 'servers' key")

    servers_node: Node | None = None
    for key_node, value_node in root.value:
        key = _key_text(source, key_node, "(document)")
        if key != "servers":
            raise _error(source, key_node, key, "unknown top-level key (expected only 'servers')")
        if servers_node is not None:
            raise _error(source, key_node, key, "given twice")
        servers_node = value_node
    if servers_node is None:
        raise _error(source, root, "servers", "missing: expected a 'servers:' mapping")
    if _is_null(servers_node):
        return ServerFacts(MappingProxyType({}))
    if not isinstance(servers_node, MappingNode):
        raise _error(source, servers_node, "servers", "expected a mapping of address: facts")

    servers: dict[str, ServerFact] = {}
    for key_node, value_node in servers_node.value:
        written = _key_text(source, key_node, "servers")
        address = canonical_address(written)
        if address is None:
            raise _error(source, key_node, f"servers.{written}", "not an IP address")
        if address in servers:
            raise _error(source, key_node, f"servers.{written}", f"{address} is listed twice")
        servers[address] = _parse_server(source, address, written, value_node)
    return ServerFacts(MappingProxyType(servers))


def _parse_server(source: str, address: str, written: str, node: Node) -> ServerFact:
    prefix = f"servers.{written}"
    if _is_null(node):
        return ServerFact(address, None, None, None, None)
    if not isinstance(node, MappingNode):
        raise _error(source, node, prefix, f"expected a mapping of {', '.join(KNOWN_FIELDS)}")
    values: dict[str, Node] = {}
    for key_node, value_node in node.value:
        name = _key_text(source, key_node, prefix)
        if name not in KNOWN_FIELDS:
            known = ", ".join(KNOWN_FIELDS)
            raise _error(source, key_node, f"{prefix}.{name}", f"unknown key (known: {known})")
        if name in values:
            raise _error(source, key_node, f"{prefix}.{name}", "given twice")
        values[name] = value_node

    os_name: str | None = None
    if "os" in values and not _is_null(values["os"]):
        os_node = values["os"]
        if not isinstance(os_node, ScalarNode) or os_node.tag != _STR or not os_node.value.strip():
            raise _error(source, os_node, f"{prefix}.os", "expected a name like linux or windows")
        os_name = os_node.value.strip().lower()

    vips: tuple[str, ...] | None = None
    if "loopback_vips" in values and not _is_null(values["loopback_vips"]):
        vips_node = values["loopback_vips"]
        if not isinstance(vips_node, SequenceNode):
            raise _error(
                source, vips_node, f"{prefix}.loopback_vips", "expected a list of IP addresses"
            )
        vips = tuple(
            _address(source, item, f"{prefix}.loopback_vips[{index}]")
            for index, item in enumerate(vips_node.value)
        )

    arp: bool | None = None
    if "arp_suppressed" in values and not _is_null(values["arp_suppressed"]):
        arp_node = values["arp_suppressed"]
        if not isinstance(arp_node, ScalarNode) or arp_node.tag != _BOOL:
            raise _error(source, arp_node, f"{prefix}.arp_suppressed", "expected true or false")
        arp = _BOOL_WORDS[arp_node.value.lower()]

    gateway: str | None = None
    if "default_gateway" in values and not _is_null(values["default_gateway"]):
        gateway = _address(source, values["default_gateway"], f"{prefix}.default_gateway")

    return ServerFact(address, vips, arp, gateway, os_name)


def _address(source: str, node: Node, field_path: str) -> str:
    # The raw scalar text, not PyYAML's construction: YAML 1.1 reads `10:20` as the integer 620.
    if isinstance(node, ScalarNode):
        address = canonical_address(node.value)
        if address is not None:
            return address
        raise _error(source, node, field_path, f"{node.value!r} is not an IP address")
    raise _error(source, node, field_path, "expected an IP address")


def _key_text(source: str, node: Node, field_path: str) -> str:
    if not isinstance(node, ScalarNode):
        raise _error(source, node, field_path, "keys must be plain text")
    return str(node.value).strip()


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL


def _error(source: str, node: Node, field_path: str, problem: str) -> ServerFactsError:
    return ServerFactsError(source, node.start_mark.line + 1, field_path, problem)
