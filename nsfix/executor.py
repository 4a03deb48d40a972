"""The executor: the only code that writes to an appliance.

Preflight (target, partition, HA role, drift against every precondition), a journal record
before and after every write, the canary alone, the rest in bulk batches, verification by
reading back, and on any failure a compare-and-set rollback in reverse order that is itself
journalled and verified.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from nsfix.errors import NsfixError
from nsfix.exitcodes import ExitCode
from nsfix.inventory import PAGE_SIZE
from nsfix.journal import JournalError, JournalWriter, Phase, Recorded, StepState
from nsfix.model import DEFAULT_PARTITION, HaRole, ha_state, ha_warnings
from nsfix.nitro import NitroClient, NitroError, NitroNotFound, NitroTransportError
from nsfix.nitro.writes import (
    WriteRequest,
    describe_add,
    describe_bind,
    describe_delete,
    describe_save_config,
    describe_unbind,
    describe_update,
    describe_update_bulk,
)
from nsfix.planner import Change, Operation, Verb
from nsfix.resources import DOWN_STATES, WILDCARD_PORT, Binding, key_of, resource, same_value

DEFAULT_BATCH_SIZE: Final = 500
"""Updates per bulk request: 1,000 changes go out in 3 writes (the canary, 500, 499), 5,000 in
11. NITRO runs a bulk request item by item and answers each (X-NITRO-ONERROR: continue)."""
LIST_READ_FROM: Final = 8
"""From this many objects of one type (or binding parents), they are read with one list read
of the type instead of one GET each."""


class Where(StrEnum):
    """Where an object is, relative to one change."""

    BEFORE = "before"
    AFTER = "after"
    DRIFTED = "drifted"


class StepOutcome(StrEnum):
    """What happened to one change in a run; the words the report and the journal's end use."""

    NOT_ATTEMPTED = "not attempted"
    ALREADY_IN_PLACE = "already in place"
    WOULD_APPLY = "would apply"
    IN_FLIGHT = "sent, no answer"
    """Sent, and the run was cut short (Ctrl-C) before the appliance answered."""
    APPLIED = "applied"
    APPLY_FAILED = "apply failed"
    APPLY_UNKNOWN = "apply unknown"
    APPLIED_VERIFIED = "applied and verified"
    WOULD_REVERT = "would revert"
    WOULD_REVERT_DRIFTED = "drifted: would revert (--force)"
    WOULD_LEAVE_DRIFTED = "drifted: would leave alone"
    REVERTED = "reverted"
    ROLLBACK_FAILED = "rollback failed"
    ROLLBACK_UNKNOWN = "rollback unknown"
    REVERTED_VERIFIED = "reverted and verified"
    NOT_APPLIED = "not applied (as before)"
    LEFT_ALONE = "changed since nsfix wrote it: left alone"


# After a rollback, these leave nothing of the change on the appliance.
SETTLED: Final = frozenset(
    {
        StepOutcome.REVERTED_VERIFIED,
        StepOutcome.NOT_APPLIED,
        StepOutcome.NOT_ATTEMPTED,
        StepOutcome.ALREADY_IN_PLACE,
    }
)

# The step outcome of each journalled write outcome, per phase.
_SENT: Final[Mapping[tuple[Phase, Recorded], StepOutcome]] = {
    (Phase.APPLY, Recorded.APPLIED): StepOutcome.APPLIED,
    (Phase.APPLY, Recorded.FAILED): StepOutcome.APPLY_FAILED,
    (Phase.APPLY, Recorded.UNKNOWN): StepOutcome.APPLY_UNKNOWN,
    (Phase.ROLLBACK, Recorded.REVERTED): StepOutcome.REVERTED,
    (Phase.ROLLBACK, Recorded.FAILED): StepOutcome.ROLLBACK_FAILED,
    (Phase.ROLLBACK, Recorded.UNKNOWN): StepOutcome.ROLLBACK_UNKNOWN,
}


class RunStatus(StrEnum):
    """How an apply or rollback ended (`status` of the result document and the journal's end)."""

    APPLIED = "applied"
    DRY_RUN = "dry-run"
    NOTHING_TO_DO = "nothing-to-do"
    ROLLED_BACK = "rolled-back"
    NOT_CONFIRMED = "not-confirmed-rolled-back"
    ROLLBACK_INCOMPLETE = "rollback-incomplete"
    REFUSED = "refused"
    ERROR = "error"


