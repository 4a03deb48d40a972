"""The shell around the pure core: read files and appliances, hand plain data to the core.

Everything here may do I/O; nothing here decides what is compliant or what to change.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from nsfix.errors import NsfixError
from nsfix.findings import PlaybookRef, Waiver
from nsfix.inventory import Progress, collect, configured_page_size
from nsfix.model import DEFAULT_PARTITION, Snapshot
from nsfix.nitro import Credentials, NitroClient, NitroError
from nsfix.resources import APPLIANCE_WIDE
from nsfix.rules.engine import BUILTIN_PLAYBOOKS, parse_playbook
from nsfix.rules.playbook import Playbook
from nsfix.rules.waivers import load_waivers
from nsfix.serverfacts import ServerFacts, parse_server_facts
from nsfix.settings import SettingsError, Target
from nsfix.sourcemap import SOURCE_FILE
from nsfix.yamlsource import SourceError

# Snapshot.extra key: a records file's appliance-wide records (version, host name, HA nodes),
# which a partition's configuration read with it borrows.
APPLIANCE_RECORDS: Final = "appliance_records"


class InputError(NsfixError):
    """A file the user gave cannot be used; the message names it and the problem."""


def read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {what} {path}: {exc}") from None


def builtin_playbook_paths() -> list[Path]:
    return sorted(BUILTIN_PLAYBOOKS.glob("*.yaml"))


def load_playbooks(extra: Sequence[Path], *, builtin: bool = True) -> list[Playbook]:
    """The shipped playbooks (unless disabled) and the user's, each checked on load."""
    paths = [*(builtin_playbook_paths() if builtin else []), *extra]
    if not paths:
        raise InputError("no playbook to audit with: drop --no-builtin-playbook or add --playbook")
    playbooks = []
    seen: dict[str, Path] = {}
    for path in paths:
        try:
            playbook = parse_playbook(read_text(path, "playbook"), str(path))
        except SourceError as exc:
            raise InputError(f"bad playbook: {exc}") from None
        for rule in playbook.rules:
            if rule.id in seen and seen[rule.id] != path:
                raise InputError(
                    f"bad playbook: {rule.source}: rule id {rule.id!r} is already defined in "
                    f"{seen[rule.id]}"
                )
            seen[rule.id] = path
        playbooks.append(playbook)
    return playbooks


def load_waivers_file(path: Path | None) -> tuple[Waiver, ...]:
    if path is None:
        return ()
    try:
        return load_waivers(read_text(path, "waiver file"), str(path))
    except SourceError as exc:
        raise InputError(f"bad waiver file: {exc}") from None


def load_server_facts_file(path: Path | None) -> ServerFacts | None:
    if path is None:
        return None
    try:
        return parse_server_facts(read_text(path, "server facts file"), str(path))
    except SourceError as exc:
        raise InputError(f"bad server facts file: {exc}") from None


# Seconds to open a connection: an appliance on the management network answers a SYN at once.
CONNECT_TIMEOUT = 5.0


def open_client(target: Target, timeout: float, user_agent: str) -> NitroClient:
    """A session with `timeout` seconds for each reply; one request, retries included, gives
    up after twice that (docs/guide.md, "When the appliance does not answer")."""
    return NitroClient(
        target.url,
        Credentials(target.username, target.password),
        verify=target.verify,
        connect_timeout=min(CONNECT_TIMEOUT, timeout),
        read_timeout=timeout,
        max_time=2 * timeout,
        user_agent=user_agent,
    )


def connect(target: Target, timeout: float, user_agent: str) -> NitroClient:
    """A client for the target: to the appliance itself, or to NetScaler Console on its way
    (the same timeouts and TLS trust, toward Console; the instance named on each request)."""
    if target.via is None:
        return open_client(target, timeout, user_agent)
    client = open_client(replace(target, url=target.via.url), timeout, user_agent)
    client.via_console = target.via.instance
    return client


