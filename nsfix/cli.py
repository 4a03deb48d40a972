"""The `nsfix` command line: a thin shell that reads settings, calls the core and renders results.

Every failure ends in one clear line on stderr and a documented exit code (`nsfix.exitcodes`),
never a traceback.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from nsfix import __version__
from nsfix.apply import run_apply, run_confirm, run_rollback
from nsfix.demo import DEMO_PASSWORD, DEMO_USER, MockUnavailable, running_mock, scenario_path
from nsfix.executor import ApplyOptions, Refused, Report
from nsfix.exitcodes import ExitCode
from nsfix.findings import Severity, TargetAudit, audit_exit_code
from nsfix.flow import render_trace, trace_vserver
from nsfix.inventory import Progress
from nsfix.journal import JournalError
from nsfix.model import DEFAULT_PARTITION, Snapshot
from nsfix.nitro import NitroError
from nsfix.operations import audit_appliance, explain_nitro_error, make_plan, run_audit
from nsfix.planfile import PlanFileError, plan_document
from nsfix.planner import Plan, PlanOptions, apply_in_memory
from nsfix.reports import audit as audit_report
from nsfix.reports.inventory import inventory_document, render_rich, render_text
from nsfix.reports.plan import change_text, render_plan_text
from nsfix.rules.playbook import Playbook
from nsfix.serverfacts import ServerFacts
from nsfix.settings import SettingsError, Target, resolve_target
from nsfix.shell import (
    InputError,
    PartitionRead,
    load_playbooks,
    load_server_facts_file,
    load_snapshot_file,
    load_waivers_file,
    open_client,
    playbooks_for,
    read_partitions,
    require_single,
    write_atomically,
)

USER_AGENT = f"nsfix/{__version__}"

app = typer.Typer(
    name="nsfix",
    help=(
        "Find NetScaler load balancing that forwards with Direct Server Return but does not keep "
        "the client's source IP, and fix it safely through NITRO."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

log = logging.getLogger("nsfix")


def stdout_console() -> Console:
    return Console(highlight=False)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False)


def say(message: str) -> None:
    """A status line for people on stderr (stdout stays machine-readable); never wrapped."""
    print(message, file=sys.stderr, flush=True)


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
        yield
    except Refused as exc:
        say(f"nsfix: refused: {exc}")
        for detail in exc.details:
            say(f"  {detail}")
        if json_result:
            emit_failure("refused", ExitCode.REFUSED, [str(exc), *exc.details])
        raise typer.Exit(int(ExitCode.REFUSED)) from None
    except (SettingsError, InputError, MockUnavailable, PlanFileError, JournalError) as exc:
        if json_result:
            emit_failure("error", ExitCode.ERROR, [str(exc)])
        fail(str(exc))
    except NitroError as exc:
        message = explain_nitro_error(exc, target or "appliance")
        if json_result:
            emit_failure("error", ExitCode.ERROR, [message])
        fail(message)
    except KeyboardInterrupt:
        say("nsfix: interrupted")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def emit_failure(status: str, code: ExitCode, messages: list[str]) -> None:
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


def configure_logging(verbose: int) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("nsfix")
    root.handlers[:] = [handler]
    root.setLevel(level)


@contextmanager
def progress_bars(enabled: bool) -> Iterator[Callable[[str], Progress | None] | None]:
    """A transient progress bar per partition on stderr, only when a person is watching."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, TextColumn
    from rich.progress import Progress as Bars

    with Bars(
        TextColumn("{task.fields[partition]}: reading {task.description:<24}"),
        BarColumn(),
        console=stderr_console(),
        transient=True,
    ) as bars:

        def for_partition(partition: str) -> Progress:
            task = bars.add_task("", total=1, partition=partition)

            def report(label: str, index: int, total: int) -> None:
                bars.update(task, description=label, completed=index, total=total)

            return report

        yield for_partition


def read(
    target: Target, partitions: Sequence[str], all_partitions: bool, timeout: float, quiet: bool
) -> list[PartitionRead]:
    show = sys.stderr.isatty() and not quiet
    with progress_bars(show) as progress:
        return read_partitions(
            target,
            partitions,
            all_partitions=all_partitions,
            timeout=timeout,
            user_agent=USER_AGENT,
            progress=progress,
        )


