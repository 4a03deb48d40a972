"""Every output of a plan says which change is the canary and why, or that none is meaningful."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from nsfix.model import build_snapshot
from nsfix.operations import make_plan, run_audit
from nsfix.planfile import plan_document
from nsfix.planner import Plan, PlanOptions
from nsfix.reports.cab import render_html, render_markdown
from nsfix.reports.plan import render_plan_text
from nsfix.schemas import load_schema
from nsfix.shell import load_playbooks

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 26, 10, 15, tzinfo=UTC)
LIVE_REASON = (
    "service/svc_app_02 is an enabled service that is UP behind vs_app_dsr (enabled, UP): its "
    "write changes live traffic, so its verification proves the change before the rest is "
    "written"
)
NO_CANARY = "no change can be a meaningful canary: "


def seed(resource: str, name: str, **fields: str) -> dict[str, Any]:
    """The seed incident, with one record's fields changed."""
    raw: dict[str, Any] = json.loads((ROOT / "mocks/scenarios/seed-incident.json").read_text())
    next(r for r in raw[resource] if r["name"] == name).update(fields)
    return raw


def plan_of(raw: dict[str, Any]) -> Plan:
    snapshot = build_snapshot(raw, url="https://127.0.0.1:9", collected_at=NOW)
    result = run_audit(snapshot, load_playbooks([]), (), None)
    return make_plan(snapshot, result, None, PlanOptions())


@pytest.fixture(scope="module")
def live() -> Plan:
    """svc_app_01 comes first by name but is DOWN: svc_app_02 must be the canary."""
    return plan_of(seed("service", "svc_app_01", svrstate="DOWN"))


@pytest.fixture(scope="module")
def dead() -> Plan:
    """The virtual server both services serve is disabled: no change is a meaningful canary."""
    return plan_of(seed("lbvserver", "vs_app_dsr", state="DISABLED", curstate="OUT OF SERVICE"))


def plain(markdown: str) -> str:
    """Markdown without its escapes, to look for words."""
    return re.sub(r"\\(.)", r"\1", markdown)


def test_the_text_plan_puts_the_live_backend_first_and_says_why(live: Plan) -> None:
    text = render_plan_text(live)
    assert re.search(r"^  c1 \(canary\)\s+service/svc_app_02 ", text, flags=re.M)
    assert re.search(r"^  c2\s+service/svc_app_01 ", text, flags=re.M)
    assert f"  Canary c1 [up-backend-on-up-vserver]: {LIVE_REASON}." in text


def test_the_text_plan_says_plainly_when_no_canary_is_meaningful(dead: Plan) -> None:
    text = render_plan_text(dead)
    line = next(line for line in text.splitlines() if line.startswith("  Canary c1"))
    assert line.startswith(f"  Canary c1 [no-live-candidate]: {NO_CANARY}")
    assert "service/svc_app_01 (vs_app_dsr disabled)" in line
    assert "service/svc_app_02 (vs_app_dsr disabled)" in line
    assert "proves nothing on live traffic." in line


def test_the_plan_file_carries_the_canary_and_the_schema_accepts_it(live: Plan, dead: Plan) -> None:
    validator = Draft202012Validator(load_schema("plan"))
    for the_plan, code in ((live, "up-backend-on-up-vserver"), (dead, "no-live-candidate")):
        document = json.loads(json.dumps(plan_document(the_plan)))
        assert list(validator.iter_errors(document)) == []
        canary = document["plan"]["canary"]
        assert (canary["change"], canary["code"]) == ("c1", code)
        assert document["plan"]["changes"][0]["canary"] is True
    assert json.loads(json.dumps(plan_document(live)))["plan"]["canary"]["reason"].startswith(
        LIVE_REASON
    )


def test_the_cab_report_gives_the_reason_with_the_changes(live: Plan, dead: Plan) -> None:
    digest = str(plan_document(live)["digest"])
    text = plain(render_markdown(live, digest=digest))
    changes = text.split("## 4. Changes", 1)[1].split("## 5.", 1)[0]
    assert f"**Why c1 is the canary** (`up-backend-on-up-vserver`): {LIVE_REASON}" in changes
    summary = text.split("## 1. Summary", 1)[1].split("## 2.", 1)[0]
    assert "The first change (c1, service/svc_app_02) is a canary on live traffic" in summary
    page = unescape(re.sub(r"<[^>]+>", "", render_html(live, digest=digest)))
    assert f"Why c1 is the canary (up-backend-on-up-vserver): {LIVE_REASON}" in page

    digest = str(plan_document(dead)["digest"])
    text = plain(render_markdown(dead, digest=digest))
    summary = text.split("## 1. Summary", 1)[1].split("## 2.", 1)[0]
    assert "no change can be a meaningful canary (section 4 says why)" in summary
    assert "proves nothing on live traffic" in summary
    assert "is a canary on live traffic" not in summary
    changes = text.split("## 4. Changes", 1)[1].split("## 5.", 1)[0]
    assert f"**Why c1 is the canary** (`no-live-candidate`): {NO_CANARY}" in changes
    page = unescape(re.sub(r"<[^>]+>", "", render_html(dead, digest=digest)))
    assert f"Why c1 is the canary (no-live-candidate): {NO_CANARY}" in page
