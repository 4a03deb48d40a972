"""What a change fixes, writes and leaves to people, in the CAB report.

The sections: the findings it fixes, the changes in order, the packet paths before and after,
what nsfix refuses, the findings left to a person, and the backends' own tasks.
"""

from __future__ import annotations

from collections.abc import Iterable

from nsfix.findings import Finding
from nsfix.planner import Change, Plan, ServerTaskItem, ServerTasks, finding_key
from nsfix.planner_records import Verb
from nsfix.reports.cab_words import count
from nsfix.reports.document import (
    Address,
    Block,
    Bullets,
    Code,
    CodeBlock,
    Heading,
    Inline,
    Paragraph,
    Rich,
    Strong,
    Table,
)
from nsfix.reports.path_figure import before_after
from nsfix.reports.plan_cli import cli_blocks


def fixed_findings(plan: Plan) -> list[Finding]:
    """The findings the plan's changes fix, the worst first."""
    keys = {key for change in plan.changes for key in change.fixes}
    found = [f for f in plan.findings if finding_key(f) in keys]
    return sorted(found, key=lambda f: (-f.severity.rank, f.rule, str(f.object)))


def findings(plan: Plan) -> tuple[Block, ...]:
    fixed = fixed_findings(plan)
    if not fixed:
        return (Paragraph(("No finding is fixed by this plan.",)),)
    by_change: dict[str, list[str]] = {}
    for change in plan.changes:
        for key in change.fixes:
            by_change.setdefault(key, []).append(change.id)
    blocks: list[Block] = []
    for rule in dict.fromkeys(f.rule for f in fixed):
        group = [f for f in fixed if f.rule == rule]
        first = group[0]
        blocks.append(Heading((f"{rule}: {first.title} ({first.severity.value})",)))
        if first.rationale:
            blocks.append(Paragraph(("Why it matters: ", " ".join(first.rationale.split()))))
        if first.reference:
            blocks.append(Paragraph(("Documentation: ", Address(first.reference))))
        rows = []
        for finding in group:
            now: Rich = ("-",)
            if finding.attribute:
                now = (
                    Code(finding.attribute),
                    f" {finding.current or '?'} → {finding.expected or '?'}",
                )
            rows.append(
                (
                    (Code(str(finding.object)),),
                    (finding.message,),
                    now,
                    (finding.flow or "-",),
                    (", ".join(by_change.get(finding_key(finding), [])),),
                )
            )
        blocks.append(
            Table(("Object", "Finding", "Now → expected", "Packet path", "Fixed by"), tuple(rows))
        )
    return tuple(blocks)


def change_parts(change: Change) -> Rich:
    """What one change writes: `usip NO → YES; ...` for updates, the record otherwise."""
    op = change.operation
    if op.verb is Verb.UPDATE:
        parts: list[Inline] = []
        for name, value in change.after.items():
            if parts:
                parts.append("; ")
            parts.extend((Code(name), f" {change.before.get(name, '?')} → {value}"))
        return tuple(parts)
    record = ", ".join(f"{k}={v}" for k, v in op.record.items())
    return (f"{op.verb} {op.resource} ", Code(record))


def changes(plan: Plan) -> tuple[Block, ...]:
    if not plan.changes:
        return (Paragraph(("No change to make.",)),)
    rows = []
    for change in plan.changes:
        path = "-"
        if change.flow_before or change.flow_after:
            path = f"{change.flow_before or '?'} → {change.flow_after or '?'}"
        rows.append(
            (
                (change.id,),
                (Code(str(change.object)),),
                change_parts(change),
                (", ".join(change.vservers) or "-",),
                (path,),
                ("canary" if change.canary else "",),
            )
        )
    risks: dict[str, list[str]] = {}
    for change in plan.changes:
        risks.setdefault(change.risk, []).append(change.id)
    return (
        Paragraph(
            (
                f"{count(len(plan.changes), 'change')}, applied in this order. The canary goes "
                "first and alone, and is verified before the rest follow in bulk batches.",
            )
        ),
        *canary_reason(plan),
        Table(
            (
                "Step",
                "Object",
                "Attribute: before → after",
                "Virtual servers",
                "Packet path",
                "Canary",
            ),
            tuple(rows),
        ),
        Heading(("Risk of each change",)),
        Bullets(tuple((f"{', '.join(ids)}: {risk}",) for risk, ids in risks.items())),
        *cli_blocks(plan),
    )


