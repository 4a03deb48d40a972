"""Audit results for monitoring systems: a Nagios/Icinga plugin result and a Prometheus textfile.

Pure functions over `TargetAudit`s; the CLI (`nsfix check`, `audit --prometheus`) does the I/O.

The plugin output follows the Monitoring Plugins development guidelines: one status line
`STATE - text | perfdata`, optional long output lines after it, exit 0/1/2/3, thresholds in
their range format (`10`, `10:`, `~:10`, `10:20`, `@10:20`) and perfdata as
`'label'=value[UOM];[warn];[crit];[min];[max]`.

The textfile is in the Prometheus text exposition format (0.0.4) that node_exporter's textfile
collector reads: `# HELP` and `# TYPE` before each family's samples, one family's samples
together, label values escaped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Final

from nsfix.findings import Severity, TargetAudit

# --- one appliance's outcome ----------------------------------------------------------------


@dataclass
class ApplianceOutcome:
    """What one run learnt about one appliance, over all of its partitions."""

    name: str
    """The fleet file's name, or the URL outside a fleet."""
    url: str
    read: list[str] = field(default_factory=list)
    unread: dict[str, str] = field(default_factory=dict)
    """Partition → why it could not be read."""
    counts: dict[str, int] = field(
        default_factory=lambda: {"critical": 0, "warning": 0, "info": 0, "waived": 0}
    )
    """Active findings per severity, and waived ones, over the partitions read."""
    findings: list[tuple[str, str, str, str]] = field(default_factory=list)
    """(severity, partition, rule, message) of each active finding, worst first."""
    seconds: float | None = None

    @property
    def up(self) -> bool:
        """At least one partition was read."""
        return bool(self.read)

    @property
    def complete(self) -> bool:
        """Every partition was read."""
        return bool(self.read) and not self.unread


def outcomes(
    targets: Sequence[TargetAudit], seconds: Mapping[str, float] | None = None
) -> list[ApplianceOutcome]:
    """Group partition audits by appliance (first-seen order); `seconds` by appliance name."""
    out: dict[str, ApplianceOutcome] = {}
    for target in targets:
        name = target.appliance or target.url
        entry = out.setdefault(name, ApplianceOutcome(name, target.url))
        if target.result is None:
            entry.unread[target.partition] = target.error or "not read"
            continue
        entry.read.append(target.partition)
        for finding in target.result.findings:
            entry.counts["waived" if finding.waived else finding.severity.value] += 1
        for finding in sorted(target.result.active(), key=lambda f: -f.severity.rank):
            entry.findings.append(
                (
                    finding.severity.value,
                    target.partition,
                    finding.rule,
                    finding.message,
                )
            )
    for name, entry in out.items():
        if seconds is not None and name in seconds:
            entry.seconds = seconds[name]
    return list(out.values())


# --- the Nagios/Icinga plugin ---------------------------------------------------------------


