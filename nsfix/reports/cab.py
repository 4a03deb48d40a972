"""The Change Advisory Board report of a plan, as Markdown and as one self-contained HTML page.

The content is computed once as plain data (`cab_report`: sections of paragraphs, tables,
command blocks and packet-path figures); `render_markdown` and `render_html` only format it.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Final

from nsfix import __version__
from nsfix.findings import Finding, Severity
from nsfix.flow import Outcome, Trace
from nsfix.planfile import summary as plan_summary
from nsfix.planner import Change, Plan, ServerTaskItem, ServerTasks, finding_key
from nsfix.reports.svg import HopRole, hop_role, outcome_line, paired_diagram, path_diagram
from nsfix.reports.text import aligned

APPROVAL_ROLES: Final = ("Change owner", "Network", "Application owner", "CAB")
DEFAULT_SETTLE_SECONDS: Final = 30
"""The default of `nsfix apply --settle`; the plan does not know which value the apply will use."""
PLAN_PLACEHOLDER: Final = "<plan-file>"
TICKET_PLACEHOLDER: Final = "<ticket>"
JOURNAL_PLACEHOLDER: Final = "<journal printed by apply>"

OUTCOME_WORDS: Final = {
    Outcome.DIRECT_RETURN: "the reply goes straight to the client (direct server return)",
    Outcome.VIA_NETSCALER: "the reply comes back through the NetScaler",
    Outcome.LOOP: "the reply goes back to the NetScaler instead of the client and loops",
    Outcome.ASYMMETRIC: "the reply bypasses the NetScaler and the client resets the connection",
    Outcome.ARP_BYPASS: "the server answers ARP for the VIP, so traffic can bypass the NetScaler",
    Outcome.MAC_NOT_LEARNED: "the NetScaler never learns the server's MAC and loops the "
    "traffic to itself",
    Outcome.NO_LAYER2: "the NetScaler cannot reach the server at layer 2",
    Outcome.UNDETERMINED: "the path cannot be traced from the data",
}

RESOURCE_WORDS: Final = {
    "service": "service",
    "servicegroup": "service group",
    "lbvserver_service_binding": "virtual server binding",
    "lbvserver_servicegroup_binding": "virtual server binding",
    "servicegroup_servicegroupmember_binding": "group member",
    "service_lbmonitor_binding": "monitor binding",
    "servicegroup_lbmonitor_binding": "monitor binding",
}


# --- the report as plain data ---------------------------------------------------------------


@dataclass(frozen=True)
class Code:
    """Literal text (a name, a value, a command): monospace, never interpreted as markup."""

    text: str


@dataclass(frozen=True)
class Link:
    """A documentation address, printed in full so that it survives on paper."""

    url: str


@dataclass(frozen=True)
class Blank:
    """A space for a person to fill in."""


Inline = str | Code | Link | Blank
Rich = tuple[Inline, ...]


@dataclass(frozen=True)
class Paragraph:
    parts: Rich


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 3


@dataclass(frozen=True)
class Bullets:
    items: tuple[Rich, ...]
    numbered: bool = False


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[Rich, ...], ...]
    form: bool = False
    """A table to fill in by hand: rows tall enough to write in."""


@dataclass(frozen=True)
class Commands:
    label: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class PathFigure:
    """One packet-path trace: drawn as SVG in HTML, as an aligned hop list in Markdown."""

    label: str
    title: str
    trace: Trace


Block = Paragraph | Heading | Bullets | Table | Commands | PathFigure


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class CabReport:
    title: str
    subtitle: Rich
    sections: tuple[Section, ...]


SECTIONS: Final = (
    "summary",
    "record",
    "findings",
    "changes",
    "paths",
    "refused",
    "guidance",
    "server-tasks",
    "prechecks",
    "rollback",
    "verification",
    "approvals",
)


def _ref(key: str) -> str:
    """`section N`: sections refer to each other by the number the renderers print."""
    return f"section {SECTIONS.index(key) + 1}"


def cab_report(
    plan: Plan, *, digest: str, plan_path: str | None = None, ticket: str | None = None
) -> CabReport:
    """Everything the CAB report says, in the order it says it."""
    sections = (
        Section("summary", "Summary", _summary(plan, ticket)),
        Section("record", "Change record", _record(plan, digest, plan_path, ticket)),
        Section("findings", "Findings this change fixes", _fixed_findings(plan)),
        Section("changes", "Changes, in the order they are applied", _changes(plan)),
        Section("paths", "Packet path before and after", _paths(plan)),
        Section("refused", "Refused: what nsfix will not change, and why", _refused(plan)),
        Section("guidance", "Findings that need a person (guidance only)", _guidance(plan)),
        Section("server-tasks", "Server-side tasks per backend", _server_tasks(plan)),
        Section("prechecks", "Pre-checks the apply makes", _prechecks(plan, digest)),
        Section("rollback", "Implementation and rollback plan", _rollback(plan, plan_path, ticket)),
        Section("verification", "Verification", _verification(plan)),
        Section("approvals", "Approvals", _approvals(ticket)),
    )
    assert tuple(section.key for section in sections) == SECTIONS
    where = _appliance(plan)
    partition = str(plan.target.get("partition") or "default")
    return CabReport(
        title=f"Change request: nsfix plan for {where}, partition {partition}",
        subtitle=(
            "Made by nsfix ",
            Code(__version__),
            " from plan ",
            Code(digest),
            f", planned at {plan.created_at.isoformat(timespec='seconds')}.",
        ),
        sections=sections,
    )


def render_markdown(
    plan: Plan, *, digest: str, plan_path: str | None = None, ticket: str | None = None
) -> str:
    """GitHub-flavoured Markdown; packet paths as fenced text blocks."""
    return _Markdown().render(cab_report(plan, digest=digest, plan_path=plan_path, ticket=ticket))


def render_html(
    plan: Plan, *, digest: str, plan_path: str | None = None, ticket: str | None = None
) -> str:
    """One self-contained HTML page (inline CSS and SVG, no external reference), A4 print."""
    return _Html().render(cab_report(plan, digest=digest, plan_path=plan_path, ticket=ticket))


# --- section builders ------------------------------------------------------------------------


def _appliance(plan: Plan) -> str:
    return str(plan.target.get("hostname") or plan.target.get("url") or "the appliance")


def _appliance_words(plan: Plan) -> str:
    """`ns01 (https://10.0.0.11)`, or just the URL when the appliance reported no hostname."""
    hostname = plan.target.get("hostname")
    url = str(plan.target.get("url") or "")
    if hostname:
        return f"{hostname} ({url})" if url else str(hostname)
    return f"at {url}" if url else "(unknown address)"


def _count(number: int, word: str) -> str:
    if number == 1:
        return f"1 {word}"
    plural = word[:-1] + "ies" if word.endswith("y") else word + "s"
    return f"{number} {plural}"


def _join(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _fixed(plan: Plan) -> list[Finding]:
    keys = {key for change in plan.changes for key in change.fixes}
    found = [f for f in plan.findings if finding_key(f) in keys]
    return sorted(found, key=lambda f: (-f.severity.rank, f.rule, str(f.object)))


def _what_it_sets(changes: Sequence[Change]) -> str:
    """`sets usip YES and useproxyport NO; adds 1 service; creates 2 monitor bindings`."""
    values: dict[str, list[str]] = {}
    others: dict[str, Counter[str]] = {}
    for change in changes:
        op = change.operation
        if op.verb == "update":
            for name, value in change.after.items():
                values.setdefault(name, [])
                if value not in values[name]:
                    values[name].append(value)
        else:
            others.setdefault(op.verb, Counter())[RESOURCE_WORDS.get(op.resource, op.resource)] += 1
    parts = []
    if values:
        parts.append("sets " + _join([f"{k} {'/'.join(v)}" for k, v in values.items()]))
    for verb, word in (
        ("add", "adds"),
        ("bind", "creates"),
        ("unbind", "removes"),
        ("delete", "deletes"),
    ):
        if verb in others:
            things = _join([_count(n, thing) for thing, n in sorted(others[verb].items())])
            parts.append(f"{word} {things}")
    return "; ".join(parts) or "changes nothing"


def risk_assessment(plan: Plan) -> tuple[str, str]:
    """A one-word level and the reason, for the summary."""
    if not plan.changes:
        return "none", "nothing is written to the appliance."
    canary = plan.changes[0]
    guard = (
        f"The first change ({canary.id}, {canary.object}) is a canary, applied and verified "
        "alone; any failure rolls every change back automatically."
    )
    if any(change.operation.verb != "update" for change in plan.changes):
        return (
            "high",
            "the plan adds objects or changes bindings (dedicated copies or monitors), so for a "
            "moment virtual servers balance over old and new backends; rollback replays the "
            f"inverse of every step in reverse order. {guard}",
        )
    return (
        "medium",
        "every change is one attribute update that one write undoes, but live traffic reaches "
        "the backends with the client's address from the first write: a backend not prepared "
        f"as the server-side tasks say fails its connections. {guard}",
    )


def _path_sentence(plan: Plan) -> str:
    moves: Counter[tuple[Outcome, Outcome]] = Counter(
        (path.before.outcome, path.after.outcome) for path in plan.paths
    )
    parts = []
    for (before, after), number in sorted(moves.items(), key=lambda item: (-item[1], item[0])):
        parts.append(
            f"for {_count(number, 'virtual server')} today {OUTCOME_WORDS[before]}; after the "
            f"change {OUTCOME_WORDS[after]}"
        )
    return ("Traced packet paths: " + "; ".join(parts) + ".") if parts else ""


def _left_over(plan: Plan) -> str:
    """What the change leaves to people, in one or two sentences."""
    parts = []
    if plan.refusals:
        parts.append(
            f"nsfix refuses to change {_count(len(plan.refusals), 'object')} ({_ref('refused')})"
        )
    if plan.guidance:
        verb = "needs" if len(plan.guidance) == 1 else "need"
        parts.append(
            f"{_count(len(plan.guidance), 'finding')} {verb} a person ({_ref('guidance')})"
        )
    text = (
        ("Not fixed by this change: " + "; ".join(parts) + ".")
        if parts
        else "Nothing is refused and no finding is left to a person."
    )
    if plan.server_tasks:
        verb = "needs" if len(plan.server_tasks) == 1 else "need"
        text += (
            f" {_count(len(plan.server_tasks), 'backend server')} {verb} checking for settings "
            f"NITRO cannot make ({_ref('server-tasks')})."
        )
    return text


def _summary(plan: Plan, ticket: str | None) -> tuple[Block, ...]:
    where = _appliance_words(plan)
    partition = str(plan.target.get("partition") or "default")
    facts = plan_summary(plan)
    level, why = risk_assessment(plan)
    ticket_line: Rich = ("Change ticket: ", Code(ticket) if ticket else Blank())
    if not plan.changes:
        text = (
            f"nsfix found nothing it may change on NetScaler {where}, partition {partition}: "
            f"the plan is empty and applying it writes nothing. {_left_over(plan)}"
        )
        return (Paragraph((text,)), Paragraph(ticket_line))
    kinds = Counter(
        RESOURCE_WORDS.get(resource, resource)
        for resource, _ in dict.fromkeys((c.object.resource, c.object.name) for c in plan.changes)
    )
    kind_text = _join([_count(n, word) for word, n in sorted(kinds.items())])
    vservers = facts["vservers"]
    fixed = _fixed(plan)
    severities = Counter(f.severity for f in fixed)
    severity_text = _join(
        [
            f"{severities[s]} {s.value}"
            for s in sorted(Severity, key=lambda s: -s.rank)
            if severities[s]
        ]
    )
    rules = ", ".join(f"\u201c{title}\u201d" for title in dict.fromkeys(f.title for f in fixed))
    text = (
        f"This change touches {_count(facts['objects'], 'object')} ({kind_text}) of NetScaler "
        f"{where}, partition {partition}, in {_count(len(plan.changes), 'step')}, for "
        f"{_count(len(vservers), 'DSR virtual server')}: {', '.join(vservers)}. It "
        f"{_what_it_sets(plan.changes)}. Why: it fixes {_count(len(fixed), 'audit finding')} "
        f"({severity_text}) against the rules {rules}. "
        f"{_path_sentence(plan)} Risk: {level}: {why} {_left_over(plan)}"
    )
    return (Paragraph((" ".join(text.split()),)), Paragraph(ticket_line))


def _record(
    plan: Plan, digest: str, plan_path: str | None, ticket: str | None
) -> tuple[Block, ...]:
    target = plan.target
    books = ", ".join(f"{p.name} ({p.digest})" for p in plan.playbooks) or "none"
    rows: list[tuple[Rich, ...]] = [
        (("Change ticket",), (Code(ticket),) if ticket else (Blank(),)),
        (("Appliance URL",), (Code(str(target.get("url") or "")),)),
        (
            ("Hostname",),
            (Code(str(target.get("hostname"))),) if target.get("hostname") else ("not reported",),
        ),
        (("Partition",), (Code(str(target.get("partition") or "default")),)),
        (("Version",), (str(target.get("release") or target.get("version") or "unknown"),)),
        (("HA role when planned",), (str(target.get("ha_role") or "unknown"),)),
        (("Plan file",), (Code(plan_path),) if plan_path else ("not given",)),
        (("Plan digest",), (Code(digest),)),
        (("Snapshot digest",), (Code(plan.snapshot_digest),)),
        (("Planned at",), (plan.created_at.isoformat(timespec="seconds"),)),
        (("Playbooks",), (books,)),
        (
            ("Options",),
            (
                f"bind monitor {'yes' if plan.options.bind_monitor else 'no'}, dedicated copies "
                f"{'yes' if plan.options.dedicated_copies else 'no'}",
            ),
        ),
    ]
    return (
        Paragraph(
            (
                "The plan file is exactly what will be applied: its digest seals its content, "
                "and the apply refuses a plan whose digest does not match.",
            )
        ),
        Table(("Item", "Value"), tuple(rows)),
    )


def _fixed_findings(plan: Plan) -> tuple[Block, ...]:
    fixed = _fixed(plan)
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
        blocks.append(Heading(f"{rule}: {first.title} ({first.severity.value})"))
        if first.rationale:
            blocks.append(Paragraph(("Why it matters: ", " ".join(first.rationale.split()))))
        if first.reference:
            blocks.append(Paragraph(("Documentation: ", Link(first.reference))))
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
    if op.verb == "update":
        parts: list[Inline] = []
        for name, value in change.after.items():
            if parts:
                parts.append("; ")
            parts.extend((Code(name), f" {change.before.get(name, '?')} → {value}"))
        return tuple(parts)
    record = ", ".join(f"{k}={v}" for k, v in op.record.items())
    return (f"{op.verb} {op.resource} ", Code(record))


def _changes(plan: Plan) -> tuple[Block, ...]:
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
                f"{_count(len(plan.changes), 'change')}, applied in this order. The canary goes "
                "first and alone, and is verified before the rest follow in bulk batches.",
            )
        ),
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
        Heading("Risk of each change"),
        Bullets(tuple((f"{', '.join(ids)}: {risk}",) for risk, ids in risks.items())),
    )


def _paths(plan: Plan) -> tuple[Block, ...]:
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
        blocks.append(Heading(name))
        blocks.append(PathFigure("Before", f"Before: {name}", path.before))
        blocks.append(PathFigure("After", f"After: {name}", path.after))
    return tuple(blocks)


def _refused(plan: Plan) -> tuple[Block, ...]:
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
        ),
    )


def _guidance(plan: Plan) -> tuple[Block, ...]:
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
                (Link(finding.reference),) if finding.reference else ("-",),
            )
        )
    return (
        Paragraph(("nsfix has no automatic fix for these findings; a person must act.",)),
        Table(("Rule", "Severity", "Object", "What a person must do", "Reference"), tuple(rows)),
    )


def task_groups(
    tasks: Iterable[ServerTasks],
) -> list[tuple[list[ServerTasks], tuple[ServerTaskItem, ...]]]:
    """Backends whose task lists are identical, together, in the plan's order."""
    groups: dict[tuple[ServerTaskItem, ...], list[ServerTasks]] = {}
    for entry in tasks:
        groups.setdefault(entry.items, []).append(entry)
    return [(members, items) for items, members in groups.items()]


