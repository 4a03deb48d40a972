"""The shell of apply, rollback and confirm: files, locks, prompts and the session around them."""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import os
import re
import select
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from nsfix import __version__
from nsfix.approval import RequiredApproval
from nsfix.errors import NsfixError
from nsfix.executor import (
    ApplyOptions,
    Executor,
    Observation,
    Refused,
    Report,
    RunStatus,
    StepOutcome,
    StepReport,
    TargetFacts,
    Where,
)
from nsfix.exitcodes import ExitCode
from nsfix.journal import (
    JOURNAL_VERSION,
    JournalError,
    JournalState,
    JournalWriter,
    Phase,
    Recorded,
    StepState,
    default_journal_dir,
    default_journal_path,
    read_journal,
)
from nsfix.model import DEFAULT_PARTITION
from nsfix.nitro import ConsoleRoute, NitroClient, NitroError, RouteError
from nsfix.planfile import PlanFileError, plan_digest, plan_partition, read_plan_document
from nsfix.planner import Change, Plan, Verb
from nsfix.saved_config import RECORD as SAVED_CONFIG
from nsfix.saved_config import (
    ConfigState,
    RollbackSave,
    left_unsaved,
    own_rollback,
    read_config_state,
    recent_journals,
    saved_record,
)
from nsfix.settings import Target, normalise_url
from nsfix.shapes import unplanned
from nsfix.shell import InputError, read_text

Say = Callable[[str], None]
Ask = Callable[[str], str]

UNSAVED_BY_OTHERS = (
    "the appliance already has unsaved changes that nsfix did not make; --save would persist "
    "them too. Save or discard them first"
)
HOLDS = "the saved configuration still holds the change"
SAVED = "running configuration saved: the saved configuration no longer holds the change"


@dataclass
class Outcome:
    """What apply or rollback did: the report, the journal, and the plan it worked from."""

    report: Report
    journal: Path | None = None


def load_plan(path: Path) -> tuple[Plan, str]:
    text = read_text(path, "plan file")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanFileError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    the_plan = read_plan_document(document, str(path))
    return the_plan, plan_digest(document)


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or 'appliance'}{f'_{parts.port}' if parts.port else ''}"


@contextlib.contextmanager
def appliance_lock(url: str, partition: str) -> Iterator[Path]:
    """One nsfix apply or rollback at a time per appliance from this machine.

    NITRO has no lock of its own; a lock file next to the journals stops the common race (a
    scheduled job and an operator on the same jump host).
    """
    folder = default_journal_dir().parent / "locks"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{host_of(url)}-{partition}") + ".lock"
        path = folder / name
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise InputError(f"cannot create the lock file in {folder}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(handle, 200, 0).decode("utf-8", "replace").strip() or "unknown"
            raise Refused(
                f"another nsfix apply or rollback holds the lock for {url} ({holder}); "
                f"wait for it to finish (lock file {path})"
            ) from None
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"pid {os.getpid()} user {getpass.getuser()}".encode(), 0)
        yield path
    finally:
        os.close(handle)


def confirm_or_refuse(question: str, *, yes: bool, interactive: bool, ask: Ask) -> None:
    if yes:
        return
    if not interactive:
        raise Refused("not on a terminal and --yes not given: nothing was written")
    answer = ask(f"{question} Type 'yes' to go on: ").strip().lower()
    if answer != "yes":
        raise Refused("not confirmed: nothing was written")


def changes_summary(changes: Sequence[Change]) -> list[str]:
    lines = []
    for change in changes:
        if change.operation.verb is Verb.UPDATE:
            what = ", ".join(f"{k} {change.before.get(k)} → {v}" for k, v in change.after.items())
        else:
            what = f"{change.operation.verb} {json.dumps(dict(change.operation.record))}"
        lines.append(f"  {change.id}{' (canary)' if change.canary else ''} {change.object}: {what}")
    return lines


