"""Rebuild mocks/scenarios/*.json from the generator builders: python -m mocks.scenarios.build."""
import json
import sys
from pathlib import Path
from typing import Any

from mocks.generate import (
    ANY_PORT,
    builtin_monitors,
    hanode_record,
    lbmonitor_record,
    lbvserver_record,
    member_record,
    mock_settings,
    nsconfig_record,
    nsip_record,
    nsmode_record,
    nspartition_record,
    nsversion_record,
    server_record,
    service_monitor_binding,
    service_record,
    servicegroup_monitor_binding,
    servicegroup_record,
    vserver_service_binding,
    vserver_servicegroup_binding,
)

OUT = Path(__file__).resolve().parent
NSIP = "10.255.0.10"
ORDER = [
    "_comment", "_mock", "nsversion", "nsconfig", "nsmode", "hanode", "nspartition", "nsip",
    "lbvserver", "service", "servicegroup", "servicegroup_servicegroupmember_binding",
    "lbvserver_service_binding", "lbvserver_servicegroup_binding", "server", "lbmonitor",
    "service_lbmonitor_binding", "servicegroup_lbmonitor_binding", "_partitions",
]


class Part:
    def __init__(self) -> None:
        self.d: dict[str, list[dict[str, Any]]] = {
            k: [] for k in [
                "nsip", "lbvserver", "service", "servicegroup",
                "servicegroup_servicegroupmember_binding", "lbvserver_service_binding",
                "lbvserver_servicegroup_binding", "server", "lbmonitor",
                "service_lbmonitor_binding", "servicegroup_lbmonitor_binding",
            ]
        }
        self.d["lbmonitor"] += builtin_monitors()
        self.svcs: dict[str, dict[str, Any]] = {}

    def snip(self, ip: str) -> None:
        self.d["nsip"].append(nsip_record(ip, "255.255.255.0", "SNIP"))

    def monitor(self, *a: Any, **kw: Any) -> None:
        self.d["lbmonitor"].append(lbmonitor_record(*a, **kw))

    def vs(self, name: str, vip: str, port: int, st: str, m: str = "IP", **kw: Any) -> None:
        self.d["lbvserver"].append(lbvserver_record(name, vip, port, st, m, **kw))
        self.d["nsip"].append(nsip_record(vip, "255.255.255.255", "VIP"))

    def svc(self, name: str, srv: str, ip: str, port: int, st: str, usip: str, upp: str,
            *, vservers: tuple[str, ...] = (), monitors: tuple[str, ...] = (),
            server_comment: str = "", **kw: Any) -> None:
        rec = service_record(name, srv, ip, port, st, usip, upp, **kw)
        self.d["service"].append(rec)
        self.d["server"].append(server_record(srv, ip, comment=server_comment))
        for v in vservers:
            self.d["lbvserver_service_binding"].append(vserver_service_binding(v, rec))
        for mon in monitors:
            self.d["service_lbmonitor_binding"].append(service_monitor_binding(name, mon))

    def sg(self, name: str, st: str, usip: str, upp: str, *, vserver: str,
           members: list[tuple[str, str, int]], monitors: tuple[str, ...] = (),
           **kw: Any) -> None:
        self.d["servicegroup"].append(servicegroup_record(name, st, usip, upp, **kw))
        self.d["lbvserver_servicegroup_binding"].append(vserver_servicegroup_binding(vserver, name))
        for srv, ip, port in members:
            self.d["server"].append(server_record(srv, ip))
            self.d["servicegroup_servicegroupmember_binding"].append(
                member_record(name, ip, srv, port)
            )
        for mon in monitors:
            self.d["servicegroup_lbmonitor_binding"].append(servicegroup_monitor_binding(name, mon))


