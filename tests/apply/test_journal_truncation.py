"""A journal whose later records are missing (cut short, or the run died) says so: which changes'
outcome it cannot tell, and rollback reads those objects instead of calling the run undone."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mocks.fixtures import RunningMock
from nsfix.journal import read_journal
from tests.apply.helpers import (
    Nsfix,
    StartAppliance,
    appliance_fixture,  # noqa: F401
    assert_same_config,
    journal_dir_fixture,  # noqa: F401
    make_plan,
    named,
    nsfix_fixture,  # noqa: F401
    only_journal,
    step_outcomes,
    whole_config,
)


@dataclass(frozen=True)
class Applied:
    """An apply of the seed plan, one change per batch, and what it left behind."""

    journal: Path
    lines: list[str]
    mock: RunningMock
    before: dict[str, Any]
    """The mock's configuration before the apply."""

    def cut(self, keep: int, torn: str = "") -> None:
        """Keep the first `keep` lines of the journal, then `torn` (half a line)."""
        self.journal.write_text("".join(self.lines[:keep]) + torn)


@pytest.fixture
def applied(nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path) -> Applied:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    before = whole_config(mock.appliance)
    run = nsfix("apply", str(plan_path), "--yes", "--settle", "0", "--batch-size", "1")
    assert run.code == 0, run.err
    journal = only_journal(journal_dir)
    lines = journal.read_text().splitlines(keepends=True)
    written = [json.loads(line) for line in lines]
    kinds = [
        (r["type"], " ".join(named(r)) if r["type"] in {"intent", "result"} else None)
        for r in written
    ]
    assert kinds[:6] == [
        ("start", None),
        ("preflight", None),
        ("intent", "c1"),
        ("result", "c1"),
        ("intent", "c2"),
        ("result", "c2"),
    ]
    assert kinds[-1] == ("end", None)
    return Applied(journal, lines, mock, before)


def test_a_complete_journal_knows_every_outcome(applied: Applied) -> None:
    state = read_journal(applied.journal)
    assert state.ended
    assert state.unknown() == []
    assert state.gaps() == []
    assert [s.change.id for s in state.pending()] == ["c2", "c1"]


@pytest.mark.parametrize(
    ("keep", "torn"),
    [
        (4, ""),  # cut after c1's result, at a line's end
        (4, '{"changes": ["c2"], "phase": "apply", "req'),  # cut inside c2's intent
    ],
)
def test_a_journal_cut_short_cannot_tell_what_came_after(
    applied: Applied, keep: int, torn: str
) -> None:
    applied.cut(keep, torn)
    state = read_journal(applied.journal)
    assert not state.ended
    assert [s.change.id for s in state.unknown()] == ["c2"]
    assert [s.change.id for s in state.pending()] == ["c2", "c1"]
    [gap] = state.gaps()
    assert "no end record" in gap
    # Read the list of changes only: the journal's name holds a digest that may contain "c1".
    listed = gap.split("cannot be known from the journal: ", 1)[1]
    assert "c2 (" in listed
    assert "c1 (" not in listed


def test_an_intent_without_a_result_is_unknown_too(
    applied: Applied,
) -> None:
    applied.cut(5)  # c2's intent is the last record: the request may have gone out
    state = read_journal(applied.journal)
    assert [s.change.id for s in state.unknown()] == ["c2"]
    [gap] = state.gaps()
    assert "c2 (sent, no result recorded)" in gap


def test_rollback_of_a_cut_journal_reads_what_the_journal_cannot_tell(
    nsfix: Nsfix, applied: Applied
) -> None:
    applied.cut(4)  # c2 was applied, but the journal no longer says so
    run = nsfix("rollback", str(applied.journal), "--yes", "--settle", "0", "--json")
    assert run.code == 0, run.out + run.err
    assert step_outcomes(run.json()) == {
        "c2": "reverted and verified",
        "c1": "reverted and verified",
    }
    assert_same_config(applied.before, applied.mock.appliance)
    # And it says what the journal could not tell.
    assert any("c2" in m and "cannot be known" in m for m in run.json()["messages"])
