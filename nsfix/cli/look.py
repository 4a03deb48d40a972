"""The commands that only read: inventory, audit, plan, explain and report."""

from __future__ import annotations

import difflib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from nsfix import __version__
from nsfix import fleet as fleets
from nsfix.cli.common import (
    USER_AGENT,
    app,
    configure_logging,
    handled_errors,
    phase,
    phases,
    progress_bars,
    say,
    snapshot_of,
    stdout_console,
    watched,
    write_out,
)
from nsfix.cli.options import (
    DEFAULT_TIMEOUT,
    AllPartitionsOption,
    CaBundleOption,
    Connection,
    Fleet,
    FleetOption,
    Format,
    FromFileOption,
    InsecureOption,
    InstanceIdOption,
    InstanceNameOption,
    JsonOption,
    NoBuiltinOption,
    Output,
    PartitionOption,
    PasswordFileOption,
    PlanFileArgument,
    PlaybookOption,
    ReportFileOption,
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
from nsfix.exitcodes import ExitCode
from nsfix.findings import Severity, TargetAudit, Waiver, audit_exit_code
from nsfix.flow import render_trace, trace_vserver
from nsfix.model import Snapshot
from nsfix.operations import audit_appliance, audit_label, make_plan, run_audit
from nsfix.planfile import plan_file as sealed_plan  # `plan_file` names an argument here
from nsfix.planner import Plan, PlanOptions, apply_in_memory
from nsfix.reports import audit as audit_report
from nsfix.reports.inventory import inventory_document, render_rich, render_text
from nsfix.reports.plan import render_plan_text
from nsfix.reports.plan_cli import render_plan_cli
from nsfix.reports.terminal import show
from nsfix.reports.text import escaped, text_lines
from nsfix.rules.playbook import Playbook
from nsfix.serverfacts import ServerFacts
from nsfix.shell import (
    InputError,
    load_playbooks,
    load_server_facts_file,
    load_snapshot_files,
    load_waivers_file,
    write_atomically,
)


def emit_inventory(snapshot: Snapshot, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(inventory_document(snapshot), indent=2) + "\n")
    elif sys.stdout.isatty():
        show(stdout_console(), render_rich(snapshot))
    else:
        sys.stdout.write(render_text(snapshot))


@app.command()
def inventory(
    url: UrlOption = None,
    user: UserOption = None,
    password_file: PasswordFileOption = None,
    ca_bundle: CaBundleOption = None,
    insecure: InsecureOption = False,
    via_console: ViaConsoleOption = None,
    instance_name: InstanceNameOption = None,
    instance_id: InstanceIdOption = None,
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
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """List virtual servers (DSR first), their services, groups and members, SNIPs and modes."""
    from nsfix.inventory import raw_document

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
    source = Source(connection, tuple(partition or ()), from_file=tuple(from_file or ()))
    configure_logging(verbose)
    with handled_errors(connection.where):
        snapshot = snapshot_of(source, quiet=as_json, keep_raw=raw is not None)
        if raw is not None:
            write_atomically(raw, json.dumps(raw_document(snapshot), indent=1) + "\n")
            say(f"NITRO records saved to {raw} (use with --from-file)")
        emit_inventory(snapshot, as_json)


@app.command()
def audit(
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
    output: ReportFileOption = None,
    since: Annotated[
        Path | None,
        typer.Option(
            "--since",
            help="State file of the previous run: report new, resolved and unchanged findings "
            "(and write the new state).",
            dir_okay=False,
        ),
    ] = None,
    prometheus: Annotated[
        Path | None,
        typer.Option(
            "--prometheus",
            help="Also write metrics for node_exporter's textfile collector to this .prom file "
            "(replaced atomically).",
            dir_okay=False,
        ),
    ] = None,
    timestamps: Annotated[
        bool,
        typer.Option(
            "--timestamps",
            help="Start each stderr line with the UTC time and the run id, between run start "
            "and run end lines (for a log file such as cron's).",
        ),
    ] = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """Check DSR virtual servers and their backends against the playbooks.

    Exit 0 compliant, 1 could not run, 2 findings at or above --fail-on, 3 partial, 8 partial
    with findings on the rest.
    """
    from nsfix import since as history
    from nsfix.cli.automation import run_log, run_seconds, write_prometheus

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
    source = Source(connection, tuple(partition or ()), all_partitions, tuple(from_file or ()))
    appliances = Fleet(fleet, tuple(select or ()), workers)
    out = Output.given(as_json, output_format, output)
    configure_logging(verbose)
    check_fleet_usage(
        ctx,
        appliances,
        {
            **source.appliance_options(),
            "--from-file": from_file,
            "--all-partitions": all_partitions,
        },
    )
    detail = f" --fleet {fleet}" if fleet is not None else ""
    with run_log("audit", enabled=timestamps, detail=detail), handled_errors(connection.where):
        books = load_playbooks(playbook or [], builtin=not no_builtin_playbook)
        waiver_list = load_waivers_file(waivers)
        facts = load_server_facts_file(server_facts)
        # Read the previous state before any traffic: a corrupt file fails fast.
        previous = history.read_state(since) if since is not None else None
        # Progress only for a person at this terminal, not for a machine reading stdout.
        quiet = out.file is None and out.format is not Format.text
        runs: list[fleets.ApplianceRun] = []
        seconds: dict[str, float] = {}
        started = time.monotonic()
        # SARIF points at lines of a file: a live audit reads the configuration text too.
        running_config = out.format is Format.sarif
        if appliances.file is not None:
            runs = audit_fleet(
                appliances,
                books,
                waiver_list,
                facts,
                timeout,
                # One line per appliance on stderr: the job's log says who was reached.
                on_done=lambda run: say(fleets.describe_run(run)),
                running_config=running_config,
            )
            targets = fleets.fleet_targets(runs)
            seconds = run_seconds(runs)
        elif source.from_file:
            targets = []
            for snapshot in load_snapshot_files(source.from_file, source.partitions):
                with phase(audit_label(snapshot), quiet=quiet):
                    result = run_audit(snapshot, books, waiver_list, facts)
                targets.append(
                    TargetAudit(
                        snapshot.appliance.url, snapshot.appliance.partition, snapshot, result
                    )
                )
        else:
            target = connection.target()
            with progress_bars(watched(quiet), target.url) as progress:
                targets = audit_appliance(
                    target,
                    source.partitions,
                    source.all_partitions,
                    timeout=timeout,
                    user_agent=USER_AGENT,
                    playbooks=books,
                    waivers=waiver_list,
                    facts=facts,
                    say=say,
                    progress=progress,
                    phase=phases(quiet),
                    running_config=running_config,
                )
        if not seconds:
            seconds = {t.url: time.monotonic() - started for t in targets}
        now = datetime.now(UTC)
        change = None
        state = None
        if since is not None:
            state = history.state_document(targets, now, previous)
            change = history.compare(previous, state)
        emit_audit(targets, fail_on, out, books, runs=runs, change=change, quiet=quiet)
        if since is not None and state is not None:
            # After the report: a failed report write leaves the previous state in place.
            history.write_state(since, state)
        code = audit_exit_code(targets, fail_on)
        if prometheus is not None:
            write_prometheus(prometheus, targets, seconds, int(code))
        raise typer.Exit(int(code))


def audit_fleet(
    fleet: Fleet,
    books: Sequence[Playbook],
    waiver_list: Sequence[Waiver],
    facts: ServerFacts | None,
    timeout: float,
    on_done: Callable[[fleets.ApplianceRun], None] | None = None,
    running_config: bool = False,
) -> list[fleets.ApplianceRun]:
    """Audit the appliances of the fleet file that carry the selected tags, a few at a time."""
    assert fleet.file is not None
    appliances = fleets.select(fleets.load_fleet_file(fleet.file), fleet.tags)
    audit_one = fleets.audit_one_factory(
        books,
        waiver_list,
        facts,
        timeout=timeout,
        user_agent=USER_AGENT,
        say=say,
        environ=os.environ,
        running_config=running_config,
    )
    return fleets.run_fleet(appliances, audit_one, workers=fleet.workers, on_done=on_done)


def emit_audit(
    targets: Sequence[TargetAudit],
    fail_on: Severity,
    out: Output,
    books: Sequence[Playbook] = (),
    *,
    runs: Sequence[Any] = (),
    change: Any = None,
    quiet: bool = True,
) -> None:
    from nsfix import since as history

    if out.format is Format.json:
        with writing(out.file, "the report", quiet):
            document = audit_report.audit_document(
                targets, fail_on=fail_on, generated_at=datetime.now(UTC)
            )
            if runs:
                document["fleet"] = fleets.fleet_document(runs)
            if change is not None:
                document["since"] = history.change_document(change)
            text = json.dumps(document, indent=2) + "\n"
        write_out(text, out.file)
        say_change(change)
        return
    if out.format is not Format.text:
        with writing(out.file, "the report", quiet):
            if out.format is Format.sarif:
                from nsfix.artifacts import with_artifacts

                # Results point at lines of files: the configuration read, or written now.
                targets = with_artifacts(targets, out.file, Path.cwd())
            text = render_audit_format(out.format, targets, fail_on, books)
        write_out(text, out.file)
        say_change(change)
        return
    extra = history.render_change_text(escaped(change)) if change is not None else ""
    if out.file is None and sys.stdout.isatty():
        show(stdout_console(), audit_report.render_rich(targets, fail_on))
        if extra:
            sys.stdout.write(extra)
    else:
        with writing(out.file, "the report", quiet):
            text = audit_report.render_text(targets, fail_on) + extra
        write_out(text, out.file)
    say_change(change)


def say_change(change: Any) -> None:
    """The since-summary line on stderr, whatever the format: the job's log always has it."""
    from nsfix import since as history

    if change is not None:
        say(history.render_change_text(escaped(change)).splitlines()[0])


def writing(path: Path | None, what: str, quiet: bool) -> AbstractContextManager[None]:
    """The phase of rendering `what`, named after its file; it ends before stdout is written,
    so the spinner never mixes with the output."""
    return phase(f"writing {path}" if path is not None else f"rendering {what}", quiet=quiet)


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


class PlanFormat(StrEnum):
    text = "text"
    json = "json"
    cli = "cli"


@app.command("plan")
def plan_command(
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
            help="Give DSR vservers their own copy of a service or service group shared with "
            "proxy-mode ones.",
        ),
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the plan file (JSON) here.")
    ] = None,
    output_format: Annotated[
        PlanFormat,
        typer.Option(
            "--format",
            help="What stdout shows: text, json (the plan file), or cli (NetScaler CLI commands).",
        ),
    ] = PlanFormat.text,
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
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode",
            help="Exit 0 nothing to change, 2 changes pending, 1 error (as terraform plan); "
            "refused objects alone are no change. With --fleet: 3 when an appliance could not "
            "be planned.",
        ),
    ] = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """Plan the safe changes that fix the findings; -o writes the plan file apply takes."""
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
    source = Source(connection, tuple(partition or ()), from_file=tuple(from_file or ()))
    appliances = Fleet(fleet, tuple(select or ()), workers)
    out = Output.given(as_json or output_format is PlanFormat.json, file=output)
    configure_logging(verbose)
    check_fleet_usage(ctx, appliances, {**source.appliance_options(), "--output": output})
    if appliances.file is not None and output_format is PlanFormat.cli:
        raise typer.BadParameter(
            "--fleet writes plan files; show one as commands with nsfix report PLAN --format cli",
            param_hint="--format",
        )
    if appliances.file is not None and output_dir is None:
        raise typer.BadParameter(
            "--fleet needs --output-dir for the plan files", param_hint="--fleet"
        )
    with handled_errors(connection.where):
        books = load_playbooks(playbook or [], builtin=not no_builtin_playbook)
        waiver_list = load_waivers_file(waivers)
        facts = load_server_facts_file(server_facts)
        options = PlanOptions(bind_monitor, dedicated_copies)
        if appliances.file is not None:
            assert output_dir is not None
            runs = audit_fleet(appliances, books, waiver_list, facts, timeout)
            raise typer.Exit(int(plan_fleet(runs, output_dir, facts, options, detailed_exitcode)))
        snapshot = snapshot_of(source, quiet=out.as_json)
        with phase(audit_label(snapshot), quiet=out.as_json):
            result = run_audit(snapshot, books, waiver_list, facts)
        the_plan = make_plan(snapshot, result, facts, options, phases(out.as_json))
        emit_plan(the_plan, out, cli=output_format is PlanFormat.cli and not out.as_json)
        if detailed_exitcode:
            raise typer.Exit(int(plan_exit_code(pending=bool(the_plan.changes))))


