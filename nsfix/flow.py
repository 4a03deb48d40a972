"""A model of the packet path (client → router → NetScaler → server → reply) for one backend."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from nsfix.model import (
    DSR_MODES,
    IPAddress,
    IPNetwork,
    LbVserver,
    Service,
    ServiceGroup,
    ServiceGroupMember,
    Snapshot,
    Snip,
    best_snip,
    parsed_address,
)
from nsfix.serverfacts import ServerFact, ServerFacts, canonical_address

# Documentation ranges (RFC 5737, RFC 3849): a trace never names a real client.
DEFAULT_CLIENT_IP: Final = "203.0.113.50"
DEFAULT_CLIENT_IP6: Final = "2001:db8:ffff::50"

CLIENT: Final = "client"
ROUTER: Final = "router"
NETSCALER: Final = "netscaler"
SERVER: Final = "server"
MAC_CLIENT: Final = "mac(client)"
MAC_ROUTER: Final = "mac(router)"
MAC_NETSCALER: Final = "mac(netscaler)"
MAC_SERVER: Final = "mac(server)"


class Outcome(StrEnum):
    """Where the server's reply ends up."""

    DIRECT_RETURN = "direct-return"
    """Healthy DSR: the reply goes straight to the client."""
    VIA_NETSCALER = "via-netscaler"
    """The reply returns through the NetScaler: healthy in proxy mode (m=IP), not in DSR."""
    LOOP = "loop"
    """DSR forwarding with a SNIP as the source the server saw: the reply goes to the NetScaler."""
    ASYMMETRIC = "asymmetric"
    """Proxy mode, usip YES, server gateway not the NetScaler: the client resets (CTX233036)."""
    ARP_BYPASS = "arp-bypass"
    """A backend answers ARP for the VIP, so traffic reaches it without the NetScaler."""
    MAC_NOT_LEARNED = "mac-not-learned"
    """MAC mode without a probing monitor: the NetScaler loops traffic to itself (CTX138969)."""
    NO_LAYER2 = "no-layer2"
    """MAC mode and the backend is outside every SNIP subnet: the frame cannot reach it."""
    UNDETERMINED = "undetermined"
    """The data does not allow a trace; the summary says why."""


@dataclass(frozen=True)
class Hop:
    """One frame on one link: who sends it to whom, with which addresses."""

    phase: int
    """1..4 as in the incident write-up, 5 for what happens to the reply afterwards."""
    sender: str
    receiver: str
    src_ip: str
    dst_ip: str
    src_mac: str | None
    dst_mac: str | None
    note: str


@dataclass(frozen=True)
class Trace:
    """The path of one request and its reply for one virtual server and one backend."""

    vserver: str
    backend: str
    """A service name, or `group/member-address:port` for a service-group member."""
    backend_address: str
    mode: str
    usip: bool | None
    """The backend's usip after any override; `None` when unknown (see the assumptions)."""
    outcome: Outcome
    healthy: bool
    hops: tuple[Hop, ...]
    assumptions: tuple[str, ...]
    summary: str


@dataclass(frozen=True)
class BackendOverride:
    """What-if attributes for a backend object, to trace the path after a planned change."""

    usip: bool | None = None
    useproxyport: bool | None = None
    monitors: tuple[str, ...] | None = None


@dataclass(frozen=True)
class _Backend:
    """A service or one service-group member, with the settings it takes from its owner."""

    label: str
    owner: Service | ServiceGroup
    member: ServiceGroupMember | None
    address: IPAddress | None
    address_text: str

    @property
    def object_name(self) -> str:
        return self.owner.name

    @property
    def servername(self) -> str | None:
        if self.member is not None:
            return self.member.servername
        return self.owner.servername if isinstance(self.owner, Service) else None

    @property
    def kind(self) -> str:
        return "service" if isinstance(self.owner, Service) else "service group"


# --- public API ------------------------------------------------------------------------------


def trace(
    snapshot: Snapshot,
    vserver: str,
    backend: str,
    *,
    facts: ServerFacts | None = None,
    override: BackendOverride | None = None,
    client_ip: str = DEFAULT_CLIENT_IP,
) -> Trace:
    """Trace a request to `vserver` forwarded to `backend` (a service name or `group/addr:port`).

    Raises `LookupError` for an unknown virtual server; an unknown backend is an `UNDETERMINED`
    trace, because bindings to objects that do not exist are data defects, not caller errors.
    """
    vs = snapshot.vservers.get(vserver)
    if vs is None:
        raise LookupError(f"no load-balancing virtual server named {vserver!r}")
    found = _find_backend(snapshot, backend)
    if found is None:
        return _Walk(snapshot, vs, None, backend, facts, override, client_ip).unknown_backend()
    return _Walk(snapshot, vs, found, found.label, facts, override, client_ip).run()


