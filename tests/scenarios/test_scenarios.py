"""The mock appliance's scenario files and the large-appliance generator hold what they promise."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mocks.generate import generate, main

REPO = Path(__file__).resolve().parents[2]
SCENARIO_DIR = REPO / "mocks" / "scenarios"
SCENARIOS = ("seed-incident", "healthy", "mixed")

RESOURCE_KEYS = frozenset(
    {
        "lbvserver",
        "service",
        "servicegroup",
        "servicegroup_servicegroupmember_binding",
        "lbvserver_service_binding",
        "lbvserver_servicegroup_binding",
        "server",
        "lbmonitor",
        "service_lbmonitor_binding",
        "servicegroup_lbmonitor_binding",
        "nsip",
        "nsmode",
        "hanode",
        "nsversion",
        "nspartition",
        "nsconfig",
    }
)
APPLIANCE_WIDE = frozenset({"nsversion", "hanode", "nspartition"})
SINGLETONS = frozenset({"nsversion", "nsmode", "nsconfig"})
DSR_MODES = frozenset({"MAC", "IPTUNNEL", "TOS"})
KNOWN_MODES = DSR_MODES | {"IP"}


def _attrs(names: str) -> tuple[str, ...]:
    return tuple(names.split())


REQUIRED: dict[str, tuple[str, ...]] = {
    "lbvserver": _attrs(
        "name port servicetype m sessionless state curstate effectivestate lbmethod connfailover"
        " td comment"
    ),
    "service": _attrs(
        "name servername ipaddress port servicetype usip useproxyport cip cipheader state"
        " svrstate healthmonitor td comment"
    ),
    "servicegroup": _attrs(
        "servicegroupname servicetype usip useproxyport cip state servicegroupeffectivestate td"
    ),
    "servicegroup_servicegroupmember_binding": _attrs(
        "servicegroupname ip servername port weight state svrstate"
    ),
    "lbvserver_service_binding": _attrs("name servicename weight ipv46 port servicetype curstate"),
    "lbvserver_servicegroup_binding": _attrs("name servicegroupname weight"),
    "server": _attrs("name ipaddress state domain comment"),
    "lbmonitor": _attrs("monitorname type state"),
    "service_lbmonitor_binding": _attrs("name monitor_name monstate weight"),
    "servicegroup_lbmonitor_binding": _attrs("servicegroupname monitor_name monstate weight"),
    "nsip": _attrs("ipaddress netmask type state td"),
    "nsmode": _attrs("usip mbf l2 l3 usnip edge fr cka tcpb"),
    "hanode": _attrs("id ipaddress state hastatus hasync"),
    "nsversion": _attrs("version mode"),
    "nspartition": _attrs(
        "partitionname partitionid partitionmac maxbandwidth maxconn maxmemlimit"
    ),
    "nsconfig": _attrs("configchanged lastconfigchangedtime lastconfigsavetime ipaddress netmask"),
}

# Deliberate data defects, documented in mocks/scenarios/README.md. Nothing else may break
# the rules the tests below enforce.
INVALID_ADDRESS = "333:333:33:333"
DEFECT_ADDRESS_OBJECTS = {("service", "svc_badaddr_01"), ("server", "bad-addr-01")}
DEFECT_MODE_VSERVERS = {"vs_weird_mode"}

ALLOWED_NETS = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)
Part = dict[str, Any]


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCENARIO_DIR / f"{name}.json").read_text("utf-8"))
    return data


def partitions(scen: dict[str, Any]) -> Iterator[tuple[str, Part]]:
    """The default partition (top-level keys) and then every admin partition."""
    yield "default", scen
    yield from scen.get("_partitions", {}).items()


def records(part: Part, key: str) -> list[dict[str, Any]]:
    value = part.get(key, [])
    assert isinstance(value, list), key
    return value


def valid_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def snip_nets(part: Part) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [
        ipaddress.ip_network(f"{ip['ipaddress']}/{ip['netmask']}", strict=False)
        for ip in records(part, "nsip")
        if ip["type"] == "SNIP"
    ]


def in_snip_subnet(addr: str, part: Part) -> bool:
    return valid_ip(addr) and any(ipaddress.ip_address(addr) in n for n in snip_nets(part))


class Index:
    """Lookups over one partition, built once per test."""

    def __init__(self, part: Part) -> None:
        self.part = part
        self.vservers = {v["name"]: v for v in records(part, "lbvserver")}
        self.services = {s["name"]: s for s in records(part, "service")}
        self.groups = {g["servicegroupname"]: g for g in records(part, "servicegroup")}
        self.monitors = {m["monitorname"]: m for m in records(part, "lbmonitor")}
        self.members: dict[str, list[dict[str, Any]]] = {}
        for m in records(part, "servicegroup_servicegroupmember_binding"):
            self.members.setdefault(m["servicegroupname"], []).append(m)
        self.svc_bindings: dict[str, list[str]] = {}
        self.vs_of_service: dict[str, list[str]] = {}
        for b in records(part, "lbvserver_service_binding"):
            self.svc_bindings.setdefault(b["name"], []).append(b["servicename"])
            self.vs_of_service.setdefault(b["servicename"], []).append(b["name"])
        self.sg_bindings: dict[str, list[str]] = {}
        self.vs_of_group: dict[str, list[str]] = {}
        for b in records(part, "lbvserver_servicegroup_binding"):
            self.sg_bindings.setdefault(b["name"], []).append(b["servicegroupname"])
            self.vs_of_group.setdefault(b["servicegroupname"], []).append(b["name"])
        self.svc_monitors: dict[str, list[str]] = {}
        for b in records(part, "service_lbmonitor_binding"):
            self.svc_monitors.setdefault(b["name"], []).append(b["monitor_name"])
        self.sg_monitors: dict[str, list[str]] = {}
        for b in records(part, "servicegroup_lbmonitor_binding"):
            self.sg_monitors.setdefault(b["servicegroupname"], []).append(b["monitor_name"])

    def backends(self, vserver: str) -> Iterator[tuple[str, dict[str, Any], list[str]]]:
        """(name, service or group record, backend addresses) for each backend of a vserver."""
        for name in self.svc_bindings.get(vserver, []):
            svc = self.services[name]
            yield name, svc, [svc["ipaddress"]]
        for name in self.sg_bindings.get(vserver, []):
            yield name, self.groups[name], [m["ip"] for m in self.members.get(name, [])]

    def monitor_types(self, backend: str) -> list[str]:
        names = self.svc_monitors.get(backend) or self.sg_monitors.get(backend) or []
        return [self.monitors[n]["type"] for n in names]


def usip_findings(scen: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(partition, vserver, backend) for every DSR-mode vserver backend without usip YES."""
    found = set()
    for pname, part in partitions(scen):
        idx = Index(part)
        for vs in idx.vservers.values():
            if vs["m"] in DSR_MODES:
                found |= {
                    (pname, vs["name"], n)
                    for n, b, _ in idx.backends(vs["name"])
                    if b["usip"] != "YES"
                }
    return found


