"""Read one partition into a `Snapshot` in a fixed number of requests, whatever its size."""

from __future__ import annotations

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
from nsfix.resources import APPLIANCE_WIDE, INVENTORY, Resource, Shape

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


Progress = Callable[[str, int, int], None]
"""Called before each read with (label, index, total)."""


def read_one(client: NitroReader, entry: Resource) -> Any:
    """One request (or one paged series) for every record of `entry`, as the table says."""
    read = entry.read
    assert read is not None, f"{entry.name} is not read by inventory"
    attrs = list(read.attrs)
    if read.shape is Shape.SINGLETON:
        return client.get_singleton(entry.name, attrs=attrs)
    if read.shape is Shape.BINDINGS:
        return client.get_all(entry.name, attrs=attrs, bulkbindings=True, page_size=PAGE_SIZE)
    if read.shape is Shape.PAGED:
        return client.get_all(entry.name, attrs=attrs, page_size=PAGE_SIZE)
    return client.get_all(entry.name, attrs=attrs)


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
    for index, entry in enumerate(INVENTORY):
        assert entry.read is not None
        if progress is not None:
            progress(entry.read.label, index, len(INVENTORY))
        try:
            raw[entry.name] = read_one(client, entry)
        except NitroError as exc:
            if entry.read.essential or not refused_by_appliance(exc):
                raise
            unread.append({"resource": entry.name, "error": str(exc)})
    if unread:
        raw["_unread"] = unread
    if progress is not None:
        progress("done", len(INVENTORY), len(INVENTORY))
    return raw


def collect(
    client: NitroReader,
    *,
    url: str,
    partition: str | None = None,
    progress: Progress | None = None,
    request_count: Callable[[], int] | None = None,
    keep_raw: bool = False,
) -> Snapshot:
    """Switch to `partition` if the session is elsewhere, read everything, parse a snapshot.

    With `keep_raw` the records as read stay on the snapshot (`extra["raw"]`) for `inventory
    --raw`; otherwise they are dropped once parsed, so the snapshot does not hold every object
    twice while audit and plan run.
    """
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
        consume=not keep_raw,
    )
    if not keep_raw:
        return snapshot
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
    document: Mapping[str, Any], *, source: str, partition: str | None, consume: bool = False
) -> Snapshot:
    """A snapshot from NITRO records on disk: an `inventory --raw` file or a mock scenario.

    With `consume` the caller has no further use for `document` (a dict): its records are
    removed as they are parsed (see `build_snapshot`).

    Scenario files keep admin partitions under `_partitions`; appliance-wide records (version,
    hostname, HA, partitions) come from the top level. Odd records become data defects; a file
    whose partition or metadata cannot be used raises ValueError naming the file.
    """
    found = document.get(RAW_METADATA)
    meta: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    saved = meta.get("partition") or DEFAULT_PARTITION
    if not isinstance(saved, str):
        raise ValueError(f"{source}: {RAW_METADATA}.partition is not a partition name")
    records: dict[str, Any] = (
        document if consume and isinstance(document, dict) else dict(document)
    )
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
    return build_snapshot(
        records,
        url=url if isinstance(url, str) and url else f"file:{source}",
        partition=wanted,
        collected_at=_collected_at(meta.get("collected_at")),
        consume=records is document,
    )


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
