"""Issue 9's situations end to end: the CLI against the mock appliance, and offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mocks.fixtures import MockFactory
from tests.apply.helpers import (
    Nsfix,
    journal_dir_fixture,  # noqa: F401
    make_plan,
    nsfix_fixture,  # noqa: F401
    scenario,
)

SCENARIO = Path(__file__).resolve().parents[2] / "mocks" / "scenarios" / "topology.json"


def refusals(document: dict[str, Any]) -> dict[str, str]:
    return {r["object"]["name"]: r["code"] for r in document["plan"]["refusals"]}


def changed(document: dict[str, Any]) -> set[str]:
    return {c["object"]["name"] for c in document["plan"]["changes"]}


def test_topology_is_judged_the_same_live_and_offline(
    nsfix: Nsfix, mock_appliance_factory: MockFactory, tmp_path: Path
) -> None:
    mock = mock_appliance_factory(scenario("topology"))
    live = make_plan(nsfix, mock.url, tmp_path / "live.json")
    offline_run = nsfix("plan", "--from-file", str(SCENARIO), "-o", str(tmp_path / "off.json"))
    assert offline_run.code == 0, offline_run.err
    offline = json.loads((tmp_path / "off.json").read_text())
    for document in (live, offline):
        # Traffic domain 7's only matching SNIP is in traffic domain 0: no adjacency.
        assert refusals(document)["svc_td_far"] == "other-traffic-domain"
        # A group with one member outside every SNIP subnet changes only if all allow it.
        assert refusals(document)["sg_mixed"] == "no-layer2-adjacency"
        [sg] = [r for r in document["plan"]["refusals"] if r["object"]["name"] == "sg_mixed"]
        assert "172.16.70.102" in sg["reason"]
        # IPv6 backends in an nsip6 subnet, the same-domain backend, a backup, a cs target.
        assert {"svc_td_ok", "svc_v6", "svc_backup", "svc_cs"} <= changed(document)
        tasks = {t["address"]: t["vips"] for t in document["plan"]["server_tasks"]}
        assert tasks["10.30.0.82"] == ["203.0.113.80"]  # the primary's VIP, never 0.0.0.0
        assert tasks["10.30.0.91"] == ["203.0.113.90"]  # the content-switching VIP
        assert tasks["2001:db8:30::21"] == ["2001:db8:100::10"]
    # The mock reports usip as NITRO does (the effective value); the saved records leave it out.
    assert "svc_inherit" in changed(live)
    assert refusals(offline)["svc_inherit"] == "invalid-data"


def test_an_audit_of_records_without_usip_fails_as_explain_shows(nsfix: Nsfix) -> None:
    audit = nsfix("audit", "--from-file", str(SCENARIO), "--json")
    assert audit.code == 2
    findings = {
        (f["rule"], f["object"]["name"]) for f in json.loads(audit.out)["targets"][0]["findings"]
    }
    assert ("DSR-USIP", "svc_inherit") in findings
    explain = nsfix("explain", "vs_inherit", "--from-file", str(SCENARIO))
    assert explain.code == 0, explain.err
    assert "loop" in explain.out


@pytest.mark.parametrize("state", ["UNKNOWN", "Claiming", "Secondary"])
def test_a_node_that_is_not_the_primary_gets_no_plan(
    nsfix: Nsfix, mock_appliance_factory: MockFactory, state: str
) -> None:
    data = scenario("seed-incident")
    data["_mock"]["ha_state"] = state
    node = mock_appliance_factory(data)
    planned = nsfix("plan", "--json", url=node.url)
    assert planned.code == 0, planned.err
    document = json.loads(planned.out)
    assert not document["plan"]["changes"]
    refused = document["plan"]["refusals"]
    assert refused
    assert {r["code"] for r in refused} == {"ha-not-primary"}
    assert all("use the primary 10.255.0.11 instead" in r["reason"] for r in refused)


@pytest.mark.parametrize("state", ["UNKNOWN", "Claiming", "Secondary"])
def test_apply_preflight_refuses_a_node_that_left_primary_and_names_the_primary(
    nsfix: Nsfix, mock_appliance_factory: MockFactory, tmp_path: Path, state: str
) -> None:
    mock = mock_appliance_factory(scenario("seed-incident"))
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    mock.appliance.set_ha_state(state)  # the node drops out of Primary after the plan
    run = nsfix("apply", str(plan_path), "--yes", "--settle", "0", url=mock.url)
    assert run.code == 4, run.out + run.err
    assert "use the primary 10.255.0.11 instead" in run.err
    assert mock.appliance.counters["writes"] == 0


def test_an_appliance_without_a_hostname_works_end_to_end(
    nsfix: Nsfix, mock_appliance_factory: MockFactory, tmp_path: Path
) -> None:
    data = scenario("seed-incident")
    data["_mock"]["hostname"] = None
    mock = mock_appliance_factory(data)
    inventory = nsfix("inventory", "--json", url=mock.url)
    assert inventory.code == 0, inventory.err
    plan_path = tmp_path / "plan.json"
    document = make_plan(nsfix, mock.url, plan_path)
    assert document["plan"]["target"]["hostname"] is None
    applied = nsfix("apply", str(plan_path), "--yes", "--settle", "0", url=mock.url)
    assert applied.code == 0, applied.out + applied.err


def test_the_unknown_node_scenario_is_named_by_address_and_gets_no_plan(
    nsfix: Nsfix, mock_appliance_factory: MockFactory
) -> None:
    mock = mock_appliance_factory(scenario("unknown-node"))
    inventory = json.loads(nsfix("inventory", "--json", url=mock.url).out)
    assert inventory["appliance"]["hostname"] is None
    assert inventory["appliance"]["ha_role"] == "Unknown"
    planned = nsfix("plan", "--json", url=mock.url)
    document = json.loads(planned.out)
    assert not document["plan"]["changes"]
    assert {r["code"] for r in document["plan"]["refusals"]} == {"ha-not-primary"}
    assert all("10.255.0.11" in r["reason"] for r in document["plan"]["refusals"])
