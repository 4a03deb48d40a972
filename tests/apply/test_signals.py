"""SIGTERM (systemd stop) and SIGHUP (a closed SSH session) stop an apply the way Ctrl-C does:
no more writes, roll back what was applied, verify, log out, exit with the documented code."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.apply.helpers import (
    Nsfix,
    config_diff,
    journal_dir_fixture,  # noqa: F401
    make_plan,
    nsfix_fixture,  # noqa: F401
    records,
)
from tests.apply.test_sigkill import WAIT, control, mock_config, start_nsfix, stop, wait_for
from tests.apply.test_sigkill import mock_process as mock_process


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_mid_apply_rolls_back_and_logs_out(
    nsfix: Nsfix, mock_process: str, journal_dir: Path, tmp_path: Path, signum: int
) -> None:
    url = mock_process
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, url, plan_path)
    before = mock_config(url)
    control(url, "/_mock/faults", "POST", {"latency": 0.1})
    journal = journal_dir / "stopped.jsonl"
    logouts = control(url, "/_mock/counters").get("logouts", 0)
    apply = start_nsfix(
        url,
        journal_dir,
        tmp_path,
        "apply",
        str(plan_path),
        "--yes",
        "--batch-size",
        "1",
        "--settle",
        "0",
        "--journal",
        str(journal),
    )
    try:
        wait_for(
            lambda: control(url, "/_mock/counters")["writes"] >= 1,
            apply,
            tmp_path,
            "apply never wrote",
        )
        os.kill(apply.pid, signum)
        code = apply.wait(WAIT)
    finally:
        stop(apply)
    err_text = (tmp_path / "apply.err").read_text()
    assert code == 5, err_text
    assert "Traceback" not in err_text
    control(url, "/_mock/faults", "DELETE")
    after = mock_config(url)
    assert after == before, "\n".join(config_diff(before, after))
    assert [r["type"] for r in records(journal)][-1] == "end"
    assert control(url, "/_mock/counters")["logouts"] > logouts


def waiting_apply(
    url: str, plan_path: Path, journal: Path, journal_dir: Path, tmp_path: Path, within: str
) -> subprocess.Popen[bytes]:
    """An apply with --confirm-within, once it has handed its deadline to the watchdog."""
    apply = start_nsfix(
        url,
        journal_dir,
        tmp_path,
        "apply",
        str(plan_path),
        "--yes",
        "--settle",
        "0",
        "--confirm-within",
        within,
        "--journal",
        str(journal),
    )
    wait_for(
        lambda: journal.exists() and '"watchdog"' in journal.read_text(),
        apply,
        tmp_path,
        "apply never handed its deadline to a watchdog",
    )
    return apply


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_during_the_confirmation_wait_rolls_back_now(
    nsfix: Nsfix, mock_process: str, journal_dir: Path, tmp_path: Path, signum: int
) -> None:
    url = mock_process
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, url, plan_path)
    before = mock_config(url)
    journal = journal_dir / "waiting.jsonl"
    apply = waiting_apply(url, plan_path, journal, journal_dir, tmp_path, "5m")
    try:
        assert mock_config(url) != before  # the change is live while it waits
        os.kill(apply.pid, signum)
        code = apply.wait(WAIT)
    finally:
        stop(apply)
    err_text = (tmp_path / "apply.err").read_text()
    assert code == 5, err_text
    assert "interrupted while waiting for confirmation: rolling back" in err_text
    after = mock_config(url)
    assert after == before, "\n".join(config_diff(before, after))


def test_the_deadline_survives_the_apply_being_killed(
    nsfix: Nsfix, mock_process: str, journal_dir: Path, tmp_path: Path
) -> None:
    url = mock_process
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, url, plan_path)
    before = mock_config(url)
    journal = journal_dir / "confirm.jsonl"
    apply = waiting_apply(url, plan_path, journal, journal_dir, tmp_path, "3s")
    try:
        assert mock_config(url) != before
        os.kill(apply.pid, signal.SIGKILL)  # the laptop's terminal, gone
        apply.wait(WAIT)
    finally:
        stop(apply)
    status = nsfix("status", str(journal), "--json")
    assert json.loads(status.out)["watchdog"]["running"] is True
    give_up = time.monotonic() + WAIT
    while [r["type"] for r in records(journal)][-1] != "end":
        assert time.monotonic() < give_up, "the watchdog never rolled back"
        time.sleep(0.2)
    after = mock_config(url)
    assert after == before, "\n".join(config_diff(before, after))
    ended = json.loads(nsfix("status", str(journal), "--json").out)
    assert ended["ended"] is True
    assert ended["confirm_timed_out"] is True


def test_nsfix_confirm_stops_the_watchdog_and_keeps_the_change(
    nsfix: Nsfix, mock_process: str, journal_dir: Path, tmp_path: Path
) -> None:
    url = mock_process
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, url, plan_path)
    before = mock_config(url)
    journal = journal_dir / "confirm.jsonl"
    apply = waiting_apply(url, plan_path, journal, journal_dir, tmp_path, "3s")
    try:
        os.kill(apply.pid, signal.SIGKILL)
        apply.wait(WAIT)
    finally:
        stop(apply)
    pending = nsfix("status", str(journal))
    assert pending.code == 2
    assert "nsfix confirm" in pending.out
    assert nsfix("confirm", str(journal)).code == 0
    pid = json.loads(nsfix("status", str(journal), "--json").out)["watchdog"]["pid"]
    give_up = time.monotonic() + WAIT
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < give_up, "the watchdog did not stop after the confirmation"
        time.sleep(0.1)
    time.sleep(3.5)  # past the deadline: nothing rolls the confirmed change back
    assert mock_config(url) != before
