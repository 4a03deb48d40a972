"""The audit as Markdown and as one self-contained HTML page: what a reader learns from it."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from nsfix.findings import AuditResult, Finding, ObjectRef, Severity, TargetAudit, Waiver
from nsfix.model import Snapshot, build_snapshot
from nsfix.operations import run_audit
from nsfix.reports.audit_doc import render_audit_html, render_audit_markdown
from nsfix.rules.playbook import Playbook
from nsfix.shell import load_playbooks

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 26)
URL = "https://ns-lab-01.example.test"
WAIVER = Waiver(
    rule="DSR-*",
    object="service/svc_far_01",
    reason="migration to IPTUNNEL planned (CHG-20433)",
    owner="app-far@example.com",
    expires=date(2099, 1, 31),
    source="waivers.yaml:3",
)
EXPIRED = Waiver(
    rule="PROXY-USIP-GATEWAY",
    object="service/svc_proxy_usip_01",
    reason="gateway checked in CHG-20417",
    owner="network-team@example.com",
    expires=date(2026, 1, 31),
    source="waivers.yaml:9",
)
VOID_ELEMENTS = {"meta", "br", "hr", "img", "link", "input", "col", "area", "base", "wbr"}


@pytest.fixture(scope="module")
def books() -> list[Playbook]:
    return load_playbooks([])


def snapshot(name: str, url: str = URL) -> Snapshot:
    raw = json.loads((ROOT / "mocks" / "scenarios" / f"{name}.json").read_text())
    return build_snapshot(raw, url=url, collected_at=datetime(2026, 11, 26, 10, 15, tzinfo=UTC))


def audited(
    snap: Snapshot, books: Sequence[Playbook], waivers: Sequence[Waiver] = ()
) -> TargetAudit:
    result = run_audit(snap, books, waivers, None, today=TODAY)
    return TargetAudit(snap.appliance.url, snap.appliance.partition, snap, result)


def unreachable(url: str = "https://ns-down.example.test") -> TargetAudit:
    return TargetAudit(url, "default", None, None, f"{url}: cannot reach the appliance: refused")


class Page(HTMLParser):
    """Collects what a browser would fetch or run, and checks that every element is closed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.tags: list[str] = []
        self.hrefs: list[str] = []
        self.fetching: list[str] = []
        self.ids: set[str] = set()
        self.text: list[str] = []
        self.style = ""
        self.in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if "href" in values:
            self.hrefs.append(values["href"] or "")
        if "id" in values:
            self.ids.add(values["id"] or "")
        for name in ("src", "srcset", "data", "action", "background", "poster"):
            if name in values:
                self.fetching.append(f"{tag} {name}={values[name]}")
        if tag == "style":
            self.in_style = True
        if tag not in VOID_ELEMENTS:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open[-1:] == [tag], f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()
        self.in_style = False

    def handle_data(self, data: str) -> None:
        if self.in_style:
            self.style += data
        else:
            self.text.append(data)


def page(text: str) -> Page:
    parser = Page()
    parser.feed(text)
    parser.close()
    assert parser.open == [], f"unclosed elements: {parser.open}"
    return parser


@pytest.mark.parametrize(
    ("targets", "headline"),
    [
        (("seed-incident",), "Not compliant"),
        (("healthy",), "Compliant"),
        (("healthy", "down"), "Incomplete"),
        (("down",), "Not audited"),
        (("seed-incident", "down"), "Not compliant"),
    ],
)
def test_the_verdict_comes_first_and_matches_the_exit_code(
    books: list[Playbook], targets: tuple[str, ...], headline: str
) -> None:
    audits = [
        unreachable() if name == "down" else audited(snapshot(name), books) for name in targets
    ]

    markdown = render_audit_markdown(audits, Severity.WARNING)
    html = render_audit_html(audits, Severity.WARNING)

    first = markdown.splitlines()[2]
    assert first.startswith(f"**{headline}:**"), first
    assert f"<strong>{headline}:</strong>" in html
    assert "Compliant:" not in first or headline == "Compliant"


def test_markdown_lists_findings_rules_waivers_and_what_was_not_evaluated(
    books: list[Playbook],
) -> None:
    target = audited(snapshot("mixed"), books, [WAIVER])
    result = target.result
    assert result is not None

    markdown = render_audit_markdown([target, unreachable()], Severity.WARNING)

    assert f"### Findings ({len(result.active())} active)" in markdown
    for finding in result.active():
        assert f"`{finding.rule}` | `{finding.object}` |" in markdown
    assert "| **critical** | `DSR-USIP` | `service/svc_tos_01` | `vs_tos` | usip: NO → YES |" in (
        markdown
    )
    assert "#### `DSR-USIP` DSR backends use the client's source IP (usip YES) (critical)" in (
        markdown
    )
    assert "Fix: nsfix plan sets usip YES" in markdown
    assert (
        "Reference: <https://docs.netscaler.com/en-us/citrix-adc/current-release/load-balancing/"
        "load-balancing-dsrmode.html>" in markdown
    )
    assert "### Waived (3)" in markdown
    assert "| 2099-01-31 | app-far@example.com | migration to IPTUNNEL planned (CHG-20433) |" in (
        markdown
    )
    assert "### Expired waivers" not in markdown
    assert "### Not evaluated (1)" in markdown
    assert "no usable address (333:333:33:333)" in markdown
    assert f"### Compliant checks ({len(result.passed)})" in markdown
    assert "**Not audited:** https://ns-down.example.test: cannot reach the appliance" in markdown
    assert "Exit code 8 (partial findings; --fail-on warning)" in markdown