def canary_reason(plan: Plan) -> tuple[Block, ...]:
    """Why the canary is the change it is, or that no change can be a meaningful one."""
    canary = plan.canary
    if canary is None:
        return ()
    return (
        Paragraph(
            (
                Strong(f"Why {canary.change} is the canary"),
                " (",
                Code(canary.code),
                f"): {canary.reason}.",
            )
        ),
    )


def paths(plan: Plan) -> tuple[Block, ...]:
    if not plan.paths:
        return (Paragraph(("No packet path to show: the plan changes no virtual server.",)),)
    blocks: list[Block] = [
        Paragraph(
            (
                "For each virtual server the plan changes, the path of one request and its reply "
                "through one of its backends, in the phases of the incident write-up: the "
                "request (1-3), the server's reply (4) and what happens to it (5). Replies "
                "straight to the client are green, loops red, other detours orange.",
            )
        )
    ]
    for path in plan.paths:
        name = f"{path.vserver} → {path.backend}"
        blocks.append(Heading((name,)))
        blocks.append(before_after(path.before, path.after))
    return tuple(blocks)


def refused(plan: Plan) -> tuple[Block, ...]:
    if not plan.refusals:
        return (Paragraph(("Nothing was refused.",)),)
    rows = []
    for refusal in plan.refusals:
        rules = ", ".join(dict.fromkeys(key.split(" ", 1)[0] for key in refusal.findings))
        rows.append(
            (
                (Code(str(refusal.object)),),
                (Code(refusal.code),),
                (refusal.reason,),
                (refusal.alternative or "-",),
                (rules or "-",),
            )
        )
    return (
        Paragraph(
            (
                "These findings stay open after the change: nsfix will not change these objects "
                "automatically. Each needs a decision and, where given, the alternative.",
            )
        ),
        Table(
            ("Object", "Code", "Why nsfix will not change it", "Alternative", "Findings"),
            tuple(rows),
            stacked=((1, 0), (4, 0)),
        ),
    )


def guidance(plan: Plan) -> tuple[Block, ...]:
    if not plan.guidance:
        return (Paragraph(("None.",)),)
    rows = []
    for finding in plan.guidance:
        rows.append(
            (
                (Code(finding.rule),),
                (finding.severity.value,),
                (Code(str(finding.object)),),
                (finding.remediation.guidance or finding.message,),
                (Address(finding.reference),) if finding.reference else ("-",),
            )
        )
    return (
        Paragraph(("nsfix has no automatic fix for these findings; a person must act.",)),
        Table(
            ("Rule", "Severity", "Object", "What a person must do", "Reference"),
            tuple(rows),
            stacked=((4, 3),),
        ),
    )


def task_groups(
    tasks: Iterable[ServerTasks],
) -> list[tuple[list[ServerTasks], tuple[ServerTaskItem, ...]]]:
    """Backends whose task lists are identical, together, in the plan's order."""
    groups: dict[tuple[ServerTaskItem, ...], list[ServerTasks]] = {}
    for entry in tasks:
        groups.setdefault(entry.items, []).append(entry)
    return [(members, items) for items, members in groups.items()]


def server_tasks(plan: Plan) -> tuple[Block, ...]:
    if not plan.server_tasks:
        return (Paragraph(("No backend needs server-side work for this plan.",)),)
    blocks: list[Block] = [
        Paragraph(
            (
                "NITRO cannot change the servers. Once a backend sees the client's address it "
                "must hold the VIP on a loopback that does not answer ARP and send its replies to "
                "the upstream router, or its connections fail: check every backend below before "
                "the apply. Backends with identical lists are grouped.",
            )
        )
    ]
    for members, items in task_groups(plan.server_tasks):
        addresses = [m.address for m in members]
        vips = list(dict.fromkeys(v for m in members for v in m.vips))
        vservers = list(dict.fromkeys(v for m in members for v in m.vservers))
        modes = list(dict.fromkeys(v for m in members for v in m.modes))
        blocks.append(Heading((f"Backends {', '.join(addresses)}",)))
        blocks.append(
            Paragraph(
                (
                    "VIP ",
                    Code(", ".join(vips)),
                    " of ",
                    Code(", ".join(vservers)),
                    f" (redirection mode {', '.join(modes)}).",
                )
            )
        )
        for number, item in enumerate(items, start=1):
            blocks.append(Heading((f"{number}. {item.title}",), level=4))
            blocks.append(CodeBlock(item.linux, language="sh", label="Linux"))
            blocks.append(CodeBlock(item.windows, language="bat", label="Windows"))
            blocks.append(CodeBlock(item.check, label="Check"))
    return tuple(blocks)
