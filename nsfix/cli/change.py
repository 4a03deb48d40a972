"""The commands that change an appliance: approve, apply, rollback and confirm."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from nsfix import watchdog
from nsfix.apply import load_plan, run_apply, run_confirm, run_rollback, run_status, status_lines
from nsfix.approval import (
    ApprovalError,
    RequiredApproval,
    approval_document,
    fingerprint,
    load_private_key,
)
from nsfix.cli.common import (
    app,
    configure_logging,
    emit_report,
    handled_errors,
    opener,
    parse_duration,
    reaudit_with,
    say,
)
from nsfix.cli.options import (
    DEFAULT_TIMEOUT,
    ApprovalOption,
    CaBundleOption,
    Connection,
    ExpectDigestOption,
    InsecureOption,
    InstanceIdOption,
    InstanceNameOption,
    JsonOption,
    PasswordFileOption,
    PlanFileArgument,
    TimeoutOption,
    TrustedKeyOption,
    UrlOption,
    UserOption,
    VerboseOption,
    ViaConsoleOption,
    YesOption,
    expected_digest,
    required_approval,
)
from nsfix.executor import DEFAULT_BATCH_SIZE, ApplyOptions, Refused
from nsfix.exitcodes import ExitCode
from nsfix.inventory import configured_page_size
from nsfix.planfile import PlanFileError
from nsfix.settings import Target
from nsfix.shell import InputError, write_atomically

BatchSizeOption = Annotated[
    int,
    typer.Option(
        "--batch-size", min=1, max=1000, help="Updates per bulk request (rollback: reverts)."
    ),
]


@app.command()
def approve(
    plan_file: PlanFileArgument,
    key: Annotated[
        Path,
        typer.Option(
            "--key", help="The change board's Ed25519 private key (PEM or OpenSSH).", dir_okay=False
        ),
    ],
    expect_digest: ExpectDigestOption = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to write the approval (default: PLAN.approval).",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Sign a reviewed plan with the change board's key, for apply --approval.

    The signature covers the plan's digest, which covers every change. Exit 0 signed, 4 refused
    (not the plan expected, or a plan nsfix would not apply), 1 could not run.
    """
    with handled_errors():
        try:
            _, digest = load_plan(plan_file)
            RequiredApproval(expected_digest(expect_digest)).check(digest)
        except (PlanFileError, ApprovalError) as exc:
            raise Refused(str(exc)) from None
        signing_key = load_private_key(key, lambda: _passphrase(key))
        path = output or plan_file.with_name(f"{plan_file.name}.approval")
        write_atomically(path, json.dumps(approval_document(digest, signing_key), indent=2) + "\n")
        say(
            f"approved plan {digest} with key {fingerprint(signing_key.public_key())}: {path}\n"
            f"apply with: nsfix apply {plan_file} --approval {path} --trusted-key BOARD_PUBLIC_KEY"
        )


def _passphrase(key: Path) -> str:
    if not sys.stdin.isatty():
        raise InputError(
            f"{key} is encrypted: run nsfix approve on a terminal to give its passphrase"
        )
    return getpass.getpass(f"passphrase of {key}: ")


