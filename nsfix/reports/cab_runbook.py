"""How a change is carried out, undone, verified and approved, in the CAB report."""

from __future__ import annotations

import shlex
from typing import Final

from nsfix.planner import Change, Plan
from nsfix.planner_records import Precondition, Verb
from nsfix.reports.cab_words import section_ref
from nsfix.reports.document import (
    Blank,
    Block,
    Bullets,
    Code,
    Heading,
    Inline,
    Paragraph,
    Rich,
    Table,
    codes,
)

APPROVAL_ROLES: Final = ("Change owner", "Network", "Application owner", "CAB")
DEFAULT_SETTLE_SECONDS: Final = 30
"""The default of `nsfix apply --settle`; the plan does not know which value the apply will use."""
PLAN_PLACEHOLDER: Final = "<plan-file>"
TICKET_PLACEHOLDER: Final = "<ticket>"
JOURNAL_PLACEHOLDER: Final = "<journal printed by apply>"


def expectation(change: Change) -> Rich:
    """The precondition of one change in words: what the apply must find before writing."""
    if change.precondition is Precondition.ATTRIBUTES:
        parts: list[Inline] = []
        for name, value in change.before.items():
            if parts:
                parts.append(", ")
            parts.extend((Code(name), f" {value or '(empty)'}"))
        return tuple(parts) or ("the object exists",)
    if change.precondition is Precondition.ABSENT:
        return ("does not exist yet",)
    return ("still exists",)


def prechecks(plan: Plan, digest: str) -> tuple[Block, ...]:
    target = plan.target
    hostname = target.get("hostname")
    host: Rich = (" (hostname ", Code(str(hostname)), ")") if hostname else ()
    items: list[Rich] = [
        ("The plan file's digest is ", Code(digest), ": a plan edited after review is refused."),
        (
            "The appliance is ",
            Code(str(target.get("url") or "")),
            *host,
            ": a plan for another appliance is refused.",
        ),
        ("The partition is ", Code(str(target.get("partition") or "default")), "."),
        (
            "The node is the HA primary or standalone (it was ",
            Code(str(target.get("ha_role") or "unknown")),
            " when planned): an HA secondary is refused, because changes there are lost on the "
            "next sync.",
        ),
        (
            "Every object is still as the plan found it (table below): if any object changed "
            "since, nothing is written and a new plan is needed.",
        ),
        (
            "No other nsfix apply or rollback holds the lock for this appliance and partition "
            "on this machine.",
        ),
        (
            "With ",
            Code("--save"),
            ": the appliance has no unsaved changes that nsfix did not make; otherwise the save "
            "is refused (unless ",
            Code("--save-anyway"),
            "), so nobody else's unsaved change is saved by accident.",
        ),
        (
            "It asks for confirmation on a terminal; automation passes ",
            Code("--yes"),
            ". A refused apply exits with code 4 and writes nothing.",
        ),
    ]
    blocks: list[Block] = [Bullets(tuple(items))]
    if plan.changes:
        rows = tuple(
            ((change.id,), (Code(str(change.object)),), expectation(change))
            for change in plan.changes
        )
        blocks.append(Heading(("Preconditions per object",)))
        blocks.append(Table(("Step", "Object", "The apply expects to find"), rows))
    return tuple(blocks)


def inverse_parts(change: Change) -> Rich:
    """The operation that undoes one change, in the words of the change table."""
    inverse = change.inverse
    if inverse.verb is Verb.UPDATE:
        parts: list[Inline] = [f"update {inverse.resource} "]
        for name, value in change.before.items():
            if len(parts) > 1:
                parts.append("; ")
            parts.extend((Code(name), f" {change.after.get(name, '?')} → {value}"))
        return tuple(parts)
    record = ", ".join(f"{k}={v}" for k, v in inverse.record.items())
    return (f"{inverse.verb} {inverse.resource} ", Code(record))


def restores(change: Change) -> Rich:
    if change.precondition is Precondition.ATTRIBUTES:
        return expectation(change)
    if change.precondition is Precondition.ABSENT:
        return (f"{change.object} absent again, as before the plan",)
    return (f"{change.object} present again, as before the plan",)


