"""`--since STATE_FILE`: what changed since the previous audit: new, resolved, unchanged findings.

The state file (schema `nsfix.audit-state`, version 1) records every finding of a run under a
stable key: appliance URL, partition, rule, object text and attribute (`Finding.key()`: one
object can break one rule on two attributes, e.g. two data defects). It also lists the
partitions the run covered and whether each could be read, which is what keeps an outage from
looking like a fix: the findings of a partition that could not be read this time are carried
over from the previous state, marked `stale`, and reported as unchanged, never as resolved.
Only a partition that was read, and no longer shows a finding, resolves it.

Partitions outside this run (another `--select`, an appliance dropped from the fleet file) are
neither new nor resolved: their entries stay in the state untouched until a run covers them
again. Delete the state file to start afresh.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from nsfix import __version__
from nsfix.findings import Finding, Severity, TargetAudit
from nsfix.shell import InputError, write_atomically

SCHEMA: Final = "nsfix.audit-state"
SCHEMA_VERSION: Final = 1
_KEY_FIELDS: Final = ("url", "partition", "rule", "object")
"""Required in every entry; `attribute` is optional ("" when the finding has none)."""


@dataclass(frozen=True, order=True)
class FindingKey:
    """What makes a finding the same finding in the next run."""

    url: str
    partition: str
    rule: str
    object: str
    """The object as text: `service/svc_app_01`, `p_apps:servicegroup/sg_web member 10.0.0.1:80`."""
    attribute: str = ""

    def __str__(self) -> str:
        on = f" {self.attribute}" if self.attribute else ""
        return f"{self.url} [{self.partition}] {self.rule} {self.object}{on}"

    @classmethod
    def of(cls, entry: Mapping[str, Any]) -> FindingKey:
        return cls(
            url=str(entry["url"]),
            partition=str(entry["partition"]),
            rule=str(entry["rule"]),
            object=str(entry["object"]),
            attribute=str(entry.get("attribute") or ""),
        )


@dataclass(frozen=True)
class Change:
    """New, resolved and unchanged findings of the partitions a run covered."""

    new: tuple[FindingKey, ...]
    """Active now, and not active in the previous state (or no previous state)."""
    resolved: tuple[FindingKey, ...]
    """Active before, gone now from a partition that was read."""
    unchanged: tuple[FindingKey, ...]
    """Active before and still active, or carried over from a partition not read now."""
    stale: tuple[FindingKey, ...] = ()
    """The part of `unchanged` carried over because its partition could not be read."""
    waived: tuple[FindingKey, ...] = ()
    """Active before, waived now: accepted, not fixed, so not counted as resolved."""
    entries: Mapping[FindingKey, Mapping[str, Any]] = field(
        default_factory=dict, compare=False, hash=False
    )
    """The state entry of each key above (the previous one for resolved findings)."""

    def counts(self) -> dict[str, int]:
        return {
            "new": len(self.new),
            "resolved": len(self.resolved),
            "unchanged": len(self.unchanged),
            "stale": len(self.stale),
            "waived": len(self.waived),
        }


# --- the state of one run ------------------------------------------------------------------


def finding_key(target: TargetAudit, finding: Finding) -> FindingKey:
    rule, text, attribute = finding.key()
    return FindingKey(target.url, target.partition, rule, text, attribute)


def state_document(
    targets: Sequence[TargetAudit],
    generated_at: datetime,
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The state to keep for the next run.

    `first_seen` is carried over from `previous` for findings it already had. Findings of
    partitions that could not be read now are carried over from `previous` with `stale: true`
    (their `last_seen` says when they were last actually seen); entries of partitions this run
    did not cover are kept as they were.
    """
    now = generated_at.isoformat()
    scope = _Scope.of_targets(targets)
    before = _entries(previous)
    current: dict[FindingKey, dict[str, Any]] = {}
    for target in targets:
        if target.result is None:
            continue
        for finding in target.result.findings:
            key = finding_key(target, finding)
            known = current.get(key)
            # One entry per key; should a rule report an object twice, the worse one counts.
            if known is not None and Severity(known["severity"]).rank >= finding.severity.rank:
                continue
            old = before.get(key)
            current[key] = {
                "url": key.url,
                "partition": key.partition,
                "rule": key.rule,
                "object": key.object,
                "attribute": key.attribute,
                "severity": finding.severity.value,
                "message": finding.message,
                "waived": finding.waived,
                "stale": False,
                "first_seen": str(old["first_seen"]) if old else now,
                "last_seen": now,
            }
    for key, entry in before.items():
        if key in current or scope.read(key):
            continue
        current[key] = {**entry, "stale": True} if scope.unreadable(key) else dict(entry)
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "nsfix_version": __version__,
        "generated_at": now,
        "targets": [
            {
                "url": t.url,
                "partition": t.partition,
                "status": "ok" if t.ok else "error",
                "error": t.error,
            }
            for t in targets
        ],
        "findings": [current[key] for key in sorted(current)],
    }


