"""A packet path before and after a change as one figure: drawn in HTML, listed in Markdown."""

from __future__ import annotations

from nsfix.flow import Trace
from nsfix.reports.document import Block, Bullets, CodeBlock, Figure, Paragraph, Strong
from nsfix.reports.svg import HopRole, hop_role, outcome_line, path_diagram
from nsfix.reports.text import aligned


def hop_lines(trace: Trace) -> list[str]:
    """The hops of a trace as aligned text columns, for text renderings."""
    header = ("#", "from", "to", "source -> destination", "path")
    rows = []
    for hop in trace.hops:
        role = hop_role(trace, hop)
        # Upper case so that a loop stands out in a monochrome text block too.
        word = role.value.upper() if role is HopRole.LOOP else role.value
        label = f"{hop.src_ip} -> {hop.dst_ip}"
        rows.append((str(hop.phase), hop.sender, hop.receiver, label, word))
    return aligned([header, *rows])


def path_text(label: str, trace: Trace) -> tuple[Block, ...]:
    """One trace for a reader without the drawing: outcome, the hops as a text block,
    and the assumptions the trace rests on."""
    usip = "unknown" if trace.usip is None else ("YES" if trace.usip else "NO")
    heading = (
        f"{label.upper()}: {trace.vserver} -> {trace.backend} "
        f"({trace.backend_address or 'no address'}), mode {trace.mode}, usip {usip}"
    )
    body = (heading, *("  " + line for line in hop_lines(trace)), outcome_line(trace))
    out: list[Block] = [
        Paragraph((Strong(label), f": {outcome_line(trace)}: {trace.summary}")),
        CodeBlock(body),
    ]
    if trace.assumptions:
        out.append(Paragraph(("Assumptions:",)))
        out.append(Bullets(tuple((a,) for a in trace.assumptions)))
    return tuple(out)


def caption(label: str, trace: Trace) -> str:
    """What a drawing shows that the heading above it (virtual server → backend) does not: the
    setting the path depends on, `Before the change: MAC mode, usip NO`."""
    usip = "unknown" if trace.usip is None else ("YES" if trace.usip else "NO")
    return f"{label} the change: {trace.mode} mode, usip {usip}"


def before_after(before: Trace, after: Trace) -> Figure:
    """One virtual server's path through one backend, before and after: two drawings, each kept
    whole on paper, that a page may part (one pair is most of a page: kept together, it would
    leave the page before it a third blank)."""
    assumptions = tuple((a,) for a in dict.fromkeys([*before.assumptions, *after.assumptions]))
    drawings = (
        path_diagram(before, title=caption("Before", before)),
        path_diagram(after, title=caption("After", after)),
    )
    return Figure(
        svg="\n".join(drawings),
        text=(*path_text("Before", before), *path_text("After", after)),
        notes=Bullets(assumptions, style="assumptions") if assumptions else None,
        style="path pair",
    )