def integrity_problems(part: Part) -> list[str]:
    """Every reference in one partition points at an object that exists, and the read-only
    echoes (binding ipv46/port, member ip) agree with the objects they echo."""
    idx = Index(part)
    servers = {s["name"]: s for s in records(part, "server")}
    problems: list[str] = []
    for key, name_of in (
        ("lbvserver", "name"),
        ("service", "name"),
        ("servicegroup", "servicegroupname"),
        ("server", "name"),
        ("lbmonitor", "monitorname"),
    ):
        names = [r[name_of] for r in records(part, key)]
        if len(names) != len(set(names)):
            problems.append(f"duplicate {key} names")
    for svc in idx.services.values():
        srv = servers.get(svc["servername"])
        if srv is None:
            problems.append(f"service {svc['name']}: no server {svc['servername']}")
        elif srv["ipaddress"] != svc["ipaddress"]:
            problems.append(f"service {svc['name']}: address differs from its server")
    for b in records(part, "lbvserver_service_binding"):
        if b["name"] not in idx.vservers or b["servicename"] not in idx.services:
            problems.append(f"dangling lbvserver_service_binding {b}")
            continue
        svc = idx.services[b["servicename"]]
        if (b["ipv46"], b["port"], b["servicetype"]) != (
            svc["ipaddress"],
            svc["port"],
            svc["servicetype"],
        ):
            problems.append(f"binding {b['name']}->{b['servicename']} echoes wrong service")
    for b in records(part, "lbvserver_servicegroup_binding"):
        if b["name"] not in idx.vservers or b["servicegroupname"] not in idx.groups:
            problems.append(f"dangling lbvserver_servicegroup_binding {b}")
    for m in records(part, "servicegroup_servicegroupmember_binding"):
        srv = servers.get(m["servername"])
        if m["servicegroupname"] not in idx.groups:
            problems.append(f"member of unknown group {m['servicegroupname']}")
        if srv is None or srv["ipaddress"] != m["ip"]:
            problems.append(f"member {m['servername']} has no matching server")
    for b in records(part, "service_lbmonitor_binding"):
        if b["name"] not in idx.services or b["monitor_name"] not in idx.monitors:
            problems.append(f"dangling service_lbmonitor_binding {b}")
    for b in records(part, "servicegroup_lbmonitor_binding"):
        if b["servicegroupname"] not in idx.groups or b["monitor_name"] not in idx.monitors:
            problems.append(f"dangling servicegroup_lbmonitor_binding {b}")
    nsips = [(ip["ipaddress"], ip["td"]) for ip in records(part, "nsip")]
    if len(nsips) != len(set(nsips)):
        problems.append("duplicate nsip addresses")
    return problems


