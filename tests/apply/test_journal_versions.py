"""A journal written by an older nsfix (format version 1, one intent per change carrying the
whole batch request) still reads and still rolls back."""

from __future__ import annotations

import shutil
from pathlib import Path

from nsfix.journal import JOURNAL_VERSION, Recorded, read_journal
from tests.apply.helpers import (
    Nsfix,
    StartAppliance,
    appliance_fixture,  # noqa: F401
    assert_same_config,
    journal_dir_fixture,  # noqa: F401
    named,
    nsfix_fixture,  # noqa: F401
    records,
    step_outcomes,
    whole_config,
)

# nsfix 47831e2 applied the seed-incident plan (c1 canary, c2) on a mock: journal version 1.
VERSION_1 = Path(__file__).parent / "data" / "journal-v1.jsonl"
APPLIED = {"usip": "YES", "useproxyport": "NO"}


def test_a_version_1_journal_reads_as_it_did() -> None:
    assert JOURNAL_VERSION == 2
    state = read_journal(VERSION_1)
    assert state.records[0]["journal_version"] == 1
    assert state.ended
    assert state.status == "applied"
    assert [(s.change.id, s.applied) for s in state.steps] == [
        ("c1", Recorded.APPLIED),
        ("c2", Recorded.APPLIED),
    ]
    assert [s.change.id for s in state.pending()] == ["c2", "c1"]


def test_a_version_1_journal_rolls_back_and_goes_on_in_version_2_records(
    nsfix: Nsfix, appliance: StartAppliance, tmp_path: Path
) -> None:
    mock = appliance("seed-incident")
    before = whole_config(mock.appliance)
    for name in ("svc_app_01", "svc_app_02"):
        mock.appliance.set_attribute("service", name, APPLIED)  # as that run left them
    journal = tmp_path / "old.jsonl"
    shutil.copy(VERSION_1, journal)
    undo = nsfix("rollback", str(journal), "--yes", "--settle", "0", "--json", "--url", mock.url)
    assert undo.code == 0, undo.out + undo.err
    assert step_outcomes(undo.json()) == {
        "c1": "reverted and verified",
        "c2": "reverted and verified",
    }
    assert_same_config(before, mock.appliance)
    [intent] = [r for r in records(journal) if r["type"] == "intent" and r["phase"] == "rollback"]
    assert named(intent) == ["c2", "c1"]
    again = nsfix("rollback", str(journal), "--yes", "--url", mock.url)
    assert again.code == 7, again.out + again.err


def test_a_version_1_journal_cut_after_an_intent_is_read_on_the_appliance(
    nsfix: Nsfix, appliance: StartAppliance, tmp_path: Path
) -> None:
    mock = appliance("seed-incident")
    before = whole_config(mock.appliance)
    mock.appliance.set_attribute("service", "svc_app_01", APPLIED)
    journal = tmp_path / "cut.jsonl"
    lines = VERSION_1.read_text().splitlines(keepends=True)
    journal.write_text("".join(lines[:3]))  # start, preflight, c1's intent: the run died there
    state = read_journal(journal)
    assert [s.change.id for s in state.unknown()] == ["c1", "c2"]
    undo = nsfix("rollback", str(journal), "--yes", "--settle", "0", "--json", "--url", mock.url)
    assert undo.code == 0, undo.out + undo.err
    assert step_outcomes(undo.json()) == {
        "c1": "reverted and verified",
        "c2": "not applied (as before)",
    }
    assert_same_config(before, mock.appliance)
