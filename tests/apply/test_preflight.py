"""Preflight refusals (exit 4, nothing written) and --save / --save-anyway."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from tests.apply.helpers import (
    Nsfix,
    StartAppliance,
    appliance_fixture,  # noqa: F401
    assert_same_config,
    journal_dir_fixture,  # noqa: F401
    journal_files,
    make_plan,
    nsfix_fixture,  # noqa: F401
    only_journal,
    records,
    step_outcomes,
    whole_config,
)


def test_object_changed_out_of_band_since_the_plan_is_refused_and_shown(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    # Someone at the CLI turns on usip but leaves useproxyport: neither the plan's before nor after.
    mock.appliance.set_attribute("service", "svc_app_02", {"usip": "YES"})
    run = nsfix("apply", str(plan_path), "--yes", "--settle", "0")
    assert run.code == 4
    assert mock.appliance.counters["writes"] == 0
    assert "changed since the plan was made; nothing was written" in run.err
    assert "svc_app_02: now usip YES, useproxyport YES; the plan expected usip NO" in run.err
    assert "svc_app_01" not in run.err  # only what changed is shown
    assert journal_files(journal_dir) == []
    # The dry run refuses just the same.
    assert nsfix("apply", str(plan_path), "--dry-run").code == 4


def test_edited_plan_is_refused(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    document = make_plan(nsfix, mock.url, plan_path)
    document["plan"]["changes"][0]["operation"]["record"]["usip"] = "NO"  # digest kept
    plan_path.write_text(json.dumps(document))
    run = nsfix("apply", str(plan_path), "--yes", "--settle", "0")
    assert run.code == 4
    assert "digest does not match" in run.err
    assert mock.appliance.counters["writes"] == 0
    assert journal_files(journal_dir) == []


def test_plan_for_another_appliance_is_refused(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    planned_for, other = appliance(), appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, planned_for.url, plan_path)
    run = nsfix("apply", str(plan_path), "--yes", "--url", other.url)
    assert run.code == 4
    assert f"the plan was made for {planned_for.url}, not {other.url}" in run.err
    assert other.appliance.counters["writes"] == 0
    assert planned_for.appliance.counters["writes"] == 0
    assert journal_files(journal_dir) == []


def test_lock_held_by_another_run_is_refused(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    port = mock.url.rsplit(":", 1)[1]
    locks = journal_dir.parent / "locks"
    locks.mkdir(parents=True)
    holder = os.open(locks / f"127.0.0.1_{port}-default.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(holder, b"pid 4242 user night-job")
        run = nsfix("apply", str(plan_path), "--yes", "--settle", "0")
        assert run.code == 4
        assert "another nsfix apply or rollback holds the lock" in run.err
        assert "pid 4242 user night-job" in run.err
        assert mock.appliance.counters["writes"] == 0
        assert journal_files(journal_dir) == []
    finally:
        os.close(holder)
    # Released: the same command now goes through.
    assert nsfix("apply", str(plan_path), "--yes", "--settle", "0").code == 0


def test_without_a_terminal_and_without_yes_nothing_is_written(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    run = nsfix("apply", str(plan_path), "--settle", "0")
    assert run.code == 4
    assert "not on a terminal and --yes not given" in run.err
    assert mock.appliance.counters["writes"] == 0
    assert journal_files(journal_dir) == []


def test_save_refuses_to_persist_someone_elses_unsaved_changes(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    mock.appliance.set_attribute("lbvserver", "vs_web_http", {"comment": "edited by hand"})
    assert mock.appliance.config()["nsconfig"]["configchanged"] is True
    refused = nsfix("apply", str(plan_path), "--yes", "--save", "--settle", "0")
    assert refused.code == 4
    assert "unsaved changes" in refused.err
    assert "--save-anyway" in refused.err
    assert mock.appliance.counters["writes"] == 0

    anyway = nsfix("apply", str(plan_path), "--yes", "--save-anyway", "--settle", "0")
    assert anyway.code == 0, anyway.out + anyway.err
    assert "running configuration saved" in anyway.out
    assert mock.appliance.config_changed() is False
    saved = {s["name"]: s for s in mock.appliance.saved_config()["service"]}
    assert saved["svc_app_01"]["usip"] == "YES"
    journal = only_journal(journal_dir)
    kinds = [r["type"] for r in records(journal)]
    assert kinds.index("save") < kinds.index("end")
    preflight = next(r for r in records(journal) if r["type"] == "preflight")
    assert preflight["config_changed_before"] is True


def test_save_on_a_clean_appliance_saves_after_the_verified_apply(
    nsfix: Nsfix, appliance: StartAppliance, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    assert mock.appliance.config_changed() is False
    run = nsfix("apply", str(plan_path), "--yes", "--save", "--settle", "0")
    assert run.code == 0, run.out + run.err
    assert mock.appliance.config_changed() is False
    saved = {s["name"]: s for s in mock.appliance.saved_config()["service"]}
    assert (saved["svc_app_02"]["usip"], saved["svc_app_02"]["useproxyport"]) == ("YES", "NO")


def test_a_failed_apply_never_saves(
    nsfix: Nsfix, appliance: StartAppliance, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    saved_before = mock.appliance.saved_config()
    mock.appliance.faults.fail_write(2)
    run = nsfix("apply", str(plan_path), "--yes", "--save", "--settle", "0")
    assert run.code == 5
    assert "saved" not in run.out.replace("unsaved", "")
    assert mock.appliance.saved_config() == saved_before


def test_a_failed_save_reports_the_live_changes_and_how_to_undo_them(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    before = whole_config(mock.appliance)
    mock.appliance.faults.fail_write(3)  # two updates, then the save
    run = nsfix("apply", str(plan_path), "--yes", "--save", "--settle", "0", "--json")
    assert run.code == 1, run.out + run.err
    document = run.json()
    assert document["status"] == "applied"  # and live, but exit 1: the save was not done
    assert set(step_outcomes(document).values()) == {"applied and verified"}
    journal = only_journal(journal_dir)
    [message] = [m for m in document["messages"] if "saving" in m]
    assert "changes are live but not saved" in message
    assert f"nsfix rollback {journal}" in message
    assert mock.appliance.config_changed() is True
    ending = records(journal)[-2:]
    assert [r["type"] for r in ending] == ["save", "end"]
    assert ending[0]["ok"] is False
    assert ending[1]["status"] == "applied"
    assert ending[1]["exit_code"] == 1
    assert nsfix("rollback", str(journal), "--yes", "--settle", "0").code == 0
    assert_same_config(before, mock.appliance)
