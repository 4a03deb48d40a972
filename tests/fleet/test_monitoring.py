"""The monitoring outputs as a Nagios/Icinga server and Prometheus would read them."""

from __future__ import annotations

import io
import math
import re
import threading
from datetime import UTC, date, datetime

import pytest

from nsfix.cli.automation import StampedLines
from nsfix.findings import AuditResult, Finding, ObjectRef, Severity, TargetAudit, Waiver
from nsfix.monitoring import (
    CheckResult,
    PerfDatum,
    Range,
    State,
    check_result,
    outcomes,
    previous_successes,
    prometheus_text,
)
from tests.fleet.exposition import FormatError, parse, sample

# The perfdata grammar of the Monitoring Plugins guidelines, one datum:
# 'label'=value[UOM];[warn];[crit];[min];[max]   (trailing empty fields may be left off)
RANGE_TEXT = r"@?(?:(?:~|-?\d+(?:\.\d+)?)?:)?(?:-?\d+(?:\.\d+)?)?"
PERF_DATUM = re.compile(
    r"'(?:[^'=]|'')+'=-?\d+(?:\.\d+)?(?:s|ms|us|%|B|KB|MB|TB|c)?"
    rf"(?:;{RANGE_TEXT}(?:;{RANGE_TEXT}(?:;(?:-?\d+(?:\.\d+)?)?(?:;(?:-?\d+(?:\.\d+)?)?)?)?)?)?"
)
STATUS_LINE = re.compile(r"(OK|WARNING|CRITICAL|UNKNOWN) - ([^|\n]+?)(?: \| (.+))?")


def plugin_output(text: str) -> tuple[str, str, list[str], list[str]]:
    """(state, text, perfdata, long lines) of a plugin's stdout, checked against the grammar."""
    assert text.endswith("\n")
    first, *rest = text[:-1].split("\n")
    match = STATUS_LINE.fullmatch(first)
    assert match is not None, first
    perf = match.group(3).split(" ") if match.group(3) else []
    for datum in perf:
        assert PERF_DATUM.fullmatch(datum), datum
    assert all("|" not in line for line in rest)
    return match.group(1), match.group(2), perf, rest


def finding(severity: Severity, name: str, waived: bool = False) -> Finding:
    return Finding(
        rule=f"R-{severity.value}",
        title="t",
        severity=severity,
        object=ObjectRef("service", name),
        message=f"service/{name} is wrong",
        waiver=Waiver("R", "*", "accepted", "me@example.com", date.max) if waived else None,
    )


def read(url: str, *findings: Finding, appliance: str | None = None) -> TargetAudit:
    return TargetAudit(url, "default", None, AuditResult(findings=findings), appliance=appliance)


def unread(
    url: str, why: str, appliance: str | None = None, partition: str = "default"
) -> TargetAudit:
    return TargetAudit(url, partition, None, None, why, appliance=appliance)


ZERO = Range.parse("0")


@pytest.mark.parametrize(
    ("text", "alerting", "quiet"),
    [
        ("10", [-1, 11], [0, 10, 5.5]),
        ("10:", [9.9, -1], [10, 1e9]),
        ("~:10", [11], [-1e9, 10]),
        ("10:20", [9, 21], [10, 20]),
        ("@10:20", [10, 15, 20], [9, 21]),
        ("0", [1], [0]),
        ("@0", [0], [1]),
    ],
)
def test_threshold_ranges_alert_as_the_guidelines_say(
    text: str, alerting: list[float], quiet: list[float]
) -> None:
    threshold = Range.parse(text)
    assert [threshold.alerts(v) for v in alerting] == [True] * len(alerting)
    assert [threshold.alerts(v) for v in quiet] == [False] * len(quiet)
    assert str(threshold) == text


@pytest.mark.parametrize("text", ["", "x", "5:1", "@", "1:2:3", "10%", "~"])
def test_a_bad_range_is_refused_with_examples(text: str) -> None:
    with pytest.raises(ValueError, match="range"):
        Range.parse(text)


def test_perfdata_quotes_labels_and_leaves_empty_fields() -> None:
    assert str(PerfDatum("critical", 2, crit=ZERO, minimum=0)) == "'critical'=2;;0;0"
    assert str(PerfDatum("time", 1.23456, uom="s", minimum=0)) == "'time'=1.235s;;;0"
    assert str(PerfDatum("it's", 1)) == "'it''s'=1"


