"""What the saved configuration holds around a rollback, and when a save persists only nsfix's.

After `apply --save` the saved configuration holds the change, and a rollback restores only the
running one. Whether saving after the rollback is safe is the apply's policy again: only if the
unsaved changes are nsfix's. The appliance says only that something is unsaved (`configchanged`)
and when the configuration last changed (`lastconfigchangedtime`, to the second); a rollback
journals that time in a `saved-config` record, so that a later save can tell that nothing but
nsfix's rollback changed since.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from nsfix.nitro import NitroClient

RECORD: Final = "saved-config"
"""The journal record a rollback ends with: what the saved configuration holds then."""


@dataclass(frozen=True)
class ConfigState:
    """nsconfig's word on the saved and the running configuration."""

    changed: bool
    """`configchanged`: the running configuration has changes that are not saved."""
    changed_at: str
    """`lastconfigchangedtime`, as the appliance prints it (empty when not reported)."""
    saved_at: str


def read_config_state(client: NitroClient) -> ConfigState:
    row = client.get_singleton(
        "nsconfig", attrs=["configchanged", "lastconfigchangedtime", "lastconfigsavetime"]
    )
    changed = row.get("configchanged")
    return ConfigState(
        changed=changed if isinstance(changed, bool) else str(changed).lower() == "true",
        changed_at=str(row.get("lastconfigchangedtime") or ""),
        saved_at=str(row.get("lastconfigsavetime") or ""),
    )


def saved_record(
    url: str, partition: str, state: ConfigState, *, holds_change: bool, only_nsfix: bool
) -> dict[str, Any]:
    """The fields of a `saved-config` record, as the configuration is after a rollback."""
    return {
        "url": url,
        "partition": partition,
        "holds_change": holds_change,
        "only_nsfix_unsaved": only_nsfix and state.changed,
        "changed_at": state.changed_at,
        "saved_at": state.saved_at,
    }


def own_rollback(
    url: str, partition: str, now: ConfigState, journals: Iterable[Path]
) -> Path | None:
    """The journal of the nsfix rollback whose changes are the only unsaved ones, if the
    configuration has not changed since it (the same last change time); None otherwise."""
    if not now.changed or not now.changed_at:
        return None
    for path in journals:
        for record in _saved_records(path):
            if (
                record.get("url") == url
                and record.get("partition") == partition
                and record.get("only_nsfix_unsaved") is True
                and record.get("changed_at") == now.changed_at
                and record.get("saved_at") == now.saved_at
            ):
                return path
    return None


def recent_journals(folder: Path) -> list[Path]:
    """The journals in `folder`, newest first (the likeliest to hold the last rollback)."""

    def modified(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError:
            return 0.0

    try:
        return sorted(folder.glob("*.jsonl"), key=modified, reverse=True)
    except OSError:
        return []


def _saved_records(path: Path) -> Iterator[Mapping[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return
    for line in lines:
        # Cheap: most records of most journals are something else.
        if RECORD not in line:
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and record.get("type") == RECORD:
            yield record


@dataclass(frozen=True)
class RollbackSave:
    """What a rollback knows about saving before it writes anything."""

    apply_saved: bool
    """The run saved its change (a `save` record with ok true before any rollback)."""
    holds_change: bool
    """The saved configuration holds the change: the run saved it, or nothing was unsaved when
    the rollback began (so the running configuration, change and all, is the saved one)."""
    only_nsfix: bool
    """Saving after the rollback persists nothing but nsfix's work: nothing was unsaved when it
    began, or only an earlier nsfix rollback was."""

    @classmethod
    def judge(
        cls, records: Sequence[Mapping[str, Any]], before: ConfigState, own: Path | None
    ) -> RollbackSave:
        apply_saved = False
        for record in records:
            if record.get("type") == "rollback-start":
                break
            if record.get("type") == "save" and record.get("ok") is True:
                apply_saved = True
        return cls(
            apply_saved=apply_saved,
            holds_change=apply_saved or not before.changed,
            only_nsfix=not before.changed or own is not None,
        )

    @property
    def why_saved(self) -> str:
        return "the apply saved it" if self.apply_saved else "it was saved after the apply"


def left_unsaved(records: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the journal's last rollback left a saved configuration that holds the change."""
    last = [r for r in records if r.get("type") == RECORD]
    return bool(last) and last[-1].get("holds_change") is True
