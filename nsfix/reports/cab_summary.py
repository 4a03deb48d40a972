"""The CAB report's first page: what the change does, where, why, at what risk, and its record."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from nsfix.findings import Severity
from nsfix.flow import Outcome
from nsfix.planfile import summary as plan_summary
from nsfix.planner import Change, Plan
from nsfix.planner_records import CanaryChoice, Verb
from nsfix.reports.cab_changes import fixed_findings
from nsfix.reports.cab_words import (
    OUTCOME_WORDS,
    appliance_words,
    count,
    join_words,
    section_ref,
)
from nsfix.reports.document import Blank, Block, Code, Paragraph, Rich, Table
from nsfix.resources import noun_of


def what_it_sets(changes: Sequence[Change]) -> str:
    """`sets usip YES and useproxyport NO; adds 1 service; creates 2 monitor bindings`."""
    values: dict[str, list[str]] = {}
    others: dict[str, Counter[str]] = {}
    for change in changes:
        op = change.operation
        if op.verb is Verb.UPDATE:
            for name, value in change.after.items():
                values.setdefault(name, [])
                if value not in values[name]:
                    values[name].append(value)
        else:
            others.setdefault(op.verb, Counter())[noun_of(op.resource)] += 1
    parts = []
    if values:
        parts.append("sets " + join_words([f"{k} {'/'.join(v)}" for k, v in values.items()]))
    for verb, word in (
        ("add", "adds"),
        ("bind", "creates"),
        ("unbind", "removes"),
        ("delete", "deletes"),
    ):
        if verb in others:
            things = join_words([count(n, thing) for thing, n in sorted(others[verb].items())])
            parts.append(f"{word} {things}")
    return "; ".join(parts) or "changes nothing"


def risk_assessment(plan: Plan) -> tuple[str, str]:
    """A one-word level and the reason, for the summary."""
    if not plan.changes:
        return "none", "nothing is written to the appliance."
    first = plan.changes[0]
    canary = f"The first change ({first.id}, {first.object}) is a canary"
    if plan.canary is not None and plan.canary.code is CanaryChoice.LIVE:
        canary += " on live traffic"
    guard = (
        f"{canary}, applied and verified alone; any failure rolls every change back automatically."
    )
    if plan.canary is not None and plan.canary.code is CanaryChoice.NO_LIVE_CANDIDATE:
        guard = (
            f"The first change ({first.id}, {first.object}) is applied and verified alone, but "
            f"no change can be a meaningful canary ({section_ref('changes')} says why), so that "
            "verification proves nothing on live traffic; any failure rolls every change back "
            "automatically."
        )
    if any(change.operation.verb is not Verb.UPDATE for change in plan.changes):
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


def path_sentence(plan: Plan) -> str:
    moves: Counter[tuple[Outcome, Outcome]] = Counter(
        (path.before.outcome, path.after.outcome) for path in plan.paths
    )
    parts = []
    for (before, after), number in sorted(moves.items(), key=lambda item: (-item[1], item[0])):
        parts.append(
            f"for {count(number, 'virtual server')} today {OUTCOME_WORDS[before]}; after the "
            f"change {OUTCOME_WORDS[after]}"
        )
    return ("Traced packet paths: " + "; ".join(parts) + ".") if parts else ""


def left_over(plan: Plan) -> str:
    """What the change leaves to people, in one or two sentences."""
    parts = []
    if plan.refusals:
        parts.append(
            f"nsfix refuses to change {count(len(plan.refusals), 'object')} "
            f"({section_ref('refused')})"
        )
    if plan.guidance:
        verb = "needs" if len(plan.guidance) == 1 else "need"
        parts.append(
            f"{count(len(plan.guidance), 'finding')} {verb} a person ({section_ref('guidance')})"
        )
    text = (
        ("Not fixed by this change: " + "; ".join(parts) + ".")
        if parts
        else "Nothing is refused and no finding is left to a person."
    )
    if plan.server_tasks:
        verb = "needs" if len(plan.server_tasks) == 1 else "need"
        text += (
            f" {count(len(plan.server_tasks), 'backend server')} {verb} checking for settings "
            f"NITRO cannot make ({section_ref('server-tasks')})."
        )
    return text


def summary(plan: Plan, ticket: str | None) -> tuple[Block, ...]:
    where = appliance_words(plan)
    partition = str(plan.target.get("partition") or "default")
    facts = plan_summary(plan)
    level, why = risk_assessment(plan)
    ticket_line: Rich = ("Change ticket: ", Code(ticket) if ticket else Blank())
    if not plan.changes:
        text = (
            f"nsfix found nothing it may change on NetScaler {where}, partition {partition}: "
            f"the plan is empty and applying it writes nothing. {left_over(plan)}"
        )
        return (Paragraph((text,), style="summary"), Paragraph(ticket_line))
    kinds = Counter(
        noun_of(resource)
        for resource, _ in dict.fromkeys((c.object.resource, c.object.name) for c in plan.changes)
    )
    kind_text = join_words([count(n, word) for word, n in sorted(kinds.items())])
    vservers = facts["vservers"]
    fixed = fixed_findings(plan)
    severities = Counter(f.severity for f in fixed)
    severity_text = join_words(
        [
            f"{severities[s]} {s.value}"
            for s in sorted(Severity, key=lambda s: -s.rank)
            if severities[s]
        ]
    )
    rules = ", ".join(f"\u201c{title}\u201d" for title in dict.fromkeys(f.title for f in fixed))
    text = (
        f"This change touches {count(facts['objects'], 'object')} ({kind_text}) of NetScaler "
        f"{where}, partition {partition}, in {count(len(plan.changes), 'step')}, for "
        f"{count(len(vservers), 'DSR virtual server')}: {', '.join(vservers)}. It "
        f"{what_it_sets(plan.changes)}. Why: it fixes {count(len(fixed), 'audit finding')} "
        f"({severity_text}) against the rules {rules}. "
        f"{path_sentence(plan)} Risk: {level}: {why} {left_over(plan)}"
    )
    return (Paragraph((" ".join(text.split()),), style="summary"), Paragraph(ticket_line))


def record(plan: Plan, digest: str, plan_path: str | None, ticket: str | None) -> tuple[Block, ...]:
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