def run_apply(
    plan_path: Path,
    target: Target,
    client_factory: Callable[[Target], NitroClient],
    options: ApplyOptions,
    *,
    dry_run: bool,
    yes: bool,
    interactive: bool,
    journal_path: Path | None,
    say: Say,
    ask: Ask,
    reaudit: Callable[[NitroClient, Plan], set[str]] | None = None,
    approval: RequiredApproval | None = None,
    watchdog: Callable[[Path], int] | None = None,
) -> Outcome:
    """`watchdog` starts the process that owns a --confirm-within deadline (nsfix.watchdog)."""
    the_plan, digest = load_plan(plan_path)
    approved = approval.check(digest) if approval is not None else None
    if approved is not None:
        say(approved.describe())
    _check_plan_target(the_plan, target)
    partition = plan_partition(the_plan)
    if not the_plan.changes:
        return Outcome(
            Report(RunStatus.NOTHING_TO_DO, ExitCode.NOTHING_TO_DO, [], ["the plan is empty"])
        )
    lock = contextlib.nullcontext() if dry_run else appliance_lock(target.url, partition)
    with lock, client_factory(target) as client:
        executor = Executor(
            client,
            the_plan.changes,
            options,
            say=say,
            reaudit=(lambda: reaudit(client, the_plan)) if reaudit else None,
        )
        facts, pending, done = _preflight(executor, the_plan, options, say, target.url)
        if not pending:
            return Outcome(
                Report(
                    RunStatus.NOTHING_TO_DO,
                    ExitCode.NOTHING_TO_DO,
                    [StepReport(c, StepOutcome.ALREADY_IN_PLACE) for c in the_plan.changes],
                    ["every change of the plan is already in place"],
                )
            )
        if dry_run:
            return Outcome(_dry_run_report(executor, pending, done, facts))
        say(f"{len(pending)} change(s) to {target.url} partition {partition}:")
        for line in changes_summary(pending):
            say(line)
        confirm_or_refuse(
            f"Apply {len(pending)} change(s) to {facts.hostname or target.url}?",
            yes=yes,
            interactive=interactive,
            ask=ask,
        )
        path = journal_path or default_journal_path(host_of(target.url), digest, datetime.now(UTC))
        journal = JournalWriter.create(path)
        executor.journal = journal
        say(f"journal: {path}")
        say(f"to undo later: nsfix rollback {path}")
        try:
            journal.write(
                "start",
                journal_version=JOURNAL_VERSION,
                run=str(uuid.uuid4()),
                nsfix_version=__version__,
                plan=str(plan_path),
                plan_digest=digest,
                approval=approved,
                target={
                    "url": target.url,
                    "partition": partition,
                    **the_plan.target,
                    # How the appliance was reached, so rollback and the watchdog go the same way.
                    **_route_record(target),
                },
                user={"local": _local_user(), "nitro": target.username},
                ticket=options.ticket,
                save=options.save,
                confirm_within=options.confirm_within,
                changes=the_plan.changes,
            )
            journal.write("preflight", **asdict(facts))
            if done:
                journal.write(
                    "result",
                    changes=[o.change.id for o in done],
                    phase=Phase.APPLY,
                    outcome=Recorded.SKIPPED,
                    detail="already in place before this run",
                )
            report = executor.apply(pending)
            journalled = executor.journal is not None
            if not journalled:
                # The executor stopped journalling because the journal could not be written.
                report.messages.append(
                    f"the journal {path} stops where writing it failed and does not record the "
                    "rollback; nsfix rollback on it only reverts what is still as nsfix left it"
                )
            if report.exit_code == ExitCode.OK and options.confirm_within is not None:
                report = await_confirmation(
                    executor,
                    journal,
                    pending,
                    report,
                    options,
                    say,
                    ask,
                    interactive,
                    guard=lambda: _guard_deadline(watchdog, journal, say),
                )
            if report.exit_code == ExitCode.OK and options.save:
                _save(
                    executor,
                    journal,
                    report,
                    done="running configuration saved",
                    failed=lambda exc: (
                        f"applied and verified, but saving the configuration failed: {exc}. "
                        "The changes are live but not saved: save on the appliance, or undo "
                        f"them with: nsfix rollback {journal.path}"
                    ),
                )
            if report.exit_code == ExitCode.ROLLBACK_INCOMPLETE:
                report.messages.append(ha_hint(client, path))
            if journalled:
                _write_end(journal, report, Phase.APPLY)
        finally:
            journal.close()
        report.messages.extend(f"warning: {w}" for w in facts.ha_warnings)
        return Outcome(report, path)


