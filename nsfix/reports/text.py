"""Helpers shared by the plain-text renderers."""

from __future__ import annotations

from collections.abc import Iterable

from nsfix.findings import Remediation, TargetAudit


def aligned(table: Iterable[tuple[str, ...]]) -> list[str]:
    """Rows as left-aligned columns two spaces apart, trailing blanks trimmed."""
    rows = list(table)
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def remediation_text(remediation: Remediation) -> str:
    """What may be done about a finding, in one sentence set, for every report format."""
    parts = []
    if remediation.automatic:
        fix = ", ".join(f"{k} {v}" for k, v in remediation.set.items())
        parts.append(f"nsfix plan sets {fix}; review the plan, then apply it with nsfix apply.")
    if remediation.guidance:
        parts.append(remediation.guidance)
    if remediation.bind_monitor and "--bind-monitor" not in remediation.guidance:
        parts.append(f"With --bind-monitor, nsfix plan binds {remediation.bind_monitor}.")
    return " ".join(parts) or "No automatic fix: a person must act (see the rationale)."


SUMMARY_COLUMNS = (
    "Appliance",
    "Partition",
    "Status",
    "Critical",
    "Warning",
    "Info",
    "Waived",
    "Not evaluated",
    "Compliant checks",
)


def summary_counts(target: TargetAudit) -> list[str] | None:
    """The count cells of one target's summary row; None when it could not be read."""
    if target.result is None:
        return None
    c = target.result.counts()
    return [
        str(c["critical"]),
        str(c["warning"]),
        str(c["info"]),
        str(c["waived"]),
        str(c["unevaluated"]),
        str(len(target.result.passed)),
    ]
