"""Verdicts on the topology of real appliances: traffic domains, IPv6, backup chains, content
switching, groups judged by every member, usip left to the global mode, no hostname."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from nsfix.findings import AuditResult
from nsfix.model import Snapshot, build_snapshot
from nsfix.operations import make_plan, run_audit
from nsfix.planner import Plan, PlanOptions, RefusalReason
from nsfix.rules.engine import parse_playbook
from tests.support import service_record as service

ROOT = Path(__file__).resolve().parents[2]
# A virtual server reached only as a backup or through content switching has no VIP of its own.
UNSPECIFIED = ".".join(["0"] * 4)
PLAYBOOK = parse_playbook((ROOT / "playbooks/dsr-source-ip.yaml").read_text(), "dsr-source-ip.yaml")
TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def base(**extra: Any) -> dict[str, Any]:
    """A standalone appliance with one MAC-mode vserver and one service in 10.20.0.0/24."""
    raw: dict[str, Any] = {
        "nshostname": {"hostname": "ns-lab"},
        "hanode": [{"id": 0, "ipaddress": "192.0.2.11", "state": "Primary"}],
        "nsmode": {"usip": False, "mbf": True},
        "nsip": [{"ipaddress": "10.20.0.5", "netmask": "255.255.255.0", "type": "SNIP", "td": 0}],
        "lbvserver": [
            {
                "name": "vs_dsr",
                "ipv46": "198.51.100.10",
                "port": 65535,
                "servicetype": "ANY",
                "m": "MAC",
                "state": "ENABLED",
                "curstate": "UP",
            }
        ],
        "service": [service("svc1", "10.20.0.21")],
        "lbvserver_service_binding": [{"name": "vs_dsr", "servicename": "svc1"}],
    }
    raw.update(copy.deepcopy(extra))
    return raw


def snap(raw: dict[str, Any]) -> Snapshot:
    return build_snapshot(raw, url="https://ns", collected_at=NOW)


def audit_and_plan(raw: dict[str, Any]) -> tuple[Snapshot, AuditResult, Plan]:
    snapshot = snap(raw)
    audit = run_audit(snapshot, [PLAYBOOK], (), None, today=TODAY)
    return snapshot, audit, make_plan(snapshot, audit, None, PlanOptions())


def rules(audit: AuditResult) -> set[tuple[str, str]]:
    return {(f.rule, str(f.object)) for f in audit.findings}


# --- traffic domains ---------------------------------------------------------------------------


def test_a_snip_of_another_traffic_domain_is_no_adjacency() -> None:
    raw = base()
    raw["service"][0]["td"] = 5
    raw["lbvserver"][0]["td"] = 5
    _, audit, the_plan = audit_and_plan(raw)
    [layer2] = [f for f in audit.findings if f.rule == "DSR-LAYER2"]
    assert "traffic domain 5" in layer2.message
    assert "SNIP 10.20.0.5 of traffic domain 0 holds it" in layer2.message
    assert not the_plan.changes
    [refusal] = the_plan.refusals
    assert refusal.code is RefusalReason.OTHER_TRAFFIC_DOMAIN


def test_a_snip_in_the_same_traffic_domain_is_adjacency() -> None:
    raw = base()
    raw["service"][0]["td"] = 5
    raw["lbvserver"][0]["td"] = 5
    raw["nsip"].append(
        {"ipaddress": "10.20.0.6", "netmask": "255.255.255.0", "type": "SNIP", "td": 5}
    )
    _, audit, the_plan = audit_and_plan(raw)
    assert ("DSR-LAYER2", "service/svc1") not in rules(audit)
    assert [c.object.name for c in the_plan.changes] == ["svc1"]


def test_a_vserver_and_its_service_in_different_traffic_domains_are_refused() -> None:
    raw = base()
    raw["lbvserver"][0]["td"] = 3
    _, audit, the_plan = audit_and_plan(raw)
    assert any(f.rule == "DSR-LAYER2" and f.attribute == "td" for f in audit.findings)
    assert [r.code for r in the_plan.refusals] == [RefusalReason.OTHER_TRAFFIC_DOMAIN]


# --- IPv6 -----------------------------------------------------------------------------------


def test_an_ipv6_backend_in_an_nsip6_subnet_is_adjacent_and_fixed() -> None:
    raw = base(
        nsip6=[{"ipv6address": "2001:db8:20::5/64", "type": "SNIP", "td": 0, "state": "ENABLED"}]
    )
    raw["lbvserver"][0]["ipv46"] = "2001:db8:100::10"
    raw["service"] = [service("svc1", "2001:db8:20::21")]
    snapshot, audit, the_plan = audit_and_plan(raw)
    assert [str(s.network) for s in snapshot.snips if s.address.version == 6] == [
        "2001:db8:20::/64"
    ]
    assert ("DSR-LAYER2", "service/svc1") not in rules(audit)
    assert ("DSR-USIP", "service/svc1") in rules(audit)
    [change] = the_plan.changes
    assert change.flow_before == "loop"
    assert change.flow_after == "direct-return"
    [task] = the_plan.server_tasks
    assert task.vips == ("2001:db8:100::10",)


def test_an_ipv6_backend_outside_every_nsip6_subnet_is_refused() -> None:
    raw = base(nsip6=[{"ipv6address": "2001:db8:99::5/64", "type": "SNIP"}])
    raw["service"] = [service("svc1", "2001:db8:20::21")]
    _, _, the_plan = audit_and_plan(raw)
    assert [r.code for r in the_plan.refusals] == [RefusalReason.NO_LAYER2]


def test_nsip6_records_that_are_not_snips_or_not_addresses() -> None:
    raw = base(
        nsip6=[
            {"ipv6address": "fe80::1/64", "type": "NSIP"},
            {"ipv6address": "2001:db8::zz/64", "type": "SNIP"},
        ]
    )
    snapshot = snap(raw)
    assert all(s.address.version == 4 for s in snapshot.snips)
    assert [(d.resource, d.problem) for d in snapshot.defects] == [
        ("nsip6", "not an IPv6 address with a prefix length")
    ]


# --- service-group members --------------------------------------------------------------------


def group_raw(*members: dict[str, Any]) -> dict[str, Any]:
    raw = base()
    raw["lbvserver_service_binding"] = []
    raw["servicegroup"] = [
        {
            "servicegroupname": "sg1",
            "servicetype": "ANY",
            "usip": "NO",
            "useproxyport": "YES",
            "state": "ENABLED",
            "servicegroupeffectivestate": "UP",
        }
    ]
    raw["servicegroup_servicegroupmember_binding"] = [
        {"servicegroupname": "sg1", "port": 65535, "state": "ENABLED", "svrstate": "UP", **m}
        for m in members
    ]
    raw["lbvserver_servicegroup_binding"] = [{"name": "vs_dsr", "servicegroupname": "sg1"}]
    return raw


def test_a_group_changes_only_if_every_member_allows_it() -> None:
    near = {"ip": "10.20.0.41"}
    far = {"ip": "172.16.50.12"}
    for members in ((near, far), (far, near)):
        _, _, the_plan = audit_and_plan(group_raw(*members))
        [refusal] = the_plan.refusals
        assert refusal.code is RefusalReason.NO_LAYER2
        assert "member 172.16.50.12:65535" in refusal.reason
        assert not the_plan.changes
    _, _, fine = audit_and_plan(group_raw(near, {"ip": "10.20.0.42"}))
    assert [c.object.name for c in fine.changes] == ["sg1"]


def test_a_member_on_a_domain_based_server_cannot_be_judged_and_blocks_the_group() -> None:
    raw = group_raw({"ip": "10.20.0.41"}, {"servername": "web-dns"})
    raw["server"] = [{"name": "web-dns", "domain": "web.example.test", "state": "ENABLED"}]
    _, _, the_plan = audit_and_plan(raw)
    [refusal] = the_plan.refusals
    assert refusal.code is RefusalReason.BACKEND_ADDRESS_UNKNOWN
    assert "web-dns" in refusal.reason


def test_the_group_path_verdict_is_the_worst_member_s_whatever_the_order() -> None:
    from nsfix.flow import trace_object

    fine = {"ip": "10.20.0.41"}
    far = {"ip": "172.16.50.12"}
    outcomes = {
        trace_object(snap(group_raw(*members)), "vs_dsr", "sg1").outcome.value  # type: ignore[union-attr]
        for members in ((fine, far), (far, fine))
    }
    # One verdict whatever the order: the member whose reply loops decides.
    assert outcomes == {"loop"}


# --- usip left to the global mode --------------------------------------------------------------


def test_a_usip_left_out_follows_the_global_mode_in_audit_flow_and_plan() -> None:
    raw = base()
    del raw["service"][0]["usip"]
    snapshot, audit, the_plan = audit_and_plan(raw)
    assert snapshot.services["svc1"].usip_inherited
    [finding] = [f for f in audit.findings if f.rule == "DSR-USIP"]
    assert finding.current == "NO"
    assert finding.flow == "loop"
    # No value of its own to restore: nsfix does not guess, it refuses with the reason.
    [refusal] = the_plan.refusals
    assert refusal.code is RefusalReason.INVALID_DATA
    assert "did not report usip" in refusal.reason
    raw["nsmode"]["usip"] = True
    _, inherited_on, _ = audit_and_plan(raw)
    assert ("DSR-USIP", "service/svc1") not in rules(inherited_on)
    [info] = [f for f in inherited_on.findings if f.rule == "DSR-USIP-INHERITED"]
    assert "follows the global USIP mode" in info.message


def test_a_missing_or_unknown_redirection_mode_is_a_defect_not_ip() -> None:
    raw = base()
    del raw["lbvserver"][0]["m"]
    snapshot, audit, the_plan = audit_and_plan(raw)
    assert snapshot.vservers["vs_dsr"].m is None
    assert [(d.attribute, d.problem) for d in snapshot.defects] == [
        ("m", "missing redirection mode")
    ]
    assert {f.rule for f in audit.findings} == {"DATA-DEFECT"}
    assert not the_plan.changes


# --- backup chains and content switching -------------------------------------------------------


def backup_raw() -> dict[str, Any]:
    """vs_dsr (VIP .10, MAC) -> backup vs_b (0.0.0.0, MAC, svc_b) -> backup vs_c (0.0.0.0)."""
    raw = base()
    raw["lbvserver"][0]["backupvserver"] = "vs_b"
    raw["lbvserver"] += [
        {
            "name": "vs_b",
            "ipv46": UNSPECIFIED,
            "port": 0,
            "servicetype": "ANY",
            "m": "MAC",
            "backupvserver": "vs_c",
        },
        {"name": "vs_c", "ipv46": UNSPECIFIED, "port": 0, "servicetype": "ANY", "m": "MAC"},
    ]
    raw["service"].append(service("svc_b", "10.20.0.22"))
    raw["service"].append(service("svc_c", "10.20.0.23"))
    raw["lbvserver_service_binding"] += [
        {"name": "vs_b", "servicename": "svc_b"},
        {"name": "vs_c", "servicename": "svc_c"},
    ]
    return raw


def test_server_tasks_of_a_backup_name_the_primary_s_vip_never_0_0_0_0() -> None:
    snapshot, audit, the_plan = audit_and_plan(backup_raw())
    tasks = {t.address: t for t in the_plan.server_tasks}
    assert tasks["10.20.0.22"].vips == ("198.51.100.10",)
    assert tasks["10.20.0.23"].vips == ("198.51.100.10",)
    assert all(UNSPECIFIED not in t.vips for t in the_plan.server_tasks)
    [finding] = [f for f in audit.findings if f.object.name == "svc_c" and f.rule == "DSR-USIP"]
    assert "vs_c is the backup of vs_b, vs_dsr" in finding.message
    assert [e.how for e in snapshot.entry_points("vs_c")] == ["backup chain vs_dsr -> vs_b -> vs_c"]


def test_a_backup_cycle_is_a_defect_and_ends_the_walk() -> None:
    raw = backup_raw()
    raw["lbvserver"][2]["backupvserver"] = "vs_dsr"
    snapshot = snap(raw)
    assert [d.problem for d in snapshot.defects] == ["backup chain loops"]
    assert [e.vip_text for e in snapshot.entry_points("vs_c")] == ["198.51.100.10"]


def test_a_vserver_reached_only_through_content_switching_gets_the_cs_vip() -> None:
    raw = backup_raw()
    raw["csvserver"] = [
        {"name": "cs_front", "ipv46": "198.51.100.20", "port": 80, "servicetype": "HTTP"}
    ]
    raw["csvserver_cspolicy_binding"] = [
        {"name": "cs_front", "policyname": "pol_b", "targetlbvserver": "vs_b"}
    ]
    snapshot, _, the_plan = audit_and_plan(raw)
    tasks = {t.address: t for t in the_plan.server_tasks}
    assert tasks["10.20.0.22"].vips == ("198.51.100.10", "198.51.100.20")
    [cs] = [e for e in snapshot.entry_points("vs_b") if e.vserver == "cs_front"]
    assert cs.how == "content switching cs_front hands requests to vs_b"


# --- no hostname -------------------------------------------------------------------------------


def test_an_appliance_without_a_hostname_is_named_by_its_address() -> None:
    raw = base()
    del raw["nshostname"]
    snapshot, _, the_plan = audit_and_plan(raw)
    assert snapshot.appliance.hostname is None
    assert the_plan.target["url"] == "https://ns"
    assert the_plan.changes


def test_a_tos_id_outside_six_bits_is_a_defect() -> None:
    raw = base()
    raw["lbvserver"][0].update({"m": "TOS", "tosid": 64})
    snapshot, _, the_plan = audit_and_plan(raw)
    assert [(d.attribute, d.problem) for d in snapshot.defects] == [
        ("tosid", "TOS id outside 1-63")
    ]
    assert not the_plan.changes


def test_a_backup_is_traced_with_the_vip_its_traffic_arrives_at() -> None:
    from nsfix.flow import Outcome, trace

    snapshot = snap(backup_raw())
    result = trace(snapshot, "vs_b", "svc_b")
    assert result.hops[0].dst_ip == "198.51.100.10"
    assert result.outcome is Outcome.LOOP
    assert any("no VIP of its own" in a for a in result.assumptions)
    raw = backup_raw()
    del raw["lbvserver"][0]["backupvserver"]  # nothing forwards to vs_b any more
    alone = trace(snap(raw), "vs_b", "svc_b")
    assert alone.outcome is Outcome.UNDETERMINED
    assert "no client traffic reaches it" in alone.summary


def test_server_tasks_name_only_the_snip_that_could_be_the_servers_gateway() -> None:
    raw = base()
    raw["nsip"].append({"ipaddress": "10.99.0.5", "netmask": "255.255.255.0", "type": "SNIP"})
    _, _, the_plan = audit_and_plan(raw)
    [task] = the_plan.server_tasks
    [gateway] = [i for i in task.items if "default gateway" in i.title]
    # A default gateway is always on-link: only the SNIP on the server's subnet could be it.
    assert "10.20.0.5" in gateway.title
    assert "10.99.0.5" not in gateway.title + " ".join(gateway.check)