def _check_plan_target(the_plan: Plan, target: Target) -> None:
    plan_url = normalise_url(str(the_plan.target.get("url", "")))
    if target.url != plan_url:
        raise Refused(
            f"the plan was made for {plan_url}, not {target.url}: make a plan against the "
            "appliance you want to change"
        )


def _preflight(
    executor: Executor, the_plan: Plan, options: ApplyOptions, say: Say, url: str
) -> tuple[TargetFacts, list[Change], list[Observation]]:
    """The appliance, its saved state and every precondition: (facts, to apply, in place)."""
    facts = executor.check_target(the_plan.target)
    for warning in facts.ha_warnings:
        say(f"warning: {warning}")
    if options.save and facts.config_changed_before and not options.save_anyway:
        own = _own_rollback(url, plan_partition(the_plan), read_config_state(executor.client))
        if own is None:
            raise Refused(f"{UNSAVED_BY_OTHERS}, or pass --save-anyway")
        say(f"the unsaved changes are nsfix's own rollback ({own}); --save persists it too")
    observations, done = executor.preflight()
    return facts, [o.change for o in observations], done


def _dry_run_report(
    executor: Executor, pending: Sequence[Change], done: Sequence[Observation], facts: TargetFacts
) -> Report:
    report = Report(
        RunStatus.DRY_RUN,
        ExitCode.OK,
        [StepReport(c, StepOutcome.WOULD_APPLY) for c in pending]
        + [StepReport(o.change, StepOutcome.ALREADY_IN_PLACE) for o in done],
        [f"preconditions hold for {len(pending)} change(s); nothing was written"],
    )
    report.requests = executor.dry_run(pending)
    report.messages.extend(f"warning: {w}" for w in facts.ha_warnings)
    return report


def _save(
    executor: Executor,
    journal: JournalWriter,
    report: Report,
    *,
    done: str,
    failed: Callable[[NitroError], str],
) -> bool:
    """Save after a verified apply or rollback; a failed save is journalled, exits 1 and says
    what is live but not saved."""
    try:
        executor.save()
    except NitroError as exc:
        journal.write("save", ok=False, error=str(exc))
        report.exit_code = ExitCode.ERROR
        report.messages.append(failed(exc))
        return False
    report.messages.append(done)
    return True


def _write_end(journal: JournalWriter, report: Report, phase: Phase) -> None:
    """The run's last record: how it ended, and each change's outcome."""
    journal.write(
        "end",
        status=report.status,
        exit_code=int(report.exit_code),
        **({"phase": phase} if phase is Phase.ROLLBACK else {}),
        steps={s.change.id: s.outcome for s in report.steps},
    )


def _local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def ha_hint(client: NitroClient, journal: Path) -> str:
    """The exact command that finishes a rollback, and where to run it after an HA failover."""
    from nsfix.model import HaRole, ha_state

    command = f"nsfix rollback {journal}"
    try:
        ha = ha_state(client.get("hanode", attrs=["id", "ipaddress", "state"]))
    except Exception:
        return f"finish with: {command}"
    if ha.role.writable:
        return f"finish with: {command} (it reverts only what is still as nsfix left it)"
    what = (
        "an HA secondary"
        if ha.role is HaRole.SECONDARY
        else f"in HA state {ha.state or 'unknown'}, not the primary"
    )
    primary = ha.primary or (ha.peers[0] if ha.peers else None)
    if primary is None:
        # No peer address to name: a made-up URL would be worse than none.
        return (
            f"this node is now {what} and names no peer: finish on the primary "
            f"with: {command} --url https://PRIMARY (or, once this node is primary "
            f"again: {command})"
        )
    return (
        f"this node is now {what}: the primary ({primary}) may carry the "
        f"changes; finish with: {command} --url https://{primary}"
    )


def _guard_deadline(
    watchdog: Callable[[Path], int] | None, journal: JournalWriter, say: Say
) -> None:
    """Hand the deadline to a process that outlives this one, and say where to look."""
    if watchdog is None:
        return
    try:
        pid = watchdog(journal.path)
    except NsfixError as exc:
        say(
            f"warning: {exc}; the deadline holds only while this process runs (if it dies, "
            f"finish with: nsfix rollback {journal.path})"
        )
        return
    journal.write("watchdog", pid=pid)
    say(
        f"watchdog {pid} owns the deadline: it rolls back even if this process or its terminal "
        f"dies. See: nsfix status {journal.path}"
    )


