"""Build large synthetic NetScaler appliances as mock scenarios, in NITRO's own GET record shape.

Usage: ``python -m mocks.generate services=50000 vservers=5000 seed=7 -o big.json``.

Value types follow the NITRO 12.1 reference: attributes documented as ``<Integer>`` (port,
monitor timers) are JSON numbers, ``<Double>`` ones (weight, td, tosid, id, ...) come back as
strings, ``<Boolean>`` ones (nsmode, nsconfig.configchanged) as JSON booleans.

Standard library only, and nothing from nsfix: the mock must not share the client's mistakes.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

Record = dict[str, Any]

NSVERSION = "NetScaler NS14.1: Build 25.56.nc, Date: Jun  5 2025, 10:19:01   (64-bit)"
ANY_PORT = 65535  # NITRO's spelling of the CLI's "*" port

# Idle timeouts NetScaler fills in per protocol (saved configs show ANY services with 120/120).
_CLTTIMEOUT = {"ANY": "120", "HTTP": "180", "SSL_BRIDGE": "180", "TCP": "9000"}
_SVRTIMEOUT = {"ANY": "120", "HTTP": "360", "SSL_BRIDGE": "360", "TCP": "9000"}


def mock_settings(ha_state: str = "Primary", hostname: str = "ns-lab-01") -> Record:
    """The ``_mock`` block: the mock's own login table and identity, not a NITRO resource."""
    return {"users": {"nsroot": "nsroot"}, "ha_state": ha_state, "hostname": hostname}


def _up_unless_disabled(state: str) -> str:
    return "UP" if state == "ENABLED" else "OUT OF SERVICE"


# --- record builders (one NITRO GET record each) ---------------------------------------------


def lbvserver_record(
    name: str,
    ipv46: str,
    port: int,
    servicetype: str,
    m: str = "IP",
    *,
    tosid: str | None = None,
    sessionless: str = "DISABLED",
    state: str = "ENABLED",
    curstate: str | None = None,
    lbmethod: str = "LEASTCONNECTION",
    connfailover: str = "DISABLED",
    td: str = "0",
    comment: str = "",
) -> Record:
    """An ``lbvserver`` as GET returns it; ``curstate`` follows ``state`` unless given."""
    cur = curstate if curstate is not None else _up_unless_disabled(state)
    rec: Record = {
        "name": name,
        "ipv46": ipv46,
        "port": port,
        "range": "1",
        "servicetype": servicetype,
        "type": "ADDRESS",
        "m": m,
        "sessionless": sessionless,
        "state": state,
        "curstate": cur,
        "effectivestate": cur,
        "lbmethod": lbmethod,
        "persistencetype": "NONE",
        "connfailover": connfailover,
        "clttimeout": _CLTTIMEOUT.get(servicetype, "180"),
        "macmoderetainvlan": "DISABLED",
        "l2conn": "OFF",
        "icmpvsrresponse": "PASSIVE",
        "td": td,
        "comment": comment,
    }
    if tosid is not None:
        rec["tosid"] = tosid
    return rec


def service_record(
    name: str,
    servername: str,
    ipaddress: str,
    port: int,
    servicetype: str,
    usip: str,
    useproxyport: str,
    *,
    state: str = "ENABLED",
    svrstate: str | None = None,
    cip: str = "DISABLED",
    cipheader: str = "",
    healthmonitor: str = "YES",
    td: str = "0",
    comment: str = "",
) -> Record:
    """A ``service``; GET reports the address as ``ipaddress`` (add takes ``ip``)."""
    return {
        "name": name,
        "servername": servername,
        "ipaddress": ipaddress,
        "port": port,
        "servicetype": servicetype,
        "numofconnections": 0,
        "usip": usip,
        "useproxyport": useproxyport,
        "cip": cip,
        "cipheader": cipheader,
        "state": state,
        "svrstate": svrstate if svrstate is not None else _up_unless_disabled(state),
        "healthmonitor": healthmonitor,
        "maxclient": "0",
        "maxreq": "0",
        "sp": "OFF",
        "cka": "NO",
        "tcpb": "NO",
        "cmp": "NO",
        "clttimeout": _CLTTIMEOUT.get(servicetype, "180"),
        "svrtimeout": _SVRTIMEOUT.get(servicetype, "360"),
        "accessdown": "NO",
        "downstateflush": "ENABLED",
        "monthreshold": "0",
        "appflowlog": "ENABLED",
        "td": td,
        "comment": comment,
    }


