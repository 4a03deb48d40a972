"""Verdicts never depend on the order in which the appliance lists its records.

Every list of records (virtual servers, services, groups, members, bindings, SNIPs, monitors,
HA nodes) is shuffled, and the audit and the plan must come out the same. A group's verdict is a
function of all its members, so the member listed first must not decide it.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nsfix.canonical import jsonable
from nsfix.model import build_snapshot
from nsfix.operations import make_plan, run_audit
from nsfix.planfile import plan_document
from nsfix.planner import PlanOptions
from nsfix.rules.engine import parse_playbook
from tests.support import shuffled

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = parse_playbook((ROOT / "playbooks/dsr-source-ip.yaml").read_text(), "dsr-source-ip.yaml")
TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
SCENARIOS = ("seed-incident", "mixed", "healthy", "topology", "unknown-node")


def verdicts(raw: dict[str, Any], options: PlanOptions) -> tuple[Any, Any]:
    snap = build_snapshot(raw, url="https://ns", collected_at=NOW)
    audit = run_audit(snap, [PLAYBOOK], (), None, today=TODAY)
    document = plan_document(make_plan(snap, audit, None, options))
    body = document["plan"]
    body.pop("created_at", None)
    body.pop("snapshot_digest", None)
    findings = sorted(
        (
            f["rule"],
            json.dumps(f["object"], sort_keys=True),
            f["message"],
            f.get("flow") or "",
            tuple(sorted(f["via"])),
        )
        for f in jsonable(audit.findings)
    )
    return findings, body


def scenario(name: str) -> dict[str, Any]:
    path = ROOT / "mocks/scenarios" / f"{name}.json"
    if not path.exists():
        pytest.skip(f"no scenario {name}")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@pytest.mark.parametrize("name", SCENARIOS)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_shuffled_records_give_the_same_audit_and_plan(name: str, seed: int) -> None:
    raw = scenario(name)
    options = PlanOptions(bind_monitor=True, dedicated_copies=True)
    expected = verdicts(raw, options)
    if name != "healthy":
        assert expected[0], "the scenario must give findings, or the comparison proves nothing"
    assert verdicts(shuffled(raw, seed), options) == expected