def await_confirmation(
    executor: Executor,
    journal: JournalWriter,
    pending: Sequence[Change],
    report: Report,
    options: ApplyOptions,
    say: Say,
    ask: Ask,
    interactive: bool,
    guard: Callable[[], None] = lambda: None,
) -> Report:
    """Commit-confirm: keep the change only if someone confirms before the deadline.

    The deadline is in the journal before `guard` hands it to a watchdog, which reads it at
    once; and a stop signal from then on rolls back, as one during the wait does.
    """
    assert options.confirm_within is not None
    deadline = datetime.now(UTC) + timedelta(seconds=options.confirm_within)
    journal.write("confirm-wait", deadline=deadline.isoformat())
    why = "not confirmed in time"
    try:
        guard()
        say(
            f"applied and verified, NOT saved. Confirm before {deadline:%H:%M:%S} UTC by typing "
            f"'confirm' here or running: nsfix confirm {journal.path}; otherwise it is rolled "
            "back"
        )
        while datetime.now(UTC) < deadline:
            if read_journal(journal.path).confirmed:
                say("confirmed (nsfix confirm)")
                return report
            left = (deadline - datetime.now(UTC)).total_seconds()
            if interactive and _typed_confirm(min(1.0, left)):
                journal.write("confirmed", by=_local_user(), via="prompt")
                say("confirmed")
                return report
            if not interactive:
                executor.sleep(min(1.0, max(0.0, left)))
    except KeyboardInterrupt:
        # Ctrl-C, SIGTERM or SIGHUP while waiting means: do not keep it, roll back now.
        why = "interrupted while waiting for confirmation"
    # A confirmation may have arrived during the last wait. The journal decides: whichever of
    # `confirmed` and `confirm-timeout` was written first wins, here and in `nsfix confirm`.
    journal.write("confirm-timeout", reason=why)
    if read_journal(journal.path).confirmed:
        say("confirmed (nsfix confirm)")
        return report
    say(f"{why}: rolling back")
    rollback = executor.roll_back(
        [_applied(c) for c in pending], {s.change.id: s for s in report.steps}
    )
    rollback.messages.insert(0, why)
    if rollback.exit_code == ExitCode.OK:
        rollback.status = RunStatus.NOT_CONFIRMED
        rollback.exit_code = ExitCode.ROLLED_BACK
    return rollback


def _applied(change: Change) -> StepState:
    return StepState(change, Recorded.APPLIED)


def _typed_confirm(timeout: float) -> bool:
    ready, _, _ = select.select([sys.stdin], [], [], max(0.0, timeout))
    if not ready:
        return False
    return sys.stdin.readline().strip().lower() == "confirm"