def servicegroup_record(
    name: str,
    servicetype: str,
    usip: str,
    useproxyport: str,
    *,
    cip: str = "DISABLED",
    state: str = "ENABLED",
    effectivestate: str | None = None,
    td: str = "0",
    comment: str = "",
) -> Record:
    """A ``servicegroup`` (members are separate binding records)."""
    return {
        "servicegroupname": name,
        "servicetype": servicetype,
        "numofconnections": 0,
        "usip": usip,
        "useproxyport": useproxyport,
        "cip": cip,
        "state": state,
        "servicegroupeffectivestate": (
            effectivestate if effectivestate is not None else _up_unless_disabled(state)
        ),
        "healthmonitor": "YES",
        "maxclient": "0",
        "maxreq": "0",
        "sp": "OFF",
        "cka": "NO",
        "tcpb": "NO",
        "cmp": "NO",
        "clttimeout": _CLTTIMEOUT.get(servicetype, "180"),
        "svrtimeout": _SVRTIMEOUT.get(servicetype, "360"),
        "downstateflush": "ENABLED",
        "autoscale": "DISABLED",
        "monthreshold": "0",
        "appflowlog": "ENABLED",
        "td": td,
        "comment": comment,
    }


def member_record(
    servicegroupname: str,
    ip: str,
    servername: str,
    port: int,
    *,
    weight: str = "1",
    state: str = "ENABLED",
    svrstate: str | None = None,
) -> Record:
    """A ``servicegroup_servicegroupmember_binding``: GET shows both the IP and the server name."""
    return {
        "servicegroupname": servicegroupname,
        "ip": ip,
        "servername": servername,
        "port": port,
        "weight": weight,
        "state": state,
        "svrstate": svrstate if svrstate is not None else _up_unless_disabled(state),
        "hashid": "0",
        "serverid": "0",
        "customserverid": "None",
        "graceful": "NO",
        "delay": "0",
    }


def vserver_service_binding(vserver: str, service: Record, weight: str = "1") -> Record:
    """An ``lbvserver_service_binding``; its read-only ipv46/port/servicetype/curstate echo the
    bound service (that is what NITRO shows), so they are copied from the service record."""
    return {
        "name": vserver,
        "servicename": service["name"],
        "weight": weight,
        "ipv46": service["ipaddress"],
        "port": service["port"],
        "servicetype": service["servicetype"],
        "curstate": service["svrstate"],
        "dynamicweight": "0",
        "vsvrbindsvcip": service["ipaddress"],
        "vsvrbindsvcport": service["port"],
    }


def vserver_servicegroup_binding(vserver: str, servicegroupname: str, weight: str = "1") -> Record:
    """An ``lbvserver_servicegroup_binding``."""
    return {"name": vserver, "servicegroupname": servicegroupname, "weight": weight}


def server_record(
    name: str,
    ipaddress: str,
    *,
    state: str = "ENABLED",
    domain: str = "",
    td: str = "0",
    comment: str = "",
) -> Record:
    """A ``server`` (IP-based unless ``domain`` is set)."""
    return {
        "name": name,
        "ipaddress": ipaddress,
        "domain": domain,
        "state": state,
        "ipv6address": "NO",
        "td": td,
        "comment": comment,
    }


def lbmonitor_record(
    name: str,
    type_: str,
    *,
    scriptname: str | None = None,
    destport: int = 0,
    state: str = "ENABLED",
    interval: int = 5,
    resptimeout: int = 2,
) -> Record:
    """An ``lbmonitor``; USER (script) monitors carry ``scriptname`` and their dispatcher."""
    rec: Record = {
        "monitorname": name,
        "type": type_,
        "interval": interval,
        "units3": "SEC",
        "resptimeout": resptimeout,
        "units4": "SEC",
        "retries": 3,
        "downtime": 30,
        "units2": "SEC",
        "destport": destport,
        "reverse": "NO",
        "transparent": "NO",
        "state": state,
    }
    if scriptname is not None:
        rec["scriptname"] = scriptname
        # The script dispatcher lives on the appliance's own loopback.
        rec["dispatcherip"] = "127.0.0.1"
        rec["dispatcherport"] = 3013
    return rec


def builtin_monitors() -> list[Record]:
    """The monitors every partition has out of the box (ping-default and tcp-default are what
    NetScaler binds implicitly when a service has no monitor of its own)."""
    return [
        lbmonitor_record("ping-default", "PING"),
        lbmonitor_record("tcp-default", "TCP"),
        lbmonitor_record("ping", "PING"),
        lbmonitor_record("tcp", "TCP"),
        lbmonitor_record("http", "HTTP"),
    ]


