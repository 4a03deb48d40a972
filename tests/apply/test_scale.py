"""Apply and rollback at scale: reads per resource type, bulk writes both ways, a small journal."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mocks import generate as g
from mocks.envelopes import bad_arg
from mocks.fixtures import MockFactory, RunningMock
from tests.apply.helpers import (
    Nsfix,
    assert_same_config,
    journal_dir_fixture,  # noqa: F401
    make_plan,
    named,
    nsfix_fixture,  # noqa: F401
    only_journal,
    outcomes,
    records,
    whole_config,
    with_users,
)

MAX_WRITES = 15
MAX_REQUESTS = 60
JOURNAL_LIMIT = 2_000_000


def fleet(changes: int) -> dict[str, Any]:
    """An appliance whose plan fixes `changes` services (usip NO behind DSR vservers)."""
    return with_users(
        g.generate(
            services=changes * 3,
            servicegroups=0,
            dsr_fraction=1.0,
            bad_fraction=1 / 3,
            seed=15,
        )
    )


def served(mock: RunningMock) -> tuple[int, int, Counter[str]]:
    """(requests, writes, requests per 'METHOD resource') since the counters were reset."""
    kinds: Counter[str] = Counter()
    for entry in mock.appliance.request_log:
        segments = entry["path"].split("?")[0].split("/")
        # 'GET service' reads the list, 'GET service/' one named object.
        kinds[f"{entry['method']} {segments[4]}{'/' if len(segments) > 5 else ''}"] += 1
    counters = mock.appliance.counters
    return counters["requests_total"], counters["writes"], kinds


def within_bounds(
    nsfix: Nsfix, mock: RunningMock, command: str, path: str, named_reads: int
) -> None:
    """Run `nsfix COMMAND PATH` and check what it sent: few writes, few requests in all."""
    mock.appliance.reset_counters()
    run = nsfix(command, path, "--yes", "--settle", "0")
    assert run.code == 0, run.out + run.err
    requests, writes, kinds = served(mock)
    assert writes <= MAX_WRITES, kinds
    assert requests <= MAX_REQUESTS, kinds
    assert kinds["GET service/"] == named_reads, kinds


@pytest.mark.parametrize("size", [1_000, 5_000])
def test_apply_and_rollback_of_many_changes_take_a_few_requests_and_restore_exactly(
    nsfix: Nsfix,
    mock_appliance_factory: MockFactory,
    journal_dir: Path,
    tmp_path: Path,
    size: int,
) -> None:
    mock = mock_appliance_factory(fleet(size))
    plan_path = tmp_path / "plan.json"
    assert len(make_plan(nsfix, mock.url, plan_path)["plan"]["changes"]) == size
    before = whole_config(mock.appliance)

    # Beside the canary's one GET, no object is read alone: services are read as a list.
    within_bounds(nsfix, mock, "apply", str(plan_path), named_reads=1)
    journal = only_journal(journal_dir)
    assert set(outcomes(journal, "apply").values()) == {"applied"}
    within_bounds(nsfix, mock, "rollback", str(journal), named_reads=0)
    assert set(outcomes(journal, "rollback").values()) == {"reverted"}
    assert_same_config(before, mock.appliance)
    if size == 1_000:
        assert journal.stat().st_size < JOURNAL_LIMIT


@pytest.mark.parametrize("batch_size", ["1", "1000"])
def test_a_journal_of_1000_changes_holds_each_change_once_at_any_batch_size(
    nsfix: Nsfix,
    mock_appliance_factory: MockFactory,
    journal_dir: Path,
    tmp_path: Path,
    batch_size: str,
) -> None:
    mock = mock_appliance_factory(fleet(1_000))
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    applied = nsfix("apply", str(plan_path), "--yes", "--settle", "0", "--batch-size", batch_size)
    assert applied.code == 0, applied.out + applied.err
    journal = only_journal(journal_dir)
    undone = nsfix("rollback", str(journal), "--yes", "--settle", "0", "--batch-size", batch_size)
    assert undone.code == 0, undone.out + undone.err
    assert journal.stat().st_size < JOURNAL_LIMIT
    text = journal.read_text()
    written = records(journal)
    # A change's records and values are in the start record; requests name changes by id.
    for record in written:
        if record["type"] == "intent":
            assert "{" not in record["request"], record["request"]
    intents = [r for r in written if r["type"] == "intent"]
    assert sum(len(named(r)) for r in intents) == 2_000  # each change sent once, each way
    name = json.loads(plan_path.read_text())["plan"]["changes"][500]["object"]["name"]
    assert text.count(f'"{name}"') == 3  # in its change: object, operation, inverse


def test_a_rollback_write_that_fails_for_some_items_reverts_the_rest_and_says_which(
    nsfix: Nsfix,
    mock_appliance_factory: MockFactory,
    journal_dir: Path,
    tmp_path: Path,
) -> None:
    mock = mock_appliance_factory(fleet(30))
    plan_path = tmp_path / "plan.json"
    changes = make_plan(nsfix, mock.url, plan_path)["plan"]["changes"]
    assert nsfix("apply", str(plan_path), "--yes", "--settle", "0").code == 0
    journal = only_journal(journal_dir)
    # Someone makes c7's service refuse the write between nsfix's read and its bulk write: the
    # appliance answers 207 with one result per item, and only that item failed.
    victim = next(c for c in changes if c["id"] == "c7")["object"]["name"]
    mock.appliance.reset_counters()
    appliance = mock.appliance
    update = appliance._update

    def refuse_victim(caller: Any, schema: Any, item: dict[str, Any]) -> Any:
        if item.get("name") == victim:
            raise bad_arg("usip")
        return update(caller, schema, item)

    appliance._update = refuse_victim  # type: ignore[method-assign]
    undone = nsfix("rollback", str(journal), "--yes", "--settle", "0", "--json")
    assert undone.code == 6, undone.out + undone.err
    result = json.loads(undone.out)
    steps = {s["change"]: s["outcome"] for s in result["steps"]}
    assert steps.pop("c7") == "rollback failed"
    assert set(steps.values()) == {"reverted and verified"}
    assert mock.appliance.counters["writes"] == 1
    assert outcomes(journal, "rollback")["c7"] == "failed"
    # What is left is what a second rollback finishes.
    appliance._update = update  # type: ignore[method-assign]
    again = nsfix("rollback", str(journal), "--yes", "--settle", "0", "--json")
    assert again.code == 0, again.out + again.err
    assert outcomes(journal, "rollback")["c7"] == "reverted"
