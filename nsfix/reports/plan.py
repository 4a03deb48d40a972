"""A plan as readable text: what changes and why, what is refused, what servers need."""

from __future__ import annotations

from typing import Final

from nsfix.planner import Change, Plan, ServerTaskItem
from nsfix.planner_records import Verb
from nsfix.reports.text import aligned, text_lines
from nsfix.resources import key_of

TaskKey = tuple[tuple[str, ...], tuple[str, ...], tuple[ServerTaskItem, ...]]
COLUMNS: Final = ("Step", "Object", "Change", "Virtual servers", "Path before → after")


def change_text(change: Change, *, undo: bool = False) -> str:
    """`usip NO → YES`; with `undo`, the direction a rollback writes (`usip YES → NO`)."""
    verb = change.operation.verb
    if verb is Verb.UPDATE and undo:
        return ", ".join(f"{k} {v} → {change.before.get(k, '?')}" for k, v in change.after.items())
    if verb is Verb.UPDATE:
        return ", ".join(f"{k} {change.before.get(k, '?')} → {v}" for k, v in change.after.items())
    if undo:
        return f"undo: {change.inverse.verb} {change.inverse.resource}"
    record = change.operation.record
    if verb is Verb.ADD:
        return f"add {change.operation.resource} {record.get(key_of(change.operation.resource))}"
    detail = ", ".join(f"{k}={v}" for k, v in record.items())
    return f"{verb} {detail}"


def change_cells(change: Change) -> tuple[str, ...]:
    step = f"{change.id}{' (canary)' if change.canary else ''}"
    path = "-"
    if change.flow_before or change.flow_after:
        path = f"{change.flow_before or '?'} → {change.flow_after or '?'}"
    return (step, str(change.object), change_text(change), ", ".join(change.vservers), path)


def render_plan_text(plan: Plan, *, digest: str | None = None, path: str | None = None) -> str:
    target = plan.target
    books = ", ".join(p.name for p in plan.playbooks) or "none"
    lines = [
        f"Plan for {target.get('url')} partition {target.get('partition')} "
        f"({target.get('release') or target.get('version') or 'version unknown'}, "
        f"HA {target.get('ha_role')})",
        f"Made {plan.created_at.isoformat(timespec='seconds')} from snapshot "
        f"{plan.snapshot_digest[:19]}…; playbooks: {books}",
    ]
    if digest:
        lines.append(f"Plan digest {digest}")
    lines.append("")
    if plan.changes:
        lines.append(f"{len(plan.changes)} change(s), applied in this order:")
        lines.extend("  " + r for r in aligned([COLUMNS, *map(change_cells, plan.changes)]))
        if plan.canary is not None:
            lines.append(
                f"  Canary {plan.canary.change} [{plan.canary.code}]: {plan.canary.reason}."
            )
        lines.append("")
        for change in plan.changes:
            lines.append(f"  {change.id} risk: {change.risk}")
            lines.append(f"  {change.id} fixes: {'; '.join(change.fixes)}")
        lines.append("")
    else:
        lines.append("No change to make.")
        lines.append("")
    if plan.refusals:
        lines.append(f"{len(plan.refusals)} refused (nsfix will not change these):")
        for refusal in plan.refusals:
            lines.append(f"  {refusal.object} [{refusal.code}]: {refusal.reason}")
            if refusal.alternative:
                lines.append(f"    alternative: {refusal.alternative}")
        lines.append("")
    if plan.guidance:
        lines.append(f"{len(plan.guidance)} finding(s) need a person (guidance only):")
        for finding in plan.guidance:
            lines.append(f"  {finding.rule} {finding.object}: {finding.remediation.guidance}")
        lines.append("")
    if plan.server_tasks:
        lines.append(
            f"Server-side tasks for {len(plan.server_tasks)} backend(s) (NITRO cannot do these):"
        )
        # Backends with the same VIPs get the same list: print it once for all of them.
        groups: dict[TaskKey, list[str]] = {}
        for tasks in plan.server_tasks:
            groups.setdefault((tasks.vips, tasks.vservers, tasks.items), []).append(tasks.address)
        for (vips, vservers, items), addresses in groups.items():
            lines.append(
                f"  {', '.join(addresses)} (VIP {', '.join(vips)} of {', '.join(vservers)}):"
            )
            for item in items:
                lines.append(f"    - {item.title}")
                lines.extend(f"        linux:   {c}" for c in item.linux)
                lines.extend(f"        windows: {c}" for c in item.windows)
                lines.extend(f"        check:   {c}" for c in item.check)
        lines.append("")
    if plan.changes:
        if path:
            lines.append(f"Next: nsfix apply {path} --dry-run   (then without --dry-run)")
        else:
            lines.append("Next: save it with nsfix plan -o plan.json, review it, then nsfix apply.")
    return text_lines(lines)