class State(IntEnum):
    """Plugin states and their exit codes (Monitoring Plugins guidelines)."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3

    @property
    def rank(self) -> int:
        """Worse is higher: OK < UNKNOWN < WARNING < CRITICAL (the plugins' max_state_alt), so a
        definite problem is never hidden behind "could not tell" elsewhere in a fleet."""
        return {State.OK: 0, State.UNKNOWN: 1, State.WARNING: 2, State.CRITICAL: 3}[self]


def worst(states: Sequence[State]) -> State:
    return max(states, key=lambda s: s.rank, default=State.OK)


_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_RANGE: Final = re.compile(rf"(@)?(?:(~|{_NUMBER})?:)?({_NUMBER})?")


@dataclass(frozen=True)
class Range:
    """A threshold range of the guidelines: alert outside start..end (inclusive), or inside
    it when written with a leading `@`."""

    text: str
    start: float
    end: float
    inside: bool

    @classmethod
    def parse(cls, text: str) -> Range:
        """`10` (0..10), `10:` (10..inf), `~:10` (-inf..10), `10:20`, `@10:20` (alert inside)."""
        written = text.strip()
        match = _RANGE.fullmatch(written)
        if not written or match is None or written in {"@", ":", "@:"}:
            raise ValueError(
                f"{text!r} is not a threshold range (e.g. 0, 5, 10:, ~:10, 10:20, @10:20)"
            )
        at, low, high = match.groups()
        if ":" in written:
            start = -math.inf if low == "~" else float(low) if low else 0.0
            end = float(high) if high else math.inf
        else:
            start, end = 0.0, float(high) if high else math.inf
        if start > end:
            raise ValueError(f"{text!r}: the start of a range must not be above its end")
        return cls(written, start, end, bool(at))

    def alerts(self, value: float) -> bool:
        within = self.start <= value <= self.end
        return within if self.inside else not within

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class PerfDatum:
    label: str
    value: float
    uom: str = ""
    warn: Range | None = None
    crit: Range | None = None
    minimum: float | None = None
    maximum: float | None = None

    def __str__(self) -> str:
        label = "'" + self.label.replace("'", "''") + "'"
        fields = [
            f"{_number(self.value)}{self.uom}",
            str(self.warn or ""),
            str(self.crit or ""),
            _number(self.minimum) if self.minimum is not None else "",
            _number(self.maximum) if self.maximum is not None else "",
        ]
        return f"{label}={';'.join(fields).rstrip(';')}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"


@dataclass(frozen=True)
class CheckResult:
    state: State
    summary: str
    perfdata: tuple[PerfDatum, ...]
    details: tuple[str, ...]

    def render(self) -> str:
        """The plugin's stdout: status line with perfdata, then the long output lines."""
        line = f"{self.state.name} - {_one_line(self.summary)}"
        if self.perfdata:
            line += " | " + " ".join(str(p) for p in self.perfdata)
        return "\n".join([line, *(_one_line(d) for d in self.details)]) + "\n"


def _one_line(text: str) -> str:
    # '|' starts the perfdata and a line break ends the status line: neither may come from a
    # NITRO message or an object name.
    return re.sub(r"[\r\n\t]+", " ", text).replace("|", "/")


DETAIL_LIMIT: Final = 50
"""Long output lines at most: Nagios keeps 8 KiB of plugin output by default."""


def check_result(
    appliances: Sequence[ApplianceOutcome],
    *,
    warning: Range,
    critical: Range,
    seconds: float,
) -> CheckResult:
    """The plugin result of an audit.

    CRITICAL when the number of critical findings is outside `critical`; WARNING when the number
    of findings at warning or critical severity is outside `warning`; UNKNOWN for an appliance
    or partition that could not be read (unreachable, login refused, timeout): its compliance is
    not known, and whether it is up is the host check's business. The worst state wins.
    """
    total = {"critical": 0, "warning": 0, "info": 0, "waived": 0}
    for appliance in appliances:
        for key, value in appliance.counts.items():
            total[key] += value
    problems = total["critical"] + total["warning"]
    unread = [a for a in appliances if not a.complete]
    states = [State.UNKNOWN] if unread else []
    if critical.alerts(total["critical"]):
        states.append(State.CRITICAL)
    if warning.alerts(problems):
        states.append(State.WARNING)
    state = worst(states)
    summary = _summary(appliances, total, unread)
    perfdata = (
        PerfDatum("critical", total["critical"], crit=critical, minimum=0),
        PerfDatum("problems", problems, warn=warning, minimum=0),
        PerfDatum("warning", total["warning"], minimum=0),
        PerfDatum("info", total["info"], minimum=0),
        PerfDatum("waived", total["waived"], minimum=0),
        PerfDatum("unread", len(unread), minimum=0, maximum=len(appliances)),
        PerfDatum("time", round(seconds, 3), uom="s", minimum=0),
    )
    return CheckResult(state, summary, perfdata, tuple(_details(appliances)))


def _summary(
    appliances: Sequence[ApplianceOutcome],
    total: Mapping[str, int],
    unread: Sequence[ApplianceOutcome],
) -> str:
    counts = f"{total['critical']} critical, {total['warning']} warning, {total['info']} info"
    if len(appliances) == 1:
        (only,) = appliances
        if not only.up:
            return f"{only.name}: not read: {next(iter(only.unread.values()))}"
        text = f"{only.name}: {counts} finding(s)"
        if only.unread:
            text += f"; partitions not read: {', '.join(sorted(only.unread))}"
        return text
    text = f"{len(appliances)} appliances: {counts} finding(s)"
    failing = [a.name for a in appliances if a.counts["critical"] + a.counts["warning"]]
    if failing:
        text += f" on {', '.join(failing)}"
    if unread:
        text += f"; not read: {', '.join(a.name for a in unread)}"
    return text


def _details(appliances: Sequence[ApplianceOutcome]) -> list[str]:
    lines: list[str] = []
    for appliance in appliances:
        c = appliance.counts
        lines.append(
            f"{appliance.name}: {c['critical']} critical, {c['warning']} warning, "
            f"{c['info']} info, {c['waived']} waived"
            + (f" ({appliance.seconds:.1f} s)" if appliance.seconds is not None else "")
        )
        for partition, why in appliance.unread.items():
            lines.append(f"  UNKNOWN [{partition}] not read: {why}")
        for severity, partition, rule, what in appliance.findings:
            if severity != Severity.INFO.value:
                lines.append(f"  {severity.upper()} [{partition}] {rule} {what}")
    if len(lines) > DETAIL_LIMIT:
        more = len(lines) - DETAIL_LIMIT + 1
        lines = [*lines[: DETAIL_LIMIT - 1], f"... {more} more line(s): nsfix audit has them all"]
    return lines


# --- the Prometheus textfile ----------------------------------------------------------------

_FAMILIES: Final = (
    ("nsfix_up", "1 if the last run read the appliance (at least one partition), 0 if not."),
    (
        "nsfix_findings",
        "Active findings by severity, over the partitions the last run read (waived ones not "
        "counted); absent for an appliance that could not be read.",
    ),
    ("nsfix_findings_waived", "Findings a waiver hides, over the partitions the last run read."),
    ("nsfix_partitions_unread", "Partitions of the appliance the last run could not read."),
    ("nsfix_read_duration_seconds", "Seconds the last run took to read and audit the appliance."),
    (
        "nsfix_last_success_timestamp_seconds",
        "Unix time of the last run that read every partition of the appliance (carried over "
        "from the previous file while it cannot be read).",
    ),
    ("nsfix_last_run_timestamp_seconds", "Unix time the last run ended."),
    ("nsfix_last_run_exit_code", "Exit code of the last nsfix audit run (README: Exit codes)."),
)
_SUCCESS_LINE: Final = re.compile(
    r'^nsfix_last_success_timestamp_seconds\{appliance="((?:[^"\\]|\\.)*)"\} (\S+)$', re.M
)


def label_value(text: str) -> str:
    """A label value escaped as the exposition format requires: backslash, quote, newline."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), text)


def previous_successes(text: str) -> dict[str, float]:
    """Appliance → last success time, from a textfile this module wrote earlier."""
    out: dict[str, float] = {}
    for match in _SUCCESS_LINE.finditer(text):
        try:
            out[_unescape(match.group(1))] = float(match.group(2))
        except ValueError:
            continue
    return out


def prometheus_text(
    appliances: Sequence[ApplianceOutcome],
    *,
    now: float,
    exit_code: int,
    previous: Mapping[str, float] | None = None,
) -> str:
    """The textfile of one run. `previous` (from `previous_successes`) keeps the last success
    time of an appliance this run could not read, so `time() - ...` keeps growing."""
    samples: dict[str, list[str]] = {name: [] for name, _ in _FAMILIES}
    for appliance in appliances:
        label = f'appliance="{label_value(appliance.name)}"'
        samples["nsfix_up"].append(f"nsfix_up{{{label}}} {int(appliance.up)}")
        if appliance.up:
            for severity in Severity:
                samples["nsfix_findings"].append(
                    f'nsfix_findings{{{label},severity="{severity.value}"}} '
                    f"{appliance.counts[severity.value]}"
                )
            samples["nsfix_findings_waived"].append(
                f"nsfix_findings_waived{{{label}}} {appliance.counts['waived']}"
            )
        samples["nsfix_partitions_unread"].append(
            f"nsfix_partitions_unread{{{label}}} {len(appliance.unread)}"
        )
        if appliance.seconds is not None:
            samples["nsfix_read_duration_seconds"].append(
                f"nsfix_read_duration_seconds{{{label}}} {appliance.seconds:.3f}"
            )
        success = now if appliance.complete else (previous or {}).get(appliance.name)
        if success is not None:
            samples["nsfix_last_success_timestamp_seconds"].append(
                f"nsfix_last_success_timestamp_seconds{{{label}}} {success:.3f}"
            )
    samples["nsfix_last_run_timestamp_seconds"].append(
        f"nsfix_last_run_timestamp_seconds {now:.3f}"
    )
    samples["nsfix_last_run_exit_code"].append(f"nsfix_last_run_exit_code {exit_code}")
    lines: list[str] = []
    for name, help_text in _FAMILIES:
        if not samples[name]:
            continue
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")
        lines.extend(samples[name])
    return "\n".join(lines) + "\n"
