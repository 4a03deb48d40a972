"""Playbooks as data, the rule engine over snapshots, and waivers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from nsfix.findings import Severity
from nsfix.model import Snapshot, build_snapshot
from nsfix.rules.engine import evaluate, parse_playbook
from nsfix.rules.waivers import load_waivers
from nsfix.yamlsource import SourceError

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = parse_playbook((ROOT / "playbooks/dsr-source-ip.yaml").read_text(), "dsr-source-ip.yaml")
TODAY = date(2026, 11, 26)


def scenario(name: str) -> Snapshot:
    raw = json.loads((ROOT / "mocks/scenarios" / f"{name}.json").read_text())
    return build_snapshot(raw, url="https://ns", collected_at=datetime.now(UTC))


def snapshot(**raw: Any) -> Snapshot:
    base: dict[str, Any] = {
        "nsip": [{"ipaddress": "10.20.0.5", "netmask": "255.255.255.0", "type": "SNIP"}],
        "nsmode": {"usip": False, "mbf": True},
    }
    base.update(raw)
    return build_snapshot(base, url="https://ns", collected_at=datetime.now(UTC))


def dsr(m: str = "MAC", **service: Any) -> Snapshot:
    svc = {
        "name": "svc1",
        "ipaddress": "10.20.0.21",
        "port": 65535,
        "servicetype": "ANY",
        "usip": "NO",
        "useproxyport": "YES",
        "state": "ENABLED",
        "svrstate": "UP",
    }
    svc.update(service)
    return snapshot(
        lbvserver=[
            {
                "name": "vs1",
                "ipv46": "198.51.100.10",
                "port": 65535,
                "servicetype": "ANY",
                "m": m,
                "tosid": "5" if m == "TOS" else None,
            }
        ],
        lbvserver_service_binding=[{"name": "vs1", "servicename": "svc1"}],
        service=[svc],
    )


def rules_hit(snap: Snapshot) -> set[tuple[str, str]]:
    return {(f.rule, f.object.name) for f in evaluate(snap, [PLAYBOOK], today=TODAY).findings}


@pytest.mark.parametrize("mode", ["MAC", "IPTUNNEL", "TOS"])
def test_dsr_backend_without_usip_is_critical_in_every_dsr_mode(mode: str) -> None:
    result = evaluate(dsr(mode), [PLAYBOOK], today=TODAY)
    usip = next(f for f in result.findings if f.rule == "DSR-USIP")
    assert usip.severity is Severity.CRITICAL
    assert (usip.current, usip.expected, usip.via) == ("NO", "YES", ("vs1",))
    assert dict(usip.remediation.set) == {"usip": "YES"}
    assert result.fails(Severity.WARNING)


def test_proxy_mode_with_usip_no_is_compliant() -> None:
    assert rules_hit(dsr("IP")) == set()


def test_correct_dsr_backend_is_compliant() -> None:
    assert rules_hit(dsr("MAC", usip="YES", useproxyport="NO")) == set()


def test_script_only_monitor_in_mac_mode_is_critical_and_default_monitor_is_fine() -> None:
    snap = dsr("MAC", usip="YES", useproxyport="NO")
    assert rules_hit(snap) == set()  # no explicit monitor: the appliance's default learns the MAC
    raw_monitors = {
        "lbmonitor": [{"monitorname": "mon_script", "type": "USER", "scriptname": "x.pl"}],
        "service_lbmonitor_binding": [{"name": "svc1", "monitor_name": "mon_script"}],
    }
    snap = snapshot(
        lbvserver=[{"name": "vs1", "ipv46": "198.51.100.10", "port": 65535, "m": "MAC"}],
        lbvserver_service_binding=[{"name": "vs1", "servicename": "svc1"}],
        service=[
            {
                "name": "svc1",
                "ipaddress": "10.20.0.21",
                "port": 65535,
                "usip": "YES",
                "useproxyport": "NO",
            }
        ],
        **raw_monitors,
    )
    [finding] = evaluate(snap, [PLAYBOOK], today=TODAY).findings
    assert finding.rule == "DSR-MONITOR"
    assert finding.flow == "mac-not-learned"
    assert finding.remediation.bind_monitor == "ping-default"


def test_backend_outside_every_snip_subnet_in_mac_mode() -> None:
    assert ("DSR-LAYER2", "svc1") in rules_hit(dsr("MAC", ipaddress="172.16.50.11"))
    # IPTUNNEL reaches remote servers: no layer-2 rule there.
    assert ("DSR-LAYER2", "svc1") not in rules_hit(dsr("IPTUNNEL", ipaddress="172.16.50.11"))


def test_inherited_usip_under_global_mode_is_info() -> None:
    snap = dsr("MAC", usip="YES", useproxyport="NO")
    snap = build_snapshot(
        {
            "nsmode": {"usip": True},
            "nsip": [{"ipaddress": "10.20.0.5", "netmask": "255.255.255.0"}],
            "lbvserver": [{"name": "vs1", "ipv46": "198.51.100.10", "port": 65535, "m": "MAC"}],
            "lbvserver_service_binding": [{"name": "vs1", "servicename": "svc1"}],
            "service": [
                {"name": "svc1", "ipaddress": "10.20.0.21", "usip": "YES", "useproxyport": "NO"}
            ],
        },
        url="x",
        collected_at=datetime.now(UTC),
    )
    result = evaluate(snap, [PLAYBOOK], today=TODAY)
    assert [(f.rule, f.severity) for f in result.findings] == [
        ("DSR-USIP-INHERITED", Severity.INFO)
    ]
    assert not result.fails(Severity.WARNING)
    assert result.fails(Severity.INFO)


def test_seed_incident_has_the_critical_finding_and_healthy_has_none() -> None:
    seed = evaluate(scenario("seed-incident"), [PLAYBOOK], today=TODAY)
    assert any(f.rule == "DSR-USIP" and f.severity is Severity.CRITICAL for f in seed.findings)
    assert evaluate(scenario("healthy"), [PLAYBOOK], today=TODAY).findings == ()


def test_one_finding_per_object_lists_every_vserver_it_was_reached_through() -> None:
    snap = snapshot(
        lbvserver=[
            {"name": "vs_a", "ipv46": "198.51.100.10", "port": 65535, "m": "MAC"},
            {"name": "vs_b", "ipv46": "198.51.100.11", "port": 65535, "m": "MAC"},
        ],
        lbvserver_service_binding=[
            {"name": "vs_a", "servicename": "svc1"},
            {"name": "vs_b", "servicename": "svc1"},
        ],
        service=[{"name": "svc1", "ipaddress": "10.20.0.21", "usip": "NO", "useproxyport": "NO"}],
    )
    [finding] = evaluate(snap, [PLAYBOOK], today=TODAY).findings
    assert finding.via == ("vs_a", "vs_b")


def test_a_usip_the_appliance_leaves_out_is_the_global_mode_s() -> None:
    # One place decides the effective usip: the object's own, else the global USIP mode.
    snap = snapshot(
        lbvserver=[{"name": "vs1", "ipv46": "198.51.100.10", "port": 65535, "m": "MAC"}],
        lbvserver_service_binding=[{"name": "vs1", "servicename": "svc1"}],
        service=[{"name": "svc1", "ipaddress": "10.20.0.21", "useproxyport": "NO"}],
    )
    result = evaluate(snap, [PLAYBOOK], today=TODAY)
    [finding] = [f for f in result.findings if f.rule == "DSR-USIP"]
    assert finding.current == "NO"
    assert "follows the global USIP mode" in finding.message
    assert result.unevaluated == ()


def test_absent_attribute_without_a_global_mode_is_unevaluated_not_a_difference() -> None:
    snap = snapshot(
        nsmode={"mbf": True},
        lbvserver=[{"name": "vs1", "ipv46": "198.51.100.10", "port": 65535, "m": "MAC"}],
        lbvserver_service_binding=[{"name": "vs1", "servicename": "svc1"}],
        service=[{"name": "svc1", "ipaddress": "10.20.0.21", "useproxyport": "NO"}],
    )
    result = evaluate(snap, [PLAYBOOK], today=TODAY)
    assert result.findings == ()
    assert [(u.rule, u.attribute) for u in result.unevaluated] == [("DSR-USIP", "usip")]


def test_waivers_hide_until_they_expire(tmp_path: Path) -> None:
    text = """
