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
from typing import Any, Final

from nsfix.errors import NsfixError
from nsfix.exitcodes import ExitCode
from nsfix.journal import (
    APPLIED,
    FAILED,
    REVERTED,
    SKIPPED,
    UNKNOWN,
    JournalError,
    JournalWriter,
    StepState,
)
from nsfix.model import DEFAULT_PARTITION, ha_role, ha_warnings
from nsfix.nitro import NitroClient, NitroError, NitroNotFound, NitroTransportError
from nsfix.nitro.client import WriteRequest
from nsfix.planner import Change, Operation
from nsfix.rules.attributes import same_value

# Where each object is, relative to a change.
BEFORE: Final = "before"
AFTER: Final = "after"
DRIFTED: Final = "drifted"

# Binding resources: the parent key (in the URL) and the attributes that name the bound object;
# of those, a binding's record carries the ones that identify it (a member: ip or servername,
# with port).
BINDINGS: Final[Mapping[str, tuple[str, tuple[str, ...]]]] = {
    "lbvserver_service_binding": ("name", ("servicename",)),
    "lbvserver_servicegroup_binding": ("name", ("servicegroupname",)),
    "service_lbmonitor_binding": ("name", ("monitor_name",)),
    "servicegroup_lbmonitor_binding": ("servicegroupname", ("monitor_name",)),
    "servicegroup_servicegroupmember_binding": ("servicegroupname", ("ip", "servername", "port")),
}
WILDCARD_PORT: Final = "65535"
KEYS: Final[Mapping[str, str]] = {"servicegroup": "servicegroupname"}
STATE_ATTRIBUTE: Final[Mapping[str, str]] = {
    "service": "svrstate",
    "servicegroup": "servicegroupeffectivestate",
}
DOWN_STATES: Final = frozenset({"DOWN", "OUT OF SERVICE", "DOWN WHEN GOING OUT OF SERVICE"})


class Refused(NsfixError):
    """Preflight said no; nothing was written. The message says why and what to do."""

    exit_code = ExitCode.REFUSED

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.details = tuple(details)


@dataclass(frozen=True)
class ApplyOptions:
    batch_size: int = 50
    settle_seconds: float = 30.0
    """How long to wait for monitors before calling a backend that went DOWN a failure."""
    poll_seconds: float = 2.0
    save: bool = False
    save_anyway: bool = False
    confirm_within: float | None = None
    ticket: str | None = None
    force: bool = False
    """rollback only: revert objects that changed since nsfix wrote them."""


@dataclass(frozen=True)
class Observation:
    """An object as the appliance shows it now, for one change."""

    change: Change
    where: str
    """before, after or drifted."""
    current: Mapping[str, str]
    state: str | None = None
    """The backend's monitor state (svrstate), when the object has one."""

    def describe(self, against: str = BEFORE) -> str:
        """Now against the plan's before (preflight, rollback) or what nsfix set (AFTER)."""
        if self.change.operation.verb == "update":
            now = ", ".join(f"{k} {self.current.get(k, '?')}" for k in self.change.after)
            if against == AFTER:
                done = ", ".join(f"{k} {v}" for k, v in self.change.after.items())
                return f"{self.change.object}: now {now}; nsfix set {done}"
            was = ", ".join(f"{k} {v}" for k, v in self.change.before.items())
            return f"{self.change.object}: now {now}; the plan expected {was}"
        present = "present" if self.current.get("present") == "yes" else "absent"
        if against == AFTER:
            made = "present" if self.change.operation.verb in {"add", "bind"} else "absent"
            return f"{self.change.object}: {present}; nsfix made it {made}"
        return f"{self.change.object}: {present}; the plan expected it {self.change.precondition}"


@dataclass
class StepReport:
    change: Change
    outcome: str = "not attempted"
    detail: str = ""


@dataclass
class Report:
    """What happened, object by object, and the exit code that sums it up."""

    status: str
    exit_code: ExitCode
    steps: list[StepReport]
    messages: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    """Dry run: the exact requests apply would send."""


Say = Callable[[str], None]


def parent_and_args(op: Operation) -> tuple[str, dict[str, Any]]:
    """The binding's parent (the URL key) and the attributes naming the bound object."""
    parent_key, child_keys = BINDINGS[op.resource]
    args = {key: op.record[key] for key in child_keys if op.record.get(key) not in (None, "")}
    if not args:
        raise ValueError(f"{op.resource} record names no bound object: {dict(op.record)}")
    return str(op.record[parent_key]), args


def binding_matches(row: Mapping[str, Any], args: Mapping[str, Any]) -> bool:
    """Whether a binding the appliance lists is the one `args` names (every attribute equal)."""
    return all(
        _child_word(key, row.get(key)) == _child_word(key, value) for key, value in args.items()
    )


