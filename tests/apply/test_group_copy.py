"""A service group shared by DSR and proxy-mode virtual servers, copied by --dedicated-copies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from mocks.appliance import Appliance
from mocks.fixtures import MockFactory
from nsfix.schemas import load_schema
from tests.apply.helpers import (
    Nsfix,
    config_diff,
    journal_dir_fixture,  # noqa: F401
    make_plan,
    nsfix_fixture,  # noqa: F401
    only_journal,
    scenario,
    step_outcomes,
)
from tests.apply.test_property import configuration, plan_apply_roll_back

GROUP = "sg_dsr_bad"
COPY = "sg_dsr_bad_dsr"


def shared_group_scenario() -> dict[str, Any]:
    """The mixed scenario, with the DSR group sg_dsr_bad also behind the proxy-mode vs_shared_ip."""
    data = scenario("mixed")
    data["lbvserver_servicegroup_binding"].append(
        {"name": "vs_shared_ip", "servicegroupname": GROUP}
    )
    return data


def group_bindings(appliance: Appliance) -> set[tuple[str, str]]:
    rows = appliance.config()["lbvserver_servicegroup_binding"]
    return {(r["name"], r["servicegroupname"]) for r in rows}


def members(appliance: Appliance, group: str) -> set[tuple[str, str, str]]:
    rows = appliance.config()["servicegroup_servicegroupmember_binding"]
    return {
        (r["ip"], str(r["port"]), str(r["weight"])) for r in rows if r["servicegroupname"] == group
    }


def audit_findings(nsfix: Nsfix, url: str) -> list[dict[str, Any]]:
    run = nsfix("audit", "--json", url=url)
    document = json.loads(run.out)
    [target] = document["targets"]
    found: list[dict[str, Any]] = target["findings"]
    return found


def test_a_shared_group_is_copied_for_dsr_and_the_rollback_restores_the_appliance(
    nsfix: Nsfix, mock_appliance_factory: MockFactory, journal_dir: Path, tmp_path: Path
) -> None:
    mock = mock_appliance_factory(shared_group_scenario())
    before = configuration(mock.appliance)
    shared = [f for f in audit_findings(nsfix, mock.url) if f["object"]["name"] == GROUP]
    assert {f["rule"] for f in shared} >= {"DSR-USIP", "DSR-PROXYPORT"}

    plan_path = tmp_path / "plan.json"
    document = make_plan(nsfix, mock.url, plan_path, "--dedicated-copies")
    steps = [c for c in document["plan"]["changes"] if c["group"] == f"copy:{GROUP}"]
    assert [(c["operation"]["verb"], c["operation"]["resource"]) for c in steps] == [
        ("add", "servicegroup"),
        ("bind", "servicegroup_servicegroupmember_binding"),
        ("bind", "servicegroup_servicegroupmember_binding"),
        ("bind", "servicegroup_lbmonitor_binding"),
        ("bind", "lbvserver_servicegroup_binding"),
        ("unbind", "lbvserver_servicegroup_binding"),
    ]
    assert GROUP not in {r["object"]["name"] for r in document["plan"]["refusals"]}
    Draft202012Validator(load_schema("plan")).validate(document)

    applied = nsfix("apply", str(plan_path), "--yes", "--settle", "0", "--json")
    assert applied.code == 0, applied.out + applied.err
    Draft202012Validator(load_schema("result")).validate(json.loads(applied.out))
    outcome = step_outcomes(json.loads(applied.out))
    assert all(outcome[c["id"]] == "applied and verified" for c in steps), outcome

    # The DSR virtual server now uses the copy with usip YES; the proxy-mode one keeps the group.
    bound = group_bindings(mock.appliance)
    assert ("vs_sg_dsr", COPY) in bound
    assert ("vs_sg_dsr", GROUP) not in bound
    assert ("vs_shared_ip", GROUP) in bound
    copy = next(g for g in mock.appliance.config()["servicegroup"] if g["servicegroupname"] == COPY)
    assert (copy["usip"], copy["useproxyport"]) == ("YES", "NO")
    original = next(
        g for g in mock.appliance.config()["servicegroup"] if g["servicegroupname"] == GROUP
    )
    assert original["usip"] == "NO"
    assert members(mock.appliance, COPY) == members(mock.appliance, GROUP)
    monitors = mock.appliance.config()["servicegroup_lbmonitor_binding"]
    assert {m["monitor_name"] for m in monitors if m["servicegroupname"] == COPY} == {"mon_ping"}
    # And the audit has nothing left to say about either group.
    left = [
        f
        for f in audit_findings(nsfix, mock.url)
        if f["object"]["name"] in {GROUP, COPY} and f["rule"] != "DSR-USIP-INHERITED"
    ]
    assert left == []

    undone = nsfix("rollback", str(only_journal(journal_dir)), "--yes", "--settle", "0")
    assert undone.code == 0, undone.out + undone.err
    after = configuration(mock.appliance)
    assert after == before, "\n".join(config_diff(before, after))


def test_a_group_copy_goes_out_as_the_reference_requests(
    nsfix: Nsfix, mock_appliance_factory: MockFactory, tmp_path: Path
) -> None:
    mock = mock_appliance_factory(shared_group_scenario())
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path, "--dedicated-copies")
    dry = nsfix("apply", str(plan_path), "--dry-run")
    assert dry.code == 0, dry.err
    lines = [line.strip() for line in dry.out.splitlines()]
    assert "POST /nitro/v1/config/servicegroup" in lines
    assert lines.count("PUT /nitro/v1/config/servicegroup_servicegroupmember_binding") == 2
    assert (
        "DELETE /nitro/v1/config/lbvserver_servicegroup_binding/vs_sg_dsr"
        f"?args=servicegroupname:{GROUP}" in lines
    )
    bodies = [json.loads(line) for line in lines if line.startswith("{")]
    member_bodies = [
        b["servicegroup_servicegroupmember_binding"]
        for b in bodies
        if "servicegroup_servicegroupmember_binding" in b
    ]
    assert member_bodies == [
        {"servicegroupname": COPY, "servername": "sgm-01", "port": 65535, "weight": 1},
        {"servicegroupname": COPY, "servername": "sgm-02", "port": 65535, "weight": 1},
    ]
    assert mock.appliance.counters["writes"] == 0


def test_rolling_back_a_group_copy_restores_the_binding_weight() -> None:
    data = shared_group_scenario()
    for binding in data["lbvserver_servicegroup_binding"]:
        if binding["servicegroupname"] == GROUP:
            binding["weight"] = "5"
    plan_apply_roll_back(data, ["--dedicated-copies"])