def _server_tasks(plan: Plan) -> tuple[Block, ...]:
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
        blocks.append(Heading(f"Backends {', '.join(addresses)}"))
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
            blocks.append(Heading(f"{number}. {item.title}", level=4))
            blocks.append(Commands("Linux", item.linux))
            blocks.append(Commands("Windows", item.windows))
            blocks.append(Commands("Check", item.check))
    return tuple(blocks)


def expectation(change: Change) -> Rich:
    """The precondition of one change in words: what the apply must find before writing."""
    if change.precondition == "attributes":
        parts: list[Inline] = []
        for name, value in change.before.items():
            if parts:
                parts.append(", ")
            parts.extend((Code(name), f" {value or '(empty)'}"))
        return tuple(parts) or ("the object exists",)
    if change.precondition == "absent":
        return ("does not exist yet",)
    if change.precondition == "present":
        return ("still exists",)
    return (change.precondition,)


def _prechecks(plan: Plan, digest: str) -> tuple[Block, ...]:
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
        blocks.append(Heading("Preconditions per object"))
        blocks.append(Table(("Step", "Object", "The apply expects to find"), rows))
    return tuple(blocks)


def inverse_parts(change: Change) -> Rich:
    """The operation that undoes one change, in the words of the change table."""
    inverse = change.inverse
    if inverse.verb == "update":
        parts: list[Inline] = [f"update {inverse.resource} "]
        for name, value in change.before.items():
            if len(parts) > 1:
                parts.append("; ")
            parts.extend((Code(name), f" {change.after.get(name, '?')} → {value}"))
        return tuple(parts)
    record = ", ".join(f"{k}={v}" for k, v in inverse.record.items())
    return (f"{inverse.verb} {inverse.resource} ", Code(record))