def trace_vserver(
    snapshot: Snapshot,
    vserver: str,
    *,
    facts: ServerFacts | None = None,
    overrides: Mapping[str, BackendOverride] | None = None,
    client_ip: str = DEFAULT_CLIENT_IP,
) -> list[Trace]:
    """One trace per backend of `vserver`: each bound service, and each member of bound groups.

    `overrides` is keyed by backend object name (service or service-group name).
    """
    vs = snapshot.vservers.get(vserver)
    if vs is None:
        raise LookupError(f"no load-balancing virtual server named {vserver!r}")
    wanted = overrides or {}
    traces: list[Trace] = []
    for name in vs.services:
        traces.append(
            trace(
                snapshot, vserver, name, facts=facts, override=wanted.get(name), client_ip=client_ip
            )
        )
    for group_name in vs.servicegroups:
        group = snapshot.servicegroups.get(group_name)
        override = wanted.get(group_name)
        if group is None or not group.members:
            walk = _Walk(snapshot, vs, None, group_name, facts, override, client_ip)
            why = (
                f"service group {group_name} does not exist"
                if group is None
                else f"service group {group_name} has no members"
            )
            traces.append(walk.undetermined(why))
            continue
        for member in group.members:
            found = _Backend(
                member_label(group, member), group, member, member.address, member.address_text
            )
            traces.append(_Walk(snapshot, vs, found, found.label, facts, override, client_ip).run())
    return traces


def member_label(group: ServiceGroup, member: ServiceGroupMember) -> str:
    """`group/address:port`, the backend name of one service-group member."""
    where = member.address_text or member.servername or "?"
    port = "?" if member.port is None else str(member.port)
    return f"{group.name}/{where}:{port}"


def render_trace(trace: Trace) -> str:
    """A plain-text walk: a heading, one line per hop, the outcome, then the assumptions."""
    usip = "unknown" if trace.usip is None else ("YES" if trace.usip else "NO")
    lines = [
        f"{trace.vserver} -> {trace.backend} ({trace.backend_address or 'no address'}), "
        f"mode {trace.mode}, usip {usip}"
    ]
    for hop in trace.hops:
        macs = ""
        if hop.src_mac is not None or hop.dst_mac is not None:
            macs = f" [{hop.src_mac or '?'} -> {hop.dst_mac or '?'}]"
        lines.append(
            f"  {hop.phase}. {hop.sender} -> {hop.receiver}: "
            f"{hop.src_ip} -> {hop.dst_ip}{macs}  {hop.note}"
        )
    verdict = "healthy" if trace.healthy else "not healthy"
    lines.append(f"outcome: {trace.outcome} ({verdict}): {trace.summary}")
    if trace.assumptions:
        lines.append("assumptions:")
        lines.extend(f"  - {text}" for text in trace.assumptions)
    return "\n".join(lines)


# --- finding the backend ---------------------------------------------------------------------


def _find_backend(snapshot: Snapshot, backend: str) -> _Backend | None:
    service = snapshot.services.get(backend)
    if service is not None:
        return _Backend(backend, service, None, service.address, service.address_text)
    group_name, slash, _ = backend.partition("/")
    group = snapshot.servicegroups.get(group_name) if slash else None
    if group is None:
        return None
    for member in group.members:
        label = member_label(group, member)
        if label == backend:
            return _Backend(label, group, member, member.address, member.address_text)
    return None


# --- the walk --------------------------------------------------------------------------------


