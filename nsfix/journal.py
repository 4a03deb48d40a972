"""The apply journal: an append-only JSON-lines file, fsynced around every write to the appliance.

It holds everything a rollback needs (each change with its inverse and the values on both sides),
so `nsfix rollback JOURNAL` works after a finished, failed or killed run, days later, from the
journal alone. It never holds a secret.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, TextIO

from nsfix.canonical import DecodeError, from_jsonable, jsonable
from nsfix.errors import NsfixError
from nsfix.planner import Change

JOURNAL_VERSION: Final = 2
"""2: `intent` and `result` records name their changes (`changes`, a list of ids) and an intent
keeps the request's line and headers, not its body; 1: one `intent` and one `result` per change
(`change`), each intent with the whole request. Both are read."""
READABLE_VERSIONS: Final = frozenset({1, 2})


class Phase(StrEnum):
    APPLY = "apply"
    ROLLBACK = "rollback"


class Recorded(StrEnum):
    """The outcome of one write, as the journal records it."""

    APPLIED = "applied"
    FAILED = "failed"
    UNKNOWN = "unknown"
    """The request may or may not have reached the appliance (connection lost after sending)."""
    REVERTED = "reverted"
    SKIPPED = "skipped"


class JournalError(NsfixError):
    """A journal that cannot be read or written; the message names the file."""


def default_journal_dir() -> Path:
    """`$NSFIX_JOURNAL_DIR`, else `$XDG_STATE_HOME/nsfix/journals`, else ~/.local/state/..."""
    if os.environ.get("NSFIX_JOURNAL_DIR"):
        return Path(os.environ["NSFIX_JOURNAL_DIR"])
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "nsfix" / "journals"


def default_journal_path(host: str, plan_digest: str, when: datetime) -> Path:
    safe_host = re.sub(r"[^A-Za-z0-9_.-]+", "_", host) or "appliance"
    stamp = when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    short = plan_digest.split(":", 1)[-1][:12]
    folder = default_journal_dir()
    path = folder / f"{safe_host}-{stamp}-{short}.jsonl"
    counter = 2
    while path.exists():
        # The same plan run again within the same second (a retry) gets a journal of its own.
        path = folder / f"{safe_host}-{stamp}-{short}-{counter}.jsonl"
        counter += 1
    return path


class JournalWriter:
    """Appends records; each is flushed and fsynced before the call returns."""

    def __init__(self, path: Path, stream: TextIO) -> None:
        self.path = path
        self._stream = stream

    @classmethod
    def create(cls, path: Path) -> JournalWriter:
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # O_EXCL: never append a run to another run's journal by accident.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        except FileExistsError:
            raise JournalError(f"journal {path} already exists: choose another --journal") from None
        except OSError as exc:
            raise JournalError(f"cannot create journal {path}: {exc.strerror or exc}") from None
        return cls(path, os.fdopen(descriptor, "a", encoding="utf-8"))

    @classmethod
    def reopen(cls, path: Path) -> JournalWriter:
        """Append to an existing journal (a rollback or confirmation of that run)."""
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_APPEND)
        except OSError as exc:
            raise JournalError(f"cannot open journal {path}: {exc.strerror or exc}") from None
        return cls(path, os.fdopen(descriptor, "a", encoding="utf-8"))

    def write(self, kind: str, **values: Any) -> None:
        record = {"type": kind, "time": datetime.now(UTC).isoformat(), **jsonable(values)}
        try:
            self._stream.write(json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n")
            self._stream.flush()
            os.fsync(self._stream.fileno())
        except OSError as exc:
            raise JournalError(f"cannot write journal {self.path}: {exc.strerror or exc}") from None

    def close(self) -> None:
        # A failed flush was already reported by write(); closing must not hide the report.
        with contextlib.suppress(OSError):
            self._stream.close()


@dataclass
class StepState:
    """What the journal says happened to one change."""

    change: Change
    applied: Recorded | None = None
    """None: no record of an attempt (never attempted, unless `unrecorded`)."""
    reverted: Recorded | None = None
    sent_at: datetime | None = None
    """When its last apply write was sent (the intent record): how long the appliance has had
    to finish a write whose outcome is unknown."""
    unrecorded: bool = False
    """The journal has no record of this change and no end: its records may be missing (the
    file was cut short, or the run died), so whether it was applied cannot be known from it."""

    @property
    def may_be_on_appliance(self) -> bool:
        """Whether the appliance may carry this change now (so a rollback must look at it)."""
        if self.reverted is Recorded.REVERTED:
            return False
        if self.reverted is Recorded.SKIPPED:
            # Seen as before once; a write of unknown outcome may still have landed after.
            return self.applied is Recorded.UNKNOWN
        return self.unrecorded or self.applied in {Recorded.APPLIED, Recorded.UNKNOWN}

    @property
    def why_unknown(self) -> str | None:
        """Why the journal cannot tell whether this change is on the appliance; None when it can
        (applied, failed, skipped, reverted or never attempted, as recorded)."""
        if self.reverted is Recorded.REVERTED:
            return None
        if self.reverted is Recorded.SKIPPED:
            if self.applied is Recorded.UNKNOWN:
                return "its write's outcome was unknown; seen as before since"
            return None
        if Recorded.UNKNOWN in {self.applied, self.reverted}:
            return "sent, no result recorded"
        if self.unrecorded:
            return "no record: the journal ends before it"
        return None


@dataclass
class JournalState:
    """A journal read back: the run's identity, its steps, and how it ended (if it did)."""

    path: Path
    run: str
    plan_digest: str
    target: Mapping[str, Any]
    steps: list[StepState]
    status: str | None = None
    """The `end` record's status; None when the run never finished (killed, crashed)."""
    confirm_deadline: datetime | None = None
    confirmed: bool = False
    """A `confirmed` record came before any `confirm-timeout`: the first of the two wins."""
    confirm_timed_out: bool = False
    config_changed_before: bool | None = None
    save_requested: bool = False
    records: list[dict[str, Any]] = field(default_factory=list)
    _by_id: dict[str, StepState] | None = field(default=None, repr=False, compare=False)
    ended: bool = False
    """The apply run's `end` record was read (one before any `rollback-start`): the journal
    records the whole run."""

    def step(self, change_id: str) -> StepState:
        for step in self.steps:
            if step.change.id == change_id:
                return step
        raise JournalError(f"{self.path}: unknown change {change_id!r}")

    def named(self, record: Mapping[str, Any]) -> list[StepState]:
        """The steps an `intent` or `result` record names: `changes` (version 2, a whole batch)
        or `change` (version 1, one record per change)."""
        ids = record.get("changes") if "changes" in record else [record.get("change")]
        if not isinstance(ids, list):
            raise JournalError(f"{self.path}: a {record.get('type')} record names no changes")
        if self._by_id is None:
            self._by_id = {s.change.id: s for s in self.steps}
        try:
            return [self._by_id[str(i)] for i in ids]
        except KeyError as exc:
            raise JournalError(f"{self.path}: unknown change {exc.args[0]!r}") from None

    def pending(self) -> list[StepState]:
        """Steps that may be on the appliance, newest first: what a rollback must undo."""
        return [s for s in reversed(self.steps) if s.may_be_on_appliance]

    def unknown(self) -> list[StepState]:
        """Steps whose outcome the journal cannot tell, in plan order: the appliance must be
        read to know whether they are there (a rollback reads every pending step anyway)."""
        return [s for s in self.steps if s.why_unknown is not None]

    def gaps(self) -> list[str]:
        """What the journal cannot say, in sentences for the operator; empty when it is whole."""
        unknown = self.unknown()
        if not unknown:
            return []
        opening = (
            f"{self.path} has no end record: the run was interrupted, or the journal was cut "
            "short (records after that point are lost)"
            if not self.ended
            else f"{self.path} records requests without their result"
        )
        listed = ", ".join(f"{s.change.id} ({s.why_unknown})" for s in unknown)
        return [
            f"{opening}. Whether these changes are on the appliance cannot be known from the "
            f"journal: {listed}; nsfix rollback reads each of them and reverts only what is "
            "as nsfix would have left it"
        ]