def restores(change: Change) -> Rich:
    if change.precondition == "attributes":
        return expectation(change)
    if change.precondition == "absent":
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


def _rollback(plan: Plan, plan_path: str | None, ticket: str | None) -> tuple[Block, ...]:
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
        blocks.append(Heading("What the rollback restores, in the order it runs"))
        blocks.append(Table(("Undoes", "Object", "Inverse operation", "Restores"), rows))
    return tuple(blocks)


def _verification(plan: Plan) -> tuple[Block, ...]:
    keys = sorted({key for change in plan.changes for key in change.fixes})
    gone: Rich = (f"the findings this change fixes ({_ref('findings')})",)
    if keys:
        gone = ("none of ", *_coded_list(keys))
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
                f"({_ref('server-tasks')}).",
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


def _coded_list(values: Sequence[str]) -> list[Inline]:
    parts: list[Inline] = []
    for value in values:
        if parts:
            parts.append(", ")
        parts.append(Code(value))
    return parts


def _approvals(ticket: str | None) -> tuple[Block, ...]:
    rows = tuple(((role,), (), (), ()) for role in APPROVAL_ROLES)
    return (
        Paragraph(("Change ticket: ", Code(ticket) if ticket else Blank())),
        Table(("Role", "Name", "Decision", "Date"), rows, form=True),
    )