def run_rollback(
    journal_path: Path,
    target: Target | None,
    client_factory: Callable[[Target], NitroClient],
    target_for: Callable[[str], Target],
    options: ApplyOptions,
    *,
    dry_run: bool,
    yes: bool,
    interactive: bool,
    say: Say,
    ask: Ask,
    save: bool | None = None,
) -> Outcome:
    """Revert what a journal applied: checks each object first, journals the rollback itself.

    `save`: True saves after a verified rollback of a change the saved configuration holds
    (under apply's safe-save policy), False never saves, None asks on a terminal.
    """
    state = read_journal(journal_path)
    partition = str(state.target.get("partition") or DEFAULT_PARTITION)
    problems = unplanned([s.change for s in state.steps], partition)
    if problems:
        # Its inverses are what a rollback writes: a journal edited since the run is not trusted.
        raise Refused(
            f"{journal_path} holds writes nsfix's planner never makes, so it was edited after "
            "the run; nothing was reverted",
            problems,
        )
    recorded = normalise_url(str(state.target.get("url", "")))
    if target is None:
        target = target_for(recorded)
    elif target.url != recorded:
        say(
            f"warning: the journal is for {recorded}; reverting on {target.url} as asked "
            "(for example the new primary after an HA failover)"
        )
    target = _recorded_route(state, target, recorded, say)
    pending = state.pending()
    if not pending:
        if save and left_unsaved(state.records) and not dry_run:
            return _save_later(state, target, client_factory, options, yes, interactive, say, ask)
        return Outcome(
            Report(
                RunStatus.NOTHING_TO_DO,
                ExitCode.NOTHING_TO_DO,
                [],
                ["the journal shows nothing that may still be on the appliance"],
            ),
            journal_path,
        )
    changes = [s.change for s in state.steps]
    lock = contextlib.nullcontext() if dry_run else appliance_lock(target.url, partition)
    with lock, client_factory(target) as client:
        executor = Executor(client, changes, options, say=say)
        executor.check_target({"partition": partition, "hostname": None})
        saving = _rollback_save(client, state, target.url, partition)
        if save and saving.holds_change and not saving.only_nsfix and not options.save_anyway:
            raise Refused(f"{UNSAVED_BY_OTHERS}, pass --save-anyway, or roll back without --save")
        observations = executor.observe([s.change for s in pending])
        to_revert = [o for o in observations if o.where is Where.AFTER]
        drifted = [o for o in observations if o.where is Where.DRIFTED]
        for o in drifted:
            say(f"changed since nsfix wrote it: {o.describe(Where.AFTER)}")
        if dry_run:
            reverted = to_revert + (drifted if options.force else [])
            requests = [
                b.request.render() for b in executor.revert_batches(o.change for o in reverted)
            ]
            drifted_outcome = (
                StepOutcome.WOULD_REVERT_DRIFTED
                if options.force
                else StepOutcome.WOULD_LEAVE_DRIFTED
            )
            report = Report(
                RunStatus.DRY_RUN,
                ExitCode.OK,
                [StepReport(o.change, StepOutcome.WOULD_REVERT) for o in to_revert]
                + [StepReport(o.change, drifted_outcome) for o in drifted],
                ["nothing was written"],
            )
            report.requests = requests
            report.messages[:0] = state.gaps()
            return Outcome(report, journal_path)
        if drifted and not options.force and not to_revert:
            raise Refused(
                "every object still on the appliance was changed since nsfix wrote it; "
                "nothing was reverted (use --force to overwrite those changes)",
                [o.describe(Where.AFTER) for o in drifted],
            )
        confirm_or_refuse(
            f"Revert {len(to_revert) + (len(drifted) if options.force else 0)} change(s) on "
            f"{target.url}?",
            yes=yes,
            interactive=interactive,
            ask=ask,
        )
        writer = JournalWriter.reopen(journal_path)
        executor.journal = writer
        try:
            writer.write(
                "rollback-start",
                user={"local": _local_user(), "nitro": target.username},
                url=target.url,
                **_route_record(target),
                force=options.force,
            )
            report = executor.roll_back(pending)
            offer = interactive and not yes and save is None
            _save_after_rollback(
                executor,
                writer,
                report,
                saving,
                save=save,
                ask=(lambda question: _asked(question, ask)) if offer else None,
                where=(target.url, partition),
            )
            _write_end(writer, report, Phase.ROLLBACK)
        finally:
            writer.close()
        # Said even when all went well: the operator must know the journal could not tell.
        report.messages[:0] = state.gaps()
        return Outcome(report, journal_path)


def _route_record(target: Target) -> dict[str, Any]:
    """The journal's note of a NetScaler Console route; nothing for a direct session."""
    return {"via": target.via.to_record()} if target.via is not None else {}


def _recorded_route(state: JournalState, target: Target, recorded: str, say: Say) -> Target:
    """The target, through the NetScaler Console the journal's run went through, unless the
    operator named a route or another appliance."""
    try:
        route = ConsoleRoute.from_record(state.target.get("via"))
    except RouteError as exc:
        raise JournalError(f"{state.path}: {exc}") from None
    if route is None or target.via is not None or target.url != recorded:
        return target
    say(f"through {route}, as the journal records")
    return replace(target, via=route)


def _rollback_save(
    client: NitroClient, state: JournalState, url: str, partition: str
) -> RollbackSave:
    """What the saved configuration holds, and whether saving is safe, before the rollback."""
    before = read_config_state(client)
    return RollbackSave.judge(
        state.records, before, _own_rollback(url, partition, before, state.path)
    )


