"""The audit for people to read: Markdown, and one self-contained HTML page that prints on A4.

`audit_document` says it all once; the two formats are renderings of that document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from nsfix import __version__
from nsfix.exitcodes import ExitCode
from nsfix.findings import Finding, Severity, TargetAudit, audit_exit_code
from nsfix.reports import html_page, markdown
from nsfix.reports.document import (
    Anchor,
    Block,
    Bullets,
    Callout,
    Code,
    Document,
    Group,
    Heading,
    Label,
    Link,
    Mark,
    Note,
    Only,
    Paragraph,
    Rich,
    Section,
    Strong,
    Table,
    codes,
    join,
)
from nsfix.reports.text import SUMMARY_COLUMNS, remediation_text, summary_counts

FINDING_COLUMNS: Final = (
    "Severity",
    "Rule",
    "Object",
    "Via",
    "Current → expected",
    "Packet path",
    "Fails",
)
HARMFUL_PATHS: Final = frozenset(
    {"loop", "mac-not-learned", "no-layer2", "arp-bypass", "asymmetric"}
)


# --- what the document says, whatever the format ---------------------------------------------


@dataclass(frozen=True)
class RuleNote:
    """One broken rule of a target: why it exists, how to fix it, and the objects that break it."""

    rule: str
    title: str
    severity: Severity
    rationale: str
    reference: str | None
    fix: str
    objects: tuple[str, ...]


@dataclass
class TargetView:
    target: TargetAudit
    active: list[Finding] = field(default_factory=list)
    waived: list[Finding] = field(default_factory=list)
    rules: list[RuleNote] = field(default_factory=list)
    passed: dict[str, list[str]] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return f"{self.target.where} [{self.target.partition}]"


def fix_text(finding: Finding, refused: Sequence[str] = ()) -> str:
    """The rule's fix, and which of its objects nsfix plan would refuse (the plan says why)."""
    text = remediation_text(finding.remediation)
    if finding.remediation.automatic and refused:
        text += f" Not for {', '.join(refused)}: nsfix plan refuses them (it says why)."
    return text


def finding_order(finding: Finding) -> tuple[int, str, str, str, str, str]:
    """Critical first, then by rule id, then by object (a group before its members)."""
    ref = finding.object
    return (
        -finding.severity.rank,
        finding.rule,
        ref.partition,
        ref.resource,
        ref.name,
        ref.member or "",
    )


def view(target: TargetAudit) -> TargetView:
    out = TargetView(target)
    result = target.result
    if result is None:
        return out
    out.active = sorted(result.active(), key=finding_order)
    out.waived = [f for f in result.findings if f.waived]
    notes: dict[str, list[Finding]] = {}
    for finding in out.active:
        notes.setdefault(finding.rule, []).append(finding)
    for rule, findings in notes.items():
        first = findings[0]
        out.rules.append(
            RuleNote(
                rule,
                first.title,
                first.severity,
                first.rationale,
                first.reference,
                fix_text(
                    first,
                    [str(f.object) for f in findings if f.object in result.refused],
                ),
                tuple(str(f.object) for f in findings),
            )
        )
    for rule, ref in result.passed:
        out.passed.setdefault(rule, []).append(str(ref))
    return out


def verdict(targets: Sequence[TargetAudit], fail_on: Severity) -> tuple[str, str]:
    """(headline, one sentence) for the whole run, in the words of the exit code."""
    code = audit_exit_code(targets, fail_on)
    read = [t for t in targets if t.result is not None]
    failing = sum(
        1
        for t in read
        if t.result is not None
        for f in t.result.active()
        if f.severity.at_least(fail_on)
    )
    unread = len(targets) - len(read)
    if code is ExitCode.ERROR:
        return "Not audited", "No appliance partition could be read, so nothing was checked."
    if code in (ExitCode.FINDINGS, ExitCode.PARTIAL_FINDINGS):
        tail = f"; {unread} partition(s) could not be read" if unread else ""
        return (
            "Not compliant",
            f"{failing} active finding(s) at or above {fail_on.value}{tail}.",
        )
    if code is ExitCode.PARTIAL:
        return (
            "Incomplete",
            f"{unread} of {len(targets)} partition(s) could not be read; the others have no "
            f"active finding at or above {fail_on.value}.",
        )
    return "Compliant", f"No active finding at or above {fail_on.value}."


def facts_text(target: TargetAudit) -> str:
    if target.snapshot is None:
        return ""
    facts = target.snapshot.appliance
    parts = [
        facts.hostname or "hostname not reported",
        facts.release or facts.version or "version unknown",
        f"HA {facts.ha_role}",
        f"read {target.snapshot.collected_at.isoformat(timespec='seconds')}",
    ]
    return ", ".join(parts)


def totals(targets: Sequence[TargetAudit]) -> dict[str, int]:
    total = {s.value: 0 for s in Severity} | {"waived": 0, "unevaluated": 0, "passed": 0}
    for target in targets:
        if target.result is not None:
            for key, value in target.result.counts().items():
                total[key] += value
            total["passed"] += len(target.result.passed)
    return total


