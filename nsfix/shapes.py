"""The closed list of writes nsfix's planner makes; apply and rollback refuse any other.

A plan's digest only says that the file is as it was sealed, and anyone who can edit a plan can
seal it again. So apply also checks each change against the operation shapes the planner can
make: resource, verb, the attributes its record may carry, the key that names the object, the
precondition, and an inverse that undoes exactly that write. Everything here comes from the
resource table (keys, updatable attributes, binding parents and identities) or mirrors the
records `planner_changes` writes for a dedicated copy; a property test over generated appliances
keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from nsfix.planner_records import Change, Operation, Precondition, Verb
from nsfix.resources import FLAG_WORDS, MEMBER_BINDING, Resource, resource

# NITRO takes an address or a server name, not both (a service, a group member).
_ADDRESS: Final = frozenset({"ip", "servername"})


@dataclass(frozen=True)
class RecordShape:
    """Which attributes a record must carry, may carry, and must carry exactly one of."""

    required: frozenset[str]
    optional: frozenset[str] = frozenset()
    one_of: frozenset[str] = frozenset()

    def problem(self, record: Mapping[str, Any]) -> str | None:
        """Why `record` does not have this shape; None when it does."""
        names = set(record)
        unknown = names - self.required - self.optional - self.one_of
        if unknown:
            return f"writes {', '.join(sorted(unknown))}"
        missing = self.required - names
        if missing:
            return f"lacks {', '.join(sorted(missing))}"
        if self.one_of and len(names & self.one_of) != 1:
            return f"must name exactly one of {', '.join(sorted(self.one_of))}"
        for name, value in record.items():
            # Scalars only: nothing nested rides along into the request body.
            if isinstance(value, bool) or not isinstance(value, str | int):
                return f"has a {type(value).__name__} for {name}"
        return None


@dataclass(frozen=True)
class Shape:
    """One kind of write the planner makes."""

    resource: str
    verb: Verb
    record: RecordShape
    key: str
    """The attribute that names the object the change is about (a binding: its parent)."""
    identity: frozenset[str] = frozenset()
    """A binding: the attributes that name what is bound."""


_UNDO: Final[Mapping[Verb, Verb]] = {
    Verb.UPDATE: Verb.UPDATE,
    Verb.ADD: Verb.DELETE,
    Verb.BIND: Verb.UNBIND,
    Verb.UNBIND: Verb.BIND,
}
"""The verb of each planned write's inverse; the planner never deletes (it only undoes an add)."""

_PRECONDITION: Final[Mapping[Verb, Precondition]] = {
    Verb.UPDATE: Precondition.ATTRIBUTES,
    Verb.ADD: Precondition.ABSENT,
    Verb.BIND: Precondition.ABSENT,
    Verb.UNBIND: Precondition.PRESENT,
}


def _update(entry: Resource) -> Shape:
    """An attribute update: only what a remediation may write (one update restores it)."""
    record = RecordShape(frozenset({entry.key}), entry.updatable)
    return Shape(entry.name, Verb.UPDATE, record, entry.key)


def _copy(
    entry: Resource,
    more: frozenset[str] = frozenset(),
    optional: frozenset[str] = frozenset(),
    one_of: frozenset[str] = frozenset(),
) -> Shape:
    """The add of a dedicated copy, as `planner_changes` writes its record: the original's
    service type, traffic domain and source settings, and what else the findings ask for."""
    required = frozenset({entry.key, "servicetype", "td", *entry.source_ip, *more})
    record = RecordShape(required, (optional | entry.updatable) - required, one_of)
    return Shape(entry.name, Verb.ADD, record, entry.key)


def _binding(name: str, verb: Verb, extra: frozenset[str] = frozenset()) -> Shape:
    """A bind or unbind: the parent, what is bound (by address or server name for a member),
    and the binding's own settings in `extra`."""
    binding = resource(name).binding
    if binding is None:
        raise ValueError(f"{name} is not a binding in the resource table")
    identity = frozenset(binding.identity)
    record = RecordShape(
        frozenset({binding.parent_key, *(identity - _ADDRESS)}), extra, identity & _ADDRESS
    )
    return Shape(name, verb, record, binding.parent_key, identity)