def service_monitor_binding(
    service: str, monitor: str, *, monstate: str = "ENABLED", weight: str = "1"
) -> Record:
    """A ``service_lbmonitor_binding``."""
    return {
        "name": service,
        "monitor_name": monitor,
        "monstate": monstate,
        "weight": weight,
        "passive": False,
        "monitor_state": "UP" if monstate == "ENABLED" else "DISABLED",
        "dup_state": monstate,
        "dup_weight": weight,
    }


def servicegroup_monitor_binding(
    servicegroupname: str, monitor: str, *, monstate: str = "ENABLED", weight: str = "1"
) -> Record:
    """A ``servicegroup_lbmonitor_binding``."""
    return {
        "servicegroupname": servicegroupname,
        "monitor_name": monitor,
        "monstate": monstate,
        "weight": weight,
        "passive": False,
    }


def nsip_record(
    ipaddress: str,
    netmask: str,
    type_: str,
    *,
    state: str = "ENABLED",
    td: str = "0",
) -> Record:
    """An ``nsip`` (SNIP, VIP, NSIP or MIP)."""
    return {
        "ipaddress": ipaddress,
        "td": td,
        "type": type_,
        "netmask": netmask,
        "arp": "ENABLED",
        "icmp": "ENABLED",
        "vserver": "ENABLED" if type_ == "VIP" else "DISABLED",
        "mgmtaccess": "ENABLED" if type_ == "NSIP" else "DISABLED",
        "dynamicrouting": "DISABLED",
        "hostroute": "DISABLED",
        "state": state,
        "iptype": [type_],
    }


def nsmode_record(*, mbf: bool = True, usip: bool = False, l2: bool = False) -> Record:
    """The ``nsmode`` singleton; ``mbf`` on is the DSR recipe, global ``usip`` off the factory
    default."""
    return {
        "fr": True,
        "l2": l2,
        "usip": usip,
        "cka": False,
        "tcpb": False,
        "mbf": mbf,
        "edge": True,
        "usnip": True,
        "l3": True,
        "pmtud": True,
        "mediaclassification": False,
        "sradv": False,
        "dradv": False,
        "iradv": False,
        "sradv6": False,
        "dradv6": False,
        "bridgebpdus": False,
    }


def hanode_record(
    id_: str,
    ipaddress: str,
    state: str,
    *,
    hastatus: str = "ENABLED",
    hasync: str = "ENABLED",
    netmask: str = "255.255.255.0",
) -> Record:
    """An ``hanode``; id "0" is always the node being asked."""
    return {
        "id": id_,
        "ipaddress": ipaddress,
        "state": state,
        "hastatus": hastatus,
        "hasync": hasync,
        "haprop": "ENABLED",
        "inc": "DISABLED",
        "netmask": netmask,
        "hellointerval": "200",
        "deadinterval": "3",
        "failsafe": "OFF",
    }


def nsversion_record(version: str = NSVERSION) -> Record:
    """The ``nsversion`` singleton."""
    return {"version": version, "mode": "1"}


def nspartition_record(name: str, partitionid: str, partitionmac: str) -> Record:
    """An ``nspartition`` (admin partition) with the documented default limits."""
    return {
        "partitionname": name,
        "partitionid": partitionid,
        "partitionmac": partitionmac,
        "maxbandwidth": "10240",
        "minbandwidth": "10240",
        "maxconn": "1024",
        "maxmemlimit": "10",
    }


def nsconfig_record(
    ipaddress: str,
    netmask: str = "255.255.255.0",
    *,
    lastconfigchangedtime: str = "Thu Jun 12 08:14:31 2025",
    lastconfigsavetime: str = "Thu Jun 12 08:14:31 2025",
) -> Record:
    """The ``nsconfig`` singleton, saved and unchanged since."""
    return {
        "ipaddress": ipaddress,
        "netmask": netmask,
        "configchanged": False,
        "lastconfigchangedtime": lastconfigchangedtime,
        "lastconfigsavetime": lastconfigsavetime,
    }


# --- the large-appliance generator -----------------------------------------------------------

_NSIP = "10.255.0.10"
_PEER_NSIP = "10.255.0.11"
_PROXY_KINDS = (("HTTP", 80), ("TCP", 443), ("SSL_BRIDGE", 443))
# DSR vservers take their mode from this cycle: mostly MAC, as in the field, yet any run with
# nine or more DSR vservers has all three DSR modes.
_DSR_CYCLE = ("MAC", "MAC", "MAC", "MAC", "MAC", "MAC", "MAC", "IPTUNNEL", "TOS", "MAC")


