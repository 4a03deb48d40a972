"""The CAB report of a plan: the facts a board needs, in Markdown and in one self-contained page."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from mocks.generate import generate
from nsfix.flow import Outcome, trace
from nsfix.model import Snapshot, build_snapshot
from nsfix.operations import make_plan, run_audit
from nsfix.planfile import plan_document
from nsfix.planner import Plan, PlanOptions
from nsfix.reports.cab import render_html, render_markdown
from nsfix.reports.svg import LOOP_COLOUR, ROLE_COLOUR, HopRole, path_diagram
from nsfix.shell import load_playbooks

ROOT = Path(__file__).resolve().parents[2]
CREATED = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
PLAN_PATH = "plans/seed plan.json"
TICKET = "CHG-1234"
EVIL_SERVICE = 'svc<script>alert("x")</script>&\'01'
EVIL_VSERVER = 'vs<b>"dsr"</b>&amp;'
GREEN = ROLE_COLOUR[HopRole.REPLY]
VOID = {"meta", "br", "hr", "img", "input", "link", "wbr", "col", "area", "base", "source"}


def load(name: str) -> dict[str, Any]:
    raw = json.loads((ROOT / "mocks/scenarios" / f"{name}.json").read_text())
    assert isinstance(raw, dict)
    return raw


def snapshot_of(raw: dict[str, Any]) -> Snapshot:
    return build_snapshot(raw, url="https://127.0.0.1:9", collected_at=CREATED)


def plan_of(raw: dict[str, Any], options: PlanOptions | None = None) -> Plan:
    snapshot = snapshot_of(raw)
    result = run_audit(snapshot, load_playbooks([]), (), None)
    the_plan = make_plan(snapshot, result, None, options or PlanOptions())
    return replace(the_plan, created_at=CREATED)


def digest_of(the_plan: Plan) -> str:
    return str(plan_document(the_plan)["digest"])


def renamed(value: Any, names: dict[str, str]) -> Any:
    """The scenario with every string equal to a key renamed, wherever it is referenced."""
    if isinstance(value, dict):
        return {k: renamed(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [renamed(v, names) for v in value]
    if isinstance(value, str):
        return names.get(value, value)
    return value


@pytest.fixture(scope="module")
def seed() -> Plan:
    return plan_of(load("seed-incident"))


@pytest.fixture(scope="module")
def mixed() -> Plan:
    return plan_of(load("mixed"))


@pytest.fixture(scope="module")
def mixed_opt_in() -> Plan:
    return plan_of(load("mixed"), PlanOptions(bind_monitor=True, dedicated_copies=True))


@pytest.fixture(scope="module")
def evil() -> Plan:
    raw = renamed(load("seed-incident"), {"svc_app_01": EVIL_SERVICE, "vs_app_dsr": EVIL_VSERVER})
    return plan_of(raw)


def md_sections(text: str) -> dict[str, str]:
    """`## N. Title` → the text up to the next such heading, keyed by title."""
    parts = re.split(r"^## \d+\. (.+)$", text, flags=re.M)
    return {title: body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def md_without_code(text: str) -> str:
    text = re.sub(r"^(`{3,}).*?^\1$", "", text, flags=re.M | re.S)
    return re.sub(r"(`+).+?\1", "", text)


# --- Markdown ---------------------------------------------------------------------------------


def test_markdown_has_every_section_in_order(seed: Plan) -> None:
    text = render_markdown(seed, digest=digest_of(seed), plan_path=PLAN_PATH, ticket=TICKET)
    titles = list(md_sections(text))
    assert titles == [
        "Summary",
        "Change record",
        "Findings this change fixes",
        "Changes, in the order they are applied",
        "Packet path before and after",
        "Refused: what nsfix will not change, and why",
        "Findings that need a person (guidance only)",
        "Server-side tasks per backend",
        "Pre-checks the apply makes",
        "Implementation and rollback plan",
        "Verification",
        "Approvals",
    ]


def test_markdown_summary_gives_the_boards_fields_first_then_words(seed: Plan) -> None:
    summary = md_sections(render_markdown(seed, digest=digest_of(seed), ticket=TICKET))["Summary"]
    fields, words = summary.split("### In words")
    rows = dict(re.findall(r"^\| ([^|]+?) \| (.+) \|$", fields, flags=re.M))
    assert list(rows) == [
        "Field",
        "Risk",
        "Impact",
        "Affected virtual servers",
        "Change window estimate",
        "Canary",
        "Rollback",
        "Approvals",
        "Change ticket",
    ]
    assert rows["Risk"].startswith("**MEDIUM**: ")
    assert "sets usip YES and useproxyport NO on 2 objects (2 services)" in rows["Impact"]
    assert "https://127.0.0.1:9, partition default" in rows["Impact"]
    assert "2 backend servers need settings NITRO cannot make" in rows["Impact"]
    assert rows["Affected virtual servers"] == "1: `vs_app_dsr`"
    assert re.match(
        r"book \d+ min: the apply takes \d+ s to \d+ (s|min)", rows["Change window estimate"]
    )
    assert rows["Canary"].startswith("c1, `service/svc_app_01` on live traffic of `vs_app_dsr`")
    assert "`nsfix rollback <journal printed by apply>`" in rows["Rollback"]
    assert "`nsfix approve`" in rows["Approvals"]
    assert "`nsfix apply --expect-digest`" in rows["Approvals"]
    assert rows["Change ticket"] == "`CHG-1234`"
    paragraph = words.strip()
    assert "\n" not in paragraph, "one paragraph"
    assert "4 audit findings (2 critical and 2 warning)" in paragraph
    assert "loops" in paragraph
    assert "straight to the client" in paragraph
    assert "Risk: medium" in paragraph


def test_a_plan_of_many_virtual_servers_names_the_first_and_draws_each_kind_once() -> None:
    # 60 virtual servers, 18 of them DSR (MAC, IPTUNNEL and TOS), every DSR backend wrong.
    the_plan = plan_of(generate(services=600, servicegroups=0, bad_fraction=1.0))
    vservers = sorted({v for change in the_plan.changes for v in change.vservers})
    assert len(vservers) == 18
    text = render_markdown(the_plan, digest=digest_of(the_plan))
    summary = md_sections(text)["Summary"]
    row = next(line for line in summary.splitlines() if line.startswith("| Affected"))
    assert f"18: `{vservers[0]}`" in row
    assert f"`{vservers[11]}` and 6 more (section 4)" in row
    assert vservers[12] not in row
    # One drawing per kind of path (mode, and outcome before and after), naming the others.
    assert sorted(p.before.mode for p in the_plan.paths) == ["IPTUNNEL", "MAC", "TOS"]
    drawn = sorted(v for p in the_plan.paths for v in (p.vserver, *p.alike))
    assert drawn == vservers
    paths = md_sections(text)["Packet path before and after"]
    mac = next(p for p in the_plan.paths if p.before.mode == "MAC")
    assert f"for {len(mac.alike)} other virtual servers: `{mac.alike[0]}`" in paths


def test_markdown_lists_every_change_with_before_and_after(seed: Plan, mixed: Plan) -> None:
    for the_plan in (seed, mixed):
        sections = md_sections(render_markdown(the_plan, digest=digest_of(the_plan)))
        changes = sections["Changes, in the order they are applied"]
        rows = [line for line in changes.splitlines() if re.match(r"^\| c\d+ \|", line)]
        assert len(rows) == len(the_plan.changes)
        for change, row in zip(the_plan.changes, rows, strict=True):
            assert row.startswith(f"| {change.id} | `{change.object}` |")
            for name, value in change.after.items():
                assert f"`{name}` {change.before[name]} → {value}" in row
            for vserver in change.vservers:
                assert vserver in row
            assert ("| canary |" in row) is change.canary
    assert sum(c.canary for c in mixed.changes) == 1


def test_markdown_fixed_findings_carry_rationale_and_reference(seed: Plan) -> None:
    fixed = md_sections(render_markdown(seed, digest=digest_of(seed)))["Findings this change fixes"]
    for finding in seed.findings:
        assert f"`{finding.object}`" in fixed
        assert finding.reference is not None
        assert f"<{finding.reference}>" in fixed
    assert "### DSR-USIP: DSR backends use the client's source IP (usip YES) (critical)" in fixed
    assert "Why it matters: In DSR the server replies from the VIP" in fixed


def test_markdown_names_every_refusal_with_its_reason_and_alternative(mixed: Plan) -> None:
    sections = md_sections(render_markdown(mixed, digest=digest_of(mixed)))
    refused = sections["Refused: what nsfix will not change, and why"]
    codes = {r.code for r in mixed.refusals}
    assert codes == {"invalid-data", "no-layer2-adjacency", "shared-with-proxy-vserver"}
    for refusal in mixed.refusals:
        row = next(line for line in refused.splitlines() if f"`{refusal.object}`" in line)
        assert f"`{refusal.code}`" in row
        # The reason is Markdown-escaped text; compare with the escapes taken out.
        plain = row.replace("\\", "")
        assert refusal.reason in plain
        if refusal.alternative:
            assert refusal.alternative in plain
    guidance = sections["Findings that need a person (guidance only)"]
    for finding in mixed.guidance:
        assert f"`{finding.object}`" in guidance
        assert f"`{finding.rule}`" in guidance


def test_markdown_server_tasks_say_each_backend_once_and_each_step_once(
    seed: Plan, mixed: Plan
) -> None:
    tasks = md_sections(render_markdown(seed, digest=digest_of(seed)))[
        "Server-side tasks per backend"
    ]
    assert (
        "| `10.10.20.31`, `10.10.20.32` | `203.0.113.10` | `vs_app_dsr` | MAC | `10.10.20.1` |"
        in (tasks)
    )
    assert "ip addr add <VIP>/32 dev lo" in tasks
    assert 'netsh interface ipv4 add address "Loopback" <VIP> 255.255.255.255' in tasks
    assert "Linux: ip addr show dev lo | grep -w <VIP>" in tasks
    assert "sysctl -w net.ipv4.conf.all.arp_ignore=1" in tasks
    assert "none of: <SNIP>" in tasks

    tasks = md_sections(render_markdown(mixed, digest=digest_of(mixed)))[
        "Server-side tasks per backend"
    ]
    rows = re.findall(r"^\| (`.+?) \| `", tasks, flags=re.M)
    listed = [a.strip("`") for row in rows for a in row.split(", ")]
    assert sorted(listed) == sorted(t.address for t in mixed.server_tasks)
    assert "`10.20.1.61`, `10.20.1.62`" in rows
    for step in ("Hold the VIP", "Never answer ARP", "Keep the default gateway"):
        assert len(re.findall(rf"^#### \d+\. {step}", tasks, flags=re.M)) == 1, step
    assert re.search(
        r"^#### \d+\. Decapsulate IP-in-IP .*\(only the backends of IPTUNNEL", tasks, flags=re.M
    )
    assert re.search(
        r"^#### \d+\. Map the virtual server's TOS id to its VIP .*\(only the "
        r"backends of TOS",
        tasks,
        flags=re.M,
    )


def test_markdown_prechecks_name_digest_target_and_every_precondition(seed: Plan) -> None:
    digest = digest_of(seed)
    checks = md_sections(render_markdown(seed, digest=digest))["Pre-checks the apply makes"]
    assert f"`{digest}`" in checks
    assert "`https://127.0.0.1:9`" in checks
    assert "The partition is `default`" in checks
    assert "`Primary`" in checks
    assert "HA secondary is refused" in checks
    assert "holds the lock" in checks
    assert "`--save`" in checks
    assert "unsaved changes" in checks
    assert "`--save-anyway`" in checks
    for change in seed.changes:
        assert f"| {change.id} | `{change.object}` | `usip` NO, `useproxyport` YES |" in checks


def test_markdown_rollback_gives_the_commands_and_every_inverse(seed: Plan) -> None:
    text = render_markdown(seed, digest=digest_of(seed), plan_path=PLAN_PATH, ticket=TICKET)
    rollback = md_sections(text)["Implementation and rollback plan"]
    assert "`nsfix apply 'plans/seed plan.json' --dry-run`" in rollback
    digest = digest_of(seed)
    apply = f"`nsfix apply 'plans/seed plan.json' --ticket CHG-1234 --expect-digest {digest}`"
    assert apply in rollback
    assert "`nsfix rollback <journal printed by apply>`" in rollback
    rows = [line for line in rollback.splitlines() if re.match(r"^\| c\d+ \|", line)]
    assert [row.split(" | ")[0] for row in rows] == ["| c2", "| c1"], "reverse order"
    for change, row in zip(reversed(seed.changes), rows, strict=True):
        assert f"`{change.object}`" in row
        assert "update service `usip` YES → NO; `useproxyport` NO → YES" in row
        assert row.endswith("| `usip` NO, `useproxyport` YES |")


def test_markdown_rollback_without_a_path_or_ticket_shows_placeholders(seed: Plan) -> None:
    rollback = md_sections(render_markdown(seed, digest=digest_of(seed)))[
        "Implementation and rollback plan"
    ]
    assert f"`nsfix apply <plan-file> --ticket <ticket> --expect-digest {digest_of(seed)}`" in (
        rollback
    )


def test_markdown_rollback_lists_inverses_of_opt_in_changes(mixed_opt_in: Plan) -> None:
    rollback = md_sections(render_markdown(mixed_opt_in, digest=digest_of(mixed_opt_in)))[
        "Implementation and rollback plan"
    ]
    rows = [line for line in rollback.splitlines() if re.match(r"^\| c\d+ \|", line)]
    assert len(rows) == len(mixed_opt_in.changes)
    by_verb = {c.operation.verb for c in mixed_opt_in.changes}
    assert by_verb == {"update", "add", "bind", "unbind"}
    assert any("delete service `name=svc_shared_01_dsr`" in row for row in rows)
    assert any(
        "bind lbvserver_service_binding `name=vs_shared_mac, servicename=svc_shared_01, weight=1`"
        in row
        for row in rows
    )
    assert any("unbind service_lbmonitor_binding" in row for row in rows)


def test_markdown_verification_and_digests(seed: Plan) -> None:
    digest = digest_of(seed)
    text = render_markdown(seed, digest=digest)
    verification = md_sections(text)["Verification"]
    assert "Read back" in verification
    assert "`DSR-USIP service/svc_app_01`" in verification
    assert "UP before the apply may be DOWN" in verification
    assert "`--settle`, 30 s" in verification
    assert "`nsfix explain vs_app_dsr`: the path of svc_app_01 ends in direct-return" in (
        verification
    )
    record = md_sections(text)["Change record"]
    assert f"| Plan digest | `{digest}` |" in record
    assert f"| Snapshot digest | `{seed.snapshot_digest}` |" in record


def test_markdown_ticket_and_approvals(seed: Plan) -> None:
    blank = md_sections(render_markdown(seed, digest=digest_of(seed)))
    assert "Change ticket: ________________" in blank["Approvals"]
    assert "| Change ticket | ________________ |" in blank["Change record"]
    filled = md_sections(render_markdown(seed, digest=digest_of(seed), ticket=TICKET))
    assert "Change ticket: `CHG-1234`" in filled["Approvals"]
    assert "| Change ticket | `CHG-1234` |" in filled["Change record"]
    approvals = filled["Approvals"]
    assert "| Role | Name | Decision | Date |" in approvals
    for role in ("Change owner", "Network", "Application owner", "CAB"):
        assert f"| {role} |   |   |   |" in approvals


def test_markdown_paths_are_text_blocks_before_and_after(seed: Plan) -> None:
    paths = md_sections(render_markdown(seed, digest=digest_of(seed)))[
        "Packet path before and after"
    ]
    blocks = re.findall(r"^```text\n(.*?)^```$", paths, flags=re.M | re.S)
    assert len(blocks) == 2 * len(seed.paths)
    before, after = blocks
    assert before.startswith("BEFORE: vs_app_dsr -> svc_app_01 (10.10.20.31), mode MAC, usip NO")
    assert re.search(r"4\s+server\s+netscaler\s+203\.0\.113\.10 -> 10\.10\.20\.1\s+LOOP", before)
    assert "outcome: loop (not healthy)" in before
    assert "LOOP" not in after
    assert re.search(r"5\s+router\s+client\s+203\.0\.113\.10 -> 203\.0\.113\.50\s+reply", after)
    assert "outcome: direct-return (healthy)" in after


def test_markdown_escapes_names_outside_code(evil: Plan) -> None:
    text = render_markdown(evil, digest=digest_of(evil))
    assert f"`service/{EVIL_SERVICE}`" in text, "names are shown verbatim in code spans"
    prose = md_without_code(text)
    # Outside code, a `<` that is not backslash-escaped would reach a renderer as HTML.
    assert not re.search(r"(?<!\\)<(/?script|/?b>)", prose)
    assert "\\<script\\>" in prose
    assert "\\<b\\>" in prose


def test_empty_plan_says_so() -> None:
    the_plan = plan_of(load("healthy"))
    assert not the_plan.changes
    text = render_markdown(the_plan, digest=digest_of(the_plan))
    sections = md_sections(text)
    assert "nothing it may change" in sections["Summary"]
    assert "No change to make." in sections["Changes, in the order they are applied"]
    assert "| CAB |" in sections["Approvals"]
    assert "<svg" not in render_html(the_plan, digest=digest_of(the_plan))


def test_output_is_deterministic_and_dated_only_by_the_plan(mixed_opt_in: Plan) -> None:
    digest = digest_of(mixed_opt_in)
    for render in (render_markdown, render_html):
        first = render(mixed_opt_in, digest=digest, plan_path=PLAN_PATH, ticket=TICKET)
        assert first == render(mixed_opt_in, digest=digest, plan_path=PLAN_PATH, ticket=TICKET)
        stamps = set(re.findall(r"\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d)?", first))
        assert stamps == {"2024-05-06T07:08:09"}


# --- HTML ---------------------------------------------------------------------------------------


class Page(HTMLParser):
    """Tags, attributes and text of a page, with a check that every element is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.style = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "style":
            self.style += data
        else:
            self.text.append(data)


