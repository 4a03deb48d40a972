"""What a change fixes, writes and leaves to people, in the CAB report.

The sections: the findings it fixes, the changes in order, the packet paths before and after,
what nsfix refuses, the findings left to a person, and the backends' own tasks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from nsfix.findings import Finding
from nsfix.planner import Change, Plan, ServerTaskItem, ServerTasks, finding_key
from nsfix.planner_records import Verb
from nsfix.planner_tasks import common_steps, mode_steps
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
    codes,
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
        *change_details(plan),
    )


def change_details(plan: Plan) -> tuple[Block, ...]:
    """What the board reads about the changes after their table: each risk once, for the
    changes it applies to. Blocks about each change on its own (such as the change written as
    NetScaler CLI commands) belong here, after the risks."""
    risks: dict[str, list[str]] = {}
    for change in plan.changes:
        risks.setdefault(change.risk, []).append(change.id)
    return (
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
                "For each kind of virtual server the plan changes (its redirection mode, and "
                "the path before and after), the path of one request and its reply "
                "through one of its backends, in the phases of the incident write-up: the "
                "request (1-3), the server's reply (4) and what happens to it (5). Replies "
                "straight to the client are green, loops red, other detours orange.",
            )
        )
    ]
    for path in plan.paths:
        name = f"{path.vserver} → {path.backend}"
        blocks.append(Heading((name,)))
        if path.alike:
            blocks.append(
                Paragraph(
                    (
                        f"The same path, each with its own addresses, for "
                        f"{count(len(path.alike), 'other virtual server')}: ",
                        *codes(path.alike),
                        " (",
                        Code("nsfix explain <virtual server>"),
                        " draws any of them).",
                    )
                )
            )
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


# The steps are said once for every backend, with these in place of each backend's own values
# (the table above them gives those).
VIP_PLACEHOLDER: Final = "<VIP>"
VIP6_PLACEHOLDER: Final = "<IPv6 VIP>"
SNIP_PLACEHOLDER: Final = "<SNIP>"


def backend_rows(tasks: Iterable[ServerTasks]) -> list[tuple[list[str], ServerTasks]]:
    """Backends that must hold the same VIPs for the same virtual servers, behind the same SNIP,
    together (one row), in the plan's order."""
    rows: dict[tuple[tuple[str, ...], ...], tuple[list[str], ServerTasks]] = {}
    for entry in tasks:
        key = (entry.vips, entry.vservers, entry.modes, entry.gateways)
        rows.setdefault(key, ([], entry))[0].append(entry.address)
    return list(rows.values())


def server_tasks(plan: Plan) -> tuple[Block, ...]:
    if not plan.server_tasks:
        return (Paragraph(("No backend needs server-side work for this plan.",)),)
    rows = tuple(
        (
            codes(addresses),
            codes(entry.vips),
            codes(entry.vservers),
            (", ".join(entry.modes),),
            codes(entry.gateways) if entry.gateways else ("none",),
        )
        for addresses, entry in backend_rows(plan.server_tasks)
    )
    vips = [v for entry in plan.server_tasks for v in entry.vips]
    v4 = [VIP_PLACEHOLDER] if any(":" not in v for v in vips) else []
    v6 = [VIP6_PLACEHOLDER] if any(":" in v for v in vips) else []
    gateways = [SNIP_PLACEHOLDER] if any(entry.gateways for entry in plan.server_tasks) else []
    steps: list[tuple[ServerTaskItem, str]] = [
        (item, "") for item in common_steps(v4, v6, gateways)
    ]
    for mode in sorted({m for entry in plan.server_tasks for m in entry.modes}):
        only = f" (only the backends of {mode} virtual servers)"
        steps.extend((item, only) for item in mode_steps(mode, v4))
    blocks: list[Block] = [
        Paragraph(
            (
                "NITRO cannot change the servers. Once a backend sees the client's address it "
                "must hold the VIP on a loopback that does not answer ARP and send its replies to "
                "the upstream router, or its connections fail: check every backend below before "
                "the apply. Only the backends whose traffic the plan changes are listed.",
            )
        ),
        Table(
            ("Backend", "VIPs to hold", "Virtual servers", "Mode", "SNIP on its subnet"),
            rows,
            tight=(3,),
        ),
        Paragraph(
            (
                "On each backend, for each of its VIPs (",
                Code(VIP_PLACEHOLDER),
                *((" or ", Code(VIP6_PLACEHOLDER)) if v6 else ()),
                ")",
                *(
                    (" and the SNIP on its subnet (", Code(SNIP_PLACEHOLDER), ")")
                    if gateways
                    else ()
                ),
                ":",
            )
        ),
    ]
    for number, (item, only) in enumerate(steps, start=1):
        blocks.append(Heading((f"{number}. {item.title}{only}",), level=4))
        blocks.append(CodeBlock(item.linux, language="sh", label="Linux"))
        blocks.append(CodeBlock(item.windows, language="bat", label="Windows"))
        blocks.append(CodeBlock(item.check, label="Check"))
    return tuple(blocks)