class _Walk:
    """Collects hops and assumptions for one trace, then decides the outcome."""

    def __init__(
        self,
        snapshot: Snapshot,
        vs: LbVserver,
        backend: _Backend | None,
        label: str,
        facts: ServerFacts | None,
        override: BackendOverride | None,
        client_ip: str,
    ) -> None:
        self.snapshot = snapshot
        self.vs = vs
        self.backend = backend
        self.label = label
        self.facts = facts
        self.override = override or BackendOverride()
        self.hops: list[Hop] = []
        self.assumptions: list[str] = []
        self.mode = vs.m if vs.m is not None else vs.m_text
        self.vip, self.vip_network = self._vip()
        self.client = self._client(client_ip)

    # -- setup --

    def _vip(self) -> tuple[str | None, IPNetwork | None]:
        if self.vs.vip is not None and self.vs.vip.is_unspecified:
            # A backup or content-switching target: clients reach it at another vserver's VIP,
            # and in DSR that VIP stays the destination the server sees.
            entries = self.snapshot.entry_points(self.vs.name)
            if not entries:
                return None, None
            entry = entries[0]
            others = f" (and {len(entries) - 1} more)" if len(entries) > 1 else ""
            self.assumptions.append(
                f"{self.vs.name} has no VIP of its own: traced with VIP {entry.vip_text} of "
                f"{entry.vserver} ({entry.how}){others}"
            )
            return entry.vip_text, None
        if self.vs.vip is not None:
            return str(self.vs.vip), None
        if "/" in self.vs.vip_text:
            try:
                network = ipaddress.ip_network(self.vs.vip_text, strict=False)
            except ValueError:
                return None, None
            self.assumptions.append(
                f"wildcard virtual server: the VIP stands for any address in {self.vs.vip_text}"
            )
            return self.vs.vip_text, network
        return None, None

    def _client(self, client_ip: str) -> str:
        client = parsed_address(client_ip.strip())
        if client is None:
            raise ValueError(f"client_ip {client_ip!r} is not an IP address")
        version = self.vs.vip.version if self.vs.vip is not None else None
        if self.vip_network is not None:
            version = self.vip_network.version
        if version == 6 and client.version == 4 and client_ip == DEFAULT_CLIENT_IP:
            return DEFAULT_CLIENT_IP6
        if client_ip == DEFAULT_CLIENT_IP and self.vs.vip == client:
            # The example client must not be the VIP itself, or every hop reads "A -> A".
            return str(client + 1)
        return str(client)

    # -- results --

    def _trace(self, outcome: Outcome, summary: str) -> Trace:
        if outcome is Outcome.DIRECT_RETURN:
            healthy = self.vs.m in DSR_MODES
        elif outcome is Outcome.VIA_NETSCALER:
            healthy = self.vs.m == "IP"
        else:
            healthy = False
        backend = self.backend
        usip = self.override.usip
        if usip is None and backend is not None:
            usip = backend.owner.effective_usip
        return Trace(
            vserver=self.vs.name,
            backend=self.label,
            backend_address=backend.address_text if backend is not None else "",
            mode=self.mode,
            usip=usip,
            outcome=outcome,
            healthy=healthy,
            hops=tuple(sorted(self.hops, key=lambda hop: hop.phase)),
            assumptions=tuple(dict.fromkeys(self.assumptions)),
            summary=summary,
        )

    def undetermined(self, why: str) -> Trace:
        if not self.hops and self.vip is not None:
            self._front()
        return self._trace(Outcome.UNDETERMINED, why)

    def unknown_backend(self) -> Trace:
        return self.undetermined(f"no service or service-group member named {self.label}")

    def hop(
        self,
        phase: int,
        sender: str,
        receiver: str,
        src_ip: str,
        dst_ip: str,
        src_mac: str | None,
        dst_mac: str | None,
        note: str,
    ) -> None:
        self.hops.append(Hop(phase, sender, receiver, src_ip, dst_ip, src_mac, dst_mac, note))

    # -- the path --

    def run(self) -> Trace:
        backend = self.backend
        assert backend is not None
        self._note_states(backend)
        if self.vip is None and self.vs.vip is not None:
            return self.undetermined(
                f"{self.vs.name} has no VIP of its own ({self.vs.vip_text}) and no virtual "
                "server or content switching forwards to it: no client traffic reaches it"
            )
        if self.vip is None:
            return self.undetermined(
                f"the VIP of {self.vs.name} is not an address ({self.vs.vip_text or 'missing'})"
            )
        mode = self.vs.m
        if mode is None:
            return self.undetermined(
                f"unknown redirection mode {self.vs.m_text!r} on {self.vs.name}"
            )
        if backend.address is None:
            what = backend.address_text or backend.servername or "missing"
            return self.undetermined(f"{backend.label} has no usable address ({what})")
        usip = self._usip(backend)
        self._front()
        return _WALKS[mode](self, backend, backend.address, usip)

    def _note_states(self, backend: _Backend) -> None:
        if self.vs.state == "DISABLED":
            self.assumptions.append(
                f"virtual server {self.vs.name} is disabled: traced as it would run once enabled"
            )
        if backend.owner.state == "DISABLED":
            self.assumptions.append(
                f"{backend.kind} {backend.object_name} is disabled: traced as it would run once "
                "enabled"
            )
        if backend.member is not None and backend.member.state == "DISABLED":
            self.assumptions.append(
                f"member {backend.label} is disabled: traced as it would run once enabled"
            )
        if backend.object_name not in self.vs.services + self.vs.servicegroups:
            self.assumptions.append(
                f"{backend.kind} {backend.object_name} is not bound to {self.vs.name}: traced as "
                "if it were"
            )

    def _front(self) -> None:
        vip = self.vip or "?"
        self.hop(
            1,
            CLIENT,
            ROUTER,
            self.client,
            vip,
            MAC_CLIENT,
            MAC_ROUTER,
            "The client sends its request for the VIP to its default gateway.",
        )
        self.hop(
            2,
            ROUTER,
            NETSCALER,
            self.client,
            vip,
            MAC_ROUTER,
            MAC_NETSCALER,
            "The router forwards the request to the NetScaler, which owns the VIP and answers "
            "ARP for it.",
        )

    def _usip(self, backend: _Backend) -> bool:
        """The usip value the appliance would act on, with an assumption when it is unknown."""
        if self.override.usip is not None:
            return self.override.usip
        owner = backend.owner
        where = f"{backend.kind} {backend.object_name}"
        if owner.usip is not None:
            return owner.usip
        if owner.effective_usip is not None:
            # Not set on the object: it follows the global mode (CTX109858), a fact for a
            # service and documented nowhere for a group.
            if isinstance(owner, ServiceGroup):
                word = "on" if owner.effective_usip else "off"
                self.assumptions.append(
                    f"usip of {where} not reported: assumed it follows the global USIP mode "
                    f"({word}) as services do"
                )
            return owner.effective_usip
        self.assumptions.append(
            f"usip of {where} and the global USIP mode unknown: assumed NO, the factory default"
        )
        return False

    def _snip_on_subnet(self, backend: _Backend, address: IPAddress) -> Snip | None:
        """The SNIP of the backend's traffic domain whose subnet holds the server: layer-2
        adjacency, and the source USNIP picks."""
        return self.snapshot.snip_for(address, backend.owner.td)

    def _off_link(self, backend: _Backend, address: IPAddress) -> str:
        """Why no SNIP reaches the server: none holds it, or only one of another domain does."""
        td = backend.owner.td
        others = self.snapshot.other_domain_snips(address, td)
        where = f"every SNIP subnet of traffic domain {td}" if td else "every SNIP subnet"
        if not others:
            return f"outside {where}"
        return (
            f"outside {where} (SNIP {others[0].address} of traffic domain {others[0].td} holds "
            "it, but a SNIP of another traffic domain is no adjacency)"
        )

    def _routed_snip(self, backend: _Backend, address: IPAddress) -> Snip | None:
        candidates = [
            s
            for s in self.snapshot.snips
            if s.network.version == address.version and s.td == backend.owner.td
        ]
        snip = best_snip(candidates)
        if snip is not None:
            self.assumptions.append(
                f"{address} is outside every SNIP subnet: assumed the NetScaler sources its "
                f"traffic to it from SNIP {snip.address} and routes it"
            )
        return snip

    def _source_snip(self, backend: _Backend, address: IPAddress) -> tuple[Snip | None, bool]:
        """The SNIP the NetScaler sources server-side traffic from, and whether it is on-link."""
        snip = self._snip_on_subnet(backend, address)
        if snip is not None:
            if snip.state == "DISABLED":
                self.assumptions.append(f"SNIP {snip.address} is disabled: traced as if enabled")
            return snip, True
        if self.snapshot.modes.usnip is False:
            self.assumptions.append(
                "USNIP mode is off: the NetScaler may source server-side traffic from its "
                "NSIP or MIP instead of the SNIP shown"
            )
        return self._routed_snip(backend, address), False

    def _no_source_snip(self, server: str) -> Trace:
        return self.undetermined(
            f"no SNIP of the same IP version as {server}: cannot tell which address the "
            "NetScaler sources its server-side traffic from"
        )

    def _is_snip(self, address: str) -> bool:
        canonical = canonical_address(address)
        return any(str(snip.address) == canonical for snip in self.snapshot.snips)

    def _fact(self, backend: _Backend) -> ServerFact | None:
        if self.facts is None:
            return None
        return self.facts.get(backend.address_text)

    def _to_server(self, src: str, dst: str, on_link: bool, note: str, *, phase: int = 3) -> None:
        """NetScaler → server, directly on a shared subnet or through a router."""
        if on_link:
            self.hop(phase, NETSCALER, SERVER, src, dst, MAC_NETSCALER, MAC_SERVER, note)
            return
        self.hop(phase, NETSCALER, ROUTER, src, dst, MAC_NETSCALER, MAC_ROUTER, note)
        self.hop(
            phase,
            ROUTER,
            SERVER,
            src,
            dst,
            MAC_ROUTER,
            MAC_SERVER,
            "A router between the NetScaler and the server delivers the packet.",
        )

    def _to_netscaler(self, src: str, dst: str, on_link: bool, note: str) -> None:
        """Server → NetScaler in phase 4, directly on a shared subnet or through a router."""
        if on_link:
            self.hop(4, SERVER, NETSCALER, src, dst, MAC_SERVER, MAC_NETSCALER, note)
            return
        self.hop(4, SERVER, ROUTER, src, dst, MAC_SERVER, MAC_ROUTER, note)
        self.hop(
            4,
            ROUTER,
            NETSCALER,
            src,
            dst,
            MAC_ROUTER,
            MAC_NETSCALER,
            "The router delivers it to the NetScaler, which owns that address.",
        )

    def _netscaler_to_client(self, src: str, note: str) -> None:
        self.hop(5, NETSCALER, ROUTER, src, self.client, MAC_NETSCALER, MAC_ROUTER, note)
        self.hop(
            5,
            ROUTER,
            CLIENT,
            src,
            self.client,
            MAC_ROUTER,
            MAC_CLIENT,
            "The router delivers the reply to the client.",
        )

    # -- m=IP: the NetScaler proxies --

    def _ip_mode(self, backend: _Backend, address: IPAddress, usip: bool) -> Trace:
        """The server answers the source it saw: a SNIP with usip NO, the client with usip YES."""
        if usip:
            return self._proxy_keeping_client(backend, address)
        return self._proxy_from_snip(backend, address)

    def _proxy_from_snip(self, backend: _Backend, address: IPAddress) -> Trace:
        vip = self.vip or "?"
        server = str(address)
        snip, on_link = self._source_snip(backend, address)
        if snip is None:
            return self._no_source_snip(server)
        source = str(snip.address)
        self._to_server(
            source,
            server,
            on_link,
            f"IP mode: the NetScaler rewrites the destination from the VIP to the server; "
            f"usip NO, so the source becomes SNIP {source}.",
        )
        self._to_netscaler(
            server,
            source,
            on_link,
            f"The server answers the address it saw, SNIP {source}, so the reply returns to "
            "the NetScaler.",
        )
        self._netscaler_to_client(
            vip,
            "The NetScaler maps the reply back to the client's connection and sends it from "
            "the VIP.",
        )
        return self._trace(
            Outcome.VIA_NETSCALER,
            f"proxy mode: the server answers SNIP {source} and the NetScaler relays the reply",
        )

    def _proxy_keeping_client(self, backend: _Backend, address: IPAddress) -> Trace:
        vip = self.vip or "?"
        server = str(address)
        on_link = self._snip_on_subnet(backend, address) is not None
        self._to_server(
            self.client,
            server,
            on_link,
            "IP mode: the NetScaler rewrites the destination from the VIP to the server; usip "
            "YES, so the source stays the client.",
        )
        fact = self._fact(backend)
        gateway = fact.default_gateway if fact is not None else None
        if gateway is not None and not self._is_snip(gateway):
            return self._asymmetric(server, gateway)
        if gateway is None:
            self.assumptions.append(
                f"default gateway of {server} unknown: assumed it is a NetScaler SNIP, which "
                "usip YES in IP mode needs (CTX233036)"
            )
            via = "a NetScaler SNIP"
        else:
            via = f"SNIP {gateway}"
        self._to_netscaler(
            server,
            self.client,
            True,
            f"The server answers the client through its default gateway, {via}, so the reply "
            "passes the NetScaler.",
        )
        self._netscaler_to_client(
            vip, "The NetScaler rewrites the reply's source back to the VIP and forwards it."
        )
        return self._trace(
            Outcome.VIA_NETSCALER,
            "proxy mode with usip YES: the server routes its reply back through the NetScaler",
        )

    def _asymmetric(self, server: str, gateway: str) -> Trace:
        """Proxy mode, usip YES, and a gateway that is not a SNIP: the reply bypasses the box."""
        self.hop(
            4,
            SERVER,
            ROUTER,
            server,
            self.client,
            MAC_SERVER,
            MAC_ROUTER,
            f"The server answers the client through its default gateway {gateway}, which is "
            "not a NetScaler SNIP, so the reply bypasses the NetScaler.",
        )
        self.hop(
            5,
            ROUTER,
            CLIENT,
            server,
            self.client,
            MAC_ROUTER,
            MAC_CLIENT,
            "The client expected a reply from the VIP, gets one from the server's own "
            "address, does not match it to its connection and resets it (CTX233036).",
        )
        return self._trace(
            Outcome.ASYMMETRIC,
            f"usip YES in proxy mode but the server's gateway {gateway} is not a NetScaler "
            "SNIP: replies bypass the NetScaler and the client resets",
        )

    # -- MAC, IPTUNNEL, TOS: the server answers the client itself --

    def _mac_mode(self, backend: _Backend, address: IPAddress, usip: bool) -> Trace:
        """Only the destination MAC changes, so the server must share a SNIP subnet."""
        vip = self.vip or "?"
        server = str(address)
        snip = self._snip_on_subnet(backend, address)
        if snip is None:
            self.hop(
                3,
                NETSCALER,
                SERVER,
                self.client if usip else "?",
                vip,
                MAC_NETSCALER,
                None,
                f"MAC mode rewrites only the destination MAC, but {server} is "
                f"{self._off_link(backend, address)}: there is no layer-2 path to it.",
            )
            return self._trace(
                Outcome.NO_LAYER2,
                f"MAC mode cannot reach {server} ({self._off_link(backend, address)}); use "
                "IPTUNNEL or TOS redirection for remote servers",
            )
        snip_text = str(snip.address)
        source = self.client if usip else snip_text
        learned, why = self._mac_learning(backend)
        if not learned:
            self.hop(
                3,
                NETSCALER,
                NETSCALER,
                source,
                vip,
                MAC_NETSCALER,
                MAC_NETSCALER,
                f"{why}, so the NetScaler never learns the server's MAC; it ARPs for the "
                "destination, its own VIP, gets its own MAC and sends the traffic back to "
                "itself (CTX138969).",
            )
            return self._trace(
                Outcome.MAC_NOT_LEARNED,
                f"{why}: in MAC mode the NetScaler never learns the server's MAC and loops "
                "the traffic to itself",
            )
        self._to_server(
            source,
            vip,
            True,
            f"MAC mode: the NetScaler rewrites only the destination MAC to the server's; the "
            f"destination IP stays the VIP; {_keeps(usip, snip_text)}.",
        )
        return self._dsr_reply(backend, server, snip_text, True, usip)

    def _iptunnel_mode(self, backend: _Backend, address: IPAddress, usip: bool) -> Trace:
        """IP-in-IP from a SNIP, so the server may sit behind a router."""
        vip = self.vip or "?"
        server = str(address)
        snip, on_link = self._source_snip(backend, address)
        if snip is None:
            return self._no_source_snip(server)
        snip_text = str(snip.address)
        inner = self.client if usip else snip_text
        self._to_server(
            snip_text,
            server,
            on_link,
            f"IPTUNNEL mode: the NetScaler wraps the request ({inner} -> VIP {vip}) in an "
            f"IP-in-IP packet from SNIP {snip_text} to the server; {_keeps(usip, snip_text)} in "
            "the inner packet.",
        )
        if not usip:
            # The redirection-mode page says the inner client packet is not modified, but the
            # USIP page lists DSR among the cases that need USIP; err on the side of a finding.
            self.assumptions.append(
                "IPTUNNEL with usip NO: assumed the inner source is a SNIP, as in MAC mode "
                "(the docs say DSR needs USIP; the redirection-mode page says the inner "
                "packet is not modified)"
            )
        return self._dsr_reply(backend, server, snip_text, on_link, usip)

    def _tos_mode(self, backend: _Backend, address: IPAddress, usip: bool) -> Trace:
        """The destination IP becomes the server's and the VIP travels as a TOS id."""
        if not self.vs.tosid:
            return self.undetermined(
                f"TOS mode without a TOS id on {self.vs.name}: the server cannot tell which VIP "
                "the request was for"
            )
        server = str(address)
        if usip:
            # The source stays the client, so only whether the server shares a SNIP subnet
            # matters, not which SNIP the NetScaler would source from.
            snip = self._snip_on_subnet(backend, address)
            on_link = snip is not None
        else:
            snip, on_link = self._source_snip(backend, address)
            if snip is None:
                return self._no_source_snip(server)
        snip_text = str(snip.address) if snip is not None else "?"
        # TOS DSR rewrites the destination IP to the server and carries the VIP as a TOS id,
        # which is why servers may sit in another network (NetScaler docs: "Configure DSR mode
        # when using TOS", load-balancing-dsrmode-tos.html, and the IPv6 TOS use case,
        # load-balancing-dsrmode-ipv6-tos.html). So TOS needs no layer-2 adjacency.
        self._to_server(
            self.client if usip else snip_text,
            server,
            on_link,
            f"TOS mode: the NetScaler rewrites the destination IP to the server and encodes "
            f"the VIP as TOS id {self.vs.tosid}; {_keeps(usip, snip_text)}.",
        )
        return self._dsr_reply(backend, server, snip_text, on_link, usip)

    def _dsr_reply(
        self, backend: _Backend, server: str, snip: str, on_link: bool, usip: bool
    ) -> Trace:
        """Phases 4 and 5 of a DSR mode: where the server's reply from the VIP goes."""
        fact = self._fact(backend)
        bad = self._check_server(backend, fact, on_link, usip)
        if bad is not None:
            return bad
        if not usip:
            return self._loop(snip, on_link)
        gateway = fact.default_gateway if fact is not None else None
        if gateway is not None and self._is_snip(gateway):
            return self._via_snip_gateway(gateway)
        return self._direct_return(backend, server, gateway)

    def _loop(self, snip: str, on_link: bool) -> Trace:
        """usip NO in DSR: the server answers the SNIP it saw as the source."""
        vip = self.vip or "?"
        self._to_netscaler(
            vip,
            snip,
            on_link,
            f"The server saw SNIP {snip} as the source, so it answers SNIP {snip} "
            "from the VIP on its loopback: the reply goes to the NetScaler instead of the "
            "client (the write-up's phase 4).",
        )
        self._to_server(
            vip,
            snip,
            on_link,
            "The NetScaler forwarded the request without a proxy connection and expects no "
            "reply, so the client never gets one; the write-up saw such frames bounce between "
            "the NetScaler and the server and queue other services behind them (the exact "
            "appliance behaviour is not documented).",
            phase=5,
        )
        return self._trace(
            Outcome.LOOP,
            f"usip NO: the server answers SNIP {snip} instead of the client, so the "
            "reply goes back to the NetScaler (the write-up's loop)",
        )

    def _via_snip_gateway(self, gateway: str) -> Trace:
        """A DSR server whose default gateway is a SNIP sends its reply back to the NetScaler."""
        vip = self.vip or "?"
        self._to_netscaler(
            vip,
            self.client,
            True,
            f"The server's default gateway is SNIP {gateway}, so its reply from the VIP goes "
            "to the NetScaler rather than to the upstream router (CTX110501 wants the "
            "router).",
        )
        self._netscaler_to_client(
            vip,
            "The NetScaler holds no session for this reply; at best it routes it on and the "
            "point of direct server return is lost.",
        )
        return self._trace(
            Outcome.VIA_NETSCALER,
            f"the server's default gateway {gateway} is a NetScaler SNIP: DSR replies go "
            "back through the NetScaler; point it at the upstream router",
        )

    def _direct_return(self, backend: _Backend, server: str, gateway: str | None) -> Trace:
        vip = self.vip or "?"
        if gateway is None:
            self.assumptions.append(
                f"default gateway of {server} unknown: assumed it is the upstream router, not "
                "the NetScaler"
            )
        self.hop(
            4,
            SERVER,
            ROUTER,
            vip,
            self.client,
            MAC_SERVER,
            MAC_ROUTER,
            "The server answers from the VIP on its loopback to the client, through its default "
            "gateway, the router.",
        )
        self.hop(
            5,
            ROUTER,
            CLIENT,
            vip,
            self.client,
            MAC_ROUTER,
            MAC_CLIENT,
            "The reply reaches the client without passing the NetScaler: direct server return.",
        )
        if self.override.useproxyport is not False and backend.owner.useproxyport is not False:
            self.assumptions.append(
                "useproxyport is not NO: assumed the NetScaler keeps the client's source port "
                "when it forwards in DSR mode (not confirmed by the NetScaler documentation)"
            )
        return self._trace(
            Outcome.DIRECT_RETURN,
            "DSR working: the server sees the client's address and answers it directly",
        )

    def _check_server(
        self, backend: _Backend, fact: ServerFact | None, on_link: bool, usip: bool
    ) -> Trace | None:
        """Server-side preconditions of DSR: the VIP on a loopback that does not answer ARP."""
        vip = self.vip or "?"
        server = backend.address_text
        if fact is None:
            self.assumptions.append(
                f"server facts unknown for {server}: assumed the VIP is on a non-ARPing loopback"
            )
            return None
        if fact.loopback_vips is None:
            self.assumptions.append(
                f"loopback VIPs of {server} unknown: assumed the VIP is on its loopback"
            )
        elif not self._vip_on_loopback(fact.loopback_vips):
            return self._trace(
                Outcome.UNDETERMINED,
                f"the VIP {vip} is not on a loopback of {server}: the server drops the request "
                "as not addressed to it; add the VIP to a loopback interface",
            )
        if fact.arp_suppressed is None:
            self.assumptions.append(
                f"ARP suppression on {server} unknown: assumed its loopback does not answer ARP "
                "for the VIP"
            )
            return None
        if fact.arp_suppressed:
            return None
        if not on_link and self.vs.m != "MAC":
            # Off every SNIP subnet the server does not share the segment where the VIP is ARPed.
            self.assumptions.append(
                f"{server} answers ARP for the VIP but is outside every SNIP subnet: assumed it "
                "does not share a segment with the router that ARPs for the VIP"
            )
            return None
        return self._arp_bypass(server, usip)

    def _arp_bypass(self, server: str, usip: bool) -> Trace:
        """The router may deliver the request to the server itself: phase 2 onwards is redrawn."""
        vip = self.vip or "?"
        self.hops = [hop for hop in self.hops if hop.phase == 1]
        self.hop(
            2,
            ROUTER,
            SERVER,
            self.client,
            vip,
            MAC_ROUTER,
            MAC_SERVER,
            "The server answers ARP for the VIP (ARP not suppressed on its loopback), so the "
            "router may deliver the request straight to it, skipping the NetScaler's load "
            "balancing and health checks.",
        )
        self.hop(
            4,
            SERVER,
            ROUTER,
            vip,
            self.client,
            MAC_SERVER,
            MAC_ROUTER,
            "The server answers from the VIP to the client through its default gateway.",
        )
        self.hop(
            5,
            ROUTER,
            CLIENT,
            vip,
            self.client,
            MAC_ROUTER,
            MAC_CLIENT,
            "The client gets its reply, but from whichever server won the ARP race.",
        )
        also = "" if usip else "; traffic that does reach the NetScaler would loop (usip NO)"
        return self._trace(
            Outcome.ARP_BYPASS,
            f"{server} answers ARP for the VIP: clients and routers can reach it without the "
            f"NetScaler; suppress ARP on its loopback{also}",
        )

    def _vip_on_loopback(self, loopback_vips: tuple[str, ...]) -> bool:
        addresses = [ipaddress.ip_address(text) for text in loopback_vips]
        if self.vip_network is not None:
            return any(
                a.version == self.vip_network.version and a in self.vip_network for a in addresses
            )
        return any(str(a) == self.vip for a in addresses)

    def _mac_learning(self, backend: _Backend) -> tuple[bool, str]:
        """Whether MAC mode learns this server's MAC, and why not."""
        owner = backend.owner
        if isinstance(owner, Service) and owner.healthmonitor is False:
            # No monitor probes at all: the same path as script-only monitors (CTX138969).
            return False, f"{owner.name} is not health-monitored (healthmonitor NO)"
        names = self.override.monitors if self.override.monitors is not None else owner.monitors
        if not names:
            return True, ""
        unknown: list[str] = []
        learners: list[str] = []
        scripts: list[str] = []
        for name in names:
            monitor = self.snapshot.monitors.get(name)
            if monitor is None:
                unknown.append(name)
            elif monitor.is_script:
                scripts.append(f"{name} ({monitor.type})")
            else:
                learners.append(name)
        if learners:
            return True, ""
        if unknown:
            self.assumptions.append(
                f"monitor {', '.join(unknown)} not found in the snapshot: assumed it is not a "
                "script monitor and lets the NetScaler learn the server's MAC"
            )
            return True, ""
        return False, f"only script monitors are bound ({', '.join(scripts)})"