def snapshot_of(
    from_file: Path | None,
    url: str | None,
    user: str | None,
    password_file: Path | None,
    ca_bundle: Path | None,
    insecure: bool,
    partitions: Sequence[str],
    timeout: float,
    quiet: bool,
) -> Snapshot:
    """One partition's snapshot: read from the appliance, or offline from a records file."""
    require_single(partitions, False)
    if from_file is not None:
        return load_snapshot_file(from_file, partitions[0] if partitions else None)
    target = target_from(url, user, password_file, ca_bundle, insecure)
    return read_one(target, partitions, timeout, quiet)


def read_one(target: Target, partitions: Sequence[str], timeout: float, quiet: bool) -> Snapshot:
    require_single(partitions, False)
    [result] = read(target, partitions, False, timeout, quiet)
    if result.snapshot is None:
        assert result.error is not None
        raise result.error
    return result.snapshot


def write_out(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomically(output, text)
        say(f"wrote {output}")


# --- options shared by every command that talks to an appliance ---------------------------

UrlOption = Annotated[
    str | None,
    typer.Option("--url", envvar="NSFIX_URL", help="Appliance URL (https://NSIP); or NSFIX_URL."),
]
UserOption = Annotated[
    str | None, typer.Option("--user", envvar="NSFIX_USER", help="NITRO user; or NSFIX_USER.")
]
PasswordFileOption = Annotated[
    Path | None,
    typer.Option(
        "--password-file",
        help="File whose first line is the password (else NSFIX_PASSWORD, else a prompt).",
        dir_okay=False,
    ),
]
CaBundleOption = Annotated[
    Path | None,
    typer.Option("--ca-bundle", help="CA bundle to verify the appliance's certificate."),
]
InsecureOption = Annotated[
    bool, typer.Option("--insecure", help="Do not verify TLS certificates (says so loudly).")
]
PartitionOption = Annotated[
    list[str] | None,
    typer.Option("--partition", help="Admin partition to read (repeatable; default: default)."),
]
AllPartitionsOption = Annotated[
    bool, typer.Option("--all-partitions", help="Every partition the appliance has.")
]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", min=1.0, help="Seconds to wait for each NITRO reply.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
VerboseOption = Annotated[
    int, typer.Option("--verbose", "-v", count=True, help="More log output on stderr (-vv: debug).")
]
PlaybookOption = Annotated[
    list[Path] | None,
    typer.Option("--playbook", help="Extra playbook YAML (repeatable).", dir_okay=False),
]
NoBuiltinOption = Annotated[
    bool, typer.Option("--no-builtin-playbook", help="Do not use the shipped dsr-source-ip rules.")
]
WaiversOption = Annotated[
    Path | None, typer.Option("--waivers", help="Waiver file (YAML).", dir_okay=False)
]
ServerFactsOption = Annotated[
    Path | None,
    typer.Option(
        "--server-facts",
        help="YAML of what you know about backends (loopback VIPs, ARP, gateway).",
        dir_okay=False,
    ),
]


FromFileOption = Annotated[
    Path | None,
    typer.Option(
        "--from-file",
        help="Work offline from NITRO records saved by 'nsfix inventory --raw' (no appliance).",
        dir_okay=False,
    ),
]


class Format(StrEnum):
    text = "text"
    json = "json"
    md = "md"
    html = "html"
    junit = "junit"
    sarif = "sarif"


def target_from(
    url: str | None,
    user: str | None,
    password_file: Path | None,
    ca_bundle: Path | None,
    insecure: bool,
) -> Target:
    return resolve_target(
        url=url,
        username=user,
        password_file=password_file,
        ca_bundle=ca_bundle,
        insecure=insecure,
    )


# --- the core, wired -----------------------------------------------------------------------


# --- commands ----------------------------------------------------------------------------


def emit_inventory(snapshot: Snapshot, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(inventory_document(snapshot), indent=2) + "\n")
    elif sys.stdout.isatty():
        console = stdout_console()
        for renderable in render_rich(snapshot):
            console.print(renderable)
    else:
        sys.stdout.write(render_text(snapshot))


@app.command()
def inventory(
    url: UrlOption = None,
    user: UserOption = None,
    password_file: PasswordFileOption = None,
    ca_bundle: CaBundleOption = None,
    insecure: InsecureOption = False,
    partition: PartitionOption = None,
    from_file: FromFileOption = None,
    raw: Annotated[
        Path | None,
        typer.Option(
            "--raw",
            help="Also save the NITRO records read, for offline work with --from-file.",
            dir_okay=False,
        ),
    ] = None,
    timeout: TimeoutOption = 60.0,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """List virtual servers (DSR first), their services, groups and members, SNIPs and modes."""
    from nsfix.inventory import raw_document

    configure_logging(verbose)
    with handled_errors(url or os.environ.get("NSFIX_URL", "")):
        snapshot = snapshot_of(
            from_file,
            url,
            user,
            password_file,
            ca_bundle,
            insecure,
            partition or [],
            timeout,
            quiet=as_json,
        )
        if raw is not None:
            write_atomically(raw, json.dumps(raw_document(snapshot), indent=1) + "\n")
            say(f"NITRO records saved to {raw} (use with --from-file)")
        emit_inventory(snapshot, as_json)


FleetOption = Annotated[
    Path | None,
    typer.Option(
        "--fleet", help="Fleet file (YAML or TOML) of appliances to audit.", dir_okay=False
    ),
]
SelectOption = Annotated[
    list[str] | None,
    typer.Option("--select", help="Only fleet appliances with this tag (repeatable)."),
]
WorkersOption = Annotated[
    int, typer.Option("--workers", min=1, max=64, help="Appliances audited at once (fleet).")
]


def check_fleet_usage(
    ctx: typer.Context,
    fleet: Path | None,
    select: Sequence[str] | None,
    single: Mapping[str, object],
) -> None:
    """--fleet brings its own targets; mixing it with single-appliance options is a usage error.

    Only options given on the command line clash: NSFIX_URL or NSFIX_USER set in a cron job's
    environment are simply not used for a fleet.
    """
    if fleet is None:
        if select:
            raise typer.BadParameter("--select needs --fleet", param_hint="--select")
        return
    clash = [
        name
        for name, value in single.items()
        if value and not from_environment(ctx, name.lstrip("-").replace("-", "_"))
    ]
    if clash:
        raise typer.BadParameter(
            f"{', '.join(clash)} cannot be combined with --fleet (the fleet file says it)",
            param_hint="--fleet",
        )


def from_environment(ctx: typer.Context, parameter: str) -> bool:
    source = ctx.get_parameter_source(parameter)
    return source is not None and source.name == "ENVIRONMENT"


@app.command()
def audit(
    ctx: typer.Context,
    url: UrlOption = None,
    user: UserOption = None,
    password_file: PasswordFileOption = None,
    ca_bundle: CaBundleOption = None,
    insecure: InsecureOption = False,
    partition: PartitionOption = None,
    all_partitions: AllPartitionsOption = False,
    from_file: FromFileOption = None,
    fleet: FleetOption = None,
    select: SelectOption = None,
    workers: WorkersOption = 4,
    playbook: PlaybookOption = None,
    no_builtin_playbook: NoBuiltinOption = False,
    waivers: WaiversOption = None,
    server_facts: ServerFactsOption = None,
    fail_on: Annotated[
        Severity, typer.Option("--fail-on", help="Lowest severity that makes the exit code 2.")
    ] = Severity.WARNING,
    output_format: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.text,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
    ] = None,
    since: Annotated[
        Path | None,
        typer.Option(
            "--since",
            help="State file of the previous run: report new, resolved and unchanged findings "
            "(and write the new state).",
            dir_okay=False,
        ),
    ] = None,
    timeout: TimeoutOption = 60.0,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """Check DSR virtual servers and their backends against the playbooks.

    Exit 0 compliant, 1 could not run, 2 findings at or above --fail-on, 3 partial.
    """
    from nsfix import fleet as fleets
    from nsfix import since as history

    configure_logging(verbose)
    fmt = Format.json if as_json else output_format
    check_fleet_usage(
        ctx,
        fleet,
        select,
        {
            "--url": url,
            "--user": user,
            "--password-file": password_file,
            "--ca-bundle": ca_bundle,
            "--insecure": insecure,
            "--partition": partition,
            "--from-file": from_file,
            "--all-partitions": all_partitions,
        },
    )
    with handled_errors(url or os.environ.get("NSFIX_URL", "")):
        books = load_playbooks(playbook or [], builtin=not no_builtin_playbook)
        waiver_list = load_waivers_file(waivers)
        facts = load_server_facts_file(server_facts)
        # Read the previous state before any traffic: a corrupt file fails fast.
        previous = history.read_state(since) if since is not None else None
        quiet = fmt is not Format.text or bool(output)
        runs: list[fleets.ApplianceRun] = []
        if fleet is not None:
            appliances = fleets.select(fleets.load_fleet_file(fleet), select or [])
            audit_one = fleets.audit_one_factory(
                books,
                waiver_list,
                facts,
                timeout=timeout,
                user_agent=USER_AGENT,
                say=say,
                environ=os.environ,
            )
            runs = fleets.run_fleet(
                appliances,
                audit_one,
                workers=workers,
                # One line per appliance on stderr: the job's log says who was reached.
                on_done=lambda run: say(fleets.describe_run(run)),
            )
            targets = fleets.fleet_targets(runs)
        elif from_file is not None:
            snapshot = load_snapshot_file(from_file, partition[0] if partition else None)
            result = run_audit(snapshot, books, waiver_list, facts)
            targets = [
                TargetAudit(snapshot.appliance.url, snapshot.appliance.partition, snapshot, result)
            ]
        else:
            target = target_from(url, user, password_file, ca_bundle, insecure)
            with progress_bars(sys.stderr.isatty() and not quiet) as progress:
                targets = audit_appliance(
                    target,
                    partition or [],
                    all_partitions,
                    timeout=timeout,
                    user_agent=USER_AGENT,
                    playbooks=books,
                    waivers=waiver_list,
                    facts=facts,
                    say=say,
                    progress=progress,
                )
        now = datetime.now(UTC)
        change = None
        state = None
        if since is not None:
            state = history.state_document(targets, now, previous)
            change = history.compare(previous, state)
        emit_audit(targets, fail_on, fmt, output, books, runs=runs, change=change)
        if since is not None and state is not None:
            # After the report: a failed report write leaves the previous state in place.
            history.write_state(since, state)
        raise typer.Exit(int(audit_exit_code(targets, fail_on)))


def emit_audit(
    targets: Sequence[TargetAudit],
    fail_on: Severity,
    fmt: Format,
    output: Path | None,
    books: Sequence[Playbook] = (),
    *,
    runs: Sequence[Any] = (),
    change: Any = None,
) -> None:
    from nsfix import fleet as fleets
    from nsfix import since as history

    if fmt is Format.json:
        document = audit_report.audit_document(
            targets, fail_on=fail_on, generated_at=datetime.now(UTC)
        )
        if runs:
            document["fleet"] = fleets.fleet_document(runs)
        if change is not None:
            document["since"] = history.change_document(change)
        write_out(json.dumps(document, indent=2) + "\n", output)
        return
    if fmt is not Format.text:
        write_out(render_audit_format(fmt, targets, fail_on, books), output)
        if change is not None:
            say(history.render_change_text(change).splitlines()[0])
        return
    extra = history.render_change_text(change) if change is not None else ""
    if output is None and sys.stdout.isatty():
        console = stdout_console()
        for renderable in audit_report.render_rich(targets, fail_on):
            console.print(renderable)
        if extra:
            sys.stdout.write(extra)
    else:
        write_out(audit_report.render_text(targets, fail_on) + extra, output)


def render_audit_format(
    fmt: Format, targets: Sequence[TargetAudit], fail_on: Severity, books: Sequence[Playbook]
) -> str:
    from nsfix.reports import audit_doc, junit, sarif

    if fmt is Format.md:
        return audit_doc.render_audit_markdown(targets, fail_on)
    if fmt is Format.html:
        return audit_doc.render_audit_html(targets, fail_on)
    if fmt is Format.junit:
        return junit.render_junit(targets, books)
    return sarif.render_sarif(targets, books, tool_version=__version__)


@app.command("plan")
def plan_command(
    ctx: typer.Context,
    url: UrlOption = None,
    user: UserOption = None,
    password_file: PasswordFileOption = None,
    ca_bundle: CaBundleOption = None,
    insecure: InsecureOption = False,
    partition: PartitionOption = None,
    playbook: PlaybookOption = None,
    no_builtin_playbook: NoBuiltinOption = False,
    waivers: WaiversOption = None,
    server_facts: ServerFactsOption = None,
    bind_monitor: Annotated[
        bool,
        typer.Option(
            "--bind-monitor", help="Bind ping-default where only script monitors are bound."
        ),
    ] = False,
    dedicated_copies: Annotated[
        bool,
        typer.Option(
            "--dedicated-copies",
            help="Give DSR vservers their own copy of a service shared with proxy-mode ones.",
        ),
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the plan file (JSON) here.")
    ] = None,
    from_file: FromFileOption = None,
    fleet: FleetOption = None,
    select: SelectOption = None,
    workers: WorkersOption = 4,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir",
            help="With --fleet: folder for one plan file per partition.",
            file_okay=False,
        ),
    ] = None,
    timeout: TimeoutOption = 60.0,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """Plan the safe changes that fix the findings; -o writes the plan file apply takes."""
    configure_logging(verbose)
    check_fleet_usage(
        ctx,
        fleet,
        select,
        {
            "--url": url,
            "--user": user,
            "--password-file": password_file,
            "--ca-bundle": ca_bundle,
            "--insecure": insecure,
            "--partition": partition,
            "--output": output,
        },
    )
    if fleet is not None and output_dir is None:
        raise typer.BadParameter(
            "--fleet needs --output-dir for the plan files", param_hint="--fleet"
        )
    with handled_errors(url or os.environ.get("NSFIX_URL", "")):
        books = load_playbooks(playbook or [], builtin=not no_builtin_playbook)
        waiver_list = load_waivers_file(waivers)
        facts = load_server_facts_file(server_facts)
        options = PlanOptions(bind_monitor, dedicated_copies)
        if fleet is not None:
            assert output_dir is not None
            code = plan_fleet(
                fleet,
                select or [],
                workers,
                output_dir,
                books,
                waiver_list,
                facts,
                options,
                timeout,
            )
            raise typer.Exit(int(code))
        snapshot = snapshot_of(
            from_file,
            url,
            user,
            password_file,
            ca_bundle,
            insecure,
            partition or [],
            timeout,
            quiet=as_json,
        )
        result = run_audit(snapshot, books, waiver_list, facts)
        the_plan = make_plan(snapshot, result, facts, options)
        emit_plan(the_plan, output, as_json)


def plan_fleet(
    fleet_file: Path,
    tags: Sequence[str],
    workers: int,
    output_dir: Path,
    books: Sequence[Playbook],
    waiver_list: Sequence[Any],
    facts: ServerFacts | None,
    options: PlanOptions,
    timeout: float,
) -> ExitCode:
    """One plan file per appliance partition; exit 0 all planned, 3 some, 1 none."""
    from nsfix import fleet as fleets

    appliances = fleets.select(fleets.load_fleet_file(fleet_file), tags)
    audit_one = fleets.audit_one_factory(
        books,
        waiver_list,
        facts,
        timeout=timeout,
        user_agent=USER_AGENT,
        say=say,
        environ=os.environ,
    )
    runs = fleets.run_fleet(appliances, audit_one, workers=workers)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {output_dir}: {exc.strerror}") from None
    planned = failed = 0
    for run in runs:
        for item in run.audits:
            if item.snapshot is None or item.result is None:
                failed += 1
                say(f"nsfix: error: {run.appliance.name} [{item.partition}]: {item.error}")
                continue
            the_plan = make_plan(item.snapshot, item.result, facts, options)
            path = output_dir / fleets.plan_file_name(run.appliance, item.partition)
            write_atomically(path, json.dumps(plan_document(the_plan), indent=2) + "\n")
            planned += 1
            print(f"{path}: {len(the_plan.changes)} change(s), {len(the_plan.refusals)} refused")
    if not planned:
        return ExitCode.ERROR
    return ExitCode.PARTIAL if failed else ExitCode.OK


def emit_plan(the_plan: Plan, output: Path | None, as_json: bool) -> None:
    document = plan_document(the_plan)
    if output is not None:
        write_atomically(output, json.dumps(document, indent=2) + "\n")
    if as_json:
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        text = render_plan_text(
            the_plan,
            digest=str(document["digest"]),
            path=str(output) if output is not None else None,
        )
        sys.stdout.write(text)
    if output is not None:
        say(f"plan written to {output} ({document['digest']})")


@app.command()
def explain(
    vserver: Annotated[str, typer.Argument(help="The lbvserver to trace.")],
    url: UrlOption = None,
    user: UserOption = None,
    password_file: PasswordFileOption = None,
    ca_bundle: CaBundleOption = None,
    insecure: InsecureOption = False,
    partition: PartitionOption = None,
    playbook: PlaybookOption = None,
    no_builtin_playbook: NoBuiltinOption = False,
    server_facts: ServerFactsOption = None,
    from_file: FromFileOption = None,
    timeout: TimeoutOption = 60.0,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """Walk the packet path of a virtual server's backends, before and after the planned change."""
    configure_logging(verbose)
    with handled_errors(url or os.environ.get("NSFIX_URL", "")):
        books = load_playbooks(playbook or [], builtin=not no_builtin_playbook)
        facts = load_server_facts_file(server_facts)
        snapshot = snapshot_of(
            from_file,
            url,
            user,
            password_file,
            ca_bundle,
            insecure,
            partition or [],
            timeout,
            quiet=as_json,
        )
        emit_explanation(snapshot, vserver, books, facts, as_json)


def emit_explanation(
    snapshot: Snapshot,
    vserver: str,
    books: Sequence[Playbook],
    facts: ServerFacts | None,
    as_json: bool,
) -> None:
    if vserver not in snapshot.vservers:
        close = difflib.get_close_matches(vserver, list(snapshot.vservers), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise InputError(
            f"no lbvserver {vserver!r} in partition {snapshot.appliance.partition}{hint}"
        )
    result = run_audit(snapshot, books, (), facts)
    the_plan = make_plan(snapshot, result, facts, PlanOptions())
    after = apply_in_memory(snapshot, the_plan)
    before_traces = trace_vserver(snapshot, vserver, facts=facts)
    after_traces = trace_vserver(after, vserver, facts=facts)
    if as_json:
        from nsfix.canonical import jsonable

        document = {
            "schema": "nsfix.explain",
            "schema_version": 1,
            "vserver": vserver,
            "before": jsonable(before_traces),
            "after": jsonable(after_traces),
        }
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return
    changed = any(a != b for a, b in zip(before_traces, after_traces, strict=True))
    lines: list[str] = []
    for before, after_trace in zip(before_traces, after_traces, strict=True):
        lines.append("BEFORE " + render_trace(before).rstrip("\n"))
        if after_trace != before:
            lines.append("")
            lines.append("AFTER the planned change " + render_trace(after_trace).rstrip("\n"))
        lines.append("")
    if not before_traces:
        lines.append(f"{vserver} has no backends to trace.")
    elif not changed:
        lines.append("The plan changes nothing on this virtual server's path.")
    sys.stdout.write("\n".join(lines) + "\n")


def parse_duration(text: str) -> float:
    """`90s`, `5m`, `1h`, `300` (seconds) → seconds."""
    import re

    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not match:
        raise SettingsError(f"{text!r} is not a duration (use 90s, 5m or 1h)")
    value = float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]
    if value <= 0:
        raise SettingsError("the duration must be positive")
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
        if report.status not in {"rolled-back", "not-confirmed-rolled-back", "dry-run"}:
            out.append(f"to undo: nsfix rollback {journal}")
    sys.stdout.write("\n".join(out) + "\n")


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


@app.command()
def apply(
    plan_file: Annotated[Path, typer.Argument(help="The plan file made by nsfix plan -o.")],
    url: UrlOption = None,
    user: UserOption = None,
    password_file: PasswordFileOption = None,
    ca_bundle: CaBundleOption = None,
    insecure: InsecureOption = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every precondition, print the requests.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask (for automation).")] = False,
    journal: Annotated[
        Path | None,
        typer.Option(
            "--journal", help="Journal file (default: under NSFIX_JOURNAL_DIR).", dir_okay=False
        ),
    ] = None,
    ticket: Annotated[
        str | None, typer.Option("--ticket", help="Change ticket id, recorded in the journal.")
    ] = None,
    save: Annotated[
        bool, typer.Option("--save", help="Save the running configuration after a verified apply.")
    ] = False,
    save_anyway: Annotated[
        bool,
        typer.Option("--save-anyway", help="Save even if others left unsaved changes."),
    ] = False,
    confirm_within: Annotated[
        str | None,
        typer.Option(
            "--confirm-within",
            help="Commit-confirm: roll back unless confirmed within this time (e.g. 5m).",
        ),
    ] = None,
    settle: Annotated[
        float, typer.Option("--settle", min=0.0, help="Seconds to wait for monitors to settle.")
    ] = 30.0,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=1000, help="Updates per bulk request.")
    ] = 50,
    timeout: TimeoutOption = 60.0,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """Apply a reviewed plan: preflight, journal, canary, batches, verify, roll back on failure.

    Exit 0 applied and verified, 4 refused (nothing written), 5 failed and rolled back,
    6 rollback incomplete (act now), 7 nothing to do, 1 could not run.
    """
    configure_logging(verbose)
    with handled_errors(url or os.environ.get("NSFIX_URL", ""), json_result=as_json):
        try:
            the_plan_url = json.loads(plan_file.read_text(encoding="utf-8"))["plan"]["target"][
                "url"
            ]
        except FileNotFoundError:
            raise InputError(f"plan file {plan_file} does not exist") from None
        except (OSError, ValueError, KeyError, TypeError):
            the_plan_url = None
        target = target_from(url or the_plan_url, user, password_file, ca_bundle, insecure)
        if save_anyway:
            save = True
        options = ApplyOptions(
            batch_size=batch_size,
            settle_seconds=settle,
            save=save,
            save_anyway=save_anyway,
            confirm_within=parse_duration(confirm_within) if confirm_within else None,
            ticket=ticket,
        )
        try:
            outcome = run_apply(
                plan_file,
                target,
                lambda t: open_client(t, timeout, USER_AGENT),
                options,
                dry_run=dry_run,
                yes=yes,
                interactive=sys.stdin.isatty(),
                journal_path=journal,
                say=say,
                ask=input,
                reaudit=reaudit_with(say),
            )
        except PlanFileError as exc:
            raise Refused(str(exc)) from None
        emit_report(outcome.report, outcome.journal, as_json, "apply")
        raise typer.Exit(int(outcome.report.exit_code))


@app.command()
def rollback(
    journal_file: Annotated[Path, typer.Argument(help="The journal of the run to undo.")],
    url: Annotated[
        str | None,
        typer.Option("--url", help="Revert on another appliance (e.g. the new HA primary)."),
    ] = None,
    user: UserOption = None,
    password_file: PasswordFileOption = None,
    ca_bundle: CaBundleOption = None,
    insecure: InsecureOption = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be reverted.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask (for automation).")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Also revert objects changed since nsfix wrote them.")
    ] = False,
    settle: Annotated[float, typer.Option("--settle", min=0.0)] = 30.0,
    timeout: TimeoutOption = 60.0,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """Revert what a journal applied (finished, failed or crashed run), checking each object first.

    Exit 0 reverted and verified, 4 refused, 6 incomplete, 7 nothing to revert, 1 could not run.
    """
    configure_logging(verbose)
    with handled_errors(url or "", json_result=as_json):

        def target_for(recorded: str) -> Target:
            return target_from(recorded, user, password_file, ca_bundle, insecure)

        target = target_for(url) if url else None
        outcome = run_rollback(
            journal_file,
            target,
            lambda t: open_client(t, timeout, USER_AGENT),
            target_for,
            ApplyOptions(settle_seconds=settle, force=force),
            dry_run=dry_run,
            yes=yes,
            interactive=sys.stdin.isatty(),
            say=say,
            ask=input,
        )
        emit_report(outcome.report, outcome.journal, as_json, "rollback")
        raise typer.Exit(int(outcome.report.exit_code))


