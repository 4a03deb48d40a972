"""A document as GitHub-flavoured Markdown: every name escaped, every table row one line."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from nsfix.reports.document import (
    Address,
    Anchor,
    Blank,
    Block,
    Bullets,
    Callout,
    Code,
    CodeBlock,
    Document,
    Figure,
    Group,
    Heading,
    Inline,
    Label,
    Link,
    Mark,
    Note,
    Paragraph,
    Rich,
    Section,
    Strong,
    Table,
)
from nsfix.reports.text import visible

SPECIAL: Final = re.compile(r"([\\`*\[\]<>#|&~])")
EDGE_UNDERSCORE: Final = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
# An autolink must not hold a pipe (it would split a table cell) nor a back-tick.
SAFE_URL: Final = re.compile(r"^https?://[^\s<>|`]+$")
BLANK: Final = "________________"


def render(document: Document) -> str:
    out = [f"# {text(document.title)}", ""]
    if document.subtitle:
        out.extend([rich(document.subtitle), ""])
    for item in document.body:
        lines = section(item) if isinstance(item, Section) else block(item)
        if lines:
            out.extend([*lines, ""])
    if document.footer:
        out.extend(["---", "", rich(document.footer)])
    return "\n".join(out).rstrip("\n") + "\n"


def section(part: Section) -> list[str]:
    return [f"## {text(part.title)}", "", *blocks(part.blocks)]


def blocks(items: Sequence[Block]) -> list[str]:
    """Blocks a blank line apart; a block with nothing to show for Markdown leaves no gap."""
    out: list[str] = []
    for item in items:
        lines = block(item)
        if lines:
            out.extend([""] if out else [])
            out.extend(lines)
    return out


def block(item: Block) -> list[str]:
    if isinstance(item, Paragraph | Callout):
        return [rich(item.parts)]
    if isinstance(item, Heading):
        badge = f" ({text(item.badge.text)})" if item.badge else ""
        return [f"{'#' * item.level} {rich(item.parts)}{badge}"]
    if isinstance(item, Bullets):
        return [
            f"{f'{n}.' if item.numbered else '-'} {rich(entry)}"
            for n, entry in enumerate(item.items, start=1)
        ]
    if isinstance(item, Table):
        return table(item)
    if isinstance(item, CodeBlock):
        label = [f"{text(item.label)}:", ""] if item.label else []
        return [*label, *fenced(item.lines, item.language)]
    if isinstance(item, Figure):
        return blocks(item.text)
    if isinstance(item, Group):
        return blocks(item.blocks)
    return blocks(item.blocks) if item.format == "markdown" else []


def table(item: Table) -> list[str]:
    lines = [
        "| " + " | ".join(text(c) for c in item.columns) + " |",
        "|" + "|".join("---" for _ in item.columns) + "|",
    ]
    for row in item.rows:
        cells = [rich(cell, table=True) or " " for cell in row]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def fenced(lines: Sequence[str], info: str) -> list[str]:
    """A fenced code block whose fence is longer than any run of back-ticks inside it."""
    clean = [flat_text(line) for line in lines]
    longest = max((len(run) for line in clean for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{info}", *clean, fence]


def rich(parts: Rich, *, table: bool = False) -> str:
    return "".join(inline(part, table=table) for part in parts)


def inline(part: Inline, *, table: bool) -> str:
    if isinstance(part, Code):
        return code(part.text, table=table)
    if isinstance(part, Strong):
        return f"**{text(part.text)}**"
    if isinstance(part, Mark):
        return f"**{text(part.text)}**" if part.loud else text(part.text)
    if isinstance(part, Label | Anchor):
        return text(part.text)
    if isinstance(part, Link | Address):
        return f"<{part.url}>" if SAFE_URL.match(part.url) else text(part.url)
    if isinstance(part, Note):
        return ""
    if isinstance(part, Blank):
        return BLANK
    return text(part)


def flat_text(value: str) -> str:
    """One line: line breaks as spaces, any other control written out (`\\x1b`)."""
    return visible(" ".join(value.splitlines()))


def text(value: str) -> str:
    """Plain words: on one line, with every character Markdown could read as markup escaped."""
    escaped = SPECIAL.sub(r"\\\1", flat_text(value))
    return EDGE_UNDERSCORE.sub(r"\\_", escaped)


def code(value: str, *, table: bool) -> str:
    """An inline code span that survives back-ticks, and pipes inside a table."""
    flat = flat_text(value)
    if not flat:
        return ""
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    if flat.startswith("`") or flat.endswith("`"):
        flat = f" {flat} "
    if table:
        # GFM splits table cells on a pipe even inside a code span unless it is escaped.
        flat = flat.replace("|", "\\|")
    return f"{fence}{flat}{fence}"
