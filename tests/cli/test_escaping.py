"""Names and values from the appliance never reach a terminal raw: text output writes ESC, CR,
LF, TAB and every other control as `\\x1b`, `\\n`...; JSON output keeps them exact."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from mocks.fixtures import MockFactory
from nsfix.cli.common import configure_logging
from nsfix.findings import TargetAudit
from nsfix.operations import run_audit
from nsfix.reports import audit as audit_report
from nsfix.reports import inventory as inventory_report
from nsfix.reports.text import escaped, visible
from nsfix.shell import load_playbooks, load_snapshot_file
from tests.cli.conftest import scenario
from tests.support import Run

Nsfix = Callable[..., Run]

# A vserver name that would clear the screen and turn it red, a service name that would forge a
# line of the findings table, a server address that would retitle the terminal window.
VSERVER = "vs_app\x1b[2J\x1b[31mdsr"
SERVICE = "svc_app_01\nwarning  FAKE-RULE  forged line"
ADDRESS = "10.0.0.1\x1b]0;pwned\x07"
SHOWN_SERVICE = "svc_app_01\\nwarning  FAKE-RULE  forged line"
SHOWN_VSERVER = "vs_app\\x1b[2J\\x1b[31mdsr"
# Any control a terminal acts on, but the newlines between lines.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def hostile() -> dict[str, Any]:
    """The seed scenario with the names and one address above (built here, not a scenario)."""
    text = json.dumps(scenario("seed-incident"))
    text = text.replace('"vs_app_dsr"', json.dumps(VSERVER))
    text = text.replace('"svc_app_01"', json.dumps(SERVICE))
    data: dict[str, Any] = json.loads(text)
    [second] = [s for s in data["service"] if s["name"] == "svc_app_02"]
    second["ipaddress"] = ADDRESS
    return data


@pytest.fixture
def records_file(tmp_path: Path) -> Path:
    data = hostile()
    data.pop("_mock")
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(data))
    return path


def assert_visible(text: str) -> None:
    assert RAW_CONTROL.search(text) is None, f"raw control in {text!r}"
    assert "\nwarning  FAKE-RULE" not in text


def test_visible_writes_every_control_out_and_keeps_the_rest() -> None:
    assert visible("a\x1bb\nc\rd\te\x00f\x7fg\x9bh") == "a\\x1bb\\nc\\rd\\te\\x00f\\x7fg\\x9bh"
    assert visible("left\u202eright\u2028") == "left\\u202eright\\u2028"
    assert visible("plain name_01 [x] café \\n") == "plain name_01 [x] café \\n"


def test_text_reports_of_records_show_controls_escaped(nsfix: Nsfix, records_file: Path) -> None:
    for command in (("inventory",), ("audit",), ("plan",)):
        run = nsfix(*command, "--from-file", str(records_file))
        assert run.code in {0, 2}, run.err
        assert_visible(run.out)
        assert_visible(run.err)
        assert SHOWN_SERVICE in run.out
        assert SHOWN_VSERVER in run.out
    state = records_file.with_name("state.json")
    since = nsfix("audit", "--since", str(state), "--from-file", str(records_file))
    assert "Since the previous run" in since.out
    assert_visible(since.out)
    assert SHOWN_SERVICE in since.out.split("Since the previous run")[1]
    explain = nsfix("explain", VSERVER, "--from-file", str(records_file))
    assert explain.code == 0, explain.err
    assert_visible(explain.out)
    assert SHOWN_SERVICE in explain.out


def test_markdown_reports_show_controls_escaped(
    nsfix: Nsfix, records_file: Path, tmp_path: Path
) -> None:
    audit = nsfix("audit", "--format", "md", "--from-file", str(records_file))
    assert_visible(audit.out)
    assert f"`{SHOWN_VSERVER}`" in audit.out
    plan = tmp_path / "plan.json"
    assert nsfix("plan", "-o", str(plan), "--from-file", str(records_file)).code == 0
    report = nsfix("report", str(plan))
    assert report.code == 0, report.err
    assert_visible(report.out)
    # No CLI command can carry a line break: the report says so and shows the rest.
    assert "None: no CLI command can carry 'svc_app_01\\\\nwarning" in report.out
    commands = nsfix("report", str(plan), "--format", "cli")
    assert commands.code == 1
    assert commands.out == ""
    assert "no CLI command can carry 'svc_app_01\\nwarning" in commands.err
    assert_visible(commands.err)
    unwritten = tmp_path / "unwritten.json"
    fresh = nsfix("plan", "--format", "cli", "-o", str(unwritten), "--from-file", str(records_file))
    assert fresh.code == 1
    assert "no CLI command can carry" in fresh.err
    assert not unwritten.exists()


def test_an_error_naming_appliance_objects_shows_controls_escaped(
    nsfix: Nsfix, records_file: Path
) -> None:
    run = nsfix("explain", "vs_app_dsr", "--from-file", str(records_file))
    assert run.code == 1
    assert_visible(run.err)
    assert SHOWN_VSERVER in run.err


def test_json_output_keeps_names_exact(nsfix: Nsfix, records_file: Path) -> None:
    run = nsfix("audit", "--json", "--from-file", str(records_file))
    objects = {f["object"]["name"] for t in run.json()["targets"] for f in t["findings"]}
    assert SERVICE in objects
    inventory = nsfix("inventory", "--json", "--from-file", str(records_file)).json()
    assert VSERVER in {vs["name"] for vs in inventory["lbvservers"]}


def test_terminal_tables_show_controls_escaped(records_file: Path) -> None:
    snapshot = load_snapshot_file(records_file, None)
    result = run_audit(snapshot, load_playbooks([]), (), None)
    targets = [TargetAudit(snapshot.appliance.url, "default", snapshot, result)]
    console = Console(file=io.StringIO(), width=300, color_system=None)
    for renderable in [
        *inventory_report.render_rich(snapshot),
        *audit_report.render_rich(targets, result.findings[0].severity),
    ]:
        console.print(renderable)
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert_visible(shown)
    assert SHOWN_SERVICE in shown


def test_apply_and_rollback_reports_show_controls_escaped(
    nsfix: Nsfix,
    mock_appliance_factory: MockFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NSFIX_JOURNAL_DIR", str(tmp_path / "journals"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    mock = mock_appliance_factory(hostile())
    plan = tmp_path / "plan.json"
    assert nsfix("plan", "-o", str(plan), url=mock.url).code == 0
    for args in (("--dry-run",), ("--yes", "--settle", "0")):
        run = nsfix("apply", str(plan), *args, url=mock.url)
        assert run.code == 0, run.err
        assert_visible(run.out)
        assert_visible(run.err)
        assert SHOWN_SERVICE in run.out
    [journal] = (tmp_path / "journals").glob("*.jsonl")
    undo = nsfix("rollback", str(journal), "--yes", "--settle", "0")
    assert undo.code == 0, undo.err
    assert_visible(undo.out)
    assert_visible(undo.err)
    assert SHOWN_SERVICE in undo.out


def test_escaped_keeps_what_is_not_text() -> None:
    data = {"name\x1b": ("a\nb", 3, None, True), "n": [1.5, "x"]}
    assert escaped(data) == {"name\\x1b": ("a\\nb", 3, None, True), "n": [1.5, "x"]}
    plain = {"a": ["b", ("c",)]}
    assert escaped(plain) is plain


def test_log_lines_show_controls_escaped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    logger = logging.getLogger("nsfix")
    monkeypatch.setattr(logger, "handlers", list(logger.handlers))
    monkeypatch.setattr(logger, "level", logger.level)
    configure_logging(1)
    logging.getLogger("nsfix.nitro").warning("NITRO warning: %s", SERVICE + "\x1b[0m")
    logged = capsys.readouterr().err
    assert_visible(logged.rstrip("\n"))
    assert SHOWN_SERVICE + "\\x1b[0m" in logged
