"""Progress on a terminal: a transient spinner per phase on stderr, nothing when piped."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from mocks.fixtures import RunningMock
from nsfix.apply import load_plan
from nsfix.cli.common import phase
from nsfix.findings import Severity, TargetAudit
from nsfix.operations import run_audit
from nsfix.reports import audit as audit_report
from nsfix.reports import cab
from nsfix.reports.plan import render_plan_text
from nsfix.shell import load_playbooks, load_snapshot_file
from tests.cli.conftest import SCENARIOS
from tests.support import Run

Nsfix = Callable[..., Run]
SEED = str(SCENARIOS / "seed-incident.json")
# What any phase would leave on stderr: its words, or rich's cursor and colour controls.
HIDE_CURSOR, SHOW_CURSOR = "\x1b[?25l", "\x1b[?25h"
TRACES = ("auditing", "planning", "tracing", "writing", "rendering", "checking", "\x1b")


def terminal() -> tuple[Console, StringIO]:
    screen = StringIO()
    return Console(file=screen, force_terminal=True, width=100), screen


def test_a_phase_names_itself_on_a_terminal_then_clears_its_line() -> None:
    console, screen = terminal()
    with phase("tracing packet paths", console=console):
        pass
    shown = screen.getvalue()
    assert "tracing packet paths" in shown
    # Transient: the last thing drawn erases the line and gives the cursor back.
    assert shown.rstrip("\r").endswith("\x1b[2K" + SHOW_CURSOR)


def test_phases_in_phases_share_one_display() -> None:
    console, screen = terminal()
    with phase("p1: reading", console=console), phase("p1: auditing 3 virtual servers"):
        pass
    shown = screen.getvalue()
    assert "p1: reading" in shown
    assert "p1: auditing 3 virtual servers" in shown
    assert shown.count(HIDE_CURSOR) == 1  # one live display, not two fighting for the cursor


def test_no_phase_is_drawn_when_stderr_is_piped_or_quiet(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with phase("planning"):
        pass
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with phase("planning", quiet=True):
        pass
    captured = capsys.readouterr()
    assert captured.err == captured.out == ""


def quiet_stderr(run: Run) -> None:
    for trace in TRACES:
        assert trace not in run.err


def test_audit_piped_prints_the_report_alone(nsfix: Nsfix) -> None:
    run = nsfix("audit", "--from-file", SEED)
    quiet_stderr(run)
    snapshot = load_snapshot_file(Path(SEED), None)
    result = run_audit(snapshot, load_playbooks([]), (), None)
    target = TargetAudit(snapshot.appliance.url, snapshot.appliance.partition, snapshot, result)
    assert run.out == audit_report.render_text([target], Severity.WARNING)


def test_plan_explain_and_report_piped_print_what_they_did_before(
    nsfix: Nsfix, tmp_path: Path
) -> None:
    plan_file = tmp_path / "plan.json"
    planned = nsfix("plan", "--from-file", SEED, "-o", str(plan_file))
    assert planned.code == 0
    quiet_stderr(planned)
    assert planned.err == f"plan written to {plan_file} ({load_plan(plan_file)[1]})\n"
    assert planned.out == plan_text(plan_file)
    explained = nsfix("explain", "vs_app_dsr", "--from-file", SEED)
    quiet_stderr(explained)
    assert explained.out.startswith("BEFORE ")
    reported = nsfix("report", str(plan_file), "--ticket", "CHG-1")
    quiet_stderr(reported)
    assert reported.err == ""
    the_plan, digest = load_plan(plan_file)
    assert reported.out == cab.render_markdown(
        the_plan, digest=digest, plan_path=str(plan_file), ticket="CHG-1"
    )


def test_on_a_terminal_phases_go_to_stderr_and_stdout_is_unchanged(
    nsfix: Nsfix, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    plan_file = tmp_path / "plan.json"
    assert nsfix("plan", "--from-file", SEED, "-o", str(plan_file)).code == 0
    commands = {
        ("explain", "vs_app_dsr", "--from-file", SEED): ["auditing", "tracing the packet paths"],
        ("report", str(plan_file)): ["checking ", "rendering the report"],
        ("audit", "--from-file", SEED, "--format", "md", "-o", str(tmp_path / "audit.md")): [
            "auditing",
            "writing",
        ],
    }
    piped = {args: nsfix(*args) for args in commands}
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    for args, labels in commands.items():
        watched = nsfix(*args)
        assert watched.out == piped[args].out
        assert watched.code == piped[args].code
        for label in labels:
            assert label in watched.err
    # A plan names its creation time: its text is checked against the plan file it wrote.
    again = tmp_path / "again.json"
    planned = nsfix("plan", "--from-file", SEED, "-o", str(again))
    for label in ("auditing", "planning", "tracing packet paths", "writing "):
        assert label in planned.err
    assert planned.out == plan_text(again)


def plan_text(plan_file: Path) -> str:
    """What `nsfix plan -o plan_file` prints on stdout, rendered from the file it wrote."""
    the_plan, digest = load_plan(plan_file)
    return render_plan_text(the_plan, digest=digest, path=str(plan_file))


def test_reading_and_auditing_an_appliance_share_the_terminal(
    nsfix: Nsfix, appliance: Callable[..., RunningMock], monkeypatch: pytest.MonkeyPatch
) -> None:
    mock = appliance("seed-incident")
    piped = nsfix("audit", url=mock.url)
    quiet_stderr(piped)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    watched = nsfix("audit", url=mock.url)
    assert watched.out == piped.out
    # The reading bars and the audit's spinner are one display; displays never overlap.
    first = watched.err.split(SHOW_CURSOR)[0]
    assert ": reading" in first
    assert ": auditing" in first
    cursor = re.findall(r"\x1b\[\?25[lh]", watched.err)
    assert cursor == [HIDE_CURSOR, SHOW_CURSOR] * (len(cursor) // 2)
