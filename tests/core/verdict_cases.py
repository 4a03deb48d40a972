"""Build an appliance from one row of docs/verdicts.md, and say what nsfix decides about it.

The words of each column are a small vocabulary (see VOCABULARY); a row is turned into NITRO
records, audited with the shipped playbook and planned, and the decision is summed up in the
same words the document uses, so the document can be checked against the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from nsfix.findings import Severity
from nsfix.model import build_snapshot
from nsfix.operations import make_plan, run_audit
from nsfix.planner import PlanOptions
from nsfix.rules.engine import parse_playbook

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = parse_playbook((ROOT / "playbooks/dsr-source-ip.yaml").read_text(), "dsr-source-ip.yaml")
TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)

VOCABULARY = {
    "mode": ("IP", "MAC", "IPTUNNEL", "TOS", "missing", "bogus"),
    "backend": ("service", "group", "group+domain-member", "group+far-member"),
    "reach": (
        "on-link",
        "off-link",
        "other-td-snip",
        "vserver-other-td",
        "ipv6-on-link",
        "ipv6-off-link",
    ),
    "ha": ("standalone", "primary", "secondary", "unknown", "claiming", "no-hanode"),
    "shared": ("-", "proxy"),
    "usip": ("NO", "YES", "unset/global-off", "unset/global-on", "unset/global-unknown"),
    "data": ("valid", "bad-address"),
}


@dataclass(frozen=True)
class Case:
    mode: str
    backend: str
    reach: str
    ha: str
    shared: str
    usip: str
    data: str


@dataclass(frozen=True)
class Decision:
    findings: str
    """The rule ids of the active findings at warning or above, sorted, or `-`."""
    plan: str
    """`change`, `refused <code>` or `-` (nothing for nsfix to do)."""


def records(case: Case) -> dict[str, Any]:
    v6 = case.reach.startswith("ipv6")
    far = case.reach in {"off-link", "ipv6-off-link"}
    address = {
        (False, False): "10.20.0.21",
        (False, True): "172.16.50.21",
        (True, False): "2001:db8:20::21",
        (True, True): "2001:db8:99::21",
    }[(v6, far)]
    td_backend = 5 if case.reach in {"other-td-snip"} else 0
    td_vserver = 3 if case.reach == "vserver-other-td" else td_backend
    raw: dict[str, Any] = {
        "nshostname": {"hostname": "ns-lab"},
        "nsmode": {"mbf": True},
        "nsip": [{"ipaddress": "10.20.0.5", "netmask": "255.255.255.0", "type": "SNIP"}],
        "nsip6": [{"ipv6address": "2001:db8:20::5/64", "type": "SNIP"}],
        "lbvserver": [],
        "service": [],
        "lbvserver_service_binding": [],
    }
    if not case.usip.endswith("global-unknown"):
        raw["nsmode"]["usip"] = case.usip.endswith("global-on")
    raw["hanode"] = {
        "standalone": [{"id": 0, "ipaddress": "192.0.2.11", "state": "UNKNOWN"}],
        "primary": [
            {"id": 0, "ipaddress": "192.0.2.11", "state": "Primary"},
            {"id": 1, "ipaddress": "192.0.2.12", "state": "Secondary"},
        ],
        "secondary": [
            {"id": 0, "ipaddress": "192.0.2.11", "state": "Secondary"},
            {"id": 1, "ipaddress": "192.0.2.12", "state": "Primary"},
        ],
        "unknown": [
            {"id": 0, "ipaddress": "192.0.2.11", "state": "UNKNOWN"},
            {"id": 1, "ipaddress": "192.0.2.12", "state": "Primary"},
        ],
        "claiming": [
            {"id": 0, "ipaddress": "192.0.2.11", "state": "Claiming"},
            {"id": 1, "ipaddress": "192.0.2.12", "state": "Primary"},
        ],
        "no-hanode": [],
    }[case.ha]
    vserver: dict[str, Any] = {
        "name": "vs_dsr",
        "ipv46": "2001:db8:100::10" if v6 else "198.51.100.10",
        "port": 65535,
        "servicetype": "ANY",
        "state": "ENABLED",
        "curstate": "UP",
        "td": td_vserver,
    }
    if case.mode == "TOS":
        vserver["tosid"] = 7
    if case.mode != "missing":
        vserver["m"] = "SOMETHING" if case.mode == "bogus" else case.mode
    raw["lbvserver"].append(vserver)
    flags: dict[str, Any] = {"useproxyport": "YES", "state": "ENABLED", "td": td_backend}
    if not case.usip.startswith("unset"):
        flags["usip"] = case.usip
    shown = "10.20.0.999" if case.data == "bad-address" else address
    if case.backend == "service":
        raw["service"].append(
            {
                "name": "svc",
                "ipaddress": shown,
                "port": 65535,
                "servicetype": "ANY",
                "svrstate": "UP",
                **flags,
            }
        )
        raw["lbvserver_service_binding"].append({"name": "vs_dsr", "servicename": "svc"})
        bound = ("lbvserver_service_binding", {"servicename": "svc"})
    else:
        raw["servicegroup"] = [
            {
                "servicegroupname": "svc",
                "servicetype": "ANY",
                "servicegroupeffectivestate": "UP",
                **flags,
            }
        ]
        members: list[dict[str, Any]] = [{"ip": shown}]
        if case.backend == "group+far-member":
            members.append({"ip": "172.16.50.22"})
        if case.backend == "group+domain-member":
            members.append({"servername": "web-dns"})
            raw["server"] = [{"name": "web-dns", "domain": "web.example.test"}]
        raw["servicegroup_servicegroupmember_binding"] = [
            {"servicegroupname": "svc", "port": 65535, "state": "ENABLED", "svrstate": "UP", **m}
            for m in members
        ]
        raw["lbvserver_servicegroup_binding"] = [{"name": "vs_dsr", "servicegroupname": "svc"}]
        bound = ("lbvserver_servicegroup_binding", {"servicegroupname": "svc"})
    if case.shared == "proxy":
        raw["lbvserver"].append(
            {
                "name": "vs_proxy",
                "ipv46": "198.51.100.20",
                "port": 80,
                "servicetype": "HTTP",
                "m": "IP",
                "td": td_vserver,
            }
        )
        raw.setdefault(bound[0], []).append({"name": "vs_proxy", **bound[1]})
    return raw


def decide(case: Case) -> Decision:
    snapshot = build_snapshot(records(case), url="https://ns", collected_at=NOW)
    audit = run_audit(snapshot, [PLAYBOOK], (), None, today=TODAY)
    the_plan = make_plan(snapshot, audit, None, PlanOptions())
    rules = sorted({f.rule for f in audit.active() if f.severity.at_least(Severity.WARNING)})
    if the_plan.changes:
        plan = "change"
    elif the_plan.refusals:
        plan = "refused " + ", ".join(sorted({r.code.value for r in the_plan.refusals}))
    else:
        plan = "-"
    return Decision(", ".join(rules) or "-", plan)
