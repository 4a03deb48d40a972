"""An audit for people to read: Markdown, and one self-contained HTML page that prints on A4."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from nsfix import __version__
from nsfix.exitcodes import ExitCode
from nsfix.findings import Finding, ObjectRef, Severity, TargetAudit, audit_exit_code
from nsfix.reports.text import SUMMARY_COLUMNS, remediation_text, summary_counts

SEVERITY_ORDER: Final = (Severity.CRITICAL, Severity.WARNING, Severity.INFO)
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
        return f"{self.target.url} [{self.target.partition}]"


def where(target: TargetAudit) -> str:
    return f"{target.url} [{target.partition}]"


def fix_text(finding: Finding) -> str:
    return remediation_text(finding.remediation)


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
                fix_text(first),
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
    if code is ExitCode.FINDINGS:
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


def playbook_lines(targets: Sequence[TargetAudit]) -> list[tuple[str, str, str]]:
    seen: list[tuple[str, str, str]] = []
    for target in targets:
        if target.result is not None:
            for ref in target.result.playbooks:
                entry = (ref.name, ref.source, ref.digest)
                if entry not in seen:
                    seen.append(entry)
    return seen


def change_cell(finding: Finding) -> str:
    if finding.attribute is None:
        return "-"
    return f"{finding.attribute}: {finding.current or '-'} → {finding.expected or '-'}"


def is_web_link(url: str | None) -> bool:
    return bool(url) and re.match(r"https?://[^\s<>\"']+$", url or "") is not None


# --- Markdown ----------------------------------------------------------------------------------

_MD_SPECIAL: Final = re.compile(r"([\\`*_\[\]<>|#!~])")


def md(text: object) -> str:
    """Plain text for Markdown: special characters escaped, one line (it may sit in a table)."""
    flat = " ".join(str(text).split())
    return _MD_SPECIAL.sub(r"\\\1", flat)


def md_code(text: object) -> str:
    """An inline code span that survives back-ticks and pipes in the name."""
    flat = " ".join(str(text).split()).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def md_link(url: str) -> str:
    return f"<{url}>" if is_web_link(url) else md(url)


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def render_audit_markdown(targets: Sequence[TargetAudit], fail_on: Severity) -> str:
    """The audit for people: verdict, totals, then per partition what is wrong and how to fix it."""
    headline, sentence = verdict(targets, fail_on)
    code = audit_exit_code(targets, fail_on)
    lines = [
        "# nsfix compliance audit",
        "",
        f"**{headline}:** {md(sentence)}",
        "",
    ]
    summary_rows = []
    for target in targets:
        cells = summary_counts(target)
        status = "read" if cells is not None else "**not read**"
        summary_rows.append(
            [md(target.url), md_code(target.partition), status, *(cells or ["-"] * 6)]
        )
    lines.extend(
        md_table(
            SUMMARY_COLUMNS,
            summary_rows,
        )
    )
    total = totals(targets)
    lines += [
        "",
        f"Totals: {total['critical']} critical, {total['warning']} warning, {total['info']} info "
        f"active findings; {total['waived']} waived; {total['unevaluated']} not evaluated; "
        f"{total['passed']} compliant checks. Exit code {int(code)} "
        f"({code.name.lower()}; --fail-on {fail_on.value}).",
    ]
    books = playbook_lines(targets)
    if books:
        lines += ["", "Rules from:", ""]
        lines.extend(
            f"- {md_code(name)} ({md(source)}, {md_code(digest)})" for name, source, digest in books
        )
    for target in targets:
        lines += ["", *_md_target(view(target), fail_on)]
    lines += ["", "---", "", md(f"Written by nsfix {__version__}.")]
    return "\n".join(lines) + "\n"


def _md_target(v: TargetView, fail_on: Severity) -> list[str]:
    target = v.target
    lines = [f"## {md(v.title)}", ""]
    if target.result is None:
        lines.append(f"**Not audited:** {md(target.error or 'not read')}")
        return lines
    lines += [md(facts_text(target)), ""]
    if v.active:
        lines += [f"### Findings ({len(v.active)} active)", ""]
        lines.extend(
            md_table(
                FINDING_COLUMNS,
                [
                    [
                        f"**{f.severity.value}**"
                        if f.severity is Severity.CRITICAL
                        else f.severity.value,
                        md_code(f.rule),
                        md_code(f.object),
                        ", ".join(md_code(v) for v in f.via) or "-",
                        md(change_cell(f)),
                        md(f.flow or "-"),
                        "yes" if f.severity.at_least(fail_on) else "no",
                    ]
                    for f in v.active
                ],
            )
        )
        lines += ["", "### What the rules ask, and how to fix it"]
        for note in v.rules:
            lines += [
                "",
                f"#### {md_code(note.rule)} {md(note.title)} ({note.severity.value})",
                "",
            ]
            if note.rationale:
                lines += [f"Why: {md(note.rationale)}", ""]
            lines += [f"Fix: {md(note.fix)}", ""]
            if note.reference:
                lines += [f"Reference: {md_link(note.reference)}", ""]
            lines.append("Objects: " + ", ".join(md_code(o) for o in note.objects))
        lines.append("")
        lines.append("Messages:")
        lines.append("")
        lines.extend(f"- {md_code(f.rule)} {md(f.message)}" for f in v.active)
    else:
        lines.append("**Compliant:** no active finding.")
    if v.waived:
        lines += ["", f"### Waived ({len(v.waived)})", ""]
        lines.extend(
            md_table(
                ("Rule", "Object", "Severity", "Until", "Owner", "Reason", "Waiver"),
                [
                    [
                        md_code(f.rule),
                        md_code(f.object),
                        f.severity.value,
                        str(f.waiver.expires),
                        md(f.waiver.owner),
                        md(f.waiver.reason),
                        md(f.waiver.source or "-"),
                    ]
                    for f in v.waived
                    if f.waiver is not None
                ],
            )
        )
    result = target.result
    if result.expired_waivers:
        lines += ["", "### Expired waivers (they hide nothing any more)", ""]
        lines.extend(
            f"- {md_code(w.rule)} {md_code(w.object)} expired {w.expires} "
            f"({md(w.owner)}: {md(w.reason)}; {md(w.source or '-')})"
            for w in result.expired_waivers
        )
    if result.unevaluated:
        lines += ["", f"### Not evaluated ({len(result.unevaluated)})", ""]
        lines.extend(
            md_table(
                ("Rule", "Object", "Needs", "Why"),
                [
                    [md_code(u.rule), md_code(u.object), md_code(u.attribute), md(u.reason)]
                    for u in result.unevaluated
                ],
            )
        )
    if v.passed:
        lines += ["", f"### Compliant checks ({len(result.passed)})", ""]
        lines.extend(
            f"- {md_code(rule)}: {len(objects)} object(s): "
            + ", ".join(md_code(o) for o in objects)
            for rule, objects in v.passed.items()
        )
    return lines


# --- HTML --------------------------------------------------------------------------------------

CSS: Final = """
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #1b1f24; margin: 0 auto; max-width: 190mm; padding: 8mm 0; }
h1 { font-size: 18pt; margin: 0 0 4mm; }
h2 { font-size: 13.5pt; margin: 8mm 0 2mm; padding-top: 2mm; border-top: 2px solid #d0d7de;
     break-after: avoid; }
