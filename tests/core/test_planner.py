"""The planner: safe changes only, refusals with reasons, server tasks, and the sealed plan file."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from nsfix.findings import AuditResult
from nsfix.model import ServiceGroup, Snapshot, build_snapshot
from nsfix.planfile import PlanFileError, plan_document, read_plan_document, snapshot_digest
from nsfix.planner import (
    Change,
    Plan,
    PlanOptions,
    RefusalReason,
    Verb,
    apply_in_memory,
    plan,
)
from nsfix.rules.engine import evaluate, parse_playbook

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = parse_playbook((ROOT / "playbooks/dsr-source-ip.yaml").read_text(), "dsr-source-ip.yaml")
TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
INVERSE_VERB = {"add": "delete", "bind": "unbind", "unbind": "bind"}


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
    assert codes["svc_shared_01"] == RefusalReason.SHARED_WITH_PROXY
    assert codes["svc_far_01"] == RefusalReason.NO_LAYER2
    assert codes["svc_badaddr_01"] == RefusalReason.INVALID_DATA
    shared = next(r for r in the_plan.refusals if r.code == RefusalReason.SHARED_WITH_PROXY)
    assert shared.alternative is not None
    assert "--dedicated-copies" in shared.alternative
    changed = {c.object.name for c in the_plan.changes}
    assert changed == {
        "svc web tier:app@1",
        "svc_dormant_01",
        "svc_tos_01",
        "svc_tunnel_01",
        "sg_dsr_bad",
        "svc_disabled_01",
    }
    assert not changed & set(codes)
    # The script-only monitor is guidance unless the operator opts in.
    assert any(f.rule == "DSR-MONITOR" for f in the_plan.guidance)
    assert [c.operation.verb for c in the_plan.changes] == ["update"] * len(changed)


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


# --- a service group shared with a proxy-mode virtual server --------------------------------

GROUP = "sg_dsr_bad"
GROUP_COPY = "sg_dsr_bad_dsr"


def shared_group_raw() -> dict[str, Any]:
    """mixed, with the DSR group sg_dsr_bad (behind MAC vs_sg_dsr) also behind IP vs_shared_ip."""
    raw: dict[str, Any] = json.loads((ROOT / "mocks/scenarios/mixed.json").read_text())
    raw["lbvserver_servicegroup_binding"].append(
        {"name": "vs_shared_ip", "servicegroupname": GROUP, "weight": "1"}
    )
    return raw


def group_steps(the_plan: Plan) -> list[Change]:
    return [c for c in the_plan.changes if c.group == f"copy:{GROUP}"]


def test_a_shared_group_is_refused_without_the_opt_in() -> None:
    the_plan = make_plan(build_snapshot(shared_group_raw(), url="https://ns", collected_at=NOW))
    [refusal] = [r for r in the_plan.refusals if r.object.name == GROUP]
    assert refusal.code == RefusalReason.SHARED_WITH_PROXY
    assert "vs_shared_ip" in refusal.reason
    assert refusal.alternative is not None
    assert "--dedicated-copies" in refusal.alternative
    assert group_steps(the_plan) == []


def test_dedicated_copies_give_a_shared_group_its_own_copy() -> None:
    snap = build_snapshot(shared_group_raw(), url="https://ns", collected_at=NOW)
    the_plan = make_plan(snap, dedicated_copies=True)
    assert GROUP not in {r.object.name for r in the_plan.refusals}
    steps = group_steps(the_plan)
    assert [(c.operation.verb, c.operation.resource) for c in steps] == [
        ("add", "servicegroup"),
        ("bind", "servicegroup_servicegroupmember_binding"),
        ("bind", "servicegroup_servicegroupmember_binding"),
        ("bind", "servicegroup_lbmonitor_binding"),
        ("bind", "lbvserver_servicegroup_binding"),
        ("unbind", "lbvserver_servicegroup_binding"),
    ]
    add, member1, member2, monitor, bind, unbind = steps
    # Same type and members as the original; the source IP and port the findings ask for.
    assert dict(add.operation.record) == {
        "servicegroupname": GROUP_COPY,
        "servicetype": "ANY",
        "usip": "YES",
        "useproxyport": "NO",
        "td": 0,
        "cip": "DISABLED",
    }
    assert dict(add.inverse.record) == {"servicegroupname": GROUP_COPY}
    assert (add.inverse.verb, add.precondition) == ("delete", "absent")
    assert [dict(m.operation.record) for m in (member1, member2)] == [
        {"servicegroupname": GROUP_COPY, "servername": "sgm-01", "port": 65535, "weight": 1},
        {"servicegroupname": GROUP_COPY, "servername": "sgm-02", "port": 65535, "weight": 1},
    ]
    assert [m.object.member for m in (member1, member2)] == ["10.20.1.61:65535", "10.20.1.62:65535"]
    assert dict(monitor.operation.record) == {
        "servicegroupname": GROUP_COPY,
        "monitor_name": "mon_ping",
    }
    # The copy takes the original binding's weight; the rollback re-binds the original with it.
    assert dict(bind.operation.record) == {
        "name": "vs_sg_dsr",
        "servicegroupname": GROUP_COPY,
        "weight": 1,
    }
    assert dict(unbind.operation.record) == {
        "name": "vs_sg_dsr",
        "servicegroupname": GROUP,
        "weight": 1,
    }
    assert (unbind.precondition, dict(unbind.before)) == ("present", {"servicegroupname": GROUP})
    for change in steps:  # every step has its exact inverse, and says what it risks
        assert change.inverse.verb == INVERSE_VERB[change.operation.verb]
        if change.operation.verb in {"bind", "unbind"}:
            assert change.inverse.record == change.operation.record
        assert change.risk
        assert set(change.fixes) == {
            f"DSR-USIP servicegroup/{GROUP}",
            f"DSR-PROXYPORT servicegroup/{GROUP}",
        }
    assert all(c.vservers == ("vs_sg_dsr",) for c in steps)
    assert "review them against sg_dsr_bad" in add.risk

    after = apply_in_memory(snap, the_plan)
    assert after.vservers["vs_sg_dsr"].servicegroups == (GROUP_COPY,)
    assert GROUP in after.vservers["vs_shared_ip"].servicegroups
    assert after.servicegroups[GROUP].usip is False  # the proxy-mode user is untouched
    copy = after.servicegroups[GROUP_COPY]
    assert (copy.usip, copy.useproxyport) == (True, False)
    assert [(m.address_text, m.port) for m in copy.members] == [
        (m.address_text, m.port) for m in snap.servicegroups[GROUP].members
    ]
    left = [f for f in audit(after).active() if f.object.name in {GROUP, GROUP_COPY}]
    assert [f for f in left if f.remediation.automatic] == []
    # The sealed plan file carries the new steps unchanged.
    document = json.loads(json.dumps(plan_document(the_plan)))
    assert read_plan_document(document) == the_plan


def test_a_group_copy_keeps_member_details_and_gets_the_opt_in_monitor() -> None:
    raw = shared_group_raw()
    for member in raw["servicegroup_servicegroupmember_binding"]:
        if member["servicegroupname"] == GROUP:
            # Bound by address only, one of them out of service, with its own weight.
            member.pop("servername")
            if member["ip"] == "10.20.1.62":
                member.update(state="DISABLED", weight="7")
    for binding in raw["servicegroup_lbmonitor_binding"]:
        if binding["servicegroupname"] == GROUP:
            binding["monitor_name"] = "mon_user_script"
    snap = build_snapshot(raw, url="https://ns", collected_at=NOW)
    the_plan = make_plan(snap, dedicated_copies=True, bind_monitor=True)
    steps = group_steps(the_plan)
    members = [
        dict(c.operation.record) for c in steps if c.operation.resource.endswith("member_binding")
    ]
    assert members == [
        {"servicegroupname": GROUP_COPY, "ip": "10.20.1.61", "port": 65535, "weight": 1},
        {
            "servicegroupname": GROUP_COPY,
            "ip": "10.20.1.62",
            "port": 65535,
            "weight": 7,
            "state": "DISABLED",
        },
    ]
    monitors = [
        c.operation.record["monitor_name"]
        for c in steps
        if c.operation.resource == "servicegroup_lbmonitor_binding"
    ]
    # The script monitor cannot teach MAC mode the MACs: ping-default comes first.
    assert monitors == ["ping-default", "mon_user_script"]
    assert f"DSR-MONITOR servicegroup/{GROUP}" in steps[0].fixes
    after = apply_in_memory(snap, the_plan)
    remaining = {(f.rule, f.object.name) for f in audit(after).active()}
    assert not {
        r for r in remaining if r[1] in {GROUP, GROUP_COPY} and r[0] != "DSR-USIP-INHERITED"
    }
    assert [m.state for m in after.servicegroups[GROUP_COPY].members] == ["ENABLED", "DISABLED"]


def test_a_group_without_members_or_with_a_bad_member_is_still_refused() -> None:
    empty = shared_group_raw()
    empty["servicegroup_servicegroupmember_binding"] = [
        m
        for m in empty["servicegroup_servicegroupmember_binding"]
        if m["servicegroupname"] != GROUP
    ]
    the_plan = make_plan(
        build_snapshot(empty, url="https://ns", collected_at=NOW), dedicated_copies=True
    )
    [refusal] = [r for r in the_plan.refusals if r.object.name == GROUP]
    assert refusal.code == RefusalReason.SHARED_WITH_PROXY
    assert "no members" in refusal.reason
    assert refusal.alternative is not None
    assert "--dedicated-copies" not in refusal.alternative
    assert group_steps(the_plan) == []

    bad = shared_group_raw()
    for member in bad["servicegroup_servicegroupmember_binding"]:
        if member["servicegroupname"] == GROUP and member["ip"] == "10.20.1.62":
            member["ip"] = "10.20.1.999"
    the_plan = make_plan(
        build_snapshot(bad, url="https://ns", collected_at=NOW), dedicated_copies=True
    )
    [refusal] = [r for r in the_plan.refusals if r.object.name == GROUP]
    assert refusal.code == RefusalReason.INVALID_DATA
    assert "10.20.1.999" in refusal.reason
    assert group_steps(the_plan) == []


def ha_snapshot(own: str | None, peer: str | None) -> Snapshot:
    """seed-incident with this node's and its peer's HA state (None: no such hanode record)."""
    raw = json.loads((ROOT / "mocks/scenarios/seed-incident.json").read_text())
    nodes = []
    if own is not None:
        nodes.append({"id": 0, "ipaddress": "192.0.2.11", "state": own})
    if peer is not None:
        nodes.append({"id": 1, "ipaddress": "192.0.2.12", "state": peer})
    raw["hanode"] = nodes
    return build_snapshot(raw, url="https://ns", collected_at=NOW)


@pytest.mark.parametrize(
    ("own", "peer"),
    [
        ("Secondary", "Primary"),
        ("STAYSECONDARY", "Primary"),
        ("UNKNOWN", "Primary"),
        ("Claiming", "Primary"),
        (None, "Primary"),
        ("Secondary", None),
        ("UNKNOWN", "UNKNOWN"),
        (None, None),
    ],
)
def test_nothing_is_planned_on_a_node_that_is_not_the_primary(
    own: str | None, peer: str | None
) -> None:
    # Only a node that reports itself Primary, or one with no peer, may be written.
    the_plan = make_plan(ha_snapshot(own, peer))
    assert the_plan.empty
    assert the_plan.refusals
    assert {r.code for r in the_plan.refusals} == {RefusalReason.HA_NOT_PRIMARY}
    if peer == "Primary":
        assert all("use the primary 192.0.2.12 instead" in r.reason for r in the_plan.refusals)


@pytest.mark.parametrize(
    ("own", "peer"), [("Primary", "Secondary"), ("Primary", None), ("UNKNOWN", None)]
)
def test_the_primary_and_a_standalone_node_are_planned(own: str, peer: str | None) -> None:
    the_plan = make_plan(ha_snapshot(own, peer))
    assert the_plan.changes
    assert not [r for r in the_plan.refusals if r.code is RefusalReason.HA_NOT_PRIMARY]


CONTRADICTING_PLAYBOOK = """
playbook: contradicting
version: 1
description: asks for usip NO where dsr-source-ip asks for usip YES
rules:
  - id: X-USIP-NO
    title: contradicting rule
    severity: warning
    select:
      resource: lbvserver
      where: {m: [MAC]}
    follow: backends
    expect: {useproxyport: "NO"}
    remediation:
      set: {usip: "NO"}
    rationale: only for this test
