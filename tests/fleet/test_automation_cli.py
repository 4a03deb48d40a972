"""The scheduled job and the monitoring system through the CLI, against live mock appliances:
exit codes, `nsfix check`, the Prometheus textfile, the run log and the since-summary."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from mocks.fixtures import RunningMock
from tests.cli.conftest import PASSWORD, USER
from tests.fleet.exposition import parse, sample
from tests.fleet.test_monitoring import plugin_output
from tests.support import Run

Nsfix = Callable[..., Run]
Appliance = Callable[..., RunningMock]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def fleet_env(monkeypatch: pytest.MonkeyPatch, no_backoff: None) -> None:
    monkeypatch.setenv("FLEET_USER", USER)
    monkeypatch.setenv("FLEET_PASSWORD", PASSWORD)


def fleet_file(tmp_path: Path, entries: dict[str, str]) -> Path:
    path = tmp_path / "fleet.yaml"
    lines = [
        "defaults:\n  user_env: FLEET_USER\n  password_env: FLEET_PASSWORD\n  timeout: 5\n",
        "appliances:\n",
    ]
    lines += [
        f"  - {{name: {name}, url: '{url}', tags: [{name}]}}\n" for name, url in entries.items()
    ]
    path.write_text("".join(lines))
    return path


def down_url() -> str:
    return f"http://127.0.0.1:{closed_port()}"


# --- exit codes ---------------------------------------------------------------------------


@pytest.mark.usefixtures("fleet_env")
def test_a_dead_appliance_is_not_hidden_by_findings_elsewhere(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path
) -> None:
    fleet = fleet_file(tmp_path, {"edge-01": appliance("seed-incident").url, "edge-02": down_url()})
    both = nsfix("audit", "--fleet", str(fleet))
    assert both.code == 8, both.err
    assert "Exit 8" in both.out or "exit 8" in both.out
    findings_only = nsfix("audit", "--fleet", str(fleet), "--select", "edge-01")
    assert findings_only.code == 2
    dead_only = nsfix("audit", "--fleet", str(fleet), "--select", "edge-02")
    assert dead_only.code == 1


@pytest.mark.usefixtures("fleet_env")
def test_plan_detailed_exitcode_mirrors_terraform(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path
) -> None:
    seed = appliance("seed-incident")
    assert nsfix("plan", url=seed.url).code == 0  # without the flag: planned is 0
    assert nsfix("plan", "--detailed-exitcode", url=seed.url).code == 2
    assert nsfix("plan", "--detailed-exitcode", url=appliance("healthy").url).code == 0
    assert nsfix("plan", "--detailed-exitcode", url=down_url()).code == 1

    # Refused objects alone are no change: apply would do nothing, so 0 (audit still says 2).
    mixed = appliance("mixed")
    plan = tmp_path / "plan.json"
    assert nsfix("plan", "-o", str(plan), url=mixed.url).code == 0
    journal = tmp_path / "journal.json"
    applied = nsfix("apply", str(plan), "--yes", "--journal", str(journal), url=mixed.url)
    assert applied.code == 0, applied.err
    after = nsfix("plan", "--detailed-exitcode", "--json", url=mixed.url)
    document = after.json()["plan"]
    assert document["changes"] == []
    assert document["refusals"]
    assert after.code == 0
    assert nsfix("audit", url=mixed.url).code == 2


@pytest.mark.usefixtures("fleet_env")
def test_fleet_plan_detailed_exitcode(nsfix: Nsfix, appliance: Appliance, tmp_path: Path) -> None:
    fleet = fleet_file(
        tmp_path,
        {
            "edge-01": appliance("seed-incident").url,
            "edge-02": appliance("healthy").url,
            "edge-03": down_url(),
        },
    )
    plans = tmp_path / "plans"
    args = ("plan", "--fleet", str(fleet), "--output-dir", str(plans), "--detailed-exitcode")
    assert nsfix(*args, "--select", "edge-02").code == 0
    assert nsfix(*args, "--select", "edge-01", "--select", "edge-02").code == 2
    # An appliance that could not be planned wins over pending changes, as for audit.
    assert nsfix(*args).code == 3
    assert nsfix(*args, "--select", "edge-03").code == 1
    assert nsfix(*args[:-1]).code == 3  # without the flag, as before


# --- nsfix check ----------------------------------------------------------------------------


@pytest.mark.usefixtures("fleet_env")
def test_check_one_appliance_by_the_plugin_rules(nsfix: Nsfix, appliance: Appliance) -> None:
    seed = appliance("seed-incident")
    run = nsfix("check", url=seed.url)
    status, text, perf, details = plugin_output(run.out)
    assert (run.code, status) == (2, "CRITICAL")
    assert text == f"{seed.url}: 2 critical, 2 warning, 0 info finding(s)"
    assert "'critical'=2;;0;0" in perf
    assert "'problems'=4;0;;0" in perf
    assert sum(line.startswith("  CRITICAL ") for line in details) == 2
    assert run.err == ""  # a plugin runner may mix stderr in: nothing there
    assert PASSWORD not in run.out

    tolerant = nsfix("check", "-c", "2", "-w", "4", url=seed.url)
    assert (tolerant.code, plugin_output(tolerant.out)[0]) == (0, "OK")
    warned = nsfix("check", "--critical", "5", url=seed.url)
    assert (warned.code, plugin_output(warned.out)[0]) == (1, "WARNING")
    healthy = nsfix("check", url=appliance("healthy").url)
    assert (healthy.code, plugin_output(healthy.out)[0]) == (0, "OK")


@pytest.mark.usefixtures("fleet_env")
def test_check_says_unknown_for_what_it_cannot_tell(nsfix: Nsfix, appliance: Appliance) -> None:
    down = nsfix("check", url=down_url())
    assert (down.code, plugin_output(down.out)[0]) == (3, "UNKNOWN")
    assert "cannot reach the appliance" in down.out
    refused = nsfix("check", url=appliance("healthy").url, password="wrong-password")
    assert (refused.code, plugin_output(refused.out)[0]) == (3, "UNKNOWN")
    assert "wrong-password" not in refused.out
    bad = nsfix("check", "-w", "lots", url=appliance().url)
    assert bad.code == 3
    assert bad.out.startswith("UNKNOWN - bad threshold: 'lots' is not a threshold range")
    usage = nsfix("check", "--no-such-option")
    assert usage.code == 3  # not 64: a plugin's bad command line is UNKNOWN
    assert nsfix("audit", "--no-such-option").code == 64


@pytest.mark.usefixtures("fleet_env")
def test_check_a_fleet(nsfix: Nsfix, appliance: Appliance, tmp_path: Path) -> None:
    fleet = fleet_file(
        tmp_path,
        {"edge-01": appliance("seed-incident").url, "edge-02": appliance("healthy").url},
    )
    run = nsfix("check", "--fleet", str(fleet))
    status, text, _, details = plugin_output(run.out)
    assert (run.code, status) == (2, "CRITICAL")
    assert text == "2 appliances: 2 critical, 2 warning, 0 info finding(s) on edge-01"
    assert details[0].startswith("edge-01: 2 critical")
    fleet = fleet_file(tmp_path, {"edge-02": appliance("healthy").url, "edge-03": down_url()})
    run = nsfix("check", "--fleet", str(fleet))
    status, text, perf, details = plugin_output(run.out)
    assert (run.code, status) == (3, "UNKNOWN")
    assert text.endswith("; not read: edge-03")
    assert "'unread'=1;;;0;2" in perf
    mixed = nsfix("check", "--fleet", str(fleet), "--url", "https://x")
    assert mixed.code == 3
    assert mixed.out.startswith("UNKNOWN - ")


# --- the scheduled job ----------------------------------------------------------------------


@pytest.mark.usefixtures("fleet_env")
def test_prometheus_textfile_of_a_fleet_run_and_the_next(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path
) -> None:
    seed = appliance("seed-incident")
    healthy = appliance("healthy")
    fleet = fleet_file(tmp_path, {"edge-01": seed.url, "edge-02": healthy.url})
    folder = tmp_path / "textfile"
    folder.mkdir()
    prom = folder / "nsfix.prom"
    first = nsfix("audit", "--fleet", str(fleet), "--prometheus", str(prom), "--json")
    assert first.code == 2
    families = parse(prom.read_text())
    assert sample(families, "nsfix_findings", appliance="edge-01", severity="critical") == 2
    assert sample(families, "nsfix_findings", appliance="edge-02", severity="critical") == 0
    assert sample(families, "nsfix_up", appliance="edge-02") == 1
    assert sample(families, "nsfix_last_run_exit_code") == 2
    assert (sample(families, "nsfix_read_duration_seconds", appliance="edge-01") or 0) > 0
    success = sample(families, "nsfix_last_success_timestamp_seconds", appliance="edge-02")
    inode = prom.stat().st_ino

    # edge-02 goes away: up 0, no findings figures, and its last success stays where it was.
    fleet = fleet_file(tmp_path, {"edge-01": seed.url, "edge-02": down_url()})
    second = nsfix("audit", "--fleet", str(fleet), "--prometheus", str(prom), "--json")
    assert second.code == 8
    families = parse(prom.read_text())
    assert sample(families, "nsfix_up", appliance="edge-02") == 0
    assert sample(families, "nsfix_findings", appliance="edge-02", severity="critical") is None
    assert sample(families, "nsfix_last_success_timestamp_seconds", appliance="edge-02") == success
    assert sample(families, "nsfix_last_run_exit_code") == 8
    # Replaced by rename, never rewritten in place; no temporary file is left for the collector.
    assert prom.stat().st_ino != inode
    assert [p.name for p in folder.iterdir()] == ["nsfix.prom"]


@pytest.mark.usefixtures("fleet_env")
def test_timestamps_and_run_markers_on_every_log_line(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path
) -> None:
    fleet = fleet_file(tmp_path, {"edge-01": appliance().url, "edge-02": down_url()})
    run = nsfix("audit", "--fleet", str(fleet), "--json", "--timestamps", "-vv")
    assert run.code == 8
    lines = run.err.splitlines()
    stamp = re.compile(
        r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) \[(\d{8}T\d{6}Z-[0-9a-f]{6})\] (.*)"
    )
    matches = [stamp.fullmatch(line) for line in lines]
    assert all(matches), run.err
    assert any(" DEBUG nsfix." in line for line in lines)  # -vv log lines are stamped too
    assert len({m.group(2) for m in matches if m}) == 1  # one run id for the whole run
    texts = [m.group(3) for m in matches if m]
    assert texts[0].startswith(f"nsfix: run start: audit --fleet {fleet} (nsfix ")
    assert re.fullmatch(r"nsfix: run end: exit 8 after \d+\.\d s", texts[-1])
    assert any(t.startswith("edge-02 (http://127.0.0.1:") for t in texts)
    times = [m.group(1) for m in matches if m]
    assert times == sorted(times)
    assert json.loads(run.out)["summary"]["unreachable"] == 1  # stdout untouched
    plain = nsfix("audit", "--fleet", str(fleet), "--json")
    assert not stamp.match(plain.err.splitlines()[0])


@pytest.mark.parametrize("fmt", ["text", "json", "md", "html", "junit", "sarif"])
def test_the_since_summary_goes_to_stderr_in_every_format(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path, fmt: str
) -> None:
    mock = appliance("seed-incident")
    state = tmp_path / "state.json"
    report = tmp_path / f"report.{fmt}"
    args = ("audit", "--since", str(state), "--format", fmt, "-o", str(report))
    first = nsfix(*args, url=mock.url)
    summary = "Since the previous run: 4 new, 0 resolved, 0 unchanged"
    assert first.err.count(summary) == 1, first.err
    second = nsfix(*args, url=mock.url)
    assert second.err.count("Since the previous run: 0 new, 0 resolved, 4 unchanged") == 1


@pytest.mark.usefixtures("fleet_env")
def test_reports_name_the_fleet_appliances(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path
) -> None:
    seed = appliance("seed-incident")
    fleet = fleet_file(tmp_path, {"edge-01": seed.url, "edge-02": down_url()})
    texts = {}
    for fmt in ("md", "html", "junit", "sarif", "text"):
        out = tmp_path / f"audit.{fmt}"
        assert nsfix("audit", "--fleet", str(fleet), "--format", fmt, "-o", str(out)).code == 8
        texts[fmt] = out.read_text()
    for fmt in ("md", "html", "text"):
        assert f"edge-01 ({seed.url})" in texts[fmt], fmt
        assert "edge-02 (http://127.0.0.1:" in texts[fmt], fmt
    suites = ET.fromstring(texts["junit"]).iter("testsuite")
    names = [suite.get("name") or "" for suite in suites]
    assert names[0] == f"edge-01 ({seed.url}) [default]"
    assert names[1].startswith("edge-02 (http://127.0.0.1:")
    sarif = json.loads(texts["sarif"])["runs"][0]
    assert {r["properties"]["appliance"] for r in sarif["results"]} == {"edge-01"}
    assert [t["appliance"] for t in sarif["properties"]["targets"]] == ["edge-01", "edge-02"]
    notification = sarif["invocations"][0]["toolExecutionNotifications"][0]
    assert notification["message"]["text"].startswith("edge-02 (http://127.0.0.1:")


@pytest.mark.usefixtures("fleet_env")
def test_check_says_unknown_when_the_appliance_does_not_answer_in_time(
    nsfix: Nsfix, appliance: Appliance
) -> None:
    slow = appliance("seed-incident", latency=2.5)
    run = nsfix("check", "--timeout", "1", url=slow.url)
    status, text, _, _ = plugin_output(run.out)
    assert (run.code, status) == (3, "UNKNOWN"), run.out
    assert "not read" in text


def test_check_answers_unknown_within_its_time_limit(appliance: Appliance) -> None:
    # A process of its own: the check ends the process at the limit, threads still waiting.
    slow = appliance("seed-incident", latency=10)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "nsfix", "check", "--url", slow.url, "-t", "1"],
        env={**os.environ, "NSFIX_USER": USER, "NSFIX_PASSWORD": PASSWORD},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert time.monotonic() - started < 9  # the first reply alone would take 10 s
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stdout == (
        "UNKNOWN - no result within 1 s (--time-limit); appliances still reading\n"
    )
