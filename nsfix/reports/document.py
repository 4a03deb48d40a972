"""A report for people as plain data: blocks of rich text, built once, rendered per format.

A report says what it says here once; `nsfix.reports.markdown` and `nsfix.reports.html_page`
only decide how each format shows it. Where the two formats must show something differently,
a block or an inline says so by its kind (a `Note` under a table value, a `Figure` with its text
for Markdown), not by building the content twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Format = Literal["markdown", "html"]


# --- inline: the pieces of one line of text ---------------------------------------------------


@dataclass(frozen=True)
class Code:
    """Literal text (a name, a value, a command): monospace, never interpreted as markup."""

    text: str


@dataclass(frozen=True)
class Strong:
    """Words that stand out in every format, such as the verdict."""

    text: str


@dataclass(frozen=True)
class Label:
    """The name of a field before its value (`Why:`): bold in HTML, plain words in Markdown."""

    text: str


@dataclass(frozen=True)
class Mark:
    """Words the reader must notice, such as a severity or a harmful packet path.

    HTML gives them their style class (none when the enclosing block's style already sets them
    apart); Markdown has no classes, so it makes the loud ones bold and leaves the others plain.
    """

    text: str
    style: str = ""
    loud: bool = False


@dataclass(frozen=True)
class Link:
    """A web address to follow: a link in HTML when it is http(s), plain text otherwise."""

    url: str


@dataclass(frozen=True)
class Address:
    """A web address printed in full and never linked: it survives on paper, and the page
    refers to nothing outside itself."""

    url: str


@dataclass(frozen=True)
class Anchor:
    """Words that lead to a section of the same document (its `key`): a link in HTML only."""

    text: str
    target: str


@dataclass(frozen=True)
class Note:
    """Small print under a table value. HTML sets it on a line of its own; a Markdown table row
    holds one line, so Markdown leaves it out (say it elsewhere with `Only("markdown", ...)`)."""

    text: str


@dataclass(frozen=True)
class Blank:
    """A space for a person to fill in."""


Inline = str | Code | Strong | Label | Mark | Link | Address | Anchor | Note | Blank
Rich = tuple[Inline, ...]


def join(items: Iterable[Rich], separator: str = ", ") -> Rich:
    """Rich items run together into one, `separator` between them."""
    parts: list[Inline] = []
    for item in items:
        if parts:
            parts.append(separator)
        parts.extend(item)
    return tuple(parts)


def codes(values: Iterable[str], separator: str = ", ") -> Rich:
    """Names or values as code, `separator` between them."""
    return join(((Code(value),) for value in values), separator)


# --- blocks: what stands on lines of its own --------------------------------------------------


@dataclass(frozen=True)
class Paragraph:
    parts: Rich
    style: str = ""


@dataclass(frozen=True)
class Callout:
    """A paragraph set apart in a box of its style (HTML); a plain paragraph in Markdown."""

    parts: Rich
    style: str


@dataclass(frozen=True)
class Heading:
    """A heading inside a section (level 3 and below).

    A `badge` (a severity) tags the heading: HTML sets it before the words; Markdown, which has
    no badges, adds it after them in parentheses.
    """

    parts: Rich
    level: int = 3
    badge: Mark | None = None


@dataclass(frozen=True)
class Bullets:
    items: tuple[Rich, ...]
    numbered: bool = False
    style: str = ""


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[Rich, ...], ...]
    style: str = ""
    tight: tuple[int, ...] = ()
    """Columns of short words or badges that never wrap (HTML)."""
    stacked: tuple[tuple[int, int], ...] = ()
    """(column, host) pairs: HTML shows `column` under the value of `host`, after its heading,
    instead of in a column of its own, where a printed page has no room for it (a row of a
    Markdown table has room for every column)."""


@dataclass(frozen=True)
class CodeBlock:
    """Literal lines (commands to run, a hop list), never reflowed; `language` names them for
    Markdown's syntax highlighting."""

    lines: tuple[str, ...]
    language: str = "text"
    label: str = ""


@dataclass(frozen=True)
class Figure:
    """A drawing: its SVG in HTML, with `notes` under it; Markdown cannot draw, so it shows
    `text` instead, which says what the drawing and its notes say."""

    svg: str
    """Ready-made SVG markup from `nsfix.reports.svg`, which escapes every text it draws."""
    text: tuple[Block, ...]
    notes: Bullets | None = None
    style: str = ""


@dataclass(frozen=True)
class Group:
    """Blocks that belong together, such as one rule and its fix: a box of `style` in HTML,
    nothing of its own in Markdown."""

    blocks: tuple[Block, ...]
    style: str


@dataclass(frozen=True)
class Only:
    """Blocks that one format shows and the other does not, because the other shows the same
    facts its own way (a `Note` in a table, a compact line)."""

    format: Format
    blocks: tuple[Block, ...]


Block = Paragraph | Callout | Heading | Bullets | Table | CodeBlock | Figure | Group | Only


@dataclass(frozen=True)
class Section:
    """A numbered or named part of the document; `key` is its anchor in HTML."""

    key: str
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Document:
    title: str
    body: tuple[Block | Section, ...]
    subtitle: Rich = ()
    page_title: str = ""
    """What a browser tab shows, when it should say more than the title."""
    footer: Rich = ()
