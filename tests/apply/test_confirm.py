"""Commit-confirm: an apply with --confirm-within is kept only when confirmed in time."""

from __future__ import annotations

import io
import json
import os
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from nsfix.cli import main
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
    records,
    whole_config,
)


def usip(mock_config: dict[str, object], name: str) -> str:
    services = mock_config["service"]
    assert isinstance(services, list)
    return str(next(s for s in services if s["name"] == name)["usip"])


class Confirmer(threading.Thread):
    """Waits until the apply is waiting, then runs `nsfix confirm JOURNAL` `before` seconds
    ahead of the deadline (or at once)."""

    def __init__(self, journal: Path, before: float | None) -> None:
        super().__init__(daemon=True)
        self.journal = journal
        self.before = before
        self.code: int | None = None

    def run(self) -> None:
        give_up = time.monotonic() + 20
        while time.monotonic() < give_up:
            waits = [r for r in _records(self.journal) if r["type"] == "confirm-wait"]
            if waits:
                break
            time.sleep(0.02)
        else:
            return
        if self.before is not None:
            deadline = datetime.fromisoformat(waits[0]["deadline"])
            time.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds() - self.before))
        try:
            main(["confirm", str(self.journal)])
        except SystemExit as exc:
            self.code = exc.code if isinstance(exc.code, int) else 1


