"""Helpers shared by the plain-text renderers, and what makes appliance text safe to print."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any, Final, TypeVar, cast

from nsfix.findings import Remediation, TargetAudit

T = TypeVar("T")

# Every C0 and C1 control (ESC, CR, LF, TAB, BEL, CSI...), DEL, and the Unicode characters that
# break a line or reorder what follows (bidi overrides and isolates).
_CONTROLS: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _written_out(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible(text: str) -> str:
    """`text` as a terminal may show it: each control written out (`\\x1b`, `\\n`, `\\u202e`),
    so a name from the appliance cannot move the cursor, recolour the screen, retitle the
    window or forge a line of a report. Everything else, backslashes included, is kept."""
    if text.isprintable():
        return text
    return _CONTROLS.sub(_written_out, text)


def escaped(value: T) -> T:
    """`value` with `visible` applied to every string in it, through dataclasses, mappings,
    sequences and sets (keys too): what a text renderer takes, so that no value it prints, in
    whatever sentence, carries a control. nsfix's own words (enums), numbers, addresses and
    times are kept; a value without a control comes back as the same object."""
    return cast(T, _escaped(value))


def _escaped(value: Any) -> Any:
    if isinstance(value, Enum):
        return value
    if isinstance(value, str):
        return visible(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for item in dataclasses.fields(value):
            if item.init:
                before = getattr(value, item.name)
                after = _escaped(before)
                if after is not before:
                    changes[item.name] = after
        return dataclasses.replace(value, **changes) if changes else value
    if isinstance(value, Mapping):
        pairs = list(value.items())
        shown = _escaped(pairs)
        return value if shown is pairs else dict(shown)
    if isinstance(value, list | tuple | set | frozenset):
        was = list(value)
        items = [_escaped(item) for item in was]
        if all(new is old for new, old in zip(items, was, strict=True)):
            return value
        if isinstance(value, list):
            return items
        # A named tuple takes its fields one by one.
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    return value


def text_lines(lines: Iterable[str]) -> str:
    """Lines as one text, each with its controls written out (a line holds no newline of its
    own: one inside a value is shown as `\\n`, never taken as the end of a line)."""
    return "".join(visible(line) + "\n" for line in lines)


def aligned(table: Iterable[tuple[str, ...]]) -> list[str]:
    """Rows as left-aligned columns two spaces apart, trailing blanks trimmed; the cells'
    controls written out first, so the columns line up as they are shown."""
    rows = [tuple(visible(cell) for cell in row) for row in table]
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