def shape_problems(scen: dict[str, Any]) -> list[str]:
    """Known keys only, singletons as objects, every record with the attributes nsfix reads,
    and NITRO's value types (ports as numbers, weights/td/ids as strings, modes as booleans)."""
    problems: list[str] = []
    unknown = {k for k in scen if k not in RESOURCE_KEYS and not k.startswith("_")}
    if unknown:
        problems.append(f"unknown top-level keys {unknown}")
    if not isinstance(scen.get("_comment"), str) or not scen["_comment"]:
        problems.append("no _comment")
    for pname, part in partitions(scen):
        if pname != "default":
            extra = {k for k in part if k not in RESOURCE_KEYS - APPLIANCE_WIDE}
            if extra:
                problems.append(f"partition {pname}: keys {extra} do not belong in a partition")
        for key in RESOURCE_KEYS & part.keys():
            value = part[key]
            if key in SINGLETONS:
                if not isinstance(value, dict):
                    problems.append(f"{pname}/{key} must be one object")
                    continue
                recs = [value]
            else:
                if not isinstance(value, list):
                    problems.append(f"{pname}/{key} must be a list")
                    continue
                recs = value
            for rec in recs:
                missing = [a for a in REQUIRED[key] if a not in rec]
                if missing:
                    problems.append(f"{pname}/{key} record lacks {missing}: {rec}")
                problems += [f"{pname}/{key}: {p}" for p in _type_problems(key, rec)]
    return problems