def shown_source(source: str) -> str:
    """A playbook's file as the reader may look for it: relative to the working directory when it
    is under it, else by its name (a path on the auditor's machine tells the reader nothing)."""
    if not source:
        return ""
    path = Path(source)
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.name


def playbook_lines(targets: Sequence[TargetAudit]) -> list[tuple[str, str, str]]:
    seen: list[tuple[str, str, str]] = []
    for target in targets:
        if target.result is not None:
            for ref in target.result.playbooks:
                entry = (ref.name, shown_source(ref.source), ref.digest)
                if entry not in seen:
                    seen.append(entry)
    return seen


def change_cell(finding: Finding) -> str:
    if finding.attribute is None:
        return "-"
    return f"{finding.attribute}: {finding.current or '-'} → {finding.expected or '-'}"


# --- the document, built once for both formats ----------------------------------------------


def audit_document(targets: Sequence[TargetAudit], fail_on: Severity) -> Document:
    """The audit for people: verdict, totals, then per partition what is wrong and how to fix it."""
    headline, sentence = verdict(targets, fail_on)
    code = audit_exit_code(targets, fail_on)
    mood = {ExitCode.OK: "good", ExitCode.PARTIAL: "warn"}.get(code, "bad")
    rows: list[tuple[Rich, ...]] = []
    for index, target in enumerate(targets, 1):
        cells = summary_counts(target)
        status: Rich = ("read",) if cells is not None else (Mark("not read", "error", loud=True),)
        rows.append(
            (
                (Anchor(target.where, f"target-{index}"),),
                (Code(target.partition),),
                status,
                *((cell,) for cell in cells or ["-"] * 6),
            )
        )
    total = totals(targets)
    body: list[Block | Section] = [
        Callout((Strong(f"{headline}:"), f" {sentence}"), style=f"verdict {mood}"),
        Table(SUMMARY_COLUMNS, tuple(rows)),
        Paragraph(
            (
                f"Totals: {total['critical']} critical, {total['warning']} warning, "
                f"{total['info']} info active findings; {total['waived']} waived; "
                f"{total['unevaluated']} not evaluated; {total['passed']} compliant checks. "
                f"Exit code {int(code)} ({code.words}; --fail-on {fail_on.value}).",
            )
        ),
    ]
    books = tuple(
        (Code(name), " (", *((Code(source), ", ") if source else ()), Code(digest), ")")
        for name, source, digest in playbook_lines(targets)
    )
    if books:
        # A list in Markdown; one quiet line on the page, where it is small print.
        body.append(Only("markdown", (Paragraph(("Rules from:",)), Bullets(books))))
        body.append(Only("html", (Paragraph(("Rules from: ", *join(books, "; ")), style="muted"),)))
    for index, target in enumerate(targets, 1):
        v = view(target)
        body.append(Section(f"target-{index}", v.title, target_blocks(v, fail_on)))
    return Document(
        title="nsfix compliance audit",
        page_title=f"nsfix compliance audit: {headline}",
        body=tuple(body),
        footer=(f"Written by nsfix {__version__}.",),
    )


def target_blocks(v: TargetView, fail_on: Severity) -> tuple[Block, ...]:
    target = v.target
    result = target.result
    if result is None:
        # The paragraph's style already says it in HTML; Markdown needs the bold.
        return (
            Paragraph(
                (Mark("Not audited:", loud=True), f" {target.error or 'not read'}"),
                style="error",
            ),
        )
    out: list[Block] = [Paragraph((facts_text(target),), style="muted")]
    if v.active:
        out.append(Heading((f"Findings ({len(v.active)} active)",)))
        out.append(
            Table(
                FINDING_COLUMNS,
                tuple(
                    (
                        (severity_mark(f.severity, loud=f.severity is Severity.CRITICAL),),
                        (Code(f.rule),),
                        (Code(str(f.object)), Note(f.message)),
                        codes(f.via) or ("-",),
                        (change_cell(f),),
                        (Mark(f.flow or "-", "path harm" if f.flow in HARMFUL_PATHS else "path"),),
                        ("yes" if f.severity.at_least(fail_on) else "no",),
                    )
                    for f in v.active
                ),
                tight=(0, 1, 5, 6),
                # On A4 the virtual servers go under the object and whether it fails the audit
                # under its severity, or the object has no room to show its name on one line.
                stacked=((3, 2), (6, 0)),
            )
        )
        out.append(Heading(("What the rules ask, and how to fix it",)))
        out.extend(rule_note(note) for note in v.rules)
        # The HTML table shows each message under its object; a Markdown row has no room.
        out.append(
            Only(
                "markdown",
                (
                    Paragraph(("Messages:",)),
                    Bullets(tuple((Code(f.rule), f" {f.message}") for f in v.active)),
                ),
            )
        )
    else:
        out.append(Paragraph((Strong("Compliant:"), " no active finding.")))
    if v.waived:
        out.append(Heading((f"Waived ({len(v.waived)})",)))
        out.append(
            Table(
                ("Rule", "Object", "Severity", "Until", "Owner", "Reason", "Waiver"),
                tuple(
                    (
                        (Code(f.rule),),
                        (Code(str(f.object)),),
                        (f.severity.value,),
                        (str(f.waiver.expires),),
                        (f.waiver.owner,),
                        (f.waiver.reason,),
                        (f.waiver.source or "-",),
                    )
                    for f in v.waived
                    if f.waiver is not None
                ),
            )
        )
    if result.expired_waivers:
        out.append(Heading(("Expired waivers (they hide nothing any more)",)))
        out.append(
            Bullets(
                tuple(
                    (
                        Code(w.rule),
                        " ",
                        Code(w.object),
                        f" expired {w.expires} ({w.owner}: {w.reason}; {w.source or '-'})",
                    )
                    for w in result.expired_waivers
                )
            )
        )
    if result.unevaluated:
        out.append(Heading((f"Not evaluated ({len(result.unevaluated)})",)))
        out.append(
            Table(
                ("Rule", "Object", "Needs", "Why"),
                tuple(
                    ((Code(u.rule),), (Code(str(u.object)),), (Code(u.attribute),), (u.reason,))
                    for u in result.unevaluated
                ),
            )
        )
    if v.passed:
        out.append(Heading((f"Compliant checks ({len(result.passed)})",)))
        out.append(
            Bullets(
                tuple(
                    (Code(rule), f": {len(objects)} object(s): ", *codes(objects))
                    for rule, objects in v.passed.items()
                )
            )
        )
    return tuple(out)


