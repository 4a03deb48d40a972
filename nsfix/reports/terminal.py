"""Terminal renderables that fit the console's width without ever cutting a name or address.

A table keeps its columns when they fit; when they do not, each row becomes a short block (its
name on a line, then `label value` pairs). Prose wraps between words. A word longer than the
whole width is printed unbroken, for the terminal to wrap: a name is always there to copy.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

# Cells that say "nothing here"; a stacked row leaves them out.
_EMPTY = frozenset({"", "-"})
_GAP = "  "


def show(console: Console, renderables: Iterable[Any]) -> None:
    """Print renderables of this module: a line longer than the console (a name wider than
    the terminal) goes out whole for the terminal to wrap, never cropped at its edge."""
    for renderable in renderables:
        console.print(renderable, crop=False)


def unbroken(text: Text) -> Text:
    """`text` printed as one line however long: rich neither wraps nor crops it."""
    text.no_wrap = True
    text.overflow = "ignore"
    return text


def joined_lines(items: Iterable[Text], width: int, indent: int) -> list[Text]:
    """`items` on as few lines of `width` as fit, two spaces apart, each item kept whole."""
    lines: list[Text] = []
    line = Text(" " * indent)
    filled = False
    for item in items:
        if filled and line.cell_len + len(_GAP) + item.cell_len > width:
            lines.append(line)
            line, filled = Text(" " * indent), False
        if filled:
            line.append(_GAP)
        line.append_text(item)
        filled = True
    if filled:
        lines.append(line)
    return [unbroken(line) for line in lines]


@dataclass(frozen=True)
class Prose:
    """A paragraph wrapped at the console's width between words, never inside one."""

    text: str
    style: str = ""
    indent: int = 0
    hanging: int = 0  # extra indentation of the lines after the first

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        first = " " * self.indent
        lines = textwrap.wrap(
            self.text,
            width=max(options.max_width, self.indent + self.hanging + 10),
            initial_indent=first,
            subsequent_indent=first + " " * self.hanging,
            break_long_words=False,
            break_on_hyphens=False,
        )
        for line in lines or [first]:
            yield unbroken(Text(line, style=self.style))


@dataclass(frozen=True)
class FitTable:
    """Rows with named columns: a table when it fits the console, else one block per row.

    `head` leading cells name a row and head its block; the first cell's own leading spaces
    (an inventory's tree depth) indent the block.
    """

    columns: Sequence[str]
    rows: Sequence[Sequence[Text]]
    head: int = 1
    title: str | None = None

    def table(self) -> Table:
        table = Table(title=self.title, title_justify="left")
        for name in self.columns:
            table.add_column(name, no_wrap=True, overflow="ignore")
        for row in self.rows:
            table.add_row(*row)
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table = self.table()
        natural = Measurement.get(console, options.update(width=10**6), table).maximum
        if natural <= options.max_width:
            yield table
            return
        if self.title:
            yield Text(self.title, style="italic")
        yield from self.stacked(options.max_width)

    def stacked(self, width: int) -> Iterator[Text]:
        for row in self.rows:
            depth = len(row[0].plain) - len(row[0].plain.lstrip(" "))
            heading = [cell for cell in row[: self.head] if cell.plain.strip() not in _EMPTY]
            yield from joined_lines(heading, width, 0)
            pairs = [
                Text.assemble((f"{name.lower()} ", "dim"), cell)
                for name, cell in zip(self.columns[self.head :], row[self.head :], strict=True)
                if cell.plain.strip() not in _EMPTY
            ]
            yield from joined_lines(pairs, width, depth + 4)
