"""More of the shipped playbook's rules, the --fail-on threshold, and waiver patterns."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from nsfix.findings import AuditResult, Finding, ObjectRef, Severity
from nsfix.model import Snapshot, build_snapshot
from nsfix.planner import Plan
from nsfix.planner import plan as make_plan
from nsfix.rules.engine import evaluate, parse_playbook
from nsfix.rules.waivers import load_waivers
from tests.support import service_record as service

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = parse_playbook((ROOT / "playbooks/dsr-source-ip.yaml").read_text(), "dsr-source-ip.yaml")
TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
SNIP = {"ipaddress": "10.20.0.5", "netmask": "255.255.255.0", "type": "SNIP"}


def snapshot(partition: str = "default", **raw: Any) -> Snapshot:
    base: dict[str, Any] = {
        "nsip": [SNIP],
        "nsmode": {"usip": False, "mbf": True},
        "hanode": [{"id": 0, "state": "Primary"}],
    }
    base.update(raw)
    return build_snapshot(base, url="https://ns", partition=partition, collected_at=NOW)


def vserver(name: str, m: str, vip: str = "198.51.100.10", **extra: Any) -> dict[str, Any]:
    record = {"name": name, "ipv46": vip, "port": 65535, "servicetype": "ANY", "m": m}
    record.update(extra)
    return record


def audit(snap: Snapshot, **kwargs: Any) -> AuditResult:
    return evaluate(snap, [PLAYBOOK], today=TODAY, **kwargs)


def findings_of(result: AuditResult, rule: str) -> list[Finding]:
    return [f for f in result.findings if f.rule == rule]


# --- PROXY-USIP-GATEWAY and PROXY-USIP-GATEWAY-GROUP ----------------------------------------


def usip_service_bound_to(*modes: str) -> Snapshot:
    vservers = [vserver(f"vs_{i}", m, vip=f"198.51.100.{10 + i}") for i, m in enumerate(modes)]
    return snapshot(
        lbvserver=vservers,
        lbvserver_service_binding=[{"name": v["name"], "servicename": "svc1"} for v in vservers],
        service=[service("svc1", usip="YES", useproxyport="NO")],
    )


def usip_group_bound_to(*modes: str) -> Snapshot:
    vservers = [vserver(f"vs_{i}", m, vip=f"198.51.100.{10 + i}") for i, m in enumerate(modes)]
    return snapshot(
        lbvserver=vservers,
        lbvserver_servicegroup_binding=[
            {"name": v["name"], "servicegroupname": "sg1"} for v in vservers
        ],
        servicegroup=[
            {
                "servicegroupname": "sg1",
                "servicetype": "ANY",
                "usip": "YES",
                "useproxyport": "NO",
                "state": "ENABLED",
            }
        ],
        servicegroup_servicegroupmember_binding=[
            {"servicegroupname": "sg1", "ip": "10.20.0.41", "port": 65535}
        ],
    )


def test_usip_service_behind_proxy_mode_only_is_an_info_finding_naming_the_vservers() -> None:
    result = audit(usip_service_bound_to("IP", "IP"))
    [finding] = findings_of(result, "PROXY-USIP-GATEWAY")
    assert finding.severity is Severity.INFO
    assert finding.object == ObjectRef("service", "svc1")
    assert (finding.attribute, finding.current) == ("usip", "YES")
    assert "vs_0, vs_1" in finding.message
    assert finding.flow == "asymmetric"
    assert not finding.remediation.automatic  # guidance for the server team, no NITRO change
    assert "default gateway" in finding.remediation.guidance
    # Info only: the default --fail-on warning does not fail on it.
    assert not result.fails(Severity.WARNING)
    assert result.fails(Severity.INFO)


def test_usip_service_also_bound_to_a_dsr_vserver_is_not_a_proxy_gateway_finding() -> None:
    assert findings_of(audit(usip_service_bound_to("IP", "MAC")), "PROXY-USIP-GATEWAY") == []
    assert findings_of(audit(usip_service_bound_to("TOS", "IP")), "PROXY-USIP-GATEWAY") == []


def test_usip_service_bound_to_nothing_is_not_a_proxy_gateway_finding() -> None:
    assert audit(usip_service_bound_to()).findings == ()


def test_usip_no_behind_proxy_mode_is_not_a_proxy_gateway_finding() -> None:
    snap = snapshot(
        lbvserver=[vserver("vs_proxy", "IP")],
        lbvserver_service_binding=[{"name": "vs_proxy", "servicename": "svc1"}],
        service=[service("svc1")],
    )
    assert audit(snap).findings == ()


def test_usip_group_behind_proxy_mode_only_is_the_group_rule() -> None:
    result = audit(usip_group_bound_to("IP"))
    assert [(f.rule, f.object) for f in result.findings] == [
        ("PROXY-USIP-GATEWAY-GROUP", ObjectRef("servicegroup", "sg1"))
    ]
    assert result.findings[0].severity is Severity.INFO
    assert findings_of(audit(usip_group_bound_to("IP", "MAC")), "PROXY-USIP-GATEWAY-GROUP") == []
    assert audit(usip_group_bound_to()).findings == ()


# --- DATA-DEFECT ----------------------------------------------------------------------------

DSR_VS = vserver("vs1", "MAC")
MEMBER_LABEL = "sg1 member 10.20.0.999:65535"

# (raw records, the defect's resource, name, attribute): one kind of bad data each.
DEFECT_KINDS: list[tuple[str, dict[str, Any], str, str, str]] = [
    (
        "invalid service address",
        {"service": [service("svc1", "333:333:33:333")]},
        "service",
        "svc1",
        "ipaddress",
    ),
    (
        "missing service address",
        {"service": [service("svc1", "")]},
        "service",
        "svc1",
        "ipaddress",
    ),
    ("usip not yes or no", {"service": [service("svc1", usip="MAYBE")]}, "service", "svc1", "usip"),
    ("port not a number", {"service": [service("svc1", port="http")]}, "service", "svc1", "port"),
    (
        "servicegroup flag not yes or no",
        {"servicegroup": [{"servicegroupname": "sg1", "useproxyport": "SOMETIMES"}]},
        "servicegroup",
        "sg1",
        "useproxyport",
    ),
    (
        "unknown redirection mode",
        {"lbvserver": [vserver("vs1", "DSR")]},
        "lbvserver",
        "vs1",
        "m",
    ),
    ("TOS without a TOS id", {"lbvserver": [vserver("vs1", "TOS")]}, "lbvserver", "vs1", "tosid"),
    (
        "missing VIP",
        {"lbvserver": [vserver("vs1", "MAC", vip="")]},
        "lbvserver",
        "vs1",
        "ipv46",
    ),
    (
        "sessionless not yes or no",
        {"lbvserver": [vserver("vs1", "MAC", sessionless="PERHAPS")]},
        "lbvserver",
        "vs1",
        "sessionless",
    ),
    (
        "invalid member address",
        {
            "servicegroup": [{"servicegroupname": "sg1", "usip": "YES"}],
            "servicegroup_servicegroupmember_binding": [
                {"servicegroupname": "sg1", "ip": "10.20.0.999", "port": 65535}
            ],
        },
        "servicegroup_servicegroupmember_binding",
        MEMBER_LABEL,
        "ip",
    ),
    (
        "members of a group that does not exist",
        {
            "servicegroup_servicegroupmember_binding": [
                {"servicegroupname": "sg_gone", "ip": "10.20.0.41", "port": 80}
            ]
        },
        "servicegroup_servicegroupmember_binding",
        "sg_gone",
        "servicegroupname",
    ),
    (
        "vserver bound to a missing service",
        {
            "lbvserver": [DSR_VS],
            "lbvserver_service_binding": [{"name": "vs1", "servicename": "svc_gone"}],
        },
        "lbvserver_service_binding",
        "vs1",
        "servicename",
    ),
    (
        "vserver bound to a missing group",
        {
            "lbvserver": [DSR_VS],
            "lbvserver_servicegroup_binding": [{"name": "vs1", "servicegroupname": "sg_gone"}],
        },
        "lbvserver_servicegroup_binding",
        "vs1",
        "servicegroupname",
    ),
    (
        "service bound to a missing monitor",
        {
            "service": [service("svc1", usip="YES", useproxyport="NO")],
            "service_lbmonitor_binding": [{"name": "svc1", "monitor_name": "mon_gone"}],
        },
        "service_lbmonitor_binding",
        "svc1",
        "monitor_name",
    ),
    (
        "invalid server address",
        {"server": [{"name": "srv1", "ipaddress": "333:333:33:333"}]},
        "server",
        "srv1",
        "ipaddress",
    ),
    (
        "server without address or domain",
        {"server": [{"name": "srv1"}]},
        "server",
        "srv1",
        "ipaddress",
    ),
    (
        "SNIP with a bad netmask",
        {"nsip": [SNIP, {"ipaddress": "10.30.0.5", "netmask": "255.0.255.0", "type": "SNIP"}]},
        "nsip",
        "10.30.0.5",
        "netmask",
    ),
    (
        "SNIP with a bad address",
        {"nsip": [SNIP, {"ipaddress": "10.30.0.500", "netmask": "255.255.255.0"}]},
        "nsip",
        "10.30.0.500",
        "ipaddress",
    ),
]


@pytest.mark.parametrize(
    ("raw", "resource", "name", "attribute"),
    [pytest.param(*kind[1:], id=kind[0]) for kind in DEFECT_KINDS],
)
def test_each_kind_of_data_defect_is_one_warning_naming_the_object_and_attribute(
    raw: dict[str, Any], resource: str, name: str, attribute: str
) -> None:
    snap = snapshot(**raw)
    assert len(snap.defects) == 1, snap.defects
    defect = snap.defects[0]
    [finding] = findings_of(audit(snap), "DATA-DEFECT")
    assert finding.severity is Severity.WARNING
    assert finding.object == ObjectRef(resource, name)
    assert finding.attribute == attribute
    assert finding.current == (defect.value or "(missing)")
    assert defect.problem in finding.message
    assert not finding.remediation.automatic
    assert finding.via == ()


def test_data_defects_keep_their_partition() -> None:
    snap = snapshot("p_apps", service=[service("svc1", "333:333:33:333")])
    [finding] = findings_of(audit(snap), "DATA-DEFECT")
    assert str(finding.object) == "p_apps:service/svc1"


def test_the_mixed_scenarios_deliberate_defects_are_findings() -> None:
    import json

    raw = json.loads((ROOT / "mocks/scenarios/mixed.json").read_text())
    snap = build_snapshot(raw, url="https://ns", collected_at=NOW)
    found = {str(f.object) for f in findings_of(audit(snap), "DATA-DEFECT")}
    assert found == {"service/svc_badaddr_01", "server/bad-addr-01", "lbvserver/vs_weird_mode"}


def test_two_defects_on_one_object_are_both_reported() -> None:
    snap = snapshot(service=[service("svc1", "333:333:33:333", usip="MAYBE")])
    assert len(snap.defects) == 2
    attributes = {f.attribute for f in findings_of(audit(snap), "DATA-DEFECT")}
    assert attributes == {"ipaddress", "usip"}


# --- DSR-LAYER2 on service-group members ----------------------------------------------------


def group_with_members(*addresses: str, m: str = "MAC") -> Snapshot:
    return snapshot(
        lbvserver=[vserver("vs_sg", m)],
        lbvserver_servicegroup_binding=[{"name": "vs_sg", "servicegroupname": "sg1"}],
        servicegroup=[
            {
                "servicegroupname": "sg1",
                "servicetype": "ANY",
                "usip": "YES",
                "useproxyport": "NO",
                "state": "ENABLED",
                "servicegroupeffectivestate": "UP",
            }
        ],
        servicegroup_servicegroupmember_binding=[
            {"servicegroupname": "sg1", "ip": address, "port": 65535} for address in addresses
        ],
    )


def test_one_member_outside_every_snip_subnet_is_a_finding_on_that_member() -> None:
    result = audit(group_with_members("10.20.0.41", "172.16.50.12"))
    [finding] = result.findings
    assert finding.rule == "DSR-LAYER2"
    assert finding.severity is Severity.CRITICAL
    assert finding.object == ObjectRef("servicegroup", "sg1", member="172.16.50.12:65535")
    assert str(finding.object) == "servicegroup/sg1 member 172.16.50.12:65535"
    assert (finding.attribute, finding.current) == ("ipaddress", "172.16.50.12")
    assert "10.20.0.0/24" in (finding.expected or "")
    assert finding.via == ("vs_sg",)
    assert finding.flow == "no-layer2"


def test_members_inside_a_snip_subnet_or_behind_iptunnel_are_fine() -> None:
    assert audit(group_with_members("10.20.0.41", "10.20.0.42")).findings == ()
    assert audit(group_with_members("172.16.50.12", m="IPTUNNEL")).findings == ()


def test_a_member_with_an_unusable_address_is_unevaluated_not_compliant() -> None:
    result = audit(group_with_members("10.20.0.41", "10.20.0.999"))
    assert findings_of(result, "DSR-LAYER2") == []
    [unknown] = [u for u in result.unevaluated if u.rule == "DSR-LAYER2"]
    assert unknown.object.member == "10.20.0.999:65535"
    assert unknown.attribute == "ipaddress"


def test_a_group_with_one_far_member_is_refused_naming_that_member() -> None:
    snap = group_with_members("10.20.0.41", "172.16.50.12")
    snap = replace(snap, servicegroups={"sg1": replace(snap.servicegroups["sg1"], usip=False)})
    result = audit(snap)
    assert {(f.rule, f.object.member) for f in result.findings} >= {
        ("DSR-USIP", None),
        ("DSR-LAYER2", "172.16.50.12:65535"),
    }
    the_plan: Plan = make_plan(snap, result, snapshot_digest="sha256:x", created_at=NOW)
    # A group changes only if every member allows it; the refusal names the one that does not.
    [refusal] = [r for r in the_plan.refusals if r.object.name == "sg1"]
    assert refusal.code == "no-layer2-adjacency"
    assert "member 172.16.50.12:65535" in refusal.reason
    assert "10.20.0.41" not in refusal.reason
    assert "sg1" not in {c.object.name for c in the_plan.changes}


# --- --fail-on: AuditResult.fails -----------------------------------------------------------


def result_with(*severities: Severity, waived: Severity | None = None) -> AuditResult:
    ref = ObjectRef("service", "svc1")
    findings = [
        Finding(rule=f"R{i}", title="t", severity=severity, object=ref, message="m")
        for i, severity in enumerate(severities)
    ]
    if waived is not None:
        waiver = load_waivers(
            "waivers:\n  - {rule: W, object: '*', reason: r, owner: o, expires: 2030-01-01}\n",
            "w.yaml",
        )[0]
        findings.append(Finding("W", "t", waived, ref, "m", waiver=waiver))
    return AuditResult(findings=tuple(findings))


@pytest.mark.parametrize(
    ("severities", "fails_at"),
    [
        ((), set()),
        ((Severity.INFO,), {Severity.INFO}),
        ((Severity.WARNING,), {Severity.INFO, Severity.WARNING}),
        ((Severity.CRITICAL,), {Severity.INFO, Severity.WARNING, Severity.CRITICAL}),
        ((Severity.INFO, Severity.WARNING), {Severity.INFO, Severity.WARNING}),
    ],
)
def test_fail_on_is_a_threshold_at_or_above(
    severities: tuple[Severity, ...], fails_at: set[Severity]
) -> None:
    result = result_with(*severities)
    assert {t for t in Severity if result.fails(t)} == fails_at


def test_a_waived_critical_finding_fails_nothing() -> None:
    result = result_with(waived=Severity.CRITICAL)
    assert not any(result.fails(t) for t in Severity)
    assert result.worst() is None
    mixed = result_with(Severity.INFO, waived=Severity.CRITICAL)
    assert {t for t in Severity if mixed.fails(t)} == {Severity.INFO}


def test_the_seed_incident_fails_at_every_threshold() -> None:
    import json

    raw = json.loads((ROOT / "mocks/scenarios/seed-incident.json").read_text())
    result = audit(build_snapshot(raw, url="https://ns", collected_at=NOW))
    assert all(result.fails(t) for t in Severity)
    assert result.worst() is Severity.CRITICAL


# --- waivers: partitions and wildcards ------------------------------------------------------


def dsr_backend(partition: str, name: str = "svc_app_01") -> Snapshot:
    return snapshot(
        partition,
        lbvserver=[vserver("vs1", "MAC")],
        lbvserver_service_binding=[{"name": "vs1", "servicename": name}],
        service=[service(name)],
    )


def waived_rules(snap: Snapshot, rule: str, pattern: str) -> set[str]:
    text = (
        f"waivers:\n  - rule: '{rule}'\n    object: '{pattern}'\n    reason: accepted\n"
        "    owner: team\n    expires: 2027-01-31\n"
    )
    result = audit(snap, waivers=load_waivers(text, "w.yaml"))
    return {f.rule for f in result.findings if f.waived}


@pytest.mark.parametrize(
    ("pattern", "waives_in_p_apps", "waives_in_default"),
    [
        ("p_apps:service/*", True, False),
        ("p_apps:service/svc_app_01", True, False),
        ("p_*:service/svc_app_0?", True, False),
        ("default:service/*", False, True),
        ("service/*", True, True),  # no partition: every partition
        ("*:service/svc_app_01", True, True),
        ("p_apps:servicegroup/*", False, False),
        ("p_apps:service/svc_app_02", False, False),
        ("P_APPS:service/*", False, False),  # case matters
    ],
)
def test_waiver_object_patterns_with_partitions_and_wildcards(
    pattern: str, waives_in_p_apps: bool, waives_in_default: bool
) -> None:
    expected_p_apps = {"DSR-USIP"} if waives_in_p_apps else set()
    expected_default = {"DSR-USIP"} if waives_in_default else set()
    assert waived_rules(dsr_backend("p_apps"), "DSR-USIP", pattern) == expected_p_apps
    assert waived_rules(dsr_backend("default"), "DSR-USIP", pattern) == expected_default


def test_waiver_rule_wildcards_hide_every_matching_rule_and_no_other() -> None:
    snap = dsr_backend("p_apps")
    assert waived_rules(snap, "DSR-*", "p_apps:service/*") == {"DSR-USIP", "DSR-PROXYPORT"}
    assert waived_rules(snap, "DSR-PROXY*", "p_apps:service/*") == {"DSR-PROXYPORT"}
    assert waived_rules(snap, "dsr-*", "p_apps:service/*") == set()


def test_a_waived_finding_is_not_active_and_the_rest_still_fail() -> None:
    snap = dsr_backend("p_apps")
    text = (
        "waivers:\n  - rule: DSR-USIP\n    object: p_apps:service/*\n    reason: r\n"
        "    owner: o\n    expires: 2027-01-31\n"
    )
    result = audit(snap, waivers=load_waivers(text, "w.yaml"))
    assert [f.rule for f in result.active()] == ["DSR-PROXYPORT"]
    assert result.fails(Severity.WARNING)
    assert not result.fails(Severity.CRITICAL)
    [waived] = [f for f in result.findings if f.waived]
    assert waived.waiver is not None
    assert waived.waiver.source == "w.yaml:2"


def test_a_group_waiver_covers_findings_on_its_members() -> None:
    snap = group_with_members("172.16.50.12")
    text = (
        "waivers:\n  - rule: DSR-LAYER2\n    object: servicegroup/sg1\n    reason: r\n"
        "    owner: o\n    expires: 2027-01-31\n"
    )
    result = audit(snap, waivers=load_waivers(text, "w.yaml"))
    [finding] = result.findings
    assert finding.object.member == "172.16.50.12:65535"
    assert finding.waived


def test_a_waiver_is_active_through_its_expiry_day_and_expired_the_day_after() -> None:
    snap = dsr_backend("p_apps")
    waivers = load_waivers(
        "waivers:\n  - rule: DSR-*\n    object: p_apps:service/*\n    reason: r\n"
        "    owner: o\n    expires: 2026-11-26\n",
        "w.yaml",
    )
    on_the_day = evaluate(snap, [PLAYBOOK], waivers=waivers, today=date(2026, 11, 26))
    assert on_the_day.active() == []
    assert on_the_day.expired_waivers == ()
    day_after = evaluate(snap, [PLAYBOOK], waivers=waivers, today=date(2026, 11, 27))
    assert {f.rule for f in day_after.active()} == {"DSR-USIP", "DSR-PROXYPORT"}
    assert [w.object for w in day_after.expired_waivers] == ["p_apps:service/*"]
