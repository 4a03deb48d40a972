"""A document as one self-contained HTML page: inline CSS, no script, every text escaped.

The page decides where a line may break: a name, an address or a command breaks only at a space,
after a `/` or `,`, or after a `_`, `-` or `.` that joins two words of a name (`vs_app_dsr`,
`web-01.example.com`; never inside an IP address) (its pieces are `<span>`s in a `parts`
element, `<wbr>` between them), a URL also after any `-`, and a digest (a long run of hex
digits, in any text) anywhere: it is no word. A piece too wide for its column widens the column
instead: no name is cut mid-word and none runs over its neighbour. `LINES` holds the rules that
make a browser keep to that; every page gets them before its report's own stylesheet.

The page uses these class names, for a report's stylesheet: `subtitle` (under the title),
`commands` and `label` (a labelled code block), `url` (a printed address), `blank` (a space to
fill in), `muted` (a note under a table value), `stacked` (a column shown under another),
`tight` (a column that never wraps), `parts` and `hex` (see above); blocks and marks add the
styles their report gives them.
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
# A digest: a run of hex digits longer than any name or address holds, with the punctuation
# that closes it (a line of its own for a `)` would look like a mistake).
HEX: Final = re.compile(r"([0-9A-Fa-f]{32,}[)\]}>,.;:]*)")
SPACE: Final = re.compile(r"(\s+)")
# Where a piece of a name or command ends, and of a URL (whose words a `-` joins); never
# between the two slashes of `https://`, nor between the digits of an address (`10.0.0.1`).
NAME_BREAKS: Final = re.compile(r"(?<=[/,])(?!/)")
# Inside a piece longer than LONG_WORD, also after a `_`, `-` or `.` joining two words of it
# (`svc_payments_gateway_frankfurt_01`); never between the digits of an address (`10.0.0.1`).
WORD_JOINS: Final = re.compile(
    r"(?<=[A-Za-z0-9][_-])(?=[A-Za-z0-9])|(?<=[A-Za-z0-9]\.)(?=[A-Za-z])"
)
# Pieces up to this long (a rule id, a date, `10.20.1.1:443`) fit any column and stay whole.
LONG_WORD: Final = 24
URL_BREAKS: Final = re.compile(r"(?<=[/,?&=-])(?!/)")

LINES: Final = """
code, a, .url, .parts > span, .tight { white-space: nowrap; }
.parts { white-space: normal; }
pre code { white-space: inherit; }
.hex, .parts > .hex { display: inline-block; white-space: normal; word-break: break-all; }
"""


def render(document: Document, *, css: str) -> str:
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(document.page_title or document.title)}</title>",
        f"<style>{LINES}{css}</style>",
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
    under: dict[int, list[int]] = {}
    for column, host in item.stacked:
        under.setdefault(host, []).append(column)
    moved = {column for column, _ in item.stacked}
    shown = [i for i in range(len(item.columns)) if i not in moved]

    def cell(tag: str, index: int, content: str) -> str:
        return f"<{tag}{_class('tight' if index in item.tight else '')}>{content}</{tag}>"

    def value(row: tuple[Rich, ...], index: int) -> str:
        extra = "".join(
            f'<div class="stacked">{escape(item.columns[column])}: '
            f"{rich(row[column], cell=True)}</div>"
            for column in under.get(index, [])
            if row[column] not in ((), ("-",))
        )
        return rich(row[index], cell=True) + extra

    head = "".join(cell("th", i, escape(item.columns[i])) for i in shown)
    body = "".join(
        "<tr>" + "".join(cell("td", i, value(row, i)) for i in shown) + "</tr>" for row in item.rows
    )
    return f"<table{_class(item.style)}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def rich(parts: Rich, *, cell: bool = False) -> str:
    """Rich text as HTML; in a table `cell`, a long name quoted in plain words may break where
    a name may (the column is narrow; a paragraph has the page's width)."""
    return "".join(inline(part, cell=cell) for part in parts)


def inline(part: Inline, *, cell: bool = False) -> str:
    if isinstance(part, Code):
        return pieces("code", part.text, NAME_BREAKS)
    if isinstance(part, Strong | Label):
        return f"<strong>{escape(part.text)}</strong>"
    if isinstance(part, Mark):
        if not part.style:
            return escape(part.text)
        return f'<span class="{escape(part.style)}">{escape(part.text)}</span>'
    if isinstance(part, Link):
        if WEB_URL.match(part.url):
            link = f' href="{escape(part.url)}" rel="noreferrer noopener"'
            return pieces("a", part.url, URL_BREAKS, attributes=link)
        return words(part.url)
    if isinstance(part, Address):
        # Printed, not linked: the page references nothing outside itself.
        return pieces("span", part.url, URL_BREAKS, style="url")
    if isinstance(part, Anchor):
        return pieces("a", part.text, URL_BREAKS, attributes=f' href="#{escape(part.target)}"')
    if isinstance(part, Note):
        return f'<br><span class="muted">{words(part.text, cell=cell)}</span>'
    if isinstance(part, Blank):
        return '<span class="blank">&nbsp;</span>'
    return words(part, cell=cell)


def words(text: str, *, cell: bool = False) -> str:
    """Plain words, escaped; a digest among them may break anywhere, and in a table `cell` a
    long name among them where a name may (a message quotes `service/svc_payments_01`)."""
    shown = []
    for part in HEX.split(text):
        if HEX.fullmatch(part):
            shown.append(digits(part))
        elif cell:
            shown.extend("<wbr>".join(map(escape, _name_pieces(w))) for w in SPACE.split(part))
        else:
            shown.append(escape(part))
    return "".join(shown)


def _name_pieces(chunk: str) -> list[str]:
    """A name cut where it may break: after `/` or `,`, and inside a long piece at its joins."""
    return [
        piece
        for part in NAME_BREAKS.split(chunk)
        for piece in (WORD_JOINS.split(part) if len(part) > LONG_WORD else (part,))
        if piece
    ]


def pieces(
    tag: str, text: str, breaks: re.Pattern[str], *, style: str = "", attributes: str = ""
) -> str:
    """A name, URL or command in a `tag` element: it breaks at a space, where `breaks` matches,
    or inside a digest, and nowhere else."""
    shown = []
    count = 0
    for chunk in SPACE.split(text):
        if not chunk.strip():
            shown.append(escape(chunk))
            continue
        cut = _name_pieces(chunk) if breaks is NAME_BREAKS else breaks.split(chunk)
        parts = [part for piece in cut for part in HEX.split(piece) if part]
        count += len(parts)
        shown.append(
            "<wbr>".join(
                digits(part) if HEX.fullmatch(part) else f"<span>{escape(part)}</span>"
                for part in parts
            )
        )
    if count == 1 and len(shown) == 1 and not HEX.fullmatch(text):
        # One piece: the element itself is kept whole (see LINES).
        return f"<{tag}{_class(style)}{attributes}>{escape(text)}</{tag}>"
    classes = f"{style} parts".strip()
    return f"<{tag}{_class(classes)}{attributes}>{''.join(shown)}</{tag}>"


def digits(run: str) -> str:
    return f'<span class="hex">{escape(run)}</span>'


def _class(style: str) -> str:
    return f' class="{escape(style)}"' if style else ""