# One walk per redirection mode (model.REDIRECTION_MODES), each starting after phases 1 and 2
# with the usip the appliance acts on.
_WALKS: Final[Mapping[str, Callable[[_Walk, _Backend, IPAddress, bool], Trace]]] = {
    "IP": _Walk._ip_mode,
    "MAC": _Walk._mac_mode,
    "IPTUNNEL": _Walk._iptunnel_mode,
    "TOS": _Walk._tos_mode,
}


def _keeps(usip: bool, snip: str) -> str:
    """What a DSR mode's forwarding does to the source address, as a phase-3 note says it."""
    return (
        "usip YES, so the source stays the client"
        if usip
        else f"usip NO, so the source becomes SNIP {snip}"
    )


def override_from_words(changed: Mapping[str, str] | None) -> BackendOverride | None:
    """A plan's attribute words (`usip: YES`) as a what-if for the trace."""
    if not changed:
        return None

    def flag(name: str) -> bool | None:
        return None if name not in changed else changed[name].upper() in {"YES", "ENABLED"}

    return BackendOverride(usip=flag("usip"), useproxyport=flag("useproxyport"))


def outcome_for(
    snapshot: Snapshot,
    vserver: str,
    backend_object: str,
    changed: Mapping[str, str] | None = None,
    facts: ServerFacts | None = None,
) -> str | None:
    """The outcome for one backend object (a service, or a group through its worst member)."""
    result = trace_object(snapshot, vserver, backend_object, changed, facts)
    return None if result is None else result.outcome.value