def _own_rollback(url: str, partition: str, now: ConfigState, *first: Path) -> Path | None:
    """The journal of the nsfix rollback that made every unsaved change (see saved_config),
    looked for in `first`, then in the journal folder."""
    return own_rollback(url, partition, now, [*first, *recent_journals(default_journal_dir())])


def _save_after_rollback(
    executor: Executor,
    journal: JournalWriter,
    report: Report,
    saving: RollbackSave,
    *,
    save: bool | None,
    ask: Callable[[str], bool] | None,
    where: tuple[str, str],
) -> None:
    """Save when asked to (or when the operator says so), and say plainly what the saved
    configuration holds; the journal's `saved-config` record says it too."""
    later = f"To save: nsfix rollback {journal.path} --save"
    saved = False
    if report.exit_code != ExitCode.OK:
        if saving.holds_change:
            report.messages.append(
                f"not saved: the rollback is incomplete, and {HOLDS} ({saving.why_saved})"
            )
    elif not saving.holds_change:
        report.messages.append(
            "the apply did not save the change: the saved configuration does not hold it "
            "(unless someone saved since), so there is nothing to save"
        )
    else:
        question = (
            f"{HOLDS} ({saving.why_saved}). Save the running configuration now, so that it no "
            "longer does?"
        )
        wanted = save if save is not None else bool(ask and saving.only_nsfix and ask(question))
        if wanted:
            saved = _save(
                executor,
                journal,
                report,
                done=SAVED,
                failed=lambda exc: (
                    f"rolled back and verified, but saving the configuration failed: {exc}. "
                    f"NOT saved: {HOLDS}. {later}"
                ),
            )
        else:
            message = (
                f"NOT saved: {HOLDS} ({saving.why_saved}); the running configuration no longer "
                "does, so a reboot, or a failover to a node that loads the saved configuration, "
                f"brings the change back. {later}"
            )
            if not saving.only_nsfix:
                message += (
                    " (saving would also persist unsaved changes nsfix did not make: add "
                    "--save-anyway)"
                )
            report.messages.append(message)
    _record_saved_config(
        executor,
        journal,
        where,
        holds_change=saving.holds_change and not saved,
        only_nsfix=saving.only_nsfix,
    )


def _record_saved_config(
    executor: Executor,
    journal: JournalWriter,
    where: tuple[str, str],
    *,
    holds_change: bool,
    only_nsfix: bool,
) -> None:
    try:
        now = read_config_state(executor.client)
    except NitroError:
        # Without the appliance's change time no later save can tell the rollback was the last
        # change: it is refused as someone else's, the safe side.
        return
    url, partition = where
    journal.write(
        SAVED_CONFIG,
        **saved_record(url, partition, now, holds_change=holds_change, only_nsfix=only_nsfix),
    )


def _asked(question: str, ask: Ask) -> bool:
    return ask(f"{question} Type 'yes' to save: ").strip().lower() == "yes"


def _save_later(
    state: JournalState,
    target: Target,
    client_factory: Callable[[Target], NitroClient],
    options: ApplyOptions,
    yes: bool,
    interactive: bool,
    say: Say,
    ask: Ask,
) -> Outcome:
    """`rollback --save` of a run whose rollback left the saved configuration holding the
    change: save now, under the same policy as right after the rollback."""
    partition = str(state.target.get("partition") or DEFAULT_PARTITION)
    report = Report(RunStatus.ROLLED_BACK, ExitCode.OK, [], ["nothing left to revert"])
    with appliance_lock(target.url, partition), client_factory(target) as client:
        executor = Executor(client, [], options, say=say)
        executor.check_target({"partition": partition, "hostname": None})
        now = read_config_state(client)
        own = _own_rollback(target.url, partition, now, state.path)
        if now.changed and own is None and not options.save_anyway:
            raise Refused(f"{UNSAVED_BY_OTHERS}, or pass --save-anyway")
        if now.changed:
            confirm_or_refuse(
                f"Save the running configuration of {target.url}?",
                yes=yes,
                interactive=interactive,
                ask=ask,
            )
        writer = JournalWriter.reopen(state.path)
        executor.journal = writer
        try:
            if not now.changed:
                report.messages.append(f"the configuration was saved since the rollback: {SAVED}")
            saved = not now.changed or _save(
                executor,
                writer,
                report,
                done=SAVED,
                failed=lambda exc: f"saving the configuration failed: {exc}. NOT saved: {HOLDS}",
            )
            _record_saved_config(
                executor,
                writer,
                (target.url, partition),
                holds_change=not saved,
                only_nsfix=own is not None,
            )
        finally:
            writer.close()
    return Outcome(report, state.path)


