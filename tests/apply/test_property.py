"""Property: for generated appliances, apply and then rollback leave the configuration as it was."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

from mocks import generate as g
from mocks.appliance import Appliance
from mocks.fixtures import start_mock
from tests.apply.helpers import (
    cli_env,
    comparable,
    config_diff,
    journal_files,
    run_main,
    scenario,
    with_users,
)

MODES = ("MAC", "IP", "IPTUNNEL", "TOS")
SUBNETS = ("10.61.0", "10.62.0")
# Read-only echoes of the bound service on a vserver binding: not configuration, and the mock
# keeps whatever a scenario file gave for them while a fresh bind stores none.
BINDING_ECHOES = frozenset(
    {
        "ipv46",
        "port",
        "servicetype",
        "curstate",
        "dynamicweight",
        "vsvrbindsvcip",
        "vsvrbindsvcport",
    }
)


@st.composite
def appliances(draw: st.DrawFn) -> dict[str, Any]:
    """A small appliance: DSR and proxy vservers, services (some shared), maybe groups."""
    # vs_0 is DSR with svc_0 (usip NO) on it alone, so that every plan has something to do.
    first = draw(st.sampled_from(MODES[:1] + MODES[2:]))
    modes = [first, *draw(st.lists(st.sampled_from(MODES), max_size=3))]
    vservers = []
    vips = []
    for v, mode in enumerate(modes):
        vip = f"203.0.113.{v + 1}"
        vservers.append(
            g.lbvserver_record(
                f"vs_{v}_{mode.lower()}",
                vip,
                g.ANY_PORT,
                "ANY",
                mode,
                tosid=str(v + 1) if mode == "TOS" else None,
                lbmethod="ROUNDROBIN",
            )
        )
        vips.append(g.nsip_record(vip, "255.255.255.255", "VIP"))
    services, servers, bindings, monitors = [], [], [], []
    for i in range(draw(st.integers(1, 5))):
        usip = "NO" if i == 0 else draw(st.sampled_from(("YES", "NO")))
        address = f"{draw(st.sampled_from(SUBNETS))}.{i + 10}"
        service = g.service_record(
            f"svc_{i}",
            f"srv_{i}",
            address,
            g.ANY_PORT,
            "ANY",
            usip,
            "NO" if usip == "YES" else "YES",
        )
        services.append(service)
        servers.append(g.server_record(f"srv_{i}", address))
        monitors.append(g.service_monitor_binding(service["name"], "mon_ping"))
        # Some services are shared between two vservers (possibly a DSR and a proxy one).
        bound = (
            [0]
            if i == 0
            else draw(st.lists(st.integers(0, len(modes) - 1), min_size=1, max_size=2, unique=True))
        )
        bindings += [g.vserver_service_binding(vservers[v]["name"], service) for v in bound]
    if draw(st.booleans()):
        # A service shared by the DSR vs_0 and a proxy-mode vserver: refused, or copied with
        # --dedicated-copies (add, bind, unbind: the other kinds of change).
        vservers.append(g.lbvserver_record("vs_proxy", "203.0.113.99", g.ANY_PORT, "ANY", "IP"))
        vips.append(g.nsip_record("203.0.113.99", "255.255.255.255", "VIP"))
        shared = g.service_record(
            "svc_shared", "srv_shared", f"{SUBNETS[0]}.99", g.ANY_PORT, "ANY", "NO", "YES"
        )
        services.append(shared)
        servers.append(g.server_record("srv_shared", f"{SUBNETS[0]}.99"))
        monitors.append(g.service_monitor_binding("svc_shared", "mon_ping"))
        bindings += [
            g.vserver_service_binding(vs, shared) for vs in ("vs_0_" + first.lower(), "vs_proxy")
        ]
    groups, members, group_bindings, group_monitors = [], [], [], []
    for j in range(draw(st.integers(0, 2))):
        usip = draw(st.sampled_from(("YES", "NO")))
        name = f"sg_{j}"
        groups.append(g.servicegroup_record(name, "ANY", usip, "NO" if usip == "YES" else "YES"))
        for m in range(draw(st.integers(1, 2))):
            address = f"{SUBNETS[m % 2]}.{100 + 10 * j + m}"
            servers.append(g.server_record(f"srv_g{j}_{m}", address))
            members.append(g.member_record(name, address, f"srv_g{j}_{m}", g.ANY_PORT))
        v = draw(st.integers(0, len(modes) - 1))
        group_bindings.append(g.vserver_servicegroup_binding(vservers[v]["name"], name))
        group_monitors.append(g.servicegroup_monitor_binding(name, "mon_ping"))
    return with_users(
        {
            "_mock": g.mock_settings(),
            "nsversion": g.nsversion_record(),
            "nsconfig": g.nsconfig_record("10.255.0.10"),
            "nsmode": g.nsmode_record(),
            "hanode": [g.hanode_record("0", "10.255.0.10", "Primary")],
            "nspartition": [],
            "nsip": [
                g.nsip_record("10.255.0.10", "255.255.255.0", "NSIP"),
                *(g.nsip_record(f"{s}.1", "255.255.255.0", "SNIP") for s in SUBNETS),
                *vips,
            ],
            "lbvserver": vservers,
            "service": services,
            "servicegroup": groups,
            "servicegroup_servicegroupmember_binding": members,
            "lbvserver_service_binding": bindings,
            "lbvserver_servicegroup_binding": group_bindings,
            "server": servers,
            "lbmonitor": [*g.builtin_monitors(), g.lbmonitor_record("mon_ping", "PING")],
            "service_lbmonitor_binding": monitors,
            "servicegroup_lbmonitor_binding": group_monitors,
        }
    )


def configuration(appliance: Appliance) -> dict[str, Any]:
    """The default partition as a set of objects: order of records and read-only echoes aside."""
    config = comparable(appliance.config())
    out: dict[str, Any] = {}
    for resource, value in config.items():
        if isinstance(value, list):
            if resource == "lbvserver_service_binding":
                value = [{k: v for k, v in r.items() if k not in BINDING_ECHOES} for r in value]
            value = sorted(json.dumps(r, sort_keys=True) for r in value)
        out[resource] = value
    return {"default": out}


def plan_apply_roll_back(data: dict[str, Any], plan_flags: list[str]) -> tuple[int, int, int]:
    """Serve `data`, plan, apply, roll back; returns the three exit codes."""
    mock = start_mock(data)
    try:
        with tempfile.TemporaryDirectory() as folder:
            journals = Path(folder) / "journals"
            plan_path = Path(folder) / "plan.json"
            before = configuration(mock.appliance)
            made = run_main(
                ["plan", "-o", str(plan_path), *plan_flags], cli_env(journals, mock.url)
            )
            assert made.code == 0, made.err
            applied = run_main(
                ["apply", str(plan_path), "--yes", "--settle", "0"], cli_env(journals)
            )
            changes = json.loads(plan_path.read_text())["plan"]["changes"]
            assert changes
            for verb in sorted({c["operation"]["verb"] for c in changes}):
                if currently_in_test_context():
                    event(f"plan has {verb}")
            assert applied.code == 0, applied.out + applied.err
            assert configuration(mock.appliance) != before
            [journal] = journal_files(journals)
            undone = run_main(
                ["rollback", str(journal), "--yes", "--settle", "0"], cli_env(journals)
            )
            assert undone.code == 0, undone.out + undone.err
            after = configuration(mock.appliance)
            assert after == before, "\n".join(config_diff(before, after))
            return made.code, applied.code, undone.code
    finally:
        mock.stop()


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=appliances(), dedicated=st.booleans())
def test_apply_then_rollback_is_the_identity(data: dict[str, Any], dedicated: bool) -> None:
    plan_apply_roll_back(data, ["--dedicated-copies"] if dedicated else [])


def test_rolling_back_a_dedicated_copy_restores_the_binding_weight() -> None:
    data = scenario("mixed")
    for binding in data["lbvserver_service_binding"]:
        if binding["servicename"] == "svc_shared_01":
            binding["weight"] = "5"
    plan_apply_roll_back(data, ["--dedicated-copies"])