def test_an_expired_waiver_is_listed_as_hiding_nothing(books: list[Playbook]) -> None:
    target = audited(snapshot("mixed"), books, [EXPIRED])
    assert target.result is not None
    assert target.result.expired_waivers

    markdown = render_audit_markdown([target], Severity.WARNING)
    html = render_audit_html([target], Severity.WARNING)

    assert "### Expired waivers (they hide nothing any more)" in markdown
    assert "`PROXY-USIP-GATEWAY` `service/svc_proxy_usip_01` expired 2026-01-31" in markdown
    assert "expired 2026-01-31" in html


def table_blocks(markdown: str) -> list[list[list[str]]]:
    """Each Markdown table as rows of cells, split on the pipes a renderer would split on."""
    blocks: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            current.append(re.split(r"(?<!\\)\|", line)[1:-1])
        elif current:
            blocks.append(current)
            current = []
    return blocks


def test_markdown_tables_keep_their_columns_whatever_the_names_hold(
    books: list[Playbook],
) -> None:
    odd = ObjectRef("service", "svc|pipe`tick*star_under")
    base = audited(snapshot("seed-incident"), books, [])
    assert base.result is not None
    finding = replace(
        base.result.findings[0], object=odd, message=f"{odd}: usip | is NO", via=("vs|a",)
    )
    waived = replace(finding, waiver=replace(WAIVER, reason="a | b", owner="x|y"))
    target = replace(base, result=replace(base.result, findings=(finding, waived)))

    markdown = render_audit_markdown([target], Severity.WARNING)

    blocks = table_blocks(markdown)
    assert len(blocks) == 3  # summary, findings, waived
    for rows in blocks:
        assert {len(cells) for cells in rows} == {len(rows[0])}, rows
    assert "``service/svc\\|pipe`tick*star_under``" in markdown
    assert "a \\| b" in markdown


def test_html_is_one_self_contained_page_that_prints_on_a4(books: list[Playbook]) -> None:
    targets = [audited(snapshot("mixed"), books, [WAIVER]), unreachable()]

    text = render_audit_html(targets, Severity.WARNING)
    parsed = page(text)

    assert text.startswith("<!DOCTYPE html>")
    assert parsed.fetching == []
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(parsed.tags)
    assert "@import" not in parsed.style
    assert "url(" not in parsed.style
    assert re.search(r"@page\s*{\s*size:\s*A4", parsed.style)
    for href in parsed.hrefs:
        if href.startswith("#"):
            assert href[1:] in parsed.ids, href
        else:
            assert href.startswith("https://"), href  # links to documentation, never fetched
    assert {"target-1", "target-2"} <= parsed.ids
    body = " ".join(parsed.text)
    assert "Not audited: https://ns-down.example.test: cannot reach the appliance" in body
    assert "migration to IPTUNNEL planned (CHG-20433)" in body


def test_html_escapes_hostile_names_and_links_only_to_web_pages(books: list[Playbook]) -> None:
    hostile = ObjectRef("service", "<script>alert(1)</script>")
    finding = Finding(
        rule="SITE-1",
        title="<b>title</b>",
        severity=Severity.CRITICAL,
        object=hostile,
        message=f"{hostile} is <img src=x onerror=alert(2)>",
        rationale="why & because",
        reference="javascript:alert(3)",
    )
    target = TargetAudit(URL, "default", snapshot("healthy"), AuditResult(findings=(finding,)))

    text = render_audit_html([target], Severity.WARNING)
    parsed = page(text)

    assert not {"script", "img", "b"} & set(parsed.tags)
    assert all(not h.startswith("javascript:") for h in parsed.hrefs)
    # Escaped, whatever break opportunities (<wbr>) the page gives the name.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text.replace("<wbr>", "")
    body = " ".join(parsed.text)
    assert "service/<script>alert(1)</script> is <img src=x onerror=alert(2)>" in "".join(
        parsed.text
    )
    assert "javascript:alert(3)" in body  # shown as text, for the reader to judge


@pytest.mark.parametrize("inside", [True, False], ids=["under the working directory", "elsewhere"])
def test_rules_from_names_each_playbook_without_the_auditors_own_folders(
    books: list[Playbook], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, inside: bool
) -> None:
    monkeypatch.chdir(ROOT if inside else tmp_path)
    target = audited(snapshot("mixed"), books)
    assert target.result is not None
    (ref,) = target.result.playbooks
    where = Path(ref.source).resolve()

    markdown = render_audit_markdown([target], Severity.WARNING)
    html = render_audit_html([target], Severity.WARNING)

    # From the working directory when the file is under it, else only the file's name.
    shown = where.relative_to(ROOT).as_posix() if inside else where.name
    assert f"- `{ref.name}` (`{shown}`, `{ref.digest}`)" in markdown
    page_text = re.sub(r"<[^>]+>", "", html)
    assert f"Rules from: {ref.name} ({shown}, {ref.digest})" in page_text
    assert str(ROOT) not in markdown + html
