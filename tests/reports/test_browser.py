"""The reports people read, in a real browser: what a CAB member sees on screen and on A4."""

from __future__ import annotations

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
        assert f"Before: {path['vserver']} → {path['backend']}" in labels
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


@pytest.mark.xfail(
    strict=True,
    reason="known: narrow table columns break names mid-word on A4 (audit Via column "
    "'vs_|dsr|_pa|rti|al', 'service/svc_proxy_usip_|01'; CAB 'service/svc_disa|bled_01'): "
    "overflow-wrap: anywhere lets a column shrink to a few letters",
)
def test_no_name_in_a_table_is_broken_mid_word(report: Rendered) -> None:
    broken = [name["text"] for name in report.layout(PAPER).names if name["split"]]

    assert broken == []
