"""The planner: safe changes only, refusals with reasons, server tasks, and the sealed plan file."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nsfix.findings import AuditResult
from nsfix.model import Snapshot, build_snapshot
from nsfix.planfile import PlanFileError, plan_document, read_plan_document, snapshot_digest
from nsfix.planner import (
    HA_SECONDARY,
    INVALID_DATA,
    NO_LAYER2,
    SHARED_WITH_PROXY,
    Plan,
    PlanOptions,
    apply_in_memory,
    plan,
)
from nsfix.rules.engine import evaluate, parse_playbook

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = parse_playbook((ROOT / "playbooks/dsr-source-ip.yaml").read_text(), "dsr-source-ip.yaml")
TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def scenario(name: str) -> Snapshot:
    raw = json.loads((ROOT / "mocks/scenarios" / f"{name}.json").read_text())
    return build_snapshot(raw, url="https://ns", collected_at=NOW)


def audit(snap: Snapshot) -> AuditResult:
    return evaluate(snap, [PLAYBOOK], today=TODAY)


def make_plan(snap: Snapshot, **options: bool) -> Plan:
    return plan(
        snap,
        audit(snap),
        snapshot_digest=snapshot_digest(snap),
        created_at=NOW,
        options=PlanOptions(**options),
    )


def test_seed_incident_plan_fixes_both_services_in_one_update_each() -> None:
    snap = scenario("seed-incident")
    the_plan = make_plan(snap)
    assert [c.operation.verb for c in the_plan.changes] == ["update", "update"]
    first = the_plan.changes[0]
    assert first.canary
    assert dict(first.operation.record) == {
        "name": first.object.name,
        "usip": "YES",
        "useproxyport": "NO",
    }
    assert dict(first.before) == {"usip": "NO", "useproxyport": "YES"}
    assert dict(first.inverse.record) == {**dict(first.before), "name": first.object.name}
    assert {k.split()[0] for k in first.fixes} == {"DSR-USIP", "DSR-PROXYPORT"}
    assert the_plan.refusals == ()
    assert audit(apply_in_memory(snap, the_plan)).active() == []
    # Each backend of the DSR VIP gets its server-side list, once.
    assert [t.address for t in the_plan.server_tasks] == ["10.10.20.31", "10.10.20.32"]
    titles = " ".join(i.title for i in the_plan.server_tasks[0].items)
    assert "loopback" in titles
    assert "ARP" in titles
    assert "default gateway" in titles


def test_healthy_appliance_needs_no_plan() -> None:
    the_plan = make_plan(scenario("healthy"))
    assert the_plan.empty
    assert the_plan.refusals == ()


def test_mixed_refusals_each_have_their_reason() -> None:
    the_plan = make_plan(scenario("mixed"))
    codes = {r.object.name: r.code for r in the_plan.refusals}
    assert codes["svc_shared_01"] == SHARED_WITH_PROXY
    assert codes["svc_far_01"] == NO_LAYER2
    assert codes["svc_badaddr_01"] == INVALID_DATA
    shared = next(r for r in the_plan.refusals if r.code == SHARED_WITH_PROXY)
    assert shared.alternative is not None
    assert "--dedicated-copies" in shared.alternative
    changed = {c.object.name for c in the_plan.changes}
    assert not changed & set(codes)
    # The script-only monitor is guidance unless the operator opts in.
    assert any(f.rule == "DSR-MONITOR" for f in the_plan.guidance)
    assert all(c.operation.verb == "update" for c in the_plan.changes)


def test_opt_ins_bind_a_monitor_and_give_dsr_its_own_copy() -> None:
    snap = scenario("mixed")
    the_plan = make_plan(snap, bind_monitor=True, dedicated_copies=True)
    binds = [c for c in the_plan.changes if c.operation.resource == "service_lbmonitor_binding"]
    assert any(c.operation.record["monitor_name"] == "ping-default" for c in binds)
    copy = [c for c in the_plan.changes if c.group == "copy:svc_shared_01"]
    assert next(c.operation.verb for c in copy) == "add"
    assert [c.operation.verb for c in copy][-2:] == ["bind", "unbind"]
    for change in copy:  # every step has its inverse
        assert (
            change.inverse.verb
            == {"add": "delete", "bind": "unbind", "unbind": "bind"}[change.operation.verb]
        )
    after = apply_in_memory(snap, the_plan)
    assert "svc_shared_01" not in after.vservers["vs_shared_mac"].services
    assert "svc_shared_01_dsr" in after.vservers["vs_shared_mac"].services
    assert after.services["svc_shared_01"].usip is False  # the proxy-mode user is untouched
    remaining = {(f.rule, f.object.name) for f in audit(after).active() if f.remediation.automatic}
    assert remaining == {
        (r, n) for r in ("DSR-USIP", "DSR-PROXYPORT") for n in ("svc_far_01", "svc_badaddr_01")
    }


def test_nothing_is_planned_on_an_ha_secondary() -> None:
    raw = json.loads((ROOT / "mocks/scenarios/seed-incident.json").read_text())
    for node in raw["hanode"]:
        node["state"] = "Secondary" if str(node["id"]) == "0" else "Primary"
    snap = build_snapshot(raw, url="https://ns", collected_at=NOW)
    the_plan = make_plan(snap)
    assert the_plan.empty
    assert {r.code for r in the_plan.refusals} == {HA_SECONDARY}


def test_plan_file_round_trips_and_detects_any_edit() -> None:
    the_plan = make_plan(scenario("mixed"), bind_monitor=True, dedicated_copies=True)
    document = json.loads(json.dumps(plan_document(the_plan)))
    assert read_plan_document(document) == the_plan
    edited = json.loads(json.dumps(document))
    edited["plan"]["changes"][0]["operation"]["record"]["usip"] = "NO"
    with pytest.raises(PlanFileError, match="changed after it was made"):
        read_plan_document(edited)
    with pytest.raises(PlanFileError, match="not an nsfix plan"):
        read_plan_document({"schema": "something"})
    with pytest.raises(PlanFileError, match="not supported"):
        read_plan_document({**document, "schema_version": 99})


# --- properties over generated appliances ----------------------------------------------------

SNIP_NET = "10.20.0"


@st.composite
def appliances(draw: st.DrawFn) -> dict[str, Any]:
    n_services = draw(st.integers(1, 8))
    services = []
    for i in range(n_services):
        address = draw(
            st.sampled_from(
                [
                    f"{SNIP_NET}.{10 + i}",
                    f"{SNIP_NET}.{10 + i}",
                    f"172.16.9.{i + 1}",
                    "333:333:33:333",
                ]
            )
        )
        services.append(
            {
                "name": f"svc{i}",
                "ipaddress": address,
                "port": 65535,
                "servicetype": "ANY",
                "usip": draw(st.sampled_from(["YES", "NO"])),
                "useproxyport": draw(st.sampled_from(["YES", "NO"])),
                "state": draw(st.sampled_from(["ENABLED", "ENABLED", "DISABLED"])),
                "svrstate": draw(st.sampled_from(["UP", "DOWN"])),
            }
        )
    n_vs = draw(st.integers(1, 5))
    vservers, bindings = [], []
    for v in range(n_vs):
        mode = draw(st.sampled_from(["MAC", "MAC", "IP", "IPTUNNEL", "TOS", "BOGUS"]))
        vservers.append(
            {
                "name": f"vs{v}",
                "ipv46": f"198.51.100.{v + 1}",
                "port": 65535,
                "servicetype": "ANY",
                "m": mode,
                "tosid": "7" if mode == "TOS" else None,
            }
        )
        for i in draw(st.sets(st.integers(0, n_services - 1), max_size=3)):
            bindings.append({"name": f"vs{v}", "servicename": f"svc{i}"})
    monitors = [
        {"monitorname": "mon_script", "type": "USER", "scriptname": "x.pl"},
        {"monitorname": "mon_ping", "type": "PING"},
    ]
    monitor_bindings = [
        {"name": f"svc{i}", "monitor_name": draw(st.sampled_from(["mon_script", "mon_ping"]))}
        for i in draw(st.sets(st.integers(0, n_services - 1), max_size=3))
    ]
    return {
        "nsip": [{"ipaddress": f"{SNIP_NET}.1", "netmask": "255.255.255.0", "type": "SNIP"}],
        "nsmode": {"usip": draw(st.booleans()), "mbf": True},
        "hanode": [{"id": "0", "state": "Primary"}],
        "lbvserver": vservers,
        "lbvserver_service_binding": bindings,
        "service": services,
        "lbmonitor": monitors,
        "service_lbmonitor_binding": monitor_bindings,
    }


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=appliances(), bind_monitor=st.booleans(), dedicated_copies=st.booleans())
def test_applying_a_plan_leaves_nothing_remediable_and_touches_only_findings(
    raw: dict[str, Any], bind_monitor: bool, dedicated_copies: bool
) -> None:
    snap = build_snapshot(raw, url="https://ns", collected_at=NOW)
    result = audit(snap)
    the_plan = plan(
        snap,
        result,
        snapshot_digest="x",
        created_at=NOW,
        options=PlanOptions(bind_monitor, dedicated_copies),
    )
    finding_objects = {f.object.name for f in result.active()}
    refused = {r.object.name for r in the_plan.refusals}
    for change in the_plan.changes:
        origin = change.group.split(":", 1)[1] if change.group else change.object.name
        assert origin in finding_objects
        assert origin not in refused
    after = apply_in_memory(snap, the_plan)
    for finding in audit(after).active():
        if finding.remediation.automatic:
            assert finding.object.name in refused, finding
        if bind_monitor and finding.rule == "DSR-MONITOR":
            assert finding.object.name in refused, finding
    # Undoing every update restores the observed values exactly.
    for change in the_plan.changes:
        if change.operation.verb == "update":
            assert set(change.inverse.record) == set(change.operation.record)
            assert all(change.inverse.record[k] == v for k, v in change.before.items())