def test_findings_map_to_warning_and_critical_and_thresholds_move_them() -> None:
    url = "https://10.0.0.10"
    crit = read(url, finding(Severity.CRITICAL, "a"), finding(Severity.WARNING, "b"))
    warn = read(url, finding(Severity.WARNING, "b"), finding(Severity.INFO, "c"))
    info = read(url, finding(Severity.INFO, "c"), finding(Severity.CRITICAL, "w", waived=True))

    def state(target: TargetAudit, w: str = "0", c: str = "0") -> State:
        result = check_result(
            outcomes([target]), warning=Range.parse(w), critical=Range.parse(c), seconds=0.5
        )
        return result.state

    assert state(crit) is State.CRITICAL
    assert state(warn) is State.WARNING
    assert state(info) is State.OK  # info is OK; a waived critical is accepted, not a problem
    assert state(crit, c="1") is State.WARNING  # one critical tolerated: still a problem
    assert state(crit, w="5", c="1") is State.OK

    result = check_result(outcomes([crit]), warning=ZERO, critical=ZERO, seconds=0.5)
    status, text, perf, details = plugin_output(result.render())
    assert (status, text) == ("CRITICAL", f"{url}: 1 critical, 1 warning, 0 info finding(s)")
    assert "'critical'=1;;0;0" in perf
    assert "'problems'=2;0;;0" in perf
    assert "'unread'=0;;;0;1" in perf
    assert "  CRITICAL [default] R-critical service/a is wrong" in details
    assert int(result.state) == 2


def test_unreachable_is_unknown_and_a_definite_problem_elsewhere_wins() -> None:
    why = "https://10.0.0.11: cannot reach the appliance | port 443 (timed out)\nretried"
    down = unread("https://10.0.0.11", why, appliance="edge-02")
    alone = check_result(outcomes([down]), warning=ZERO, critical=ZERO, seconds=3)
    status, text, perf, details = plugin_output(alone.render())
    assert status == "UNKNOWN"
    assert int(alone.state) == 3
    # The reason is on the status line, with its '|' and line break made harmless.
    assert text.startswith("edge-02: not read: https://10.0.0.11: cannot reach the appliance / ")
    assert "'unread'=1;;;0;1" in perf

    ok = read("https://10.0.0.10", appliance="edge-01")
    fleet = check_result(outcomes([ok, down]), warning=ZERO, critical=ZERO, seconds=3)
    status, text, _, _ = plugin_output(fleet.render())
    assert status == "UNKNOWN"
    assert text == "2 appliances: 0 critical, 0 warning, 0 info finding(s); not read: edge-02"

    bad = read("https://10.0.0.12", finding(Severity.CRITICAL, "a"), appliance="edge-03")
    worse = check_result(outcomes([ok, down, bad]), warning=ZERO, critical=ZERO, seconds=3)
    status, text, _, details = plugin_output(worse.render())
    assert status == "CRITICAL"  # OK < UNKNOWN < WARNING < CRITICAL
    assert text.endswith("on edge-03; not read: edge-02")
    assert any(line.startswith("  UNKNOWN [default] not read:") for line in details)


def test_a_partition_not_read_makes_an_otherwise_clean_appliance_unknown() -> None:
    url = "https://10.0.0.10"
    targets = [read(url), unread(url, "no such partition", partition="p_apps")]
    result = check_result(outcomes(targets), warning=ZERO, critical=ZERO, seconds=1)
    status, text, _, _ = plugin_output(result.render())
    assert status == "UNKNOWN"
    assert text == f"{url}: 0 critical, 0 warning, 0 info finding(s); partitions not read: p_apps"


def test_long_output_is_bounded() -> None:
    many = read("https://x", *(finding(Severity.WARNING, f"s{i}") for i in range(200)))
    result = check_result(outcomes([many]), warning=ZERO, critical=ZERO, seconds=1)
    _, _, _, details = plugin_output(result.render())
    assert len(details) == 50
    assert details[-1].startswith("... 152 more line(s)")


def test_an_unknown_without_perfdata_is_still_one_valid_line() -> None:
    text = CheckResult(State.UNKNOWN, "bad threshold: 'x'", (), ()).render()
    assert plugin_output(text)[:2] == ("UNKNOWN", "bad threshold: 'x'")


# --- Prometheus ---------------------------------------------------------------------------


