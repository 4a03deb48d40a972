"""GETs as NITRO answers them: names, attrs, filter, count, paging, bindings, defaults, states."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mocks.appliance import Appliance
from mocks.fixtures import MockFactory, RunningMock
from mocks.scenario import ScenarioError
from tests.mock.conftest import Nitro


def twice(name: str) -> str:
    """How every official client encodes a name in the URL path."""
    return quote(quote(name, safe=""), safe="")


# NetScaler names (reference §1): a letter or underscore, then letters, digits and
# `_ # . space : @ = -`; most of those need URL encoding, `#` even cuts a URL short unencoded.
LEGAL = "abcXYZ019_#. :@=-"
NAMES = st.builds(lambda first, rest: first + rest, st.sampled_from("abcXYZ_"),
                  st.text(st.sampled_from(LEGAL), max_size=30))
# Names holding at least one character an appliance refuses (`/`, `%`, `+`, non-ASCII ...).
ILLEGAL = st.builds(
    lambda head, bad, tail: head + bad + tail,
    st.sampled_from("abc_"),
    st.characters(exclude_categories=["Cs"]).filter(
        lambda c: re.fullmatch(r"[A-Za-z0-9_#. :@=-]", c) is None),
    st.text(st.sampled_from(LEGAL), max_size=5),
)


def _for_every_name(running: RunningMock, names: st.SearchStrategy[str], examples: int,
                    check: Callable[[requests.Session, str, dict[str, Any]], None]) -> None:
    """Run check(http, base_url, body) for each generated name, as nsroot, per request."""
    with requests.Session() as http:
        http.headers.update({"X-NITRO-USER": "nsroot", "X-NITRO-PASS": "nsroot"})
        base = f"{running.url}/nitro/v1/config/service"

        @settings(max_examples=examples, deadline=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(name=names)
        def each(name: str) -> None:
            check(http, base, {"service": {"name": name, "ip": "10.0.0.5",
                                           "servicetype": "HTTP", "port": 80}})

        each()


def test_any_name_round_trips_through_double_encoding(mock_appliance_factory: MockFactory) -> None:
    def check(http: requests.Session, base: str, body: dict[str, Any]) -> None:
        name = body["service"]["name"]
        added = http.post(base, json=body, timeout=10)
        assert added.status_code == 201, added.text
        got = http.get(f"{base}/{twice(name)}", timeout=10)
        assert got.status_code == 200, got.text
        assert got.json()["service"][0]["name"] == name
        assert http.delete(f"{base}/{twice(name)}", timeout=10).status_code == 200
        assert http.get(f"{base}/{twice(name)}", timeout=10).status_code == 404

    _for_every_name(mock_appliance_factory({}), NAMES, 60, check)


def test_a_name_outside_the_netscaler_charset_is_refused(
        mock_appliance_factory: MockFactory) -> None:
    running = mock_appliance_factory({})

    def check(http: requests.Session, base: str, body: dict[str, Any]) -> None:
        refused = http.post(base, json=body, timeout=10)
        assert refused.status_code == 400, refused.text
        assert refused.json()["errorcode"] == 1097
        assert running.appliance.config()["service"] == []

    _for_every_name(running, ILLEGAL, 40, check)


def test_single_encoded_name_with_space_also_resolves(nitro: Nitro, basic: dict[str, Any],
                                                      mock: RunningMock) -> None:
    nitro.post("service", {"service": {"name": "web svc", "ip": "10.0.0.6",
                                       "servicetype": "HTTP", "port": 80}})
    assert nitro.one("service/web%20svc")["name"] == "web svc"


def test_attrs_returns_only_those_asked_for(nitro: Nitro) -> None:
    records = nitro.records("service?attrs=usip,svrstate")
    assert {tuple(sorted(r)) for r in records} == {("svrstate", "usip")}
    binding = nitro.records("lbvserver_service_binding/vs_dsr?attrs=curstate")
    assert binding[0].keys() == {"curstate"}
    assert nitro.records("service?attrs=nosuchattr") == [{}, {}, {}]


def test_attrs_with_keys_switch_adds_the_keys(
        mock_appliance_factory: MockFactory, basic: dict[str, Any]) -> None:
    basic["_mock"]["attrs_keys"] = True
    nitro = Nitro(mock_appliance_factory(basic).url)
    records = nitro.records("service?attrs=usip,svrstate")
    assert {tuple(sorted(r)) for r in records} == {("name", "svrstate", "usip")}
    binding = nitro.records("lbvserver_service_binding/vs_dsr?attrs=curstate")
    assert binding[0].keys() == {"name", "servicename", "curstate"}


def test_attrs_unknown_switch_refuses_an_unknown_attribute(
        mock_appliance_factory: MockFactory, basic: dict[str, Any]) -> None:
    basic["_mock"]["attrs_unknown"] = "error"
    nitro = Nitro(mock_appliance_factory(basic).url)
    reply = nitro.get("service?attrs=usip,nosuchattr")
    assert reply.status_code == 599
    assert reply.json() == {"errorcode": 278, "message": "Invalid argument [nosuchattr]",
                            "severity": "ERROR"}
    assert nitro.records("service?attrs=usip,svrstate")[0].keys() == {"usip", "svrstate"}


def test_filter_exact_regex_and_computed(nitro: Nitro) -> None:
    assert [r["name"] for r in nitro.records("lbvserver?filter=m:MAC")] == ["vs_dsr"]
    assert [r["name"] for r in nitro.records("service?filter=name:/^svc_dsr/")] == [
        "svc_dsr_1", "svc_dsr_2"]
    assert [r["name"] for r in nitro.records("service?filter=svrstate:DOWN")] == ["svc_dsr_2"]
    assert nitro.records("lbvserver?filter=m:TOS") == []
    both = nitro.records("service?filter=servicetype:ANY,usip:NO&attrs=name")
    assert [r["name"] for r in both] == ["svc_dsr_1", "svc_dsr_2"]
    encoded_whole = nitro.records("service?filter=" + quote("name:svc_web", safe=""))
    assert [r["name"] for r in encoded_whole] == ["svc_web"]


def test_count_and_paging(nitro: Nitro) -> None:
    assert nitro.get("service?count=yes").json()["service"] == [{"__count": 3}]
    assert nitro.get("service?count=yes&filter=servicetype:ANY").json()["service"] == [
        {"__count": 2}]
    assert nitro.get("lbvserver?count=yes&filter=m:TOS").json()["lbvserver"] == [
        {"__count": 0}]
    pages = [[r["name"] for r in nitro.records(f"service?pagesize=2&pageno={n}&attrs=name")]
             for n in (1, 2, 3)]
    assert pages == [["svc_dsr_1", "svc_dsr_2"], ["svc_web"], []]


def test_view_summary_keeps_the_mandatory_attributes(nitro: Nitro) -> None:
    summary = nitro.one("service/svc_web?view=summary")
    assert set(summary) == {"name", "servername", "ipaddress", "servicetype", "port"}
    assert "usip" in nitro.one("service/svc_web?view=detail")


def test_args_identify_and_unknown_qualifiers_are_ignored(nitro: Nitro) -> None:
    assert len(nitro.records("service?args=all:true")) == 3
    assert len(nitro.records("nsip?args=ipaddress:10.0.0.2")) == 2
    assert nitro.one("nsip/10.0.0.2?args=td:1")["td"] == "1"


def test_bindings_by_parent_in_bulk_and_aggregate(nitro: Nitro) -> None:
    by_parent = nitro.records("lbvserver_service_binding/vs_dsr")
    assert [b["servicename"] for b in by_parent] == ["svc_dsr_1", "svc_dsr_2"]
    everything = nitro.records("lbvserver_service_binding?bulkbindings=yes")
    assert {(b["name"], b["servicename"]) for b in everything} == {
        ("vs_dsr", "svc_dsr_1"), ("vs_dsr", "svc_dsr_2"), ("vs_web", "svc_web")}
    refused = nitro.get("lbvserver_service_binding")
    assert refused.status_code == 400
    assert refused.json()["errorcode"] == 1095
    assert nitro.get("lbvserver_service_binding/vs_empty").json() == {
        "errorcode": 0, "message": "Done", "severity": "NONE"}
    missing = nitro.get("lbvserver_service_binding/vs_nope")
    assert missing.status_code == 404
    assert missing.json()["message"] == "No such resource [name, vs_nope]"
    aggregate = nitro.one("lbvserver_binding/vs_web")
    assert [b["servicename"] for b in aggregate["lbvserver_service_binding"]] == ["svc_web"]
    assert aggregate["lbvserver_servicegroup_binding"][0]["servicegroupname"] == "sg_app"
    all_aggregates = nitro.records("lbvserver_binding?bulkbindings=yes")
    assert [a["name"] for a in all_aggregates] == ["vs_dsr", "vs_web", "vs_empty"]
    # Paged like any collection, by parent: each parent comes with all its bindings.
    pages = [nitro.records(f"lbvserver_binding?bulkbindings=yes&pagesize=2&pageno={n}")
             for n in (1, 2, 3)]
    assert [[a["name"] for a in page] for page in pages] == [["vs_dsr", "vs_web"], ["vs_empty"], []]
    assert pages[0][1]["lbvserver_servicegroup_binding"][0]["servicegroupname"] == "sg_app"
    members = nitro.records("servicegroup_servicegroupmember_binding/sg_app")
    assert [(m["ip"], m["port"], m["servername"]) for m in members] == [
        ("10.0.0.21", 8080, "10.0.0.21"), ("10.0.0.22", 8080, "10.0.0.22")]


def test_binding_echoes_service_fields(nitro: Nitro) -> None:
    binding = nitro.records("lbvserver_service_binding/vs_dsr")[1]
    assert binding["ipv46"] == "10.0.0.12"
    assert binding["port"] == 65535
    assert binding["servicetype"] == "ANY"
    assert binding["curstate"] == "DOWN"
    assert binding["weight"] == "1"


def test_defaults_are_echoed(nitro: Nitro) -> None:
    web = nitro.one("service/svc_web")
    assert web["usip"] == "NO"  # inherited from the global mode, which is off
    assert web["useproxyport"] == "YES"
    assert web["state"] == "ENABLED"
    assert web["cip"] == "DISABLED"
    assert web["servername"] == "10.0.0.13"
    assert web["clttimeout"] == "180"
    vs = nitro.one("lbvserver/vs_web")
    assert (vs["m"], vs["lbmethod"], vs["sessionless"]) == ("IP", "LEASTCONNECTION", "DISABLED")
    snip = nitro.records("nsip")[0]
    assert (snip["type"], snip["arp"], snip["td"]) == ("SNIP", "ENABLED", "0")


def test_partition_inherits_its_own_global_usip(clients: Any) -> None:
    client = clients()
    client.login()
    assert client.post("nspartition?action=Switch",
                       {"nspartition": {"partitionname": "p1"}}).status_code == 200
    assert client.one("service/p1_svc")["usip"] == "YES"


def test_singletons_are_objects(nitro: Nitro) -> None:
    version = nitro.get("nsversion").json()["nsversion"]
    assert re.match(r"NetScaler NS(\d+\.\d+): Build (\d+\.\d+)\.nc", version["version"])
    assert version["mode"] == "1"
    mode = nitro.get("nsmode").json()["nsmode"]
    assert mode["mbf"] is True
    assert mode["usip"] is False
    assert "MBF" in mode["mode"]
    config = nitro.get("nsconfig?attrs=configchanged").json()["nsconfig"]
    assert config == {"configchanged": False}
    assert nitro.get("nshostname").json()["nshostname"]["hostname"] == "ns-test"


def test_one_element_list_singletons_and_lenient_records(
        mock_appliance_factory: MockFactory) -> None:
    running = mock_appliance_factory({
        "nsversion": [{"version": "NetScaler NS13.1: Build 49.13.nc, Date: x", "mode": "1"}],
        "nsmode": [{"usip": True}],
        "service": [{"name": "weird", "ipaddress": "333:333:33:333", "servicetype": "ANY",
                     "port": "*"}],
        "lbvserver": [{"name": "odd", "ipv46": "10.0.0.1", "m": "BOGUS", "servicetype": "ANY"}],
    })
    client = Nitro(running.url)
    assert client.get("nsversion").json()["nsversion"]["version"].startswith("NetScaler NS13.1")
    weird = client.one("service/weird")
    assert weird["ipaddress"] == "333:333:33:333"
    assert weird["usip"] == "YES"
    assert client.one("lbvserver/odd")["m"] == "BOGUS"


def test_empty_missing_and_unknown(nitro: Nitro, mock_appliance_factory: MockFactory) -> None:
    empty = Nitro(mock_appliance_factory({}).url)
    assert empty.get("lbvserver").json() == {"errorcode": 0, "message": "Done",
                                             "severity": "NONE"}
    missing = nitro.get("service/nope")
    assert missing.status_code == 404
    assert missing.json() == {"errorcode": 258, "message": "No such resource [name, nope]",
                              "severity": "ERROR"}
    unknown = nitro.get("lbvservers")
    assert unknown.status_code == 400
    assert unknown.json()["errorcode"] == 1232


def test_unmodeled_types_are_served_as_given(mock_appliance_factory: MockFactory) -> None:
    running = mock_appliance_factory({
        "sslcertkey": [{"certkey": "web", "cert": "/nsconfig/ssl/web.pem", "nested": [1, 2]},
                       {"certkey": "api", "cert": "/nsconfig/ssl/api.pem"}],
    })
    client = Nitro(running.url)
    assert [r["certkey"] for r in client.records("sslcertkey")] == ["web", "api"]
    assert client.one("sslcertkey/web")["nested"] == [1, 2]
    assert client.get("sslcertkey/none").status_code == 404


def test_computed_states(nitro: Nitro, mock: RunningMock) -> None:
    states = {r["name"]: r["curstate"] for r in nitro.records("lbvserver?attrs=name,curstate")}
    assert states == {"vs_dsr": "UP", "vs_web": "UP", "vs_empty": "DOWN"}
    dsr = nitro.one("lbvserver/vs_dsr")
    assert (dsr["health"], dsr["totalservices"], dsr["activeservices"]) == ("50", "2", "1")
    group = nitro.one("servicegroup/sg_app")
    assert group["servicegroupeffectivestate"] == "PARTIAL-UP"
    mock.appliance.set_attribute("service", "svc_dsr_1", {"svrstate": "DOWN"})
    assert nitro.one("lbvserver/vs_dsr?attrs=curstate")["curstate"] == "DOWN"
    assert mock.appliance.config_changed() is False  # health is not configuration


def test_stat_endpoints(nitro: Nitro) -> None:
    ha = nitro.get("hanode", api="stat").json()["hanode"]
    assert (ha["hacurstatus"], ha["hacurstate"], ha["hacurmasterstate"]) == (
        "NO", "UP", "PRIMARY")
    vs = nitro.get("lbvserver/vs_dsr", api="stat").json()["lbvserver"][0]
    assert (vs["state"], vs["actsvcs"], vs["inactsvcs"]) == ("UP", "1", "1")
    svc = nitro.get("service", api="stat").json()["service"]
    assert {s["name"]: s["state"] for s in svc}["svc_dsr_2"] == "DOWN"
    assert nitro.get("nope", api="stat").status_code == 400


def test_standalone_hanode_is_node_zero_primary(nitro: Nitro) -> None:
    nodes = nitro.records("hanode")
    assert len(nodes) == 1
    assert (nodes[0]["id"], nodes[0]["state"]) == (0, "Primary")


def test_running_config_text(nitro: Nitro) -> None:
    text = nitro.get("nsrunningconfig").json()["nsrunningconfig"]["response"]
    assert "add service svc_dsr_1 srv1 ANY * -usip NO" in text
    assert "add lb vserver vs_dsr ANY 203.0.113.10 * -m MAC" in text
    assert "bind lb vserver vs_dsr svc_dsr_2" in text


def test_scenario_errors_are_clear(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"service": [\n  {"name": "a",}\n]}', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"broken\.json: invalid JSON at line 2"):
        Appliance.from_scenario(broken)
    listing = tmp_path / "list.json"
    listing.write_text("[]", encoding="utf-8")
    with pytest.raises(ScenarioError, match="top level must be a JSON object"):
        Appliance.from_scenario(listing)
    with pytest.raises(ScenarioError, match=r"service\[0\]"):
        Appliance.from_scenario({"service": ["not a record"]})
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"service": [{"name": "a", "ipaddress": "10.0.0.1",
                                             "servicetype": "HTTP", "port": 80}]}))
    assert Appliance.from_scenario(str(good)).config()["service"][0]["usip"] == "NO"


def test_large_table_get_with_attrs_is_fast(mock_appliance_factory: MockFactory) -> None:
    services = [{"name": f"svc{i}", "ipaddress": f"10.{i // 65536}.{i // 256 % 256}.{i % 256}",
                 "servicetype": "ANY", "port": 65535} for i in range(50_000)]
    running = mock_appliance_factory({"service": services})
    client = Nitro(running.url)
    client.get("nsversion")  # warm the connection
    started = time.perf_counter()
    reply = client.get("service?attrs=name,usip,useproxyport")
    elapsed = time.perf_counter() - started
    assert reply.status_code == 200
    assert len(reply.json()["service"]) == 50_000
    assert elapsed < 1.0, f"GET of 50,000 services took {elapsed:.2f}s"
