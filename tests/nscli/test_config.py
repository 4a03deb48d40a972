"""An ns.conf as an administrator keeps it: read into the Snapshot the NITRO reader builds."""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import ip_address

from hypothesis import given, settings
from hypothesis import strategies as st

from nsfix.model import HaRole
from nsfix.nscli.config import looks_like_config, parse_config, snapshot_from_config
from nsfix.operations import run_audit
from nsfix.shell import load_playbooks
from nsfix.sourcemap import BOUND, CHANGED, DEFINED, of_snapshot

WHEN = datetime(2026, 1, 1, tzinfo=UTC)

NS_CONF = """\
#NS13.1 Build 51.15
# Last modified by `save config`, Mon Nov 30 08:00:00 2026
set ns config -IPAddress 10.255.0.10 -netmask 255.255.255.0
enable ns feature LB CS SSL
enable ns mode FR L3 MBF Edge USNIP PMTUD
set ns hostName ns-dc1-01
add HA node 1 10.255.0.11
set HA node -failSafe ON
add ns ip 10.20.1.1 255.255.255.0 -vServer DISABLED
add ns ip6 2001:db8:20::1/64 -type SNIP
add server web-01 10.20.1.61
add server web-02 10.20.1.62
add server files.example.net files.example.net
add service svc_files_01 web-01 ANY * -usip NO -useproxyport YES -cip DISABLED
add service "svc web tier/app 1" web-02 ANY * -usip YES -useproxyport NO \
-comment "the \\"old\\" one"
add service svc_inherit 10.20.1.70 ANY *
add serviceGroup sg_dsr ANY -usip NO
add lb vserver vs_files_dsr ANY 203.0.113.30 * -m MAC -lbMethod ROUNDROBIN -comment "files, DSR"
add lb vserver vs_group ANY 203.0.113.31 * -m MAC
add lb vserver vs_web HTTP 203.0.113.32 80
add lb monitor mon_ping PING -LRTM DISABLED
set service svc_files_01 -usip NO
bind lb vserver vs_files_dsr svc_files_01 -weight 5
bind lb vserver vs_files_dsr "svc web tier/app 1"
bind lb vserver vs_group sg_dsr
bind lb vserver vs_web -policyName pol_rewrite -priority 100
bind serviceGroup sg_dsr web-01 *
bind serviceGroup sg_dsr 10.20.1.99 * -weight 3
bind serviceGroup sg_dsr -monitorName mon_ping
bind service svc_files_01 -monitorName mon_ping
add dns nameServer 10.0.0.53
set ssl service nshttps-::1l-443 -eRSA ENABLED
add service broken "unclosed quote
add lb vserver
set service nobody -usip YES
"""


def line_of(fragment: str) -> int:
    """The line of NS_CONF that holds `fragment` (from 1)."""
    return next(n for n, line in enumerate(NS_CONF.splitlines(), 1) if line.startswith(fragment))


def snapshot(text: str = NS_CONF, path: str = "configs/ns.conf"):  # type: ignore[no-untyped-def]
    parsed = parse_config(text, path)
    return parsed, snapshot_from_config(parsed, source=path, partition="default", collected_at=WHEN)


def test_objects_of_an_ns_conf() -> None:
    _parsed, snap = snapshot()
    assert snap.appliance.release == "13.1-51.15"
    assert snap.appliance.hostname == "ns-dc1-01"
    # An HA pair: the file does not say which node is primary.
    assert snap.appliance.ha_role is HaRole.UNKNOWN
    assert snap.appliance.ha_peers == ("10.255.0.11",)
    assert (snap.modes.mbf, snap.modes.usip, snap.modes.l3, snap.modes.l2) == (
        True, False, True, False,
    )  # fmt: skip
    files = snap.vservers["vs_files_dsr"]
    assert (files.m, files.lbmethod, files.port, files.vip) == (
        "MAC", "ROUNDROBIN", 65535, ip_address("203.0.113.30"),
    )  # fmt: skip
    assert files.services == ("svc web tier/app 1", "svc_files_01")
    assert files.service_weights["svc_files_01"] == 5
    assert snap.vservers["vs_group"].servicegroups == ("sg_dsr",)
    assert snap.vservers["vs_web"].services == ()  # a policy binding is not a backend
    odd = snap.services["svc web tier/app 1"]
    assert (odd.usip, odd.useproxyport, odd.address) == (True, False, ip_address("10.20.1.62"))
    files_svc = snap.services["svc_files_01"]
    assert (files_svc.useproxyport, files_svc.cip, files_svc.monitors) == (
        True, False, ("mon_ping",),
    )  # fmt: skip
    group = snap.servicegroups["sg_dsr"]
    assert [(m.address_text, m.port, m.weight) for m in group.members] == [
        ("10.20.1.99", 65535, 3),
        ("10.20.1.61", 65535, 1),
    ]
    assert snap.servers["files.example.net"].domain == "files.example.net"
    assert [str(s.network) for s in snap.snips] == ["10.20.1.0/24", "2001:db8:20::/64"]
    assert snap.monitors["ping-default"].type == "PING"  # built in, no line of its own


def test_usip_left_out_follows_the_global_mode() -> None:
    _, snap = snapshot()
    inherit = snap.services["svc_inherit"]
    assert inherit.usip is None
    assert inherit.usip_inherited
    assert inherit.effective_usip is False  # the global USIP mode is off
    _, on = snapshot(NS_CONF.replace("enable ns mode FR", "enable ns mode USIP FR"))
    assert on.services["svc_inherit"].effective_usip is True


