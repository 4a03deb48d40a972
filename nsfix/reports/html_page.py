"""A document as one self-contained HTML page: inline CSS, no script, every text escaped.

The page uses these class names, for a report's stylesheet: `subtitle` (under the title),
`commands` and `label` (a labelled code block), `url` (a printed address), `blank` (a space to
fill in), `muted` (a note under a table value), `tight` (a column that never wraps); blocks and
marks add the styles their report gives them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
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

# Only http(s) becomes a link: a playbook could name any scheme, javascript: included.
WEB_URL: Final = re.compile(r"^https?://[^\s<>\"']+$")


def render(document: Document, *, css: str) -> str:
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(document.page_title or document.title)}</title>",
        f"<style>{css}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{escape(document.title)}</h1>",
    ]
    if document.subtitle:
        out.append(f'<p class="subtitle">{rich(document.subtitle)}</p>')
    out.extend(["</header>", "<main>"])
    for item in document.body:
        shown = section(item) if isinstance(item, Section) else block(item)
        if shown:
            out.append(shown)
    out.append("</main>")
    if document.footer:
        out.append(f"<footer>{rich(document.footer)}</footer>")
    out.extend(["</body>", "</html>"])
    return "\n".join(out) + "\n"


def section(part: Section) -> str:
    return "\n".join(
        [
            f'<section id="{escape(part.key)}">',
            f"<h2>{escape(part.title)}</h2>",
            *blocks(part.blocks),
            "</section>",
        ]
    )


def blocks(items: Sequence[Block]) -> list[str]:
    return [shown for shown in map(block, items) if shown]


def block(item: Block) -> str:
    if isinstance(item, Paragraph):
        return f"<p{_class(item.style)}>{rich(item.parts)}</p>"
    if isinstance(item, Callout):
        return f"<div{_class(item.style)}>{rich(item.parts)}</div>"
    if isinstance(item, Heading):
        # h1 is the document's title and h2 its sections' titles.
        level = min(max(item.level, 3), 6)
        badge = f"{inline(item.badge)} " if item.badge else ""
        return f"<h{level}>{badge}{rich(item.parts)}</h{level}>"
    if isinstance(item, Bullets):
        return bullets(item)
    if isinstance(item, Table):
        return table(item)
    if isinstance(item, CodeBlock):
        lines = escape("\n".join(item.lines))
        pre = f"<pre><code>{lines}</code></pre>"
        if not item.label:
            return pre
        return f'<div class="commands"><p class="label">{escape(item.label)}</p>{pre}</div>'
    if isinstance(item, Figure):
        notes = bullets(item.notes) if item.notes else ""
        return f"<figure{_class(item.style)}>\n{item.svg}\n{notes}</figure>"
    if isinstance(item, Group):
        return "\n".join([f"<div{_class(item.style)}>", *blocks(item.blocks), "</div>"])
    return "\n".join(blocks(item.blocks)) if item.format == "html" else ""


def bullets(item: Bullets) -> str:
    tag = "ol" if item.numbered else "ul"
    entries = "".join(f"<li>{rich(entry)}</li>" for entry in item.items)
    return f"<{tag}{_class(item.style)}>{entries}</{tag}>"


def table(item: Table) -> str:
    def cell(tag: str, index: int, content: str) -> str:
        return f"<{tag}{_class('tight' if index in item.tight else '')}>{content}</{tag}>"

    head = "".join(cell("th", i, escape(c)) for i, c in enumerate(item.columns))
    body = "".join(
        "<tr>" + "".join(cell("td", i, rich(c)) for i, c in enumerate(row)) + "</tr>"
        for row in item.rows
    )
    return f"<table{_class(item.style)}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def rich(parts: Rich) -> str:
    return "".join(inline(part) for part in parts)


def inline(part: Inline) -> str:
    if isinstance(part, Code):
        return f"<code>{escape(part.text)}</code>"
    if isinstance(part, Strong | Label):
        return f"<strong>{escape(part.text)}</strong>"
    if isinstance(part, Mark):
        if not part.style:
            return escape(part.text)
        return f'<span class="{escape(part.style)}">{escape(part.text)}</span>'
    if isinstance(part, Link):
        if WEB_URL.match(part.url):
            return f'<a href="{escape(part.url)}" rel="noreferrer noopener">{escape(part.url)}</a>'
        return escape(part.url)
    if isinstance(part, Address):
        # Printed, not linked: the page references nothing outside itself.
        return f'<span class="url">{escape(part.url)}</span>'
    if isinstance(part, Anchor):
        return f'<a href="#{escape(part.target)}">{escape(part.text)}</a>'
    if isinstance(part, Note):
        return f'<br><span class="muted">{escape(part.text)}</span>'
    if isinstance(part, Blank):
        return '<span class="blank">&nbsp;</span>'
    return escape(part)


def _class(style: str) -> str:
    return f' class="{escape(style)}"' if style else ""
