"""What a backend server needs for DSR that NITRO cannot do, as steps with commands and checks.

Pure: the steps follow from the VIPs the server must hold, the redirection modes of its virtual
servers and the NetScaler SNIPs on its subnet, so a plan file stores those facts once per backend
and every reader words the steps the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ServerTaskItem:
    title: str
    linux: tuple[str, ...]
    windows: tuple[str, ...]
    check: tuple[str, ...]


def _gateway_item(gateways: Sequence[str]) -> ServerTaskItem:
    """The server's default route must lead to the router, never back to the NetScaler."""
    if gateways:
        named = ", ".join(gateways)
        title = (
            "Keep the default gateway on the upstream router, not on the NetScaler's SNIP on "
            f"this subnet ({named}): DSR replies must go straight to the clients"
        )
        hop = f"the default route's next hop is the router, and none of: {named}"
    else:
        title = (
            "Keep the default gateway on the upstream router (no NetScaler SNIP is on this "
            "server's subnet): DSR replies must go straight to the clients"
        )
        hop = "the default route's next hop is the router"
    return ServerTaskItem(
        title=title,
        linux=("ip route show default",),
        windows=("route print 0.0.0.0",),
        check=(hop, "from the server: traceroute -n <a client address> leaves via the router"),
    )


def _no_neighbour_answers(v4: Sequence[str], v6: Sequence[str]) -> ServerTaskItem:
    """ARP for IPv4 VIPs, neighbour discovery for IPv6 ones: the server must stay silent."""
    linux: list[str] = []
    windows: list[str] = []
    check: list[str] = []
    if v4 or not v6:
        linux += [
            "sysctl -w net.ipv4.conf.all.arp_ignore=1",
            "sysctl -w net.ipv4.conf.all.arp_announce=2",
            "echo -e 'net.ipv4.conf.all.arp_ignore=1\\nnet.ipv4.conf.all.arp_announce=2' "
            "> /etc/sysctl.d/90-nsfix-dsr.conf",
        ]
        windows += [
            'netsh interface ipv4 set interface "<LAN adapter>" weakhostreceive=enabled',
            'netsh interface ipv4 set interface "Loopback" weakhostreceive=enabled '
            "weakhostsend=enabled",
        ]
        check += [
            "Linux: sysctl net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce "
            "(expect 1 and 2)",
            "from another host on the subnet: arping -c 3 <VIP> must get no answer from this "
            "server's MAC",
        ]
    if v6:
        # Linux answers a neighbour solicitation only for addresses on the interface it
        # arrives on, so an IPv6 VIP on lo stays silent without a sysctl.
        linux.append("IPv6: nothing to set while the VIP is on lo (it is never solicited there)")
        windows += [
            'netsh interface ipv6 set interface "<LAN adapter>" weakhostreceive=enabled',
            'netsh interface ipv6 set interface "Loopback" weakhostreceive=enabled '
            "weakhostsend=enabled",
        ]
        check.append(
            "from another host on the subnet: ndisc6 <VIP> <interface> must get no answer from "
            "this server"
        )
    windows.append("leave the loopback adapter without a default gateway")
    check.append(
        'Windows: netsh interface ipv4 show interface "Loopback" level=verbose '
        "(weak host receive/send enabled)"
    )
    what = "ARP" if not v6 else ("neighbour discovery" if not v4 else "ARP or neighbour discovery")
    return ServerTaskItem(
        title=f"Never answer {what} for the VIP: otherwise clients and the router reach the "
        "server directly and bypass the NetScaler",
        linux=tuple(linux),
        windows=tuple(windows),
        check=tuple(check),
    )


def task_items(
    vips: Sequence[str], modes: Sequence[str], gateways: Sequence[str]
) -> tuple[ServerTaskItem, ...]:
    """The steps for one backend: VIPs on a loopback, no ARP for them, the default gateway,
    and decapsulation or TOS mapping where its virtual servers use those modes."""
    v4 = [v for v in vips if ":" not in v]
    v6 = [v for v in vips if ":" in v]
    return (*common_steps(v4, v6, gateways), *(s for m in modes for s in mode_steps(m, v4)))


def common_steps(
    v4: Sequence[str], v6: Sequence[str], gateways: Sequence[str]
) -> tuple[ServerTaskItem, ...]:
    """What every DSR backend needs, for its IPv4 and IPv6 VIPs and the SNIPs on its subnet."""
    vips = [*v4, *v6]
    linux_add = [f"ip addr add {v}/32 dev lo" for v in v4] + [
        f"ip -6 addr add {v}/128 dev lo" for v in v6
    ]
    return (
        ServerTaskItem(
            title=f"Hold the VIP{'s' if len(vips) > 1 else ''} {', '.join(vips)} on a loopback "
            "interface, so the server accepts packets addressed to the VIP",
            linux=(
                *linux_add,
                "persist it in the network configuration (for example a 'lo:dsr' stanza or a "
                "systemd-networkd .network file for lo)",
            ),
            windows=(
                "install the 'Microsoft KM-TEST Loopback Adapter' (hdwwiz, network adapter)",
                *(f'netsh interface ipv4 add address "Loopback" {v} 255.255.255.255' for v in v4),
                *(f'netsh interface ipv6 add address "Loopback" {v}/128' for v in v6),
            ),
            check=(
                *(f"Linux: ip addr show dev lo | grep -w {v}" for v in vips),
                'Windows: netsh interface ipv4 show addresses "Loopback"',
            ),
        ),
        _no_neighbour_answers(v4, v6),
        _gateway_item(gateways),
    )


def mode_steps(mode: str, v4: Sequence[str]) -> tuple[ServerTaskItem, ...]:
    """What a redirection mode adds on the server: decapsulation (IPTUNNEL), TOS mapping."""
    if mode == "IPTUNNEL":
        return (
            ServerTaskItem(
                title="Decapsulate IP-in-IP from the NetScaler's SNIPs (IPTUNNEL mode)",
                linux=(
                    "modprobe ipip && ip link set tunl0 up",
                    *(f"ip addr add {v}/32 dev tunl0" for v in v4),
                    "sysctl -w net.ipv4.conf.tunl0.rp_filter=0 net.ipv4.conf.all.rp_filter=0",
                ),
                windows=("Windows has no built-in IP-in-IP decapsulation: use MAC mode or Linux",),
                check=(
                    "Linux: ip -d link show tunl0; tcpdump -ni any proto 4 shows tunnelled "
                    "requests",
                ),
            ),
        )
    if mode == "TOS":
        return (
            ServerTaskItem(
                title="Map the virtual server's TOS id to its VIP (TOS mode)",
                linux=(
                    "mark packets by DSCP/TOS value and route them to the VIP held on lo, for "
                    "example with iptables -t mangle rules per TOS id",
                ),
                windows=("TOS-based DSR needs a vendor driver on Windows: use MAC mode or Linux",),
                check=("tcpdump -v -ni any host <VIP> shows the expected tos value on requests",),
            ),
        )
    return ()