def test_unknown_commands_are_kept_and_malformed_lines_are_defects_with_file_and_line() -> None:
    parsed, snap = snapshot()
    lines = NS_CONF.splitlines()
    assert [lines[n - 1].split()[0:2] for n in parsed.ignored] == [
        ["add", "dns"],
        ["set", "ssl"],
    ]
    defects = {d.name: d.problem for d in snap.defects if d.resource == "config line"}
    assert defects == {
        f"configs/ns.conf:{line_of('add service broken')}": "unclosed double quote (column 20)",
        f"configs/ns.conf:{len(NS_CONF.splitlines()) - 1}": (
            "'add lb vserver' needs a name and a service type"
        ),
        f"configs/ns.conf:{line_of('set service nobody')}": (
            "service 'nobody' is changed here but never added"
        ),
    }


def test_every_object_knows_the_lines_that_defined_changed_and_bound_it() -> None:
    _, snap = snapshot()
    source = of_snapshot(snap.extra)
    assert source is not None
    assert source.path == "configs/ns.conf"
    assert [(m.line, m.role) for m in source.of("service", "svc_files_01")] == [
        (line_of("add service svc_files_01"), DEFINED),
        (line_of("set service svc_files_01"), CHANGED),
        (line_of("bind lb vserver vs_files_dsr svc_files_01"), BOUND),
        (line_of("bind service svc_files_01"), BOUND),
    ]
    assert source.of("lbvserver", "vs_files_dsr")[0].line == line_of("add lb vserver vs_files")
    member = source.of("servicegroup", "sg_dsr", "10.20.1.99:65535")
    assert member[0].line == line_of("bind serviceGroup sg_dsr 10.20.1.99")
    # A member bound by server name is found by its address too, as findings name it.
    member = source.of("servicegroup", "sg_dsr", "10.20.1.61:65535")
    assert member[0].line == line_of("bind serviceGroup sg_dsr web-01")


def test_set_unset_enable_disable_and_unbind_change_what_was_added() -> None:
    text = (
        "add service s1 10.0.0.1 ANY * -usip YES -useproxyport NO\n"
        "add lb vserver v ANY 203.0.113.9 * -m MAC\n"
        "bind lb vserver v s1\n"
        "unset service s1 -usip -useproxyport\n"
        "disable service s1\n"
        "set lb vserver v -m IP\n"
        "unbind lb vserver v s1\n"
    )
    _, snap = snapshot(text)
    s1 = snap.services["s1"]
    assert (s1.usip, s1.useproxyport, s1.state) == (None, True, "DISABLED")
    assert (snap.vservers["v"].m, snap.vservers["v"].services) == ("IP", ())


def test_the_audit_of_an_ns_conf_finds_the_dsr_faults() -> None:
    _, snap = snapshot()
    result = run_audit(snap, load_playbooks([]), (), None)
    found = {(f.rule, str(f.object)) for f in result.findings}
    assert ("DSR-USIP", "service/svc_files_01") in found
    assert ("DSR-USIP", "servicegroup/sg_dsr") in found
    assert ("DSR-USIP", "service/svc web tier/app 1") not in found


def test_objects_the_appliance_has_without_an_add_line_may_be_set() -> None:
    parsed, snap = snapshot(
        "set lb monitor ping-default -interval 10\n"
        "set ns ip6 fe80::1/64 -scope link-local -type NSIP -vServer DISABLED\n"
    )
    assert parsed.problems == ()
    assert parsed.ignored == (2,)
    assert snap.monitors["ping-default"].type == "PING"


def test_content_not_name_says_what_a_file_is() -> None:
    assert looks_like_config(NS_CONF)
    # Copied from a CLI session: the prompt's line first, NetScaler's "Done" last.
    assert looks_like_config("> show ns runningConfig\n\tadd server a 10.0.0.1\n Done\n")
    assert looks_like_config("\n# comment\nadd server a 10.0.0.1\n")
    assert not looks_like_config('{"service": []}')
    assert not looks_like_config("hello world\n")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_never_raises(text: str) -> None:
    parsed = parse_config(text, "fuzz.conf")
    snapshot_from_config(parsed, source="fuzz.conf", partition="default", collected_at=WHEN)


COMMAND_WORDS = st.sampled_from(
    [
        "add", "set", "unset", "bind", "unbind", "enable", "disable", "rm", "lb", "vserver",
        "service", "serviceGroup", "server", "ns", "ip", "ip6", "mode", "HA", "node", "cs",
        "monitor", "-usip", "-m", "-weight", "-td", "-monitorName", "-state", "*", "80", "MAC",
        "YES", "10.0.0.1", "x", '"a b"', '"', "-", "q/a/", "2001:db8::1/64", "999999999999",
        "²", "٣", "-²",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(COMMAND_WORDS, max_size=9).map(" ".join), max_size=25))
def test_arbitrary_commands_never_raise(lines: list[str]) -> None:
    parsed = parse_config("\n".join(lines), "fuzz.conf")
    snapshot_from_config(parsed, source="fuzz.conf", partition="default", collected_at=WHEN)


def test_option_values_of_several_words_and_negative_numbers() -> None:
    parsed = parse_config(
        "add lb vserver v HTTP 203.0.113.7 80 -comment two plain words -weight -1 -m MAC\n"
        "add ns ip 10.0.0.5 255.255.255.0 -type SNIP -vServer DISABLED -td 3\n"
    )
    [vserver] = parsed.records["lbvserver"]
    assert (vserver["comment"], vserver["weight"], vserver["m"]) == ("two plain words", "-1", "MAC")
    [address] = parsed.records["nsip"]
    assert (address["vserver"], address["td"]) == ("DISABLED", "3")