def dump(path: Path, scen: dict[str, Any]) -> None:
    """One record per line: greppable, and a change to one object is a one-line diff."""
    keys = [k for k in ORDER if k in scen] + [k for k in scen if k not in ORDER]
    assert set(keys) == set(scen)

    def body(obj: dict[str, Any], indent: str) -> list[str]:
        out = []
        ks = [k for k in ORDER if k in obj] + [k for k in obj if k not in ORDER]
        for i, k in enumerate(ks):
            v = obj[k]
            comma = "," if i < len(ks) - 1 else ""
            if k == "_partitions":
                out.append(f'{indent}"_partitions": {{')
                names = list(v)
                for j, pn in enumerate(names):
                    out.append(f"{indent}  {json.dumps(pn)}: {{")
                    out += body(v[pn], indent + "    ")
                    out.append(f"{indent}  }}" + ("," if j < len(names) - 1 else ""))
                out.append(f"{indent}}}{comma}")
            elif isinstance(v, list):
                if not v:
                    out.append(f"{indent}{json.dumps(k)}: []{comma}")
                    continue
                out.append(f"{indent}{json.dumps(k)}: [")
                for j, rec in enumerate(v):
                    out.append(f"{indent}  {json.dumps(rec)}" + ("," if j < len(v) - 1 else ""))
                out.append(f"{indent}]{comma}")
            else:
                out.append(f"{indent}{json.dumps(k)}: {json.dumps(v)}{comma}")
        return out

    text = "\n".join(["{", *body(scen, "  "), "}"]) + "\n"
    assert json.loads(text) == scen
    path.write_text(text, encoding="utf-8")


def appliance(comment: str, hostname: str, *, ha: bool, part: Part,
              partitions: dict[str, Part] | None = None) -> dict[str, Any]:
    scen: dict[str, Any] = {
        "_comment": comment,
        "_mock": mock_settings("Primary", hostname),
        "nsversion": nsversion_record(),
        "nsconfig": nsconfig_record(NSIP),
        "nsmode": nsmode_record(mbf=True, usip=False),
        "hanode": [hanode_record("0", NSIP, "Primary")]
        + ([hanode_record("1", "10.255.0.11", "Secondary")] if ha else []),
        "nspartition": [],
    }
    scen["nsip"] = [nsip_record(NSIP, "255.255.255.0", "NSIP"), *part.d.pop("nsip")]
    scen.update(part.d)
    if partitions:
        scen["_partitions"] = {}
        for i, (pn, p) in enumerate(partitions.items(), start=1):
            scen["nspartition"].append(nspartition_record(pn, str(i), f"00:00:5e:00:53:{i:02x}"))
            pd: dict[str, Any] = {
                "nsmode": nsmode_record(mbf=True, usip=False),
                "nsconfig": nsconfig_record(NSIP),
            }
            pd.update(p.d)
            scen["_partitions"][pn] = pd
    return scen


# ---------------------------------------------------------------- seed-incident
def seed() -> dict[str, Any]:
    p = Part()
    p.snip("10.10.20.1")
    p.snip("10.10.30.1")
    p.monitor("mon_app_ping", "PING")
    p.monitor("mon_web_http", "HTTP")
    p.monitor("mon_files_tcp", "TCP", destport=445)

    p.vs("vs_app_dsr", "203.0.113.10", ANY_PORT, "ANY", "MAC", lbmethod="ROUNDROBIN",
         comment="App farm, direct server return")
    for n, ip in (("01", "10.10.20.31"), ("02", "10.10.20.32")):
        p.svc(f"svc_app_{n}", f"app-{n}", ip, ANY_PORT, "ANY", "NO", "YES",
              vservers=("vs_app_dsr",), monitors=("mon_app_ping",),
              comment=f"app-{n}, VIP 203.0.113.10 on loopback")

    p.vs("vs_web_http", "203.0.113.20", 80, "HTTP", "IP", comment="Intranet web, proxy mode")
    for n, ip in (("01", "10.10.30.41"), ("02", "10.10.30.42")):
        p.svc(f"svc_web_{n}", f"web-{n}", ip, 80, "HTTP", "NO", "YES",
              vservers=("vs_web_http",), monitors=("mon_web_http",),
              cip="ENABLED", cipheader="X-Forwarded-For")

    p.vs("vs_files_dsr", "203.0.113.30", ANY_PORT, "ANY", "MAC", lbmethod="ROUNDROBIN",
         connfailover="STATELESS", comment="File servers, direct server return")
    for n, ip in (("01", "10.10.30.51"), ("02", "10.10.30.52")):
        p.svc(f"svc_files_{n}", f"files-{n}", ip, ANY_PORT, "ANY", "YES", "NO",
              vservers=("vs_files_dsr",), monitors=("mon_files_tcp",),
              comment=f"files-{n}, VIP 203.0.113.30 on loopback")

    return appliance(
        "Seed incident (shared/seed/incident-writeup.txt) with real addresses. vs_app_dsr is a "
        "MAC-mode (DSR) ANY/* vserver on VIP 203.0.113.10 (the write-up's 222.222.22.222) whose "
        "two services svc_app_01/02 (servers 10.10.20.31/.32; the write-up's non-address "
        "333:333:33:333) have usip NO: the servers answer the SNIP instead of the client "
        "(write-up client 111.111.11.111 would be e.g. 198.51.100.77; clients are not "
        "configuration). That is the only defect. Neighbours are healthy: vs_web_http is "
        "proxy mode (usip NO is right there) and vs_files_dsr is a correct DSR vserver "
        "(usip YES, useproxyport NO, TCP monitor). HA pair, this node Primary; global MBF on, "
        "global USIP off.",
        "ns-lab-01", ha=True, part=p,
    )


