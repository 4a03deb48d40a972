"""Commit-confirm through NetScaler Console: confirm keeps the change, and the watchdog that
outlives a killed apply rolls back through the same Console route the journal records."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mocks.console import RunningConsole
from nsfix import watchdog
from nsfix.nitro import ConsoleRoute, ManagedInstance
from nsfix.settings import Target
from tests.apply.helpers import ROOT, assert_same_config, records, whole_config
from tests.apply.test_sigkill import stop, wait_for
from tests.console.conftest import CONSOLE_PASSWORD, CONSOLE_USER, EDGE_01, console_plan

WAIT = 90.0  # an upper bound only: a loaded test box can be slow


def test_watchdog_orders_carry_the_console_route() -> None:
    route = ConsoleRoute("https://console.example.net", ManagedInstance("name", "edge-01"))
    orders = watchdog.Orders(
        "https://10.0.0.1", "u", "secret-pw", True, 30.0, None, route.to_record()
    )
    again = watchdog.read_orders(json.dumps(asdict(orders)))
    target = again.target()
    assert target == Target("https://10.0.0.1", "u", "secret-pw", True, None, route)
    assert "secret-pw" not in repr(again)


def test_confirm_through_console_keeps_the_change(
    nsfix: Any, console: RunningConsole, journal_dir: Path, tmp_path: Path
) -> None:
    edge = console.appliances["edge-01"].appliance
    before = whole_config(edge)
    plan = console_plan(nsfix, console, tmp_path)
    journal = journal_dir / "confirm.jsonl"
    apply = _apply_in_its_own_process(console, plan, journal, tmp_path, "30s")
    try:
        wait_for(_watched(journal), apply, tmp_path, "apply never handed its deadline over")
        confirmed = nsfix("confirm", str(journal))
        assert confirmed.code == 0, confirmed.err
        assert apply.wait(WAIT) == 0, (tmp_path / "apply.err").read_text()
    finally:
        stop(apply)
    assert whole_config(edge) != before
    assert records(journal)[0]["target"]["via"]["console"] == console.url


def test_the_watchdog_rolls_back_through_console_when_the_apply_is_killed(
    nsfix: Any, console: RunningConsole, journal_dir: Path, tmp_path: Path
) -> None:
    edge = console.appliances["edge-01"].appliance
    before = whole_config(edge)
    plan = console_plan(nsfix, console, tmp_path)
    journal = journal_dir / "killed.jsonl"
    apply = _apply_in_its_own_process(console, plan, journal, tmp_path, "4s")
    try:
        wait_for(_watched(journal), apply, tmp_path, "apply never handed its deadline over")
        assert whole_config(edge) != before
        os.kill(apply.pid, signal.SIGKILL)
        apply.wait(WAIT)
    finally:
        stop(apply)
    give_up = time.monotonic() + WAIT
    while [r["type"] for r in records(journal)][-1] != "end":
        assert time.monotonic() < give_up, (
            f"the watchdog never rolled back: {[r['type'] for r in records(journal)]}\n"
            + watchdog.log_path(journal).read_text()
        )
        time.sleep(0.2)
    assert_same_config(before, edge)
    # The watchdog went through Console (the instance's own address has no listener).
    rollback_start = next(r for r in records(journal) if r["type"] == "rollback-start")
    assert rollback_start["via"] == {"console": console.url, "instance": {"ip": EDGE_01}}
    texts = [journal.read_text(), watchdog.log_path(journal).read_text()]
    for text in texts:
        assert CONSOLE_PASSWORD not in text
        for token in console.console.issued:
            assert token not in text


def _apply_in_its_own_process(
    console: RunningConsole, plan: Path, journal: Path, tmp_path: Path, within: str
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "NSFIX_USER": CONSOLE_USER,
        "NSFIX_PASSWORD": CONSOLE_PASSWORD,
        "NSFIX_JOURNAL_DIR": str(journal.parent),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    for name in ("NSFIX_PASSWORD_FILE", "NSFIX_URL", "NSFIX_VIA_CONSOLE"):
        env.pop(name, None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nsfix",
            "apply",
            str(plan),
            "--via-console",
            console.url,
            "--yes",
            "--settle",
            "0",
            "--confirm-within",
            within,
            "--journal",
            str(journal),
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "apply.err").open("wb"),
    )


def _watched(journal: Path) -> Any:
    # The deadline is written first, then the watchdog started and recorded: from its record on,
    # the watchdog owns the deadline.
    return lambda: journal.exists() and "watchdog" in [r["type"] for r in records(journal)]