def _type_problems(key: str, rec: dict[str, Any]) -> list[str]:
    problems = []
    for attr in ("port",):
        if attr in rec and (not isinstance(rec[attr], int) or isinstance(rec[attr], bool)):
            problems.append(f"{attr} must be a JSON number: {rec}")
    for attr in ("weight", "td", "tosid", "id", "partitionid", "mode", "maxconn"):
        if attr in rec and not isinstance(rec[attr], str):
            problems.append(f"{attr} must be a string: {rec}")
    if key == "nsmode":
        problems += [
            f"{a} must be a boolean" for a in REQUIRED["nsmode"] if not isinstance(rec.get(a), bool)
        ]
    if key == "nsconfig" and not isinstance(rec.get("configchanged"), bool):
        problems.append("configchanged must be a boolean")
    if key == "lbvserver":
        if "ipv46" not in rec and not ("ippattern" in rec and "ipmask" in rec):
            problems.append(f"vserver {rec.get('name')} has neither ipv46 nor ippattern+ipmask")
        if (rec.get("m") == "TOS") != ("tosid" in rec):
            problems.append(f"vserver {rec.get('name')}: tosid belongs to TOS mode only")
    if key == "lbmonitor" and (rec.get("type") == "USER") != ("scriptname" in rec):
        problems.append(f"monitor {rec.get('monitorname')}: scriptname belongs to USER only")
    return problems


def address_problems(scen: dict[str, Any]) -> list[str]:
    """Every address is documentation or private space, except the documented defects."""
    fields = {
        "lbvserver": ("ipv46",),
        "service": ("ipaddress",),
        "server": ("ipaddress",),
        "servicegroup_servicegroupmember_binding": ("ip",),
        "lbvserver_service_binding": ("ipv46",),
        "nsip": ("ipaddress",),
        "hanode": ("ipaddress",),
        "nsconfig": ("ipaddress",),
    }
    problems = []
    for pname, part in partitions(scen):
        for key, attrs in fields.items():
            value = part.get(key, [])
            for rec in [value] if isinstance(value, dict) else value:
                for attr in attrs:
                    addr = rec[attr]
                    if valid_ip(addr):
                        ip = ipaddress.ip_address(addr)
                        if not any(ip in net for net in ALLOWED_NETS):
                            problems.append(f"{pname}/{key}: {addr} is not private/doc space")
                    elif addr != INVALID_ADDRESS:
                        problems.append(f"{pname}/{key}: {addr!r} is not an address")
    return problems


# --- every scenario ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_has_the_shape_the_mock_loads(name: str) -> None:
    assert shape_problems(load(name)) == []


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_references_resolve(name: str) -> None:
    scen = load(name)
    for pname, part in partitions(scen):
        assert integrity_problems(part) == [], pname
    listed = {p["partitionname"] for p in scen["nspartition"]}
    assert listed == set(scen.get("_partitions", {}))


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_uses_only_private_or_documentation_addresses(name: str) -> None:
    assert address_problems(load(name)) == []


@pytest.mark.parametrize("name", SCENARIOS)
def test_only_documented_objects_carry_defects(name: str) -> None:
    scen = load(name)
    bad_addr = {
        (key, rec["name"])
        for _, part in partitions(scen)
        for key in ("service", "server")
        for rec in records(part, key)
        if not valid_ip(rec["ipaddress"])
    }
    bad_mode = {
        v["name"]
        for _, part in partitions(scen)
        for v in records(part, "lbvserver")
        if v["m"] not in KNOWN_MODES
    }
    if name == "mixed":
        assert bad_addr == DEFECT_ADDRESS_OBJECTS
        assert bad_mode == DEFECT_MODE_VSERVERS
    else:
        assert bad_addr == set()
        assert bad_mode == set()


@pytest.mark.parametrize("name", SCENARIOS)
def test_mock_settings_let_nsroot_log_in(name: str) -> None:
    mock = load(name)["_mock"]
    assert mock["users"] == {"nsroot": "nsroot"}
    assert mock["ha_state"] == "Primary"
    assert mock["hostname"]