def test_the_textfile_parses_strictly_and_says_what_a_dashboard_needs() -> None:
    odd = 'dc1 "edge"\\01\nb'  # a quote, a backslash and a newline in a fleet name
    targets = [
        read("https://a", finding(Severity.CRITICAL, "x"), finding(Severity.CRITICAL, "w", True)),
        unread("https://b", "cannot reach", appliance="down-01"),
        read("https://c", finding(Severity.WARNING, "y"), appliance=odd),
        unread("https://c", "no partition", appliance=odd, partition="p_apps"),
    ]
    text = prometheus_text(
        outcomes(targets, {"https://a": 0.25, "down-01": 4.5, odd: 1.0}),
        now=1_800_000_000.0,
        exit_code=8,
        previous={"down-01": 1_799_900_000.0, odd: 1_799_000_000.0},
    )
    families = parse(text)
    for family in families.values():
        assert family.help, family.name
        assert family.type == "gauge", family.name
    assert sample(families, "nsfix_up", appliance="https://a") == 1
    assert sample(families, "nsfix_up", appliance="down-01") == 0
    assert sample(families, "nsfix_up", appliance=odd) == 1
    assert sample(families, "nsfix_findings", appliance="https://a", severity="critical") == 1
    assert sample(families, "nsfix_findings", appliance="https://a", severity="warning") == 0
    assert sample(families, "nsfix_findings_waived", appliance="https://a") == 1
    assert sample(families, "nsfix_findings", appliance=odd, severity="warning") == 1
    # Nothing is known about the findings of an appliance that was not read: no sample, not 0.
    assert sample(families, "nsfix_findings", appliance="down-01", severity="critical") is None
    assert sample(families, "nsfix_read_duration_seconds", appliance="down-01") == 4.5
    # Last success: now when every partition was read, else the previous file's time.
    last = "nsfix_last_success_timestamp_seconds"
    assert sample(families, last, appliance="https://a") == 1_800_000_000.0
    assert sample(families, last, appliance="down-01") == 1_799_900_000.0
    assert sample(families, last, appliance=odd) == 1_799_000_000.0  # a partition not read
    assert sample(families, "nsfix_partitions_unread", appliance=odd) == 1
    assert sample(families, "nsfix_last_run_exit_code") == 8
    assert not math.isnan(sample(families, "nsfix_last_run_timestamp_seconds") or math.nan)
    # What was written can be read back for the next run's carry-over.
    assert previous_successes(text) == {
        "https://a": 1_800_000_000.0,
        "down-01": 1_799_900_000.0,
        odd: 1_799_000_000.0,
    }


def test_an_appliance_never_read_has_no_last_success() -> None:
    text = prometheus_text(
        outcomes([unread("https://b", "down", appliance="new")]), now=1.0, exit_code=1
    )
    families = parse(text)
    assert sample(families, "nsfix_last_success_timestamp_seconds", appliance="new") is None
    assert "nsfix_last_success_timestamp_seconds" not in families  # no empty family either


@pytest.mark.parametrize(
    "broken",
    [
        "m 1",  # no final newline
        "m 1\n\nn 2\n",  # blank line
        'm{a="x\\t"} 1\n',  # unknown escape
        'm{a="x"} 1\nm{a="x"} 2\n',  # duplicate series
        "m 1\nn 1\nm 2\n",  # a family split
        "m 1\n# TYPE m gauge\n",  # TYPE after samples
        "# TYPE m gauge\n# TYPE m gauge\nm 1\n",
        'm{__a="x"} 1\n',
        "m one\n",
        "9m 1\n",
    ],
)
def test_the_strict_reader_rejects_what_the_format_forbids(broken: str) -> None:
    with pytest.raises(FormatError):
        parse(broken)


def test_stamped_lines_keep_each_threads_lines_whole() -> None:
    sink = io.StringIO()
    stream = StampedLines(sink, "RUN", clock=lambda: datetime(2026, 1, 2, 3, 4, 5, 6000, UTC))

    def chatter(name: str) -> None:
        for index in range(200):
            # print() writes the text and the newline in two calls: another thread may come
            # in between, and must not end up in the middle of this line.
            print(f"{name} line {index}", file=stream)

    threads = [threading.Thread(target=chatter, args=(n,)) for n in ("alpha", "beta")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = sink.getvalue().splitlines()
    assert len(lines) == 400
    pattern = re.compile(r"2026-01-02T03:04:05\.006Z \[RUN\] (alpha|beta) line \d+")
    assert all(pattern.fullmatch(line) for line in lines)
