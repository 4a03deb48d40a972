"""The packet-path model: where a request goes and where the server's reply ends up."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nsfix.flow import (
    DEFAULT_CLIENT_IP,
    BackendOverride,
    Outcome,
    Trace,
    render_trace,
    trace,
    trace_vserver,
)
from nsfix.model import REDIRECTION_MODES, Snapshot, build_snapshot
from nsfix.serverfacts import ServerFact, ServerFacts

NOW = datetime(2026, 11, 26, tzinfo=UTC)
VIP = "198.51.100.10"
SNIP = "10.20.0.5"
SERVER = "10.20.0.21"
REMOTE = "10.99.0.21"  # outside every SNIP subnet
ROUTER_GW = "10.20.0.1"
CLIENT = DEFAULT_CLIENT_IP


def records(
    *,
    m: str = "MAC",
    usip: str | None = "NO",
    useproxyport: str = "YES",
    address: str = SERVER,
    monitors: tuple[tuple[str, str], ...] = (("ping-dsr", "PING"),),
    tosid: int | None = None,
    vip: str = VIP,
    global_usip: bool | None = False,
    healthmonitor: str = "YES",
    vs_state: str = "ENABLED",
) -> dict[str, Any]:
    """One vserver `vs` with one service `svc` (the write-up's set-up by default)."""
    vserver: dict[str, Any] = {
        "name": "vs",
        "ipv46": vip,
        "port": 65535,
        "servicetype": "ANY",
        "m": m,
        "state": vs_state,
    }
    if tosid is not None:
        vserver["tosid"] = tosid
    service: dict[str, Any] = {
        "name": "svc",
        "ipaddress": address,
        "port": 65535,
        "servicetype": "ANY",
        "useproxyport": useproxyport,
        "healthmonitor": healthmonitor,
        "state": "ENABLED",
    }
    if usip is not None:
        service["usip"] = usip
    return {
        "nsmode": {"usip": global_usip, "usnip": True},
        "nsip": [
            {"ipaddress": "10.0.0.11", "netmask": "255.255.255.0", "type": "NSIP"},
            {"ipaddress": SNIP, "netmask": "255.255.255.0", "type": "SNIP"},
            {"ipaddress": "2001:db8:20::5", "netmask": "64", "type": "SNIP"},
        ],
        "lbvserver": [vserver],
        "lbvserver_service_binding": [{"name": "vs", "servicename": "svc"}],
        "service": [service],
        "lbmonitor": [{"monitorname": name, "type": kind} for name, kind in monitors],
        "service_lbmonitor_binding": [{"name": "svc", "monitor_name": n} for n, _ in monitors],
    }


def snapshot(**kwargs: Any) -> Snapshot:
    return build_snapshot(records(**kwargs), url="https://ns.test", collected_at=NOW)


def good_facts(address: str = SERVER, gateway: str = ROUTER_GW, **changes: Any) -> ServerFacts:
    fact = ServerFact(
        address=address,
        loopback_vips=changes.get("loopback_vips", (VIP,)),
        arp_suppressed=changes.get("arp_suppressed", True),
        default_gateway=gateway,
        os="linux",
    )
    return ServerFacts({address: fact})


def phases(result: Trace) -> list[int]:
    return [hop.phase for hop in result.hops]


def test_the_write_ups_incident_loops_back_to_the_netscaler() -> None:
    result = trace(snapshot(), "vs", "svc")
    assert result.outcome is Outcome.LOOP
    assert not result.healthy
    assert (result.mode, result.usip, result.backend_address) == ("MAC", False, SERVER)
    assert phases(result) == [1, 2, 3, 4, 5]
    first, second, forward, reply, after = result.hops
    assert (first.sender, first.receiver, first.src_ip, first.dst_ip) == (
        "client",
        "router",
        CLIENT,
        VIP,
    )
    assert (second.receiver, second.dst_mac) == ("netscaler", "mac(netscaler)")
    # Phase 3: only the MAC is rewritten, the IP stays the VIP, and the source becomes the SNIP.
    assert (forward.src_ip, forward.dst_ip, forward.dst_mac) == (SNIP, VIP, "mac(server)")
    # Phase 4: the server answers the source it saw, which is the NetScaler.
    assert (reply.sender, reply.receiver, reply.src_ip, reply.dst_ip) == (
        "server",
        "netscaler",
        VIP,
        SNIP,
    )
    assert after.phase == 5
    assert "client never gets" in after.note
    assert SNIP in result.summary


def test_usip_yes_as_a_what_if_fixes_the_incident() -> None:
    snap = snapshot()
    result = trace(snap, "vs", "svc", override=BackendOverride(usip=True, useproxyport=False))
    assert result.outcome is Outcome.DIRECT_RETURN
    assert result.healthy
    assert result.usip is True
    forward, reply, delivered = result.hops[2:]
    assert (forward.src_ip, forward.dst_ip) == (CLIENT, VIP)
    assert (reply.sender, reply.receiver, reply.src_ip, reply.dst_ip) == (
        "server",
        "router",
        VIP,
        CLIENT,
    )
    assert (delivered.receiver, delivered.phase) == ("client", 5)
    assert all(hop.receiver != "netscaler" for hop in result.hops[2:])
    # The what-if changes nothing in the snapshot itself.
    assert trace(snap, "vs", "svc").outcome is Outcome.LOOP


def test_healthy_dsr_with_known_server_facts_assumes_nothing() -> None:
    result = trace(snapshot(usip="YES", useproxyport="NO"), "vs", "svc", facts=good_facts())
    assert result.outcome is Outcome.DIRECT_RETURN
    assert result.assumptions == ()


def test_unknown_server_facts_are_listed_not_silently_trusted() -> None:
    result = trace(snapshot(usip="YES"), "vs", "svc")
    assert result.outcome is Outcome.DIRECT_RETURN
    text = " ".join(result.assumptions)
    assert "server facts unknown" in text
    assert "default gateway" in text
    assert "source port" in text  # useproxyport YES is not known to be harmless in DSR


def test_proxy_mode_without_usip_returns_through_the_netscaler() -> None:
    result = trace(snapshot(m="IP", usip="NO"), "vs", "svc")
    assert result.outcome is Outcome.VIA_NETSCALER
    assert result.healthy
    forward = result.hops[2]
    assert (forward.src_ip, forward.dst_ip) == (SNIP, SERVER)
    reply = result.hops[3]
    assert (reply.receiver, reply.src_ip, reply.dst_ip) == ("netscaler", SERVER, SNIP)
    assert result.hops[-1].receiver == "client"
    assert result.hops[-1].src_ip == VIP


def test_proxy_mode_with_usip_and_the_netscaler_as_gateway_is_healthy() -> None:
    result = trace(snapshot(m="IP", usip="YES"), "vs", "svc", facts=good_facts(gateway=SNIP))
    assert result.outcome is Outcome.VIA_NETSCALER
    assert result.healthy
    assert result.hops[2].src_ip == CLIENT
    assert result.hops[3].receiver == "netscaler"
    assert result.assumptions == ()


def test_proxy_mode_with_usip_and_unknown_gateway_says_so() -> None:
    result = trace(snapshot(m="IP", usip="YES"), "vs", "svc")
    assert result.outcome is Outcome.VIA_NETSCALER
    assert any("default gateway" in a for a in result.assumptions)


def test_proxy_mode_with_usip_and_a_router_gateway_is_asymmetric() -> None:
    result = trace(snapshot(m="IP", usip="YES"), "vs", "svc", facts=good_facts())
    assert result.outcome is Outcome.ASYMMETRIC
    assert not result.healthy
    reply, delivered = result.hops[3:]
    assert (reply.receiver, reply.src_ip, reply.dst_ip) == ("router", SERVER, CLIENT)
    # The client sees the server's own address, not the VIP it talked to.
    assert delivered.src_ip == SERVER
    assert "CTX233036" in delivered.note


def test_a_server_answering_arp_for_the_vip_bypasses_the_netscaler() -> None:
    facts = good_facts(arp_suppressed=False)
    result = trace(snapshot(usip="YES"), "vs", "svc", facts=facts)
    assert result.outcome is Outcome.ARP_BYPASS
    assert not result.healthy
    assert all("netscaler" not in (hop.sender, hop.receiver) for hop in result.hops)
    assert (result.hops[1].receiver, result.hops[1].dst_ip) == ("server", VIP)
    looping = trace(snapshot(usip="NO"), "vs", "svc", facts=facts)
    assert looping.outcome is Outcome.ARP_BYPASS
    assert "usip NO" in looping.summary


def test_script_only_monitors_leave_the_mac_unlearned() -> None:
    snap = snapshot(usip="YES", monitors=(("check-app", "USER"), ("check-db", "USER")))
    result = trace(snap, "vs", "svc")
    assert result.outcome is Outcome.MAC_NOT_LEARNED
    forward = result.hops[-1]
    assert (forward.phase, forward.sender, forward.receiver) == (3, "netscaler", "netscaler")
    assert "CTX138969" in forward.note
    assert "check-app" in result.summary
    # Binding a ping monitor (the planned change) lets the NetScaler learn the MAC.
    snap_with_ping = snapshot(usip="YES", monitors=(("check-app", "USER"), ("ping", "PING")))
    assert trace(snap_with_ping, "vs", "svc").outcome is Outcome.DIRECT_RETURN
    fixed = trace(snap_with_ping, "vs", "svc", override=BackendOverride(monitors=("ping",)))
    assert fixed.outcome is Outcome.DIRECT_RETURN
    broken = trace(snap_with_ping, "vs", "svc", override=BackendOverride(monitors=("check-app",)))
    assert broken.outcome is Outcome.MAC_NOT_LEARNED


def test_no_monitor_means_the_default_monitor_learns_the_mac() -> None:
    assert trace(snapshot(usip="YES", monitors=()), "vs", "svc").outcome is Outcome.DIRECT_RETURN


def test_an_unmonitored_service_leaves_the_mac_unlearned() -> None:
    result = trace(snapshot(usip="YES", healthmonitor="NO"), "vs", "svc")
    assert result.outcome is Outcome.MAC_NOT_LEARNED


def test_a_monitor_missing_from_the_snapshot_is_an_assumption() -> None:
    raw = records(usip="YES", monitors=())
    raw["service_lbmonitor_binding"] = [{"name": "svc", "monitor_name": "ghost"}]
    snap = build_snapshot(raw, url="https://ns.test", collected_at=NOW)
    result = trace(snap, "vs", "svc")
    assert result.outcome is Outcome.DIRECT_RETURN
    assert any("ghost" in a for a in result.assumptions)


def test_mac_mode_cannot_reach_a_server_outside_every_snip_subnet() -> None:
    result = trace(snapshot(usip="YES", address=REMOTE), "vs", "svc")
    assert result.outcome is Outcome.NO_LAYER2
    assert result.hops[-1].dst_mac is None
    assert "IPTUNNEL" in result.summary


@pytest.mark.parametrize("address", [SERVER, REMOTE])
def test_iptunnel_with_usip_returns_directly_even_across_routers(address: str) -> None:
    snap = snapshot(m="IPTUNNEL", usip="YES", address=address)
    result = trace(snap, "vs", "svc", facts=good_facts(address=address))
    assert result.outcome is Outcome.DIRECT_RETURN
    outer = result.hops[2]
    assert (outer.src_ip, outer.dst_ip) == (SNIP, address)  # outer header SNIP -> server
    assert CLIENT in outer.note  # the inner packet still comes from the client
    if address == REMOTE:
        assert [h.receiver for h in result.hops if h.phase == 3] == ["router", "server"]


def test_iptunnel_without_usip_loops() -> None:
    result = trace(snapshot(m="IPTUNNEL", usip="NO"), "vs", "svc", facts=good_facts())
    assert result.outcome is Outcome.LOOP
    assert any("IPTUNNEL with usip NO" in a for a in result.assumptions)


@pytest.mark.parametrize("address", [SERVER, REMOTE])
def test_tos_rewrites_the_destination_and_needs_no_layer2(address: str) -> None:
    snap = snapshot(m="TOS", tosid=7, usip="YES", address=address)
    result = trace(snap, "vs", "svc", facts=good_facts(address=address))
    assert result.outcome is Outcome.DIRECT_RETURN
    forward = result.hops[2]
    assert (forward.src_ip, forward.dst_ip) == (CLIENT, address)
    assert "TOS id 7" in forward.note


def test_tos_without_usip_loops() -> None:
    result = trace(snapshot(m="TOS", tosid=7, usip="NO"), "vs", "svc", facts=good_facts())
    assert result.outcome is Outcome.LOOP
    assert result.hops[3].dst_ip == SNIP


def test_tos_without_a_tos_id_is_undetermined() -> None:
    result = trace(snapshot(m="TOS", usip="YES"), "vs", "svc")
    assert result.outcome is Outcome.UNDETERMINED
    assert "TOS id" in result.summary


# The write-up's set-up (usip NO, no server facts) in each mode the model accepts: the walk
# table must know them all.
WRITE_UP_OUTCOMES = {
    "IP": Outcome.VIA_NETSCALER,
    "MAC": Outcome.LOOP,
    "IPTUNNEL": Outcome.LOOP,
    "TOS": Outcome.LOOP,
}


@pytest.mark.parametrize("m", sorted(REDIRECTION_MODES))
def test_every_redirection_mode_the_model_accepts_is_walked(m: str) -> None:
    result = trace(snapshot(m=m, tosid=5), "vs", "svc")
    assert (result.mode, result.outcome) == (m, WRITE_UP_OUTCOMES[m]), render_trace(result)


def test_the_write_ups_non_address_is_undetermined_with_the_reason() -> None:
    result = trace(snapshot(address="333:333:33:333"), "vs", "svc")
    assert result.outcome is Outcome.UNDETERMINED
    assert not result.healthy
    assert "333:333:33:333" in result.summary
    assert phases(result) == [1, 2]


def test_unknown_mode_and_bad_vip_are_undetermined() -> None:
    assert trace(snapshot(m="FOO"), "vs", "svc").outcome is Outcome.UNDETERMINED
    bad_vip = trace(snapshot(vip="not-an-ip"), "vs", "svc")
    assert bad_vip.outcome is Outcome.UNDETERMINED
    assert "not-an-ip" in bad_vip.summary


def test_a_vip_missing_from_the_servers_loopback_is_undetermined() -> None:
    facts = good_facts(loopback_vips=("198.51.100.99",))
    result = trace(snapshot(usip="YES"), "vs", "svc", facts=facts)
    assert result.outcome is Outcome.UNDETERMINED
    assert "loopback" in result.summary


def test_dsr_with_the_netscaler_as_server_gateway_is_not_direct() -> None:
    result = trace(snapshot(usip="YES"), "vs", "svc", facts=good_facts(gateway=SNIP))
    assert result.outcome is Outcome.VIA_NETSCALER
    assert not result.healthy  # healthy only in proxy mode


def test_an_unset_usip_follows_the_global_mode() -> None:
    # A service without -usip follows the global mode (CTX109858): a fact, not an assumption.
    result = trace(snapshot(usip=None, global_usip=True), "vs", "svc")
    assert result.usip is True
    assert result.outcome is Outcome.DIRECT_RETURN
    assert not any("usip" in a for a in result.assumptions)
    inherited_off = trace(snapshot(usip=None, global_usip=False), "vs", "svc")
    assert inherited_off.usip is False
    assert inherited_off.outcome is Outcome.LOOP
    off = trace(snapshot(usip=None, global_usip=None), "vs", "svc")
    assert off.outcome is Outcome.LOOP
    assert any("factory default" in a for a in off.assumptions)


def test_a_disabled_vserver_is_traced_with_a_note() -> None:
    result = trace(snapshot(vs_state="DISABLED"), "vs", "svc")
    assert result.outcome is Outcome.LOOP
    assert any("disabled" in a for a in result.assumptions)


def test_ipv6_vip_gets_an_ipv6_client() -> None:
    snap = snapshot(vip="2001:db8:100::10", address="2001:db8:20::21", usip="YES")
    result = trace(snap, "vs", "svc")
    assert result.outcome is Outcome.DIRECT_RETURN
    assert result.hops[0].src_ip.startswith("2001:db8:")


def test_a_wildcard_vserver_checks_the_loopback_against_its_range() -> None:
    raw = records(usip="YES", useproxyport="NO")
    vserver = raw["lbvserver"][0]
    del vserver["ipv46"]
    vserver.update(ippattern="198.51.100.0", ipmask="255.255.255.0")
    snap = build_snapshot(raw, url="https://ns.test", collected_at=NOW)
    inside = trace(snap, "vs", "svc", facts=good_facts(loopback_vips=("198.51.100.77",)))
    assert inside.outcome is Outcome.DIRECT_RETURN
    assert inside.hops[0].dst_ip == "198.51.100.0/255.255.255.0"
    outside = trace(snap, "vs", "svc", facts=good_facts(loopback_vips=("192.0.2.1",)))
    assert outside.outcome is Outcome.UNDETERMINED


def group_snapshot() -> Snapshot:
    raw = records(usip="NO")
    raw["servicegroup"] = [
        {"servicegroupname": "sg", "servicetype": "ANY", "usip": "NO", "state": "ENABLED"}
    ]
    raw["servicegroup_servicegroupmember_binding"] = [
        {"servicegroupname": "sg", "ip": "10.20.0.41", "port": 65535},
        {"servicegroupname": "sg", "ip": "10.20.0.42", "port": 65535},
        {"servicegroupname": "sg", "ip": "10.99.0.43", "port": 65535},
    ]
    raw["lbvserver_servicegroup_binding"] = [{"name": "vs", "servicegroupname": "sg"}]
    return build_snapshot(raw, url="https://ns.test", collected_at=NOW)


def test_every_member_of_a_bound_group_is_traced() -> None:
    snap = group_snapshot()
    results = trace_vserver(snap, "vs")
    assert [r.backend for r in results] == [
        "svc",
        "sg/10.20.0.41:65535",
        "sg/10.20.0.42:65535",
        "sg/10.99.0.43:65535",
    ]
    assert [r.outcome for r in results] == [
        Outcome.LOOP,
        Outcome.LOOP,
        Outcome.LOOP,
        Outcome.NO_LAYER2,
    ]
    one = trace(snap, "vs", "sg/10.20.0.42:65535")
    assert one == results[2]


def test_a_group_override_applies_to_its_members_only() -> None:
    results = trace_vserver(group_snapshot(), "vs", overrides={"sg": BackendOverride(usip=True)})
    assert [r.outcome for r in results] == [
        Outcome.LOOP,  # the service keeps usip NO
        Outcome.DIRECT_RETURN,
        Outcome.DIRECT_RETURN,
        Outcome.NO_LAYER2,
    ]


def test_dangling_bindings_and_unknown_names() -> None:
    raw = records()
    raw["lbvserver_service_binding"].append({"name": "vs", "servicename": "ghost"})
    raw["lbvserver_servicegroup_binding"] = [{"name": "vs", "servicegroupname": "nogroup"}]
    snap = build_snapshot(raw, url="https://ns.test", collected_at=NOW)
    results = {r.backend: r for r in trace_vserver(snap, "vs")}
    assert {name: r.outcome for name, r in results.items()} == {
        "svc": Outcome.LOOP,
        "ghost": Outcome.UNDETERMINED,
        "nogroup": Outcome.UNDETERMINED,
    }
    assert "ghost" in results["ghost"].summary
    assert "nogroup" in results["nogroup"].summary
    with pytest.raises(LookupError, match="nosuch"):
        trace(snap, "nosuch", "svc")


def test_render_trace_walks_every_hop_then_the_outcome() -> None:
    result = trace(snapshot(), "vs", "svc")
    text = render_trace(result)
    lines = text.splitlines()
    assert lines[0] == f"vs -> svc ({SERVER}), mode MAC, usip NO"
    for hop, line in zip(result.hops, lines[1 : 1 + len(result.hops)], strict=True):
        assert line.strip().startswith(f"{hop.phase}. {hop.sender} -> {hop.receiver}")
        assert f"{hop.src_ip} -> {hop.dst_ip}" in line
        assert hop.note in line
    outcome_line = lines[1 + len(result.hops)]
    assert outcome_line.startswith("outcome: loop (not healthy)")
    assert "server facts unknown" in text


# --- properties ------------------------------------------------------------------------------

modes = st.sampled_from(["IP", "MAC", "IPTUNNEL", "TOS", "FOO", ""])
usips = st.sampled_from(["YES", "NO", None, "MAYBE"])
addresses = st.sampled_from([SERVER, REMOTE, "333:333:33:333", "", "2001:db8:20::21", "::1"])
vips = st.sampled_from([VIP, "2001:db8:100::10", "bogus", ""])
monitor_sets = st.lists(
    st.tuples(st.sampled_from(["m1", "m2", "m3"]), st.sampled_from(["PING", "TCP", "USER"])),
    max_size=3,
    unique_by=lambda pair: pair[0],
).map(tuple)
fact_sets = st.one_of(
    st.none(),
    st.builds(
        lambda lo, arp, gw: ServerFacts(
            {
                SERVER: ServerFact(SERVER, lo, arp, gw, None),
                REMOTE: ServerFact(REMOTE, lo, arp, gw, None),
            }
        ),
        st.sampled_from([None, (), (VIP,), ("192.0.2.1",)]),
        st.sampled_from([None, True, False]),
        st.sampled_from([None, SNIP, ROUTER_GW]),
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    m=modes,
    usip=usips,
    address=addresses,
    vip=vips,
    monitors=monitor_sets,
    tosid=st.sampled_from([None, 5]),
    facts=fact_sets,
    override=st.one_of(
        st.none(),
        st.builds(
            BackendOverride,
            usip=st.sampled_from([None, True, False]),
            monitors=st.one_of(st.none(), st.just(("m1",))),
        ),
    ),
)
def test_trace_never_raises_and_is_self_consistent(
    m: str,
    usip: str | None,
    address: str,
    vip: str,
    monitors: tuple[tuple[str, str], ...],
    tosid: int | None,
    facts: ServerFacts | None,
    override: BackendOverride | None,
) -> None:
    snap = snapshot(m=m, usip=usip, address=address, vip=vip, monitors=monitors, tosid=tosid)
    results = trace_vserver(
        snap, "vs", facts=facts, overrides={"svc": override} if override else None
    )
    assert len(results) == 1  # `vs` has one service and no group
    for result in results:
        assert phases(result) == sorted(phases(result))
        assert all(1 <= p <= 5 for p in phases(result))
        assert result.healthy == (
            (result.outcome is Outcome.DIRECT_RETURN and result.mode in {"MAC", "IPTUNNEL", "TOS"})
            or (result.outcome is Outcome.VIA_NETSCALER and result.mode == "IP")
        )
        assert result.summary
        assert render_trace(result)


@settings(max_examples=100, deadline=None)
@given(
    m=st.sampled_from(["MAC", "IPTUNNEL", "TOS"]),
    host=st.integers(2, 254).filter(lambda n: n != 5),
    learning=st.sampled_from(["PING", "TCP", "HTTP"]),
    extra_user=st.booleans(),
    known_facts=st.booleans(),
    group=st.booleans(),
)
def test_dsr_with_usip_layer2_a_learnable_mac_and_good_facts_returns_directly(
    m: str, host: int, learning: str, extra_user: bool, known_facts: bool, group: bool
) -> None:
    address = f"10.20.0.{host}"
    monitors = (("probe", learning),) + ((("script", "USER"),) if extra_user else ())
    raw = records(m=m, usip="YES", address=address, monitors=monitors, tosid=9)
    if group:
        raw["servicegroup"] = [
            {"servicegroupname": "sg", "servicetype": "ANY", "usip": "YES", "state": "ENABLED"}
        ]
        raw["servicegroup_servicegroupmember_binding"] = [
            {"servicegroupname": "sg", "ip": address, "port": 65535}
        ]
        raw["servicegroup_lbmonitor_binding"] = [
            {"servicegroupname": "sg", "monitor_name": name} for name, _ in monitors
        ]
        raw["lbvserver_servicegroup_binding"] = [{"name": "vs", "servicegroupname": "sg"}]
    snap = build_snapshot(raw, url="https://ns.test", collected_at=NOW)
    facts = good_facts(address=address) if known_facts else None
    results = trace_vserver(snap, "vs", facts=facts)
    assert [r.backend for r in results] == ["svc"] + ([f"sg/{address}:65535"] if group else [])
    for result in results:
        assert result.outcome is Outcome.DIRECT_RETURN, render_trace(result)
        assert result.healthy
        assert result.hops[-1].receiver == "client"
