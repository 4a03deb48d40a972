"""A rollback writes in bulk; a crash or a lost reply in the middle is finished from the journal."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

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
    outcomes,
    records,
    step_outcomes,
    whole_config,
)
from tests.apply.test_sigkill import (
    WAIT,
    config_diff,
    control,
    mock_config,
    start_nsfix,
    stop,
    wait_for,
)
from tests.apply.test_sigkill import mock_process as mock_process


def rollback_intents(journal: Path) -> list[list[str]]:
    if not journal.exists():
        return []
    lines = journal.read_text().splitlines()
    found = []
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # the line being written
        if record["type"] == "intent" and record.get("phase") == "rollback":
            found.append(named(record))
    return found


def test_a_rollback_killed_during_its_bulk_write_is_finished_from_the_journal(
    nsfix: Nsfix, mock_process: str, journal_dir: Path, tmp_path: Path
) -> None:
    url = mock_process
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, url, plan_path)
    before = mock_config(url)
    journal = journal_dir / "run.jsonl"
    applied = nsfix(
        "apply", str(plan_path), "--yes", "--settle", "0", "--journal", str(journal), url=url
    )
    assert applied.code == 0, applied.out + applied.err
    # The bulk write of the services' inverses is on the wire when the rollback dies.
    control(url, "/_mock/faults", "POST", {"latency": 0.5})
    rollback = start_nsfix(url, journal_dir, tmp_path, "rollback", str(journal), "--yes")
    try:
        wait_for(
            lambda: any(len(i) > 1 for i in rollback_intents(journal)),
            rollback,
            tmp_path,
            "never sent a bulk revert",
        )
        os.kill(rollback.pid, signal.SIGKILL)
        assert rollback.wait(WAIT) == -signal.SIGKILL
    finally:
        stop(rollback)
    # Newest first: c6 and c5 alone (a service, then a group), then c4-c1 in one request.
    assert rollback_intents(journal)[-1] == ["c4", "c3", "c2", "c1"]
    kinds = [r["type"] for r in records(journal)]
    assert kinds.count("end") == 1  # the apply's; the rollback never ended

    control(url, "/_mock/faults", "DELETE")
    finish = nsfix("rollback", str(journal), "--yes", "--settle", "0", "--json")
    assert finish.code == 0, finish.out + finish.err
    after = mock_config(url)
    assert after == before, "\n".join(config_diff(before, after))
    settled = set(step_outcomes(finish.json()).values())
    assert settled <= {"reverted and verified", "not applied (as before)"}


def test_a_bulk_rollback_write_without_a_readable_reply_is_read_again_by_the_next_rollback(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance("seed-incident")
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    before = whole_config(mock.appliance)
    assert nsfix("apply", str(plan_path), "--yes", "--settle", "0").code == 0
    journal = only_journal(journal_dir)
    # The appliance takes the bulk revert of c2 and c1 but its reply is cut in half.
    mock.appliance.faults.truncated_json(1, writes_only=True)
    cut = nsfix("rollback", str(journal), "--yes", "--settle", "0", "--json")
    assert cut.code == 6, cut.out + cut.err
    assert step_outcomes(cut.json()) == {"c1": "rollback unknown", "c2": "rollback unknown"}
    assert outcomes(journal, "rollback") == {"c1": "unknown", "c2": "unknown"}
    assert_same_config(before, mock.appliance)  # it did land
    writes = mock.appliance.counters["writes"]

    again = nsfix("rollback", str(journal), "--yes", "--settle", "0", "--json")
    assert again.code == 0, again.out + again.err
    assert set(step_outcomes(again.json()).values()) == {"not applied (as before)"}
    assert mock.appliance.counters["writes"] == writes  # read, found as before, nothing sent
    assert outcomes(journal, "rollback") == {"c1": "skipped", "c2": "skipped"}
