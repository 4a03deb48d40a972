"""Helpers shared by the plain-text renderers."""

from __future__ import annotations

from collections.abc import Iterable


def aligned(table: Iterable[tuple[str, ...]]) -> list[str]:
    """Rows as left-aligned columns two spaces apart, trailing blanks trimmed."""
    rows = list(table)
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