def _child_word(key: str, value: Any) -> str:
    word = "" if value is None else str(value)
    # The CLI's `*` port is 65535 in NITRO; either spelling names the same member.
    return WILDCARD_PORT if key == "port" and word == "*" else word


def object_key(resource: str) -> str:
    return KEYS.get(resource, "name")


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

    # --- reading ------------------------------------------------------------------------

    def observe(self, changes: Iterable[Change]) -> list[Observation]:
        """Read every object the changes touch: one request per object, reads only."""
        out = []
        for change in changes:
            out.append(self._observe_one(change))
        return out

    def _observe_one(self, change: Change) -> Observation:
        op = change.operation
        if op.resource in BINDINGS:
            parent, args = parent_and_args(op)
            try:
                rows = self.client.get(op.resource, parent)
            except NitroNotFound:
                rows = []
            present = any(binding_matches(r, args) for r in rows)
            return Observation(change, self._where_presence(op.verb, present), _presence(present))
        name = str(op.record[object_key(op.resource)])
        attrs = sorted(set(change.after) | set(change.before))
        state_attr = STATE_ATTRIBUTE.get(op.resource)
        wanted = [object_key(op.resource), *attrs, *([state_attr] if state_attr else [])]
        try:
            rows = self.client.get(op.resource, name, attrs=wanted)
        except NitroNotFound:
            rows = []
        if op.verb in {"add", "delete"}:
            return Observation(
                change, self._where_presence(op.verb, bool(rows)), _presence(bool(rows))
            )
        if not rows:
            return Observation(change, DRIFTED, {"present": "no"})
        row = rows[0]
        current = {k: "" if row.get(k) is None else str(row.get(k)) for k in attrs}
        state = str(row.get(state_attr)) if state_attr and row.get(state_attr) is not None else None
        if all(same_value(k, current.get(k), v) for k, v in change.before.items()):
            where = BEFORE
        elif all(same_value(k, current.get(k), v) for k, v in change.after.items()):
            where = AFTER
        else:
            where = DRIFTED
        return Observation(change, where, current, state)

    @staticmethod
    def _where_presence(verb: str, present: bool) -> str:
        # add/bind create: absent is before; unbind/delete remove: present is before.
        creates = verb in {"add", "bind"}
        return (AFTER if present else BEFORE) if creates else (BEFORE if present else AFTER)

    # --- preflight ----------------------------------------------------------------------

    def check_target(self, plan_target: Mapping[str, Any]) -> dict[str, Any]:
        """Same appliance, same partition, a primary node; returns facts for the journal."""
        partition = str(plan_target.get("partition") or DEFAULT_PARTITION)
        if partition != (self.client.partition or DEFAULT_PARTITION):
            self.client.switch_partition(partition)
        hostname = self.client.get_singleton("nshostname", attrs=["hostname"]).get("hostname")
        expected = plan_target.get("hostname")
        if expected and hostname and str(hostname) != str(expected):
            raise Refused(
                f"this appliance is {hostname!r}, but the plan was made for {expected!r}: "
                "make a plan against this appliance"
            )
        nodes = self.client.get("hanode", attrs=["id", "ipaddress", "state", "hasync"])
        role, peers = ha_role(nodes)
        if role == "Secondary":
            peer = f" (its peer {', '.join(peers)} should be primary)" if peers else ""
            raise Refused(
                f"{self.client.url} is an HA secondary node{peer}: changes there are not "
                "propagated and are lost on the next sync; apply on the primary"
            )
        config = self.client.get_singleton("nsconfig", attrs=["configchanged"])
        changed = config.get("configchanged")
        changed_before = changed if isinstance(changed, bool) else str(changed).lower() == "true"
        return {
            "hostname": hostname,
            "ha_role": role,
            "config_changed_before": changed_before,
            "ha_warnings": ha_warnings(nodes),
        }

    def preflight(self) -> tuple[list[Observation], list[Observation]]:
        """(to apply, already in place); refuses if anything drifted since the plan."""
        observations = self.observe(self.changes)
        drifted = [o for o in observations if o.where == DRIFTED]
        if drifted:
            raise Refused(
                f"{len(drifted)} object(s) changed since the plan was made; nothing was written. "
                "Make a new plan",
                [o.describe() for o in drifted],
            )
        for o in observations:
            self.states_before[o.change.id] = o.state
        pending = [o for o in observations if o.where == BEFORE]
        done = [o for o in observations if o.where == AFTER]
        return pending, done

    # --- writing ------------------------------------------------------------------------

    def describe(self, op: Operation) -> WriteRequest:
        client = self.client
        if op.verb == "update":
            return client.describe_update(op.resource, op.record)
        if op.verb == "add":
            return client.describe_add(op.resource, op.record)
        if op.verb == "delete":
            key = object_key(op.resource)
            return client.describe_delete(op.resource, str(op.record[key]))
        if op.verb == "bind":
            return client.describe_bind(op.resource, op.record)
        if op.verb == "unbind":
            parent, args = parent_and_args(op)
            return client.describe_unbind(op.resource, parent, args)
        raise ValueError(f"unknown operation {op.verb!r}")

    def batches(self, changes: Sequence[Change]) -> list[list[Change]]:
        """Consecutive updates of one resource type go together; everything else alone."""
        out: list[list[Change]] = []
        for change in changes:
            last = out[-1] if out else None
            if (
                last is not None
                and change.operation.verb == "update"
                and last[0].operation.verb == "update"
                and last[0].operation.resource == change.operation.resource
                and len(last) < self.options.batch_size
            ):
                last.append(change)
            else:
                out.append([change])
        return out

    def _journal(self, kind: str, **values: Any) -> None:
        if self.journal is not None:
            self.journal.write(kind, **values)

    def send(self, batch: Sequence[Change], phase: str, steps: Mapping[str, StepReport]) -> bool:
        """One request for the batch, journalled around it. False when anything failed."""
        ops = [c.operation if phase == "apply" else c.inverse for c in batch]
        if len(batch) == 1:
            request = self.describe(ops[0])
        else:
            request = self.client.describe_update_bulk(
                ops[0].resource, [op.record for op in ops], onerror="continue"
            )
        for change in batch:
            self._journal("intent", change=change.id, phase=phase, request=request.render())
        try:
            results = self.client.execute(request)
            outcomes = [(APPLIED if phase == "apply" else REVERTED, "")] * len(batch)
        except NitroTransportError as exc:
            outcome = UNKNOWN if exc.outcome_unknown else FAILED
            outcomes = [(outcome, str(exc))] * len(batch)
        except NitroError as exc:
            bulk = getattr(exc, "results", None)
            if bulk:
                outcomes = [
                    (APPLIED if phase == "apply" else REVERTED, "")
                    if r.ok
                    else (FAILED, f"{r.errorcode}: {r.message}")
                    for r in bulk
                ]
            else:
                outcomes = [(FAILED, str(exc))] * len(batch)
        else:
            for change, result in zip(batch, results, strict=False):
                if not result.ok:
                    outcomes[batch.index(change)] = (
                        FAILED,
                        f"{result.errorcode}: {result.message}",
                    )
        ok = True
        for change, (outcome, detail) in zip(batch, outcomes, strict=True):
            self._journal("result", change=change.id, phase=phase, outcome=outcome, detail=detail)
            label = {
                (APPLIED, "apply"): "applied",
                (REVERTED, "rollback"): "reverted",
            }.get((outcome, phase), f"{phase} {outcome}")
            steps[change.id].outcome = label
            steps[change.id].detail = detail
            ok = ok and outcome in {APPLIED, REVERTED}
        return ok

    # --- verification -------------------------------------------------------------------

    def verify(self, changes: Sequence[Change], expect: str) -> list[str]:
        """Problems with `changes` being in state `expect`; waits for monitors to settle."""
        deadline = self.clock() + self.options.settle_seconds
        while True:
            problems = []
            for o in self.observe(changes):
                if o.where != expect:
                    problems.append(f"read back: {o.describe(expect)}")
                    continue
                was = self.states_before.get(o.change.id)
                if was == "UP" and o.state in DOWN_STATES:
                    problems.append(
                        f"{o.change.object} was UP before the change and is now {o.state}"
                    )
            only_states = problems and all(" was UP before" in p for p in problems)
            if not only_states or self.clock() >= deadline:
                return problems
            self.say(f"waiting for monitors: {problems[0]}")
            self.sleep(self.options.poll_seconds)

    # --- the whole run ------------------------------------------------------------------

    def apply(self, pending: Sequence[Change]) -> Report:
        steps = {c.id: StepReport(c) for c in self.changes}
        for change in self.changes:
            if change not in pending:
                steps[change.id].outcome = "already in place"
        applied: list[Change] = []
        try:
            batches = self.batches(list(pending))
            if batches and len(batches[0]) > 1:
                # The canary goes alone, whatever the batching.
                batches = [[batches[0][0]], batches[0][1:], *batches[1:]]
            for index, batch in enumerate(batches):
                # Counted before it is sent: if anything interrupts the send (Ctrl-C, the
                # journal), the rollback must look at this batch too; compare-and-set skips
                # whatever did not change.
                applied.extend(batch)
                ok = self.send(batch, "apply", steps)
                if not ok:
                    bad = [c for c in batch if steps[c.id].outcome != "applied"]
                    return self.fail_and_roll_back(
                        applied,
                        steps,
                        f"the write of {', '.join(c.id for c in bad)} failed: "
                        f"{steps[bad[0].id].detail or steps[bad[0].id].outcome}",
                    )
                if index == 0:
                    problems = self.verify(batch, AFTER)
                    if problems:
                        return self.fail_and_roll_back(
                            applied, steps, "the canary did not verify: " + "; ".join(problems)
                        )
                    self.say(f"canary {batch[0].id} {batch[0].object} applied and verified")
            problems = self.verify(list(pending), AFTER)
            if not problems and self.reaudit is not None:
                expected_gone = {key for c in pending for key in c.fixes}
                still = sorted(expected_gone & self.reaudit())
                if still:
                    problems = [f"audit still finds {', '.join(still)}"]
            if problems:
                self._journal("verify", ok=False, problems=problems)
                return self.fail_and_roll_back(
                    applied, steps, "verification failed: " + "; ".join(problems)
                )
            self._journal("verify", ok=True)
            for change in pending:
                steps[change.id].outcome = "applied and verified"
            return Report("applied", ExitCode.OK, list(steps.values()))
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
        report = self.roll_back([StepState(c, APPLIED) for c in applied], steps)
        report.messages.insert(0, f"apply failed: {why}")
        if report.exit_code == ExitCode.OK:
            report.status = "rolled-back"
            report.exit_code = ExitCode.ROLLED_BACK
        return report

    def roll_back(
        self, pending: Sequence[StepState], steps: dict[str, StepReport] | None = None
    ) -> Report:
        """Revert, newest first, only what is still as nsfix left it (unless forced)."""
        steps = steps if steps is not None else {s.change.id: StepReport(s.change) for s in pending}
        order = sorted(pending, key=lambda s: self._position(s.change), reverse=True)
        messages: list[str] = []
        to_verify: list[Change] = []
        try:
            for step in order:
                change = step.change
                [seen] = self.observe([change])
                if seen.where == BEFORE:
                    self._journal(
                        "result",
                        change=change.id,
                        phase="rollback",
                        outcome=SKIPPED,
                        detail="already as before",
                    )
                    steps[change.id].outcome = "not applied (as before)"
                    continue
                if seen.where == DRIFTED and not self.options.force:
                    steps[change.id].outcome = "changed since nsfix wrote it: left alone"
                    steps[change.id].detail = seen.describe(AFTER)
                    messages.append(f"not reverted, changed since: {seen.describe(AFTER)}")
                    continue
                self.send([change], "rollback", steps)
                to_verify.append(change)
        except NitroError as exc:
            messages.append(f"rollback stopped: {exc}")
        except KeyboardInterrupt:
            messages.append("rollback interrupted")
        problems = []
        if to_verify:
            try:
                problems = self.verify(to_verify, BEFORE)
            except NitroError as exc:
                problems = [f"could not read back: {exc}"]
        for change in to_verify:
            if steps[change.id].outcome == "reverted" and not any(
                str(change.object) in p for p in problems
            ):
                steps[change.id].outcome = "reverted and verified"
        messages.extend(problems)
        unresolved = [
            s
            for s in steps.values()
            if s.outcome
            not in {
                "reverted and verified",
                "not applied (as before)",
                "not attempted",
                "already in place",
            }
        ]
        if unresolved or messages:
            return Report(
                "rollback-incomplete", ExitCode.ROLLBACK_INCOMPLETE, list(steps.values()), messages
            )
        return Report("rolled-back", ExitCode.OK, list(steps.values()), messages)

    def _position(self, change: Change) -> int:
        for index, known in enumerate(self.changes):
            if known.id == change.id:
                return index
        return -1

    def save(self) -> None:
        self.client.save_config()
        self._journal("save", ok=True)

    def dry_run(self, pending: Sequence[Change]) -> list[str]:
        """The exact requests apply would send, in order, batched as apply would batch them."""
        requests = []
        batches = self.batches(list(pending))
        if batches and len(batches[0]) > 1:
            batches = [[batches[0][0]], batches[0][1:], *batches[1:]]
        for batch in batches:
            if len(batch) == 1:
                requests.append(self.describe(batch[0].operation).render())
            else:
                ops = [c.operation for c in batch]
                requests.append(
                    self.client.describe_update_bulk(
                        ops[0].resource, [op.record for op in ops], onerror="continue"
                    ).render()
                )
        return requests


def _presence(present: bool) -> dict[str, str]:
    return {"present": "yes" if present else "no"}