def hop_lines(trace: Trace) -> list[str]:
    """The hops of a trace as aligned text columns, for text renderings."""
    header = ("#", "from", "to", "source -> destination", "path")
    rows = []
    for hop in trace.hops:
        role = hop_role(trace, hop)
        # Upper case so that a loop stands out in a monochrome text block too.
        word = role.value.upper() if role is HopRole.LOOP else role.value
        label = f"{hop.src_ip} -> {hop.dst_ip}"
        rows.append((str(hop.phase), hop.sender, hop.receiver, label, word))
    return aligned([header, *rows])


# --- Markdown --------------------------------------------------------------------------------

_MD_SPECIAL: Final = re.compile(r"([\\`*\[\]<>#|&~])")
_MD_EDGE_UNDERSCORE: Final = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_SAFE_URL: Final = re.compile(r"^https?://[^\s<>|`]+$")
_MD_BLANK: Final = "________________"


class _Markdown:
    def render(self, report: CabReport) -> str:
        out = [f"# {self.text(report.title)}", "", self.rich(report.subtitle), ""]
        for number, section in enumerate(report.sections, start=1):
            out.extend([f"## {number}. {self.text(section.title)}", ""])
            for block in section.blocks:
                out.extend(self.block(block))
                out.append("")
        return "\n".join(out).rstrip("\n") + "\n"

    def block(self, block: Block) -> list[str]:
        if isinstance(block, Paragraph):
            return [self.rich(block.parts)]
        if isinstance(block, Heading):
            return [f"{'#' * block.level} {self.text(block.text)}"]
        if isinstance(block, Bullets):
            return [
                f"{f'{n}.' if block.numbered else '-'} {self.rich(item)}"
                for n, item in enumerate(block.items, start=1)
            ]
        if isinstance(block, Table):
            return self.table(block)
        if isinstance(block, Commands):
            info = {"Linux": "sh", "Windows": "bat"}.get(block.label, "text")
            return [f"{block.label}:", "", *self.fenced(block.lines, info)]
        return self.figure(block)

    def table(self, table: Table) -> list[str]:
        lines = [
            "| " + " | ".join(self.text(c, table=True) for c in table.columns) + " |",
            "|" + "|".join("---" for _ in table.columns) + "|",
        ]
        for row in table.rows:
            cells = [self.rich(cell, table=True) or " " for cell in row]
            lines.append("| " + " | ".join(cells) + " |")
        return lines

    def figure(self, figure: PathFigure) -> list[str]:
        trace = figure.trace
        usip = "unknown" if trace.usip is None else ("YES" if trace.usip else "NO")
        heading = (
            f"{figure.label.upper()}: {trace.vserver} -> {trace.backend} "
            f"({trace.backend_address or 'no address'}), mode {trace.mode}, usip {usip}"
        )
        body = [heading, *("  " + line for line in hop_lines(trace)), outcome_line(trace)]
        out = [
            f"**{self.text(figure.label)}**: {self.text(outcome_line(trace))}: "
            f"{self.text(trace.summary)}",
            "",
            *self.fenced(body, "text"),
        ]
        if trace.assumptions:
            out.extend(["", "Assumptions:", ""])
            out.extend(f"- {self.text(a)}" for a in trace.assumptions)
        return out

    @staticmethod
    def fenced(lines: Sequence[str], info: str) -> list[str]:
        clean = [" ".join(line.splitlines()) for line in lines]
        longest = max((len(run) for line in clean for run in re.findall(r"`+", line)), default=0)
        fence = "`" * max(3, longest + 1)
        return [f"{fence}{info}", *clean, fence]

    def rich(self, parts: Rich, *, table: bool = False) -> str:
        return "".join(self.inline(part, table=table) for part in parts)

    def inline(self, part: Inline, *, table: bool) -> str:
        if isinstance(part, Code):
            return self.code(part.text, table=table)
        if isinstance(part, Link):
            if _SAFE_URL.match(part.url):
                return f"<{part.url}>"
            return self.text(part.url, table=table)
        if isinstance(part, Blank):
            return _MD_BLANK
        return self.text(part, table=table)

    @staticmethod
    def text(value: str, *, table: bool = False) -> str:
        flat = " ".join(value.splitlines())
        escaped = _MD_SPECIAL.sub(r"\\\1", flat)
        return _MD_EDGE_UNDERSCORE.sub(r"\\_", escaped)

    @staticmethod
    def code(value: str, *, table: bool) -> str:
        flat = " ".join(value.splitlines())
        if not flat:
            return ""
        longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
        fence = "`" * (longest + 1)
        if flat.startswith("`") or flat.endswith("`"):
            flat = f" {flat} "
        if table:
            # GFM splits table cells on a pipe even inside a code span unless it is escaped.
            flat = flat.replace("|", "\\|")
        return f"{fence}{flat}{fence}"