def severity_mark(severity: Severity, *, loud: bool = False) -> Mark:
    return Mark(severity.value, f"sev {severity.value}", loud=loud)


def rule_note(note: RuleNote) -> Group:
    blocks: list[Block] = [
        Heading((Code(note.rule), f" {note.title}"), level=4, badge=severity_mark(note.severity))
    ]
    if note.rationale:
        blocks.append(Paragraph((Label("Why:"), f" {note.rationale}")))
    blocks.append(Paragraph((Label("Fix:"), f" {note.fix}")))
    if note.reference:
        blocks.append(Paragraph((Label("Reference:"), " ", Link(note.reference))))
    blocks.append(Paragraph((Label("Objects:"), " ", *codes(note.objects))))
    return Group(tuple(blocks), style="rule")


def render_audit_markdown(targets: Sequence[TargetAudit], fail_on: Severity) -> str:
    return markdown.render(audit_document(targets, fail_on))


def render_audit_html(targets: Sequence[TargetAudit], fail_on: Severity) -> str:
    """One HTML file: inline CSS, no script, no image, nothing fetched from anywhere."""
    return html_page.render(audit_document(targets, fail_on), css=CSS)


CSS: Final = """
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #1b1f24; margin: 0 auto; max-width: 190mm; padding: 8mm 0;
       overflow-wrap: break-word; }
h1 { font-size: 18pt; margin: 0 0 4mm; }
h2 { font-size: 13.5pt; margin: 8mm 0 2mm; padding-top: 2mm; border-top: 2px solid #d0d7de;
     break-after: avoid; }
h3 { font-size: 11.5pt; margin: 5mm 0 2mm; break-after: avoid; }
h4 { font-size: 10.5pt; margin: 4mm 0 1mm; break-after: avoid; }
p { margin: 1mm 0 2mm; }
code { font: 9pt/1.3 "SFMono-Regular", Consolas, "Liberation Mono", monospace;
       background: #f3f4f6; padding: 0 2px; border-radius: 2px; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0 3mm; font-size: 9pt; }
th, td { border: 1px solid #d0d7de; padding: 1.2mm 1.6mm; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
.stacked { font-size: 8.5pt; }
tr { break-inside: avoid; }
.verdict { padding: 3mm 4mm; border-radius: 2mm; border: 1px solid; margin: 0 0 4mm; }
.verdict.bad { background: #ffebe9; border-color: #cf222e; }
.verdict.warn { background: #fff8c5; border-color: #bf8700; }
.verdict.good { background: #dafbe1; border-color: #1a7f37; }
.sev { display: inline-block; min-width: 15mm; text-align: center; border-radius: 1mm;
       font-weight: 600; font-size: 8.5pt; padding: 0 1mm; }
.sev.critical { background: #cf222e; color: #fff; }
.sev.warning { background: #bf8700; color: #fff; }
.sev.info { background: #0969da; color: #fff; }
.path.harm { color: #cf222e; font-weight: 600; }
.muted, .stacked { color: #57606a; }
.error { color: #cf222e; font-weight: 600; }
.rule { border-left: 3px solid #d0d7de; padding-left: 3mm; margin: 2mm 0 3mm; break-inside: avoid; }
ul { margin: 1mm 0 2mm; padding-left: 6mm; }
footer { margin-top: 8mm; font-size: 8.5pt; color: #57606a; }
/* A screen gets its whole width for the tables (names and messages stay on one line); prose
   keeps a readable measure. Paper keeps the A4 column. */
@media screen { body { max-width: none; padding: 8mm 3vw; }
                p, ul, .verdict, .rule { max-width: 120ch; } }
@media print { body { padding: 0; } a { color: inherit; } }
"""