def test_readme_describes_every_vserver_service_and_group() -> None:
    readme = (SCENARIO_DIR / "README.md").read_text("utf-8")
    missing = [
        f"{name}: {obj}"
        for name in SCENARIOS
        for _, part in partitions(load(name))
        for obj in [v["name"] for v in records(part, "lbvserver")]
        + [s["name"] for s in records(part, "service")]
        + [g["servicegroupname"] for g in records(part, "servicegroup")]
        if f"`{obj}`" not in readme
    ]
    assert missing == []


# --- seed-incident -----------------------------------------------------------------------------


def test_seed_has_exactly_the_write_up_defect() -> None:
    scen = load("seed-incident")
    assert usip_findings(scen) == {
        ("default", "vs_app_dsr", "svc_app_01"),
        ("default", "vs_app_dsr", "svc_app_02"),
    }
    idx = Index(scen)
    vs = idx.vservers["vs_app_dsr"]
    assert (vs["m"], vs["servicetype"], vs["port"]) == ("MAC", "ANY", 65535)
    for name in ("svc_app_01", "svc_app_02"):
        svc = idx.services[name]
        assert (svc["servicetype"], svc["port"]) == ("ANY", 65535)
        assert (svc["usip"], svc["useproxyport"]) == ("NO", "YES")
        assert in_snip_subnet(svc["ipaddress"], scen)
        assert idx.monitor_types(name) == ["PING"]


def test_seed_global_modes_are_mbf_on_usip_off() -> None:
    mode = load("seed-incident")["nsmode"]
    assert mode["mbf"] is True
    assert mode["usip"] is False


def test_seed_neighbours_are_healthy() -> None:
    scen = load("seed-incident")
    idx = Index(scen)
    proxy = idx.vservers["vs_web_http"]
    assert proxy["m"] == "IP"
    assert [b["usip"] for _, b, _ in idx.backends("vs_web_http")] == ["NO", "NO"]
    good = idx.vservers["vs_files_dsr"]
    assert good["m"] == "MAC"
    files = list(idx.backends("vs_files_dsr"))
    assert files
    for name, svc, addrs in files:
        assert (svc["usip"], svc["useproxyport"]) == ("YES", "NO")
        assert set(idx.monitor_types(name)) <= {"TCP", "PING"}
        assert idx.monitor_types(name)
        assert all(in_snip_subnet(a, scen) for a in addrs)


def test_seed_is_an_ha_pair_with_this_node_primary_and_two_snips() -> None:
    scen = load("seed-incident")
    nodes = {n["id"]: n for n in scen["hanode"]}
    assert nodes["0"]["state"] == "Primary"
    assert [n["state"] for i, n in nodes.items() if i != "0"] == ["Secondary"]
    snips = [ip for ip in scen["nsip"] if ip["type"] == "SNIP"]
    assert len(snips) == 2
    assert all(ip["netmask"] == "255.255.255.0" for ip in snips)


# --- healthy -----------------------------------------------------------------------------------


def test_healthy_has_nothing_to_find() -> None:
    scen = load("healthy")
    assert usip_findings(scen) == set()
    idx = Index(scen)
    dsr = [v for v in idx.vservers.values() if v["m"] in DSR_MODES]
    assert len(dsr) >= 2
    for vs in idx.vservers.values():
        backends = list(idx.backends(vs["name"]))
        assert backends, vs["name"]
        for name, b, addrs in backends:
            if vs["m"] in DSR_MODES:
                assert (b["usip"], b["useproxyport"]) == ("YES", "NO"), name
                assert idx.monitor_types(name), name
                assert "USER" not in idx.monitor_types(name), name
                assert all(in_snip_subnet(a, scen) for a in addrs), name
            else:
                assert b["usip"] == "NO", name


def test_healthy_has_a_proxy_service_group_with_members() -> None:
    idx = Index(load("healthy"))
    groups = [
        g
        for g, vss in idx.vs_of_group.items()
        if all(idx.vservers[v]["m"] == "IP" for v in vss) and idx.members.get(g)
    ]
    assert groups == ["sg_web"]
    assert len(idx.members["sg_web"]) == 3


