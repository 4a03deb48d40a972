"""Read one partition into a `Snapshot` in a fixed number of requests, whatever its size."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from nsfix.model import DEFAULT_PARTITION, Snapshot, build_snapshot
from nsfix.nitro.errors import (
    NitroAuthError,
    NitroError,
    NitroProtocolError,
    NitroSessionExpired,
    NitroTransportError,
)

# Large enough that 10,000 services is one page and 50,000 is three; small enough that one
# reply stays a few megabytes.
PAGE_SIZE: Final = 20_000


class NitroReader(Protocol):
    """The reads inventory needs; `nsfix.nitro.NitroClient` provides them."""

    @property
    def partition(self) -> str | None: ...

    def get(
        self,
        resource: str,
        name: str | None = None,
        *,
        attrs: Sequence[str] | None = None,
        filter: Mapping[str, str] | None = None,
        args: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]: ...

    def get_all(
        self,
        resource: str,
        *,
        attrs: Sequence[str] | None = None,
        filter: Mapping[str, str] | None = None,
        bulkbindings: bool = False,
        page_size: int | None = None,
    ) -> list[dict[str, Any]]: ...

    def get_singleton(
        self, resource: str, *, attrs: Sequence[str] | None = None
    ) -> dict[str, Any]: ...

    def switch_partition(self, name: str) -> None: ...


@dataclass(frozen=True)
class Read:
    """One request of the inventory: which type, which attributes, and how to ask for it."""

    resource: str
    attrs: tuple[str, ...] | None
    shape: str = "list"
    """`list`, `singleton`, `bindings` (all parents at once) or `paged` (large tables)."""
    label: str = ""
    essential: bool = False
    """Without it there is nothing to audit; other reads may be refused (a command policy that
    forbids `show ha node`, a resource an old firmware lacks) and become data defects."""


# Only the attributes nsfix uses: keeps replies small on appliances with 50,000 services.
READS: Final[tuple[Read, ...]] = (
    Read("nsversion", ("version",), "singleton", "version"),
    Read("nshostname", ("hostname",), "singleton", "hostname"),
    Read("hanode", ("id", "ipaddress", "state", "hastatus"), "list", "HA state"),
    Read(
        "nsconfig",
        ("configchanged", "lastconfigchangedtime", "lastconfigsavetime"),
        "singleton",
        "saved vs running",
    ),
    Read("nspartition", ("partitionname",), "list", "partitions"),
    Read("nsip", ("ipaddress", "netmask", "type", "state", "td"), "list", "SNIPs"),
    Read("nsmode", ("usip", "mbf", "l2", "l3", "usnip"), "singleton", "global modes"),
    Read(
        "lbvserver",
        (
            "name",
            "ipv46",
            "ippattern",
            "ipmask",
            "port",
            "servicetype",
            "m",
            "tosid",
            "sessionless",
            "state",
            "curstate",
            "effectivestate",
            "lbmethod",
            "td",
        ),
        "paged",
        "virtual servers",
        essential=True,
    ),
    Read(
        "lbvserver_service_binding",
        ("name", "servicename", "weight"),
        "bindings",
        "vserver bindings",
        essential=True,
    ),
    Read(
        "lbvserver_servicegroup_binding",
        ("name", "servicegroupname", "weight"),
        "bindings",
        "vserver group bindings",
        essential=True,
    ),
    Read(
        "service",
        (
            "name",
            "servername",
            "ipaddress",
            "port",
            "servicetype",
            "usip",
            "useproxyport",
            "cip",
            "state",
            "svrstate",
            "healthmonitor",
            "td",
        ),
        "paged",
        "services",
        essential=True,
    ),
    Read(
        "servicegroup",
        (
            "servicegroupname",
            "servicetype",
            "usip",
            "useproxyport",
            "cip",
            "state",
            "servicegroupeffectivestate",
            "td",
        ),
        "paged",
        "service groups",
        essential=True,
    ),
    Read(
        "servicegroup_servicegroupmember_binding",
        ("servicegroupname", "ip", "servername", "port", "weight", "state", "svrstate"),
        "bindings",
        "group members",
        essential=True,
    ),
    Read("server", ("name", "ipaddress", "domain", "state"), "paged", "servers"),
    Read("lbmonitor", ("monitorname", "type", "scriptname", "state"), "list", "monitors"),
    Read("service_lbmonitor_binding", ("name", "monitor_name"), "bindings", "service monitors"),
    Read(
        "servicegroup_lbmonitor_binding",
        ("servicegroupname", "monitor_name"),
        "bindings",
        "group monitors",
    ),
)

Progress = Callable[[str, int, int], None]
"""Called before each read with (label, index, total)."""


def read_one(client: NitroReader, read: Read) -> Any:
    attrs = list(read.attrs) if read.attrs else None
    if read.shape == "singleton":
        return client.get_singleton(read.resource, attrs=attrs)
    if read.shape == "bindings":
        return client.get_all(read.resource, attrs=attrs, bulkbindings=True, page_size=PAGE_SIZE)
    if read.shape == "paged":
        return client.get_all(read.resource, attrs=attrs, page_size=PAGE_SIZE)
    return client.get_all(read.resource, attrs=attrs)


def refused_by_appliance(error: NitroError) -> bool:
    """The appliance answered and said no (policy, unknown resource): not a broken session."""
    hard = (NitroTransportError, NitroProtocolError, NitroAuthError, NitroSessionExpired)
    return not isinstance(error, hard)


def read_all(client: NitroReader, progress: Progress | None = None) -> dict[str, Any]:
    """Every record inventory needs, keyed by NITRO resource type (a scenario-shaped dict).

    A non-essential read the appliance refuses is listed under `_unread` (and becomes a data
    defect) instead of stopping the inventory.
    """
    raw: dict[str, Any] = {}
    unread: list[dict[str, str]] = []
    for index, read in enumerate(READS):
        if progress is not None:
            progress(read.label or read.resource, index, len(READS))
        try:
            raw[read.resource] = read_one(client, read)
        except NitroError as exc:
            if read.essential or not refused_by_appliance(exc):
                raise
            unread.append({"resource": read.resource, "error": str(exc)})
    if unread:
        raw["_unread"] = unread
    if progress is not None:
        progress("done", len(READS), len(READS))
    return raw


def collect(
    client: NitroReader,
    *,
    url: str,
    partition: str | None = None,
    progress: Progress | None = None,
    request_count: Callable[[], int] | None = None,
) -> Snapshot:
    """Switch to `partition` if the session is elsewhere, read everything, parse a snapshot."""
    wanted = partition or DEFAULT_PARTITION
    if wanted != (client.partition or DEFAULT_PARTITION):
        client.switch_partition(wanted)
    raw = read_all(client, progress)
    snapshot = build_snapshot(
        raw,
        url=url,
        partition=partition or DEFAULT_PARTITION,
        collected_at=datetime.now(UTC),
        requests=request_count() if request_count else 0,
    )
    # The records as read, for `inventory --raw` (an offline copy nsfix can audit later).
    return replace(snapshot, extra={**snapshot.extra, "raw": raw})


RAW_METADATA = "_nsfix"


def raw_document(snapshot: Snapshot) -> dict[str, Any]:
    """The NITRO records a snapshot was built from, with where and when they were read."""
    raw = dict(snapshot.extra.get("raw") or {})
    raw[RAW_METADATA] = {
        "url": snapshot.appliance.url,
        "partition": snapshot.appliance.partition,
        "collected_at": snapshot.collected_at.isoformat(),
    }
    return raw


def snapshot_from_document(
    document: Mapping[str, Any], *, source: str, partition: str | None
) -> Snapshot:
    """A snapshot from NITRO records on disk: an `inventory --raw` file or a mock scenario.

    Scenario files keep admin partitions under `_partitions`; appliance-wide records (version,
    hostname, HA, partitions) come from the top level.
    """
    found = document.get(RAW_METADATA)
    meta: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    records: dict[str, Any] = dict(document)
    wanted = partition or str(meta.get("partition") or DEFAULT_PARTITION)
    if wanted != str(meta.get("partition") or DEFAULT_PARTITION):
        partitions = document.get("_partitions")
        if not isinstance(partitions, Mapping) or wanted not in partitions:
            raise ValueError(f"{source} has no partition {wanted!r}")
        records = {key: value for key, value in document.items() if key in APPLIANCE_WIDE} | dict(
            partitions[wanted]
        )
    collected = meta.get("collected_at")
    try:
        when = datetime.fromisoformat(str(collected)) if collected else datetime.now(UTC)
    except ValueError:
        when = datetime.now(UTC)
    url = str(meta.get("url") or f"file:{source}")
    return build_snapshot(records, url=url, partition=wanted, collected_at=when)


# Records that describe the whole appliance, not one partition.
APPLIANCE_WIDE: Final = frozenset({"nsversion", "nshostname", "hanode", "nspartition"})
