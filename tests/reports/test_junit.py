"""JUnit XML of audits: what a CI dashboard shows for each rule and object, and counts it trusts."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from nsfix.findings import AuditResult, Finding, ObjectRef, Severity, TargetAudit, Waiver
from nsfix.model import Snapshot, build_snapshot
from nsfix.operations import make_plan, run_audit
from nsfix.planner import PlanOptions, apply_in_memory
from nsfix.reports.junit import READ_CLASSNAME, render_junit
from nsfix.rules.playbook import Playbook
from nsfix.shell import load_playbooks

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 26)
READ_AT = datetime(2026, 11, 26, 10, 15, tzinfo=UTC)
URL = "https://ns-lab-01.example.test"
WAIVER = Waiver(
    rule="DSR-*",
    object="service/svc_far_01",
    reason="migration to IPTUNNEL planned (CHG-20433)",
    owner="app-far@example.com",
    expires=date(2099, 1, 31),
    source="waivers.yaml:3",
)


@pytest.fixture(scope="module")
def books() -> list[Playbook]:
    return load_playbooks([])


def snapshot(name: str, url: str = URL) -> Snapshot:
    raw = json.loads((ROOT / "mocks" / "scenarios" / f"{name}.json").read_text())
    return build_snapshot(raw, url=url, collected_at=READ_AT)


def audited(
    snap: Snapshot, books: Sequence[Playbook], waivers: Sequence[Waiver] = ()
) -> TargetAudit:
    result = run_audit(snap, books, waivers, None, today=TODAY)
    return TargetAudit(snap.appliance.url, snap.appliance.partition, snap, result)


def unreachable(url: str = "https://ns-down.example.test") -> TargetAudit:
    return TargetAudit(url, "default", None, None, f"{url}: cannot reach the appliance: refused")


def parse(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    # Parses what nsfix itself just wrote, not untrusted input.
    return ET.fromstring(text.encode("utf-8"))


def cases(suite: ET.Element) -> dict[tuple[str, str], ET.Element]:
    out = {}
    for case in suite.iter("testcase"):
        key = (case.get("classname", ""), case.get("name", ""))
        assert key not in out, f"duplicate test case {key}"
        out[key] = case
    return out


def case_for(suite: ET.Element, rule: str, obj: str) -> ET.Element:
    found = [
        c
        for c in suite.iter("testcase")
        if c.get("classname") == rule and (c.get("name") or "").startswith(f"{obj} — ")
    ]
    assert len(found) == 1, f"{rule} {obj}: {[c.get('name') for c in found]}"
    return found[0]


def test_counts_on_every_suite_and_the_root_match_the_cases_they_hold(
    books: list[Playbook],
) -> None:
    targets = [
        audited(snapshot("seed-incident"), books),
        audited(snapshot("mixed", "https://ns-lab-03.example.test"), books, [WAIVER]),
        unreachable(),
    ]
    root = parse(render_junit(targets, books))

    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [
        f"{URL} [default]",
        "https://ns-lab-03.example.test [default]",
        "https://ns-down.example.test [default]",
    ]
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for suite in suites:
        testcases = suite.findall("testcase")
        seen = {
            "tests": len(testcases),
            "failures": sum(len(c.findall("failure")) for c in testcases),
            "errors": sum(len(c.findall("error")) for c in testcases),
            "skipped": sum(len(c.findall("skipped")) for c in testcases),
        }
        assert {k: int(suite.get(k, "-1")) for k in seen} == seen, suite.get("name")
        for key, value in seen.items():
            totals[key] += value
    assert {k: int(root.get(k, "-1")) for k in totals} == totals
    assert totals["errors"] == 1


def test_one_case_per_rule_and_object_failed_skipped_or_passed_as_the_audit_says(
    books: list[Playbook],
) -> None:
    target = audited(snapshot("mixed"), books, [WAIVER])
    result = target.result
    assert result is not None
    suite = parse(render_junit([target], books)).findall("testsuite")[0]

    active = result.active()
    waived = [f for f in result.findings if f.waived]
    assert active
    assert waived
    assert result.unevaluated
    assert result.passed
    assert int(suite.get("failures", "")) == len(active)
    assert int(suite.get("skipped", "")) == len(waived) + len(result.unevaluated)
    assert int(suite.get("tests", "")) == (
        len(result.findings) + len(result.unevaluated) + len(result.passed)
    )
    assert len(cases(suite)) == int(suite.get("tests", ""))
    for finding in active:
        case = case_for(suite, finding.rule, str(finding.object))
        [failure] = case.findall("failure")
        assert failure.get("type") == finding.severity.value
        assert failure.get("message") == finding.message
    for rule, ref in result.passed:
        case = case_for(suite, rule, str(ref))
        assert list(case) == [], f"{rule} {ref} should pass"


def test_a_failure_says_what_is_wrong_why_and_how_to_fix_it(books: list[Playbook]) -> None:
    suite = parse(render_junit([audited(snapshot("seed-incident"), books)], books))[0]

    case = case_for(suite, "DSR-USIP", "service/svc_app_01")
    assert case.get("name") == (
        "service/svc_app_01 — DSR backends use the client's source IP (usip YES)"
    )
    [failure] = case.findall("failure")
    assert failure.get("type") == "critical"
    body = failure.text or ""
    assert "service/svc_app_01: usip is NO, expected YES" in body
    assert "usip: current NO, expected YES" in body
    assert "reached through: vs_app_dsr" in body
    assert "packet path: loop" in body
    assert "why: In DSR the server replies from the VIP" in body
    assert "fix: nsfix plan sets usip YES" in body
    assert "reference: https://docs.netscaler.com/" in body
    assert case_for(suite, "DSR-PROXYPORT", "service/svc_app_01").find("failure") is not None
    assert suite.find("properties/property[@name='ha_role']") is not None


def test_a_waived_finding_is_skipped_with_who_accepted_it_until_when_and_why(
    books: list[Playbook],
) -> None:
    suite = parse(render_junit([audited(snapshot("mixed"), books, [WAIVER])], books))[0]

    case = case_for(suite, "DSR-USIP", "service/svc_far_01")
    assert case.find("failure") is None
    [skipped] = case.findall("skipped")
    assert skipped.get("message") == (
        "waived until 2099-01-31 by app-far@example.com: migration to IPTUNNEL planned (CHG-20433)"
    )
    undecided = case_for(suite, "DSR-LAYER2", "service/svc_badaddr_01").find("skipped")
    assert undecided is not None
    assert undecided.get("message") == "not evaluated: no usable address (333:333:33:333)"


def test_a_case_keeps_its_name_when_the_fix_makes_it_pass(books: list[Playbook]) -> None:
    """CI dashboards track a test by classname and name: a fixed object is the same test."""
    before = snapshot("seed-incident")
    target = audited(before, books)
    assert target.result is not None
    after = apply_in_memory(before, make_plan(before, target.result, None, PlanOptions()))

    failing = parse(render_junit([target], books))[0]
    passing = parse(render_junit([audited(after, books)], books))[0]

    for rule in ("DSR-USIP", "DSR-PROXYPORT"):
        was = case_for(failing, rule, "service/svc_app_02")
        now = case_for(passing, rule, "service/svc_app_02")
        assert was.get("name") == now.get("name")
        assert was.find("failure") is not None
        assert list(now) == []
    assert int(passing.get("failures", "")) == 0
    assert set(cases(passing)) >= set(cases(failing))


def test_an_appliance_that_could_not_be_read_is_one_error_not_a_silent_pass(
    books: list[Playbook],
) -> None:
    target = unreachable()
    root = parse(render_junit([target], books))

    [suite] = root.findall("testsuite")
    [case] = suite.findall("testcase")
    assert case.get("classname") == READ_CLASSNAME
    [error] = case.findall("error")
    assert error.get("message") == target.error
    assert (suite.get("tests"), suite.get("errors"), suite.get("failures")) == ("1", "1", "0")
    assert root.get("errors") == "1"


def test_names_with_markup_and_control_characters_still_give_valid_xml(
    books: list[Playbook],
) -> None:
    ref = ObjectRef("service", 'svc<&>"odd\x07\x1b name')
    finding = Finding(
        rule="DSR-USIP",
        title="DSR backends use the client's source IP (usip YES)",
        severity=Severity.CRITICAL,
        object=ref,
        message=f"{ref}: usip is NO\x00, expected YES",
        attribute="usip",
        current="NO",
        expected="YES",
    )
    snap = snapshot("seed-incident")
    target = TargetAudit(URL, "default", snap, AuditResult(findings=(finding,)))

    suite = parse(render_junit([target], books))[0]

    [case] = suite.findall("testcase")
    assert case.get("name", "").startswith('service/svc<&>"odd\ufffd\ufffd name — ')
    failure = case.find("failure")
    assert failure is not None
    assert "usip is NO\ufffd, expected YES" in (failure.get("message") or "")
