"""On a terminal of 80 or 60 columns, or with names longer than the terminal is wide, the
inventory and audit print every object name and address whole, on one line, and each
finding's fix as they do on a pipe."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from nsfix.findings import Severity, TargetAudit
from nsfix.operations import run_audit
from nsfix.reports import audit as audit_report
from nsfix.reports import inventory as inventory_report
from nsfix.reports.inventory import inventory_rows
from nsfix.reports.terminal import show
from nsfix.shell import load_playbooks, load_snapshot_file
from tests.support import SCENARIOS, Run

LONG_SERVICE = "svc_app_01_" + "payments-backend-eu-west-" * 4 + "primary"
LONG_VSERVER = "vs_app_dsr_" + "customer-facing-" * 5 + "edge"


def renamed(tmp_path: Path, long_names: bool) -> Path:
    text = (SCENARIOS / "seed-incident.json").read_text()
    if long_names:
        text = text.replace("svc_app_01", LONG_SERVICE).replace("vs_app_dsr", LONG_VSERVER)
    path = tmp_path / "scenario.json"
    path.write_text(text)
    return path


def shown(renderables: list[object], width: int) -> list[str]:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    show(console, renderables)
    return console.file.getvalue().splitlines()  # type: ignore[attr-defined]


def whole_on_a_line(word: str, lines: list[str]) -> bool:
    return any(word in line for line in lines)


@pytest.mark.parametrize("width", [80, 60, 200])
@pytest.mark.parametrize("long_names", [False, True])
def test_every_name_and_address_is_printed_whole(
    tmp_path: Path, width: int, long_names: bool
) -> None:
    snapshot = load_snapshot_file(renamed(tmp_path, long_names), None)
    result = run_audit(snapshot, load_playbooks([]), (), None)
    target = TargetAudit(snapshot.appliance.url, "default", snapshot, result)

    inventory = shown(inventory_report.render_rich(snapshot), width)
    rows = inventory_rows(snapshot)
    assert rows
    for row in rows:
        assert whole_on_a_line(row.name, inventory), (row.name, width)
        if row.address:
            assert whole_on_a_line(row.address, inventory), (row.address, width)
    for snip in snapshot.snips:
        assert whole_on_a_line(str(snip.address), inventory)
    assert not any("…" in line for line in inventory)

    findings = shown(audit_report.render_rich([target], Severity.WARNING), width)
    active = result.active()
    assert active
    for finding in active:
        assert whole_on_a_line(str(finding.object), findings), (finding.object, width)
        for vserver in finding.via:
            assert whole_on_a_line(vserver, findings)
        # What the pipe prints below the table, the terminal prints too: the fix.
        # Wrapped between words only: joined again, the sentence is there as written.
        assert f"{finding.rule}: {finding.message}" in " ".join(" ".join(findings).split())
    assert sum("fix: nsfix plan sets" in line for line in findings) == len(active)
    assert not any("…" in line for line in findings)
    if long_names:
        assert whole_on_a_line(LONG_SERVICE, findings)
        assert whole_on_a_line(LONG_VSERVER, inventory)


def test_lines_fit_the_terminal_unless_one_word_is_wider(tmp_path: Path) -> None:
    snapshot = load_snapshot_file(renamed(tmp_path, False), None)
    result = run_audit(snapshot, load_playbooks([]), (), None)
    target = TargetAudit(snapshot.appliance.url, "default", snapshot, result)
    for width in (80, 60):
        lines = shown(
            [
                *inventory_report.render_rich(snapshot),
                *audit_report.render_rich([target], Severity.WARNING),
            ],
            width,
        )
        too_wide = [
            line
            for line in lines
            if len(line.rstrip()) > width and max(map(len, line.split())) <= width
        ]
        assert too_wide == [], width


def test_a_wide_terminal_keeps_the_table(tmp_path: Path) -> None:
    snapshot = load_snapshot_file(renamed(tmp_path, False), None)
    lines = shown(inventory_report.render_rich(snapshot), 200)
    assert any("┃ Object" in line for line in lines)
    assert any("│   service svc_app_01" in line for line in lines)


def test_the_audit_command_at_80_columns_prints_the_fix(
    nsfix: Callable[..., Run], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    run = nsfix("audit", "--from-file", str(renamed(tmp_path, True)))
    assert run.code == 2
    assert "fix: nsfix plan sets usip YES" in run.out
    assert LONG_SERVICE in run.out
