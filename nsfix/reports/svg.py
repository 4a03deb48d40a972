"""A packet-path trace as an inline SVG sequence diagram: client, router, NetScaler, server."""

from __future__ import annotations

import textwrap
from collections.abc import Collection
from enum import StrEnum
from html import escape
from typing import Final

from nsfix.flow import CLIENT, NETSCALER, ROUTER, SERVER, Hop, Outcome, Trace


class HopRole(StrEnum):
    """What a hop is to a reader: the request, a healthy reply, a reply gone astray, a loop."""

    REQUEST = "request"
    REPLY = "reply"
    DETOUR = "detour"
    LOOP = "loop"


ROLE_COLOUR: Final = {
    HopRole.REQUEST: "#455a64",
    HopRole.REPLY: "#2e7d32",
    HopRole.DETOUR: "#e65100",
    HopRole.LOOP: "#c62828",
}
ROLE_WIDTH: Final = {
    HopRole.REQUEST: 1.5,
    HopRole.REPLY: 3.0,
    HopRole.DETOUR: 3.0,
    HopRole.LOOP: 3.0,
}
ROLE_LEGEND: Final = {
    HopRole.REQUEST: "request",
    HopRole.REPLY: "reply straight to the client",
    HopRole.DETOUR: "reply or request off the DSR path",
    HopRole.LOOP: "loop",
}
LOOP_COLOUR: Final = ROLE_COLOUR[HopRole.LOOP]

LANES: Final = (CLIENT, ROUTER, NETSCALER, SERVER)
LANE_TITLE: Final = {CLIENT: "Client", ROUTER: "Router", NETSCALER: "NetScaler", SERVER: "Server"}

# Geometry in SVG user units; an A4 page at 15 mm margins is about 680 px wide at 96 dpi, and
# the HTML report scales the drawing down to the page width.
WIDTH: Final = 860
GUTTER: Final = 40
LANE_GAP: Final = 200
BOX_W: Final = 160
BOX_H: Final = 44
BOX_TOP: Final = 28
# Rows as close as an 11-unit label above each arrow allows: a before and an after drawing of
# six hops each fit on two thirds of an A4 page, so a page never ends far from its bottom.
FIRST_ROW: Final = BOX_TOP + BOX_H + 28
ROW_GAP: Final = 25
LINE_GAP: Final = 14
TEXT_CHARS: Final = 135
BOX_CHARS: Final = 26
FONT: Final = 'font-family="Helvetica, Arial, sans-serif"'


def hop_role(trace: Trace, hop: Hop) -> HopRole:
    """Classify one hop of `trace` for drawing; the Markdown report uses the same words."""
    if hop.sender == hop.receiver:
        return HopRole.LOOP
    if hop.phase >= 4:
        if trace.outcome is Outcome.LOOP:
            return HopRole.LOOP
        return HopRole.REPLY if trace.healthy else HopRole.DETOUR
    if trace.outcome is Outcome.ARP_BYPASS and hop.sender == ROUTER and hop.receiver == SERVER:
        return HopRole.DETOUR
    return HopRole.REQUEST


def hop_label(trace: Trace, hop: Hop) -> str:
    """`src → dst`, with the role spelled out where colour alone would not say it."""
    role = hop_role(trace, hop)
    text = f"{hop.src_ip} → {hop.dst_ip}"
    if role is HopRole.LOOP:
        return f"{text} (loop)"
    if role is HopRole.REPLY:
        return f"{text} (reply)"
    if role is HopRole.DETOUR:
        return f"{text} (off path)"
    return text


def outcome_line(trace: Trace) -> str:
    verdict = "healthy" if trace.healthy else "not healthy"
    return f"outcome: {trace.outcome.value} ({verdict})"


def path_diagram(trace: Trace, *, title: str) -> str:
    """One `<svg>` element: the hops of `trace` in phase order, then the outcome and summary."""
    rows = len(trace.hops)
    lifeline_end = FIRST_ROW + max(rows - 1, 0) * ROW_GAP + 20
    roles = [hop_role(trace, hop) for hop in trace.hops]
    caption = _wrap(trace.summary)
    caption_top = lifeline_end + 20
    legend_y = caption_top + LINE_GAP * (len(caption) + 1) + 6
    height = legend_y + 14
    colour = ROLE_COLOUR[HopRole.REPLY] if trace.healthy else ROLE_COLOUR[HopRole.LOOP]
    if not trace.healthy and trace.outcome not in {Outcome.LOOP, Outcome.MAC_NOT_LEARNED}:
        colour = ROLE_COLOUR[HopRole.DETOUR]

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="path-diagram" role="img" '
        f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" {FONT} '
        f'font-size="12" data-outcome="{escape(trace.outcome.value)}">',
        f"<title>{escape(title)}: {escape(outcome_line(trace))}</title>",
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="{GUTTER // 2}" y="20" font-size="14" font-weight="bold" '
        f'fill="#212121">{escape(title)}</text>',
    ]
    for lane in LANES:
        out.append(_node(trace, lane, lifeline_end))
    for index, (hop, role) in enumerate(zip(trace.hops, roles, strict=True)):
        out.append(_hop(trace, hop, role, FIRST_ROW + index * ROW_GAP))
    out.append(
        f'<text x="{GUTTER // 2}" y="{caption_top}" font-weight="bold" '
        f'fill="{colour}">{escape(outcome_line(trace))}</text>'
    )
    for number, line in enumerate(caption, start=1):
        out.append(
            f'<text x="{GUTTER // 2}" y="{caption_top + number * LINE_GAP}" font-size="11" '
            f'fill="#212121">{escape(line)}</text>'
        )
    out.append(_legend(set(roles), legend_y))
    out.append("</svg>")
    return "\n".join(out)


