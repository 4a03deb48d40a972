"""Parsing NITRO records into a snapshot: what an operator sees, including broken appliance data."""

from __future__ import annotations

import ipaddress
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nsfix.model import build_snapshot, ha_role, parse_release
from nsfix.shell import InputError, load_snapshot_file

NOW = datetime(2026, 11, 26, tzinfo=UTC)


def appliance(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "nsversion": {"version": "NetScaler NS14.1: Build 25.56.nc, Date: Jun  5 2025, 10:19:01"},
        "hanode": [
            {"id": "0", "ipaddress": "10.0.0.11", "state": "Primary"},
            {"id": "1", "ipaddress": "10.0.0.12", "state": "Secondary"},
        ],
        "nsconfig": {"configchanged": False},
        "nsmode": {"usip": False, "mbf": True, "l2": False, "l3": True, "usnip": True},
        "nsip": [
            {"ipaddress": "10.0.0.11", "netmask": "255.255.255.0", "type": "NSIP"},
            {"ipaddress": "10.20.0.5", "netmask": "255.255.255.0", "type": "SNIP"},
            {"ipaddress": "198.51.100.10", "netmask": "255.255.255.255", "type": "VIP"},
        ],
        "lbvserver": [
            {
                "name": "vs_dsr",
                "ipv46": "198.51.100.10",
                "port": 65535,
                "servicetype": "ANY",
                "m": "MAC",
                "state": "ENABLED",
                "curstate": "UP",
            },
            {
                "name": "vs_web",
                "ipv46": "198.51.100.20",
                "port": 80,
                "servicetype": "HTTP",
                "m": "IP",
                "state": "ENABLED",
                "curstate": "UP",
            },
        ],
        "lbvserver_service_binding": [
            {"name": "vs_dsr", "servicename": "svc_app1"},
            {"name": "vs_web", "servicename": "svc_web1"},
        ],
        "lbvserver_servicegroup_binding": [{"name": "vs_dsr", "servicegroupname": "sg_app"}],
        "service": [
            {
                "name": "svc_app1",
                "ipaddress": "10.20.0.21",
                "port": 65535,
                "servicetype": "ANY",
                "usip": "NO",
                "useproxyport": "YES",
                "cip": "DISABLED",
                "state": "ENABLED",
                "svrstate": "UP",
            },
            {
                "name": "svc_web1",
                "ipaddress": "10.20.0.31",
                "port": "80",
                "servicetype": "HTTP",
                "usip": "NO",
                "useproxyport": "YES",
                "state": "ENABLED",
                "svrstate": "UP",
            },
        ],
        "servicegroup": [
            {
                "servicegroupname": "sg_app",
                "servicetype": "ANY",
                "usip": "YES",
                "useproxyport": "NO",
                "state": "ENABLED",
                "servicegroupeffectivestate": "UP",
            }
        ],
        "servicegroup_servicegroupmember_binding": [
            {
                "servicegroupname": "sg_app",
                "ip": "10.20.0.41",
                "port": 65535,
                "state": "ENABLED",
                "svrstate": "UP",
                "weight": "1",
            },
        ],
        "lbmonitor": [{"monitorname": "ping-dsr", "type": "PING"}],
        "service_lbmonitor_binding": [{"name": "svc_app1", "monitor_name": "ping-dsr"}],
    }
    raw.update(overrides)
    return raw


def test_a_healthy_record_set_parses_without_defects() -> None:
    snap = build_snapshot(appliance(), url="https://ns", collected_at=NOW)
    assert snap.defects == ()
    dsr = snap.vservers["vs_dsr"]
    assert dsr.is_dsr
    assert dsr.m == "MAC"
    assert dsr.port == 65535
    assert dsr.services == ("svc_app1",)
    assert dsr.servicegroups == ("sg_app",)
    svc = snap.services["svc_app1"]
    assert svc.usip is False
    assert svc.useproxyport is True
    assert svc.monitors == ("ping-dsr",)
    assert snap.services["svc_web1"].port == 80  # NITRO sends some numbers as strings
    assert snap.servicegroups["sg_app"].members[0].address == ipaddress.ip_address("10.20.0.41")
    assert [str(s.address) for s in snap.snips] == ["10.20.0.5"]  # VIP and NSIP are no reach
    assert snap.snip_for(ipaddress.ip_address("10.20.0.21"), 0) is not None
    assert snap.snip_for(ipaddress.ip_address("10.99.0.1"), 0) is None
    assert snap.appliance.ha_role == "Primary"
    assert snap.appliance.ha_peers == ("10.0.0.12",)
    assert snap.appliance.release == "14.1-25.56"
    assert snap.modes.mbf is True
    assert snap.modes.usip is False