class ProblemKind(StrEnum):
    NOT_AS_EXPECTED = "not-as-expected"
    """Read back, the object is not where the run left it."""
    WENT_DOWN = "went-down"
    """A backend that was UP before the change is DOWN now (monitors may still settle)."""
    STILL_FOUND = "still-found"
    """The audit after the change still finds what the change should have fixed."""
    UNREADABLE = "unreadable"
    """The objects could not be read back at all."""


@dataclass(frozen=True)
class Problem:
    """Something verification found, as data: about one change, or (change None) about all."""

    kind: ProblemKind
    detail: str
    change: Change | None = None

    def concerns(self, change: Change) -> bool:
        return self.change is None or self.change.id == change.id

    def __str__(self) -> str:
        if self.kind is ProblemKind.NOT_AS_EXPECTED:
            return f"read back: {self.detail}"
        if self.kind is ProblemKind.STILL_FOUND:
            return f"audit still finds {self.detail}"
        if self.kind is ProblemKind.UNREADABLE:
            return f"could not read back: {self.detail}"
        return self.detail


@dataclass(frozen=True)
class TargetFacts:
    """What preflight learnt about the appliance; journalled as the `preflight` record."""

    hostname: str | None
    ha_role: HaRole
    config_changed_before: bool
    ha_warnings: tuple[str, ...]


class Refused(NsfixError):
    """Preflight said no; nothing was written. The message says why and what to do."""

    exit_code = ExitCode.REFUSED

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.details = tuple(details)


@dataclass(frozen=True)
class ApplyOptions:
    batch_size: int = DEFAULT_BATCH_SIZE
    settle_seconds: float = 30.0
    """How long to wait for monitors before calling a backend that went DOWN a failure."""
    poll_seconds: float = 2.0
    save: bool = False
    save_anyway: bool = False
    confirm_within: float | None = None
    ticket: str | None = None
    force: bool = False
    """rollback only: revert objects that changed since nsfix wrote them."""
    unknown_wait: float = 10.0
    """How long a rollback keeps looking at a write whose outcome is unknown before it calls it
    'not applied': the appliance may still commit a request its client gave up waiting for."""
    page_size: int = PAGE_SIZE
    """Objects per page of the list reads, as inventory reads them (NSFIX_PAGE_SIZE)."""


@dataclass(frozen=True)
class Observation:
    """An object as the appliance shows it now, for one change."""

    change: Change
    where: Where
    current: Mapping[str, str]
    state: str | None = None
    """The backend's monitor state (svrstate), when the object has one."""

    def describe(self, against: Where = Where.BEFORE) -> str:
        """Now against the plan's before (preflight, rollback) or what nsfix set (AFTER)."""
        if self.change.operation.verb is Verb.UPDATE:
            now = ", ".join(f"{k} {self.current.get(k, '?')}" for k in self.change.after)
            if against is Where.AFTER:
                done = ", ".join(f"{k} {v}" for k, v in self.change.after.items())
                return f"{self.change.object}: now {now}; nsfix set {done}"
            was = ", ".join(f"{k} {v}" for k, v in self.change.before.items())
            return f"{self.change.object}: now {now}; the plan expected {was}"
        present = "present" if self.current.get("present") == "yes" else "absent"
        if against is Where.AFTER:
            made = "present" if self.change.operation.verb.creates else "absent"
            return f"{self.change.object}: {present}; nsfix made it {made}"
        return f"{self.change.object}: {present}; the plan expected it {self.change.precondition}"


@dataclass
class StepReport:
    change: Change
    outcome: StepOutcome = StepOutcome.NOT_ATTEMPTED
    detail: str = ""


@dataclass
class Report:
    """What happened, object by object, and the exit code that sums it up."""

    status: RunStatus
    exit_code: ExitCode
    steps: list[StepReport]
    messages: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    """Dry run: the exact requests apply would send."""


@dataclass(frozen=True)
class Batch:
    """Changes that go out in one request, and that request: what apply sends and a dry run
    prints come from here, so the two cannot differ."""

    changes: tuple[Change, ...]
    phase: Phase
    request: WriteRequest


