"""For machines that watch: `nsfix check` (a Nagios/Icinga plugin), the Prometheus textfile and
the timestamped run log of the scheduled audit."""

from __future__ import annotations

import io
import logging
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TextIO, TypeVar

import typer

from nsfix import __version__, monitoring
from nsfix import fleet as fleets
from nsfix.cli.common import USER_AGENT, app, configure_logging
from nsfix.cli.options import (
    AllPartitionsOption,
    CaBundleOption,
    Connection,
    Fleet,
    FleetOption,
    InsecureOption,
    InstanceIdOption,
    InstanceNameOption,
    NoBuiltinOption,
    PartitionOption,
    PasswordFileOption,
    PlaybookOption,
    SelectOption,
    ServerFactsOption,
    Source,
    TimeoutOption,
    UrlOption,
    UserOption,
    VerboseOption,
    ViaConsoleOption,
    WaiversOption,
    WorkersOption,
    check_fleet_usage,
)
from nsfix.errors import NsfixError
from nsfix.findings import TargetAudit
from nsfix.operations import audit_appliance
from nsfix.shell import (
    load_playbooks,
    load_server_facts_file,
    load_waivers_file,
    write_atomically,
)

_T = TypeVar("_T")

# --- the run log ----------------------------------------------------------------------------


def utc_stamp(moment: datetime | None = None) -> str:
    """ISO 8601 in UTC with milliseconds: `2026-11-30T06:15:02.123Z`."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_run_id(moment: datetime | None = None) -> str:
    """`20261130T061502Z-3f9a1c`: sorts by time, unique enough to grep one run out of a log."""
    moment = moment or datetime.now(UTC)
    return f"{moment.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


class StampedLines(io.TextIOBase):
    """A text stream that writes whole lines, each prefixed with the UTC time and the run id.

    Lines are put together per thread, so two appliances' messages never share a line.
    """

    def __init__(
        self, inner: TextIO, run_id: str, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.inner = inner
        self.run_id = run_id
        self.clock = clock or (lambda: datetime.now(UTC))
        self.lock = threading.Lock()
        self.pending = threading.local()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.inner.isatty()

    def write(self, text: str) -> int:
        buffered = getattr(self.pending, "text", "") + text
        *lines, rest = buffered.split("\n")
        self.pending.text = rest
        if lines:
            stamp = f"{utc_stamp(self.clock())} [{self.run_id}] "
            with self.lock:
                self.inner.write("".join(f"{stamp}{line}\n" for line in lines))
                self.inner.flush()
        return len(text)

    def flush(self) -> None:
        with self.lock:
            self.inner.flush()


@contextmanager
def run_log(command: str, *, enabled: bool, detail: str = "") -> Iterator[str]:
    """With `enabled`: every stderr line of the run gets a timestamp and the run id, between a
    `run start` and a `run end` line that says the exit code and the time taken."""
    run_id = new_run_id()
    if not enabled:
        yield run_id
        return
    original = sys.stderr
    stamped = StampedLines(original, run_id)
    sys.stderr = stamped
    # -v log lines too: their handler was given the stream before the run started.
    handlers = [
        h
        for h in logging.getLogger("nsfix").handlers
        if isinstance(h, logging.StreamHandler) and h.stream is original
    ]
    for handler in handlers:
        handler.setStream(stamped)
    started = time.monotonic()
    code = 1
    try:
        print(
            f"nsfix: run start: {command}{detail} (nsfix {__version__}, pid {os.getpid()})",
            file=sys.stderr,
        )
        try:
            yield run_id
            code = 0
        except typer.Exit as exit_:
            code = exit_.exit_code
            raise
        except KeyboardInterrupt:
            code = 130
            raise
    finally:
        if getattr(stamped.pending, "text", ""):
            stamped.write("\n")  # end a line left open, so the marker has a line of its own
        print(
            f"nsfix: run end: exit {code} after {time.monotonic() - started:.1f} s",
            file=sys.stderr,
        )
        for handler in handlers:
            handler.setStream(original)
        sys.stderr = original


# --- the Prometheus textfile ----------------------------------------------------------------


def write_prometheus(
    path: Path,
    targets: Sequence[TargetAudit],
    seconds: Mapping[str, float],
    exit_code: int,
) -> None:
    """Write the textfile atomically (node_exporter must never read half of it); the previous
    file gives the last success time of an appliance this run could not read."""
    try:
        previous = monitoring.previous_successes(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        previous = {}
    text = monitoring.prometheus_text(
        monitoring.outcomes(targets, seconds),
        now=time.time(),
        exit_code=exit_code,
        previous=previous,
    )
    write_atomically(path, text)


def run_seconds(runs: Sequence[fleets.ApplianceRun]) -> dict[str, float]:
    return {run.appliance.name: run.seconds for run in runs}


# --- nsfix check ----------------------------------------------------------------------------

WarningOption = Annotated[
    str,
    typer.Option(
        "--warning",
        "-w",
        help="WARNING when the number of warning and critical findings is outside this range "
        "(plugin range format: 0, 5, 10:20, @1:3).",
    ),
]
CriticalOption = Annotated[
    str,
    typer.Option(
        "--critical",
        "-c",
        help="CRITICAL when the number of critical findings is outside this range.",
    ),
]


TimeLimitOption = Annotated[
    float,
    typer.Option(
        "--time-limit",
        "-t",
        min=1.0,
        help="Answer UNKNOWN after this many seconds in all; keep it below the monitoring "
        "system's own check timeout (which reports CRITICAL).",
    ),
]


class Unknown(Exception):
    """The check could not say OK, WARNING or CRITICAL: exit 3 with this message."""


class OutOfTime(Unknown):
    """The audit did not finish within --time-limit."""


def within(limit: float, work: Callable[[], _T]) -> _T:
    """`work()`, or `OutOfTime` when it takes longer than `limit` seconds (it runs on, in a
    daemon thread, until the process exits)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # handed to the caller's thread as it is
            box["error"] = exc

    thread = threading.Thread(target=run, name="nsfix-check", daemon=True)
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        raise OutOfTime(f"no result within {limit:g} s (--time-limit); appliances still reading")
    if "error" in box:
        raise box["error"]
    value: _T = box["value"]
    return value