# --- HTML ------------------------------------------------------------------------------------

CSS: Final = """
@page { size: A4; margin: 15mm; }
* { box-sizing: border-box; }
html { background: #ffffff; color: #1a1a1a; }
body { font: 10pt/1.45 "Helvetica Neue", Helvetica, Arial, sans-serif; margin: 0 auto;
  max-width: 190mm; padding: 10mm 6mm; background: #ffffff; }
h1 { font-size: 17pt; margin: 0 0 2mm; }
h2 { font-size: 13pt; border-bottom: 1.5px solid #37474f; padding-bottom: 1mm;
  margin: 8mm 0 3mm; break-after: avoid; page-break-after: avoid; }
h3 { font-size: 11pt; margin: 5mm 0 2mm; break-after: avoid; page-break-after: avoid; }
h4 { font-size: 10pt; margin: 4mm 0 1.5mm; break-after: avoid; page-break-after: avoid; }
p, li { orphans: 3; widows: 3; }
.subtitle { color: #455a64; margin: 0 0 4mm; }
.summary { font-size: 11pt; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0 4mm;
  break-inside: avoid; page-break-inside: avoid; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
th, td { border: 1px solid #b0bec5; padding: 1.2mm 2mm; text-align: left; vertical-align: top;
  overflow-wrap: break-word; }
td code { overflow-wrap: anywhere; }
th { background: #eceff1; font-weight: 600; }
table.form td { height: 12mm; }
code, pre { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 8.5pt; }
pre { background: #f5f7f8; border: 1px solid #cfd8dc; padding: 2mm 3mm; margin: 1mm 0 3mm;
  white-space: pre-wrap; overflow-wrap: anywhere; break-inside: avoid; page-break-inside: avoid; }
.commands .label { margin: 1mm 0 0; font-weight: 600; font-size: 9pt; color: #455a64; }
figure { margin: 3mm 0 5mm; break-inside: avoid; page-break-inside: avoid; }
figure svg { display: block; width: 100%; height: auto; }
.assumptions { font-size: 9pt; color: #455a64; margin: 1mm 0 0; }
.url { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 8.5pt;
  overflow-wrap: anywhere; }
.blank { display: inline-block; min-width: 55mm; border-bottom: 1px solid #1a1a1a; }
td .blank { min-width: 30mm; }
@media print { body { max-width: none; padding: 0; } }
"""


