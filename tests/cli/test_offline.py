"""Offline work: records saved by one inventory give the same audit and plan, no appliance."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from mocks.fixtures import RunningMock
from tests.cli.conftest import PASSWORD, SCENARIOS
from tests.support import Run

Nsfix = Callable[..., Run]
Appliance = Callable[..., RunningMock]


def findings(run: Run) -> list[tuple[str, str]]:
    document = run.json()
    return sorted(
        (f["rule"], f["object_text"]) for t in document["targets"] for f in t.get("findings", [])
    )


def test_saved_records_audit_and_plan_like_the_appliance(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path
) -> None:
    mock = appliance("mixed")
    raw = tmp_path / "ns.json"
    assert nsfix("inventory", "--raw", str(raw), url=mock.url).code == 0
    assert PASSWORD not in raw.read_text()
    online = nsfix("audit", "--json", url=mock.url)
    requests_before = mock.appliance.counters["requests_total"]
    offline = nsfix("audit", "--json", "--from-file", str(raw))
    assert offline.code == online.code == 2
    assert findings(offline) == findings(online)
    assert offline.json()["targets"][0]["url"] == mock.url  # the plan names the real appliance
    plan_offline = nsfix("plan", "--json", "--from-file", str(raw)).json()
    assert mock.appliance.counters["requests_total"] == requests_before  # nothing asked
    plan_online = nsfix("plan", "--json", url=mock.url).json()
    assert plan_offline["plan"]["changes"] == plan_online["plan"]["changes"]


def test_a_scenario_file_is_records_too_with_its_partitions(nsfix: Nsfix) -> None:
    run = nsfix(
        "audit", "--json", "--from-file", str(SCENARIOS / "mixed.json"), "--partition", "p_apps"
    )
    assert ("DSR-USIP", "p_apps:service/svc_p_app_01") in findings(run)
    explain = nsfix("explain", "vs_app_dsr", "--from-file", str(SCENARIOS / "seed-incident.json"))
    assert "outcome: loop" in explain.out
    missing = nsfix("audit", "--from-file", str(SCENARIOS / "mixed.json"), "--partition", "nope")
    assert missing.code == 1
    assert "no partition 'nope'" in missing.err


def test_a_broken_records_file_is_a_clear_error(nsfix: Nsfix, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    run = nsfix("audit", "--from-file", str(bad))
    assert run.code == 1
    assert "not JSON" in run.err
    bad.write_text(json.dumps([1, 2]))
    assert "expected a JSON object" in nsfix("plan", "--from-file", str(bad)).err


def test_records_saved_from_a_records_file_hold_the_records(nsfix: Nsfix, tmp_path: Path) -> None:
    """`inventory --from-file X --raw Y` extracts one partition's records: Y reads like X."""
    scenario = str(SCENARIOS / "mixed.json")
    for partition in ("default", "p_apps"):
        saved = tmp_path / f"{partition}.json"
        run = nsfix(
            "inventory", "--from-file", scenario, "--partition", partition, "--raw", str(saved)
        )
        assert run.code == 0, run.err
        records = json.loads(saved.read_text())
        assert "service" in records
        assert "_partitions" not in records
        assert records["_nsfix"]["partition"] == partition
        given = nsfix("audit", "--json", "--from-file", scenario, "--partition", partition)
        again = nsfix("audit", "--json", "--from-file", str(saved))
        assert findings(again) == findings(given)
        assert findings(again)
