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
    assert (
        '<code class="parts"><span>service/</span><wbr><span>svc_a</span></code>'
        '<br><span class="muted">usip is NO</span>'
    ) in html
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

    # Shown in pieces that a line may break between: after each "/" and "-".
    shown = "<wbr>".join(
        f"<span>{piece}</span>"
        for piece in ("https://", "docs.netscaler.com/", "en-", "us/", "dsr.html")
    )
    assert html.count("<a ") == 1
    assert f'<a class="parts" href="{web}" rel="noreferrer noopener">{shown}</a>' in html
    assert "<p>javascript:alert(1)</p>" in html
    assert f'<span class="url parts">{shown}</span>' in html
    assert md.count(f"<{web}>") == 2


def test_html_breaks_a_name_only_after_a_slash_or_comma_and_a_digest_anywhere() -> None:
    digest = "sha256:" + "0123456789abcdef" * 4
    document = Document(
        title="T",
        body=(
            Paragraph((Code("DSR-PROXYPORT"),)),
            Paragraph((Code("service/svc web-tier"),)),
            Paragraph((Code("10.0.0.1, 10.0.0.2"),)),
            Paragraph((Code(digest),)),
            Paragraph((f"dsr-source-ip ({digest})",)),
        ),
    )

    md, html = both(document)

    # One piece: kept whole by the stylesheet html_page gives every page (code does not wrap).
    assert "<code>DSR-PROXYPORT</code>" in html
    assert "code, a, .url, .parts > span, .tight { white-space: nowrap; }" in html
    name = "<span>service/</span><wbr><span>svc</span> <span>web-tier</span>"
    assert f'<code class="parts">{name}</code>' in html
    assert '<code class="parts"><span>10.0.0.1,</span> <span>10.0.0.2</span></code>' in html
    run = "0123456789abcdef" * 4
    assert (
        f'<code class="parts"><span>sha256:</span><wbr><span class="hex">{run}</span></code>'
        in (html)
    )
    # A closing parenthesis goes with the digest: it never starts a line of its own.
    assert f'<p>dsr-source-ip (sha256:<span class="hex">{run})</span></p>' in html
    assert f"`{digest}`" in md
    assert f"dsr-source-ip ({digest})" in md


def test_a_stacked_column_goes_under_its_host_in_html_and_keeps_its_column_in_markdown() -> None:
    table = Table(
        ("Object", "Via", "Fails"),
        (
            ((Code("svc_a"),), (Code("vs_a"),), ("yes",)),
            ((Code("svc_b"),), ("-",), ("no",)),
        ),
        stacked=((1, 0),),
    )

    md, html = both(Document(title="T", body=(table,)))

    assert "| Object | Via | Fails |" in md
    assert "| `svc_a` | `vs_a` | yes |" in md
    assert "<thead><tr><th>Object</th><th>Fails</th></tr></thead>" in html
    assert '<td><code>svc_a</code><div class="stacked">Via: <code>vs_a</code></div></td>' in html
    # A value that is not there is not shown under its host either.
    assert "<td><code>svc_b</code></td><td>no</td>" in html
