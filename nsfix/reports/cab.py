"""The Change Advisory Board report of a plan, as Markdown and as one self-contained HTML page.

`cab_report` says everything once, as a document of numbered sections; `render_markdown` and
`render_html` only format it.
"""

from __future__ import annotations

from typing import Final

from nsfix import __version__
from nsfix.planner import Plan
from nsfix.reports import cab_changes, cab_runbook, cab_summary, html_page, markdown
from nsfix.reports.cab_words import SECTIONS, appliance
from nsfix.reports.document import Block, Code, Document, Section


def cab_report(
    plan: Plan, *, digest: str, plan_path: str | None = None, ticket: str | None = None
) -> Document:
    """Everything the CAB report says, in the order it says it."""
    parts: tuple[tuple[str, str, tuple[Block, ...]], ...] = (
        ("summary", "Summary", cab_summary.summary(plan, ticket)),
        ("record", "Change record", cab_summary.record(plan, digest, plan_path, ticket)),
        ("findings", "Findings this change fixes", cab_changes.findings(plan)),
        ("changes", "Changes, in the order they are applied", cab_changes.changes(plan)),
        ("paths", "Packet path before and after", cab_changes.paths(plan)),
        ("refused", "Refused: what nsfix will not change, and why", cab_changes.refused(plan)),
        (
            "guidance",
            "Findings that need a person (guidance only)",
            cab_changes.guidance(plan),
        ),
        ("server-tasks", "Server-side tasks per backend", cab_changes.server_tasks(plan)),
        ("prechecks", "Pre-checks the apply makes", cab_runbook.prechecks(plan, digest)),
        (
            "rollback",
            "Implementation and rollback plan",
            cab_runbook.rollback(plan, plan_path, ticket, digest),
        ),
        ("verification", "Verification", cab_runbook.verification(plan)),
        ("approvals", "Approvals", cab_runbook.approvals(plan_path, ticket, digest)),
    )
    assert tuple(key for key, _, _ in parts) == SECTIONS
    partition = str(plan.target.get("partition") or "default")
    return Document(
        title=f"Change request: nsfix plan for {appliance(plan)}, partition {partition}",
        subtitle=(
            "Made by nsfix ",
            Code(__version__),
            " from plan ",
            Code(digest),
            f", planned at {plan.created_at.isoformat(timespec='seconds')}.",
        ),
        # Numbered, so that the sections can refer to each other on paper.
        body=tuple(
            Section(key, f"{number}. {title}", blocks)
            for number, (key, title, blocks) in enumerate(parts, start=1)
        ),
    )


def render_markdown(
    plan: Plan, *, digest: str, plan_path: str | None = None, ticket: str | None = None
) -> str:
    """GitHub-flavoured Markdown; packet paths as fenced text blocks."""
    return markdown.render(cab_report(plan, digest=digest, plan_path=plan_path, ticket=ticket))


def render_html(
    plan: Plan, *, digest: str, plan_path: str | None = None, ticket: str | None = None
) -> str:
    """One self-contained HTML page (inline CSS and SVG, no external reference), A4 print."""
    document = cab_report(plan, digest=digest, plan_path=plan_path, ticket=ticket)
    return html_page.render(document, css=CSS)


CSS: Final = """
@page { size: A4; margin: 15mm; }
* { box-sizing: border-box; }
html { background: #ffffff; color: #1a1a1a; }
body { font: 10pt/1.45 "Helvetica Neue", Helvetica, Arial, sans-serif; margin: 0 auto;
  max-width: 190mm; padding: 10mm 6mm; background: #ffffff; overflow-wrap: break-word; }
h1 { font-size: 17pt; margin: 0 0 2mm; }
h2 { font-size: 13pt; border-bottom: 1.5px solid #37474f; padding-bottom: 1mm;
  margin: 6mm 0 3mm; }
h3 { font-size: 11pt; margin: 5mm 0 2mm; }
h4 { font-size: 10pt; margin: 4mm 0 1.5mm; }
h2, h3, h4, .commands .label { break-after: avoid; page-break-after: avoid; }
p, li { orphans: 3; widows: 3; }
.subtitle { color: #455a64; margin: 0 0 4mm; }
.summary { font-size: 10pt; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0 3mm; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
th, td { border: 1px solid #b0bec5; padding: 1.2mm 2mm; text-align: left; vertical-align: top; }
th { background: #eceff1; font-weight: 600; }
#record td:first-child, #changes td:nth-child(5), table.facts td:first-child {
  white-space: nowrap; }
table.facts td:first-child { width: 1%; }
.stacked { margin-top: 1mm; font-size: 9pt; color: #455a64; }
table.form td { height: 12mm; }
code, pre { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 8.5pt; }
pre { background: #f5f7f8; border: 1px solid #cfd8dc; padding: 1.5mm 3mm; margin: 1mm 0 2mm;
  white-space: pre-wrap; break-inside: avoid; page-break-inside: avoid; }
/* A line too long for the page goes on indented, so that it does not read as a new command. */
pre { padding-left: calc(3mm + 2em); text-indent: -2em each-line; }
.commands .label { margin: 1mm 0 0; font-weight: 600; font-size: 9pt; color: #455a64; }
figure { margin: 3mm 0 5mm; }
/* Each drawing whole; a page may fall between the before and the after one. */
figure svg { display: block; width: 100%; height: auto; margin: 0 0 2mm;
  break-inside: avoid; page-break-inside: avoid; }
.assumptions { font-size: 9pt; color: #455a64; margin: 1mm 0 0; }
.url { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 8.5pt; }
.blank { display: inline-block; min-width: 55mm; border-bottom: 1px solid #1a1a1a; }
td .blank { min-width: 30mm; }
@media print { body { max-width: none; padding: 0; } }
"""
