"""The reports people read, in a real browser: what a CAB member sees on screen and on A4."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import pytest

from tests.reports.browser import A4_PT, PAPER, PT_PER_PX, SCREENSHOT, VIEWS, Rendered, nsfix

pytestmark = pytest.mark.browser

SCENARIO = "mocks/scenarios/mixed.json"  # the richest: refusals, guidance, six packet paths


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cab") / "plan.json"
    nsfix("plan", "--from-file", SCENARIO, "-o", str(path))
    return path


@pytest.fixture(scope="module")
def cab(plan: Path) -> Rendered:
    page = plan.with_name("cab.html")
    nsfix("report", str(plan), "--format", "html", "--ticket", "CHG-1234", "-o", str(page))
    return Rendered(page)


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    path = tmp_path_factory.mktemp("audit") / "audit.json"
    nsfix("audit", "--from-file", SCENARIO, "--json", "-o", str(path), exit_code=2)
    targets = json.loads(path.read_text())["targets"]
    return [finding for target in targets for finding in target["findings"]]


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    page = tmp_path_factory.mktemp("audit") / "audit.html"
    nsfix("audit", "--from-file", SCENARIO, "--format", "html", "-o", str(page), exit_code=2)
    return Rendered(page)


@pytest.fixture(params=["cab", "audit"])
def report(request: pytest.FixtureRequest) -> Rendered:
    rendered: Rendered = request.getfixturevalue(request.param)
    return rendered


def test_it_prints_on_a4_at_its_own_size_without_blank_pages(report: Rendered) -> None:
    pages = report.pdf
    content = report.layout(PAPER).height / report.paper_height

    assert pages
    for number, page in enumerate(pages, 1):
        assert page.width_pt == pytest.approx(A4_PT[0], abs=1), f"page {number} is not A4"
        assert page.height_pt == pytest.approx(A4_PT[1], abs=1), f"page {number} is not A4"
        assert page.has_text, f"page {number} is blank"
        # Chromium shrinks a page whose content is wider than the sheet, and cuts off the rest.
        assert page.scale is not None, f"page {number}: no scale in chromium's drawing"
        assert page.scale == pytest.approx(PT_PER_PX, abs=0.001), (
            f"page {number} printed at {page.scale / PT_PER_PX:.0%}: something is wider than A4"
        )
    # Keeping a table or a figure whole on one page costs some paper, never a page per part.
    assert content * 0.95 <= len(pages) <= math.ceil(content * 1.25) + 1, (
        f"{len(pages)} pages for {content:.1f} pages of content"
    )


def test_a_page_ends_early_only_before_a_drawing_that_would_not_fit(report: Rendered) -> None:
    pages = report.pdf
    printable = report.paper_height * PT_PER_PX

    for number, (page, following) in enumerate(itertools.pairwise(pages), 1):
        assert page.last_line_pt is not None, f"page {number} has no line of text"
        empty = (page.last_line_pt - report.margin_pt) / printable
        # A table, a list or a paragraph goes on below; only a drawing is moved whole.
        assert empty < 1 / 3 or following.has_drawing, (
            f"page {number} ends {empty:.0%} empty and page {number + 1} starts no drawing"
        )


def test_long_blocks_break_across_pages_and_headings_stay_with_what_follows(
    report: Rendered,
) -> None:
    layout = report.layout(PAPER)

    kept_whole = [
        box
        for box in layout.kept
        if box["height"] > report.paper_height / 3 and not box["element"].startswith("figure")
    ]
    assert kept_whole == [], "kept on one page, it would leave the page before it half blank"
    assert layout.headings
    for heading in layout.headings:
        assert heading["break_after"] == "avoid", f"{heading['text']} may end a page"
    assert layout.tables
    for table in layout.tables:
        assert table["rows_kept"], f"a row may split across pages: {table['text']}"
        assert table["header"] == "table-header-group", f"no header on each page: {table['text']}"


def test_every_table_fits_a4_with_room_to_spare(report: Rendered) -> None:
    layout = report.layout(PAPER)

    # At its narrowest (every name whole, every digest wrapped) each table leaves a margin for
    # a reader's wider fonts: one unbreakable value must never push the page wider than A4.
    for table in layout.tables:
        assert table["narrowest"] <= 0.95 * layout.width, (
            f"{table['narrowest']:.0f} of {layout.width} px at its narrowest: {table['text']}"
        )


@pytest.mark.parametrize("view", VIEWS)
def test_nothing_runs_off_the_page(report: Rendered, view: str) -> None:
    layout = report.layout(view)

    assert layout.beyond == [], f"past the {view}'s right edge"
    assert layout.scroll_width <= layout.width
    if view == PAPER:
        # On paper even a few pixels show: a table over the margin, text over its neighbour.
        assert layout.spilling == [], "wider than its box on A4"


def test_it_loads_nothing_but_itself(report: Rendered) -> None:
    assert report.layout(PAPER).fetched == []


def test_a_screenshot_shows_the_page(report: Rendered) -> None:
    shot = report.screenshot

    assert (shot.width, shot.height) == SCREENSHOT
    # A blank page is one or two kinds of pixel row; a page of text has hundreds.
    assert shot.distinct_rows > 100


@pytest.mark.parametrize("view", VIEWS)
def test_every_packet_path_is_drawn_whole(cab: Rendered, plan: Path, view: str) -> None:
    paths = json.loads(plan.read_text())["plan"]["paths"]
    figures = cab.layout(view).figures

    assert len(figures) == len(paths) > 0
    for path, figure in zip(paths, figures, strict=True):
        labels = [label["text"] for label in figure["labels"]]
        assert figure["heading"] == f"{path['vserver']} → {path['backend']}"
        # Each drawing's caption says what the heading above it does not: what it depends on.
        for word, trace in (("Before", path["before"]), ("After", path["after"])):
            usip = {True: "YES", False: "NO", None: "unknown"}[trace["usip"]]
            assert f"{word} the change: {trace['mode']} mode, usip {usip}" in labels
        assert not any(figure["heading"] in label for label in labels), "repeats its heading"
        assert figure["width"] > 0.75 * cab.paper_width
        assert figure["height"] > 0.5 * figure["width"]
        for label in figure["labels"]:
            assert label["width"] > 0, f"{label['text']} not drawn"
            assert label["height"] > 0, f"{label['text']} not drawn"
            assert label["inside"], f"{label['text']} runs past the drawing's edge"
        for trace in (path["before"], path["after"]):
            for hop in trace["hops"]:
                shown = f"{hop['src_ip']} → {hop['dst_ip']}"
                assert any(text.startswith(shown) for text in labels), shown
        # An arrow per hop at least, and the four boxes of client, router, NetScaler, server.
        assert figure["shapes"] >= len(path["before"]["hops"]) + len(path["after"]["hops"]) + 8


@pytest.mark.parametrize("view", VIEWS)
def test_every_finding_names_its_object_in_full(
    audit: Rendered, findings: list[dict[str, Any]], view: str
) -> None:
    names = audit.layout(view).names

    assert findings
    for finding in findings:
        shown = [name for name in names if name["text"] == finding["object_text"]]
        assert any(name["shown"] and name["inside"] and not name["clipped"] for name in shown), (
            f"{finding['object_text']} is not shown in full on the {view}: {shown}"
        )


@pytest.mark.parametrize("view", VIEWS)
def test_no_name_or_word_is_cut_where_it_may_not_break(report: Rendered, view: str) -> None:
    # Names, addresses and commands break at a space or after "/" or ","; words in a table at
    # a space or a hyphen; digests anywhere. "|" marks each cut: "vs_|dsr|_pa|rti|al".
    broken = [cut["text"] for cut in report.layout(view).broken]

    assert broken == [], f"cut mid-word on the {view}"