def test_the_write_ups_non_address_becomes_a_defect_not_a_crash() -> None:
    raw = appliance()
    raw["service"][0]["ipaddress"] = "333:333:33:333"
    snap = build_snapshot(raw, url="https://ns", collected_at=NOW)
    svc = snap.services["svc_app1"]
    assert svc.address is None
    assert svc.address_text == "333:333:33:333"
    [defect] = snap.defects
    assert (defect.resource, defect.name, defect.attribute) == ("service", "svc_app1", "ipaddress")
    assert "not an IPv4 or IPv6 address" in defect.problem


def test_unknown_mode_missing_fields_and_dangling_bindings_are_defects() -> None:
    raw = appliance()
    raw["lbvserver"][1]["m"] = "FOO"
    del raw["service"][1]["ipaddress"]
    raw["lbvserver_service_binding"].append({"name": "vs_web", "servicename": "ghost"})
    snap = build_snapshot(raw, url="https://ns", collected_at=NOW)
    problems = {(d.name, d.attribute, d.problem) for d in snap.defects}
    assert ("vs_web", "m", "unknown redirection mode") in problems
    assert ("svc_web1", "ipaddress", "missing address") in problems
    assert ("vs_web", "servicename", "bound service does not exist") in problems
    assert snap.vservers["vs_web"].m is None
    assert snap.vservers["vs_web"].m_text == "FOO"
    assert not snap.vservers["vs_web"].is_dsr


def test_defects_come_in_the_order_of_the_parsing_steps() -> None:
    raw = appliance(
        server=[{"name": "app-09", "ipaddress": "bogus"}],
        service_lbmonitor_binding=[{"name": "svc_app1", "monitor_name": "ghost-monitor"}],
        _unread=[{"resource": "nshostname", "error": "timeout"}],
    )
    raw["service"][1]["usip"] = "MAYBE"
    raw["servicegroup_servicegroupmember_binding"].append(
        {"servicegroupname": "sg_app", "ip": "bogus", "port": 80}
    )
    raw["servicegroup"][0]["cip"] = "SOMETIMES"
    raw["servicegroup_servicegroupmember_binding"].append(
        {"servicegroupname": "sg_gone", "ip": "10.20.0.49", "port": 80}
    )
    raw["lbvserver_servicegroup_binding"].append({"name": "vs_web", "servicegroupname": "sg_nope"})
    raw["lbvserver"][1]["m"] = "FOO"
    raw["nsip"].append({"ipaddress": "10.30.0.5", "netmask": "not-a-mask", "type": "SNIP"})
    snap = build_snapshot(raw, url="https://ns", collected_at=NOW)
    assert [(d.resource, d.attribute, d.problem) for d in snap.defects] == [
        ("server", "ipaddress", "not an IPv4 or IPv6 address"),
        ("service", "usip", "not a YES/NO value"),
        ("servicegroup_servicegroupmember_binding", "ip", "not an IPv4 or IPv6 address"),
        ("servicegroup", "cip", "not a YES/NO value"),
        (
            "servicegroup_servicegroupmember_binding",
            "servicegroupname",
            "members bound to a service group that does not exist",
        ),
        (
            "lbvserver_servicegroup_binding",
            "servicegroupname",
            "bound service group does not exist",
        ),
        ("lbvserver", "m", "unknown redirection mode"),
        ("service_lbmonitor_binding", "monitor_name", "bound monitor does not exist"),
        ("nshostname", "-", "could not be read; what depends on it is unknown"),
        ("nsip", "netmask", "not a netmask"),
    ]


def test_members_bound_by_server_name_get_the_servers_address() -> None:
    raw = appliance(
        server=[{"name": "app-03", "ipaddress": "10.20.0.43", "state": "ENABLED"}],
    )
    raw["servicegroup_servicegroupmember_binding"].append(
        {"servicegroupname": "sg_app", "servername": "app-03", "port": 65535}
    )
    snap = build_snapshot(raw, url="https://ns", collected_at=NOW)
    member = snap.servicegroups["sg_app"].members[1]
    assert member.servername == "app-03"
    assert str(member.address) == "10.20.0.43"
    assert snap.defects == ()