waivers:
  - rule: DSR-PROXYPORT
    object: service/svc*
    reason: vendor appliance needs its own port
    owner: app-team
    expires: 2026-12-31
  - rule: DSR-USIP
    object: default:service/svc1
    reason: old exception
    owner: someone
    expires: 2025-01-01
"""
    waivers = load_waivers(text, "waivers.yaml")
    result = evaluate(dsr("MAC"), [PLAYBOOK], waivers=waivers, today=TODAY)
    by_rule = {f.rule: f for f in result.findings}
    assert by_rule["DSR-PROXYPORT"].waived
    assert not by_rule["DSR-USIP"].waived  # expired: hides nothing
    assert [w.rule for w in result.expired_waivers] == ["DSR-USIP"]
    assert [f.rule for f in result.active()] == ["DSR-USIP"]


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (
            "playbook: x\nrules:\n  - id: A\n    title: t\n    severity: urgent\n"
            "    select: {resource: lbvserver}\n    expect: {m: MAC}\n",
            5,
            "rules[0].severity",
        ),
        (
            "playbook: x\nrules:\n  - id: A\n    title: t\n    severity: info\n"
            "    select: {resource: vserver}\n    expect: {m: MAC}\n",
            6,
            "rules[0].select.resource",
        ),
        (
            "playbook: x\nrules:\n  - id: A\n    title: t\n    severity: info\n"
            "    select: {resource: lbvserver}\n    follow: backends\n    expect: {colour: red}\n",
            8,
            "rules[0].expect.colour",
        ),
        (
            "playbook: x\nrules:\n  - id: A\n    title: t\n    severity: info\n"
            "    select: {resource: lbvserver}\n    check: nonsense\n",
            7,
            "unknown check",
        ),
        (
            "playbook: x\nrules:\n  - id: A\n    title: t\n    severity: info\n"
            "    select: {resource: lbvserver}\n    follow: backends\n    expect: {usip: YES}\n"
            "    remediation: {set: {servicetype: HTTP}}\n",
            9,
            "does not change service",
        ),
        ("playbook: x\nrules:\n  - id: A\n    titel: t\n", 4, "unknown field 'titel'"),
        ("playbook: x\nrules: [\n", 3, "not valid YAML"),
        (
            "playbook: x\nrules:\n  - id: A\n    title: t\n    severity: info\n"
            "    select: {resource: lbvserver}\n",
            3,
            "needs 'expect'",
        ),
    ],
)
def test_a_bad_playbook_names_file_line_and_field(text: str, line: int, fragment: str) -> None:
    with pytest.raises(SourceError) as error:
        parse_playbook(text, "custom.yaml")
    assert f"custom.yaml:{line}:" in str(error.value)
    assert fragment in str(error.value)


def test_yaml_booleans_read_as_netscaler_words() -> None:
    # `usip: YES` unquoted is a YAML 1.1 boolean; it must still mean the word YES.
    text = (
        "playbook: x\nrules:\n  - id: A\n    title: t\n    severity: warning\n"
        "    select: {resource: lbvserver, where: {m: MAC}}\n    follow: backends\n"
        "    expect: {usip: YES}\n"
    )
    playbook = parse_playbook(text, "x.yaml")
    assert dict(playbook.rules[0].expect) == {"usip": "YES"}
    assert ("A", "svc1") in {
        (f.rule, f.object.name) for f in evaluate(dsr("MAC"), [playbook], today=TODAY).findings
    }


def test_bad_waiver_file_is_a_clear_error() -> None:
    with pytest.raises(SourceError, match=r"w.yaml:3: waivers\[0\].expires"):
        load_waivers(
            "waivers:\n  - rule: A\n    expires: someday\n    object: x\n"
            "    reason: r\n    owner: o\n",
            "w.yaml",
        )
