"""The CAB and the compliance job through the CLI: every report format, fleets, --since."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from mocks.fixtures import RunningMock
from nsfix.schemas import load_schema
from tests.cli.conftest import PASSWORD, USER, Run, closed_port

Nsfix = Callable[..., Run]
Appliance = Callable[..., RunningMock]
SARIF_SCHEMA = Path(__file__).resolve().parents[1] / "reports" / "data" / "sarif-schema-2.1.0.json"


@pytest.mark.parametrize("scenario", ["seed-incident", "mixed"])
def test_every_report_format_of_a_plan_and_an_audit(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path, scenario: str
) -> None:
    mock = appliance(scenario)
    plan = tmp_path / "plan.json"
    assert nsfix("plan", "-o", str(plan), url=mock.url).code == 0
    body = json.loads(plan.read_text())["plan"]
    affected = {v for c in body["changes"] for v in c["vservers"]}
    # A before and an after drawing per kind of path; the others of a kind are named under it.
    assert {v for p in body["paths"] for v in (p["vserver"], *p["alike"])} == affected

    md = nsfix("report", str(plan), "--format", "md", "--ticket", "CHG-42")
    assert md.code == 0
    assert "CHG-42" in md.out
    assert "nsfix rollback" in md.out
    html_file = tmp_path / "cab.html"
    assert nsfix("report", str(plan), "--format", "html", "-o", str(html_file)).code == 0
    html = html_file.read_text()
    assert len(re.findall(r"<svg\b", html)) == 2 * len(body["paths"])
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", html)
    assert "<link" not in html
    document = nsfix("report", str(plan), "--format", "json").json()
    jsonschema.Draft202012Validator(load_schema("plan")).validate(document)

    for fmt in ("text", "json", "md", "html", "junit", "sarif"):
        out = tmp_path / f"audit.{fmt}"
        run = nsfix("audit", "--format", fmt, "-o", str(out), url=mock.url)
        assert run.code == 2, fmt
        assert out.stat().st_size > 0
    ET.fromstring((tmp_path / "audit.junit").read_text())  # well-formed
    sarif = json.loads((tmp_path / "audit.sarif").read_text())
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(sarif)
    jsonschema.Draft202012Validator(load_schema("audit")).validate(
        json.loads((tmp_path / "audit.json").read_text())
    )


def test_an_edited_plan_gets_no_report(nsfix: Nsfix, appliance: Appliance, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    nsfix("plan", "-o", str(plan), url=appliance().url)
    document = json.loads(plan.read_text())
    document["plan"]["changes"][0]["after"]["usip"] = "NO"  # edited after review
    plan.write_text(json.dumps(document))
    run = nsfix("report", str(plan))
    assert run.code == 1
    assert "changed after it was made" in run.err


@pytest.mark.usefixtures("no_backoff")
def test_fleet_audit_one_down_one_slow_one_with_findings(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = appliance("seed-incident")
    good = appliance("healthy")
    slow = appliance("healthy")
    slow.appliance.faults.configure(latency=0.05)
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "defaults:\n  user_env: FLEET_USER\n  password_env: FLEET_PASSWORD\n  timeout: 5\n"
        "appliances:\n"
        f"  - {{name: bad, url: '{bad.url}', tags: [prod]}}\n"
        f"  - {{name: good, url: '{good.url}', tags: [prod]}}\n"
        f"  - {{name: slow, url: '{slow.url}', tags: [lab]}}\n"
        f"  - {{name: down, url: 'http://127.0.0.1:{closed_port()}', tags: [lab]}}\n"
    )
    monkeypatch.setenv("FLEET_USER", USER)
    monkeypatch.setenv("FLEET_PASSWORD", PASSWORD)
    run = nsfix("audit", "--fleet", str(fleet), "--workers", "4", "--json")
    assert run.out.startswith("{"), run.err
    document = run.json()
    # Findings on a box that was read and an unreachable one: 8, so cron mails (not 2).
    assert run.code == 8
    # The unreachable one's reason is said once on stderr, in the line that names it.
    assert run.err.count("cannot reach the appliance") == 1, run.err
    assert "down (http://127.0.0.1:" in run.err
    by_url = {t["url"]: t for t in document["targets"]}
    assert by_url[bad.url]["counts"]["critical"] == 2
    assert by_url[good.url]["counts"]["critical"] == 0
    assert by_url[slow.url]["status"] == "ok"
    down = [t for t in document["targets"] if t["status"] == "error"]
    assert len(down) == 1
    assert "cannot reach" in down[0]["error"]
    assert document["summary"]["unreachable"] == 1
    assert PASSWORD not in run.out + run.err
    lab = nsfix("audit", "--fleet", str(fleet), "--select", "lab", "--json")
    assert lab.code == 3  # the slow one is compliant, the down one could not be read
    assert len(lab.json()["targets"]) == 2
    mixed = nsfix("audit", "--fleet", str(fleet), "--url", bad.url)
    assert mixed.code == 64


def test_since_reports_a_fixed_finding_as_resolved(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path
) -> None:
    mock = appliance("seed-incident")
    state = tmp_path / "state.json"
    first = nsfix("audit", "--since", str(state), "--json", url=mock.url).json()
    assert len(first["since"]["new"]) == 4
    mock.appliance.set_attribute("service", "svc_app_01", {"usip": "YES", "useproxyport": "NO"})
    second = nsfix("audit", "--since", str(state), "--json", url=mock.url).json()
    resolved = {(r["rule"], r["object"]) for r in second["since"]["resolved"]}
    assert resolved == {("DSR-USIP", "service/svc_app_01"), ("DSR-PROXYPORT", "service/svc_app_01")}
    assert len(second["since"]["unchanged"]) == 2
    assert second["since"]["new"] == []


def test_apply_json_prints_a_result_document_even_when_refused(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NSFIX_JOURNAL_DIR", str(tmp_path / "journals"))
    mock = appliance()
    plan = tmp_path / "plan.json"
    nsfix("plan", "-o", str(plan), url=mock.url)
    mock.appliance.set_attribute("service", "svc_app_01", {"usip": "YES"})
    refused = nsfix("apply", str(plan), "--yes", "--json", url=mock.url)
    assert refused.code == 4
    document = refused.json()
    jsonschema.Draft202012Validator(load_schema("result")).validate(document)
    assert document["status"] == "refused"
    assert any("svc_app_01" in m for m in document["messages"])
    missing = nsfix("apply", str(tmp_path / "nope.json"), "--json", url=mock.url)
    assert missing.code == 1
    assert missing.json()["status"] == "error"
