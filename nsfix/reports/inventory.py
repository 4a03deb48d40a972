"""The inventory as a stable JSON document, as plain text for pipes, and as a terminal table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from nsfix.canonical import jsonable
from nsfix.model import (
    DSR_MODES,
    LbVserver,
    Service,
    ServiceGroup,
    Snapshot,
)
from nsfix.reports.text import aligned, text_lines, visible
from nsfix.resources import WILDCARD_PORT

SCHEMA: Final = "nsfix.inventory"
SCHEMA_VERSION: Final = 1


def inventory_document(snapshot: Snapshot) -> dict[str, Any]:
    """The `--json` output; its shape is documented in docs/inventory-json.md."""
    vservers = []
    for vs in ordered_vservers(snapshot):
        item = jsonable(vs)
        item["dsr"] = vs.is_dsr
        vservers.append(item)
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "collected_at": snapshot.collected_at.isoformat(),
        "appliance": jsonable(snapshot.appliance),
        "modes": jsonable(snapshot.modes),
        "snips": jsonable(snapshot.snips),
        "lbvservers": vservers,
        "services": [jsonable(s) for s in sorted(snapshot.services.values(), key=_name)],
        "servicegroups": [jsonable(g) for g in sorted(snapshot.servicegroups.values(), key=_name)],
        "servers": [jsonable(s) for s in sorted(snapshot.servers.values(), key=_name)],
        "monitors": [jsonable(m) for m in sorted(snapshot.monitors.values(), key=_name)],
        "defects": jsonable(snapshot.defects),
        "counts": {
            "lbvservers": len(snapshot.vservers),
            "dsr_lbvservers": len(snapshot.dsr_vservers()),
            "services": len(snapshot.services),
            "servicegroups": len(snapshot.servicegroups),
            "servicegroup_members": sum(len(g.members) for g in snapshot.servicegroups.values()),
            "snips": len(snapshot.snips),
            "defects": len(snapshot.defects),
            "requests": snapshot.requests,
        },
    }


def _name(item: Any) -> str:
    return str(item.name)


def ordered_vservers(snapshot: Snapshot) -> list[LbVserver]:
    """DSR virtual servers first (they are what nsfix is about), then the rest, by name."""
    return sorted(snapshot.vservers.values(), key=lambda vs: (not vs.is_dsr, vs.name))


@dataclass(frozen=True)
class Row:
    """One line of the inventory table; `depth` 0 is a vserver, 1 a backend, 2 a group member."""

    depth: int
    kind: str
    name: str
    mode: str
    address: str
    servicetype: str
    usip: str
    useproxyport: str
    state: str
    monitors: str


COLUMNS: Final = ("Object", "Mode", "Address", "Type", "usip", "useproxyport", "State", "Monitors")


def yes_no(value: bool | None) -> str:
    return "-" if value is None else ("YES" if value else "NO")


def usip_word(obj: Service | ServiceGroup) -> str:
    """The effective usip; `(global)` when the object leaves it to the global USIP mode."""
    word = yes_no(obj.effective_usip)
    return f"{word} (global)" if obj.usip_inherited else word


def endpoint(address: str, port: int | None) -> str:
    shown = "*" if port == WILDCARD_PORT else ("?" if port is None else str(port))
    host = address or "?"
    return f"[{host}]:{shown}" if ":" in host and "/" not in host else f"{host}:{shown}"


def service_row(service: Service, depth: int) -> Row:
    return Row(
        depth,
        "service",
        service.name,
        "",
        endpoint(service.address_text, service.port),
        service.servicetype,
        usip_word(service),
        yes_no(service.useproxyport),
        service.svrstate if service.state == "ENABLED" else service.state,
        ", ".join(service.monitors) or "(default)",
    )


def group_rows(group: ServiceGroup, depth: int) -> list[Row]:
    rows = [
        Row(
            depth,
            "servicegroup",
            group.name,
            "",
            f"{len(group.members)} members",
            group.servicetype,
            usip_word(group),
            yes_no(group.useproxyport),
            group.effective_state if group.state == "ENABLED" else group.state,
            ", ".join(group.monitors) or "(default)",
        )
    ]
    for member in group.members:
        label = member.servername or member.address_text or "?"
        rows.append(
            Row(
                depth + 1,
                "member",
                label,
                "",
                endpoint(member.address_text, member.port),
                "",
                "",
                "",
                member.svrstate if member.state == "ENABLED" else member.state,
                "",
            )
        )
    return rows


def inventory_rows(snapshot: Snapshot) -> list[Row]:
    rows: list[Row] = []
    bound_services: set[str] = set()
    bound_groups: set[str] = set()
    for vs in ordered_vservers(snapshot):
        mode = vs.m or f"?{vs.m_text}"
        if vs.m == "TOS" and vs.tosid:
            mode = f"TOS {vs.tosid}"
        rows.append(
            Row(
                0,
                "lbvserver",
                vs.name,
                mode,
                endpoint(vs.vip_text, vs.port),
                vs.servicetype,
                "",
                "",
                vs.curstate if vs.state == "ENABLED" else vs.state,
                "",
            )
        )
        for name in vs.services:
            bound_services.add(name)
            service = snapshot.services.get(name)
            if service is None:
                rows.append(Row(1, "service", name, "", "(missing)", "", "", "", "", ""))
            else:
                rows.append(service_row(service, 1))
        for name in vs.servicegroups:
            bound_groups.add(name)
            group = snapshot.servicegroups.get(name)
            if group is None:
                rows.append(Row(1, "servicegroup", name, "", "(missing)", "", "", "", "", ""))
            else:
                rows.extend(group_rows(group, 1))
    for service in sorted(snapshot.services.values(), key=_name):
        if service.name not in bound_services:
            rows.append(service_row(service, 0))
    for group in sorted(snapshot.servicegroups.values(), key=_name):
        if group.name not in bound_groups:
            rows.extend(group_rows(group, 0))
    return rows


def row_label(row: Row) -> str:
    prefix = "  " * row.depth
    kind = "" if row.kind == "lbvserver" else f"{row.kind} "
    return f"{prefix}{kind}{row.name}"


def row_cells(row: Row) -> tuple[str, ...]:
    return (
        row_label(row),
        row.mode,
        row.address,
        row.servicetype,
        row.usip,
        row.useproxyport,
        row.state,
        row.monitors,
    )


def summary_lines(snapshot: Snapshot) -> list[str]:
    facts = snapshot.appliance
    modes = snapshot.modes
    saved = {None: "unknown", True: "UNSAVED changes", False: "saved"}[facts.config_changed]
    peers = f" (peer {', '.join(facts.ha_peers)})" if facts.ha_peers else ""
    snips = ", ".join(f"{s.address}/{s.network.prefixlen}" for s in snapshot.snips) or "none"
    return [
        f"Appliance  {facts.hostname or '?'} at {facts.url}  "
        f"{facts.release or facts.version or 'version unknown'}",
        f"HA role    {facts.ha_role}{peers}",
        f"Partition  {facts.partition}"
        + (f"  (partitions: {', '.join(facts.partitions)})" if facts.partitions else ""),
        f"Config     {saved}",
        f"Modes      USIP {yes_no(modes.usip)}  MBF {yes_no(modes.mbf)}  L2 {yes_no(modes.l2)}"
        f"  USNIP {yes_no(modes.usnip)}",
        f"SNIPs      {snips}",
    ]


def count_line(snapshot: Snapshot) -> str:
    members = sum(len(g.members) for g in snapshot.servicegroups.values())
    return (
        f"{len(snapshot.vservers)} lbvservers ({len(snapshot.dsr_vservers())} DSR), "
        f"{len(snapshot.services)} services, {len(snapshot.servicegroups)} service groups "
        f"({members} members), {len(snapshot.defects)} data defects, "
        f"{snapshot.requests} requests"
    )


def defect_lines(snapshot: Snapshot) -> list[str]:
    return [
        f"  {d.resource} '{visible(d.name)}': {d.attribute}='{visible(d.value)}': {d.problem}"
        for d in snapshot.defects
    ]


def render_text(snapshot: Snapshot) -> str:
    """Plain aligned columns for pipes and logs: no colour, no box drawing."""
    lines = summary_lines(snapshot)
    lines.append("")
    lines.extend(aligned([COLUMNS, *(row_cells(r) for r in inventory_rows(snapshot))]))
    if snapshot.defects:
        lines.append("")
        lines.append("Data defects (reported, not fatal):")
        lines.extend(defect_lines(snapshot))
    lines.append("")
    lines.append(count_line(snapshot))
    return text_lines(lines)


def render_rich(snapshot: Snapshot) -> list[Any]:
    """Renderables for a terminal: the same rows as `render_text`, with DSR problems in colour,
    as a table that stacks (one block per object, in tree order) when it does not fit."""
    from rich.text import Text

    from nsfix.reports.terminal import FitTable, Prose

    header = [Prose(line, hanging=11) for line in map(visible, summary_lines(snapshot))]
    rows: list[list[Text]] = []
    under_dsr = False
    for row in inventory_rows(snapshot):
        if row.depth == 0:
            under_dsr = row.kind == "lbvserver" and row.mode.split(" ")[0] in DSR_MODES
        # Text cells, not markup: object names may contain "[" and must print verbatim.
        cells = [Text(visible(c)) for c in row_cells(row)]
        if row.kind == "lbvserver":
            for cell in cells:
                cell.stylize("bold" if under_dsr else "")
        if row.mode.startswith("?"):
            cells[1].stylize("yellow")
        if under_dsr and row.usip.startswith("NO"):
            cells[4].stylize("bold red")
        rows.append(cells)
    table = FitTable(COLUMNS, rows, title="Load balancing")
    out: list[Any] = [*header, table]
    if snapshot.defects:
        out.append(Text("Data defects (reported, not fatal):", style="yellow"))
        out.extend(Prose(line, indent=0, hanging=4) for line in defect_lines(snapshot))
    out.append(Prose(count_line(snapshot), "dim"))
    return out