def test_singletons_may_arrive_as_a_one_element_list() -> None:
    raw = appliance(nsmode=[{"usip": True, "mbf": False}], nsconfig=[{"configchanged": "true"}])
    snap = build_snapshot(raw, url="https://ns", collected_at=NOW)
    assert snap.modes.usip is True
    assert snap.appliance.config_changed is True


def test_ha_roles() -> None:
    assert ha_role([{"id": "0", "state": "Secondary"}, {"id": "1", "ipaddress": "x"}])[0] == (
        "Secondary"
    )
    assert ha_role([{"id": "0", "state": "UNKNOWN"}]) == ("Standalone", ())
    assert ha_role([]) == ("Unknown", ())


def test_release_parsing_tolerates_odd_version_strings() -> None:
    assert parse_release("NetScaler NS13.0: Build 79.1002.nc, Date: Jul  7 2021") == "13.0-79.1002"
    assert parse_release("something else") is None


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 70000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
# Any JSON value: what a hand-edited file or a broken appliance may put anywhere.
any_json = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
nitro_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 70000),
    st.text(max_size=20),
    st.sampled_from(["YES", "NO", "*", "MAC", "333:333:33:333", "10.0.0.1", "::1", "255.255.0.0"]),
    any_json,
)
FIELDS = [
    "name",
    "ipaddress",
    "ipv46",
    "ip",
    "port",
    "m",
    "usip",
    "useproxyport",
    "cip",
    "state",
    "svrstate",
    "servicegroupname",
    "servicename",
    "netmask",
    "type",
    "tosid",
    "td",
    "monitor_name",
    "monitorname",
    "servername",
    "domain",
    "backupvserver",
    "ippattern",
    "ipv6address",
    "partitionname",
    "resource",
    "error",
    "lbvserver",
    "targetlbvserver",
    "policyname",
    "action",
    "hostname",
    "scriptname",
    "weight",
    "id",
    "version",
    "configchanged",
]
RESOURCES = [
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
    "csvserver",
    "csvserver_lbvserver_binding",
    "csvserver_cspolicy_binding",
    "cspolicy",
    "csaction",
    "nsip",
    "nsip6",
    "nsmode",
    "hanode",
    "nsversion",
    "nshostname",
    "nsconfig",
    "nspartition",
    "_unread",
]
records = st.dictionaries(st.sampled_from(FIELDS), nitro_values, max_size=12)
# A resource as a list of records (some not objects), a lone record, or any other JSON value.
resource_values = st.one_of(
    st.lists(st.one_of(records, records, any_json), max_size=4), records, any_json
)
record_soup = st.dictionaries(st.sampled_from(RESOURCES), resource_values)


def shown_name(value: Any) -> str:
    """The name a record is known by when its name is not text: its JSON."""
    if value is None:
        return ""
    return (
        value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    )


@settings(max_examples=300, deadline=None)
@given(record_soup)
def test_any_record_soup_parses_without_raising(raw: dict[str, Any]) -> None:
    snap = build_snapshot(raw, url="https://ns", collected_at=NOW)
    # Every vserver record in the input is accounted for, broken or not; what is no record
    # (a number, a list where a record belongs) is a defect.
    given_vservers = raw.get("lbvserver")
    listed = given_vservers if isinstance(given_vservers, list) else [given_vservers]
    vservers = [r for r in listed if isinstance(r, dict)]
    assert set(snap.vservers) == {shown_name(r.get("name")) for r in vservers}
    if given_vservers is not None and not isinstance(given_vservers, dict | list):
        assert any(d.resource == "lbvserver" for d in snap.defects)
    for defect in snap.defects:
        assert defect.problem
        assert isinstance(defect.value, str)
    for vs in snap.vservers.values():
        assert all(isinstance(name, str) for name in (*vs.services, *vs.servicegroups))


