"""Where each object of a snapshot was written: the file and the lines that defined, changed or
bound it, kept beside the snapshot (in `Snapshot.extra`), never on the objects themselves."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

EXTRA_KEY: Final = "source_map"
"""The key of a snapshot's `extra` that holds its SourceMap."""

SOURCE_FILE: Final = "source_file"
"""`Snapshot.extra` key: the records file an offline snapshot was read from."""

DEFINED: Final = "defined"
CHANGED: Final = "changed"
BOUND: Final = "bound"

ObjectKey = tuple[str, str, str]
"""(NITRO resource type, object name, member `address:port` or "")."""


@dataclass(frozen=True)
class Mention:
    """One line of the file that says something about an object."""

    line: int
    role: str
    """`defined` (the add), `changed` (set, unset, enable, disable) or `bound` (bind)."""


@dataclass(frozen=True)
class SourceMap:
    """The lines of one file, by object."""

    path: str | None
    """The file as the user named it (or as nsfix wrote it); None until it is on disk."""
    mentions: Mapping[ObjectKey, tuple[Mention, ...]] = field(default_factory=dict)

    def of(self, resource: str, name: str, member: str | None = None) -> tuple[Mention, ...]:
        """The lines about an object (a member's own, else its group's), defining line first."""
        if member:
            found = self.mentions.get((resource, name, member))
            if found:
                return found
        return self.mentions.get((resource, name, ""), ())

    def at(self, path: str) -> SourceMap:
        return replace(self, path=path)


def of_snapshot(extra: Mapping[str, Any]) -> SourceMap | None:
    found = extra.get(EXTRA_KEY)
    return found if isinstance(found, SourceMap) else None


def json_mentions(
    text: str, document: Mapping[str, Any], keys: Mapping[str, str], *, start: int = 0
) -> SourceMap:
    """The line of each record in a NITRO records file (`inventory --raw`, a scenario).

    JSON parsers keep no positions, so each record is found in the text by its key attribute,
    in file order from its resource's list on: one pass over the text per resource.
    """
    mentions: dict[ObjectKey, tuple[Mention, ...]] = {}
    starts = _line_starts(text)
    for resource, records in document.items():
        key = keys.get(resource)
        if key is None or not isinstance(records, list):
            continue
        opening = re.compile(r'"' + re.escape(resource) + r'"\s*:\s*\[').search(text, start)
        if opening is None:
            continue
        cursor = opening.end()
        for record in records:
            if not isinstance(record, Mapping) or not isinstance(record.get(key), str):
                continue
            name = record[key]
            pattern = re.compile(
                r'"'
                + re.escape(key)
                + r'"\s*:\s*'
                + re.escape(json.dumps(name, ensure_ascii=False))
            )
            hit = pattern.search(text, cursor)
            if hit is None:
                hit = re.compile(
                    r'"' + re.escape(key) + r'"\s*:\s*' + re.escape(json.dumps(name))
                ).search(text, cursor)
            if hit is None:
                continue
            cursor = hit.end()
            mentions.setdefault(
                (resource, name, ""), (Mention(_line_of(starts, hit.start()), DEFINED),)
            )
    return SourceMap(None, mentions)


def _line_starts(text: str) -> list[int]:
    return [0, *(match.end() for match in re.finditer("\n", text))]


def _line_of(starts: list[int], offset: int) -> int:
    from bisect import bisect_right

    return bisect_right(starts, offset)
