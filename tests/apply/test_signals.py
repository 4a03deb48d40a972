"""SIGTERM (systemd stop) and SIGHUP (a closed SSH session) stop an apply the way Ctrl-C does:
no more writes, roll back what was applied, verify, log out, exit with the documented code."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.apply.helpers import (
    PASSWORD,
    ROOT,
    USER,
    Nsfix,
    config_diff,
    journal_dir_fixture,  # noqa: F401
    make_plan,
    nsfix_fixture,  # noqa: F401
    records,
)
from tests.apply.test_sigkill import WAIT, control, mock_config, stop
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
    env = {
        **os.environ,
        "NSFIX_URL": url,
        "NSFIX_USER": USER,
        "NSFIX_PASSWORD": PASSWORD,
        "NSFIX_JOURNAL_DIR": str(journal_dir),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    env.pop("NSFIX_PASSWORD_FILE", None)
    logins_before = control(url, "/_mock/counters")
    with (tmp_path / "apply.out").open("wb") as out, (tmp_path / "apply.err").open("wb") as err:
        apply = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nsfix",
                "apply",
                str(plan_path),
                "--yes",
                "--batch-size",
                "1",
                "--settle",
                "0",
                "--journal",
                str(journal),
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
        try:
            give_up = time.monotonic() + WAIT
            while control(url, "/_mock/counters")["writes"] < 1:
                assert apply.poll() is None, (tmp_path / "apply.err").read_text()
                assert time.monotonic() < give_up, "apply never wrote"
                time.sleep(0.01)
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
    kinds = [r["type"] for r in records(journal)]
    assert kinds[-1] == "end"
    counters = control(url, "/_mock/counters")
    assert counters["logouts"] - logins_before.get("logouts", 0) >= 1


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_during_the_confirmation_wait_rolls_back_now(
    nsfix: Nsfix, mock_process: str, journal_dir: Path, tmp_path: Path, signum: int
) -> None:
    url = mock_process
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, url, plan_path)
    before = mock_config(url)
    journal = journal_dir / "waiting.jsonl"
    env = {
        **os.environ,
        "NSFIX_URL": url,
        "NSFIX_USER": USER,
        "NSFIX_PASSWORD": PASSWORD,
        "NSFIX_JOURNAL_DIR": str(journal_dir),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    env.pop("NSFIX_PASSWORD_FILE", None)
    with (tmp_path / "apply.err").open("wb") as err:
        apply = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nsfix",
                "apply",
                str(plan_path),
                "--yes",
                "--settle",
                "0",
                "--confirm-within",
                "5m",
                "--journal",
                str(journal),
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        try:
            give_up = time.monotonic() + WAIT
            while not journal.exists() or "confirm-wait" not in journal.read_text():
                assert apply.poll() is None, (tmp_path / "apply.err").read_text()
                assert time.monotonic() < give_up, "apply never waited for confirmation"
                time.sleep(0.05)
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