# --- mixed: each special case ------------------------------------------------------------------


@pytest.fixture(scope="module")
def mixed() -> dict[str, Any]:
    return load("mixed")


@pytest.fixture(scope="module")
def mx(mixed: dict[str, Any]) -> Index:
    return Index(mixed)


def test_mixed_dsr_service_group_without_usip(mx: Index) -> None:
    group = mx.groups["sg_dsr_bad"]
    assert group["usip"] == "NO"
    assert [mx.vservers[v]["m"] for v in mx.vs_of_group["sg_dsr_bad"]] == ["MAC"]
    assert len(mx.members["sg_dsr_bad"]) == 2


def test_mixed_proxy_service_group_with_members(mx: Index) -> None:
    assert mx.groups["sg_web_proxy"]["usip"] == "NO"
    assert [mx.vservers[v]["m"] for v in mx.vs_of_group["sg_web_proxy"]] == ["IP"]
    assert len(mx.members["sg_web_proxy"]) == 2


@pytest.mark.parametrize(("vserver", "mode"), [("vs_tunnel", "IPTUNNEL"), ("vs_tos", "TOS")])
def test_mixed_iptunnel_and_tos_backends_lack_usip(mx: Index, vserver: str, mode: str) -> None:
    assert mx.vservers[vserver]["m"] == mode
    assert [b["usip"] for _, b, _ in mx.backends(vserver)] == ["NO"]


def test_mixed_tos_vserver_has_a_tosid(mx: Index) -> None:
    assert 1 <= int(mx.vservers["vs_tos"]["tosid"]) <= 63


def test_mixed_service_shared_by_mac_and_ip_vservers(mx: Index) -> None:
    shared = {
        s
        for s, vss in mx.vs_of_service.items()
        if {mx.vservers[v]["m"] for v in vss} >= {"MAC", "IP"}
    }
    assert shared == {"svc_shared_01"}
    assert mx.services["svc_shared_01"]["usip"] == "NO"


def test_mixed_mac_backend_outside_every_snip_subnet(mixed: dict[str, Any], mx: Index) -> None:
    outside = {
        name
        for vs in mx.vservers.values()
        if vs["m"] == "MAC"
        for name, _, addrs in mx.backends(vs["name"])
        if any(valid_ip(a) and not in_snip_subnet(a, mixed) for a in addrs)
    }
    assert outside == {"svc_far_01"}


def test_mixed_mac_service_whose_only_monitor_is_a_script(mx: Index) -> None:
    assert mx.monitor_types("svc_script_01") == ["USER"]
    assert mx.monitors["mon_user_script"]["scriptname"]
    assert [mx.vservers[v]["m"] for v in mx.vs_of_service["svc_script_01"]] == ["MAC"]
    assert mx.services["svc_script_01"]["usip"] == "YES"


def test_mixed_invalid_address_in_service_and_server(mx: Index, mixed: dict[str, Any]) -> None:
    assert mx.services["svc_badaddr_01"]["ipaddress"] == INVALID_ADDRESS
    servers = {s["name"]: s for s in mixed["server"]}
    assert servers["bad-addr-01"]["ipaddress"] == INVALID_ADDRESS
    assert mx.vs_of_service["svc_badaddr_01"] == ["vs_badaddr"]


def test_mixed_vserver_with_unknown_redirection_mode(mx: Index) -> None:
    assert mx.vservers["vs_weird_mode"]["m"] not in KNOWN_MODES
    assert mx.svc_bindings["vs_weird_mode"] == ["svc_weird_01"]


def test_mixed_names_needing_url_encoding_are_bound(mx: Index) -> None:
    assert "web tier:app@1" in mx.vservers
    assert mx.svc_bindings["web tier:app@1"] == ["svc web tier:app@1"]
    assert mx.services["svc web tier:app@1"]["servername"] == "srv web tier:app@1"