@app.command()
def check(
    ctx: typer.Context,
    url: UrlOption = None,
    user: UserOption = None,
    password_file: PasswordFileOption = None,
    ca_bundle: CaBundleOption = None,
    insecure: InsecureOption = False,
    via_console: ViaConsoleOption = None,
    instance_name: InstanceNameOption = None,
    instance_id: InstanceIdOption = None,
    partition: PartitionOption = None,
    all_partitions: AllPartitionsOption = False,
    fleet: FleetOption = None,
    select: SelectOption = None,
    workers: WorkersOption = 4,
    playbook: PlaybookOption = None,
    no_builtin_playbook: NoBuiltinOption = False,
    waivers: WaiversOption = None,
    server_facts: ServerFactsOption = None,
    warning: WarningOption = "0",
    critical: CriticalOption = "0",
    timeout: TimeoutOption = 10.0,
    time_limit: TimeLimitOption = 50.0,
    verbose: VerboseOption = 0,
) -> None:
    """Nagios/Icinga plugin: one status line with performance data, exit 0 OK, 1 WARNING,
    2 CRITICAL, 3 UNKNOWN (an appliance not read: unreachable, login refused, timeout).

    By default any critical finding is CRITICAL and any warning finding WARNING.
    """
    started = time.monotonic()
    configure_logging(verbose)
    try:
        try:
            warn_range = monitoring.Range.parse(warning)
            crit_range = monitoring.Range.parse(critical)
        except ValueError as exc:
            raise Unknown(f"bad threshold: {exc}") from None
        connection = Connection(
            url,
            user,
            password_file,
            ca_bundle,
            insecure,
            timeout,
            via_console,
            instance_name,
            instance_id,
        )
        source = Source(connection, tuple(partition or ()), all_partitions)
        appliances = Fleet(fleet, tuple(select or ()), workers)
        try:
            check_fleet_usage(
                ctx,
                appliances,
                {**source.appliance_options(), "--all-partitions": all_partitions},
            )
        except typer.BadParameter as exc:
            raise Unknown(exc.format_message()) from None
        targets, seconds = within(
            time_limit,
            lambda: _audit_for_check(
                source, appliances, timeout, playbook, no_builtin_playbook, waivers, server_facts
            ),
        )
        result = monitoring.check_result(
            monitoring.outcomes(targets, seconds),
            warning=warn_range,
            critical=crit_range,
            seconds=time.monotonic() - started,
        )
    except OutOfTime as exc:
        sys.stdout.write(
            monitoring.CheckResult(monitoring.State.UNKNOWN, str(exc), (), ()).render()
        )
        sys.stdout.flush()
        # The threads still waiting for an appliance would keep the process alive, and the
        # monitoring system needs its answer now; their sessions expire on the appliance.
        os._exit(int(monitoring.State.UNKNOWN))
    except (Unknown, NsfixError) as exc:
        result = monitoring.CheckResult(monitoring.State.UNKNOWN, str(exc), (), ())
    except KeyboardInterrupt:
        result = monitoring.CheckResult(monitoring.State.UNKNOWN, "interrupted", (), ())
    sys.stdout.write(result.render())
    raise typer.Exit(int(result.state))


def _audit_for_check(
    source: Source,
    appliances: Fleet,
    timeout: float,
    playbook: list[Path] | None,
    no_builtin_playbook: bool,
    waivers: Path | None,
    server_facts: Path | None,
) -> tuple[list[TargetAudit], dict[str, float]]:
    """Audit one appliance or the fleet's; the result says everything (only a fleet file's
    warnings, such as a password file others can read, go to stderr)."""
    books = load_playbooks(playbook or [], builtin=not no_builtin_playbook)
    waiver_list = load_waivers_file(waivers)
    facts = load_server_facts_file(server_facts)
    quiet: Callable[[str], None] = lambda message: None  # noqa: E731 - everything is in the result
    if appliances.file is not None:
        from nsfix.cli.look import audit_fleet

        runs = audit_fleet(appliances, books, waiver_list, facts, timeout)
        return fleets.fleet_targets(runs), run_seconds(runs)
    # A plugin never prompts: the monitoring system would hang.
    target = source.connection.target(interactive=False, warn=quiet)
    started = time.monotonic()
    targets = audit_appliance(
        target,
        source.partitions,
        source.all_partitions,
        timeout=timeout,
        user_agent=USER_AGENT,
        playbooks=books,
        waivers=waiver_list,
        facts=facts,
        say=quiet,
    )
    return targets, {target.url: time.monotonic() - started}
