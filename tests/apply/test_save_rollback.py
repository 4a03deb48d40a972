"""A rollback of a run that saved: it offers to save, and says plainly what the saved config holds.

After `apply --save` the saved configuration holds the change; a rollback restores only the
running one. The rollback says so, saves with `--save` (or when asked on a terminal) under the same
safe-save policy as apply, and the next `apply --save` accepts unsaved changes that are exactly
nsfix's own rollback.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from nsfix.saved_config import ConfigState, RollbackSave, own_rollback, saved_record
from tests.apply.helpers import (
    Nsfix,
    StartAppliance,
    appliance_fixture,  # noqa: F401
    assert_same_config,
    journal_dir_fixture,  # noqa: F401
    make_plan,
    nsfix_fixture,  # noqa: F401
    only_journal,
    records,
    whole_config,
)
from tests.apply.test_confirm import Terminal

HOLDS = "the saved configuration still holds the change"
SAVED = "running configuration saved: the saved configuration no longer holds the change"


def saved_usip(mock: Any, name: str = "svc_app_01") -> str:
    return str({s["name"]: s for s in mock.appliance.saved_config()["service"]}[name]["usip"])


def applied_and_saved(nsfix: Nsfix, appliance: StartAppliance, tmp_path: Path) -> tuple[Any, Path]:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    run = nsfix("apply", str(plan_path), "--yes", "--save", "--settle", "0")
    assert run.code == 0, run.out + run.err
    assert saved_usip(mock) == "YES"
    assert mock.appliance.config_changed() is False
    return mock, plan_path


def test_a_rollback_of_a_saved_run_says_the_saved_configuration_still_holds_the_change(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock, _ = applied_and_saved(nsfix, appliance, tmp_path)
    journal = only_journal(journal_dir)
    run = nsfix("rollback", str(journal), "--yes", "--settle", "0", "--json")
    assert run.code == 0, run.out + run.err
    [message] = [m for m in run.json()["messages"] if "saved configuration" in m]
    assert message.startswith(f"NOT saved: {HOLDS}")
    assert f"nsfix rollback {journal} --save" in message
    # Unattended and not asked to save, it saves nothing.
    assert saved_usip(mock) == "YES"
    assert mock.appliance.config_changed() is True
    state = [r for r in records(journal) if r["type"] == "saved-config"][-1]
    assert (state["holds_change"], state["only_nsfix_unsaved"]) == (True, True)


def test_rollback_save_saves_the_rolled_back_configuration(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance()
    before = whole_config(mock.appliance)
    saved_before = mock.appliance.saved_config()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    assert nsfix("apply", str(plan_path), "--yes", "--save", "--settle", "0").code == 0
    journal = only_journal(journal_dir)
    run = nsfix("rollback", str(journal), "--yes", "--save", "--settle", "0", "--json")
    assert run.code == 0, run.out + run.err
    assert SAVED in run.json()["messages"]
    assert_same_config(before, mock.appliance)
    assert mock.appliance.config_changed() is False
    assert saved_usip(mock) == "NO"
    assert mock.appliance.saved_config()["service"] == saved_before["service"]
    kinds = [r["type"] for r in records(journal)]
    assert kinds[kinds.index("rollback-start") :][-3:] == ["save", "saved-config", "end"]


def test_the_next_apply_save_accepts_unsaved_changes_that_are_nsfixs_own_rollback(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock, plan_path = applied_and_saved(nsfix, appliance, tmp_path)
    journal = only_journal(journal_dir)
    back = nsfix("rollback", str(journal), "--yes", "--no-save", "--settle", "0")
    assert back.code == 0, back.out + back.err
    assert mock.appliance.config_changed() is True
    again = nsfix("apply", str(plan_path), "--yes", "--save", "--settle", "0")
    assert again.code == 0, again.out + again.err
    assert f"the unsaved changes are nsfix's own rollback ({journal})" in again.err
    assert mock.appliance.config_changed() is False
    assert saved_usip(mock) == "YES"


def test_unsaved_changes_made_after_nsfixs_rollback_are_still_refused(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock, plan_path = applied_and_saved(nsfix, appliance, tmp_path)
    journal = only_journal(journal_dir)
    assert nsfix("rollback", str(journal), "--yes", "--no-save", "--settle", "0").code == 0
    # The appliance tells changes apart by their time, to the second.
    time.sleep(1.1)
    mock.appliance.set_attribute("lbvserver", "vs_web_http", {"comment": "edited by hand"})
    writes = mock.appliance.counters["writes"]
    refused = nsfix("apply", str(plan_path), "--yes", "--save", "--settle", "0")
    assert refused.code == 4
    assert "unsaved changes that nsfix did not make" in refused.err
    assert mock.appliance.counters["writes"] == writes


def test_a_later_rollback_save_saves_what_the_rollback_left_unsaved(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock, _ = applied_and_saved(nsfix, appliance, tmp_path)
    journal = only_journal(journal_dir)
    assert nsfix("rollback", str(journal), "--yes", "--settle", "0").code == 0
    assert saved_usip(mock) == "YES"
    later = nsfix("rollback", str(journal), "--yes", "--save", "--json")
    assert later.code == 0, later.out + later.err
    assert SAVED in later.json()["messages"]
    assert saved_usip(mock) == "NO"
    assert mock.appliance.config_changed() is False
    # Nothing is left to revert or to save now.
    assert nsfix("rollback", str(journal), "--yes", "--save").code == 7


def test_rollback_save_refuses_to_persist_someone_elses_unsaved_changes(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock, _ = applied_and_saved(nsfix, appliance, tmp_path)
    journal = only_journal(journal_dir)
    mock.appliance.set_attribute("lbvserver", "vs_web_http", {"comment": "edited by hand"})
    writes = mock.appliance.counters["writes"]
    refused = nsfix("rollback", str(journal), "--yes", "--save", "--settle", "0")
    assert refused.code == 4, refused.out + refused.err
    assert "unsaved changes that nsfix did not make" in refused.err
    assert "--save-anyway" in refused.err
    assert mock.appliance.counters["writes"] == writes
    # Without --save the rollback goes ahead, and says why it did not offer to save.
    run = nsfix("rollback", str(journal), "--yes", "--settle", "0", "--json")
    assert run.code == 0, run.out + run.err
    [message] = [m for m in run.json()["messages"] if "saved configuration" in m]
    assert HOLDS in message
    assert "would also persist unsaved changes nsfix did not make" in message
    anyway = nsfix("rollback", str(journal), "--yes", "--save-anyway", "--json")
    assert anyway.code == 0, anyway.out + anyway.err
    assert saved_usip(mock) == "NO"


def test_on_a_terminal_the_rollback_offers_to_save(
    nsfix: Nsfix,
    appliance: StartAppliance,
    journal_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mock, _ = applied_and_saved(nsfix, appliance, tmp_path)
    journal = only_journal(journal_dir)
    read_end, write_end = os.pipe()
    os.write(write_end, b"yes\nyes\n")  # revert? save?
    os.close(write_end)
    monkeypatch.setattr(sys, "stdin", Terminal(io.FileIO(read_end, "r"), encoding="utf-8"))
    run = nsfix("rollback", str(journal), "--settle", "0")
    assert run.code == 0, run.out + run.err
    assert f"{HOLDS} (the apply saved it). Save the running configuration now" in run.out
    assert SAVED in run.out + run.err
    assert saved_usip(mock) == "NO"


def test_a_rollback_of_a_run_that_did_not_save_says_so(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    assert nsfix("apply", str(plan_path), "--yes", "--settle", "0").code == 0
    run = nsfix("rollback", str(only_journal(journal_dir)), "--yes", "--save", "--json")
    assert run.code == 0, run.out + run.err
    [message] = [m for m in run.json()["messages"] if "saved configuration" in m]
    assert message.startswith("the apply did not save the change")
    assert saved_usip(mock) == "NO"


def test_a_failed_save_after_the_rollback_says_what_is_saved(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock, _ = applied_and_saved(nsfix, appliance, tmp_path)
    journal = only_journal(journal_dir)
    mock.appliance.faults.fail_write(2)  # the reverts in one bulk write, then the save
    run = nsfix("rollback", str(journal), "--yes", "--save", "--settle", "0", "--json")
    assert run.code == 1, run.out + run.err
    document = run.json()
    assert document["status"] == "rolled-back"
    [message] = [m for m in document["messages"] if "saving" in m]
    assert f"NOT saved: {HOLDS}. To save: nsfix rollback {journal} --save" in message
    assert saved_usip(mock) == "YES"
    save = [r for r in records(journal) if r["type"] == "save"][-1]
    assert save["ok"] is False
    # Once the appliance saves again, the same command finishes the job.
    later = nsfix("rollback", str(journal), "--yes", "--save")
    assert later.code == 0, later.out + later.err
    assert saved_usip(mock) == "NO"


def test_a_dry_run_of_rollback_save_over_others_changes_is_refused_too(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock, _ = applied_and_saved(nsfix, appliance, tmp_path)
    mock.appliance.set_attribute("lbvserver", "vs_web_http", {"comment": "edited by hand"})
    run = nsfix("rollback", str(only_journal(journal_dir)), "--dry-run", "--save")
    assert run.code == 4
    assert "--save-anyway" in run.err


def test_nsfixs_own_rollback_is_recognised_only_while_nothing_changed_since(
    tmp_path: Path,
) -> None:
    after = ConfigState(True, "Mon Nov 30 17:46:49 2026", "Mon Nov 30 17:46:48 2026")
    journal = tmp_path / "run.jsonl"
    record = saved_record("https://ns", "default", after, holds_change=True, only_nsfix=True)
    journal.write_text(
        '{"type": "start"}\n' + json.dumps({"type": "saved-config", **record}) + "\n{broken\n"
    )
    assert own_rollback("https://ns", "default", after, [journal]) == journal
    later = replace(after, changed_at="Mon Nov 30 17:46:51 2026")
    saved_since = replace(after, saved_at="Mon Nov 30 17:46:50 2026")
    for now, url, partition in (
        (later, "https://ns", "default"),
        (saved_since, "https://ns", "default"),
        (after, "https://other", "default"),
        (after, "https://ns", "p1"),
        (replace(after, changed=False), "https://ns", "default"),
    ):
        assert own_rollback(url, partition, now, [journal]) is None
    # A rollback that began over others' unsaved changes never vouches for them.
    theirs = saved_record("https://ns", "default", after, holds_change=True, only_nsfix=False)
    journal.write_text(json.dumps({"type": "saved-config", **theirs}) + "\n")
    assert own_rollback("https://ns", "default", after, [journal]) is None


def test_what_a_rollback_knows_about_saving_before_it_writes() -> None:
    clean = ConfigState(False, "t1", "t1")
    dirty = ConfigState(True, "t2", "t1")
    saved_run = [{"type": "start"}, {"type": "save", "ok": True}, {"type": "end"}]
    failed_save = [{"type": "start"}, {"type": "save", "ok": False}]
    saved_by_rollback = [
        {"type": "start"},
        {"type": "rollback-start"},
        {"type": "save", "ok": True},
    ]
    assert RollbackSave.judge(saved_run, clean, None) == RollbackSave(True, True, True)
    assert RollbackSave.judge(saved_run, dirty, None) == RollbackSave(True, True, False)
    assert RollbackSave.judge(saved_run, dirty, Path("j")) == RollbackSave(True, True, True)
    assert RollbackSave.judge(failed_save, dirty, None) == RollbackSave(False, False, False)
    # Nothing unsaved when the rollback began: the saved configuration is the running one.
    assert RollbackSave.judge(failed_save, clean, None) == RollbackSave(False, True, True)
    assert RollbackSave.judge(saved_by_rollback, dirty, None).apply_saved is False