class _Html:
    def render(self, report: CabReport) -> str:
        out = [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(report.title)}</title>",
            f"<style>{CSS}</style>",
            "</head>",
            "<body>",
            "<header>",
            f"<h1>{escape(report.title)}</h1>",
            f'<p class="subtitle">{self.rich(report.subtitle)}</p>',
            "</header>",
            "<main>",
        ]
        for number, section in enumerate(report.sections, start=1):
            out.append(f'<section id="{escape(section.key)}">')
            out.append(f"<h2>{number}. {escape(section.title)}</h2>")
            blocks = list(section.blocks)
            index = 0
            while index < len(blocks):
                block = blocks[index]
                following = blocks[index + 1] if index + 1 < len(blocks) else None
                if isinstance(block, PathFigure) and isinstance(following, PathFigure):
                    out.append(self.figure_pair(block, following))
                    index += 2
                    continue
                out.append(self.block(block, lead=section.key == "summary" and index == 0))
                index += 1
            out.append("</section>")
        out.extend(["</main>", "</body>", "</html>"])
        return "\n".join(out) + "\n"

    def block(self, block: Block, *, lead: bool = False) -> str:
        if isinstance(block, Paragraph):
            attrs = ' class="summary"' if lead else ""
            return f"<p{attrs}>{self.rich(block.parts)}</p>"
        if isinstance(block, Heading):
            level = min(max(block.level, 3), 6)
            return f"<h{level}>{escape(block.text)}</h{level}>"
        if isinstance(block, Bullets):
            tag = "ol" if block.numbered else "ul"
            items = "".join(f"<li>{self.rich(item)}</li>" for item in block.items)
            return f"<{tag}>{items}</{tag}>"
        if isinstance(block, Table):
            return self.table(block)
        if isinstance(block, Commands):
            lines = escape("\n".join(block.lines))
            return (
                f'<div class="commands"><p class="label">{escape(block.label)}</p>'
                f"<pre><code>{lines}</code></pre></div>"
            )
        return self.figure(block)

    def table(self, table: Table) -> str:
        head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{self.rich(cell)}</td>" for cell in row) + "</tr>"
            for row in table.rows
        )
        attrs = ' class="form"' if table.form else ""
        return f"<table{attrs}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def figure_pair(self, before: PathFigure, after: PathFigure) -> str:
        notes = ""
        assumptions = dict.fromkeys([*before.trace.assumptions, *after.trace.assumptions])
        if assumptions:
            items = "".join(f"<li>{escape(a)}</li>" for a in assumptions)
            notes = f'<ul class="assumptions">{items}</ul>'
        diagram = paired_diagram(before.trace, before.title, after.trace, after.title)
        return f'<figure class="path pair">\n{diagram}\n{notes}</figure>'

    def figure(self, figure: PathFigure) -> str:
        notes = ""
        if figure.trace.assumptions:
            items = "".join(f"<li>{escape(a)}</li>" for a in figure.trace.assumptions)
            notes = f'<ul class="assumptions">{items}</ul>'
        return (
            f'<figure class="path {escape(figure.label.lower())}">\n'
            f"{path_diagram(figure.trace, title=figure.title)}\n{notes}</figure>"
        )

    def rich(self, parts: Rich) -> str:
        return "".join(self.inline(part) for part in parts)

    @staticmethod
    def inline(part: Inline) -> str:
        if isinstance(part, Code):
            return f"<code>{escape(part.text)}</code>"
        if isinstance(part, Link):
            # Printed, not linked: the page references nothing outside itself.
            return f'<span class="url">{escape(part.url)}</span>'
        if isinstance(part, Blank):
            return '<span class="blank">&nbsp;</span>'
        return escape(part)
