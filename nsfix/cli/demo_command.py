"""`nsfix demo`: the whole loop against the bundled mock appliance."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated

import typer

from nsfix.apply import run_apply, run_rollback
from nsfix.cli.common import (
    app,
    configure_logging,
    emit_report,
    handled_errors,
    opener,
    read_one,
    reaudit_with,
)
from nsfix.cli.look import (
    emit_explanation,
)
from nsfix.demo import DEMO_PASSWORD, DEMO_USER, running_mock, scenario_path
from nsfix.executor import ApplyOptions, Report
from nsfix.exitcodes import ExitCode
from nsfix.findings import Severity, TargetAudit
from nsfix.operations import make_plan, run_audit
from nsfix.planfile import plan_file
from nsfix.planner import Plan, PlanOptions
from nsfix.reports import audit as audit_report
from nsfix.reports.inventory import render_text
from nsfix.reports.plan import render_plan_text
from nsfix.rules.playbook import Playbook
from nsfix.settings import Target
from nsfix.shell import load_playbooks


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
            out.write(
                f"(each step below is what nsfix prints with NSFIX_URL={url} "
                "NSFIX_USER=nsroot NSFIX_PASSWORD=nsroot; the mock stops when the demo ends)\n"
            )
            step("nsfix inventory")
            snapshot = read_one(target, [], 30.0, quiet=True)
            out.write(render_text(snapshot))
            step("nsfix audit")
            result = run_audit(snapshot, books, (), None)
            targets = [TargetAudit(url, snapshot.appliance.partition, snapshot, result)]
            out.write(audit_report.render_text(targets, Severity.WARNING))
            step("nsfix plan -o plan.json")
            the_plan = make_plan(snapshot, result, None, PlanOptions())
            sealed = plan_file(the_plan)
            out.write(render_plan_text(the_plan, digest=sealed.digest, path="plan.json"))
            for name in sorted({v for c in the_plan.changes for v in c.vservers})[:1]:
                step(f"nsfix explain {name}")
                emit_explanation(snapshot, name, books, None, as_json=False)
            folder = demo_apply(target, the_plan, books, step) if the_plan.changes else None
        out.write(what_next(scenario, folder))


def what_next(scenario: str, folder: Path | None) -> str:
    """The demo's last words: where its files are, and what to try after it."""
    lines = ["", "What to try next:"]
    if folder is not None:
        plan, journal = folder / "plan.json", folder / "journal.jsonl"
        lines += [
            f"  The demo's plan and journal are kept in {folder}",
            "  (the mock appliance they name has stopped: they are there to read, not to apply):",
            f"    nsfix status {journal}",
            f"    nsfix report {plan} --format html -o plan.html",
        ]
    others = [name for name in ("seed-incident", "mixed", "healthy") if name != scenario]
    lines += [
        f"  Other scenarios: nsfix demo --scenario {others[0]} (or {others[1]})",
        "  Your appliance, read-only first: export NSFIX_URL=https://NSIP NSFIX_USER=USER,",
        "    then nsfix inventory and nsfix audit (nothing is written before nsfix apply)",
        "  The guide (the operator, the scheduled compliance job, the change board):",
        "    docs/guide.md",
        "  Every command's options: nsfix COMMAND -h",
    ]
    return "".join(f"{line}\n" for line in lines)


def demo_apply(
    target: Target, the_plan: Plan, books: Sequence[Playbook], step: Callable[[str], None]
) -> Path:
    """The second half of the demo: dry run, apply with its journal, audit again, roll back.

    The plan and the journal it prints are kept in the folder it returns, for reading after."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="nsfix-demo-"))
    # The demo's journal and lock files stay in its folder, not in the user's state dir.
    os.environ["NSFIX_JOURNAL_DIR"] = str(folder / "journals")
    plan_path = folder / "plan.json"
    plan_path.write_text(plan_file(the_plan).text)
    journal = folder / "journal.jsonl"

    def run(dry_run: bool) -> Report:
        outcome = run_apply(
            plan_path,
            target,
            opener(30.0),
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
        return folder
    step("nsfix audit")
    snapshot = read_one(target, [], 30.0, quiet=True)
    result = run_audit(snapshot, books, (), None)
    targets = [TargetAudit(target.url, "default", snapshot, result)]
    sys.stdout.write(audit_report.render_text(targets, Severity.WARNING))
    step(f"nsfix rollback {journal} --yes")
    outcome = run_rollback(
        journal,
        target,
        opener(30.0),
        lambda u: target,
        ApplyOptions(settle_seconds=5.0),
        dry_run=False,
        yes=True,
        interactive=False,
        say=lambda m: print(m),
        ask=input,
    )
    emit_report(outcome.report, outcome.journal, False, "rollback")
    return folder