def run_confirm(journal_path: Path, say: Say) -> None:
    state = read_journal(journal_path)
    if state.confirm_deadline is None:
        raise JournalError(f"{journal_path}: this run did not ask for confirmation")
    if state.confirmed:
        say("already confirmed")
        return
    if state.status is not None:
        raise JournalError(f"{journal_path}: the run has ended ({state.status}); too late")
    if state.confirm_timed_out:
        raise JournalError(f"{journal_path}: too late: the deadline passed; it is rolling back")
    deadline = state.confirm_deadline
    if datetime.now(UTC) >= deadline:
        raise JournalError(f"{journal_path}: the deadline {deadline:%H:%M:%S} UTC has passed")
    writer = JournalWriter.reopen(journal_path)
    try:
        writer.write("confirmed", by=_local_user(), via="nsfix confirm")
    finally:
        writer.close()
    if not read_journal(journal_path).confirmed:
        # The waiting apply wrote its timeout first: it rolls back, whatever we just wrote.
        raise JournalError(
            f"{journal_path}: too late: the deadline passed just now and the change is being "
            "rolled back"
        )
    say(f"confirmed; the waiting apply keeps the change (journal {journal_path})")


def run_status(journal_path: Path) -> dict[str, Any]:
    """What a journal says about its run now: how it ended, a deadline, the watchdog, steps."""
    from nsfix.watchdog import alive

    state = read_journal(journal_path)
    pids = [r.get("pid") for r in state.records if r.get("type") == "watchdog"]
    pid = pids[-1] if pids and isinstance(pids[-1], int) else None
    deadline = state.confirm_deadline
    left = None
    if deadline is not None and not (state.confirmed or state.status is not None):
        left = max(0.0, (deadline - datetime.now(UTC)).total_seconds())
    return {
        "journal": str(journal_path),
        "url": state.target.get("url"),
        "partition": state.target.get("partition") or DEFAULT_PARTITION,
        "plan_digest": state.plan_digest,
        "ended": state.status is not None,
        "status": state.status,
        "confirm_deadline": deadline.isoformat() if deadline is not None else None,
        "confirmed": state.confirmed,
        "confirm_timed_out": state.confirm_timed_out,
        "seconds_left": left,
        "watchdog": None if pid is None else {"pid": pid, "running": alive(pid)},
        "steps": {
            s.change.id: {
                "object": str(s.change.object),
                "applied": s.applied,
                "reverted": s.reverted,
                "may_be_on_appliance": s.may_be_on_appliance,
            }
            for s in state.steps
        },
    }


def status_lines(report: dict[str, Any]) -> list[str]:
    lines = [
        f"journal: {report['journal']}",
        f"appliance: {report['url']} partition {report['partition']}, plan {report['plan_digest']}",
    ]
    if report["ended"]:
        lines.append(f"run: ended ({report['status']})")
    else:
        lines.append("run: not ended (still running, waiting, or killed)")
    if report["confirm_deadline"]:
        if report["confirmed"]:
            state = "confirmed"
        elif report["confirm_timed_out"]:
            state = "not confirmed in time"
        else:
            state = (
                f"pending, {report['seconds_left']:.0f} s left: nsfix confirm {report['journal']}"
            )
        lines.append(f"confirmation: deadline {report['confirm_deadline']}: {state}")
    watchdog = report["watchdog"]
    if watchdog is not None:
        running = "running" if watchdog["running"] else "gone"
        lines.append(f"watchdog: pid {watchdog['pid']} ({running})")
    for change, step in report["steps"].items():
        where = "may be on the appliance" if step["may_be_on_appliance"] else "not on the appliance"
        lines.append(
            f"  {change} {step['object']}: applied {step['applied'] or '-'}, reverted "
            f"{step['reverted'] or '-'} ({where})"
        )
    return lines
