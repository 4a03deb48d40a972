"""Read one partition into a `Snapshot`: one request per resource read, a page holds 100,000."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
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
from nsfix.resources import APPLIANCE_WIDE, INVENTORY_READS, InventoryRead, Resource, Shape
from nsfix.settings import SettingsError

# NITRO documents `pagesize` without a maximum (DOC121: "pagesize=N&pageno=M"). Pages bound
# what one reply holds, in the appliance's memory and within the read timeout; 100,000 records
# of the attributes inventory asks for are a reply of 20-30 MB, so every table of an appliance
# with 50,000 services (60,000 servers) is one page. NSFIX_PAGE_SIZE sets another size.
PAGE_SIZE: Final = 100_000
ENV_PAGE_SIZE: Final = "NSFIX_PAGE_SIZE"


def configured_page_size(environ: Mapping[str, str] | None = None) -> int:
    """The page size inventory reads with: NSFIX_PAGE_SIZE when set, else PAGE_SIZE."""
    env = os.environ if environ is None else environ
    value = env.get(ENV_PAGE_SIZE, "").strip()
    if not value:
        return PAGE_SIZE
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise SettingsError(f"{ENV_PAGE_SIZE}={value!r} is not a page size (a whole number >= 1)")
    return int(value)


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


Progress = Callable[[str, int, int], None]
"""Called before each read with (label, index, total)."""


def read_one(client: NitroReader, entry: Resource, page_size: int = PAGE_SIZE) -> Any:
    """One request (or one paged series) for every record of `entry`, as the table says."""
    read = entry.read
    assert read is not None, f"{entry.name} is not read by inventory"
    attrs = list(read.attrs)
    if read.shape is Shape.SINGLETON:
        return client.get_singleton(entry.name, attrs=attrs)
    if read.shape is Shape.BINDINGS:
        return client.get_all(entry.name, attrs=attrs, bulkbindings=True, page_size=page_size)
    if read.shape is Shape.PAGED:
        return client.get_all(entry.name, attrs=attrs, page_size=page_size)
    return client.get_all(entry.name, attrs=attrs)


def read_aggregate(
    client: NitroReader, request: InventoryRead, page_size: int = PAGE_SIZE
) -> dict[str, list[Any]]:
    """One bulk read of an aggregate binding resource, split into its binding types.

    Each item of the reply is one parent with a list per binding type; a record keeps only the
    attributes inventory reads (the aggregate takes no `attrs`), so the records are the ones a
    read of each binding type would give. Odd items are kept as they are, for the snapshot to
    report as defects.
    """
    out: dict[str, list[Any]] = {part.name: [] for part in request.parts}
    attrs = {part.name: part.read.attrs if part.read is not None else () for part in request.parts}
    first = request.parts[0].name
    # Typed as records, but an appliance's reply may hold anything.
    items: list[Any] = client.get_all(request.name, bulkbindings=True, page_size=page_size)
    for item in items:
        if not isinstance(item, Mapping):
            out[first].append(item)
            continue
        for name, wanted in attrs.items():
            found = item.get(name)
            if found is None:
                continue
            for record in found if isinstance(found, list) else [found]:
                if isinstance(record, Mapping):
                    record = {a: record[a] for a in wanted if a in record}
                out[name].append(record)
    return out


def refused_by_appliance(error: NitroError) -> bool:
    """The appliance answered and said no (policy, unknown resource): not a broken session."""
    hard = (NitroTransportError, NitroProtocolError, NitroAuthError, NitroSessionExpired)
    return not isinstance(error, hard)


def read_all(
    client: NitroReader, progress: Progress | None = None, page_size: int = PAGE_SIZE
) -> dict[str, Any]:
    """Every record inventory needs, keyed by NITRO resource type (a scenario-shaped dict).

    One request per entry of `INVENTORY_READS` (more when a table is larger than a page);
    a read whose `only_if` resource has no records is not sent: there is nothing for it to find.
    A non-essential read the appliance refuses is listed under `_unread` (and becomes a data
    defect) instead of stopping the inventory.
    """
    raw: dict[str, Any] = {}
    unread: list[dict[str, str]] = []
    total = len(INVENTORY_READS)
    for index, request in enumerate(INVENTORY_READS):
        if progress is not None:
            progress(request.label, index, total)
        if request.only_if is not None and not raw.get(request.only_if):
            continue
        try:
            if request.aggregate:
                raw.update(read_aggregate(client, request, page_size))
            else:
                [entry] = request.parts
                raw[entry.name] = read_one(client, entry, page_size)
        except NitroError as exc:
            if request.essential or not refused_by_appliance(exc):
                raise
            unread.extend({"resource": part.name, "error": str(exc)} for part in request.parts)
    if unread:
        raw["_unread"] = unread
    if progress is not None:
        progress("done", total, total)
    return raw


def collect(
    client: NitroReader,
    *,
    url: str,
    partition: str | None = None,
    progress: Progress | None = None,
    request_count: Callable[[], int] | None = None,
    running_config: bool = False,
    keep_raw: bool = False,
    page_size: int = PAGE_SIZE,
) -> Snapshot:
    """Switch to `partition` if the session is elsewhere, read everything, parse a snapshot.

    With `running_config`, one more request reads the partition as CLI text (`nsrunningconfig`),
    the file SARIF results point at; a refused read leaves it out (and says why in `extra`).
    With `keep_raw` the records as read stay on the snapshot (`extra["raw"]`) for `inventory
    --raw`; otherwise they are dropped once parsed, so the snapshot does not hold every object
    twice while audit and plan run.
    """
    wanted = partition or DEFAULT_PARTITION
    if wanted != (client.partition or DEFAULT_PARTITION):
        client.switch_partition(wanted)
    raw = read_all(client, progress, page_size)
    extra: dict[str, Any] = {}
    if running_config:
        try:
            extra[RUNNING_CONFIG] = read_running_config(client)
        except NitroError as exc:
            if not refused_by_appliance(exc):
                raise
            extra[RUNNING_CONFIG + "_error"] = str(exc)
            # Results then point at the records themselves, written next to the report.
            keep_raw = True
    snapshot = build_snapshot(
        raw,
        url=url,
        partition=partition or DEFAULT_PARTITION,
        collected_at=datetime.now(UTC),
        requests=request_count() if request_count else 0,
        consume=not keep_raw,
    )
    if not keep_raw:
        return replace(snapshot, extra={**snapshot.extra, **extra}) if extra else snapshot
    # The records as read, for `inventory --raw` (an offline copy nsfix can audit later).
    return replace(snapshot, extra={**snapshot.extra, **extra, "raw": raw})


RUNNING_CONFIG = "nsrunningconfig"
"""The NITRO resource that returns the running configuration as text (and its `extra` key)."""


def read_running_config(client: NitroReader) -> str:
    """`show ns runningConfig` of the session's partition, as NITRO returns it (`response`)."""
    text = client.get_singleton(RUNNING_CONFIG).get("response")
    if not isinstance(text, str):
        raise NitroProtocolError(
            "nsrunningconfig did not return the configuration text", resource=RUNNING_CONFIG
        )
    return text


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
    document: Mapping[str, Any], *, source: str, partition: str | None, consume: bool = False
) -> Snapshot:
    """A snapshot from NITRO records on disk: an `inventory --raw` file or a mock scenario.

    With `consume` the caller has no further use for `document` (a dict): its records are
    removed as they are parsed (see `build_snapshot`). Without it the partition's records stay on
    the snapshot (`extra["raw"]`, as `collect(keep_raw=True)` leaves them) for `inventory --raw`.

    Scenario files keep admin partitions under `_partitions`; appliance-wide records (version,
    hostname, HA, partitions) come from the top level. Odd records become data defects; a file
    whose partition or metadata cannot be used raises ValueError naming the file.
    """
    found = document.get(RAW_METADATA)
    meta: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    saved = meta.get("partition") or DEFAULT_PARTITION
    if not isinstance(saved, str):
        raise ValueError(f"{source}: {RAW_METADATA}.partition is not a partition name")
    records: dict[str, Any] = document if consume and isinstance(document, dict) else dict(document)
    wanted = partition or saved
    if wanted != saved:
        partitions = document.get("_partitions")
        if not isinstance(partitions, Mapping) or wanted not in partitions:
            raise ValueError(f"{source} has no partition {wanted!r}")
        own = partitions[wanted]
        if not isinstance(own, Mapping):
            raise ValueError(f"{source}: partition {wanted!r} is not an object of NITRO records")
        wide = {key: value for key, value in document.items() if key in APPLIANCE_WIDE}
        records = {**wide, **own}
    url = meta.get("url")
    snapshot = build_snapshot(
        records,
        url=url if isinstance(url, str) and url else f"file:{source}",
        partition=wanted,
        collected_at=_collected_at(meta.get("collected_at")),
        consume=records is document,
    )
    if records is document:
        return snapshot
    # Only NITRO records: not the file's own keys (metadata, other partitions, mock settings).
    raw = {key: value for key, value in records.items() if not key.startswith("_")}
    return replace(snapshot, extra={**snapshot.extra, "raw": raw})


def _collected_at(value: Any) -> datetime:
    """When the records were read, as saved; now when that is unknown. A time without a zone
    is UTC (nsfix writes UTC)."""
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None:
        return datetime.now(UTC)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
