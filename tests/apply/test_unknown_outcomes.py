"""A write whose reply does not prove it was refused has an unknown outcome: nsfix journals it
so, waits it out before calling it 'not applied', and every later rollback looks at it."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from nsfix.nitro import NitroWriter
from tests.apply.helpers import (
    Nsfix,
    StartAppliance,
    appliance_fixture,  # noqa: F401
    assert_same_config,
    journal_dir_fixture,  # noqa: F401
    make_plan,
    nsfix_fixture,  # noqa: F401
    only_journal,
    outcomes,
    whole_config,
)


def usip(mock: object, name: str) -> str:
    config = mock.appliance.config()  # type: ignore[attr-defined]
    [svc] = [s for s in config["service"] if s["name"] == name]
    return str(svc["usip"])


@pytest.mark.parametrize("fault", ["truncated", "html-500"])
def test_a_landed_write_with_a_broken_reply_is_unknown_and_a_later_rollback_reverts_it(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path, fault: str
) -> None:
    mock = appliance("seed-incident")
    plan_path = tmp_path / "plan.json"
    document = make_plan(nsfix, mock.url, plan_path)
    canary = document["plan"]["changes"][0]["object"]["name"]
    before = whole_config(mock.appliance)
    if fault == "truncated":
        mock.appliance.faults.truncated_json(1, writes_only=True)
    else:
        mock.appliance.faults.html_reply(1, status=500, after_write=True)
    mock.appliance.faults.fail_write(2)  # the automatic rollback's write (the second) fails
    run = nsfix("apply", str(plan_path), "--yes", "--settle", "0", url=mock.url)
    assert run.code == 6, run.out + run.err
    assert usip(mock, canary) == "YES"  # the canary landed; its reply did not say so
    journal = only_journal(journal_dir)
    assert outcomes(journal, "apply")["c1"] == "unknown"
    mock.appliance.faults.clear()
    finish = nsfix("rollback", str(journal), "--yes", "--settle", "0", url=mock.url)
    assert finish.code == 0, finish.out + finish.err
    assert_same_config(before, mock.appliance)


def test_a_write_that_lands_after_the_read_timeout_is_waited_out_and_rolled_back(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance("seed-incident")
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    before = whole_config(mock.appliance)
    # The canary commits 2 s after it arrives; nsfix gives up reading the reply after 1 s.
    mock.appliance.faults.late_write(1, delay=2.0, hold=2.5)
    started = time.monotonic()
    run = nsfix(
        "apply",
        str(plan_path),
        "--yes",
        "--settle",
        "0",
        "--timeout",
        "1",
        "--json",
        url=mock.url,
    )
    result = json.loads(run.out)
    # Whatever nsfix said, look after the late write has certainly committed.
    time.sleep(max(0.0, started + 3.0 - time.monotonic()))
    assert_same_config(before, mock.appliance)
    assert run.code == 5, run.out + run.err
    assert result["status"] == "rolled-back"
    journal = only_journal(journal_dir)
    assert outcomes(journal, "apply")["c1"] == "unknown"
    assert outcomes(journal, "rollback")["c1"] == "reverted"


def test_ctrl_c_during_a_bulk_write_the_appliance_commits_later_is_still_rolled_back(
    nsfix: Nsfix,
    appliance: StartAppliance,
    journal_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mock = appliance("mixed")
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    before = whole_config(mock.appliance)
    real_send = NitroWriter.send
    late: list[threading.Thread] = []

    def send(self: NitroWriter, write: Any) -> Any:
        if late or (write.records or 0) < 2:
            return real_send(self, write)
        # The bulk request is on the wire when Ctrl-C comes; the appliance commits it 1 s later.
        thread = threading.Thread(target=lambda: (time.sleep(1.0), real_send(self, write)))
        thread.start()
        late.append(thread)
        raise KeyboardInterrupt

    monkeypatch.setattr(NitroWriter, "send", send)
    run = nsfix("apply", str(plan_path), "--yes", "--settle", "0", "--json")
    for thread in late:
        thread.join(10)
    assert late, "the plan had no bulk request"
    assert run.code == 5, run.out + run.err
    assert_same_config(before, mock.appliance)
    # The bulk's changes were watched, seen to land, and reverted.
    assert set(outcomes(only_journal(journal_dir), "rollback").values()) <= {"reverted"}