def test_mixed_disabled_vserver_and_disabled_service(mx: Index) -> None:
    vs = mx.vservers["vs_disabled_mac"]
    assert (vs["state"], vs["curstate"]) == ("DISABLED", "OUT OF SERVICE")
    assert mx.svc_bindings["vs_disabled_mac"] == ["svc_dormant_01"]
    svc = mx.services["svc_disabled_01"]
    assert (svc["state"], svc["svrstate"]) == ("DISABLED", "OUT OF SERVICE")
    assert mx.vs_of_service["svc_disabled_01"] == ["vs_dsr_partial"]


def test_mixed_usip_yes_service_bound_only_to_ip_mode(mx: Index) -> None:
    assert mx.services["svc_proxy_usip_01"]["usip"] == "YES"
    assert [mx.vservers[v]["m"] for v in mx.vs_of_service["svc_proxy_usip_01"]] == ["IP"]


def test_mixed_is_a_standalone_node(mixed: dict[str, Any]) -> None:
    assert [(n["id"], n["state"]) for n in mixed["hanode"]] == [("0", "Primary")]


def test_mixed_admin_partition_has_its_own_dsr_defect_and_snip(mixed: dict[str, Any]) -> None:
    assert [p["partitionname"] for p in mixed["nspartition"]] == ["p_apps"]
    p_apps = mixed["_partitions"]["p_apps"]
    assert usip_findings(mixed) >= {("p_apps", "vs_p_dsr", "svc_p_app_01")}
    svc = Index(p_apps).services["svc_p_app_01"]
    assert in_snip_subnet(svc["ipaddress"], p_apps)
    assert not in_snip_subnet(svc["ipaddress"], mixed)
    assert "svc_p_app_01" not in Index(mixed).services


def test_mixed_leaves_some_services_on_the_implicit_default_monitor(mx: Index) -> None:
    unmonitored = set(mx.services) - set(mx.svc_monitors)
    assert unmonitored == {"svc_tunnel_01", "svc_proxy_usip_01", "svc_unbound_01"}


def test_mixed_has_a_service_bound_to_no_vserver(mx: Index) -> None:
    assert set(mx.services) - set(mx.vs_of_service) == {"svc_unbound_01"}


# --- generator ---------------------------------------------------------------------------------


def test_generator_is_deterministic_per_seed() -> None:
    a = generate(services=400, seed=3)
    assert json.dumps(a) == json.dumps(generate(services=400, seed=3))
    assert json.dumps(a) != json.dumps(generate(services=400, seed=4))


def test_generator_builds_the_sizes_asked_for() -> None:
    scen = generate(services=300, vservers=40, servicegroups=12, members_per_group=3)
    assert len(scen["service"]) == 300
    assert len(scen["lbvserver"]) == 40
    assert len(scen["servicegroup"]) == 12
    assert len(scen["servicegroup_servicegroupmember_binding"]) == 36
    assert len(scen["lbvserver_service_binding"]) == 300
    assert len(scen["lbvserver_servicegroup_binding"]) == 12
    assert len(scen["server"]) == 336


def test_generator_defaults_scale_with_services() -> None:
    scen = generate(services=200)
    assert len(scen["lbvserver"]) == 20
    assert len(scen["servicegroup"]) == 10
    assert len(scen["servicegroup_servicegroupmember_binding"]) == 40


def test_generated_appliance_is_well_formed() -> None:
    scen = generate(services=2000, servicegroups=150, seed=11)
    assert shape_problems(scen) == []
    assert integrity_problems(scen) == []
    assert address_problems(scen) == []


def test_generator_mixes_all_redirection_modes_in_the_asked_proportion() -> None:
    scen = generate(services=1000, vservers=100, dsr_fraction=0.3, seed=5)
    modes = [v["m"] for v in scen["lbvserver"]]
    assert set(modes) == {"IP", "MAC", "IPTUNNEL", "TOS"}
    assert sum(m in DSR_MODES for m in modes) == 30
    tos = [v for v in scen["lbvserver"] if v["m"] == "TOS"]
    assert all(1 <= int(v["tosid"]) <= 63 for v in tos)


