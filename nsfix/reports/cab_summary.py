"""The CAB report's first page: the fields a board decides on, the same in words, and the record."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Final

from nsfix.findings import Severity
from nsfix.flow import Outcome
from nsfix.planfile import summary as plan_summary
from nsfix.planner import Change, Plan
from nsfix.planner_records import CanaryChoice, Verb
from nsfix.reports.cab_changes import fixed_findings
from nsfix.reports.cab_runbook import JOURNAL_PLACEHOLDER, duration_range, window_estimate
from nsfix.reports.cab_words import (
    OUTCOME_WORDS,
    appliance_words,
    count,
    join_words,
    section_ref,
)
from nsfix.reports.document import (
    Blank,
    Block,
    Code,
    Heading,
    Label,
    Paragraph,
    Rich,
    Strong,
    Table,
    codes,
)
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


def risk_assessment(plan: Plan) -> tuple[str, str, str]:
    """A one-word level, the reason in a line for the summary's fields, and in full."""
    if not plan.changes:
        return "none", "nothing is written to the appliance", "nothing is written to the appliance."
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
            "the plan adds objects or changes bindings, so for a moment virtual servers balance "
            "over old and new backends",
            "the plan adds objects or changes bindings (dedicated copies or monitors), so for a "
            "moment virtual servers balance over old and new backends; rollback replays the "
            f"inverse of every step in reverse order. {guard}",
        )
    return (
        "medium",
        "one attribute update per object, each undone by one write; backends see the "
        "client's address from the first write",
        "every change is one attribute update that one write undoes, but live traffic reaches "
        "the backends with the client's address from the first write: a backend not prepared "
        f"as the server-side tasks say fails its connections. {guard}",
    )


def path_sentence(plan: Plan) -> str:
    moves: Counter[tuple[Outcome, Outcome]] = Counter()
    for path in plan.paths:
        moves[path.before.outcome, path.after.outcome] += 1 + len(path.alike)
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
    return (
        ("Not fixed by this change: " + "; ".join(parts) + ".")
        if parts
        else "Nothing is refused and no finding is left to a person."
    )


# Beyond this many virtual servers the summary names the first ones and counts the rest: the
# changes table (section 4) names every one.
NAMED_VSERVERS: Final = 12


def summary(plan: Plan, ticket: str | None) -> tuple[Block, ...]:
    """The fields a board decides on, then the same in words."""
    level, short, _ = risk_assessment(plan)
    ticket_value: Rich = (Code(ticket),) if ticket else (Blank(),)
    if not plan.changes:
        rows: list[tuple[Rich, ...]] = [
            ((Label("Risk"),), (Strong(level.upper()), f": {short}.")),
            ((Label("Impact"),), ("none: the plan is empty",)),
            ((Label("Change ticket"),), ticket_value),
        ]
        return (Table(("Field", "Value"), tuple(rows), style="facts"), *prose(plan))
    facts = plan_summary(plan)
    vservers: list[str] = facts["vservers"]
    named = codes(vservers[:NAMED_VSERVERS])
    if len(vservers) > NAMED_VSERVERS:
        named += (f" and {len(vservers) - NAMED_VSERVERS} more ({section_ref('changes')})",)
    rows = [
        ((Label("Risk"),), (Strong(level.upper()), f": {short}.")),
        ((Label("Impact"),), impact(plan)),
        ((Label("Affected virtual servers"),), (f"{len(vservers)}: ", *named)),
        ((Label("Change window estimate"),), (window_estimate(plan),)),
        ((Label("Canary"),), canary_words(plan)),
        ((Label("Rollback"),), rollback_words(plan)),
        ((Label("Approvals"),), approval_words()),
        ((Label("Change ticket"),), ticket_value),
    ]
    return (Table(("Field", "Value"), tuple(rows), style="facts"), *prose(plan))


def kind_words(plan: Plan) -> str:
    """`5 services and 1 service group`: the objects the changes write, by kind."""
    kinds = Counter(
        noun_of(resource)
        for resource, _ in dict.fromkeys((c.object.resource, c.object.name) for c in plan.changes)
    )
    return join_words([count(n, word) for word, n in sorted(kinds.items())])


def impact(plan: Plan) -> Rich:
    """What is written where, and what the servers themselves need before the apply."""
    facts = plan_summary(plan)
    kind_text = kind_words(plan)
    partition = str(plan.target.get("partition") or "default")
    text = (
        f"{what_it_sets(plan.changes)} on {count(facts['objects'], 'object')} ({kind_text}) of "
        f"NetScaler {appliance_words(plan)}, partition {partition}, in "
        f"{count(len(plan.changes), 'step')}"
    )
    if plan.server_tasks:
        verb = "needs" if len(plan.server_tasks) == 1 else "need"
        text += (
            f"; {count(len(plan.server_tasks), 'backend server')} {verb} settings NITRO cannot "
            f"make, before the apply ({section_ref('server-tasks')})"
        )
    return (text + ".",)


def canary_words(plan: Plan) -> Rich:
    first = plan.changes[0]
    if plan.canary is None:
        return (f"{first.id} ({first.object}) is applied and verified alone first.",)
    if plan.canary.code is CanaryChoice.LIVE:
        return (
            f"{first.id}, ",
            Code(str(first.object)),
            " on live traffic of ",
            *codes(first.vservers),
            ": written and verified alone before the rest.",
        )
    return (
        f"{first.id}, ",
        Code(str(first.object)),
        " goes alone, but no change can be a meaningful canary: its verification proves nothing "
        f"on live traffic ({section_ref('changes')}).",
    )


def rollback_words(plan: Plan) -> Rich:
    return (
        "automatic on any failure during the apply; later, ",
        Code(f"nsfix rollback {JOURNAL_PLACEHOLDER}"),
        f" from the journal alone, in {duration_range(plan)} ({section_ref('rollback')}).",
    )


def approval_words() -> Rich:
    return (
        f"the board signs the plan digest ({section_ref('record')}) with ",
        Code("nsfix approve"),
        "; the apply takes that plan and no other with ",
        Code("nsfix apply --expect-digest"),
        f" (the commands: {section_ref('approvals')}).",
    )


def prose(plan: Plan) -> tuple[Block, ...]:
    return (Heading(("In words",)), Paragraph((summary_text(plan),), style="summary"))


def summary_text(plan: Plan) -> str:
    where = appliance_words(plan)
    partition = str(plan.target.get("partition") or "default")
    if not plan.changes:
        return (
            f"nsfix found nothing it may change on NetScaler {where}, partition {partition}: "
            f"the plan is empty and applying it writes nothing. {left_over(plan)}"
        )
    facts = plan_summary(plan)
    kind_text = kind_words(plan)
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
    level, _, why = risk_assessment(plan)
    # The fields above say what, where and at what risk; the words say why and what is left.
    text = (
        f"This change {what_it_sets(plan.changes)} on {count(facts['objects'], 'object')} "
        f"({kind_text}) for {count(len(vservers), 'DSR virtual server')}. Why: it fixes "
        f"{count(len(fixed), 'audit finding')} ({severity_text}) against the rules {rules}. "
        f"{path_sentence(plan)} Risk: {level}: {why} {left_over(plan)}"
    )
    return " ".join(text.split())


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
