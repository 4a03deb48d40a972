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
                lines.append(f"  {finding.rule}: {finding.message}")
                guidance = finding.remediation.guidance
                if finding.remediation.automatic:
                    fix = ", ".join(f"{k} {v}" for k, v in finding.remediation.set.items())
                    lines.append(f"    fix: nsfix plan sets {fix}")
                elif guidance:
                    lines.append(f"    guidance: {guidance}")
        else:
            lines.append("  compliant: no finding")
        waived = [f for f in target.result.findings if f.waived]
        for finding in waived:
            assert finding.waiver is not None
            lines.append(
                f"  waived: {finding.rule} {finding.object} until {finding.waiver.expires} "
                f"({finding.waiver.owner}: {finding.waiver.reason})"
            )
        for waiver in target.result.expired_waivers:
            lines.append(
                f"  expired waiver (no longer hides anything): {waiver.rule} {waiver.object} "
                f"expired {waiver.expires} [{waiver.source}]"
            )
        for item in target.result.unevaluated:
            lines.append(f"  not evaluated: {item.rule} {item.object}: {item.reason}")
        lines.append("")
    code = audit_exit_code(targets, fail_on)
    lines.append(f"exit {int(code)} ({code.words}; --fail-on {fail_on.value})")
    return text_lines(lines)


def render_rich(targets: Sequence[TargetAudit], fail_on: Severity) -> list[Any]:
    from rich.table import Table
    from rich.text import Text

    colours = {"critical": "bold red", "warning": "yellow", "info": "cyan"}
    out: list[Any] = []
    for target in targets:
        out.append(Text(visible(target_title(target)), style="bold" if target.ok else "bold red"))
        if target.result is None:
            continue
        active = target.result.active()
        if not active:
            out.append(Text("  compliant: no finding", style="green"))
        else:
            table = Table(*COLUMNS)
            for finding in active:
                cells = [Text(visible(c)) for c in finding_cells(finding)]
                cells[0].stylize(colours[finding.severity.value])
                if finding.flow in {"loop", "mac-not-learned", "arp-bypass", "asymmetric"}:
                    cells[6].stylize("red")
                table.add_row(*cells)
            out.append(table)
        extra = render_text([target], fail_on).splitlines()[1:-2]
        notes = [line for line in extra if line.startswith(("  waived", "  expired", "  not "))]
        if notes:
            out.append(Text("\n".join(notes), style="dim"))
    code = audit_exit_code(targets, fail_on)
    out.append(Text(f"exit {int(code)} ({code.words}; --fail-on {fail_on.value})", "dim"))
    return out