def plan_exit_code(*, pending: bool, planned: int = 1, failed: int = 0) -> ExitCode:
    """--detailed-exitcode, as terraform plan's: 0 nothing to change, 2 changes pending, 1 error.

    A refused object is not a change (apply would not touch it; audit reports it), so a plan
    with refusals only exits 0. In a fleet an appliance that could not be planned makes it 3,
    which wins over 2 (as for audit, a dead appliance must not hide behind pending changes).
    """
    if not planned:
        return ExitCode.ERROR
    if failed:
        return ExitCode.PARTIAL
    return ExitCode.FINDINGS if pending else ExitCode.OK


def plan_fleet(
    runs: Sequence[fleets.ApplianceRun],
    output_dir: Path,
    facts: ServerFacts | None,
    options: PlanOptions,
    detailed: bool = False,
) -> ExitCode:
    """One plan file per audited appliance partition; exit 0 all planned, 3 some, 1 none
    (`detailed`: 2 when all were planned and some plan has changes)."""
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {output_dir}: {exc.strerror}") from None
    planned = failed = 0
    pending = False
    for run in runs:
        for item in run.audits:
            if item.snapshot is None or item.result is None:
                failed += 1
                say(f"nsfix: error: {run.appliance.name} [{item.partition}]: {item.error}")
                continue
            the_plan = make_plan(item.snapshot, item.result, facts, options)
            path = output_dir / fleets.plan_file_name(run.appliance, item.partition)
            write_atomically(path, sealed_plan(the_plan).text)
            planned += 1
            pending = pending or bool(the_plan.changes)
            print(f"{path}: {len(the_plan.changes)} change(s), {len(the_plan.refusals)} refused")
    return plan_exit_code(pending=pending and detailed, planned=planned, failed=failed)


