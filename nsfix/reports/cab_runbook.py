"""How a change is carried out, undone, verified and approved, in the CAB report."""

from __future__ import annotations

import math
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
KEY_PLACEHOLDER: Final = "<board-key.pem>"
PUBLIC_KEY_PLACEHOLDER: Final = "<board-key.pub>"

# The change window is estimated from the requests an apply sends (bench/core.py measures them:
# a read before and one after each change, a few bulk writes, the appliance's facts and the audit
# again) at what a NITRO request takes on a management network, fast to slow.
REQUESTS_PER_CHANGE: Final = 2
FIXED_REQUESTS: Final = 30
SECONDS_PER_REQUEST: Final = (0.02, 0.2)
SETTLE_WAITS: Final = 2
"""The canary's verification and the final one may each wait --settle for the monitors."""


def request_estimate(plan: Plan) -> int:
    return REQUESTS_PER_CHANGE * len(plan.changes) + FIXED_REQUESTS


def _seconds(plan: Plan) -> tuple[float, float]:
    requests = request_estimate(plan)
    fast, slow = SECONDS_PER_REQUEST
    return requests * fast, requests * slow + SETTLE_WAITS * DEFAULT_SETTLE_SECONDS


def _duration(seconds: float) -> str:
    return f"{math.ceil(seconds)} s" if seconds < 90 else f"{math.ceil(seconds / 60)} min"


def duration_range(plan: Plan) -> str:
    """`5 s to 2 min`: how long an apply (or its rollback) of this plan takes, fast to slow."""
    low, high = _seconds(plan)
    return f"{_duration(low)} to {_duration(high)}"


def window_estimate(plan: Plan) -> str:
    """The change window to book: the apply, a rollback of it, rounded up to 5 minutes."""
    _, high = _seconds(plan)
    book = 5 * math.ceil(2 * high / 300)
    return (
        f"book {book} min: the apply takes {duration_range(plan)}, a rollback as long again "
        f"({section_ref('rollback')}); then the checks by hand ({section_ref('verification')})."
    )


def estimate_basis(plan: Plan) -> str:
    """What the change window estimate rests on, for those who know their appliance better."""
    fast, slow = SECONDS_PER_REQUEST
    return (
        f"How long it takes: about {request_estimate(plan):,} NITRO requests (a read before and "
        f"after each of the {len(plan.changes)} changes, a few bulk writes, the appliance's facts "
        f"and the audit again) at {fast * 1000:g} to {slow * 1000:g} ms each, and up to "
        f"{SETTLE_WAITS} x {DEFAULT_SETTLE_SECONDS} s for monitors to settle: "
        f"{duration_range(plan)}. A rollback sends about as many."
    )


def approval_commands(plan_path: str | None, digest: str) -> tuple[str, str]:
    """How the board signs this plan, and how the implementer applies this plan and no other."""
    where = shlex.quote(plan_path) if plan_path else PLAN_PLACEHOLDER
    return (
        f"nsfix approve {where} --key {KEY_PLACEHOLDER} --expect-digest {digest}",
        f"nsfix apply {where} --expect-digest {digest}",
    )


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


def apply_commands(plan_path: str | None, ticket: str | None, digest: str) -> tuple[str, str, str]:
    """Dry run, apply, rollback: the exact command lines, quoted for a POSIX shell; the apply
    takes only the plan of this digest."""
    where = shlex.quote(plan_path) if plan_path else PLAN_PLACEHOLDER
    what = shlex.quote(ticket) if ticket else TICKET_PLACEHOLDER
    return (
        f"nsfix apply {where} --dry-run",
        f"nsfix apply {where} --ticket {what} --expect-digest {digest}",
        f"nsfix rollback {JOURNAL_PLACEHOLDER}",
    )


def rollback(
    plan: Plan, plan_path: str | None, ticket: str | None, digest: str
) -> tuple[Block, ...]:
    dry_run, apply, rollback = apply_commands(plan_path, ticket, digest)
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
        blocks.append(Paragraph((estimate_basis(plan),)))
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


def approvals(plan_path: str | None, ticket: str | None, digest: str) -> tuple[Block, ...]:
    """How the board's decision binds the apply to this plan, and the sign-off form."""
    approve, apply = approval_commands(plan_path, digest)
    where = shlex.quote(plan_path) if plan_path else PLAN_PLACEHOLDER
    steps: tuple[Rich, ...] = (
        ("The board approves the plan of digest ", Code(digest), " and no other."),
        (
            "With a signing key, the board signs that digest: ",
            Code(approve),
            " writes ",
            Code(f"{where}.approval"),
            " (it refuses any other plan).",
        ),
        (
            "The implementer applies only that plan: ",
            Code(apply),
            ", or with the signature ",
            Code(
                f"nsfix apply {where} --approval {where}.approval --trusted-key "
                f"{PUBLIC_KEY_PLACEHOLDER}"
            ),
            ". Any other plan is refused (exit 4) and nothing is written.",
        ),
    )
    rows = tuple(((role,), (), (), ()) for role in APPROVAL_ROLES)
    return (
        Bullets(steps, numbered=True),
        Paragraph(("Change ticket: ", Code(ticket) if ticket else Blank())),
        Table(("Role", "Name", "Decision", "Date"), rows, style="form"),
    )