def read_journal(path: Path) -> JournalState:
    """Parse a journal; a truncated last line (a crash mid-write) is tolerated, nothing else."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise JournalError(f"journal {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise JournalError(f"cannot read journal {path}: {exc}") from None
    records = list(_records(path, lines))
    if not records or records[0].get("type") != "start":
        raise JournalError(f"{path} is not an nsfix journal (no start record)")
    start = records[0]
    if start.get("journal_version") not in READABLE_VERSIONS:
        raise JournalError(
            f"{path}: journal version {start.get('journal_version')!r} is not supported"
        )
    try:
        changes = [
            from_jsonable(Change, c, f"changes[{i}]") for i, c in enumerate(start["changes"])
        ]
    except (DecodeError, KeyError, TypeError) as exc:
        raise JournalError(f"{path}: malformed start record: {exc}") from None
    state = JournalState(
        path=path,
        run=str(start.get("run", "")),
        plan_digest=str(start.get("plan_digest", "")),
        target=dict(start.get("target") or {}),
        steps=[StepState(c) for c in changes],
        save_requested=bool(start.get("save")),
        records=records,
    )
    rollback_started = False
    for record in records[1:]:
        kind = record.get("type")
        if kind == "result":
            outcome = _recorded(path, record.get("outcome"))
            for step in state.named(record):
                if record.get("phase") == Phase.ROLLBACK:
                    step.reverted = outcome
                else:
                    step.applied = outcome
        elif kind == "intent":
            sent_at = _time_of(record)
            for step in state.named(record):
                # An intent without a result: the process died around the request.
                if record.get("phase") == Phase.ROLLBACK:
                    step.reverted = Recorded.UNKNOWN
                else:
                    step.applied = Recorded.UNKNOWN
                    step.sent_at = sent_at
        elif kind == "preflight":
            value = record.get("config_changed_before")
            state.config_changed_before = value if isinstance(value, bool) else None
        elif kind == "confirm-wait":
            state.confirm_deadline = _deadline(path, record.get("deadline"))
        elif kind == "confirmed":
            state.confirmed = state.confirmed or not state.confirm_timed_out
        elif kind == "confirm-timeout":
            state.confirm_timed_out = True
        elif kind == "rollback-start":
            rollback_started = True
        elif kind == "end":
            state.status = str(record.get("status"))
            state.ended = state.ended or not rollback_started
    if not state.ended:
        # Without the run's end, a change with no record may have been applied after the last
        # record that survived: only the appliance can say.
        for step in state.steps:
            step.unrecorded = step.applied is None
    return state


def _deadline(path: Path, value: Any) -> datetime:
    """A confirmation deadline, aware of its time zone; an unreadable one is a broken journal."""
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        raise JournalError(f"{path}: the confirmation deadline {value!r} is not a time") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _time_of(record: Mapping[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(record.get("time")))
    except ValueError:
        return None


def _recorded(path: Path, value: Any) -> Recorded:
    try:
        return Recorded(value)
    except ValueError:
        raise JournalError(f"{path}: unknown step outcome {value!r}") from None


def _records(path: Path, lines: list[str]) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                return  # the process died while writing this line: it never took effect
            raise JournalError(f"{path}:{number}: not a JSON record") from None
        if not isinstance(record, dict):
            raise JournalError(f"{path}:{number}: not a JSON object")
        yield record