def _records(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            break  # a line being written right now
    return out


def test_not_confirmed_in_time_is_rolled_back(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    before = whole_config(mock.appliance)
    started = time.monotonic()
    run = nsfix(
        "apply", str(plan_path), "--yes", "--settle", "0", "--confirm-within", "1s", "--save"
    )
    assert time.monotonic() - started >= 1.0
    assert run.code == 5, run.out + run.err
    assert "not-confirmed-rolled-back" in run.out
    assert "not confirmed in time" in run.out
    assert "NOT saved" in run.err
    assert_same_config(before, mock.appliance)
    assert "running configuration saved" not in run.out
    journal = only_journal(journal_dir)
    kinds = [r["type"] for r in records(journal)]
    assert kinds.index("confirm-wait") < kinds.index("confirm-timeout") < kinds.index("end")
    assert "save" not in kinds
    assert outcomes(journal, "rollback") == {"c1": "reverted", "c2": "reverted"}

    # Too late: the run has ended.
    late = nsfix("confirm", str(journal))
    assert late.code == 1
    assert "too late" in late.err
    # A journal whose deadline passed without an end (the apply was killed while waiting).
    killed = tmp_path / "killed.jsonl"
    kept = []
    for line in journal.read_text().splitlines():
        kept.append(line)
        if json.loads(line)["type"] == "confirm-wait":
            break
    killed.write_text("\n".join(kept) + "\n")
    expired = nsfix("confirm", str(killed))
    assert expired.code == 1
    assert "has passed" in expired.err


def test_confirmed_from_another_process_keeps_and_saves(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    journal = journal_dir / "confirmed.jsonl"
    confirmer = Confirmer(journal, before=None)
    confirmer.start()
    run = nsfix(
        "apply",
        str(plan_path),
        "--yes",
        "--settle",
        "0",
        "--confirm-within",
        "20s",
        "--save",
        "--journal",
        str(journal),
    )
    confirmer.join(5)
    assert confirmer.code == 0
    assert run.code == 0, run.out + run.err
    assert "confirmed; the waiting apply keeps the change" in run.err
    assert "running configuration saved" in run.out
    config = mock.appliance.config()
    assert usip(config, "svc_app_01") == "YES"
    assert mock.appliance.config_changed() is False
    assert usip(mock.appliance.saved_config(), "svc_app_01") == "YES"
    kinds = [r["type"] for r in records(journal)]
    assert kinds.index("confirm-wait") < kinds.index("confirmed") < kinds.index("save")
    assert "confirm-timeout" not in kinds


def test_a_confirmation_just_before_the_deadline_counts(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    journal = journal_dir / "late.jsonl"
    # Inside the apply's last one-second wait, with time to spare for a busy machine.
    confirmer = Confirmer(journal, before=0.6)
    confirmer.start()
    run = nsfix(
        "apply",
        str(plan_path),
        "--yes",
        "--settle",
        "0",
        "--confirm-within",
        "2s",
        "--journal",
        str(journal),
    )
    confirmer.join(5)
    # `nsfix confirm` told its user the change is kept: the apply must keep it.
    assert confirmer.code == 0
    assert "the waiting apply keeps the change" in run.err
    assert run.code == 0, run.out + run.err
    assert usip(mock.appliance.config(), "svc_app_01") == "YES"


def test_confirm_on_a_run_without_a_confirm_window(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    assert nsfix("apply", str(plan_path), "--yes", "--settle", "0").code == 0
    journal = only_journal(journal_dir)
    run = nsfix("confirm", str(journal))
    assert run.code == 1
    assert "did not ask for confirmation" in run.err
    missing = nsfix("confirm", str(tmp_path / "nope.jsonl"))
    assert missing.code == 1
    assert "does not exist" in missing.err


def test_the_journal_lets_the_first_of_confirmation_and_timeout_win(tmp_path: Path) -> None:
    from nsfix.journal import read_journal

    start = {
        "type": "start",
        "journal_version": 1,
        "run": "r",
        "plan_digest": "sha256:x",
        "target": {},
        "changes": [],
    }
    wait = {"type": "confirm-wait", "deadline": "2000-01-01T00:00:00+00:00"}

    def journal(*kinds: str) -> Path:
        path = tmp_path / f"{'-'.join(kinds)}.jsonl"
        lines = [start, wait, *({"type": kind} for kind in kinds)]
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        return path

    assert read_journal(journal("confirmed", "confirm-timeout")).confirmed is True
    assert read_journal(journal("confirm-timeout", "confirmed")).confirmed is False


class Terminal(io.TextIOWrapper):
    """A pipe that says it is a terminal: what the operator types arrives line by line."""

    def isatty(self) -> bool:
        return True


def test_on_a_terminal_apply_asks_and_typing_confirm_keeps_the_change(
    nsfix: Nsfix,
    appliance: StartAppliance,
    journal_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    read_end, write_end = os.pipe()
    monkeypatch.setattr(sys, "stdin", Terminal(io.FileIO(read_end, "r"), encoding="utf-8"))
    journal = journal_dir / "typed.jsonl"

    def operator() -> None:
        os.write(write_end, b"yes\n")  # the first question: apply?
        give_up = time.monotonic() + 20
        while time.monotonic() < give_up:
            if any(r["type"] == "confirm-wait" for r in _records(journal)):
                os.write(write_end, b"confirm\n")
                return
            time.sleep(0.02)

    typing = threading.Thread(target=operator, daemon=True)
    typing.start()
    try:
        run = nsfix(
            "apply",
            str(plan_path),
            "--settle",
            "0",
            "--confirm-within",
            "20s",
            "--journal",
            str(journal),
        )
    finally:
        typing.join(5)
        os.close(write_end)
    assert "Type 'yes' to go on" in run.out + run.err
    assert run.code == 0, run.out + run.err
    assert usip(mock.appliance.config(), "svc_app_01") == "YES"
    confirmed = [r for r in records(journal) if r["type"] == "confirmed"]
    assert [r["via"] for r in confirmed] == ["prompt"]


def test_on_a_terminal_any_answer_but_yes_refuses(
    nsfix: Nsfix,
    appliance: StartAppliance,
    journal_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    read_end, write_end = os.pipe()
    os.write(write_end, b"y\n")
    os.close(write_end)
    monkeypatch.setattr(sys, "stdin", Terminal(io.FileIO(read_end, "r"), encoding="utf-8"))
    run = nsfix("apply", str(plan_path), "--settle", "0")
    assert run.code == 4
    assert "not confirmed: nothing was written" in run.err
    assert mock.appliance.counters["writes"] == 0


def test_a_journal_with_an_unreadable_deadline_is_a_clear_error(
    nsfix: Nsfix, tmp_path: Path
) -> None:
    from nsfix.watchdog import Orders

    journal = tmp_path / "broken.jsonl"
    start = {
        "type": "start",
        "journal_version": 1,
        "run": "r",
        "plan_digest": "sha256:x",
        "target": {},
        "changes": [],
    }
    wait = {"type": "confirm-wait", "deadline": "tomorrow-ish"}
    journal.write_text(json.dumps(start) + "\n" + json.dumps(wait) + "\n")
    for command in ("confirm", "status"):
        run = nsfix(command, str(journal))
        assert run.code == 1, run.err
        assert "the confirmation deadline 'tomorrow-ish' is not a time" in run.err
        assert "Traceback" not in run.err
    # The watchdog's orders never show the password, whatever prints them.
    assert "s3cret" not in repr(Orders("https://ns", "u", "s3cret", True, 5.0))


def test_the_watchdog_finds_the_deadline_however_soon_it_reads_the_journal(
    nsfix: Nsfix,
    appliance: StartAppliance,
    journal_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A watchdog reads the journal the moment it starts: the deadline must already be there,
    or it leaves saying the run asked for none and nothing owns the deadline."""
    from nsfix import watchdog
    from nsfix.journal import read_journal

    seen: list[datetime | None] = []

    def instant_reader(journal: Path, target: object, timeout: float) -> int:
        seen.append(read_journal(journal).confirm_deadline)
        return os.getpid()

    monkeypatch.setattr(watchdog, "start", instant_reader)
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    before = whole_config(mock.appliance)
    run = nsfix("apply", str(plan_path), "--yes", "--settle", "0", "--confirm-within", "1s")
    assert run.code == 5, run.out + run.err
    assert len(seen) == 1
    assert seen[0] is not None, "the watchdog started before the deadline was written"
    assert_same_config(before, mock.appliance)
    kinds = [r["type"] for r in records(only_journal(journal_dir))]
    assert kinds.index("confirm-wait") < kinds.index("watchdog")
