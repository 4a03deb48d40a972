"""Audit results as a versioned JSON document, as plain text, and as terminal tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from nsfix import __version__
from nsfix.canonical import jsonable
from nsfix.findings import Finding, Severity, TargetAudit, audit_exit_code
from nsfix.reports.text import aligned, text_lines, visible

SCHEMA: Final = "nsfix.audit"
SCHEMA_VERSION: Final = 1


def finding_document(finding: Finding) -> dict[str, Any]:
    item = jsonable(finding)
    item["object"] = jsonable(finding.object)
    item["object_text"] = str(finding.object)
    return dict(item)


def audit_document(
    targets: Sequence[TargetAudit], *, fail_on: Severity, generated_at: datetime
) -> dict[str, Any]:
    """The `--format json` output; documented in docs/audit-json.md."""
    entries = []
    total = {s.value: 0 for s in Severity} | {"waived": 0, "unevaluated": 0}
    playbooks: list[dict[str, Any]] = []
    for target in targets:
        entry: dict[str, Any] = {
            "url": target.url,
            "partition": target.partition,
            "status": "ok" if target.ok else "error",
            "error": target.error,
        }
        if target.snapshot is not None:
            entry["appliance"] = jsonable(target.snapshot.appliance)
        if target.result is not None:
            result = target.result
            entry["findings"] = [finding_document(f) for f in result.findings]
            entry["unevaluated"] = jsonable(result.unevaluated)
            entry["expired_waivers"] = jsonable(result.expired_waivers)
            entry["refused"] = [
                {"object": jsonable(ref), "reason": why}
                for ref, why in sorted(result.refused.items(), key=lambda item: item[0].sort_key)
            ]
            entry["counts"] = result.counts()
            for key, value in entry["counts"].items():
                total[key] = total.get(key, 0) + value
            for ref in result.playbooks:
                if jsonable(ref) not in playbooks:
                    playbooks.append(jsonable(ref))
        entries.append(entry)
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "nsfix_version": __version__,
        "generated_at": generated_at.isoformat(),
        "fail_on": fail_on.value,
        "playbooks": playbooks,
        "targets": entries,
        "summary": {
            **total,
            "targets": len(targets),
            "unreachable": sum(1 for t in targets if not t.ok),
        },
        "exit_code": int(audit_exit_code(targets, fail_on)),
    }


COLUMNS: Final = ("Severity", "Rule", "Object", "Via", "Current", "Expected", "Path")


def finding_cells(finding: Finding) -> tuple[str, ...]:
    return (
        finding.severity.value,
        finding.rule,
        str(finding.object),
        ", ".join(finding.via) or "-",
        finding.current or "-",
        finding.expected or "-",
        finding.flow or "-",
    )


def target_title(target: TargetAudit) -> str:
    where = (
        target.where if target.partition == "default" else f"{target.where} [{target.partition}]"
    )
    if target.result is None:
        return f"{where}: NOT AUDITED: {target.error}"
    c = target.result.counts()
    facts = target.snapshot.appliance if target.snapshot else None
    role = f", {facts.ha_role}" if facts else ""
    return (
        f"{where}{role}: {c['critical']} critical, {c['warning']} warning, {c['info']} info"
        f" ({c['waived']} waived)"
    )


def render_text(targets: Sequence[TargetAudit], fail_on: Severity) -> str:
    lines: list[str] = []
    for target in targets:
        lines.append(target_title(target))
        if target.result is None:
            lines.append("")
            continue
        active = target.result.active()
        if active:
            lines.extend("  " + row for row in aligned([COLUMNS, *map(finding_cells, active)]))
            lines.append("")
            for finding in active:
                notes = finding_notes(finding, target.result.refused.get(finding.object))
                lines.extend(f"{'  ' * depth}{note}" for depth, note in notes)
        else:
            lines.append("  compliant: no finding")
        lines.extend(f"  {note}" for note in target_notes(target))
        lines.append("")
    code = audit_exit_code(targets, fail_on)
    lines.append(f"exit {int(code)} ({code.words}; --fail-on {fail_on.value})")
    return text_lines(lines)


def finding_notes(finding: Finding, refused: str | None = None) -> list[tuple[int, str]]:
    """What a finding means and how it is fixed, as (depth, line): the words below the table.
    `refused` is why nsfix plan will not make the rule's fix on this object, if it will not."""
    notes = [(1, f"{finding.rule}: {finding.message}")]
    guidance = finding.remediation.guidance
    if finding.remediation.automatic and refused:
        notes.append((2, f"not fixed automatically: {refused}"))
    elif finding.remediation.automatic:
        fix = ", ".join(f"{k} {v}" for k, v in finding.remediation.set.items())
        notes.append((2, f"fix: nsfix plan sets {fix}"))
    elif guidance:
        notes.append((2, f"guidance: {guidance}"))
    return notes


def target_notes(target: TargetAudit) -> list[str]:
    """Waived findings, expired waivers and rules not evaluated on one audited target."""
    lines: list[str] = []
    if target.result is not None:
        waived = [f for f in target.result.findings if f.waived]
        for finding in waived:
            assert finding.waiver is not None
            lines.append(
                f"waived: {finding.rule} {finding.object} until {finding.waiver.expires} "
                f"({finding.waiver.owner}: {finding.waiver.reason})"
            )
        for waiver in target.result.expired_waivers:
            lines.append(
                f"expired waiver (no longer hides anything): {waiver.rule} {waiver.object} "
                f"expired {waiver.expires} [{waiver.source}]"
            )
        for item in target.result.unevaluated:
            lines.append(f"not evaluated: {item.rule} {item.object}: {item.reason}")
    return lines


def render_rich(targets: Sequence[TargetAudit], fail_on: Severity) -> list[Any]:
    """Renderables for a terminal: the findings as a table that stacks when the console is too
    narrow for it, and below it what each finding means and its fix, as on a pipe."""
    from rich.text import Text

    from nsfix.reports.terminal import FitTable, Prose

    colours = {"critical": "bold red", "warning": "yellow", "info": "cyan"}
    out: list[Any] = []
    for target in targets:
        out.append(Prose(visible(target_title(target)), "bold" if target.ok else "bold red"))
        if target.result is None:
            continue
        active = target.result.active()
        if not active:
            out.append(Text("  compliant: no finding", style="green"))
        else:
            rows = []
            for finding in active:
                cells = [Text(visible(c)) for c in finding_cells(finding)]
                cells[0].stylize(colours[finding.severity.value])
                if finding.flow in {"loop", "mac-not-learned", "arp-bypass", "asymmetric"}:
                    cells[6].stylize("red")
                rows.append(cells)
            # Severity, rule and object head a finding's block when the columns do not fit.
            out.append(FitTable(COLUMNS, rows, head=3))
            for finding in active:
                refused = target.result.refused.get(finding.object)
                for depth, note in finding_notes(finding, refused):
                    out.append(Prose(visible(note), "" if depth == 1 else "dim", 2 * depth, 2))
        for note in target_notes(target):
            out.append(Prose(visible(note), "dim", 2, 2))
    code = audit_exit_code(targets, fail_on)
    out.append(Text(f"exit {int(code)} ({code.words}; --fail-on {fail_on.value})", "dim"))
    return out