# ---------------------------------------------------------------- healthy
def healthy() -> dict[str, Any]:
    p = Part()
    p.snip("10.10.20.1")
    p.snip("10.10.30.1")
    p.monitor("mon_app_ping", "PING")
    p.monitor("mon_web_http", "HTTP")
    p.monitor("mon_files_tcp", "TCP", destport=445)

    p.vs("vs_app_dsr", "203.0.113.10", ANY_PORT, "ANY", "MAC", lbmethod="ROUNDROBIN",
         comment="App farm, direct server return")
    for n, ip in (("01", "10.10.20.31"), ("02", "10.10.20.32")):
        p.svc(f"svc_app_{n}", f"app-{n}", ip, ANY_PORT, "ANY", "YES", "NO",
              vservers=("vs_app_dsr",), monitors=("mon_app_ping",))

    p.vs("vs_files_dsr", "203.0.113.30", ANY_PORT, "ANY", "MAC", lbmethod="ROUNDROBIN",
         sessionless="ENABLED", comment="File servers, sessionless DSR")
    p.svc("svc_files_01", "files-01", "10.10.30.51", ANY_PORT, "ANY", "YES", "NO",
          vservers=("vs_files_dsr",), monitors=("mon_files_tcp",))

    p.vs("vs_web_http", "203.0.113.20", 80, "HTTP", "IP", comment="Intranet web, proxy mode")
    p.sg("sg_web", "HTTP", "NO", "YES", vserver="vs_web_http", monitors=("mon_web_http",),
         members=[("web-01", "10.10.30.41", 80), ("web-02", "10.10.30.42", 80),
                  ("web-03", "10.10.30.43", 80)])

    p.vs("vs_api_tcp", "203.0.113.21", 443, "TCP", "IP", comment="API, TCP proxy")
    p.svc("svc_api_01", "api-01", "10.10.20.61", 443, "TCP", "NO", "YES",
          vservers=("vs_api_tcp",))

    return appliance(
        "Healthy appliance, nothing to find. DSR vservers vs_app_dsr (MAC) and vs_files_dsr "
        "(MAC, sessionless) have every backend with usip YES, useproxyport NO, a PING or TCP "
        "monitor and an address inside a SNIP subnet. Proxy-mode vservers vs_web_http (service "
        "group sg_web, 3 members) and vs_api_tcp keep usip NO; svc_api_01 binds no monitor on "
        "purpose (NetScaler's implicit tcp-default). HA pair, this node Primary.",
        "ns-lab-02", ha=True, part=p,
    )