def compare(previous: Mapping[str, Any] | None, current: Mapping[str, Any]) -> Change:
    """What changed from `previous` (None: no earlier run, everything is new) to `current`.

    Both are state documents. Only partitions listed in `current["targets"]` are compared;
    a previous finding of a partition that could not be read counts as unchanged and stale
    (whether or not `current` carried it over), never as resolved.
    """
    scope = _Scope.of_document(current)
    before = _entries(previous)
    now = _entries(current)
    new: list[FindingKey] = []
    resolved: list[FindingKey] = []
    unchanged: list[FindingKey] = []
    stale: list[FindingKey] = []
    waived: list[FindingKey] = []
    entries: dict[FindingKey, Mapping[str, Any]] = {}
    for key in sorted(set(before) | set(now)):
        if not scope.covers(key):
            continue
        old, cur = before.get(key), now.get(key)
        was_active = old is not None and not old.get("waived")
        if scope.unreadable(key):
            carried = cur if cur is not None else old
            if carried is not None and not carried.get("waived"):
                unchanged.append(key)
                stale.append(key)
                entries[key] = {**carried, "stale": True}
            continue
        if cur is not None and cur.get("stale"):
            cur = None  # an old carry-over of a partition that has now been read
        if cur is not None and not cur.get("waived"):
            (unchanged if was_active else new).append(key)
            entries[key] = cur
        elif cur is not None and was_active:
            waived.append(key)
            entries[key] = cur
        elif cur is None and was_active and old is not None:
            resolved.append(key)
            entries[key] = old
    return Change(
        new=tuple(new),
        resolved=tuple(resolved),
        unchanged=tuple(unchanged),
        stale=tuple(stale),
        waived=tuple(waived),
        entries=entries,
    )


def change_document(change: Change) -> dict[str, Any]:
    """The `since` member of a JSON report: counts and the entries of each kind."""

    def listed(keys: Iterable[FindingKey]) -> list[dict[str, Any]]:
        return [dict(change.entries[key]) for key in keys]

    return {
        "counts": change.counts(),
        "new": listed(change.new),
        "resolved": listed(change.resolved),
        "unchanged": listed(change.unchanged),
        "waived": listed(change.waived),
    }


def render_change_text(change: Change) -> str:
    """A plain-text section: the counts, then one line per new, resolved and waived finding."""
    c = change.counts()
    lines = [
        f"Since the previous run: {c['new']} new, {c['resolved']} resolved, "
        f"{c['unchanged']} unchanged ({c['stale']} not re-checked: appliance not read), "
        f"{c['waived']} newly waived"
    ]
    for label, keys in (("NEW", change.new), ("RESOLVED", change.resolved)):
        for key in keys:
            entry = change.entries[key]
            lines.append(f"  {label:<8} {entry.get('severity', '?'):<8} {key}")
    for key in change.waived:
        lines.append(f"  {'WAIVED':<8} {change.entries[key].get('severity', '?'):<8} {key}")
    return "\n".join(lines) + "\n"