@app.command()
def confirm(
    journal_file: Annotated[Path, typer.Argument(help="The journal of the run waiting for it.")],
) -> None:
    """Confirm an apply made with --confirm-within, so that it is kept (and saved with --save)."""
    with handled_errors():
        run_confirm(journal_file, say)


class ReportFormat(StrEnum):
    md = "md"
    html = "html"
    json = "json"


@app.command()
def report(
    plan_file: Annotated[Path, typer.Argument(help="The plan file made by nsfix plan -o.")],
    output_format: Annotated[
        ReportFormat, typer.Option("--format", help="md or html for the CAB, json for tools.")
    ] = ReportFormat.md,
    ticket: Annotated[
        str | None, typer.Option("--ticket", help="Change ticket id to print in the report.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
    ] = None,
) -> None:
    """Render a plan for the Change Advisory Board: what, why, risk, rollback, server tasks.

    The plan's digest is checked first: a report is never made from an edited plan.
    """
    from nsfix.apply import load_plan
    from nsfix.reports import cab

    with handled_errors():
        the_plan, digest = load_plan(plan_file)
        if output_format is ReportFormat.json:
            text = json.dumps(plan_document(the_plan), indent=2) + "\n"
        elif output_format is ReportFormat.html:
            text = cab.render_html(the_plan, digest=digest, plan_path=str(plan_file), ticket=ticket)
        else:
            text = cab.render_markdown(
                the_plan, digest=digest, plan_path=str(plan_file), ticket=ticket
            )
        write_out(text, output)


@app.command()
def demo(
    scenario: Annotated[
        str, typer.Option(help="Bundled scenario to load into the mock appliance.")
    ] = "seed-incident",
) -> None:
    """Run nsfix end to end against the bundled mock appliance (no real NetScaler needed)."""
    configure_logging(0)
    with handled_errors("mock appliance"):
        path = scenario_path(scenario)
        books = load_playbooks([])
        with running_mock(["--scenario", str(path)]) as url:
            target = Target(url=url, username=DEMO_USER, password=DEMO_PASSWORD)
            out = sys.stdout

            def step(command: str) -> None:
                out.write(f"\n$ {command}\n")
                out.flush()

            out.write(f"Mock appliance with scenario {scenario!r} at {url}\n")
            out.write(f"(export NSFIX_URL={url} NSFIX_USER=nsroot NSFIX_PASSWORD=nsroot)\n")
            step("nsfix inventory")
            snapshot = read_one(target, [], 30.0, quiet=True)
            out.write(render_text(snapshot))
            step("nsfix audit")
            result = run_audit(snapshot, books, (), None)
            targets = [TargetAudit(url, snapshot.appliance.partition, snapshot, result)]
            out.write(audit_report.render_text(targets, Severity.WARNING))
            step("nsfix plan -o plan.json")
            the_plan = make_plan(snapshot, result, None, PlanOptions())
            document = plan_document(the_plan)
            out.write(render_plan_text(the_plan, digest=str(document["digest"]), path="plan.json"))
            for name in sorted({v for c in the_plan.changes for v in c.vservers})[:1]:
                step(f"nsfix explain {name}")
                emit_explanation(snapshot, name, books, None, as_json=False)
            if not the_plan.changes:
                return
            demo_apply(target, the_plan, books, step)


def demo_apply(
    target: Target, the_plan: Plan, books: Sequence[Playbook], step: Callable[[str], None]
) -> None:
    """The second half of the demo: dry run, apply with its journal, audit again, roll back."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="nsfix-demo-") as folder:
        plan_path = Path(folder) / "plan.json"
        plan_path.write_text(json.dumps(plan_document(the_plan), indent=2) + "\n")
        journal = Path(folder) / "journal.jsonl"

        def run(dry_run: bool) -> Report:
            outcome = run_apply(
                plan_path,
                target,
                lambda t: open_client(t, 30.0, USER_AGENT),
                ApplyOptions(settle_seconds=5.0),
                dry_run=dry_run,
                yes=True,
                interactive=False,
                journal_path=None if dry_run else journal,
                say=lambda m: print(m),
                ask=input,
                reaudit=reaudit_with(print),
            )
            emit_report(outcome.report, outcome.journal, False, "apply")
            return outcome.report

        step("nsfix apply plan.json --dry-run")
        run(True)
        step("nsfix apply plan.json --yes")
        if run(False).exit_code != ExitCode.OK:
            return
        step("nsfix audit")
        snapshot = read_one(target, [], 30.0, quiet=True)
        result = run_audit(snapshot, books, (), None)
        targets = [TargetAudit(target.url, "default", snapshot, result)]
        sys.stdout.write(audit_report.render_text(targets, Severity.WARNING))
        step(f"nsfix rollback {journal} --yes")
        outcome = run_rollback(
            journal,
            target,
            lambda t: open_client(t, 30.0, USER_AGENT),
            lambda u: target,
            ApplyOptions(settle_seconds=5.0),
            dry_run=False,
            yes=True,
            interactive=False,
            say=lambda m: print(m),
            ask=input,
        )
        emit_report(outcome.report, outcome.journal, False, "rollback")


def version_callback(value: bool) -> None:
    if value:
        print(f"nsfix {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=version_callback, is_eager=True, help="Print version."),
    ] = False,
) -> None:
    """nsfix: audit, plan and safely fix DSR source-IP set-ups on NetScaler ADC."""


def main(argv: list[str] | None = None) -> None:
    """Console entry point: maps usage errors to EX_USAGE so that exit 2 keeps meaning findings."""
    if os.environ.get("NO_COLOR"):
        os.environ.setdefault("TERM", "dumb")
    try:
        # Without standalone mode a typer.Exit's code is returned instead of exiting.
        result = app(args=argv, prog_name="nsfix", standalone_mode=False)
    except typer.Abort:
        print("nsfix: interrupted", file=sys.stderr)
        sys.exit(int(ExitCode.INTERRUPTED))
    except Exception as exc:
        if not is_usage_error(exc):
            raise
        exc.show()  # type: ignore[attr-defined]
        sys.exit(int(ExitCode.USAGE))
    sys.exit(result if isinstance(result, int) else int(ExitCode.OK))


def is_usage_error(exc: BaseException) -> bool:
    """Click's usage errors (vendored by newer typer) all carry exit code 2 and a show()."""
    return getattr(exc, "exit_code", None) == 2 and callable(getattr(exc, "show", None))
