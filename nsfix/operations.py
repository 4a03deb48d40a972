"""The core wired to the shell: audit, plan, and the per-appliance audit CLI and fleets share."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from nsfix.findings import AuditResult, TargetAudit, Waiver
from nsfix.flow import outcome_for, trace_object, trace_vserver
from nsfix.inventory import Progress
from nsfix.model import DEFAULT_PARTITION, Service, ServiceGroup, Snapshot
from nsfix.nitro import (
    NitroAuthError,
    NitroError,
    NitroNotAuthorized,
    NitroNotFound,
    NitroProtocolError,
    NitroTransportError,
)
from nsfix.planfile import snapshot_digest
from nsfix.planner import (
    Plan,
    PlanOptions,
    VserverPath,
    apply_in_memory,
    plan,
    refusals_of,
)
from nsfix.rules.checks import Subject
from nsfix.rules.engine import PathVerdict, evaluate
from nsfix.rules.playbook import Playbook
from nsfix.serverfacts import ServerFacts
from nsfix.settings import Target
from nsfix.shell import read_partitions

Phase = Callable[[str], AbstractContextManager[None]]
"""Wraps a named phase of work ("planning"): the CLI shows a spinner for it on a terminal."""


def unseen(label: str) -> AbstractContextManager[None]:
    return nullcontext()


def explain_nitro_error(error: NitroError, target: str) -> str:
    """One line an operator can act on, for each way a session can go wrong."""
    if isinstance(error, NitroAuthError):
        return f"{target}: {error}. Check NSFIX_USER and the password."
    if isinstance(error, NitroNotAuthorized):
        return f"{target}: the user may not do this ({error.message}); nsfix needs read access."
    if isinstance(error, NitroTransportError):
        return f"{target}: cannot reach the appliance: {error}"
    if isinstance(error, NitroProtocolError):
        return f"{target}: the reply was not NITRO's: {error}"
    if isinstance(error, NitroNotFound):
        return f"{target}: {error}"
    return f"{target}: NITRO error: {error}"


def explainer(facts: ServerFacts | None) -> Callable[[Snapshot, Any, Subject], PathVerdict | None]:
    """The packet path of findings on services and service groups, with the server facts."""

    def explain(snapshot: Snapshot, vserver: Any, subject: Subject) -> PathVerdict | None:
        if not isinstance(subject.obj, Service | ServiceGroup):
            return None
        result = trace_object(snapshot, vserver.name, subject.ref.name, None, facts)
        if result is None:
            return None
        proven = result.healthy and not result.assumptions
        return PathVerdict(result.outcome.value, result.healthy, proven)

    return explain


def run_audit(
    snapshot: Snapshot,
    playbooks: Sequence[Playbook],
    waivers: Sequence[Waiver],
    facts: ServerFacts | None,
    today: date | None = None,
) -> AuditResult:
    result = evaluate(
        snapshot,
        playbooks,
        waivers=waivers,
        today=today or date.today(),
        explain=explainer(facts),
    )
    # What the plan would refuse, so no report promises a fix the plan will not make.
    refused = {
        r.object: f"nsfix plan refuses it [{r.code}]: {r.reason}"
        + (f"; alternative: {r.alternative}" if r.alternative else "")
        for r in refusals_of(snapshot, result)
    }
    return replace(result, refused=refused) if refused else result


def audit_label(snapshot: Snapshot) -> str:
    return f"{snapshot.appliance.partition}: auditing {len(snapshot.vservers):,} virtual servers"


def make_plan(
    snapshot: Snapshot,
    result: AuditResult,
    facts: ServerFacts | None,
    options: PlanOptions,
    phase: Phase = unseen,
) -> Plan:
    def probe(snap: Snapshot, vs: str, name: str, changed: Mapping[str, str] | None) -> str | None:
        return outcome_for(snap, vs, name, changed, facts)

    with phase("planning"):
        the_plan = plan(
            snapshot,
            result,
            snapshot_digest=snapshot_digest(snapshot),
            created_at=datetime.now(UTC),
            options=options,
            flow=probe,
        )
    with phase("tracing packet paths"):
        return replace(the_plan, paths=plan_paths(snapshot, the_plan, facts))


def plan_paths(
    snapshot: Snapshot, the_plan: Plan, facts: ServerFacts | None
) -> tuple[VserverPath, ...]:
    """Before and after traces of the first changed backend of each kind of changed virtual
    server: one path per redirection mode and before/after outcome, naming the others alike.

    A board reads one drawing per kind of path, and a plan of 1,000 changes does not carry
    1,000 traces that differ only in their addresses (`nsfix explain` shows any one of them).
    """
    after = apply_in_memory(snapshot, the_plan)
    # Changed objects by virtual server, in one pass over the changes (not one per vserver).
    changed_in: dict[str, set[str]] = {}
    for change in the_plan.changes:
        for vserver in change.vservers:
            changed_in.setdefault(vserver, set()).add(change.object.name)
    kinds: dict[tuple[object, ...], list[VserverPath]] = {}
    for name in sorted(changed_in):
        if name not in snapshot.vservers or name not in after.vservers:
            continue
        path = _vserver_path(snapshot, after, name, changed_in[name], facts)
        if path is not None:
            kind = (
                path.before.mode,
                path.before.outcome,
                path.before.usip,
                path.after.outcome,
                path.after.usip,
            )
            kinds.setdefault(kind, []).append(path)
    paths = []
    for alike in kinds.values():
        # The drawing shows the one traced on the fewest assumptions (an enabled virtual server
        # before a disabled one); the others are named under it.
        first, *rest = sorted(alike, key=lambda p: (len(p.before.assumptions), p.vserver))
        paths.append(replace(first, alike=tuple(sorted(p.vserver for p in rest))))
    return tuple(sorted(paths, key=lambda p: p.vserver))


def _vserver_path(
    snapshot: Snapshot, after: Snapshot, name: str, changed: set[str], facts: ServerFacts | None
) -> VserverPath | None:
    before_traces = trace_vserver(snapshot, name, facts=facts)
    after_traces = {t.backend: t for t in trace_vserver(after, name, facts=facts)}
    for trace in before_traces:
        owner = trace.backend.split("/", 1)[0]
        if (owner in changed or trace.backend in changed) and trace.backend in after_traces:
            return VserverPath(name, trace.backend, trace, after_traces[trace.backend])
    # A copy replaces the backend: show the first backend before and after.
    if before_traces and after_traces:
        first_after = next(iter(after_traces.values()))
        return VserverPath(name, before_traces[0].backend, before_traces[0], first_after)
    return None


def audit_appliance(
    target: Target,
    partitions: Sequence[str],
    all_partitions: bool,
    *,
    timeout: float,
    user_agent: str,
    playbooks: Sequence[Playbook],
    waivers: Sequence[Waiver],
    facts: ServerFacts | None,
    say: Callable[[str], None],
    progress: Callable[[str], Progress | None] | None = None,
    phase: Phase = unseen,
    running_config: bool = False,
) -> list[TargetAudit]:
    """Audit the partitions of one appliance; failures become error entries, never exceptions.

    `running_config`: also read each partition's configuration text (a SARIF report's file)."""
    try:
        reads = read_partitions(
            target,
            partitions,
            all_partitions=all_partitions,
            timeout=timeout,
            user_agent=user_agent,
            progress=progress,
            running_config=running_config,
        )
    except NitroError as exc:
        message = explain_nitro_error(exc, target.url)
        say(f"nsfix: error: {message}")
        partition = partitions[0] if partitions else DEFAULT_PARTITION
        return [TargetAudit(target.url, partition, None, None, message)]
    out = []
    for item in reads:
        if item.snapshot is None:
            message = explain_nitro_error(item.error, target.url) if item.error else "not read"
            say(f"nsfix: error: partition {item.partition}: {message}")
            out.append(TargetAudit(item.url, item.partition, None, None, message))
            continue
        with phase(audit_label(item.snapshot)):
            result = run_audit(item.snapshot, playbooks, waivers, facts)
        out.append(TargetAudit(item.url, item.partition, item.snapshot, result))
    return out
