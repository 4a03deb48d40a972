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
  // Words a line break cut in two: their letters sit on more than one line.
  const split = (el) => {
    const cut = [];
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const word of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, word.index);
        range.setEnd(node, word.index + word[0].length);
        const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
        if (lines.size > 1) cut.push(word[0]);
      }
    }
    return cut;
  };
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
  const figures = [...document.querySelectorAll("figure svg")].map((svg) => {
    const frame = svg.getBoundingClientRect();
    const shapes = [...svg.querySelectorAll("path, line, rect, polygon, polyline, circle")];
    return {
      width: frame.width,
      height: frame.height,
      shapes: shapes.filter((shape) => shape.getBBox().width + shape.getBBox().height > 0).length,
      labels: [...svg.querySelectorAll("text")].map((text) => {
        const box = text.getBoundingClientRect();
        return {text: text.textContent, width: box.width, height: box.height,
                inside: box.left >= frame.left - 0.5 && box.right <= frame.right + 0.5
                        && box.top >= frame.top - 0.5 && box.bottom <= frame.bottom + 0.5};
      }),
    };
  });
  const names = [...document.querySelectorAll("td code")].map((code) => {
    const box = code.getBoundingClientRect();
    return {text: code.textContent, clipped: clipped(code.closest("td")), split: split(code),
            shown: code.checkVisibility({checkOpacity: true, checkVisibilityCSS: true}),
            inside: box.left >= -0.5 && box.right <= width + 0.5};
  });
  const out = document.createElement("pre");
  out.id = "nsfix-measure";
  out.textContent = JSON.stringify({width, scroll_width: root.scrollWidth,
    height: root.scrollHeight, beyond, spilling, figures, names,
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
    figures: list[dict[str, Any]]  # each drawing: its size, shapes drawn, and text labels
    names: list[dict[str, Any]]  # each name printed in a table cell, and how it was shown
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


OBJECT: Final = re.compile(rb"(\d+) 0 obj\b")
NUMBER: Final = rb"(-?[\d.]+)"
CM: Final = re.compile(rb"\s+".join([NUMBER] * 6) + rb"\s+cm\b")


def pdf_pages(data: bytes) -> list[PdfPage]:
    """The pages of a PDF chromium wrote: read from its bytes, no PDF library needed."""
    starts = {int(m[1]): m.end() for m in OBJECT.finditer(data)}
    pages = []
    for number, start in starts.items():
        head = data[start : data.find(b"endobj", start)].split(b"stream", 1)[0]
        if not re.search(rb"/Type\s*/Page\b(?!s)", head):
            continue
        media = re.search(rb"/MediaBox\s*\[([^\]]*)\]", head)
        contents = re.search(rb"/Contents\s+(\d+) 0 R", head)
        assert media, f"page object {number} has no MediaBox"
        assert contents, f"page object {number} has no Contents"
        x0, y0, x1, y1 = (float(v) for v in media[1].split())
        drawing = stream(data, starts[int(contents[1])])
        transforms = CM.findall(drawing[:2000])
        # Chromium's first transform turns its raster into points, the second CSS px into it.
        scale = None
        if len(transforms) > 1:
            scale = abs(float(transforms[0][0]) * float(transforms[1][0]))
        text = re.search(rb"\bT[jJ]\b", drawing) is not None
        pages.append(PdfPage(x1 - x0, y1 - y0, scale, text))
    return pages


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
SCREENS: Final = {"screen 1280 px": 1280, "screen 768 px": 768}
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
