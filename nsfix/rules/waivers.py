"""Waivers: accepted exceptions (rule, object, reason, owner, expiry) read from a YAML file."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from fnmatch import fnmatchcase

from nsfix.findings import ObjectRef, Waiver
from nsfix.yamlsource import expect_list, expect_mapping, expect_text, only_keys, parse, require


def load_waivers(text: str, source: str) -> tuple[Waiver, ...]:
    doc = parse(text, source)
    top = expect_mapping(doc, doc.data, ())
    only_keys(doc, top, (), {"waivers"})
    items = expect_list(doc, require(doc, top, (), "waivers"), ("waivers",))
    waivers: list[Waiver] = []
    for index, raw in enumerate(items):
        path: tuple[str | int, ...] = ("waivers", index)
        item = expect_mapping(doc, raw, path)
        only_keys(doc, item, path, {"rule", "object", "reason", "owner", "expires"})
        expires = require(doc, item, path, "expires")
        if isinstance(expires, str):
            try:
                expires = date.fromisoformat(expires)
            except ValueError:
                raise doc.error(
                    (*path, "expires"), f"{expires!r} is not a date (YYYY-MM-DD)"
                ) from None
        if not isinstance(expires, date):
            raise doc.error((*path, "expires"), "expected a date (YYYY-MM-DD)")
        line = doc.line(path)
        waivers.append(
            Waiver(
                rule=expect_text(doc, require(doc, item, path, "rule"), (*path, "rule")),
                object=expect_text(doc, require(doc, item, path, "object"), (*path, "object")),
                reason=expect_text(doc, require(doc, item, path, "reason"), (*path, "reason")),
                owner=expect_text(doc, require(doc, item, path, "owner"), (*path, "owner")),
                expires=expires,
                source=f"{source}:{line}" if line else source,
            )
        )
    return tuple(waivers)


def matches(waiver: Waiver, rule: str, ref: ObjectRef) -> bool:
    """`object` is `resource/name` or `partition:resource/name`; shell-style wildcards allowed."""
    if not fnmatchcase(rule, waiver.rule):
        return False
    pattern = waiver.object
    if ":" in pattern.split("/", 1)[0]:
        partition, pattern = pattern.split(":", 1)
        if not fnmatchcase(ref.partition, partition):
            return False
    return fnmatchcase(f"{ref.resource}/{ref.name}", pattern)


def find_waiver(
    waivers: Iterable[Waiver], rule: str, ref: ObjectRef, today: date
) -> tuple[Waiver | None, list[Waiver]]:
    """The active waiver for (rule, object), and the expired ones that would have matched."""
    expired: list[Waiver] = []
    for waiver in waivers:
        if matches(waiver, rule, ref):
            if waiver.active(today):
                return waiver, expired
            expired.append(waiver)
    return None, expired