# The worse of two outcomes for a group: what breaks traffic first, then what cannot be told.
_WORST_FIRST: Final = (
    Outcome.LOOP,
    Outcome.MAC_NOT_LEARNED,
    Outcome.NO_LAYER2,
    Outcome.ARP_BYPASS,
    Outcome.ASYMMETRIC,
    Outcome.VIA_NETSCALER,
    Outcome.UNDETERMINED,
    Outcome.DIRECT_RETURN,
)


def worst_trace(traces: Sequence[Trace]) -> Trace:
    """The trace that decides a group's verdict: an unhealthy member's before any healthy one,
    the worst outcome first, then a member that rests on assumptions, then the member label; so
    the verdict is a function of all members and never of the order the appliance lists them."""
    return min(
        traces,
        key=lambda t: (t.healthy, _WORST_FIRST.index(t.outcome), not t.assumptions, t.backend),
    )


def trace_object(
    snapshot: Snapshot,
    vserver: str,
    backend_object: str,
    changed: Mapping[str, str] | None = None,
    facts: ServerFacts | None = None,
) -> Trace | None:
    """The trace for one backend object: a service's own, or for a service group the trace of
    its worst member (every member is traced)."""
    if vserver not in snapshot.vservers:
        return None
    override = override_from_words(changed)
    group = snapshot.servicegroups.get(backend_object)
    if group is not None and backend_object not in snapshot.services:
        if not group.members:
            return None
        traces = [
            trace(snapshot, vserver, member_label(group, member), facts=facts, override=override)
            for member in group.members
        ]
        return worst_trace(traces)
    return trace(snapshot, vserver, backend_object, facts=facts, override=override)
