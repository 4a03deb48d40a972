"""Server facts files: what the operator wrote, or an error that points at the line to fix."""

from __future__ import annotations

import pytest

from nsfix.serverfacts import ServerFact, ServerFactsError, parse_server_facts

VALID = """\
# facts the server team confirmed
servers:
  10.20.0.21:
    os: Linux
    loopback_vips: [198.51.100.10, 198.51.100.11]
    arp_suppressed: true
    default_gateway: 10.20.0.1
  2001:DB8:20::21:
    os: windows
    arp_suppressed: no
  10.20.0.22:
"""


def test_a_valid_file_gives_every_fact() -> None:
    facts = parse_server_facts(VALID, "facts.yaml")
    assert facts.get("10.20.0.21") == ServerFact(
        address="10.20.0.21",
        loopback_vips=("198.51.100.10", "198.51.100.11"),
        arp_suppressed=True,
        default_gateway="10.20.0.1",
        os="linux",
    )
    ipv6 = facts.get("2001:db8:20:0::21")  # found however the address is written
    assert ipv6 is not None
    assert (ipv6.os, ipv6.arp_suppressed, ipv6.loopback_vips, ipv6.default_gateway) == (
        "windows",
        False,
        None,
        None,
    )
    assert facts.get("10.20.0.22") == ServerFact("10.20.0.22", None, None, None, None)
    assert facts.get("10.20.0.99") is None
    assert facts.get("not an address") is None
    assert sorted(facts.servers) == ["10.20.0.21", "10.20.0.22", "2001:db8:20::21"]


def test_an_empty_servers_mapping_is_allowed() -> None:
    assert dict(parse_server_facts("servers:\n").servers) == {}
    assert dict(parse_server_facts("servers: {}\n").servers) == {}


def test_an_empty_list_of_loopback_vips_is_known_to_be_empty() -> None:
    facts = parse_server_facts("servers:\n  10.0.0.1:\n    loopback_vips: []\n")
    fact = facts.get("10.0.0.1")
    assert fact is not None
    assert fact.loopback_vips == ()


def error(text: str) -> ServerFactsError:
    with pytest.raises(ServerFactsError) as caught:
        parse_server_facts(text, "facts.yaml")
    return caught.value


def test_the_write_ups_non_address_is_an_error_naming_line_and_field() -> None:
    exc = error("servers:\n  10.20.0.21:\n    os: linux\n  333:333:33:333:\n    os: linux\n")
    assert exc.line == 4
    assert exc.field == "servers.333:333:33:333"
    assert str(exc) == "facts.yaml:4: servers.333:333:33:333: not an IP address"


@pytest.mark.parametrize(
    ("text", "line", "field", "problem"),
    [
        (
            "servers:\n  10.0.0.1:\n    os: linux\n    loopback: [1.2.3.4]\n",
            4,
            "servers.10.0.0.1.loopback",
            "unknown key",
        ),
        (
            "servers:\n  10.0.0.1:\n    arp_suppressed: maybe\n",
            3,
            "servers.10.0.0.1.arp_suppressed",
            "true or false",
        ),
        (
            "servers:\n  10.0.0.1:\n    loopback_vips: 198.51.100.10\n",
            3,
            "servers.10.0.0.1.loopback_vips",
            "list",
        ),
        (
            "servers:\n  10.0.0.1:\n    loopback_vips:\n      - 198.51.100.10\n      - 10:20\n",
            5,
            "servers.10.0.0.1.loopback_vips[1]",
            "'10:20' is not an IP address",
        ),
        (
            "servers:\n  10.0.0.1:\n    default_gateway: gw.example\n",
            3,
            "servers.10.0.0.1.default_gateway",
            "not an IP address",
        ),
        (
            "servers:\n  10.0.0.1:\n    default_gateway: [10.0.0.254]\n",
            3,
            "servers.10.0.0.1.default_gateway",
            "expected an IP address",
        ),
        ("servers:\n  10.0.0.1:\n    os: 2019\n", 3, "servers.10.0.0.1.os", "linux or windows"),
        ("servers:\n  10.0.0.1: linux\n", 2, "servers.10.0.0.1", "expected a mapping"),
        ("servers:\n  10.0.0.1:\n  10.0.0.01:\n", 3, "servers.10.0.0.01", "not an IP address"),
        ("servers:\n  10.0.0.1:\n  10.0.0.1:\n", 3, "servers.10.0.0.1", "listed twice"),
        (
            "servers:\n  2001:db8::1:\n  2001:DB8:0::1:\n",
            3,
            "servers.2001:DB8:0::1",
            "listed twice",
        ),
        (
            "servers:\n  10.0.0.1:\n    os: linux\n    os: windows\n",
            4,
            "servers.10.0.0.1.os",
            "given twice",
        ),
        ("servers:\n  - 10.0.0.1\n", 2, "servers", "mapping of address"),
        ("hosts:\n  10.0.0.1: {}\n", 1, "hosts", "unknown top-level key"),
        ("# nothing yet\n", 1, "servers", "empty document"),
        ("- 10.0.0.1\n", 1, "(document)", "mapping with a 'servers' key"),
        ("servers:\n  10.0.0.1:\n    os: [linux\n", 4, "(document)", ""),
    ],
)
def test_each_mistake_names_its_line_and_field(
    text: str, line: int, field: str, problem: str
) -> None:
    exc = error(text)
    assert (exc.line, exc.field) == (line, field)
    assert problem in exc.problem
    assert str(exc).startswith(f"facts.yaml:{line}: {field}: ")
    assert isinstance(exc, ValueError)


def test_the_default_source_name_is_used_in_messages() -> None:
    with pytest.raises(ServerFactsError, match=r"^<server facts>:1: "):
        parse_server_facts("[")