def parsed(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    assert page.problems == []
    assert page.stack == [], f"unclosed: {page.stack}"
    return page


def panels(html: str) -> list[str]:
    """The before and after drawings of every packet path, in order."""
    return svgs(html)


def svgs(html: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", html, flags=re.S)


class Strokes(HTMLParser):
    """The stroke colours drawn inside each `<g class="hop ...">` of one diagram."""

    def __init__(self) -> None:
        super().__init__()
        self.hops: list[tuple[str, list[str]]] = []
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "g" and (found.get("class") or "").startswith("hop "):
            self.hops.append((str(found["class"]), []))
            self.depth = 1
        elif tag == "g" and self.depth:
            self.depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if self.depth and tag in {"line", "path"} and found.get("stroke"):
            self.hops[-1][1].append(str(found["stroke"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "g" and self.depth:
            self.depth -= 1


def strokes(svg: str) -> list[tuple[str, list[str]]]:
    parser = Strokes()
    parser.feed(svg)
    return parser.hops


@pytest.mark.parametrize("name", ["seed", "mixed", "mixed_opt_in"])
def test_html_is_one_well_formed_self_contained_page(name: str, request: Any) -> None:
    the_plan: Plan = request.getfixturevalue(name)
    html = render_html(the_plan, digest=digest_of(the_plan), plan_path=PLAN_PATH, ticket=TICKET)
    page = parsed(html)
    assert html.startswith("<!DOCTYPE html>")
    tags = [tag for tag, _ in page.tags]
    # A before and an after drawing per kind of path; each changed virtual server is drawn or
    # named under the drawing of its kind.
    assert tags.count("svg") == 2 * len(the_plan.paths)
    drawn = [v for p in the_plan.paths for v in (p.vserver, *p.alike)]
    assert sorted(drawn) == sorted({c for ch in the_plan.changes for c in ch.vservers})
    assert "link" not in tags
    assert "script" not in tags
    assert "img" not in tags
    assert "iframe" not in tags
    assert "object" not in tags
    for tag, attrs in page.tags:
        for attr in ("src", "href", "xlink:href", "action"):
            assert attr not in attrs, f"<{tag} {attr}=...>"
    assert "@import" not in page.style
    assert "url(" not in page.style
    assert "@font-face" not in page.style
    assert "@page { size: A4; margin: 15mm; }" in page.style
    assert "break-inside: avoid" in page.style
    assert "id=" not in "".join(svgs(html)), "ids would collide between inline diagrams"


def test_html_shows_the_same_facts(seed: Plan, mixed: Plan) -> None:
    digest = digest_of(mixed)
    text = "".join(parsed(render_html(mixed, digest=digest)).text)
    assert digest in text
    assert mixed.snapshot_digest in text
    for change in mixed.changes:
        assert str(change.object) in text
    for refusal in mixed.refusals:
        assert refusal.code in text
        assert refusal.reason in text
    for tasks in mixed.server_tasks:
        assert tasks.address in text
    assert "nsfix rollback <journal printed by apply>" in text
    for role in ("Change owner", "Network", "Application owner", "CAB"):
        assert role in text
    seed_text = "".join(parsed(render_html(seed, digest=digest_of(seed), ticket=TICKET)).text)
    assert "Change ticket: CHG-1234" in seed_text
    assert "nsfix apply <plan-file> --ticket CHG-1234" in seed_text


def test_html_escapes_names_from_the_plan(evil: Plan) -> None:
    html = render_html(evil, digest=digest_of(evil))
    page = parsed(html)
    assert [tag for tag, _ in page.tags if tag in {"script", "b"}] == []
    assert "&lt;script&gt;" in html
    text = "".join(page.text)
    # Shown verbatim once the browser has decoded the escapes.
    assert EVIL_SERVICE in text
    assert EVIL_VSERVER in text
    for svg in svgs(html):
        assert "<script" not in svg
        assert "<b>" not in svg


def test_html_loop_is_red_before_and_gone_after(seed: Plan) -> None:
    before, after = panels(render_html(seed, digest=digest_of(seed)))
    loops = [colours for kind, colours in strokes(before) if kind == "hop loop"]
    assert len(loops) == 2, "the reply to the SNIP and its bounce back"
    assert all(colours == [LOOP_COLOUR] for colours in loops)
    assert 'data-outcome="loop"' in svgs(render_html(seed, digest=digest_of(seed)))[0]
    assert "(loop)" in before
    assert [kind for kind, _ in strokes(after) if kind == "hop loop"] == []
    assert LOOP_COLOUR not in after
    assert "(loop)" not in after
    replies = [colours for kind, colours in strokes(after) if kind == "hop reply"]
    assert replies == [[GREEN], [GREEN]]


def test_html_draws_the_self_loop_when_the_mac_is_not_learned(mixed_opt_in: Plan) -> None:
    html = render_html(mixed_opt_in, digest=digest_of(mixed_opt_in))
    index = next(i for i, p in enumerate(mixed_opt_in.paths) if p.vserver == "vs_script_mon")
    assert mixed_opt_in.paths[index].before.outcome is Outcome.MAC_NOT_LEARNED
    before = panels(html)[2 * index]
    assert 'data-from="netscaler" data-to="netscaler"' in before
    assert [kind for kind, _ in strokes(before)].count("hop loop") == 1
    assert LOOP_COLOUR not in panels(html)[2 * index + 1]


# --- the diagram on its own ---------------------------------------------------------------------


def test_diagram_draws_four_boxes_and_one_arrow_per_hop() -> None:
    snapshot = snapshot_of(load("seed-incident"))
    path = trace(snapshot, "vs_app_dsr", "svc_app_02")
    svg = path_diagram(path, title="vs_app_dsr")
    assert svg.startswith("<svg")
    assert svg.endswith("</svg>")
    assert svg.count('<g class="node"') == 4
    for name in ("Client", "Router", "NetScaler", "Server"):
        assert f">{name}</text>" in svg
    assert len(strokes(svg)) == len(path.hops)
    for hop in path.hops:
        assert f"{hop.src_ip} → {hop.dst_ip}" in svg
    assert "outcome: loop (not healthy)" in svg
    assert "10.10.20.32" in svg
    assert svg == path_diagram(path, title="vs_app_dsr")


def test_diagram_of_a_healthy_path_has_no_red() -> None:
    snapshot = snapshot_of(load("seed-incident"))
    path = trace(snapshot, "vs_files_dsr", snapshot.vservers["vs_files_dsr"].services[0])
    assert path.outcome is Outcome.DIRECT_RETURN
    svg = path_diagram(path, title="files")
    assert LOOP_COLOUR not in svg
    assert [kind for kind, _ in strokes(svg)].count("hop reply") == 2
