"""Every SARIF document nsfix writes is one GitHub code scanning and GitLab accept.

What the two services require, as they document it (checked below, rule by rule):

GitHub, "SARIF support for code scanning"
https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning
  G1 `version` is "2.1.0" (code scanning supports only SARIF 2.1.0); `$schema` names the schema.
  G2 `runs` is present (an array), each run with `tool.driver.name`; each rule of
     `tool.driver.rules` has an `id`.
  G3 every result has `ruleId` (the same across analyses) and `message.text`.
  G4 every result has at least one location ("locationFromSarifResult: expected at least one
     location" otherwise, github/codeql-action#2459), and each location a `physicalLocation`
     whose `artifactLocation.uri` is a non-empty path relative to the repository root (the
     working directory of the upload) and whose `region.startLine` is a line number (>= 1).
  G5 `partialFingerprints` is an object of strings, stable across runs, so that alerts are
     matched between analyses instead of duplicated.
  G6 `level` is one of none, note, warning, error; `ruleIndex`, when given, is the index of
     the rule named by `ruleId`; related locations are physical locations too.
  G7 upload limits: at most 20 runs per file, 25,000 results per run, 1,000 locations per
     result.

GitLab, "SARIF reports" (artifacts:reports:sarif)
https://docs.gitlab.com/user/application_security/detect/sarif/
and its ingestion rules, https://gitlab.com/gitlab-org/gitlab/-/work_items/599284
  L1 SARIF 2.1.0 only.
  L2 a result without `ruleId` or without a physical location is dropped; when more than half
     are dropped the whole report fails. nsfix drops none: every result has both.
  L3 the location is `artifactLocation.uri` with `region.startLine`, a file of the project: the
     file must exist where the URI says, and the line must be in it.
  L4 suppressed results (`suppressions` with status accepted) are skipped, not errors.

Also valid against the official OASIS SARIF 2.1.0 schema (tests/reports/data).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest

from mocks.fixtures import RunningMock
from nsfix.nitro import NitroClient
from tests.cli.conftest import PASSWORD, SCENARIOS, USER, Run, closed_port

Nsfix = Callable[..., Run]
Appliance = Callable[..., RunningMock]
OFFICIAL_SCHEMA = (
    Path(__file__).resolve().parents[1] / "reports" / "data" / "sarif-schema-2.1.0.json"
)
LEVELS = {"none", "note", "warning", "error"}


def violations(document: dict[str, Any], cwd: Path) -> list[str]:
    """What GitHub code scanning or GitLab would reject or drop in `document`, by rule."""
    out: list[str] = []
    if document.get("version") != "2.1.0":
        out.append("G1/L1 version is not 2.1.0")
    if not isinstance(document.get("$schema"), str):
        out.append("G1 no $schema")
    runs = document.get("runs")
    if not isinstance(runs, list):
        return [*out, "G2 no runs array"]
    if len(runs) > 20:
        out.append("G7 more than 20 runs")
    for run in runs:
        driver = run.get("tool", {}).get("driver", {})
        if not isinstance(driver.get("name"), str) or not driver["name"]:
            out.append("G2 tool.driver.name missing")
        rules = driver.get("rules", [])
        if any(not isinstance(rule.get("id"), str) for rule in rules):
            out.append("G2 a rule without id")
        results = run.get("results", [])
        if len(results) > 25_000:
            out.append("G7 more than 25,000 results")
        for number, result in enumerate(results):
            out.extend(f"result {number}: {v}" for v in _result_violations(result, rules, cwd))
    return out


def _result_violations(result: dict[str, Any], rules: list[Any], cwd: Path) -> list[str]:
    out: list[str] = []
    rule_id = result.get("ruleId")
    if not isinstance(rule_id, str) or not rule_id:
        out.append("G3/L2 no ruleId")
    if not isinstance(result.get("message", {}).get("text"), str):
        out.append("G3 no message.text")
    if result.get("level", "warning") not in LEVELS:
        out.append(f"G6 level {result.get('level')!r}")
    index = result.get("ruleIndex")
    if index is not None and (index >= len(rules) or rules[index].get("id") != rule_id):
        out.append("G6 ruleIndex does not name the rule of ruleId")
    fingerprints = result.get("partialFingerprints")
    if (
        not isinstance(fingerprints, dict)
        or not fingerprints
        or not all(isinstance(v, str) for v in fingerprints.values())
    ):
        out.append("G5 no partialFingerprints of strings")
    locations = result.get("locations")
    if not isinstance(locations, list) or not locations:
        return [*out, "G4/L2 no location"]
    if len(locations) > 1000:
        out.append("G7 more than 1,000 locations")
    for location in [*locations, *result.get("relatedLocations", [])]:
        out.extend(_physical_violations(location.get("physicalLocation"), cwd))
    return out


def _physical_violations(physical: Any, cwd: Path) -> list[str]:
    if not isinstance(physical, dict):
        return ["G4/L2 a location without physicalLocation"]
    uri = physical.get("artifactLocation", {}).get("uri")
    if not isinstance(uri, str) or not uri:
        return ["G4 artifactLocation.uri missing"]
    if urlsplit(uri).scheme or uri.startswith("/"):
        return [f"G4 uri {uri!r} is not relative to the repository"]
    line = physical.get("region", {}).get("startLine")
    if not isinstance(line, int) or line < 1:
        return ["G4 region.startLine missing"]
    path = cwd / uri
    if not path.is_file():
        return [f"L3 {uri} does not exist"]
    if line > len(path.read_text(encoding="utf-8").splitlines()):
        return [f"L3 {uri} has no line {line}"]
    return []


def accepted(report: Path, cwd: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(json.loads(OFFICIAL_SCHEMA.read_text())).validate(document)
    assert violations(document, cwd) == []
    return document


def line_at(cwd: Path, location: dict[str, Any]) -> str:
    physical = location["physicalLocation"]
    lines = (cwd / physical["artifactLocation"]["uri"]).read_text().splitlines()
    return str(lines[physical["region"]["startLine"] - 1])


def results_by_object(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["properties"]["object"]: r
        for r in document["runs"][0]["results"]
        if r["ruleId"] == "DSR-USIP"
    }


def test_an_ns_conf_audit_points_at_the_lines_of_the_file(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    mock = appliance("mixed")
    configs = tmp_path / "configs"
    configs.mkdir()
    # The file is named like anything: its content says what it is.
    backup = configs / "ns-lab-03.backup"
    backup.write_text(running_config(mock))
    run = nsfix(
        "audit", "--from-file", "configs/ns-lab-03.backup", "--format", "sarif", "-o", "audit.sarif"
    )
    assert run.code == 2, run.err
    document = accepted(tmp_path / "audit.sarif", tmp_path)
    found = results_by_object(document)
    location = found["service/svc_far_01"]["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "configs/ns-lab-03.backup"
    assert line_at(tmp_path, location).startswith("add service svc_far_01 ")
    related = [line_at(tmp_path, r) for r in found["service/svc_far_01"]["relatedLocations"]]
    assert "bind lb vserver vs_far_mac svc_far_01" in related
    group = found["servicegroup/sg_dsr_bad"]["locations"][0]
    assert line_at(tmp_path, group).startswith("add serviceGroup sg_dsr_bad ")


def test_a_records_file_audit_points_at_its_records(
    nsfix: Nsfix, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    records = tmp_path / "mixed.json"
    records.write_text((SCENARIOS / "mixed.json").read_text())
    for partition in ("default", "p_apps"):
        run = nsfix(
            "audit",
            "--from-file",
            "mixed.json",
            "--partition",
            partition,
            "--format",
            "sarif",
            "-o",
            f"{partition}.sarif",
        )
        assert run.code == 2, run.err
        document = accepted(tmp_path / f"{partition}.sarif", tmp_path)
        for result in results_by_object(document).values():
            name = result["properties"]["object"].split("/", 1)[1]
            assert json.dumps(name) in line_at(tmp_path, result["locations"][0])


def test_a_live_audit_writes_the_running_configuration_beside_the_report(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    mock = appliance("mixed")
    (tmp_path / "reports").mkdir()
    before = mock.appliance.counters["requests_total"]
    assert nsfix("audit", "--all-partitions", "--json", url=mock.url).code == 2
    plain = mock.appliance.counters["requests_total"] - before
    before = mock.appliance.counters["requests_total"]
    run = nsfix(
        "audit", "--all-partitions", "--format", "sarif", "-o", "reports/audit.sarif", url=mock.url
    )
    assert run.code == 2, run.err
    # One more read per partition: its configuration text.
    assert mock.appliance.counters["requests_total"] - before == plain + 2
    document = accepted(tmp_path / "reports" / "audit.sarif", tmp_path)
    written = sorted(p.name for p in (tmp_path / "reports").glob("*.conf"))
    assert len(written) == 2
    assert all(n.startswith("audit.ns-lab-03-") for n in written)
    found = results_by_object(document)
    assert line_at(tmp_path, found["service/svc_far_01"]["locations"][0]).startswith(
        "add service svc_far_01 "
    )
    assert line_at(tmp_path, found["p_apps:service/svc_p_app_01"]["locations"][0]).startswith(
        "add service svc_p_app_01 "
    )
    assert PASSWORD not in "".join(p.read_text() for p in (tmp_path / "reports").iterdir())


@pytest.mark.usefixtures("no_backoff")
def test_a_fleet_audit_with_an_unreachable_appliance_is_accepted(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    one, two = appliance("seed-incident"), appliance("seed-incident")
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "defaults:\n  user_env: FLEET_USER\n  password_env: FLEET_PASSWORD\n  timeout: 5\n"
        "appliances:\n"
        f"  - {{name: one, url: '{one.url}'}}\n"
        f"  - {{name: two, url: '{two.url}'}}\n"
        f"  - {{name: down, url: 'http://127.0.0.1:{closed_port()}'}}\n"
    )
    monkeypatch.setenv("FLEET_USER", USER)
    monkeypatch.setenv("FLEET_PASSWORD", PASSWORD)
    run = nsfix("audit", "--fleet", str(fleet), "--format", "sarif", "-o", "fleet.sarif")
    assert run.code == 8, run.err  # findings on the rest, one appliance not read
    document = accepted(tmp_path / "fleet.sarif", tmp_path)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in document["runs"][0]["results"]
    }
    # Two appliances with the same host name: each its own file.
    assert len(uris) == 2
    notes = document["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert len(notes) == 1
    assert "could not be audited" in notes[0]["message"]["text"]


def running_config(mock: RunningMock) -> str:
    with NitroClient(mock.url, credentials(), verify=False) as client:
        text = client.get_singleton("nsrunningconfig")["response"]
    assert isinstance(text, str)
    return text


def credentials() -> Any:
    from nsfix.nitro import Credentials

    return Credentials(USER, PASSWORD)