h3 { font-size: 11.5pt; margin: 5mm 0 2mm; break-after: avoid; }
h4 { font-size: 10.5pt; margin: 4mm 0 1mm; break-after: avoid; }
p { margin: 1mm 0 2mm; }
code { font: 9pt/1.3 "SFMono-Regular", Consolas, "Liberation Mono", monospace;
       background: #f3f4f6; padding: 0 2px; border-radius: 2px; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0 3mm; font-size: 9pt; }
th, td { border: 1px solid #d0d7de; padding: 1.2mm 1.6mm; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; }
td.tight, th.tight { white-space: nowrap; }
th { background: #f6f8fa; }
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
.muted { color: #57606a; }
.error { color: #cf222e; font-weight: 600; }
.rule { border-left: 3px solid #d0d7de; padding-left: 3mm; margin: 2mm 0 3mm; break-inside: avoid; }
ul { margin: 1mm 0 2mm; padding-left: 6mm; }
footer { margin-top: 8mm; font-size: 8.5pt; color: #57606a; }
@media print { body { padding: 0; } a { color: inherit; } }
"""


def h(text: object) -> str:
    return html.escape(str(text), quote=True)


def h_code(text: object) -> str:
    return f"<code>{h(text)}</code>"


def h_sev(severity: Severity) -> str:
    return f'<span class="sev {severity.value}">{h(severity.value)}</span>'


def h_link(url: str) -> str:
    # Only http(s) becomes a link: a playbook could name any scheme, javascript: included.
    if is_web_link(url):
        return f'<a href="{h(url)}" rel="noreferrer noopener">{h(url)}</a>'
    return h(url)


def h_table(header: Sequence[str], rows: Sequence[Sequence[str]], tight: Sequence[int] = ()) -> str:
    """A table of ready-made HTML cells; columns in `tight` never wrap (short words, badges)."""

    def cell(tag: str, index: int, content: str) -> str:
        style = ' class="tight"' if index in tight else ""
        return f"<{tag}{style}>{content}</{tag}>"

    head = "".join(cell("th", i, h(c)) for i, c in enumerate(header))
    body = "".join(
        "<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_audit_html(targets: Sequence[TargetAudit], fail_on: Severity) -> str:
    """One HTML file: inline CSS, no script, no image, nothing fetched from anywhere."""
    headline, sentence = verdict(targets, fail_on)
    code = audit_exit_code(targets, fail_on)
    mood = {ExitCode.OK: "good", ExitCode.PARTIAL: "warn"}.get(code, "bad")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>nsfix compliance audit: {h(headline)}</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>nsfix compliance audit</h1>",
        f'<div class="verdict {mood}"><strong>{h(headline)}:</strong> {h(sentence)}</div>',
    ]
    rows = []
    for index, target in enumerate(targets, 1):
        anchor = f'<a href="#target-{index}">{h(target.url)}</a>'
        cells = summary_counts(target)
        status = "read" if cells is not None else '<span class="error">not read</span>'
        rows.append([anchor, h_code(target.partition), status, *(cells or ["-"] * 6)])
    parts.append(
        h_table(
            SUMMARY_COLUMNS,
            rows,
        )
    )
    total = totals(targets)
    parts.append(
        f"<p>Totals: {total['critical']} critical, {total['warning']} warning, "
        f"{total['info']} info active findings; {total['waived']} waived; "
        f"{total['unevaluated']} not evaluated; {total['passed']} compliant checks. "
        f"Exit code {int(code)} ({h(code.name.lower())}; --fail-on {h(fail_on.value)}).</p>"
    )
    books = playbook_lines(targets)
    if books:
        parts.append(
            '<p class="muted">Rules from: '
            + "; ".join(f"{h_code(n)} ({h(s)}, {h_code(d)})" for n, s, d in books)
            + "</p>"
        )
    for index, target in enumerate(targets, 1):
        parts.append(_html_target(view(target), index, fail_on))
    parts.append(f"<footer>Written by nsfix {h(__version__)}.</footer>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _object_cell(ref: ObjectRef) -> str:
    return h_code(ref)


def _html_target(v: TargetView, index: int, fail_on: Severity) -> str:
    target = v.target
    out = [f'<section id="target-{index}"><h2>{h(v.title)}</h2>']
    if target.result is None:
        out.append(f'<p class="error">Not audited: {h(target.error or "not read")}</p></section>')
        return "\n".join(out)
    out.append(f'<p class="muted">{h(facts_text(target))}</p>')
    if v.active:
        out.append(f"<h3>Findings ({len(v.active)} active)</h3>")
        out.append(
            h_table(
                FINDING_COLUMNS,
                [
                    [
                        h_sev(f.severity),
                        h_code(f.rule),
                        _object_cell(f.object) + f'<br><span class="muted">{h(f.message)}</span>',
                        ", ".join(h_code(x) for x in f.via) or "-",
                        h(change_cell(f)),
                        f'<span class="path{" harm" if f.flow in HARMFUL_PATHS else ""}">'
                        f"{h(f.flow or '-')}</span>",
                        "yes" if f.severity.at_least(fail_on) else "no",
                    ]
                    for f in v.active
                ],
                tight=(0, 1, 5, 6),
            )
        )
        out.append("<h3>What the rules ask, and how to fix it</h3>")
        for note in v.rules:
            block = [
                '<div class="rule">',
                f"<h4>{h_sev(note.severity)} {h_code(note.rule)} {h(note.title)}</h4>",
            ]
            if note.rationale:
                block.append(f"<p><strong>Why:</strong> {h(note.rationale)}</p>")
            block.append(f"<p><strong>Fix:</strong> {h(note.fix)}</p>")
            if note.reference:
                block.append(f"<p><strong>Reference:</strong> {h_link(note.reference)}</p>")
            block.append(
                "<p><strong>Objects:</strong> "
                + ", ".join(h_code(o) for o in note.objects)
                + "</p></div>"
            )
            out.append("".join(block))
    else:
        out.append("<p><strong>Compliant:</strong> no active finding.</p>")
    if v.waived:
        out.append(f"<h3>Waived ({len(v.waived)})</h3>")
        out.append(
            h_table(
                ("Rule", "Object", "Severity", "Until", "Owner", "Reason", "Waiver"),
                [
                    [
                        h_code(f.rule),
                        _object_cell(f.object),
                        h(f.severity.value),
                        h(f.waiver.expires),
                        h(f.waiver.owner),
                        h(f.waiver.reason),
                        h(f.waiver.source or "-"),
                    ]
                    for f in v.waived
                    if f.waiver is not None
                ],
            )
        )
    result = target.result
    if result.expired_waivers:
        out.append("<h3>Expired waivers (they hide nothing any more)</h3><ul>")
        out.extend(
            f"<li>{h_code(w.rule)} {h_code(w.object)} expired {h(w.expires)} "
            f"({h(w.owner)}: {h(w.reason)}; {h(w.source or '-')})</li>"
            for w in result.expired_waivers
        )
        out.append("</ul>")
    if result.unevaluated:
        out.append(f"<h3>Not evaluated ({len(result.unevaluated)})</h3>")
        out.append(
            h_table(
                ("Rule", "Object", "Needs", "Why"),
                [
                    [h_code(u.rule), _object_cell(u.object), h_code(u.attribute), h(u.reason)]
                    for u in result.unevaluated
                ],
            )
        )
    if v.passed:
        out.append(f"<h3>Compliant checks ({len(result.passed)})</h3><ul>")
        out.extend(
            f"<li>{h_code(rule)}: {len(objects)} object(s): "
            + ", ".join(h_code(o) for o in objects)
            + "</li>"
            for rule, objects in v.passed.items()
        )
        out.append("</ul>")
    out.append("</section>")
    return "\n".join(out)