# ---------------------------------------------------------------- mixed
def mixed() -> dict[str, Any]:
    p = Part()
    p.snip("10.20.1.1")
    p.snip("10.20.2.1")
    p.monitor("mon_ping", "PING")
    p.monitor("mon_http", "HTTP")
    p.monitor("mon_user_script", "USER", scriptname="check_app.pl", interval=30, resptimeout=10)

    # Service groups: a DSR one with usip NO, a proxy one.
    p.vs("vs_sg_dsr", "203.0.113.40", ANY_PORT, "ANY", "MAC", lbmethod="ROUNDROBIN")
    p.sg("sg_dsr_bad", "ANY", "NO", "YES", vserver="vs_sg_dsr", monitors=("mon_ping",),
         members=[("sgm-01", "10.20.1.61", ANY_PORT), ("sgm-02", "10.20.1.62", ANY_PORT)])
    p.vs("vs_sg_proxy", "203.0.113.41", 80, "HTTP", "IP")
    p.sg("sg_web_proxy", "HTTP", "NO", "YES", vserver="vs_sg_proxy", monitors=("mon_http",),
         members=[("web-01", "10.20.2.71", 80), ("web-02", "10.20.2.72", 80)])

    # IPTUNNEL and TOS DSR with backends lacking usip; both may route to other subnets.
    p.vs("vs_tunnel", "203.0.113.42", ANY_PORT, "ANY", "IPTUNNEL", lbmethod="ROUNDROBIN")
    p.svc("svc_tunnel_01", "tun-01", "172.16.60.81", ANY_PORT, "ANY", "NO", "YES",
          vservers=("vs_tunnel",))
    p.vs("vs_tos", "203.0.113.43", ANY_PORT, "ANY", "TOS", tosid="12", lbmethod="ROUNDROBIN")
    p.svc("svc_tos_01", "tos-01", "172.16.61.91", ANY_PORT, "ANY", "NO", "YES",
          vservers=("vs_tos",), monitors=("mon_ping",))

    # One service behind a MAC-mode and an IP-mode vserver.
    p.vs("vs_shared_mac", "203.0.113.44", ANY_PORT, "ANY", "MAC", lbmethod="ROUNDROBIN")
    p.vs("vs_shared_ip", "203.0.113.45", ANY_PORT, "ANY", "IP")
    p.svc("svc_shared_01", "shared-01", "10.20.1.101", ANY_PORT, "ANY", "NO", "YES",
          vservers=("vs_shared_mac", "vs_shared_ip"), monitors=("mon_ping",))

    # MAC mode, backend outside every SNIP subnet.
    p.vs("vs_far_mac", "203.0.113.46", ANY_PORT, "ANY", "MAC", lbmethod="ROUNDROBIN")
    p.svc("svc_far_01", "far-01", "172.16.50.11", ANY_PORT, "ANY", "NO", "YES",
          vservers=("vs_far_mac",), monitors=("mon_ping",))

    # MAC mode, usip fine, but the only monitor is a script (USER) one.
    p.vs("vs_script_mon", "203.0.113.47", ANY_PORT, "ANY", "MAC", lbmethod="ROUNDROBIN")
    p.svc("svc_script_01", "script-01", "10.20.1.111", ANY_PORT, "ANY", "YES", "NO",
          vservers=("vs_script_mon",), monitors=("mon_user_script",))

    # The write-up's non-address, stored as given (data defect).
    p.vs("vs_badaddr", "203.0.113.48", ANY_PORT, "ANY", "MAC", lbmethod="ROUNDROBIN",
         curstate="DOWN")
    p.svc("svc_badaddr_01", "bad-addr-01", "333:333:33:333", ANY_PORT, "ANY", "NO", "YES",
          vservers=("vs_badaddr",), monitors=("mon_ping",), svrstate="DOWN",
          server_comment="address copied from the incident write-up")

    # Unknown redirection mode (data defect).
    p.vs("vs_weird_mode", "203.0.113.49", ANY_PORT, "ANY", "DSR", lbmethod="ROUNDROBIN")
    p.svc("svc_weird_01", "weird-01", "10.20.1.121", ANY_PORT, "ANY", "NO", "YES",
          vservers=("vs_weird_mode",), monitors=("mon_ping",))

    # Names that need URL encoding (space, colon, at sign); an appliance refuses `/` in names.
    p.vs("web tier:app@1", "203.0.113.50", ANY_PORT, "ANY", "MAC", lbmethod="ROUNDROBIN")
    p.svc("svc web tier:app@1", "srv web tier:app@1", "10.20.2.131", ANY_PORT, "ANY", "NO",
          "YES", vservers=("web tier:app@1",), monitors=("mon_ping",))

    # Disabled vserver; disabled service next to a good one.
    p.vs("vs_disabled_mac", "203.0.113.51", ANY_PORT, "ANY", "MAC", lbmethod="ROUNDROBIN",
         state="DISABLED")
    p.svc("svc_dormant_01", "dormant-01", "10.20.1.141", ANY_PORT, "ANY", "NO", "YES",
          vservers=("vs_disabled_mac",), monitors=("mon_ping",))
    p.vs("vs_dsr_partial", "203.0.113.52", ANY_PORT, "ANY", "MAC", lbmethod="ROUNDROBIN")
    p.svc("svc_dsr_good_01", "good-01", "10.20.1.151", ANY_PORT, "ANY", "YES", "NO",
          vservers=("vs_dsr_partial",), monitors=("mon_ping",))
    p.svc("svc_disabled_01", "disabled-01", "10.20.1.152", ANY_PORT, "ANY", "NO", "YES",
          vservers=("vs_dsr_partial",), monitors=("mon_ping",), state="DISABLED")

    # usip YES on a proxy-mode vserver only.
    p.vs("vs_proxy_usip", "203.0.113.53", 8080, "TCP", "IP")
    p.svc("svc_proxy_usip_01", "proxyusip-01", "10.20.2.161", 8080, "TCP", "YES", "YES",
          vservers=("vs_proxy_usip",))

    # A service bound to no vserver.
    p.svc("svc_unbound_01", "unbound-01", "10.20.2.171", ANY_PORT, "ANY", "NO", "YES")

    # Admin partition p_apps.
    pa = Part()
    pa.snip("10.30.1.1")
    pa.monitor("mon_p_ping", "PING")
    pa.vs("vs_p_dsr", "198.51.100.60", ANY_PORT, "ANY", "MAC", lbmethod="ROUNDROBIN")
    pa.svc("svc_p_app_01", "p-app-01", "10.30.1.21", ANY_PORT, "ANY", "NO", "YES",
           vservers=("vs_p_dsr",), monitors=("mon_p_ping",))

    return appliance(
        "Every special case on one standalone node; see mocks/scenarios/README.md for the "
        "object-by-object table. Deliberate data defects: svc_badaddr_01/bad-addr-01 carry "
        "333:333:33:333, vs_weird_mode has redirection mode 'DSR'. Admin partition p_apps has "
        "its own DSR vserver with a usip NO service and its own SNIP.",
        "ns-lab-03", ha=False, part=p, partitions={"p_apps": pa},
    )


def unknown_node() -> dict[str, Any]:
    """The seed incident read from a node that is not the primary and has no hostname."""
    scen = seed()
    scen["_comment"] = (
        "The seed incident on a node that is not the primary and has no hostname: this node "
        "reports HA state UNKNOWN (a documented hanode state), its peer 10.255.0.11 reports "
        "Primary, and 'show ns hostName' returns no record. nsfix names the appliance by its "
        "address, plans nothing (ha-not-primary) and refuses apply, naming the primary."
    )
    scen["_mock"] = {**scen["_mock"], "ha_state": "UNKNOWN", "hostname": None}
    for node in scen["hanode"]:
        if str(node["id"]) == "0":
            node["state"] = "UNKNOWN"
    return scen


def main() -> int:
    dump(OUT / "seed-incident.json", seed())
    dump(OUT / "healthy.json", healthy())
    dump(OUT / "mixed.json", mixed())
    dump(OUT / "unknown-node.json", unknown_node())
    # topology.json is written by hand: its objects are described in README.md.
    return 0


if __name__ == "__main__":
    sys.exit(main())