def test_generator_plants_the_asked_share_of_dsr_backends_without_usip() -> None:
    scen = generate(services=1000, vservers=100, servicegroups=40, bad_fraction=0.1, seed=2)
    idx = Index(scen)
    dsr_backends = [
        b
        for vs in idx.vservers.values()
        if vs["m"] in DSR_MODES
        for _, b, _ in idx.backends(vs["name"])
    ]
    bad = [b for b in dsr_backends if b["usip"] == "NO"]
    assert bad
    assert len(usip_findings(scen)) == len(bad)
    # Rounded per kind (services, then groups), so allow one either way for each.
    assert abs(len(bad) - 0.1 * len(dsr_backends)) <= 2
    assert all(b["useproxyport"] == "NO" for b in dsr_backends if b["usip"] == "YES")


def test_generator_without_bad_fraction_has_nothing_to_find() -> None:
    scen = generate(services=500, bad_fraction=0.0, seed=9)
    assert usip_findings(scen) == set()


def test_generated_backends_all_sit_in_snip_subnets() -> None:
    scen = generate(services=600, servicegroups=30, seed=1)
    nets = snip_nets(scen)
    addrs = [s["ipaddress"] for s in scen["service"]]
    addrs += [m["ip"] for m in scen["servicegroup_servicegroupmember_binding"]]
    assert all(any(ipaddress.ip_address(a) in n for n in nets) for a in addrs)


def test_generator_binds_monitors_and_leaves_proxy_tcp_on_the_default() -> None:
    scen = generate(services=500, seed=4)
    idx = Index(scen)
    for vs in idx.vservers.values():
        for name, _, _ in idx.backends(vs["name"]):
            types = idx.monitor_types(name)
            if vs["m"] in DSR_MODES:
                assert types == ["PING"], name
            elif vs["servicetype"] == "HTTP":
                assert types == ["HTTP"], name
    assert len(scen["service_lbmonitor_binding"]) < len(scen["service"])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"services": -1},
        {"dsr_fraction": 1.5},
        {"bad_fraction": -0.1},
        {"services": 10, "vservers": 0},
    ],
)
def test_generator_rejects_impossible_requests(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"must|need"):
        generate(**kwargs)


@pytest.mark.slow
def test_generator_builds_a_large_appliance_quickly() -> None:
    start = time.perf_counter()
    scen = generate(services=50_000, vservers=5_000, servicegroups=1_000, members_per_group=4)
    elapsed = time.perf_counter() - start
    assert len(scen["service"]) == 50_000
    assert len(scen["lbvserver"]) == 5_000
    assert len(scen["servicegroup_servicegroupmember_binding"]) == 4_000
    assert elapsed < 5.0, f"took {elapsed:.2f} s"


def test_main_writes_the_scenario_file(tmp_path: Path) -> None:
    out = tmp_path / "big.json"
    assert main(["services=120", "seed=8", "dsr_fraction=0.5", "-o", str(out)]) == 0
    written = json.loads(out.read_text("utf-8"))
    assert written == json.loads(json.dumps(generate(services=120, seed=8, dsr_fraction=0.5)))


def test_main_writes_to_stdout_without_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["services=20"]) == 0
    assert len(json.loads(capsys.readouterr().out)["service"]) == 20


@pytest.mark.parametrize("arg", ["colour=blue", "services", "services=many"])
def test_main_refuses_bad_arguments(arg: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([arg]) == 2
    assert "error:" in capsys.readouterr().err


def test_module_runs_as_a_script(tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    done = subprocess.run(
        [sys.executable, "-m", "mocks.generate", "services=30", "-o", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert len(json.loads(out.read_text("utf-8"))["service"]) == 30
