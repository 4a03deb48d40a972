"""Debian's chromium as a reader's browser: print a report, screenshot it, measure its layout."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass
from functools import cached_property
from html import unescape
from pathlib import Path
from typing import Any, Final

CHROMIUM: Final = shutil.which("chromium")
MISSING: Final = "chromium is not installed (make test installs Debian's chromium as root)"

# As root chromium runs only without its sandbox. The rest keeps a test run from reaching out:
# no background fetches or updates, and no name resolves, so a report that needed the network
# would show it. Hidden scrollbars make the page exactly as wide as the window, as on paper.
FLAGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
TIMEOUT: Final = 60.0
ROOT: Final = Path(__file__).resolve().parents[2]

# CSS has 96 pixels to the inch and PDF 72 points: printed at its size a CSS pixel is 0.75 pt.
PX_PER_MM: Final = 96 / 25.4
PT_PER_PX: Final = 72 / 96
A4_MM: Final = (210, 297)
A4_PT: Final = (A4_MM[0] * 72 / 25.4, A4_MM[1] * 72 / 25.4)


def chromium(*args: str) -> str:
    """Run chromium once with a fresh profile; its stdout. Fails the test on an error or a hang."""
    assert CHROMIUM is not None, MISSING
    with tempfile.TemporaryDirectory(prefix="nsfix-chromium-", ignore_cleanup_errors=True) as home:
        command = [CHROMIUM, *FLAGS, f"--user-data-dir={home}", *args]
        # Its own session, so that every helper process chromium started ends with it.
        with subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        ) as process:
            try:
                out, err = process.communicate(timeout=TIMEOUT)
                hung = False
            except subprocess.TimeoutExpired:
                out, err, hung = "", "", True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
    assert not hung, f"chromium gave no answer in {TIMEOUT:.0f} s: {' '.join(args)}"
    assert process.returncode == 0, f"chromium {' '.join(args)} failed: {err[-2000:]}"
    return out


def file_url(path: Path) -> str:
    return path.resolve().as_uri()


def print_to_pdf(page: Path, pdf: Path) -> bytes:
    chromium(f"--print-to-pdf={pdf}", "--no-pdf-header-footer", file_url(page))
    return pdf.read_bytes()


def screenshot_of(page: Path, png: Path, width: int, height: int) -> bytes:
    chromium(
        f"--screenshot={png}",
        f"--window-size={width},{height}",
        "--run-all-compositor-stages-before-draw",
        file_url(page),
    )
    return png.read_bytes()


# Runs once the page has loaded (and tried to load anything it names), laid out in the window's
# width. With `print` set it first turns the report's print rules on: that is the page as laid
# out on paper when the window is as wide as the printable part of the sheet.
MEASURE: Final = """
addEventListener("load", () => {
  if (%(print)s) {
    for (const sheet of document.styleSheets) {
      for (const rule of sheet.cssRules) {
        if (rule instanceof CSSMediaRule && /\\bprint\\b/.test(rule.media.mediaText)) {
          rule.media.mediaText = "all";
        }
      }
    }
  }
  const root = document.documentElement;
  const width = root.clientWidth;
  const named = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + [...el.classList].map((c) => "." + c).join("");
  const words = (el) => (el.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 90);
  const clipped = (el) => [el, ...el.querySelectorAll("*")].some(
    (e) => !(e instanceof SVGElement) && e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1);
  // Where a line may break in each kind of text: a name, address or command at a space or
  // after "/", ",", or a "_", "-" or "." inside it; a URL also between query parameters; prose
  // and headings the same as names (they quote names). A digest (32 or more hex digits) is no
  // word: it may break anywhere.
  const BREAK_AFTER = {name: /[\\/,_.-]/, url: /[\\/,?&=-]/, words: /[\\/,_.-]/};
  const HEX = /[0-9a-f]{32,}/gi;
  // The text of `el` cut where a line broke at no such point, with "|" at each cut.
  const cuts = (el, kind, skip = () => false) => {
    const chars = [];
    const block = (node) => {
      let at = node.parentElement;
      while (at !== el && getComputedStyle(at).display.startsWith("inline")) at = at.parentElement;
      return at;
    };
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    let previous = null;
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (skip(node.parentElement)) continue;
      // A new block or line (<br>) starts a new line: no word runs across it.
      const below = node.parentElement.previousElementSibling?.tagName === "BR";
      if (previous && (below || block(previous) !== block(node))) {
        chars.push({c: " ", box: null});
      }
      previous = node;
      for (let i = 0; i < node.data.length; i++) {
        const range = document.createRange();
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const box = range.getClientRects()[0];
        chars.push({c: node.data[i], box: /\\s/.test(node.data[i]) ? null : box});
      }
    }
    const text = chars.map((ch) => ch.c).join("");
    const free = new Set();
    for (const run of text.matchAll(HEX)) {
      for (let i = run.index; i <= run.index + run[0].length; i++) free.add(i);
    }
    const found = [];
    let last = -1;
    chars.forEach((ch, i) => {
      if (!ch.box) return;
      if (last >= 0 && ch.box.top >= chars[last].box.bottom - 1) {
        const allowed = i > last + 1 || BREAK_AFTER[kind].test(chars[last].c) || free.has(i);
        if (!allowed) found.push(i);
      }
      last = i;
    });
    if (!found.length) return null;
    let marked = text;
    for (const at of found.reverse()) marked = marked.slice(0, at) + "|" + marked.slice(at);
    return marked.trim().replace(/\\s+/g, " ");
  };
  const identifier = "code, .url, a";
  const broken = [];
  for (const el of document.querySelectorAll(identifier)) {
    if (el.closest("pre")) continue;
    const cut = cuts(el, el.matches("code") ? "name" : "url");
    if (cut) broken.push({element: named(el), text: cut});
  }
  for (const cell of document.querySelectorAll("th, td")) {
    const cut = cuts(cell, "words", (parent) => parent.closest(identifier) !== null);
    if (cut) broken.push({element: named(cell), text: cut});
  }
  const beyond = [];
  const spilling = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.right > width + 0.5 || box.left < -0.5) {
      beyond.push({element: named(el), left: box.left, right: box.right, text: words(el)});
    }
    if (!(el instanceof SVGElement) && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
      spilling.push({element: named(el), box: el.clientWidth, content: el.scrollWidth,
                     text: words(el)});
    }
  }
  const figures = [...document.querySelectorAll("figure")].filter((f) => f.querySelector("svg"))
    .map((figure) => {
      // The heading the drawings stand under: their captions should not say the same again.
      let heading = figure.previousElementSibling;
      while (heading && !/^H[1-6]$/.test(heading.tagName)) heading = heading.previousElementSibling;
      const drawings = [...figure.querySelectorAll("svg")].map((svg) => {
        const frame = svg.getBoundingClientRect();
        const shapes = [...svg.querySelectorAll("path, line, rect, polygon, polyline, circle")];
        return {
          width: frame.width,
          height: frame.height,
          shapes: shapes.filter((s) => s.getBBox().width + s.getBBox().height > 0).length,
          labels: [...svg.querySelectorAll("text")].map((text) => {
            const box = text.getBoundingClientRect();
            return {text: text.textContent, width: box.width, height: box.height,
                    inside: box.left >= frame.left - 0.5 && box.right <= frame.right + 0.5
                            && box.top >= frame.top - 0.5 && box.bottom <= frame.bottom + 0.5};
          }),
        };
      });
      return {heading: heading ? heading.textContent : "", text: words(figure), drawings};
    });
  const names = [...document.querySelectorAll("td code")].map((code) => {
    const box = code.getBoundingClientRect();
    return {text: code.textContent, clipped: clipped(code.closest("td")),
            shown: code.checkVisibility({checkOpacity: true, checkVisibilityCSS: true}),
            inside: box.left >= -0.5 && box.right <= width + 0.5};
  });
  // How the page breaks on paper: what is kept whole, what a heading stays with, and whether a
  // table repeats its header on each page and could be narrower than it is.
  const kept = [...document.body.querySelectorAll("*")]
    .filter((el) => /avoid/.test(getComputedStyle(el).breakInside))
    .map((el) => ({element: named(el), height: el.getBoundingClientRect().height,
                   text: words(el)}));
  const headings = [...document.querySelectorAll("h2, h3, h4, h5, h6")].map((h) => ({
    text: words(h), break_after: getComputedStyle(h).breakAfter}));
  const tables = [...document.querySelectorAll("table")].map((table) => {
    const width = table.style.width;
    table.style.width = "min-content";
    const narrowest = table.getBoundingClientRect().width;
    table.style.width = width;
    const head = table.querySelector("thead");
    return {text: words(table), narrowest, width: table.getBoundingClientRect().width,
            rows_kept: [...table.rows].every(
              (row) => /avoid/.test(getComputedStyle(row).breakInside)),
            header: head ? getComputedStyle(head).display : null};
  });
  const out = document.createElement("pre");
  out.id = "nsfix-measure";
  out.textContent = JSON.stringify({width, scroll_width: root.scrollWidth,
    height: root.scrollHeight, beyond, spilling, figures, names, broken, kept, headings, tables,
    fetched: performance.getEntriesByType("resource").map((entry) => entry.name)});
  document.body.append(out);
});
"""
MEASURED: Final = re.compile(r'<pre id="nsfix-measure">(.*?)</pre>', re.S)


@dataclass(frozen=True)
class Layout:
    """What the laid-out page looked like at one width, in CSS pixels."""

    width: int
    scroll_width: int
    height: int
    beyond: list[dict[str, Any]]  # boxes past the page's edge: cut off on paper
    spilling: list[dict[str, Any]]  # content wider than its box: over a neighbour or the margin
    figures: list[dict[str, Any]]  # each figure: its heading, and per drawing its size, shapes
    # drawn and text labels
    names: list[dict[str, Any]]  # each name printed in a table cell, and how it was shown
    broken: list[dict[str, Any]]  # text a line break cut where it may not break, "|" at the cut
    kept: list[dict[str, Any]]  # boxes kept whole on paper (break-inside: avoid), with heights
    headings: list[dict[str, Any]]  # each heading and whether a page may break after it
    tables: list[dict[str, Any]]  # each table: its width, the narrowest it can be, rows kept
    # whole, header
    fetched: list[str]  # anything the page loaded besides itself


def measure(html: str, workdir: Path, width: int, *, print_rules: bool) -> Layout:
    """Lay a copy of the page out in a window this wide and report what stuck out or vanished."""
    script = MEASURE % {"print": "true" if print_rules else "false"}
    body_end = html.rindex("</body>")
    copy = workdir / f"measured-{width}-{'print' if print_rules else 'screen'}.html"
    copy.write_text(f"{html[:body_end]}<script>{script}</script>{html[body_end:]}")
    dom = chromium(f"--window-size={width},1000", "--dump-dom", file_url(copy))
    found = MEASURED.search(dom)
    assert found, f"the measuring script did not run: {dom[-500:]}"
    return Layout(**json.loads(unescape(found[1])))


@dataclass(frozen=True)
class PdfPage:
    width_pt: float
    height_pt: float
    # Points per CSS pixel: 0.75 when printed at size; chromium shrinks a page whose content
    # is wider than the paper (up to half size) and cuts off what is wider still.
    scale: float | None
    has_text: bool
    # Height of the lowest line of text above the sheet's bottom edge, in points.
    last_line_pt: float | None
    has_drawing: bool


OBJECT: Final = re.compile(rb"(\d+) 0 obj\b")
NUMBER: Final = rb"(-?[\d.]+)"
CM: Final = re.compile(rb"\s+".join([NUMBER] * 6) + rb"\s+cm\b")
# The pieces of a content stream: strings and arrays (skipped), names, numbers, operators.
TOKEN: Final = re.compile(
    rb"<[0-9A-Fa-f\s]*>|\((?:\\.|[^\\)])*\)|[\[\]]|/[^\s/\[\]<>()]+|[-+]?(?:\d+\.?\d*|\.\d+)"
    rb"|[A-Za-z'\"*]+"
)
Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Final[Matrix] = (1, 0, 0, 1, 0, 0)


def times(a: Matrix, b: Matrix) -> Matrix:
    return (
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    )


def matrix(numbers: list[float]) -> Matrix:
    a, b, c, d, e, f = numbers[-6:]
    return (a, b, c, d, e, f)


def last_line(drawing: bytes) -> float | None:
    """How high above the sheet's bottom edge a page's lowest line of text stands, in points.
    Reads just enough of its drawing operators for chromium's PDF: the transforms (q, Q, cm)
    and where each text is set (BT, Tm, Td, Tj, TJ)."""
    ctm, saved, numbers = IDENTITY, [], []
    line = text = IDENTITY
    lowest = None
    for token in TOKEN.findall(drawing):
        if token[:1] in b"-+.0123456789":
            numbers.append(float(token))
            continue
        if token == b"q":
            saved.append(ctm)
        elif token == b"Q":
            ctm = saved.pop()
        elif token == b"cm":
            ctm = times(matrix(numbers), ctm)
        elif token == b"BT":
            line = text = IDENTITY
        elif token == b"Tm":
            line = text = matrix(numbers)
        elif token == b"Td":
            line = text = times((1, 0, 0, 1, numbers[-2], numbers[-1]), line)
        elif token in (b"Tj", b"TJ"):
            y = times(text, ctm)[5]
            lowest = y if lowest is None else min(lowest, y)
        if token[:1] not in b"<([]/":
            numbers = []
    return lowest


def pdf_pages(data: bytes) -> list[PdfPage]:
    """The pages of a PDF chromium wrote, in order: read from its bytes, no PDF library needed."""
    starts = {int(m[1]): m.end() for m in OBJECT.finditer(data)}

    def head(number: int) -> bytes:
        start = starts[number]
        return data[start : data.find(b"endobj", start)].split(b"stream", 1)[0]

    def kids(number: int) -> list[int]:
        found = re.search(rb"/Kids\s*\[([^\]]*)\]", head(number))
        assert found, f"page tree node {number} has no Kids"
        return [int(kid) for kid in re.findall(rb"(\d+) 0 R", found[1])]

    def leaves(number: int) -> list[int]:
        if re.search(rb"/Type\s*/Pages\b", head(number)):
            return [leaf for kid in kids(number) for leaf in leaves(kid)]
        return [number]

    roots = [n for n in starts if re.search(rb"/Type\s*/Pages\b", head(n))]
    root = next(n for n in roots if b"/Parent" not in head(n))
    return [pdf_page(head(number), data, starts) for number in leaves(root)]


def pdf_page(head: bytes, data: bytes, starts: dict[int, int]) -> PdfPage:
    media = re.search(rb"/MediaBox\s*\[([^\]]*)\]", head)
    contents = re.search(rb"/Contents\s+(\d+) 0 R", head)
    assert media, "a page has no MediaBox"
    assert contents, "a page has no Contents"
    x0, y0, x1, y1 = (float(v) for v in media[1].split())
    drawing = stream(data, starts[int(contents[1])])
    transforms = CM.findall(drawing)
    # Chromium's first transform turns its raster into points, the second CSS px into it.
    scale = None
    if len(transforms) > 1:
        scale = abs(float(transforms[0][0]) * float(transforms[1][0]))
    # An SVG is drawn scaled from its own units to its box: at a scale the page does not use.
    drawn = {round(abs(float(t[0])), 3) for t in transforms[1:]}
    text = re.search(rb"\bT[jJ]\b", drawing) is not None
    lowest = last_line(drawing)
    return PdfPage(
        x1 - x0, y1 - y0, scale, text, None if lowest is None else lowest - y0, len(drawn) > 1
    )


def stream(data: bytes, start: int) -> bytes:
    header_end = data.index(b"stream", start)
    header = data[start:header_end]
    length = re.search(rb"/Length\s+(\d+)\b(?!\s+\d+\s+R)", header)
    body_start = header_end + len(b"stream")
    body_start += 2 if data[body_start : body_start + 2] == b"\r\n" else 1
    body_end = body_start + int(length[1]) if length else data.index(b"endstream", body_start)
    body = data[body_start:body_end]
    return zlib.decompress(body) if b"/FlateDecode" in header else body


@dataclass(frozen=True)
class Png:
    width: int
    height: int
    distinct_rows: int


def png_rows(data: bytes) -> Png:
    """Size of a PNG, and how many of its pixel rows differ: a blank image has one or two kinds."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks: dict[bytes, bytes] = {}
    at = 8
    while at < len(data):
        (size,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        chunks[kind] = chunks.get(kind, b"") + data[at + 8 : at + 8 + size]
        at += 12 + size
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    stride = 1 + width * channels * depth // 8
    pixels = zlib.decompress(chunks[b"IDAT"])
    # Rows are compared as stored (after PNG's per-row filter): identical content stays
    # identical, so a blank page still shows as a handful of kinds of row.
    rows = {pixels[i : i + stride] for i in range(0, len(pixels), stride)}
    return Png(width, height, len(rows))


def nsfix(*args: str, exit_code: int = 0) -> None:
    """Run the nsfix command from the repository's root, as a reader would."""
    done = subprocess.run(
        [sys.executable, "-m", "nsfix", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == exit_code, f"nsfix {' '.join(args)}: {done.returncode} {done.stderr}"


# The report's own page rule: A4, margins top and bottom, then left and right.
PAGE_RULE: Final = re.compile(
    r"@page\s*\{[^}]*size:\s*A4;[^}]*margin:\s*([\d.]+)mm(?:\s+([\d.]+)mm)?"
)
# Windows a reader might open the page in, and the sheet: as wide as its printable part.
SCREENS: Final = {"screen 1920 px": 1920, "screen 1280 px": 1280, "screen 768 px": 768}
PAPER: Final = "A4 paper"
VIEWS: Final = (*SCREENS, PAPER)
SCREENSHOT: Final = (1280, 900)


class Rendered:
    """One report page as chromium shows it; each view is made once, when first asked for."""

    def __init__(self, page: Path) -> None:
        self.page = page
        self.html = page.read_text()
        rule = PAGE_RULE.search(self.html)
        assert rule, "the report asks for no A4 page with margins in mm"
        top, side = float(rule[1]), float(rule[2] or rule[1])
        self.paper_width = round((A4_MM[0] - 2 * side) * PX_PER_MM)
        self.paper_height = round((A4_MM[1] - 2 * top) * PX_PER_MM)
        self.margin_pt = top * 72 / 25.4  # at the top of each sheet, and at its bottom
        self.layouts: dict[str, Layout] = {}

    def layout(self, view: str) -> Layout:
        if view not in self.layouts:
            width = self.paper_width if view == PAPER else SCREENS[view]
            self.layouts[view] = measure(
                self.html, self.page.parent, width, print_rules=view == PAPER
            )
        return self.layouts[view]

    @cached_property
    def pdf(self) -> list[PdfPage]:
        return pdf_pages(print_to_pdf(self.page, self.page.with_suffix(".pdf")))

    @cached_property
    def screenshot(self) -> Png:
        return png_rows(screenshot_of(self.page, self.page.with_suffix(".png"), *SCREENSHOT))