def _shapes() -> dict[tuple[str, Verb], Shape]:
    service, group = resource("service"), resource("servicegroup")
    shapes = [
        _update(service),
        _update(group),
        _copy(service, more=frozenset({"port"}), one_of=_ADDRESS),
        _copy(group, optional=frozenset({"state"})),
        _binding(MEMBER_BINDING, Verb.BIND, frozenset({"weight", "state"})),
    ]
    for backend in (service, group):
        if backend.monitor_binding is None or backend.vserver_binding is None:
            raise ValueError(f"the resource table names no bindings of {backend.name}")
        shapes.append(_binding(backend.monitor_binding, Verb.BIND))
        for verb in (Verb.BIND, Verb.UNBIND):
            shapes.append(_binding(backend.vserver_binding, verb, frozenset({"weight"})))
    return {(s.resource, s.verb): s for s in shapes}


SHAPES: Final[Mapping[tuple[str, Verb], Shape]] = _shapes()
"""(resource, verb) → the shape of that write: every write the planner makes, and no other."""


def unplanned(changes: Sequence[Change], partition: str) -> list[str]:
    """One line per change the planner cannot have made (empty: every change is a planned
    shape), naming the change and what is wrong with it."""
    problems = []
    expected_ids = [f"c{index}" for index in range(1, len(changes) + 1)]
    if [c.id for c in changes] != expected_ids:
        problems.append(
            f"the changes are not numbered c1..c{len(changes)} in order: "
            f"{', '.join(c.id for c in changes)}"
        )
    for change in changes:
        why = shape_problem(change, partition)
        if why is not None:
            problems.append(f"{change.id}: {why}")
    return problems


def shape_problem(change: Change, partition: str) -> str | None:
    """Why `change` is no write the planner makes; None when it is one."""
    op = change.operation
    shape = SHAPES.get((op.resource, op.verb))
    if shape is None:
        return f"{op.verb} of {op.resource} is no write nsfix's planner makes"
    wrong = shape.record.problem(op.record)
    if wrong is not None:
        return f"{op.verb} of {op.resource} {wrong}"
    name = op.record[shape.key]
    if not isinstance(name, str) or not name:
        return f"{op.verb} of {op.resource} names no object ({shape.key} {name!r})"
    ref = change.object
    if (ref.resource, ref.name, ref.partition) != (op.resource, name, partition):
        return (
            f"it names {ref} in partition {ref.partition}, but writes {op.resource}/{name} in "
            f"partition {partition}"
        )
    if change.precondition is not _PRECONDITION[op.verb]:
        return f"a {op.verb} must have precondition {_PRECONDITION[op.verb]}"
    if op.verb is Verb.UPDATE:
        return _update_problem(change, shape)
    expected = _inverse(op, shape)
    if change.inverse != expected:
        return (
            f"the inverse {_text(change.inverse)} does not undo {_text(op)} (expected "
            f"{_text(expected)})"
        )
    if op.verb is Verb.UNBIND:
        # What was bound is what the reviewers saw before, and what nothing is after.
        bound = {k: str(v) for k, v in op.record.items() if k in shape.identity}
        if dict(change.before) != bound or change.after:
            return f"an unbind must expect exactly {bound} before it and nothing after"
    elif change.before:
        return f"an {op.verb} expects nothing before it"
    return None


def _update_problem(change: Change, shape: Shape) -> str | None:
    op, inverse = change.operation, change.inverse
    key = {shape.key: op.record[shape.key]}
    written = {k: v for k, v in op.record.items() if k != shape.key}
    if not written:
        return "the update writes nothing"
    if dict(change.after) != written or set(change.before) != set(written):
        return "the update's before and after do not name exactly the attributes it writes"
    for name in written:
        words = FLAG_WORDS.get(name)
        if words is not None and not {change.before[name], change.after[name]} <= set(words):
            return f"{name} takes {' or '.join(words)}"
    expected = Operation(Verb.UPDATE, op.resource, {**key, **change.before})
    if inverse != expected:
        return (
            f"the inverse {_text(inverse)} does not restore the values before it (expected "
            f"{_text(expected)})"
        )
    return None


def _inverse(op: Operation, shape: Shape) -> Operation:
    if op.verb is Verb.ADD:
        return Operation(Verb.DELETE, op.resource, {shape.key: op.record[shape.key]})
    # A binding is undone by the same record the other way round.
    return Operation(_UNDO[op.verb], op.resource, dict(op.record))


def _text(op: Operation) -> str:
    record = ", ".join(f"{k}={v}" for k, v in op.record.items())
    return f"{op.verb} {op.resource} [{record}]"
