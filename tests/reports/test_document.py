"""One document, two renderings: what each format shows of the same blocks, and how it escapes."""

from __future__ import annotations

from nsfix.reports import html_page, markdown
from nsfix.reports.document import (
    Address,
    Code,
    Document,
    Heading,
    Label,
    Link,
    Mark,
    Note,
    Only,
    Paragraph,
    Section,
    Table,
)

CSS = "body { margin: 0; }"


def both(document: Document) -> tuple[str, str]:
    return markdown.render(document), html_page.render(document, css=CSS)


def test_each_format_shows_the_same_facts_its_own_way() -> None:
    document = Document(
        title="Audit",
        body=(
            Section(
                "target-1",
                "ns01 [default]",
                (
                    Heading(
                        (Code("DSR-USIP"), " usip YES"), level=4, badge=Mark("critical", "sev")
                    ),
                    Paragraph((Label("Why:"), " ", Mark("loops", "path harm", loud=True))),
                    Table(("Object",), (((Code("service/svc_a"), Note("usip is NO")),),)),
                    Only("markdown", (Paragraph(("Messages: usip is NO",)),)),
                    Only("html", (Paragraph(("small print",)),)),
                ),
            ),
        ),
    )

    md, html = both(document)

    assert "#### `DSR-USIP` usip YES (critical)" in md
    assert '<h4><span class="sev">critical</span> <code>DSR-USIP</code> usip YES</h4>' in html
    assert "Why: **loops**" in md
    assert '<strong>Why:</strong> <span class="path harm">loops</span>' in html
    assert "| `service/svc_a` |" in md
    assert '<code>service/svc_a</code><br><span class="muted">usip is NO</span>' in html
    assert "Messages: usip is NO" in md
    assert "Messages" not in html
    assert "small print" in html
    assert "small print" not in md


def test_a_block_a_format_leaves_out_leaves_no_gap_in_markdown() -> None:
    document = Document(
        title="T",
        body=(
            Paragraph(("one",)),
            Only("html", (Paragraph(("html only",)),)),
            Paragraph(("two",)),
        ),
    )

    assert markdown.render(document) == "# T\n\none\n\ntwo\n"


def test_markdown_escapes_pipes_in_code_only_inside_tables() -> None:
    name = "svc|a"
    document = Document(
        title="T",
        body=(Paragraph((Code(name),)), Table(("Object",), (((Code(name),),),))),
    )

    md = markdown.render(document)

    assert "\n`svc|a`\n" in md  # a backslash outside a table would show
    assert "| `svc\\|a` |" in md  # inside, an unescaped pipe would split the cell


def test_html_links_only_web_addresses_and_never_links_a_printed_one() -> None:
    web = "https://docs.netscaler.com/en-us/dsr.html"
    document = Document(
        title="T",
        body=(
            Paragraph((Link(web),)),
            Paragraph((Link("javascript:alert(1)"),)),
            Paragraph((Address(web),)),
        ),
    )

    md, html = both(document)

    assert html.count("<a ") == 1
    assert f'<a href="{web}" rel="noreferrer noopener">{web}</a>' in html
    assert "<p>javascript:alert(1)</p>" in html
    assert f'<span class="url">{web}</span>' in html
    assert md.count(f"<{web}>") == 2