@dataclass(frozen=True)
class PartitionRead:
    """One partition of one appliance: its snapshot, or the error that prevented it."""

    url: str
    partition: str
    snapshot: Snapshot | None
    error: NitroError | None = None


def read_partitions(
    target: Target,
    partitions: Sequence[str],
    *,
    all_partitions: bool,
    timeout: float,
    user_agent: str,
    progress: Callable[[str], Progress | None] | None = None,
    keep_raw: bool = False,
    running_config: bool = False,
) -> list[PartitionRead]:
    """Read each partition in one session; a partition that fails does not stop the others.

    `keep_raw` keeps the NITRO records on each snapshot (see `inventory.collect`);
    `running_config` reads each partition's configuration text too (for SARIF locations).

    Errors that make the whole appliance unusable (login refused, unreachable) propagate.
    """
    wanted = list(dict.fromkeys(partitions or [target.partition or DEFAULT_PARTITION]))
    page_size = configured_page_size()
    reads: list[PartitionRead] = []
    client = connect(target, timeout, user_agent)
    with client:
        index = 0
        while index < len(wanted):
            name = wanted[index]
            index += 1
            try:
                snapshot = collect(
                    client,
                    url=target.url,
                    partition=name,
                    progress=progress(name) if progress else None,
                    running_config=running_config,
                    keep_raw=keep_raw,
                    page_size=page_size,
                )
            except NitroError as exc:
                if not reads and index == 1 and not _partition_specific(exc):
                    raise
                reads.append(PartitionRead(target.url, name, None, exc))
                continue
            reads.append(PartitionRead(target.url, name, snapshot))
            if all_partitions and index == 1:
                wanted.extend(p for p in snapshot.appliance.partitions if p not in wanted)
    total = client.stats().total
    settle()
    # The request count of the run (logout included) goes on the last snapshot read.
    return [
        replace(r, snapshot=replace(r.snapshot, requests=total))
        if r.snapshot is not None and i == len(reads) - 1
        else r
        for i, r in enumerate(reads)
    ]


def _partition_specific(error: NitroError) -> bool:
    """Whether an error concerns one partition (switch refused) rather than the appliance."""
    return (error.resource or "") == "nspartition"


def require_single(partitions: Sequence[str], all_partitions: bool) -> None:
    if all_partitions or len(set(partitions)) > 1:
        raise SettingsError("this command works on one partition: give at most one --partition")


def settle() -> None:
    """Snapshots just read stay until the command ends: their hundreds of thousands of objects
    leave the cyclic collector's view instead of being walked again at each collection, and
    audit and plan, which make as many again, are collected every 100,000 new objects instead
    of every 700 (together a fifth of a plan's time at 50,000 services). Reference counting
    still frees every object that is not in a cycle as soon as it is dropped."""
    gc.freeze()
    gc.set_threshold(*_COLLECT_EVERY)


_COLLECT_EVERY = (100_000, 50, 100)


_WRITE_PIECE = 1 << 20