def backend_address(k: int) -> str:
    """The k-th backend address: hosts .5-.254 of each /24 (.1 is the SNIP), subnets counted up
    from 10.100.0.0/24."""
    subnet, host = divmod(k, 250)
    second = 100 + subnet // 256
    if second > 254:
        raise ValueError("too many backends for the 10.100.0.0-10.254.255.255 pool")
    return f"10.{second}.{subnet % 256}.{host + 5}"


def vip_address(v: int) -> str:
    """The v-th VIP, from the private 172.24.0.0/13 (the documentation /24s hold too few)."""
    block, host = divmod(v, 250)
    second = 24 + block // 256
    if second > 31:
        raise ValueError("too many vservers for the 172.24.0.0/13 VIP pool")
    return f"172.{second}.{block % 256}.{host + 1}"


def _subnet_snip(subnet: int) -> str:
    return f"10.{100 + subnet // 256}.{subnet % 256}.1"


def generate(
    *,
    services: int = 100,
    vservers: int | None = None,
    servicegroups: int | None = None,
    members_per_group: int = 4,
    dsr_fraction: float = 0.3,
    bad_fraction: float = 0.1,
    seed: int = 0,
) -> dict[str, Any]:
    """A whole appliance (default partition, HA primary) as a scenario dict.

    ``dsr_fraction`` of the vservers (rounded) use a DSR redirection mode (MAC, IPTUNNEL or TOS);
    ``bad_fraction`` of the DSR backends (services and service groups, rounded) have usip NO.
    Service i is bound to vserver i mod vservers, group j to vserver j mod vservers. Every
    backend sits in a /24 that has a SNIP. Same arguments, same output.
    """
    if services < 0 or members_per_group < 0:
        raise ValueError("services and members_per_group must not be negative")
    if not (0.0 <= dsr_fraction <= 1.0 and 0.0 <= bad_fraction <= 1.0):
        raise ValueError("dsr_fraction and bad_fraction must be between 0 and 1")
    n_vs = (max(1, services // 10) if services else 0) if vservers is None else vservers
    n_sg = services // 20 if servicegroups is None else servicegroups
    if n_vs < 0 or n_sg < 0:
        raise ValueError("vservers and servicegroups must not be negative")
    if n_vs == 0 and (services or n_sg):
        raise ValueError("services and service groups need at least one vserver")

    rng = random.Random(seed)

    dsr_set = set(rng.sample(range(n_vs), round(n_vs * dsr_fraction)))
    modes: list[str] = []
    kinds: list[tuple[str, int]] = []
    dsr_seen = 0
    for v in range(n_vs):
        if v in dsr_set:
            modes.append(_DSR_CYCLE[dsr_seen % len(_DSR_CYCLE)])
            dsr_seen += 1
            kinds.append(("ANY", ANY_PORT))
        else:
            modes.append("IP")
            kinds.append(_PROXY_KINDS[rng.randrange(len(_PROXY_KINDS))])

    dsr_services = [i for i in range(services) if modes[i % n_vs] != "IP"]
    dsr_groups = [j for j in range(n_sg) if modes[j % n_vs] != "IP"]
    bad_services = set(rng.sample(dsr_services, round(len(dsr_services) * bad_fraction)))
    bad_groups = set(rng.sample(dsr_groups, round(len(dsr_groups) * bad_fraction)))

    lbvservers: list[Record] = []
    vip_nsips: list[Record] = []
    tos_seen = 0
    for v in range(n_vs):
        mode = modes[v]
        servicetype, port = kinds[v]
        tosid = None
        if mode == "TOS":
            tosid = str(tos_seen % 63 + 1)
            tos_seen += 1
        vip = vip_address(v)
        lbvservers.append(
            lbvserver_record(
                f"vs_{v:05d}_{mode.lower()}",
                vip,
                port,
                servicetype,
                mode,
                tosid=tosid,
                lbmethod="ROUNDROBIN" if mode != "IP" else "LEASTCONNECTION",
            )
        )
        vip_nsips.append(nsip_record(vip, "255.255.255.255", "VIP"))

    service_recs: list[Record] = []
    server_recs: list[Record] = []
    vs_bindings: list[Record] = []
    svc_mon: list[Record] = []
    for i in range(services):
        v = i % n_vs
        mode = modes[v]
        servicetype, port = kinds[v]
        addr = backend_address(i)
        srv = f"srv_{i:06d}"
        # Proxy-mode backends keep the factory usip NO, which is right for them.
        if mode == "IP" or i in bad_services:
            usip, upp = "NO", "YES"
        else:
            usip, upp = "YES", "NO"
        svc = service_record(f"svc_{i:06d}", srv, addr, port, servicetype, usip, upp)
        service_recs.append(svc)
        server_recs.append(server_record(srv, addr))
        vs_bindings.append(vserver_service_binding(lbvservers[v]["name"], svc))
        if mode != "IP":
            svc_mon.append(service_monitor_binding(svc["name"], "mon_ping"))
        elif servicetype == "HTTP":
            svc_mon.append(service_monitor_binding(svc["name"], "mon_http"))
        # Proxy TCP/SSL_BRIDGE services keep NetScaler's implicit tcp-default monitor.

    group_recs: list[Record] = []
    members: list[Record] = []
    vs_group_bindings: list[Record] = []
    sg_mon: list[Record] = []
    k = services
    for j in range(n_sg):
        v = j % n_vs
        mode = modes[v]
        servicetype, port = kinds[v]
        usip, upp = ("NO", "YES") if mode == "IP" or j in bad_groups else ("YES", "NO")
        name = f"sg_{j:05d}"
        group_recs.append(servicegroup_record(name, servicetype, usip, upp))
        vs_group_bindings.append(vserver_servicegroup_binding(lbvservers[v]["name"], name))
        sg_mon.append(
            servicegroup_monitor_binding(
                name, "mon_ping" if mode != "IP" else ("mon_http" if port == 80 else "mon_tcp")
            )
        )
        for _ in range(members_per_group):
            addr = backend_address(k)
            srv = f"srv_{k:06d}"
            server_recs.append(server_record(srv, addr))
            members.append(member_record(name, addr, srv, port))
            k += 1

    n_subnets = (k + 249) // 250
    snips = [nsip_record(_subnet_snip(s), "255.255.255.0", "SNIP") for s in range(n_subnets)]

    monitors = builtin_monitors()
    monitors += [
        lbmonitor_record("mon_ping", "PING"),
        lbmonitor_record("mon_tcp", "TCP"),
        lbmonitor_record("mon_http", "HTTP", destport=80),
    ]

    return {
        "_comment": (
            f"Generated appliance: {services} services, {n_vs} vservers, {n_sg} service groups"
            f" x {members_per_group} members, dsr_fraction={dsr_fraction},"
            f" bad_fraction={bad_fraction}, seed={seed}."
        ),
        "_mock": mock_settings(),
        "nsversion": nsversion_record(),
        "nsconfig": nsconfig_record(_NSIP),
        "nsmode": nsmode_record(),
        "hanode": [
            hanode_record("0", _NSIP, "Primary"),
            hanode_record("1", _PEER_NSIP, "Secondary"),
        ],
        "nspartition": [],
        "nsip": [nsip_record(_NSIP, "255.255.255.0", "NSIP"), *snips, *vip_nsips],
        "lbvserver": lbvservers,
        "service": service_recs,
        "servicegroup": group_recs,
        "servicegroup_servicegroupmember_binding": members,
        "lbvserver_service_binding": vs_bindings,
        "lbvserver_servicegroup_binding": vs_group_bindings,
        "server": server_recs,
        "lbmonitor": monitors,
        "service_lbmonitor_binding": svc_mon,
        "servicegroup_lbmonitor_binding": sg_mon,
    }


_INT_KEYS = frozenset({"services", "vservers", "servicegroups", "members_per_group", "seed"})
_FLOAT_KEYS = frozenset({"dsr_fraction", "bad_fraction"})


def _parse_settings(pairs: Sequence[str]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"expected key=value, got {pair!r}")
        if key in _INT_KEYS:
            settings[key] = int(value)
        elif key in _FLOAT_KEYS:
            settings[key] = float(value)
        else:
            known = ", ".join(sorted(_INT_KEYS | _FLOAT_KEYS))
            raise ValueError(f"unknown setting {key!r} (known: {known})")
    return settings


def main(argv: list[str] | None = None) -> int:
    """Write a generated scenario to ``-o FILE`` (or stdout); 0 on success, 2 on bad input."""
    parser = argparse.ArgumentParser(
        prog="python -m mocks.generate",
        description="Generate a large NetScaler mock scenario (NITRO record shape).",
    )
    parser.add_argument(
        "settings",
        nargs="*",
        metavar="key=value",
        help="services, vservers, servicegroups, members_per_group, dsr_fraction,"
        " bad_fraction, seed",
    )
    parser.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    args = parser.parse_args(argv)
    try:
        scenario = generate(**_parse_settings(args.settings))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(scenario, separators=(",", ":"))
    if args.output is None:
        sys.stdout.write(text + "\n")
    else:
        args.output.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