def _lane_x(name: str) -> int:
    index = LANES.index(name) if name in LANES else len(LANES) - 1
    return GUTTER + BOX_W // 2 + 10 + index * LANE_GAP


def _node(trace: Trace, lane: str, lifeline_end: int) -> str:
    x = _lane_x(lane)
    left = x - BOX_W // 2
    fill = "#e3f2fd" if lane == NETSCALER else "#ffffff"
    detail = _shorten(_node_detail(trace, lane))
    return (
        f'<g class="node" data-node="{lane}">'
        f'<line x1="{x}" y1="{BOX_TOP + BOX_H}" x2="{x}" y2="{lifeline_end}" stroke="#b0bec5" '
        f'stroke-width="1" stroke-dasharray="4 4"/>'
        f'<rect x="{left}" y="{BOX_TOP}" width="{BOX_W}" height="{BOX_H}" rx="6" fill="{fill}" '
        f'stroke="#37474f" stroke-width="1.5"/>'
        f'<text x="{x}" y="{BOX_TOP + 18}" text-anchor="middle" font-weight="bold" '
        f'fill="#212121">{LANE_TITLE[lane]}</text>'
        f'<text x="{x}" y="{BOX_TOP + 35}" text-anchor="middle" font-size="11" '
        f'fill="#37474f">{escape(detail)}</text>'
        "</g>"
    )


def _node_detail(trace: Trace, lane: str) -> str:
    first = trace.hops[0] if trace.hops else None
    if lane == CLIENT:
        return first.src_ip if first is not None else ""
    if lane == ROUTER:
        return "default gateway"
    if lane == NETSCALER:
        return f"VIP {first.dst_ip}" if first is not None else ""
    return trace.backend_address or "no address"


def _hop(trace: Trace, hop: Hop, role: HopRole, y: int) -> str:
    colour = ROLE_COLOUR[role]
    width = ROLE_WIDTH[role]
    label = escape(hop_label(trace, hop))
    x1, x2 = _lane_x(hop.sender), _lane_x(hop.receiver)
    head = [
        f'<g class="hop {role.value}" data-phase="{hop.phase}" data-from="{escape(hop.sender)}" '
        f'data-to="{escape(hop.receiver)}">',
        f"<title>{escape(f'{hop.phase}. {hop.sender} → {hop.receiver}: {hop.note}')}</title>",
        f'<text x="{GUTTER // 2}" y="{y + 4}" text-anchor="middle" font-weight="bold" '
        f'fill="{colour}">{hop.phase}</text>',
    ]
    if x1 == x2:
        # A frame the NetScaler sends to itself: a loop out to the right and back.
        reach = 46
        body = [
            f'<path d="M {x1} {y - 9} H {x1 + reach} V {y + 9} H {x1 + 9}" fill="none" '
            f'stroke="{colour}" stroke-width="{width}"/>',
            _arrowhead(x1, y + 9, -1, colour),
            f'<text x="{x1 + reach + 6}" y="{y + 4}" fill="{colour}" font-size="11" '
            f"{_HALO}>{label}</text>",
        ]
    else:
        direction = 1 if x2 > x1 else -1
        body = [
            f'<line x1="{x1}" y1="{y}" x2="{x2 - direction * 8}" y2="{y}" stroke="{colour}" '
            f'stroke-width="{width}"/>',
            _arrowhead(x2, y, direction, colour),
            f'<text x="{(x1 + x2) // 2}" y="{y - 7}" text-anchor="middle" fill="{colour}" '
            f'font-size="11" {_HALO}>{label}</text>',
        ]
    return "".join([*head, *body, "</g>"])


_HALO: Final = 'stroke="#ffffff" stroke-width="4" paint-order="stroke"'


def _arrowhead(x: int, y: int, direction: int, colour: str) -> str:
    back = x - direction * 10
    return (
        f'<polygon points="{x},{y} {back},{y - 5} {back},{y + 5}" fill="{colour}" '
        f'stroke="{colour}" stroke-width="1"/>'
    )


def _legend(roles: Collection[HopRole], y: int) -> str:
    parts = ['<g class="legend">']
    x = GUTTER // 2
    for role in HopRole:
        if role not in roles:
            continue
        colour = ROLE_COLOUR[role]
        parts.append(
            f'<line x1="{x}" y1="{y - 4}" x2="{x + 24}" y2="{y - 4}" stroke="{colour}" '
            f'stroke-width="{ROLE_WIDTH[role]}"/>'
            f'<text x="{x + 30}" y="{y}" font-size="11" fill="#212121">{ROLE_LEGEND[role]}</text>'
        )
        x += 60 + 6 * len(ROLE_LEGEND[role])
    parts.append("</g>")
    return "".join(parts)


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, width=TEXT_CHARS) or [""]


def _shorten(text: str) -> str:
    return text if len(text) <= BOX_CHARS else text[: BOX_CHARS - 1] + "…"