"""


def test_the_first_guard_in_order_gives_the_refusal() -> None:
    snap = scenario("mixed")
    contradicting = parse_playbook(CONTRADICTING_PLAYBOOK, "contradicting.yaml")
    result = evaluate(snap, [PLAYBOOK, contradicting], today=TODAY)
    the_plan = plan(snap, result, snapshot_digest="x", created_at=NOW)
    codes = {r.object.name: r.code for r in the_plan.refusals}
    # Alone, these are refused for other reasons (see the mixed test); the conflict comes first.
    assert codes["svc_far_01"] == RefusalReason.CONFLICTING_REMEDIATION
    assert codes["svc_shared_01"] == RefusalReason.CONFLICTING_REMEDIATION
    assert codes["svc_badaddr_01"] == RefusalReason.CONFLICTING_REMEDIATION
    assert "svc_far_01" not in {c.object.name for c in the_plan.changes}


def test_refusal_codes_and_verbs_are_plain_text_in_the_plan_file() -> None:
    the_plan = make_plan(scenario("mixed"), dedicated_copies=True)
    document = json.loads(json.dumps(plan_document(the_plan)))
    body = document["plan"]
    assert {r["code"] for r in body["refusals"]} == {"no-layer2-adjacency", "invalid-data"}
    assert {c["operation"]["verb"] for c in body["changes"]} == {"update", "add", "bind", "unbind"}
    again = read_plan_document(document)
    assert {type(r.code) for r in again.refusals} == {RefusalReason}
    assert {type(c.operation.verb) for c in again.changes} == {Verb}


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
VSERVER_STATES: list[dict[str, str]] = [
    {"state": "ENABLED", "curstate": "UP"},
    {"state": "ENABLED", "curstate": "UP"},
    {"state": "ENABLED", "curstate": "DOWN"},
    {"state": "DISABLED", "curstate": "OUT OF SERVICE"},
]


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
                "usip": "NO" if i == 0 else draw(st.sampled_from(["YES", "NO"])),
                "useproxyport": draw(st.sampled_from(["YES", "NO"])),
                "state": draw(st.sampled_from(["ENABLED", "ENABLED", "DISABLED"])),
                "svrstate": draw(st.sampled_from(["UP", "DOWN"])),
            }
        )
    n_vs = draw(st.integers(1, 5))
    vservers, bindings = [], []
    for v in range(n_vs):
        # vs0 forwards DSR to svc0, whose usip is NO: every appliance has something to fix.
        if v == 0:
            mode = draw(st.sampled_from(["MAC", "IPTUNNEL", "TOS"]))
        else:
            mode = draw(st.sampled_from(["MAC", "MAC", "IP", "IPTUNNEL", "TOS", "BOGUS"]))
        vservers.append(
            {
                "name": f"vs{v}",
                "ipv46": f"198.51.100.{v + 1}",
                "port": 65535,
                "servicetype": "ANY",
                "m": mode,
                "tosid": "7" if mode == "TOS" else None,
                **draw(st.sampled_from(VSERVER_STATES)),
            }
        )
        picked = draw(st.sets(st.integers(0, n_services - 1), max_size=3))
        if v == 0:
            picked.add(0)
        for i in picked:
            bindings.append({"name": f"vs{v}", "servicename": f"svc{i}"})
    monitors = [
        {"monitorname": "mon_script", "type": "USER", "scriptname": "x.pl"},
        {"monitorname": "mon_ping", "type": "PING"},
    ]
    monitor_bindings = [
        {"name": f"svc{i}", "monitor_name": draw(st.sampled_from(["mon_script", "mon_ping"]))}
        for i in draw(st.sets(st.integers(0, n_services - 1), max_size=3))
    ]
    groups, members, servers, group_bindings, group_monitors = [], [], [], [], []
    n_groups = draw(st.integers(0, 3))
    if n_groups and draw(st.booleans()):
        # A proxy-mode virtual server for groups only, so that shared groups are common.
        vservers.append(
            {
                "name": "vs_proxy",
                "ipv46": "198.51.100.99",
                "port": 65535,
                "servicetype": "ANY",
                "m": "IP",
            }
        )
    for j in range(n_groups):
        name = f"sg{j}"
        groups.append(
            {
                "servicegroupname": name,
                "servicetype": "ANY",
                "usip": draw(st.sampled_from(["YES", "NO"])),
                "useproxyport": draw(st.sampled_from(["YES", "NO"])),
                "state": draw(st.sampled_from(["ENABLED", "ENABLED", "DISABLED"])),
                "servicegroupeffectivestate": draw(st.sampled_from(["UP", "UP", "DOWN"])),
            }
        )
        # Empty groups, members bound by address or by server name, some unreachable or bogus.
        for m in range(draw(st.integers(0, 3))):
            address = draw(
                st.sampled_from(
                    [f"{SNIP_NET}.{100 + 10 * j + m}"] * 6 + [f"172.16.8.{m + 1}", "10.20.0.999"]
                )
            )
            member = {
                "servicegroupname": name,
                "ip": address,
                "port": draw(st.sampled_from([65535, 80])),
                "weight": str(draw(st.integers(1, 100))),
                "state": draw(st.sampled_from(["ENABLED", "ENABLED", "DISABLED"])),
                "svrstate": draw(st.sampled_from(["UP", "DOWN"])),
            }
            if draw(st.booleans()):
                server = f"srv_{j}_{m}"
                servers.append({"name": server, "ipaddress": address})
                member["servername"] = server
                if draw(st.booleans()):
                    del member["ip"]
            members.append(member)
        # Some groups are shared, often by a DSR and a proxy-mode virtual server.
        picked = draw(st.sets(st.integers(0, n_vs - 1), max_size=3))
        bound = {str(vservers[v]["name"]) for v in picked}
        dsr = [str(vs["name"]) for vs in vservers if vs["m"] in {"MAC", "IPTUNNEL", "TOS"}]
        proxy = [str(vs["name"]) for vs in vservers if vs["m"] == "IP"]
        if dsr and proxy and draw(st.integers(0, 3)) > 0:
            bound |= {draw(st.sampled_from(dsr)), draw(st.sampled_from(proxy))}
        for vs_name in sorted(bound):
            group_bindings.append({"name": vs_name, "servicegroupname": name})
        if draw(st.booleans()):
            monitor = draw(st.sampled_from(["mon_script", "mon_ping"]))
            group_monitors.append({"servicegroupname": name, "monitor_name": monitor})
    return {
        "nsip": [{"ipaddress": f"{SNIP_NET}.1", "netmask": "255.255.255.0", "type": "SNIP"}],
        "nsmode": {"usip": draw(st.booleans()), "mbf": True},
        "hanode": [{"id": "0", "state": "Primary"}],
        "lbvserver": vservers,
        "lbvserver_service_binding": bindings,
        "service": services,
        "lbmonitor": monitors,
        "service_lbmonitor_binding": monitor_bindings,
        "servicegroup": groups,
        "servicegroup_servicegroupmember_binding": members,
        "server": servers,
        "lbvserver_servicegroup_binding": group_bindings,
        "servicegroup_lbmonitor_binding": group_monitors,
    }


def member_keys(group: ServiceGroup) -> list[str]:
    return sorted(
        str((m.servername, m.address_text, m.port, m.weight, m.state)) for m in group.members
    )


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
    fixable = {
        f.object.name
        for f in result.active()
        if f.remediation.automatic or (bind_monitor and f.remediation.bind_monitor)
    }
    # The generator always leaves something to fix, so an empty plan cannot pass unnoticed.
    assert fixable
    refused = {r.object.name for r in the_plan.refusals}
    changed = {c.group.split(":", 1)[1] if c.group else c.object.name for c in the_plan.changes}
    # Every object with a finding nsfix may fix is either changed or refused, and nothing else.
    assert changed | refused == fixable
    assert not changed & refused
    after = apply_in_memory(snap, the_plan)
    for finding in audit(after).active():
        if finding.remediation.automatic:
            assert finding.object.name in refused, finding
        if bind_monitor and finding.rule == "DSR-MONITOR":
            assert finding.object.name in refused, finding
    # Undoing every update restores the observed values exactly.
    for change in the_plan.changes:
        if change.operation.verb == "update":
            assert change.before
            assert set(change.inverse.record) == set(change.operation.record)
            assert all(change.inverse.record[k] == v for k, v in change.before.items())
        else:
            assert change.inverse.verb == INVERSE_VERB[change.operation.verb]
    # A copied group has exactly the original's members, and takes its place on DSR vservers.
    for add in (c for c in the_plan.changes if c.operation.resource == "servicegroup"):
        if add.operation.verb != "add" or add.group is None:
            continue
        event("a service group was copied")
        original = snap.servicegroups[add.group.split(":", 1)[1]]
        copy = after.servicegroups[str(add.operation.record["servicegroupname"])]
        assert member_keys(copy) == member_keys(original)
        proxy = [vs.name for vs in snap.vservers_of_servicegroup(original.name) if vs.m == "IP"]
        assert add.vservers
        assert proxy  # a copy exists only for a group shared by DSR and proxy-mode vservers
        for vs_name in add.vservers:
            assert copy.name in after.vservers[vs_name].servicegroups
            assert original.name not in after.vservers[vs_name].servicegroups
        for vs_name in proxy:
            assert original.name in after.vservers[vs_name].servicegroups