def apply_commands(plan_path: str | None, ticket: str | None) -> tuple[str, str, str]:
    """Dry run, apply, rollback: the exact command lines, quoted for a POSIX shell."""
    where = shlex.quote(plan_path) if plan_path else PLAN_PLACEHOLDER
    what = shlex.quote(ticket) if ticket else TICKET_PLACEHOLDER
    return (
        f"nsfix apply {where} --dry-run",
        f"nsfix apply {where} --ticket {what}",
        f"nsfix rollback {JOURNAL_PLACEHOLDER}",
    )


def rollback(plan: Plan, plan_path: str | None, ticket: str | None) -> tuple[Block, ...]:
    dry_run, apply, rollback = apply_commands(plan_path, ticket)
    steps: tuple[Rich, ...] = (
        (
            Code(dry_run),
            ": checks every pre-check and precondition and prints the exact requests; writes "
            "nothing.",
        ),
        (
            Code(apply),
            ": writes a journal first, applies the canary alone and verifies it, then the rest "
            "in batches, then verifies everything. Add ",
            Code("--save"),
            " to save the running configuration after a verified apply, ",
            Code("--confirm-within 5m"),
            " to keep the change only if it is confirmed in time. It prints the journal path "
            "and the rollback command.",
        ),
        (
            Code(rollback),
            ": undoes the change later, from the journal alone. Each object is read first: one "
            "still as nsfix left it is reverted, one already as before is skipped, one changed "
            "since is left alone (unless ",
            Code("--force"),
            "). ",
            Code("--dry-run"),
            " shows the requests first; ",
            Code("--url"),
            " reverts on another node, such as the new primary after an HA failover.",
        ),
    )
    blocks: list[Block] = [
        Paragraph(("Run, in this order:",)),
        Bullets(steps, numbered=True),
        Paragraph(
            (
                "Automatic rollback: any failure during the apply (an error, a write whose "
                "outcome is unknown, a verification miss, Ctrl-C) rolls back what was applied, "
                "in reverse order, and verifies the rollback (exit code 5). An incomplete "
                "rollback exits with 6 and names the objects and the command to finish.",
            )
        ),
    ]
    if plan.changes:
        rows = tuple(
            (
                (change.id,),
                (Code(str(change.object)),),
                inverse_parts(change),
                restores(change),
            )
            for change in reversed(plan.changes)
        )
        blocks.append(Heading(("What the rollback restores, in the order it runs",)))
        blocks.append(Table(("Undoes", "Object", "Inverse operation", "Restores"), rows))
    return tuple(blocks)


def verification(plan: Plan) -> tuple[Block, ...]:
    keys = sorted({key for change in plan.changes for key in change.fixes})
    gone: Rich = (f"the findings this change fixes ({section_ref('findings')})",)
    if keys:
        gone = ("none of ", *codes(keys))
    automatic: tuple[Rich, ...] = (
        (
            "Read back: every changed object is read again and must show its new values (the "
            "canary alone, before the rest are written).",
        ),
        ("Audit again: the appliance is audited again and must report ", *gone, "."),
        (
            "Backends: no backend that was UP before the apply may be DOWN after it; the apply "
            "waits for the monitors to settle (",
            Code("--settle"),
            f", {DEFAULT_SETTLE_SECONDS} s by default) before calling it a failure.",
        ),
    )
    by_hand: list[Rich] = [
        (
            Code("nsfix audit"),
            ": the fixed findings are gone; refused and guidance-only "
            "findings remain until a person acts.",
        ),
    ]
    for path in plan.paths:
        by_hand.append(
            (
                Code(f"nsfix explain {shlex.quote(path.vserver)}"),
                f": the path of {path.backend} ends in {path.after.outcome.value}.",
            )
        )
    if plan.server_tasks:
        by_hand.append(
            (
                "On each backend: the check commands of the server-side tasks "
                f"({section_ref('server-tasks')}).",
            )
        )
    by_hand.append(
        (
            "From a client: open the service through its VIP; the server's access log shows "
            "the client's address, not a NetScaler SNIP.",
        )
    )
    return (
        Paragraph(("The apply verifies by itself, and stops and rolls back on any miss:",)),
        Bullets(automatic),
        Paragraph(("Then, by hand:",)),
        Bullets(tuple(by_hand)),
    )


def approvals(ticket: str | None) -> tuple[Block, ...]:
    rows = tuple(((role,), (), (), ()) for role in APPROVAL_ROLES)
    return (
        Paragraph(("Change ticket: ", Code(ticket) if ticket else Blank())),
        Table(("Role", "Name", "Decision", "Date"), rows, style="form"),
    )