# --- the state file ------------------------------------------------------------------------


def read_state(path: Path) -> dict[str, Any] | None:
    """The previous state; None when the file does not exist (or is empty): a first run."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read state file {path}: {exc}") from None
    if not text.strip():
        return None
    advice = "move it away to start afresh (every finding will then be reported as new)"
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"state file {path} is corrupt (not JSON, line {exc.lineno}: {exc.msg}); {advice}"
        ) from None
    problem = _state_problem(document)
    if problem:
        raise InputError(f"state file {path} is not an nsfix audit state: {problem}; {advice}")
    result: dict[str, Any] = document
    return result


def write_state(path: Path, document: Mapping[str, Any]) -> None:
    """Write atomically: a run killed half-way leaves the previous state whole."""
    write_atomically(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def _state_problem(document: Any) -> str | None:
    if not isinstance(document, dict):
        return "expected a JSON object"
    if document.get("schema") != SCHEMA:
        return f"schema is {document.get('schema')!r}, expected {SCHEMA!r}"
    version = document.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        return "schema_version is missing"
    if version > SCHEMA_VERSION:
        return f"schema_version {version} was written by a newer nsfix (this one reads 1)"
    for name in ("targets", "findings"):
        if not isinstance(document.get(name), list):
            return f"{name} is not a list"
    for index, target in enumerate(document["targets"]):
        if not isinstance(target, dict) or not all(
            isinstance(target.get(k), str) for k in ("url", "partition", "status")
        ):
            return f"targets[{index}] lacks url, partition or status"
    for index, entry in enumerate(document["findings"]):
        if not isinstance(entry, dict):
            return f"findings[{index}] is not an object"
        missing = [
            k for k in (*_KEY_FIELDS, "severity", "first_seen") if not isinstance(entry.get(k), str)
        ]
        if missing:
            return f"findings[{index}] lacks {', '.join(missing)}"
    return None


def _entries(document: Mapping[str, Any] | None) -> dict[FindingKey, Mapping[str, Any]]:
    if document is None:
        return {}
    return {FindingKey.of(entry): entry for entry in document.get("findings", [])}


@dataclass(frozen=True)
class _Scope:
    """Which partitions a run covered, and which of them it could read."""

    read_ok: frozenset[tuple[str, str]]
    failed: frozenset[tuple[str, str]]
    down: frozenset[str]
    """Appliances none of whose partitions could be read: every partition of theirs is stale
    (with --all-partitions an unreachable appliance reports only its first partition)."""

    @classmethod
    def of_targets(cls, targets: Sequence[TargetAudit]) -> _Scope:
        return cls.build((t.url, t.partition, t.ok) for t in targets)

    @classmethod
    def of_document(cls, document: Mapping[str, Any]) -> _Scope:
        return cls.build(
            (str(t["url"]), str(t["partition"]), t.get("status") == "ok")
            for t in document.get("targets", [])
        )

    @classmethod
    def build(cls, items: Iterable[tuple[str, str, bool]]) -> _Scope:
        read_ok: set[tuple[str, str]] = set()
        failed: set[tuple[str, str]] = set()
        for url, partition, ok in items:
            (read_ok if ok else failed).add((url, partition))
        read_urls = {url for url, _ in read_ok}
        down = {url for url, _ in failed if url not in read_urls}
        return cls(frozenset(read_ok), frozenset(failed - read_ok), frozenset(down))

    def read(self, key: FindingKey) -> bool:
        return (key.url, key.partition) in self.read_ok

    def unreadable(self, key: FindingKey) -> bool:
        return (key.url, key.partition) in self.failed or key.url in self.down

    def covers(self, key: FindingKey) -> bool:
        return self.read(key) or self.unreadable(key)