def test_records_that_are_no_objects_and_names_that_are_no_text_are_defects() -> None:
    raw = appliance(
        nspartition=True,
        nsversion="NS14.1",
        lbmonitor=[{"monitorname": ["ping"], "type": "PING"}, 7],
    )
    raw["lbvserver"].append("vs_ghost")
    raw["lbvserver"][1]["name"] = {"not": "a name"}
    raw["lbvserver_service_binding"][0]["servicename"] = ["svc_app1"]
    raw["service"][0]["servername"] = ["app-01"]
    raw["servicegroup_servicegroupmember_binding"][0]["servername"] = {"name": "app-02"}
    snap = build_snapshot(raw, url="https://ns", collected_at=NOW)
    problems = {(d.resource, d.attribute, d.value, d.problem) for d in snap.defects}
    assert ("nspartition", "-", "true", "not a list of records") in problems
    assert ("nsversion", "-", "NS14.1", "not a list of records") in problems
    assert ("lbvserver", "-", "vs_ghost", "not a record") in problems
    assert ("lbmonitor", "-", "7", "not a record") in problems
    # Each item that is no record is named by its position: one finding each.
    assert {d.name for d in snap.defects if d.problem == "not a record"} == {"(item 2)", "(item 3)"}
    assert ("lbmonitor", "monitorname", '["ping"]', "not a name") in problems
    assert ("lbvserver", "name", '{"not": "a name"}', "not a name") in problems
    assert ("lbvserver_service_binding", "servicename", '["svc_app1"]', "not a name") in problems
    assert ("service", "servername", '["app-01"]', "not a name") in problems
    assert (
        "servicegroup_servicegroupmember_binding",
        "servername",
        '{"name": "app-02"}',
        "not a name",
    ) in problems
    # The broken vserver stays visible under its JSON, and nothing is bound by a broken name.
    assert '{"not": "a name"}' in snap.vservers
    assert "svc_app1" not in snap.vservers["vs_dsr"].services
    assert snap.appliance.partitions == ()
    assert snap.services["svc_app1"].servername is None


def test_ha_nodes_and_singletons_of_odd_shape_are_defects() -> None:
    raw = appliance(nsmode=[{"usip": True}, {"usip": False}])
    raw["hanode"][1]["id"] = {"node": 1}
    raw["hanode"][1]["state"] = ["Secondary"]
    snap = build_snapshot(raw, url="https://ns", collected_at=NOW)
    problems = {(d.resource, d.attribute, d.value, d.problem) for d in snap.defects}
    assert ("nsmode", "-", "2", "several records where one belongs") in problems
    assert ("hanode", "id", '{"node": 1}', "not a node id") in problems
    assert ("hanode", "state", '["Secondary"]', "not text") in problems
    assert snap.modes.usip is True
    assert snap.appliance.ha_peers == ("10.0.0.12",)  # the peer stays known by its address


def test_a_traffic_domain_that_is_no_number_is_a_defect_not_domain_zero() -> None:
    raw = appliance()
    raw["service"][0]["td"] = ["1"]
    raw["nsip"][1]["td"] = "one"
    snap = build_snapshot(raw, url="https://ns", collected_at=NOW)
    problems = {(d.resource, d.name, d.attribute, d.problem) for d in snap.defects}
    assert ("service", "svc_app1", "td", "not a traffic domain id") in problems
    assert ("nsip", "10.20.0.5", "td", "not a traffic domain id") in problems


metadata = st.fixed_dictionaries(
    {},
    optional={
        "partition": st.one_of(any_json, st.sampled_from(["p1", "default"])),
        "url": any_json,
        "collected_at": st.one_of(any_json, st.sampled_from(["2026-01-02", "2026-01-02T03:04Z"])),
    },
)
partitions = st.dictionaries(st.sampled_from(["p1", "default"]), st.one_of(record_soup, any_json))
documents = st.one_of(
    any_json,
    st.builds(
        lambda soup, extra: {**soup, **extra},
        record_soup,
        st.fixed_dictionaries(
            {},
            optional={
                "_partitions": st.one_of(partitions, any_json),
                "_nsfix": st.one_of(metadata, any_json),
            },
        ),
    ),
)


@settings(max_examples=300, deadline=None)
@given(documents, st.sampled_from([None, "p1", "default"]))
def test_any_records_file_audits_or_is_one_clear_error(
    document: Any, partition: str | None
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "records.json"
        path.write_text(json.dumps(document))
        problem = ""
        try:
            snap = load_snapshot_file(path, partition)
        except InputError as exc:
            problem = str(exc)
        else:
            assert snap.collected_at.tzinfo is not None
            assert isinstance(snap.appliance.partition, str)
            assert isinstance(snap.appliance.url, str)
            return
        assert problem
        assert "\n" not in problem
