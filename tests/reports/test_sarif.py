"""SARIF 2.1.0 of audits: valid against the official OASIS schema, and useful to code scanning."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from nsfix.findings import Severity, TargetAudit, Waiver
from nsfix.model import Snapshot, build_snapshot
from nsfix.operations import run_audit
from nsfix.reports.sarif import FINGERPRINT_KEY, render_sarif
from nsfix.rules.playbook import Playbook
from nsfix.shell import load_playbooks

ROOT = Path(__file__).resolve().parents[2]
OFFICIAL_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
TODAY = date(2026, 11, 26)
URL = "https://ns-lab-01.example.test"
WAIVER = Waiver(
    rule="DSR-*",
    object="service/svc_far_01",
    reason="migration to IPTUNNEL planned (CHG-20433)",
    owner="app-far@example.com",
    expires=date(2099, 1, 31),
    source="waivers.yaml:3",
)
LOGICAL_LOCATION_KINDS = {
    # SARIF 2.1.0 §3.33.7, as listed in the schema's description of logicalLocation.kind.
    "function", "member", "module", "namespace", "parameter", "resource", "returnType", "type",
    "variable", "object", "array", "property", "value", "element", "text", "attribute",
    "comment", "declaration", "dtd", "processingInstruction",
}  # fmt: skip


@pytest.fixture(scope="module")
def books() -> list[Playbook]:
    return load_playbooks([])


@pytest.fixture(scope="module")
def official() -> Any:
    schema = json.loads(OFFICIAL_SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def snapshot(name: str, url: str = URL, read_at: datetime | None = None) -> Snapshot:
    raw = json.loads((ROOT / "mocks" / "scenarios" / f"{name}.json").read_text())
    return build_snapshot(raw, url=url, collected_at=read_at or datetime(2026, 11, 26, tzinfo=UTC))


def audited(
    snap: Snapshot, books: Sequence[Playbook], waivers: Sequence[Waiver] = ()
) -> TargetAudit:
    result = run_audit(snap, books, waivers, None, today=TODAY)
    return TargetAudit(snap.appliance.url, snap.appliance.partition, snap, result)


def unreachable(url: str = "https://ns-down.example.test") -> TargetAudit:
    return TargetAudit(url, "default", None, None, f"{url}: cannot reach the appliance: refused")


def sarif(targets: Sequence[TargetAudit], books: Sequence[Playbook]) -> dict[str, Any]:
    text = render_sarif(targets, books, tool_version="9.8.7")
    assert text.endswith("\n")
    document: dict[str, Any] = json.loads(text)
    return document


def errors(validator: Any, document: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_the_shipped_schema_is_the_oasis_errata01_schema(official: Any) -> None:
    schema = official.schema
    assert schema["id"] == (
        "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    )
    # The published file declares draft-04; validator_for picks the matching validator.
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert isinstance(official, jsonschema.Draft4Validator)
    assert "logicalLocation" in schema["definitions"]


@pytest.mark.parametrize(
    "scenarios",
    [("seed-incident",), ("mixed",), ("healthy",), ("seed-incident", "unreachable"), ()],
)
def test_sarif_validates_against_the_official_schema(
    official: Any, books: list[Playbook], scenarios: tuple[str, ...]
) -> None:
    targets = [
        unreachable()
        if name == "unreachable"
        else audited(snapshot(name, f"https://{name}.example.test"), books, [WAIVER])
        for name in scenarios
    ]
    document = sarif(targets, books)
    assert errors(official, document) == []
    assert document["version"] == "2.1.0"
    assert len(document["runs"]) == 1


def test_the_official_schema_rejects_a_broken_log(official: Any, books: list[Playbook]) -> None:
    """The validation above means something: the same log with wrong values fails it."""
    document = sarif([audited(snapshot("seed-incident"), books)], books)
    result = document["runs"][0]["results"][0]
    result["level"] = "critical"
    result["suppressions"] = [{"kind": "waived"}]
    del document["runs"][0]["tool"]["driver"]["name"]
    found = errors(official, document)
    assert any("'critical' is not one of" in e for e in found)
    assert any("'waived' is not one of" in e for e in found)
    assert any("'name' is a required property" in e for e in found)


def test_rules_carry_title_rationale_reference_help_and_default_level(
    books: list[Playbook],
) -> None:
    document = sarif([audited(snapshot("seed-incident"), books)], books)
    driver = document["runs"][0]["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("nsfix", "9.8.7")

    rules = {r["id"]: r for r in driver["rules"]}
    assert list(rules) == [rule.id for book in books for rule in book.rules]
    levels = {"critical": "error", "warning": "warning", "info": "note"}
    for book in books:
        for rule in book.rules:
            descriptor = rules[rule.id]
            assert descriptor["shortDescription"]["text"] == rule.title
            assert descriptor["fullDescription"]["text"] == rule.rationale
            assert descriptor["defaultConfiguration"]["level"] == levels[rule.severity.value]
            assert descriptor.get("helpUri") == rule.reference
            if rule.remediation.guidance:
                assert rule.remediation.guidance in descriptor["help"]["text"]
    assert "nsfix plan sets usip YES" in rules["DSR-USIP"]["help"]["text"]
    assert rules["DSR-USIP"]["name"] == "DsrUsip"


def test_each_finding_is_a_result_with_its_level_message_and_logical_location(
    books: list[Playbook],
) -> None:
    target = audited(snapshot("mixed"), books, [WAIVER])
    assert target.result is not None
    run = sarif([target], books)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = [r for r in run["results"] if r.get("kind", "fail") == "fail"]

    assert len(results) == len(target.result.findings)
    levels = {Severity.CRITICAL: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
    for finding, result in zip(target.result.findings, results, strict=True):
        assert result["ruleId"] == finding.rule
        assert rules[result["ruleIndex"]]["id"] == finding.rule
        assert result["level"] == levels[finding.severity]
        assert result["message"]["text"] == finding.message
        [location] = result["locations"][0]["logicalLocations"]
        assert location["kind"] in LOGICAL_LOCATION_KINDS
        ref = finding.object
        qualified = f"{URL}/default/{ref.resource}/{ref.name}"
        if ref.member:
            qualified += f"/member/{ref.member}"
        assert location["fullyQualifiedName"] == qualified
        assert location["name"].startswith(ref.name)
    assert {r["level"] for r in results} == {"error", "warning", "note"}


def test_waived_findings_are_suppressed_with_the_waivers_justification(
    books: list[Playbook],
) -> None:
    run = sarif([audited(snapshot("mixed"), books, [WAIVER])], books)["runs"][0]

    suppressed = [r for r in run["results"] if "suppressions" in r]
    assert {r["ruleId"] for r in suppressed} == {"DSR-USIP", "DSR-PROXYPORT", "DSR-LAYER2"}
    for result in suppressed:
        [suppression] = result["suppressions"]
        assert suppression["kind"] == "external"
        assert suppression["justification"].startswith(WAIVER.reason)
        assert "app-far@example.com" in suppression["justification"]
        assert "svc_far_01" in result["locations"][0]["logicalLocations"][0]["name"]
    others = [r for r in run["results"] if r not in suppressed]
    assert all("svc_far_01" not in r["message"]["text"] for r in others)


def test_fingerprints_are_stable_across_runs_and_distinct_across_objects_and_appliances(
    books: list[Playbook],
) -> None:
    def prints(url: str, read_at: datetime) -> list[str]:
        run = sarif([audited(snapshot("mixed", url, read_at), books)], books)["runs"][0]
        return [r["partialFingerprints"][FINGERPRINT_KEY] for r in run["results"]]

    monday = prints(URL, datetime(2026, 11, 23, 6, tzinfo=UTC))
    tuesday = prints(URL, datetime(2026, 11, 24, 6, tzinfo=UTC))
    elsewhere = prints("https://ns-lab-02.example.test", datetime(2026, 11, 24, 6, tzinfo=UTC))

    assert monday == tuesday
    assert len(set(monday)) == len(monday)
    assert not set(monday) & set(elsewhere)


def test_an_unreadable_appliance_makes_the_invocation_unsuccessful(
    books: list[Playbook],
) -> None:
    down = unreachable()
    run = sarif([audited(snapshot("seed-incident"), books), down], books)["runs"][0]

    [invocation] = run["invocations"]
    assert invocation["executionSuccessful"] is False
    [note] = invocation["toolExecutionNotifications"]
    assert note["level"] == "error"
    assert down.error is not None
    assert down.error in note["message"]["text"]
    assert len(run["results"]) == 4  # the appliance that was read is still reported

    healthy = sarif([audited(snapshot("seed-incident"), books)], books)["runs"][0]
    assert healthy["invocations"] == [{"executionSuccessful": True}]


def test_an_unevaluated_pair_is_an_open_result_without_a_level(books: list[Playbook]) -> None:
    run = sarif([audited(snapshot("mixed"), books)], books)["runs"][0]

    [undecided] = [r for r in run["results"] if r.get("kind") == "open"]
    assert undecided["ruleId"] == "DSR-LAYER2"
    assert undecided["level"] == "none"
    assert "not evaluated" in undecided["message"]["text"]
