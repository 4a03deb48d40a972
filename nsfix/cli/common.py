"""What every nsfix command shares: the app, messages, errors, reads and session helpers."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console

from nsfix import __version__
from nsfix.cli.options import Source
from nsfix.errors import NsfixError
from nsfix.executor import Refused, Report, RunStatus
from nsfix.exitcodes import ExitCode
from nsfix.inventory import Progress
from nsfix.model import DEFAULT_PARTITION, Snapshot
from nsfix.nitro import NitroClient, NitroError, NitroPlainHttp
from nsfix.operations import Phase, explain_nitro_error, run_audit
from nsfix.planner import Plan
from nsfix.reports.plan import change_text
from nsfix.reports.text import text_lines, visible
from nsfix.settings import SettingsError, Target
from nsfix.shell import (
    PartitionRead,
    connect,
    load_snapshot_file,
    playbooks_for,
    read_partitions,
    require_single,
    write_atomically,
)
from nsfix.signals import stop_signals_interrupt

if TYPE_CHECKING:
    from rich.progress import Progress as Bars

USER_AGENT = f"nsfix/{__version__}"


app = typer.Typer(
    name="nsfix",
    help=(
        "Find NetScaler load balancing that forwards with Direct Server Return but does not keep "
        "the client's source IP, and fix it safely through NITRO."
    ),
    no_args_is_help=True,
    # --install-completion and --show-completion (bash, zsh, fish, PowerShell).
    add_completion=True,
    pretty_exceptions_enable=False,
    # -h is --help, as in most Unix tools (click accepts only --help unless told).
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=(
        "Environment: NSFIX_URL, NSFIX_USER, NSFIX_PASSWORD or NSFIX_PASSWORD_FILE (never a "
        "password on the command line), NSFIX_CA_BUNDLE (a private CA; REQUESTS_CA_BUNDLE and "
        "CURL_CA_BUNDLE are not used), NSFIX_TIMEOUT (seconds per NITRO reply), "
        "NSFIX_JOURNAL_DIR (apply journals), NO_COLOR. "
        "Shell completion: nsfix --install-completion. Guide: docs/guide.md."
    ),
)


log = logging.getLogger("nsfix")


def stdout_console() -> Console:
    return Console(highlight=False)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False)


def say(message: str) -> None:
    """A status line for people on stderr (stdout stays machine-readable); never wrapped, and
    never carrying a control from a name it quotes."""
    # After SIGHUP the terminal may be gone: losing a status line must not stop a rollback.
    with contextlib.suppress(OSError, ValueError):
        print(visible(message), file=sys.stderr, flush=True)


def fail(message: str, code: ExitCode = ExitCode.ERROR) -> NoReturn:
    say(f"nsfix: error: {message}")
    raise typer.Exit(int(code))


@contextmanager
def handled_errors(target: str = "", *, json_result: bool = False) -> Iterator[None]:
    """Turn every expected failure into a message and an exit code.

    With `json_result` (apply and rollback with --json) a result document is printed too, so
    automation always gets one document on stdout, refusals and errors included.
    """
    try:
        with stop_signals_interrupt():
            yield
    except Refused as exc:
        say(f"nsfix: refused: {exc}")
        for detail in exc.details:
            say(f"  {detail}")
        if json_result:
            emit_failure(RunStatus.REFUSED, exc.exit_code, [str(exc), *exc.details])
        raise typer.Exit(int(exc.exit_code)) from None
    except NsfixError as exc:
        # NITRO's own words name the request, not what the operator should check.
        message = (
            explain_nitro_error(exc, target or "appliance")
            if isinstance(exc, NitroError)
            else str(exc)
        )
        if isinstance(exc, NitroPlainHttp) and target and "://" not in target:
            message = (
                f"{target}: https was assumed; the server answered plain HTTP. If it only "
                f"speaks HTTP, say so: --url http://{target} (plain HTTP is accepted only to "
                "loopback, or with --insecure)"
            )
        if json_result:
            emit_failure(RunStatus.ERROR, exc.exit_code, [message])
        fail(message, exc.exit_code)
    except KeyboardInterrupt:
        say("nsfix: interrupted")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def emit_failure(status: RunStatus, code: ExitCode, messages: list[str]) -> None:
    """The result document of a run that wrote nothing (refused) or could not run (error)."""
    document = {
        "schema": "nsfix.result",
        "schema_version": 1,
        "status": status,
        "exit_code": int(code),
        "journal": None,
        "steps": [],
        "messages": messages,
        "requests": [],
    }
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


class VisibleFormatter(logging.Formatter):
    """Log lines whose messages (NITRO's words, object names) carry no control to the terminal;
    a traceback below a line keeps its own line breaks."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.lower = record.levelname.lower()
        return visible(super().formatMessage(record))


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the stderr of the moment: while a progress display runs, that is the display's
    proxy, which prints a line (a retry said) above the bars instead of through them."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(verbose: int) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    handler = StderrHandler()
    # By default only warnings show, in the words of nsfix's other messages; -v adds times.
    layout = (
        "%(asctime)s %(levelname)s %(name)s: %(message)s"
        if verbose
        else "nsfix: %(lower)s: %(message)s"
    )
    handler.setFormatter(VisibleFormatter(layout))
    root = logging.getLogger("nsfix")
    root.handlers[:] = [handler]
    root.setLevel(level)


# The one live display of a command: reading bars and phase spinners share it, as rich
# draws one live display per terminal at a time.
_display: ContextVar[Bars | None] = ContextVar("nsfix_display", default=None)


def watched(quiet: bool) -> bool:
    """Progress is for a person at a terminal: never when stderr is piped, never when asked
    for quiet (machine-readable output)."""
    return not quiet and sys.stderr.isatty()


@contextmanager
def live_display(console: Console) -> Iterator[Bars]:
    """The command's transient progress display on `console`, opened on first use."""
    active = _display.get()
    if active is not None:
        yield active
        return
    from rich.progress import BarColumn, SpinnerColumn, TextColumn
    from rich.progress import Progress as Bars

    with Bars(
        SpinnerColumn(finished_text=" "),
        TextColumn("{task.description}"),
        BarColumn(),
        console=console,
        transient=True,
    ) as bars:
        token = _display.set(bars)
        try:
            yield bars
        finally:
            _display.reset(token)


@contextmanager
def phase(label: str, *, quiet: bool = False, console: Console | None = None) -> Iterator[None]:
    """A transient spinner naming a phase that can take a while ("planning"), on stderr and
    only when a person is watching; `console` shows it elsewhere (tests)."""
    if console is None:
        if _display.get() is None and not watched(quiet):
            yield
            return
        console = stderr_console()
    with live_display(console) as bars:
        task = bars.add_task(visible(label), total=None)
        try:
            yield
        finally:
            bars.remove_task(task)


def phases(quiet: bool) -> Phase:
    """`phase` for the core's optional callbacks, quiet or not as the command decided."""
    return lambda label: phase(label, quiet=quiet)


@contextmanager
def progress_bars(
    enabled: bool, url: str | None = None
) -> Iterator[Callable[[str], Progress | None] | None]:
    """A transient progress bar per partition on stderr, only when a person is watching;
    until the first one, a spinner says which appliance nsfix is waiting for."""
    if not enabled:
        yield None
        return
    with live_display(stderr_console()) as bars:
        waiting = [bars.add_task(visible(f"connecting to {url}"), total=None)] if url else []

        def for_partition(partition: str) -> Progress:
            while waiting:
                bars.remove_task(waiting.pop())
            name = visible(partition)
            task = bars.add_task(f"{name}: reading", total=1)

            def report(label: str, index: int, total: int) -> None:
                description = f"{name}: reading {label:<24}"
                bars.update(task, description=description, completed=index, total=total)

            return report

        yield for_partition


def read(
    target: Target,
    partitions: Sequence[str],
    all_partitions: bool,
    timeout: float,
    quiet: bool,
    keep_raw: bool = False,
) -> list[PartitionRead]:
    with progress_bars(watched(quiet), target.url) as progress:
        return read_partitions(
            target,
            partitions,
            all_partitions=all_partitions,
            timeout=timeout,
            user_agent=USER_AGENT,
            progress=progress,
            keep_raw=keep_raw,
        )


def snapshot_of(source: Source, *, quiet: bool, keep_raw: bool = False) -> Snapshot:
    """One partition's snapshot: read from the appliance, or offline from a records file;
    `keep_raw` keeps the records read on it, for `inventory --raw`."""
    require_single(source.partitions, source.all_partitions)
    if source.from_file:
        if len(source.from_file) > 1:
            raise SettingsError("this command works on one partition: give one --from-file")
        return load_snapshot_file(source.from_file[0], source.partition, keep_raw=keep_raw)
    connection = source.connection
    return read_one(connection.target(), source.partitions, connection.timeout, quiet, keep_raw)


def read_one(
    target: Target,
    partitions: Sequence[str],
    timeout: float,
    quiet: bool,
    keep_raw: bool = False,
) -> Snapshot:
    require_single(partitions, False)
    [result] = read(target, partitions, False, timeout, quiet, keep_raw)
    if result.snapshot is None:
        assert result.error is not None
        raise result.error
    return result.snapshot


def opener(timeout: float) -> Callable[[Target], NitroClient]:
    """How apply and rollback open a session with a target: as nsfix, with this timeout."""
    return lambda target: connect(target, timeout, USER_AGENT)


def write_out(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomically(output, text)
        say(f"wrote {output}")


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_duration(text: str, option: str) -> float:
    """`90s`, `5m`, `1h` → seconds. A bare number is refused: a Junos user reads
    `commit confirmed 5` as minutes, so nsfix never guesses which unit was meant."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not match:
        raise typer.BadParameter(
            f"{text!r} is not a duration: write a number and a unit, e.g. 90s, 5m or 1h",
            param_hint=option,
        )
    number, unit = match.groups()
    if not unit:
        raise typer.BadParameter(
            f"{text!r} has no unit: write {number}s for seconds or {number}m for minutes "
            f"(or {number}h for hours)",
            param_hint=option,
        )
    value = float(number) * DURATION_UNITS[unit]
    if value <= 0:
        raise typer.BadParameter("the duration must be more than zero", param_hint=option)
    return value


def result_document(report: Report, journal: Path | None) -> dict[str, Any]:
    from nsfix.canonical import jsonable

    return {
        "schema": "nsfix.result",
        "schema_version": 1,
        "status": report.status,
        "exit_code": int(report.exit_code),
        "journal": str(journal) if journal else None,
        "steps": [
            {
                "change": step.change.id,
                "object": str(step.change.object),
                "operation": jsonable(step.change.operation),
                "before": dict(step.change.before),
                "after": dict(step.change.after),
                "outcome": step.outcome,
                "detail": step.detail,
            }
            for step in report.steps
        ],
        "messages": report.messages,
        "requests": report.requests,
    }


def emit_report(report: Report, journal: Path | None, as_json: bool, verb: str) -> None:
    if as_json:
        sys.stdout.write(json.dumps(result_document(report, journal), indent=2) + "\n")
        return
    out: list[str] = []
    if report.requests:
        out.append(f"Dry run: the requests {verb} would send, in order (nothing was sent):")
        for request in report.requests:
            out.append("")
            out.extend("  " + line for line in request.splitlines())
        out.append("")
    for step in report.steps:
        detail = f" ({step.detail})" if step.detail else ""
        out.append(
            f"  {step.change.id} {step.change.object} "
            f"[{change_text(step.change, undo=verb == 'rollback')}]: "
            f"{step.outcome}{detail}"
        )
    out.extend(report.messages)
    out.append(f"{verb}: {report.status} (exit {int(report.exit_code)})")
    if journal is not None:
        out.append(f"journal: {journal}")
        if report.status not in {RunStatus.ROLLED_BACK, RunStatus.NOT_CONFIRMED, RunStatus.DRY_RUN}:
            out.append(f"to undo: nsfix rollback {journal}")
    sys.stdout.write(text_lines(out))


def reaudit_with(say: Callable[[str], None]) -> Callable[[Any, Plan], set[str]]:
    """After an apply: read the partition again and list the findings still there, judged by
    the same playbooks the plan was made with."""
    from nsfix.inventory import collect
    from nsfix.planner import finding_key

    def reaudit(client: Any, the_plan: Plan) -> set[str]:
        books = playbooks_for(the_plan.playbooks, say)
        snapshot = collect(
            client,
            url=str(the_plan.target.get("url")),
            partition=str(the_plan.target.get("partition") or DEFAULT_PARTITION),
        )
        return {finding_key(f) for f in run_audit(snapshot, books, (), None).active()}

    return reaudit