def emit_plan(the_plan: Plan, out: Output, *, cli: bool = False) -> None:
    """The plan on stdout (text, its JSON file, or CLI commands with `cli`); -o's file is
    always the plan file."""
    with writing(out.file, "the plan", out.as_json):
        sealed = sealed_plan(the_plan)
        text = sealed.text
        if cli:
            # Rendered first: a plan that cannot be written as commands writes no file either.
            text = render_plan_cli(the_plan, digest=sealed.digest)
        elif not out.as_json:
            text = render_plan_text(
                the_plan,
                digest=sealed.digest,
                path=str(out.file) if out.file is not None else None,
            )
        if out.file is not None:
            write_atomically(out.file, sealed.text)
    sys.stdout.write(text)
    if out.file is not None:
        say(f"plan written to {out.file} ({sealed.digest})")


@app.command()
def explain(
    vserver: Annotated[str, typer.Argument(help="The lbvserver to trace.")],
    url: UrlOption = None,
    user: UserOption = None,
    password_file: PasswordFileOption = None,
    ca_bundle: CaBundleOption = None,
    insecure: InsecureOption = False,
    via_console: ViaConsoleOption = None,
    instance_name: InstanceNameOption = None,
    instance_id: InstanceIdOption = None,
    partition: PartitionOption = None,
    playbook: PlaybookOption = None,
    no_builtin_playbook: NoBuiltinOption = False,
    server_facts: ServerFactsOption = None,
    from_file: FromFileOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """Walk the packet path of a virtual server's backends, before and after the planned change."""
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
    source = Source(connection, tuple(partition or ()), from_file=tuple(from_file or ()))
    configure_logging(verbose)
    with handled_errors(connection.where):
        books = load_playbooks(playbook or [], builtin=not no_builtin_playbook)
        facts = load_server_facts_file(server_facts)
        snapshot = snapshot_of(source, quiet=as_json)
        emit_explanation(snapshot, vserver, books, facts, as_json, quiet=as_json)


def emit_explanation(
    snapshot: Snapshot,
    vserver: str,
    books: Sequence[Playbook],
    facts: ServerFacts | None,
    as_json: bool,
    *,
    quiet: bool = True,
) -> None:
    if vserver not in snapshot.vservers:
        close = difflib.get_close_matches(vserver, list(snapshot.vservers), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise InputError(
            f"no lbvserver {vserver!r} in partition {snapshot.appliance.partition}{hint}"
        )
    with phase(audit_label(snapshot), quiet=quiet):
        result = run_audit(snapshot, books, (), facts)
    the_plan = make_plan(snapshot, result, facts, PlanOptions(), phases(quiet))
    with phase(f"tracing the packet paths of {vserver}", quiet=quiet):
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
        # Traced from escaped names: the walk's own line breaks are then its only ones.
        lines.extend(("BEFORE " + render_trace(escaped(before))).splitlines())
        if after_trace != before:
            lines.append("")
            lines.extend(
                ("AFTER the planned change " + render_trace(escaped(after_trace))).splitlines()
            )
        lines.append("")
    if not before_traces:
        lines.append(f"{vserver} has no backends to trace.")
    elif not changed:
        lines.append("The plan changes nothing on this virtual server's path.")
    sys.stdout.write(text_lines(lines))


class ReportFormat(StrEnum):
    md = "md"
    html = "html"
    json = "json"
    cli = "cli"


@app.command()
def report(
    plan_file: PlanFileArgument,
    output_format: Annotated[
        ReportFormat,
        typer.Option(
            "--format",
            help="md or html for the CAB, json for tools, cli for NetScaler CLI commands.",
        ),
    ] = ReportFormat.md,
    ticket: Annotated[
        str | None, typer.Option("--ticket", help="Change ticket id to print in the report.")
    ] = None,
    output: ReportFileOption = None,
) -> None:
    """Render a plan for the Change Advisory Board: what, why, risk, rollback, server tasks.

    The plan's digest is checked first: a report is never made from an edited plan.
    """
    from nsfix.apply import load_plan
    from nsfix.reports import cab

    with handled_errors():
        with phase(f"checking {plan_file}"):
            the_plan, digest = load_plan(plan_file)
        with writing(output, "the report", quiet=False):
            if output_format is ReportFormat.json:
                text = sealed_plan(the_plan).text
            elif output_format is ReportFormat.cli:
                text = render_plan_cli(the_plan, digest=digest)
            elif output_format is ReportFormat.html:
                text = cab.render_html(
                    the_plan, digest=digest, plan_path=str(plan_file), ticket=ticket
                )
            else:
                text = cab.render_markdown(
                    the_plan, digest=digest, plan_path=str(plan_file), ticket=ticket
                )
        write_out(text, output)
