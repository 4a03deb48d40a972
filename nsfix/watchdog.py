"""The commit-confirm deadline outlives the process that applied the change.

`nsfix apply --confirm-within` starts a detached watchdog process that owns the deadline: it
leaves the terminal's session, so closing the SSH session or killing the apply does not stop
it. Until the deadline it only reads the journal. When `nsfix confirm` (or the prompt) confirms,
or the apply ends by itself, it exits. When the deadline passes and the applying process is gone
(its appliance lock is free and the journal has no end), it rolls the change back from the
journal, as `nsfix rollback` would. Its limit: it runs on the same machine, so that machine
dying takes it along; then `nsfix rollback JOURNAL` from anywhere finishes the job.

The password reaches the watchdog on its standard input, never on a command line or in its
environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nsfix.errors import NsfixError
from nsfix.executor import ApplyOptions, Refused
from nsfix.exitcodes import ExitCode
from nsfix.inventory import configured_page_size
from nsfix.journal import JournalState, JournalWriter, read_journal
from nsfix.nitro import ConsoleRoute, RouteError
from nsfix.settings import Target

POLL_SECONDS = 1.0


class WatchdogError(NsfixError):
    """The watchdog could not be started or could not read its orders."""


@dataclass(frozen=True)
class Orders:
    """What the watchdog needs to roll back on its own: where, as whom, how to trust TLS."""

    url: str
    username: str
    password: str = field(repr=False)
    verify: bool | str
    timeout: float
    partition: str | None = None
    via: dict[str, Any] | None = None
    """The NetScaler Console route of the apply (ConsoleRoute.to_record), if it used one."""

    def target(self) -> Target:
        try:
            route = ConsoleRoute.from_record(self.via)
        except RouteError as exc:
            raise WatchdogError(f"the watchdog's orders name a bad Console route: {exc}") from None
        return Target(self.url, self.username, self.password, self.verify, self.partition, route)


def log_path(journal: Path) -> Path:
    return journal.with_name(journal.name + ".watchdog.log")


def start(journal: Path, target: Target, timeout: float) -> int:
    """Start the watchdog for `journal`; returns its process id."""
    orders = Orders(
        target.url,
        target.username,
        target.password,
        target.verify,
        timeout,
        target.partition,
        target.via.to_record() if target.via is not None else None,
    )
    env = {k: v for k, v in os.environ.items() if k not in {"NSFIX_PASSWORD"}}
    try:
        with log_path(journal).open("ab") as log:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
                [sys.executable, "-m", "nsfix", "watchdog", str(journal)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=env,
                start_new_session=True,  # survives the terminal, its SIGHUP and its Ctrl-C
                close_fds=True,
            )
        assert process.stdin is not None
        with process.stdin as orders_pipe:
            orders_pipe.write(json.dumps(asdict(orders)).encode("utf-8"))
    except OSError as exc:
        raise WatchdogError(f"cannot start the confirmation watchdog: {exc}") from None
    return process.pid


def read_orders(text: str) -> Orders:
    try:
        data: Any = json.loads(text)
        return Orders(**data)
    except (ValueError, TypeError) as exc:
        raise WatchdogError(f"the watchdog's orders are not readable: {exc}") from None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def settled(state: JournalState) -> bool:
    """Nothing left for the watchdog: the run was confirmed, or it ended (kept or undone)."""
    return state.confirmed or state.status is not None


Rollback = Callable[[Path, Target], ExitCode]


def watch(
    journal: Path,
    orders: Orders,
    rollback: Rollback,
    *,
    say: Callable[[str], None],
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
) -> ExitCode:
    """Wait for the deadline; then, if nobody confirmed and the apply is gone, roll back."""
    state = read_journal(journal)
    if state.confirm_deadline is None:
        raise WatchdogError(f"{journal}: this run did not ask for confirmation")
    deadline = state.confirm_deadline
    while not settled(state) and now() < deadline:
        sleep(max(0.0, min(POLL_SECONDS, (deadline - now()).total_seconds())))
        state = read_journal(journal)
    partition = str(state.target.get("partition") or "default")
    while not settled(state):
        # The applying process, while it lives, holds the appliance lock and rolls back itself.
        if not lock_is_free(orders.url, partition):
            sleep(POLL_SECONDS)
            state = read_journal(journal)
            continue
        say(f"deadline passed without confirmation and the apply is gone: rolling back {journal}")
        if not state.confirm_timed_out:
            writer = JournalWriter.reopen(journal)
            try:
                writer.write("confirm-timeout", reason="not confirmed in time (watchdog)")
            finally:
                writer.close()
            if read_journal(journal).confirmed:
                return ExitCode.OK  # a confirmation written first still wins
        try:
            return rollback(journal, orders.target())
        except Refused as exc:
            if "holds the lock" not in str(exc):
                raise
            sleep(POLL_SECONDS)
            state = read_journal(journal)
    return ExitCode.OK


def lock_is_free(url: str, partition: str) -> bool:
    from nsfix.apply import appliance_lock

    try:
        with appliance_lock(url, partition):
            return True
    except Refused:
        return False


def options_for_rollback() -> ApplyOptions:
    # Monitors had the whole confirmation window to settle; the rollback verifies as usual.
    return ApplyOptions(settle_seconds=30.0, page_size=configured_page_size())
