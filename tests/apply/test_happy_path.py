"""The seed incident end to end: dry run, apply, audit, explain, apply again, roll back."""

from __future__ import annotations

import json
from pathlib import Path

from tests.apply.helpers import (
    PASSWORD,
    Nsfix,
    StartAppliance,
    appliance_fixture,  # noqa: F401
    assert_same_config,
    journal_dir_fixture,  # noqa: F401
    make_plan,
    nsfix_fixture,  # noqa: F401
    only_journal,
    outcomes,
    records,
    whole_config,
)


def test_seed_incident_dry_run_apply_verify_and_roll_back_exactly(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance("seed-incident")
    plan_path = tmp_path / "plan.json"
    document = make_plan(nsfix, mock.url, plan_path)
    changes = document["plan"]["changes"]
    assert [c["object"]["name"] for c in changes] == ["svc_app_01", "svc_app_02"]
    before = whole_config(mock.appliance)

    dry = nsfix("apply", str(plan_path), "--dry-run")
    assert dry.code == 0, dry.err
    assert mock.appliance.counters["writes"] == 0
    assert journal_dir.exists() is False or not list(journal_dir.iterdir())
    # Each request as it would go out: method and path, then the exact JSON body.
    lines = [line.strip() for line in dry.out.splitlines()]
    bodies = [json.loads(line) for line in lines if line.startswith("{")]
    assert bodies == [{"service": c["operation"]["record"]} for c in changes]
    assert lines.count("PUT /nitro/v1/config/service") == len(changes)
    for change in changes:
        assert f"{change['id']} service/{change['object']['name']}" in dry.out
    assert "usip NO → YES" in dry.out
    assert "nothing was written" in dry.out

    applied = nsfix("apply", str(plan_path), "--yes", "--settle", "0")
    assert applied.code == 0, applied.err
    assert "apply: applied (exit 0)" in applied.out
    assert applied.out.count("applied and verified") == 2
    journal = only_journal(journal_dir)
    # The journal path is printed at the start and at the end, with the way back.
    assert f"to undo later: nsfix rollback {journal}" in applied.err
    assert f"to undo: nsfix rollback {journal}" in applied.out
    assert outcomes(journal, "apply") == {"c1": "applied", "c2": "applied"}
    kinds = [r["type"] for r in records(journal)]
    assert kinds[0] == "start"
    assert kinds[-1] == "end"
    assert kinds.count("intent") == 2
    services = {s["name"]: s for s in mock.appliance.config()["service"]}
    for name in ("svc_app_01", "svc_app_02"):
        assert (services[name]["usip"], services[name]["useproxyport"]) == ("YES", "NO")
    assert PASSWORD not in journal.read_text()

    audit = nsfix("audit", url=mock.url)
    assert audit.code == 0, audit.out
    explain = nsfix("explain", "vs_app_dsr", url=mock.url)
    assert explain.code == 0
    assert "outcome: direct-return" in explain.out
    assert "outcome: loop" not in explain.out

    again = nsfix("apply", str(plan_path), "--yes", "--settle", "0")
    assert again.code == 7
    assert "already in place" in again.out
    assert len(list(journal_dir.glob("*.jsonl"))) == 1  # nothing to do: no new journal

    writes = mock.appliance.counters["writes"]
    undo = nsfix("rollback", str(journal), "--yes", "--settle", "0")
    assert undo.code == 0, undo.out + undo.err
    assert undo.out.count("reverted and verified") == 2
    assert mock.appliance.counters["writes"] == writes + 1  # both inverses in one bulk PUT
    assert_same_config(before, mock.appliance)
    assert outcomes(journal, "rollback") == {"c1": "reverted", "c2": "reverted"}

    # The journal now says nothing may be left: a second rollback has nothing to do.
    twice = nsfix("rollback", str(journal), "--yes", "--settle", "0")
    assert twice.code == 7
    assert mock.appliance.counters["writes"] == writes + 1


def test_rollback_dry_run_shows_the_inverse_and_writes_nothing(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance("seed-incident")
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    assert nsfix("apply", str(plan_path), "--yes", "--settle", "0").code == 0
    writes = mock.appliance.counters["writes"]
    journal = only_journal(journal_dir)
    dry = nsfix("rollback", str(journal), "--dry-run")
    assert dry.code == 0
    # One bulk request, newest change first, as the rollback would send it.
    [body] = [json.loads(line) for line in dry.out.splitlines() if line.strip().startswith("{")]
    assert [r["name"] for r in body["service"]] == ["svc_app_02", "svc_app_01"]
    assert all((r["usip"], r["useproxyport"]) == ("NO", "YES") for r in body["service"])
    assert "X-NITRO-ONERROR: continue" in dry.out
    assert dry.out.count("would revert") == 2
    assert mock.appliance.counters["writes"] == writes