def write_atomically(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a reader never sees half a file."""
    import os
    import tempfile

    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            # A megabyte at a time: a 30 MB plan is not also held as 30 MB of bytes.
            for start in range(0, len(text), _WRITE_PIECE):
                stream.write(text[start : start + _WRITE_PIECE])
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None


def playbooks_for(refs: Sequence[PlaybookRef], warn: Callable[[str], None]) -> list[Playbook]:
    """The playbooks a plan was made with, as loaded now; a changed or missing one is skipped.

    Used to audit again after an apply: only rules identical to the plan's may judge it.
    """
    from nsfix.canonical import digest

    builtin = {str(p): p for p in builtin_playbook_paths()}
    found = []
    for ref in refs:
        path = Path(ref.source)
        candidates = (
            [path] if path.is_file() else [p for p in builtin.values() if p.stem == ref.name]
        )
        for candidate in candidates:
            try:
                playbook = parse_playbook(read_text(candidate, "playbook"), ref.source)
            except (SourceError, InputError):
                continue
            if digest(playbook) == ref.digest:
                found.append(playbook)
                break
        else:
            warn(f"playbook {ref.name} ({ref.source}) changed since the plan: not used to re-audit")
    return found


def load_snapshot_file(
    path: Path,
    partition: str | None,
    appliance: Mapping[str, Any] | None = None,
    *,
    keep_raw: bool = False,
) -> Snapshot:
    """Audit offline from a file, whatever its name: NITRO records (JSON, as saved by
    `nsfix inventory --raw`, or a mock scenario) or a NetScaler configuration (`ns.conf`, the
    text of `show ns runningConfig`). A configuration holds one partition: `partition` names it.
    `appliance` lends a partition's configuration the appliance-wide records of the default one.
    """
    import json
    from datetime import UTC, datetime

    from nsfix.inventory import snapshot_from_document
    from nsfix.nscli.config import looks_like_config, parse_config, snapshot_from_config

    text = read_text(path, "file")
    if text.lstrip()[:1] not in ("{", "[") and looks_like_config(text):
        parsed = parse_config(text, str(path))
        if not parsed.commands:
            raise InputError(f"{path}: a configuration with no command nsfix understands")
        return snapshot_from_config(
            parsed,
            source=str(path),
            partition=partition or DEFAULT_PARTITION,
            collected_at=datetime.fromtimestamp(path.stat().st_mtime, UTC),
            appliance=appliance,
        )
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        if text.lstrip()[:1] not in ("{", "["):
            raise InputError(
                f"{path}: neither NITRO records (JSON) nor a NetScaler configuration (ns.conf)"
            ) from None
        raise InputError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    del text  # tens of megabytes at 50,000 services: not held while the snapshot is built
    if not isinstance(document, dict):
        raise InputError(f"{path}: expected a JSON object of NITRO records by resource type")
    wide = {key: document[key] for key in APPLIANCE_WIDE if key in document}
    try:
        snapshot = snapshot_from_document(
            document, source=str(path), partition=partition, consume=not keep_raw
        )
    except ValueError as exc:
        raise InputError(str(exc)) from None
    settle()
    # Where the records came from, for reports that point at lines (SARIF), and the
    # appliance-wide records a partition's configuration borrows (the rest are parsed away).
    extra = {**snapshot.extra, SOURCE_FILE: str(path), APPLIANCE_RECORDS: wide}
    return replace(snapshot, extra=extra)


def file_partitions(
    paths: Sequence[Path], partitions: Sequence[str]
) -> list[tuple[Path, str | None]]:
    """Which partition each --from-file holds: the --partition given in the same place, or
    every --partition of a single file (a records file may hold several)."""
    if len(paths) == 1:
        return [(paths[0], p) for p in partitions] or [(paths[0], None)]
    if len(partitions) != len(paths) or len(set(partitions)) != len(partitions):
        raise SettingsError(
            "with several --from-file, give one --partition for each, in the same order "
            f"({len(paths)} files, {len(partitions)} partitions)"
        )
    return list(zip(paths, partitions, strict=True))


def load_snapshot_files(paths: Sequence[Path], partitions: Sequence[str]) -> list[Snapshot]:
    """One snapshot per file and partition; the default partition's file is read first, so
    that partition configurations get its appliance-wide facts (version, HA nodes, host name)."""
    pairs = file_partitions(paths, partitions)
    order = sorted(range(len(pairs)), key=lambda i: (pairs[i][1] or DEFAULT_PARTITION)
                   != DEFAULT_PARTITION)
    loaded: dict[int, Snapshot] = {}
    appliance: Mapping[str, Any] | None = None
    for index in order:
        path, partition = pairs[index]
        snapshot = load_snapshot_file(path, partition, appliance)
        if appliance is None and snapshot.appliance.partition == DEFAULT_PARTITION:
            raw = snapshot.extra.get(APPLIANCE_RECORDS, snapshot.extra.get("raw"))
            appliance = raw if isinstance(raw, Mapping) else None
        loaded[index] = snapshot
    return [loaded[i] for i in range(len(pairs))]