@app.command()
def apply(
    plan_file: PlanFileArgument,
    url: UrlOption = None,
    user: UserOption = None,
    password_file: PasswordFileOption = None,
    ca_bundle: CaBundleOption = None,
    insecure: InsecureOption = False,
    via_console: ViaConsoleOption = None,
    instance_name: InstanceNameOption = None,
    instance_id: InstanceIdOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every precondition, print the requests.")
    ] = False,
    yes: YesOption = False,
    expect_digest: ExpectDigestOption = None,
    approval: ApprovalOption = None,
    trusted_key: TrustedKeyOption = None,
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
            help="Commit-confirm: roll back unless confirmed within this time, with its unit: "
            "90s, 5m or 1h (a bare number is refused).",
            metavar="DURATION",
        ),
    ] = None,
    settle: Annotated[
        float,
        typer.Option(
            "--settle", min=0.0, metavar="SECONDS", help="Seconds to wait for monitors to settle."
        ),
    ] = 30.0,
    batch_size: BatchSizeOption = DEFAULT_BATCH_SIZE,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """Apply a reviewed plan: preflight, journal, canary, batches, verify, roll back on failure.

    Exit 0 applied and verified, 4 refused (nothing written), 5 failed and rolled back,
    6 rollback incomplete (act now), 7 nothing to do, 1 could not run.
    """
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
    required = required_approval(expect_digest, approval, trusted_key)
    within = parse_duration(confirm_within, "--confirm-within") if confirm_within else None
    configure_logging(verbose)
    with handled_errors(connection.where, json_result=as_json):
        try:
            the_plan_url = json.loads(plan_file.read_text(encoding="utf-8"))["plan"]["target"][
                "url"
            ]
        except FileNotFoundError:
            raise InputError(f"plan file {plan_file} does not exist") from None
        except (OSError, ValueError, KeyError, TypeError):
            the_plan_url = None
        target = connection.target_at(url or the_plan_url)
        if save_anyway:
            save = True
        options = ApplyOptions(
            batch_size=batch_size,
            settle_seconds=settle,
            save=save,
            save_anyway=save_anyway,
            confirm_within=within,
            ticket=ticket,
            page_size=configured_page_size(),
        )
        try:
            outcome = run_apply(
                plan_file,
                target,
                opener(timeout),
                options,
                dry_run=dry_run,
                yes=yes,
                interactive=sys.stdin.isatty(),
                journal_path=journal,
                say=say,
                ask=input,
                reaudit=reaudit_with(say),
                approval=required,
                watchdog=lambda journal_path: watchdog.start(journal_path, target, timeout),
            )
        except (PlanFileError, ApprovalError) as exc:
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
    via_console: ViaConsoleOption = None,
    instance_name: InstanceNameOption = None,
    instance_id: InstanceIdOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be reverted.")
    ] = False,
    yes: YesOption = False,
    force: Annotated[
        bool, typer.Option("--force", help="Also revert objects changed since nsfix wrote them.")
    ] = False,
    save: Annotated[
        bool | None,
        typer.Option(
            "--save/--no-save",
            help="When the saved configuration holds the change (apply --save): save after a "
            "verified rollback, or not (default: ask on a terminal, else do not save).",
            show_default=False,
        ),
    ] = None,
    save_anyway: Annotated[
        bool,
        typer.Option("--save-anyway", help="Save even if others left unsaved changes."),
    ] = False,
    settle: Annotated[
        float,
        typer.Option(
            "--settle",
            min=0.0,
            metavar="SECONDS",
            help="Seconds to wait for monitors to settle before verifying the reverted objects.",
        ),
    ] = 30.0,
    batch_size: BatchSizeOption = DEFAULT_BATCH_SIZE,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """Revert what a journal applied (finished, failed or crashed run), checking each object first.

    Exit 0 reverted and verified, 4 refused, 6 incomplete, 7 nothing to revert, 1 could not run
    (or reverted and verified but the save failed).
    """
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
    configure_logging(verbose)
    # Without --url the journal names the appliance: NSFIX_URL is not a default here.
    with handled_errors(url or "", json_result=as_json):
        target = connection.target() if url else None
        outcome = run_rollback(
            journal_file,
            target,
            opener(timeout),
            connection.target_at,
            ApplyOptions(
                batch_size=batch_size,
                settle_seconds=settle,
                force=force,
                save_anyway=save_anyway,
                page_size=configured_page_size(),
            ),
            dry_run=dry_run,
            yes=yes,
            interactive=sys.stdin.isatty(),
            say=say,
            ask=input,
            save=True if save_anyway else save,
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


@app.command(name="watchdog", hidden=True)
def watchdog_command(
    journal_file: Annotated[Path, typer.Argument(help="The journal whose deadline it owns.")],
) -> None:
    """Own a --confirm-within deadline (started by apply; reads its orders on stdin)."""
    configure_logging(1)
    with handled_errors():
        orders = watchdog.read_orders(sys.stdin.read())

        def roll_back(journal: Path, target: Target) -> ExitCode:
            outcome = run_rollback(
                journal,
                target,
                opener(orders.timeout),
                lambda _url: target,
                watchdog.options_for_rollback(),
                dry_run=False,
                yes=True,
                interactive=False,
                say=say,
                ask=input,
                save=False,
            )
            emit_report(outcome.report, outcome.journal, False, "rollback")
            return outcome.report.exit_code

        raise typer.Exit(int(watchdog.watch(journal_file, orders, roll_back, say=say)))


@app.command()
def status(
    journal_file: Annotated[Path, typer.Argument(help="The journal of an apply run.")],
    as_json: JsonOption = False,
) -> None:
    """What a run did and what is pending: its end, a confirmation deadline, its watchdog.

    Exit 0 when the run has ended, 2 when it is still waiting for confirmation or never ended.
    """
    with handled_errors():
        report = run_status(journal_file)
        if as_json:
            sys.stdout.write(json.dumps(report, indent=2) + "\n")
        else:
            sys.stdout.write("\n".join(status_lines(report)) + "\n")
        raise typer.Exit(0 if report["ended"] else 2)