Say = Callable[[str], None]
Row = dict[str, Any]


def binding_of(op: Operation) -> Binding:
    entry = resource(op.resource).binding
    if entry is None:
        raise ValueError(f"{op.resource} is not a binding")
    return entry


def parent_and_args(op: Operation) -> tuple[str, dict[str, Any]]:
    """The binding's parent (the URL key) and the attributes naming the bound object."""
    binding = binding_of(op)
    args = {key: op.record[key] for key in binding.identity if op.record.get(key) not in (None, "")}
    if not args:
        raise ValueError(f"{op.resource} record names no bound object: {dict(op.record)}")
    return str(op.record[binding.parent_key]), args


def binding_matches(row: Mapping[str, Any], args: Mapping[str, Any]) -> bool:
    """Whether a binding the appliance lists is the one `args` names (every attribute equal)."""
    return all(
        _child_word(key, row.get(key)) == _child_word(key, value) for key, value in args.items()
    )


def _child_word(key: str, value: Any) -> str:
    word = "" if value is None else str(value)
    # The CLI's `*` port is 65535 in NITRO; either spelling names the same member.
    return str(WILDCARD_PORT) if key == "port" and word == "*" else word


def _is_binding(op: Operation) -> bool:
    return resource(op.resource).binding is not None


def request_for(changes: Sequence[Change], phase: Phase) -> WriteRequest:
    """The one request that carries `changes` (their operations, or in rollback their
    inverses): the only place a write is built."""
    ops = [c.operation if phase is Phase.APPLY else c.inverse for c in changes]
    if len(ops) > 1:
        # Only a run of updates of one resource type goes in one request (see schedule).
        assert all(op.verb is Verb.UPDATE and op.resource == ops[0].resource for op in ops)
        return describe_update_bulk(ops[0].resource, [op.record for op in ops], onerror="continue")
    [op] = ops
    if op.verb is Verb.UPDATE:
        return describe_update(op.resource, op.record)
    if op.verb is Verb.ADD:
        return describe_add(op.resource, op.record)
    if op.verb is Verb.DELETE:
        return describe_delete(op.resource, str(op.record[key_of(op.resource)]))
    if op.verb is Verb.BIND:
        return describe_bind(op.resource, op.record)
    if op.verb is Verb.UNBIND:
        parent, args = parent_and_args(op)
        return describe_unbind(op.resource, parent, args)
    raise ValueError(f"unknown operation {op.verb!r}")


