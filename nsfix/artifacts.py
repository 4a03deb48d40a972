"""The files a SARIF report points at: the configuration an offline audit read, or the running
configuration a live audit read, written next to the report, with each object's lines.

Code-scanning services place a result on a line of a file in the repository; an appliance has
no file, so a live audit writes its partition's `show ns runningConfig` text beside the report
(and, when the appliance refused that read, the NITRO records it did read).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from nsfix.findings import TargetAudit
from nsfix.inventory import RAW_METADATA, RUNNING_CONFIG, raw_document
from nsfix.model import DEFAULT_PARTITION, Snapshot
from nsfix.nscli.config import parse_config
from nsfix.resources import RESOURCES
from nsfix.shell import InputError, read_text, write_atomically
from nsfix.sourcemap import EXTRA_KEY, SOURCE_FILE, SourceMap, json_mentions, of_snapshot

_KEYS: Final[Mapping[str, str]] = {r.name: r.key for r in RESOURCES if r.binding is None}


def with_artifacts(
    targets: Sequence[TargetAudit], report: Path | None, cwd: Path
) -> list[TargetAudit]:
    """Each audited target with the file its results point at, its path relative to `cwd`."""
    folder = report.parent if report is not None else cwd
    stem = report.name.split(".")[0] if report is not None and report.name else "nsfix-audit"
    out = []
    for target in targets:
        snapshot = target.snapshot
        if snapshot is None:
            out.append(target)
            continue
        source = of_snapshot(snapshot.extra) or source_of(snapshot, folder, stem)
        if source.path is not None:
            source = source.at(relative(Path(source.path), cwd))
        out.append(
            replace(target, snapshot=replace(snapshot, extra={**snapshot.extra, EXTRA_KEY: source}))
        )
    return out


def source_of(snapshot: Snapshot, folder: Path, stem: str) -> SourceMap:
    """The file behind a snapshot that has no source map yet: its records file, or a file
    written now from what a live read returned."""
    extra = snapshot.extra
    given = extra.get(SOURCE_FILE)
    if isinstance(given, str):
        path = Path(given)
        try:
            text = read_text(path, "records file")
            document = json.loads(text)
        except (InputError, ValueError):
            return SourceMap(given)
        return records_map(text, document, snapshot.appliance.partition).at(given)
    name = f"{stem}.{label(snapshot)}"
    running = extra.get(RUNNING_CONFIG)
    if isinstance(running, str):
        path = folder / f"{name}.conf"
        write_atomically(path, running)
        return parse_config(running).source.at(str(path))
    path = folder / f"{name}.json"
    text = json.dumps(raw_document(snapshot), indent=1) + "\n"
    write_atomically(path, text)
    return json_mentions(text, json.loads(text), _KEYS).at(str(path))


def records_map(text: str, document: Any, partition: str) -> SourceMap:
    """Where each record of a records file is; a scenario's partition inside `_partitions`."""
    if not isinstance(document, Mapping):
        return SourceMap(None)
    meta = document.get(RAW_METADATA)
    saved = meta.get("partition") if isinstance(meta, Mapping) else None
    partitions = document.get("_partitions")
    if partition != (saved or DEFAULT_PARTITION) and isinstance(partitions, Mapping):
        own = partitions.get(partition)
        opening = re.search(r'"_partitions"\s*:\s*\{', text)
        inner = (
            re.compile(r'"' + re.escape(partition) + r'"\s*:\s*\{').search(text, opening.end())
            if opening is not None
            else None
        )
        if isinstance(own, Mapping) and inner is not None:
            return json_mentions(text, own, _KEYS, start=inner.end())
    return json_mentions(text, document, _KEYS)


def label(snapshot: Snapshot) -> str:
    """`ns01-10.0.0.10-default`: host name, address and partition, as a file name holds them
    (the address too: the appliances of a fleet may share a host name)."""
    facts = snapshot.appliance
    where = urlsplit(facts.url).netloc or facts.url
    parts = [p for p in (facts.hostname, where, facts.partition) if p]
    return re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(parts))


def relative(path: Path, cwd: Path) -> str:
    """The path as code scanning wants it: relative to the working directory, `/`-separated."""
    try:
        return Path(os.path.relpath(path.resolve(), cwd.resolve())).as_posix()
    except ValueError:  # another drive (Windows): no relative path exists
        return path.resolve().as_uri()