class Executor:
    """Applies one plan (or reverts one journal) through one logged-in client."""

    def __init__(
        self,
        client: NitroClient,
        changes: Sequence[Change],
        options: ApplyOptions,
        *,
        say: Say,
        journal: JournalWriter | None = None,
        reaudit: Callable[[], set[str]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.changes = list(changes)
        self.options = options
        self.say = say
        self.journal = journal
        self.reaudit = reaudit
        self.clock = clock
        self.sleep = sleep
        self.states_before: dict[str, str | None] = {}
        self._positions = {c.id: i for i, c in enumerate(self.changes)}
        self._sent_at: dict[str, datetime | None] = {}

    # --- reading ------------------------------------------------------------------------

    def observe(self, changes: Iterable[Change]) -> list[Observation]:
        """Read every object the changes touch, reads only: one list read per resource type
        (paged like the inventory), or one GET per object when only a few of a type are asked
        for (a handful of small replies beats one reply of every object on the appliance)."""
        wanted = list(changes)
        by_type: dict[str, list[Change]] = {}
        for change in wanted:
            by_type.setdefault(change.operation.resource, []).append(change)
        seen: dict[str, Observation] = {}
        for name, group in by_type.items():
            rows = self._read_type(name, group)
            for change in group:
                seen[change.id] = _judge(change, rows(change))
        return [seen[c.id] for c in wanted]

    def _read_type(self, name: str, group: Sequence[Change]) -> Callable[[Change], list[Row]]:
        """The rows that show each change's object: one change -> the object's row (none when
        it is absent) or, for a binding, every binding of its parent."""
        entry = resource(name)
        if entry.binding is not None:
            binding = entry.binding
            parents = sorted({parent_and_args(c.operation)[0] for c in group})
            if len(parents) < LIST_READ_FROM:
                by_parent = {parent: self._get_or_none(name, parent) for parent in parents}
            else:
                attrs = sorted({binding.parent_key, *binding.identity})
                listed = self.client.get_all(
                    name,
                    attrs=attrs,
                    filter=_shared_identity(group, binding),
                    bulkbindings=True,
                    page_size=self.options.page_size,
                )
                by_parent = {}
                for row in listed:
                    by_parent.setdefault(str(row.get(binding.parent_key)), []).append(row)
            return lambda change: by_parent.get(parent_and_args(change.operation)[0], [])
        attrs = sorted(
            {entry.key, *([entry.state] if entry.state else [])}
            | {a for c in group for a in (*c.after, *c.before)}
        )
        names = sorted({str(c.operation.record[entry.key]) for c in group})
        if len(names) < LIST_READ_FROM:
            by_name = {n: self._get_or_none(name, n, attrs) for n in names}
        else:
            listed = self.client.get_all(name, attrs=attrs, page_size=self.options.page_size)
            by_name = {}
            for row in listed:
                by_name.setdefault(str(row.get(entry.key)), []).append(row)
        return lambda change: by_name.get(str(change.operation.record[entry.key]), [])

    def _get_or_none(self, name: str, key: str, attrs: Sequence[str] | None = None) -> list[Row]:
        try:
            return self.client.get(name, key, attrs=attrs)
        except NitroNotFound:
            return []

    # --- preflight ----------------------------------------------------------------------

    def check_target(self, plan_target: Mapping[str, Any]) -> TargetFacts:
        """Same appliance, same partition, a primary node; returns facts for the journal."""
        partition = str(plan_target.get("partition") or DEFAULT_PARTITION)
        if partition != (self.client.partition or DEFAULT_PARTITION):
            self.client.switch_partition(partition)
        # An appliance without a hostname is named by its address: no error.
        names = self.client.get("nshostname", attrs=["hostname"])
        hostname = names[0].get("hostname") if names else None
        expected = plan_target.get("hostname")
        if expected and hostname and str(hostname) != str(expected):
            raise Refused(
                f"this appliance is {hostname!r}, but the plan was made for {expected!r}: "
                "make a plan against this appliance"
            )
        try:
            nodes = self.client.get("hanode", attrs=["id", "ipaddress", "state", "hasync"])
        except NitroNotFound:
            nodes = []
        ha = ha_state(nodes)
        why = ha.refusal(self.client.where)
        if why is not None:
            raise Refused(f"{why}; nothing was written")
        config = self.client.get_singleton("nsconfig", attrs=["configchanged"])
        changed = config.get("configchanged")
        changed_before = changed if isinstance(changed, bool) else str(changed).lower() == "true"
        return TargetFacts(
            hostname=None if hostname is None else str(hostname),
            ha_role=ha.role,
            config_changed_before=changed_before,
            ha_warnings=tuple(ha_warnings(nodes)),
        )

    def preflight(self) -> tuple[list[Observation], list[Observation]]:
        """(to apply, already in place); refuses if anything drifted since the plan."""
        observations = self.observe(self.changes)
        drifted = [o for o in observations if o.where is Where.DRIFTED]
        if drifted:
            raise Refused(
                f"{len(drifted)} object(s) changed since the plan was made; nothing was written. "
                "Make a new plan",
                [o.describe() for o in drifted],
            )
        for o in observations:
            self.states_before[o.change.id] = o.state
        pending = [o for o in observations if o.where is Where.BEFORE]
        done = [o for o in observations if o.where is Where.AFTER]
        return pending, done

    # --- the requests -------------------------------------------------------------------

    def schedule(self, pending: Sequence[Change]) -> list[Batch]:
        """The requests of an apply, in order: the canary alone, then consecutive updates of one
        resource type together (up to --batch-size), everything else alone."""
        groups = self._grouped(pending, Phase.APPLY)
        if groups and len(groups[0]) > 1:
            # The canary goes alone, whatever the batching.
            groups = [[groups[0][0]], groups[0][1:], *groups[1:]]
        return [Batch(tuple(g), Phase.APPLY, request_for(g, Phase.APPLY)) for g in groups]

    def revert_batches(self, changes: Iterable[Change]) -> list[Batch]:
        """The requests of a rollback, newest change first: consecutive inverse updates of one
        resource type together (up to --batch-size), everything else alone; no canary (the
        state it returns to was live before)."""
        order = sorted(changes, key=self._position, reverse=True)
        groups = self._grouped(order, Phase.ROLLBACK)
        return [Batch(tuple(g), Phase.ROLLBACK, request_for(g, Phase.ROLLBACK)) for g in groups]

    def _grouped(self, changes: Sequence[Change], phase: Phase) -> list[list[Change]]:
        def op(change: Change) -> Operation:
            return change.operation if phase is Phase.APPLY else change.inverse

        groups: list[list[Change]] = []
        for change in changes:
            last = groups[-1] if groups else None
            if (
                last is not None
                and op(change).verb is Verb.UPDATE
                and op(last[0]).verb is Verb.UPDATE
                and op(last[0]).resource == op(change).resource
                and len(last) < self.options.batch_size
            ):
                last.append(change)
            else:
                groups.append([change])
        return groups

    def dry_run(self, pending: Sequence[Change]) -> list[str]:
        """The exact requests apply would send, in order, batched as apply would batch them."""
        return [batch.request.render() for batch in self.schedule(pending)]

    # --- writing ------------------------------------------------------------------------

    def _journal(self, kind: str, **values: Any) -> None:
        if self.journal is not None:
            self.journal.write(kind, **values)

    def send(self, batch: Batch, steps: Mapping[str, StepReport]) -> bool:
        """The batch's request, journalled around it. False when anything failed."""
        phase = batch.phase
        success = Recorded.APPLIED if phase is Phase.APPLY else Recorded.REVERTED
        # One intent for the whole request, naming its changes: the body is their operations
        # (or inverses), which the start record holds once.
        self._journal(
            "intent", phase=phase, changes=_ids(batch.changes), request=_request_head(batch)
        )
        outcomes: list[tuple[Recorded, str]]
        for change in batch.changes:
            steps[change.id].outcome = StepOutcome.IN_FLIGHT
        try:
            results = self.client.writer().send(batch.request)
            outcomes = [
                (success, "") if r.ok else (Recorded.FAILED, f"{r.errorcode}: {r.message}")
                for r in results
            ]
            # A reply with fewer items than sent says nothing against the rest: they landed.
            outcomes += [(success, "")] * (len(batch.changes) - len(outcomes))
        except NitroTransportError as exc:
            recorded = Recorded.UNKNOWN if exc.outcome_unknown else Recorded.FAILED
            outcomes = [(recorded, str(exc))] * len(batch.changes)
        except NitroError as exc:
            bulk = getattr(exc, "results", None)
            if bulk:
                outcomes = [
                    (success, "") if r.ok else (Recorded.FAILED, f"{r.errorcode}: {r.message}")
                    for r in bulk
                ]
                outcomes += [(success, "")] * (len(batch.changes) - len(outcomes))
            else:
                # Only NITRO's own error answer proves the write was refused; a broken reply,
                # an HTML page or a bare HTTP status may come after the write committed.
                refused = exc.errorcode is not None
                recorded = Recorded.FAILED if refused else Recorded.UNKNOWN
                outcomes = [(recorded, str(exc))] * len(batch.changes)
        ok = True
        together: dict[tuple[Recorded, str], list[Change]] = {}
        for change, (recorded, detail) in zip(batch.changes, outcomes, strict=True):
            together.setdefault((recorded, detail), []).append(change)
        for (recorded, detail), changes in together.items():
            self._journal(
                "result", phase=phase, changes=_ids(changes), outcome=recorded, detail=detail
            )
            for change in changes:
                steps[change.id].outcome = _SENT[phase, recorded]
                steps[change.id].detail = detail
            ok = ok and recorded is success
        return ok

    # --- verification -------------------------------------------------------------------

    def verify(self, changes: Sequence[Change], expect: Where) -> list[Problem]:
        """Problems with `changes` being in state `expect`; waits for monitors to settle."""
        deadline = self.clock() + self.options.settle_seconds
        while True:
            problems = []
            for o in self.observe(changes):
                if o.where is not expect:
                    problems.append(
                        Problem(ProblemKind.NOT_AS_EXPECTED, o.describe(expect), o.change)
                    )
                    continue
                was = self.states_before.get(o.change.id)
                if was == "UP" and o.state in DOWN_STATES:
                    problems.append(
                        Problem(
                            ProblemKind.WENT_DOWN,
                            f"{o.change.object} was UP before the change and is now {o.state}",
                            o.change,
                        )
                    )
            settling = problems and all(p.kind is ProblemKind.WENT_DOWN for p in problems)
            if not settling or self.clock() >= deadline:
                return problems
            self.say(f"waiting for monitors: {problems[0]}")
            self.sleep(self.options.poll_seconds)

    # --- the whole run ------------------------------------------------------------------

    def apply(self, pending: Sequence[Change]) -> Report:
        steps = {c.id: StepReport(c) for c in self.changes}
        sending = {c.id for c in pending}
        for change in self.changes:
            if change.id not in sending:
                steps[change.id].outcome = StepOutcome.ALREADY_IN_PLACE
        applied: list[Change] = []
        try:
            for index, batch in enumerate(self.schedule(pending)):
                # Counted before it is sent: if anything interrupts the send (Ctrl-C, the
                # journal), the rollback must look at this batch too; compare-and-set skips
                # whatever did not change.
                applied.extend(batch.changes)
                if not self.send(batch, steps):
                    bad = [c for c in batch.changes if steps[c.id].outcome != StepOutcome.APPLIED]
                    first = steps[bad[0].id]
                    return self.fail_and_roll_back(
                        applied,
                        steps,
                        f"the write of {', '.join(c.id for c in bad)} failed: "
                        f"{first.detail or first.outcome}",
                    )
                if index == 0:
                    problems = self.verify(batch.changes, Where.AFTER)
                    if problems:
                        return self.fail_and_roll_back(
                            applied, steps, "the canary did not verify: " + _joined(problems)
                        )
                    canary = batch.changes[0]
                    self.say(f"canary {canary.id} {canary.object} applied and verified")
            problems = self.verify(list(pending), Where.AFTER)
            if not problems and self.reaudit is not None:
                expected_gone = {key for c in pending for key in c.fixes}
                still = sorted(expected_gone & self.reaudit())
                if still:
                    problems = [Problem(ProblemKind.STILL_FOUND, ", ".join(still))]
            if problems:
                self._journal("verify", ok=False, problems=[str(p) for p in problems])
                return self.fail_and_roll_back(
                    applied, steps, "verification failed: " + _joined(problems)
                )
            self._journal("verify", ok=True)
            for change in pending:
                steps[change.id].outcome = StepOutcome.APPLIED_VERIFIED
            return Report(RunStatus.APPLIED, ExitCode.OK, list(steps.values()))
        except KeyboardInterrupt:
            self.say("interrupted: rolling back what was applied")
            return self.fail_and_roll_back(applied, steps, "interrupted")
        except NitroError as exc:
            return self.fail_and_roll_back(applied, steps, str(exc))
        except JournalError as exc:
            # Nothing more may go out unrecorded, but what is live must not stay half-applied:
            # roll back without the journal (its records stop here).
            self.journal = None
            return self.fail_and_roll_back(
                applied, steps, f"{exc}; nothing more was sent, and the rollback is not journalled"
            )

    def fail_and_roll_back(
        self, applied: Sequence[Change], steps: dict[str, StepReport], why: str
    ) -> Report:
        self.say(f"apply failed: {why}; rolling back {len(applied)} change(s)")
        report = self.roll_back(
            [StepState(c, _as_sent(steps[c.id].outcome)) for c in applied], steps
        )
        report.messages.insert(0, f"apply failed: {why}")
        if report.exit_code == ExitCode.OK:
            report.status = RunStatus.ROLLED_BACK
            report.exit_code = ExitCode.ROLLED_BACK
        return report

    def roll_back(
        self, pending: Sequence[StepState], steps: dict[str, StepReport] | None = None
    ) -> Report:
        """Revert, newest first, only what is still as nsfix left it (unless forced). A write
        whose outcome is unknown and that reads as before is watched until it shows or the
        appliance has had time to finish it."""
        steps = steps if steps is not None else {s.change.id: StepReport(s.change) for s in pending}
        order = sorted(pending, key=lambda s: self._position(s.change), reverse=True)
        messages: list[str] = []
        to_verify: list[Change] = []
        watch: list[Change] = []
        self._sent_at = {s.change.id: s.sent_at for s in pending}
        try:
            watch.extend(s.change for s in order if s.applied is Recorded.UNKNOWN)
            self._revert_where_nsfix_left_it(
                [s.change for s in order], steps, messages, to_verify, watch
            )
            self._wait_out(watch, steps, messages, to_verify)
        except NitroError as exc:
            messages.append(f"rollback stopped: {exc}")
        except KeyboardInterrupt:
            messages.append("rollback interrupted")
        problems: list[Problem] = []
        if to_verify:
            try:
                problems = self.verify(to_verify, Where.BEFORE)
            except NitroError as exc:
                problems = [Problem(ProblemKind.UNREADABLE, str(exc))]
        for change in to_verify:
            if steps[change.id].outcome is StepOutcome.REVERTED and not any(
                p.concerns(change) for p in problems
            ):
                steps[change.id].outcome = StepOutcome.REVERTED_VERIFIED
        messages.extend(str(p) for p in problems)
        unresolved = [s for s in steps.values() if s.outcome not in SETTLED]
        if unresolved or messages:
            return Report(
                RunStatus.ROLLBACK_INCOMPLETE,
                ExitCode.ROLLBACK_INCOMPLETE,
                list(steps.values()),
                messages,
            )
        return Report(RunStatus.ROLLED_BACK, ExitCode.OK, list(steps.values()), messages)

    def _revert_where_nsfix_left_it(
        self,
        changes: Sequence[Change],
        steps: dict[str, StepReport],
        messages: list[str],
        to_verify: list[Change],
        watch: list[Change],
    ) -> None:
        """Compare, then set: read the changes' objects (one request per resource type), then
        revert, in bulk, those that are as nsfix left them."""
        revert: list[Change] = []
        as_before: list[Change] = []
        watched = {c.id for c in watch}
        for seen in self.observe(changes):
            change = seen.change
            if seen.where is Where.BEFORE:
                if change.id not in watched:  # unknown outcome: not 'as before' until waited
                    as_before.append(change)
                    steps[change.id].outcome = StepOutcome.NOT_APPLIED
                continue
            watched.discard(change.id)
            if seen.where is Where.DRIFTED and not self.options.force:
                steps[change.id].outcome = StepOutcome.LEFT_ALONE
                steps[change.id].detail = seen.describe(Where.AFTER)
                messages.append(f"not reverted, changed since: {seen.describe(Where.AFTER)}")
                continue
            revert.append(change)
        watch[:] = [c for c in watch if c.id in watched]
        if as_before:
            # One record for the read, naming each object it found as before.
            self._journal(
                "result",
                changes=_ids(as_before),
                phase=Phase.ROLLBACK,
                outcome=Recorded.SKIPPED,
                detail="already as before",
            )
        for batch in self.revert_batches(revert):
            self.send(batch, steps)
            to_verify.extend(batch.changes)

    def _wait_out(
        self,
        watch: list[Change],
        steps: dict[str, StepReport],
        messages: list[str],
        to_verify: list[Change],
    ) -> None:
        """Writes of unknown outcome that read as before: re-read them until they show up (then
        revert them) or the appliance has had `unknown_wait` seconds to finish them."""
        if not watch:
            return
        waited = self.options.unknown_wait
        # A write sent long ago (a later `nsfix rollback`) has had its time already.
        sent = [self._sent_at.get(c.id) for c in watch]
        now = datetime.now(UTC)
        elapsed = min((now - at).total_seconds() if at else 0.0 for at in sent)
        remaining = max(0.0, waited - elapsed)
        if remaining > 0:
            self.say(
                f"{len(watch)} write(s) of unknown outcome read as before: watching them for "
                f"{remaining:.0f} s in case the appliance still commits them"
            )
        deadline = self.clock() + remaining
        while watch and self.clock() < deadline:
            self.sleep(max(0.0, min(self.options.poll_seconds, deadline - self.clock())))
            self._revert_where_nsfix_left_it(list(watch), steps, messages, to_verify, watch)
        if watch:
            self._journal(
                "result",
                changes=_ids(watch),
                phase=Phase.ROLLBACK,
                outcome=Recorded.SKIPPED,
                detail=f"outcome unknown; still as before after {waited:.0f} s",
            )
        for change in watch:
            steps[change.id].outcome = StepOutcome.NOT_APPLIED
            steps[change.id].detail = (
                f"its write's outcome was unknown; still as before after {waited:.0f} s (a later "
                "nsfix rollback looks at it again)"
            )

    def _position(self, change: Change) -> int:
        return self._positions.get(change.id, -1)

    def save(self) -> None:
        self.client.writer().send(describe_save_config())
        self._journal("save", ok=True)


def _as_sent(outcome: StepOutcome) -> Recorded | None:
    """What a run knows of a write: one cut short on the wire (Ctrl-C) or answered without
    proof may have landed; one never sent (the journal failed first) did not."""
    if outcome is StepOutcome.APPLIED:
        return Recorded.APPLIED
    if outcome is StepOutcome.APPLY_FAILED:
        return Recorded.FAILED
    if outcome is StepOutcome.NOT_ATTEMPTED:
        return None
    return Recorded.UNKNOWN


def _ids(changes: Iterable[Change]) -> list[str]:
    return [c.id for c in changes]


def _request_head(batch: Batch) -> str:
    """What the journal keeps of a request: its line and headers, and what its body holds
    (the body itself is the named changes' operations, or inverses, from the start record)."""
    request = batch.request
    lines = [f"{request.method} {request.target}"]
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    if request.body is not None:
        what = "operation" if batch.phase is Phase.APPLY else "inverse"
        lines.append(f"(body: the {what} of each named change)")
    return "\n".join(lines)


def _joined(problems: Iterable[Problem]) -> str:
    return "; ".join(str(p) for p in problems)


def _judge(change: Change, rows: Sequence[Row]) -> Observation:
    """Where the object of `change` is, from the rows that show it (see Executor._read_type)."""
    op = change.operation
    if _is_binding(op):
        _, args = parent_and_args(op)
        present = any(binding_matches(r, args) for r in rows)
        return Observation(change, _where_presence(op.verb, present), _presence(present))
    if op.verb in {Verb.ADD, Verb.DELETE}:
        return Observation(change, _where_presence(op.verb, bool(rows)), _presence(bool(rows)))
    if not rows:
        return Observation(change, Where.DRIFTED, {"present": "no"})
    entry = resource(op.resource)
    row = rows[0]
    attrs = sorted(set(change.after) | set(change.before))
    current = {k: "" if row.get(k) is None else str(row.get(k)) for k in attrs}
    state_value = row.get(entry.state) if entry.state else None
    state = None if state_value is None else str(state_value)
    if all(same_value(k, current.get(k), v) for k, v in change.before.items()):
        where = Where.BEFORE
    elif all(same_value(k, current.get(k), v) for k, v in change.after.items()):
        where = Where.AFTER
    else:
        where = Where.DRIFTED
    return Observation(change, where, current, state)


def _where_presence(verb: Verb, present: bool) -> Where:
    # add/bind create: absent is before; unbind/delete remove: present is before.
    if verb.creates:
        return Where.AFTER if present else Where.BEFORE
    return Where.BEFORE if present else Where.AFTER


def _shared_identity(group: Sequence[Change], binding: Binding) -> dict[str, str] | None:
    """A filter for a list read of bindings: an identity attribute every change names with the
    same value (one monitor bound to many services). Only ever narrows the reply: each row is
    still matched against its change, so an appliance that ignored it would answer the same."""
    for key in binding.identity:
        if key == "port":
            continue  # `*` is 65535 on the wire: a filter would have to guess the spelling
        values = {str(c.operation.record.get(key) or "") for c in group}
        if len(values) == 1 and "" not in values:
            return {key: values.pop()}
    return None


def _presence(present: bool) -> dict[str, str]:
    return {"present": "yes" if present else "no"}
