"""NITRO writes: add, update, delete, bind, unbind, the actions, and bulk requests."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mocks.envelopes import (
    DONE,
    NitroError,
    bad_action,
    bad_arg,
    bad_json,
    bad_json_type,
    bad_method,
    bad_value,
    exists,
    missing,
    no_such,
)
from mocks.messages import parse_pairs
from mocks.scenario import export
from mocks.schema import BINDINGS_OF, REFERRERS, SCHEMAS, Implied, ResourceSchema
from mocks.sessions import Caller
from mocks.store import Scope, Table
from mocks.values import Key, Record, clone_record, is_ip, norm, truthy


@dataclass
class Done:
    """A write that went through: how to undo it (for bulk rollback), and whether it changed
    anything (an idempotent add of what exists did not)."""

    undo: Callable[[], None] | None = None
    changed: bool = True


Operation = Callable[[Caller, ResourceSchema, Record], Done]

# Names an administrator may give (reference §1, from DOC121 service.md and lbvserver.md): ASCII
# letters, digits and `_ # . space : @ = -`, so never `/`. A service or service group name starts
# with a letter or `_`; a vserver's with a letter, digit or `_`, and a server's too (the
# appliance itself names servers after their IP address, and saved configs re-add them so).
_NAME_PATTERNS = {
    "service": re.compile(r"[A-Za-z_][A-Za-z0-9_#. :@=-]*"),
    "servicegroup": re.compile(r"[A-Za-z_][A-Za-z0-9_#. :@=-]*"),
    "lbvserver": re.compile(r"[A-Za-z0-9_][A-Za-z0-9_#. :@=-]*"),
    "server": re.compile(r"[A-Za-z0-9_][A-Za-z0-9_#. :@=-]*"),
}


def _check_name(schema: ResourceSchema, attr: str, value: Any) -> None:
    """Refuse a new name the appliance would refuse (on add and on rename)."""
    pattern = _NAME_PATTERNS.get(schema.name)
    if pattern is not None and (not isinstance(value, str) or not pattern.fullmatch(value)):
        raise bad_value(attr, norm(value))


class Writes:
    """The write operations, mixed into the Appliance.

    Every operation is looked up on `self`, so one can be wrapped on an instance (tests make an
    update fail part-way through a bulk request that way).
    """

    def _write(self, caller: Caller, method: str, type_name: str, name: str | None,
               query: Mapping[str, str], payload: dict[str, Any], action: str,
               onerror: str) -> tuple[int, Any]:
        schema = caller.scope.store.schema(type_name)
        args = parse_pairs(query.get("args"))
        if method == "DELETE":
            self._delete(caller, schema, name, dict(args))
            return 200, dict(DONE)

        op: Operation
        if method == "PUT" or (method == "POST" and action == "update"):
            op = self._add if schema.is_binding else self._update
            ok_status = 200
        elif method == "POST" and not action:
            op = self._add
            ok_status = 201
        elif method == "POST":
            if action not in schema.actions:
                raise bad_action(action)
            op = self._action(action)
            ok_status = 200
        else:
            raise bad_method(method)

        obj = payload.get(type_name)
        if obj is None:
            if action or schema.singleton:
                obj = {}
            else:
                raise bad_json()
        if isinstance(obj, list):
            return self._bulk(caller, schema, obj, op, onerror, ok_status)
        if not isinstance(obj, dict):
            raise bad_json_type()
        if name is not None and schema.path_key not in obj and not schema.singleton:
            obj = {schema.path_key: name, **obj}
        done = op(caller, schema, obj)
        return (ok_status if done.changed else 200), dict(DONE)

    def _bulk(self, caller: Caller, schema: ResourceSchema, items: list[Any], op: Operation,
              onerror: str, ok_status: int) -> tuple[int, Any]:
        results: list[dict[str, Any]] = []
        undos: list[Callable[[], None]] = []
        successes = 0
        failed = False
        part = caller.scope.partition
        before = (part.changed, part.last_changed)
        for item in items:
            try:
                if not isinstance(item, dict):
                    raise bad_json_type()
                done = op(caller, schema, item)
            except NitroError as exc:
                failed = True
                results.append(exc.envelope())
                if onerror == "continue":
                    continue
                if onerror == "rollback":
                    for undo in reversed(undos):
                        undo()
                    if len(undos) == successes:
                        part.changed, part.last_changed = before
                break
            successes += 1
            results.append(dict(DONE))
            if done.undo is not None:
                undos.append(done.undo)
        if not failed:
            return ok_status, dict(DONE)
        return 207, {
            "errorcode": 1243,
            "message": "Bulk operation failed",
            "severity": "ERROR",
            "response": results,
        }

    def _action(self, action: str) -> Operation:
        if action == "enable":
            return lambda caller, schema, item: self._set_state(caller, schema, item, "ENABLED")
        if action == "disable":
            return lambda caller, schema, item: self._set_state(caller, schema, item, "DISABLED")
        table: dict[str, Operation] = {
            "unset": self._unset,
            "rename": self._rename,
            "save": self._save,
            "rm": self._rm_item,
            "unbind": self._unbind_item,
        }
        if action not in table:
            raise bad_action(action)
        return table[action]

    # --- add and bind --------------------------------------------------------------------------

    def _add(self, caller: Caller, schema: ResourceSchema, item: Record) -> Done:
        """Add an object, or bind (a binding's add; bindings also take PUT this way)."""
        if schema.singleton:
            raise bad_action("add")
        scope = caller.scope
        table = scope.table(schema)
        if not schema.modeled:
            key = table.key_of(item)
            if key in table.rows:
                if caller.idempotent and table.rows[key] == item:
                    return Done(changed=False)
                raise exists()
            table.insert(dict(item), key)
            scope.touch()
            return Done(undo=lambda: _remove(scope, table, key))
        clean = _validate(schema, item, "add", caller.skip_invalid)
        if not schema.is_binding:
            _check_name(schema, schema.keys[0], clean.get(schema.keys[0]))
        if schema.binding_parent is not None:
            scope.require_parent(schema, str(clean[schema.binding_parent]))
        for attr in schema.keys:
            # A key with a default (nsip's td) is part of the key even when not given.
            default = schema.key_default(attr)
            if default is not None:
                clean.setdefault(attr, default)
        implied = _resolve(scope, schema, clean)
        key = table.key_of(clean)
        if key in table.rows:
            existing = table.rows[key]
            # A binding that exists is a conflict even with idempotent=yes.
            if caller.idempotent and not schema.is_binding and all(
                    norm(existing.get(a)) == norm(v) for a, v in clean.items()):
                return Done(changed=False)
            raise exists()
        created = _create(scope, implied) if implied is not None else None
        rec = dict(clean)
        scope.fill_defaults(schema, rec)
        table.insert(rec, key)
        if schema.after_add is not None:
            schema.after_add(scope, key, rec)
        scope.touch()

        def undo() -> None:
            _remove(scope, table, key)
            if created is not None:
                _remove(scope, *created)

        return Done(undo=undo)

    # --- update, unset, enable / disable, rename, save -----------------------------------------

    def _update(self, caller: Caller, schema: ResourceSchema, item: Record) -> Done:
        scope = caller.scope
        if not schema.modeled:
            table = scope.table(schema)
            table.rows[_unmodeled_key(table, item)].update(clone_record(item))
            scope.touch()
            return Done()
        if not schema.updatable:
            raise bad_action("update")
        clean = _validate(schema, item, "update", caller.skip_invalid)
        if schema.singleton:
            target = scope.singleton(schema)
            for attr, value in clean.items():
                if attr not in schema.immutable:
                    target[attr] = value
            scope.touch()
            return Done()
        key = _lookup(scope, schema, clean)
        table = scope.table(schema)
        for attr, value in clean.items():
            if attr in schema.keys or attr in schema.immutable:
                continue  # the appliance silently keeps immutable values
            if attr in schema.update_ignored:
                continue
            table.set_value(key, attr, value)
        scope.touch()
        return Done()

    def _unset(self, caller: Caller, schema: ResourceSchema, item: Record) -> Done:
        scope = caller.scope
        if schema.singleton:
            for attr in item:
                if attr not in schema.writable:
                    raise bad_arg(attr)
            _reset(scope, schema, scope.singleton(schema), item)
            scope.touch()
            return Done()
        table = scope.table(schema)
        if not schema.modeled:
            key = _unmodeled_key(table, item)
            for attr in item:
                if attr not in schema.keys:
                    table.rows[key].pop(attr, None)
            scope.touch()
            return Done()
        names = [a for a in item if a not in schema.keys]
        for attr in names:
            if attr not in schema.writable and attr not in schema.update_only:
                raise bad_arg(attr)
        key = _lookup(scope, schema, item)
        _reset(scope, schema, table.rows[key], [a for a in names if a not in schema.immutable])
        scope.touch()
        return Done()

    def _set_state(self, caller: Caller, schema: ResourceSchema, item: Record,
                   state: str) -> Done:
        scope = caller.scope
        if not schema.modeled:
            table = scope.table(schema)
            table.rows[_unmodeled_key(table, item)]["state"] = state
            scope.touch()
            return Done()
        allowed = frozenset(schema.keys) | schema.action_only
        for attr in item:
            if attr not in allowed:
                raise bad_arg(attr)
        if schema.toggle is not None and schema.toggle(scope, item, state):
            scope.touch()
            return Done()
        key = _lookup(scope, schema, item)
        rec = scope.table(schema).rows[key]
        rec["state"] = state
        if state == "ENABLED" and rec.get("svrstate") == "OUT OF SERVICE":
            del rec["svrstate"]
        scope.touch()
        return Done()

    def _rename(self, caller: Caller, schema: ResourceSchema, item: Record) -> Done:
        key_attr = schema.keys[0]
        for attr in item:
            if attr not in (key_attr, "newname"):
                raise bad_arg(attr)
        old, new = item.get(key_attr), item.get("newname")
        if old in (None, ""):
            raise missing(key_attr)
        if new in (None, ""):
            raise missing("newname")
        scope = caller.scope
        table = scope.table(schema)
        old_n, new_n = norm(old), norm(new)
        if (old_n,) not in table.rows:
            raise no_such(key_attr, old)
        _check_name(schema, "newname", new)
        if (new_n,) in table.rows:
            raise exists()
        table.rename((old_n,), key_attr, new)
        for binding in BINDINGS_OF.get(schema.name, ()):
            assert binding.binding_parent is not None
            btable = scope.table(binding)
            _rewrite(btable, binding.binding_parent, btable.children(old_n), new)
        for referrer, ref in REFERRERS.get(schema.name, ()):
            rtable = scope.table(referrer)
            _rewrite(rtable, ref.attr, rtable.referring(ref.attr, old_n), new)
        scope.touch()
        return Done()

    def _save(self, caller: Caller, schema: ResourceSchema, item: Record) -> Done:
        for attr in item:
            if attr not in ("all",):
                raise bad_arg(attr)
        store = caller.scope.store
        targets = (list(store.partitions.values()) if truthy(item.get("all"))
                   else [caller.scope.partition])
        now = time.time()
        for part in targets:
            part.saved = export(store.scope(part), deep=False)
            part.changed = False
            part.last_saved = now
            part.labels.pop("saved", None)
        return Done(changed=False)

    # --- delete and unbind ---------------------------------------------------------------------

    def _rm_item(self, caller: Caller, schema: ResourceSchema, item: Record) -> Done:
        args = {k: norm(v) for k, v in item.items()}
        if schema.is_binding:
            return self._unbind_item(caller, schema, item)
        name = args.pop(schema.path_key, None)
        return self._delete(caller, schema, name, args)

    def _delete(self, caller: Caller, schema: ResourceSchema, name: str | None,
                args: dict[str, str]) -> Done:
        if schema.is_binding:
            return self._unbind(caller, schema, name, args)
        if schema.singleton:
            raise bad_action("delete")
        if name is None:
            from_args = args.pop(schema.path_key, None)
            if from_args is None:
                raise missing(schema.path_key)
            name = from_args
        scope = caller.scope
        keys = scope.find_keys(schema, name, args)
        if not keys:
            raise no_such(schema.path_key, name)
        if schema.protect is not None:
            schema.protect(name)
        table = scope.table(schema)
        for key in keys:
            rec = table.remove(key)
            if rec is not None:
                _cascade(scope, schema, key, rec)
        scope.touch()
        return Done()

    def _unbind_item(self, caller: Caller, schema: ResourceSchema, item: Record) -> Done:
        if schema.binding_parent is None:
            raise bad_action("unbind")
        args = {k: norm(v) for k, v in item.items()}
        parent = args.pop(schema.binding_parent, None)
        return self._unbind(caller, schema, parent, args)

    def _unbind(self, caller: Caller, schema: ResourceSchema, parent: str | None,
                args: dict[str, str]) -> Done:
        assert schema.binding_parent is not None
        if parent is None:
            parent = args.pop(schema.binding_parent, None)
            if parent is None:
                raise missing(schema.binding_parent)
        args.pop(schema.binding_parent, None)
        if not args:
            raise missing(schema.keys[1])
        scope = caller.scope
        scope.require_parent(schema, parent)
        table = scope.table(schema)
        matches = [
            key for key in table.children(norm(parent))
            if all(norm(table.rows[key].get(a)) == v for a, v in args.items())
        ]
        if not matches:
            attr, value = next(iter(args.items()))
            raise no_such(attr, value)
        for key in matches:
            _remove(scope, table, key)
        scope.touch()
        return Done()


# --- validation ----------------------------------------------------------------------------------


def _validate(schema: ResourceSchema, item: Mapping[str, Any], op: str,
              skip_invalid: bool = False) -> Record:
    allowed = schema.allowed_for(op)
    if skip_invalid:
        item = {k: v for k, v in item.items() if k in allowed}
    for attr in item:
        if attr not in allowed:
            raise bad_arg(attr)
    if op == "add":
        for attr in schema.required:
            if item.get(attr) in (None, ""):
                raise missing(attr)
    clean: Record = {}
    for attr, value in item.items():
        if value is None:
            continue
        clean[attr] = _check_value(schema, attr, value)
    return clean


def _check_value(schema: ResourceSchema, attr: str, value: Any) -> Any:
    if attr in schema.enums:
        canonical = schema.canonical_enum(attr, value)
        if canonical is None:
            raise bad_value(attr, norm(value))
        return canonical
    if attr in schema.ip_attrs:
        if attr == "ipv46" and value == "*":
            return value
        if not is_ip(value):
            raise bad_value(attr, norm(value))
        return value
    for ranges, as_int in ((schema.int_attrs, True), (schema.num_attrs, False)):
        if attr not in ranges:
            continue
        if value == "*" and attr.endswith("port"):
            number = 65535
        elif isinstance(value, bool):
            raise bad_value(attr, norm(value))
        elif isinstance(value, int):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str) and value.strip().isdigit():
            number = int(value.strip())
        else:
            raise bad_value(attr, norm(value))
        low, high = ranges[attr]
        if not low <= number <= high:
            raise bad_value(attr, number)
        return number if as_int else str(number)
    return value


def _unmodeled_key(table: Table, item: Mapping[str, Any]) -> Key:
    """The key of the existing record of an unmodeled type a body names (404 if absent)."""
    key = table.key_of(item)
    if key not in table.rows:
        first = table.schema.keys[0]
        raise no_such(first, item.get(first))
    return key


def _lookup(scope: Scope, schema: ResourceSchema, item: Mapping[str, Any]) -> Key:
    """The key of the existing object an update-style body names (404 if absent)."""
    table = scope.table(schema)
    parts = []
    for attr in schema.keys:
        value = item.get(attr)
        if value is None:
            value = schema.key_default(attr)
            if value is None:
                raise missing(attr)
        parts.append(norm(value))
    key = tuple(parts)
    if key not in table.rows:
        raise no_such(schema.keys[0], item.get(schema.keys[0]))
    return key


# --- what follows from a change ------------------------------------------------------------------


def _resolve(scope: Scope, schema: ResourceSchema, clean: Record) -> Implied | None:
    """The objects an add names must exist; the type's own checks may complete the body."""
    for ref in schema.references:
        value = clean.get(ref.attr)
        if not ref.must_exist or value is None:
            continue
        wanted = norm(value)
        if (wanted,) not in scope.table(SCHEMAS[ref.target]).rows and \
                wanted.lower() not in ref.builtin:
            raise no_such(ref.error_name or ref.attr, value)
    return schema.prepare(scope, clean) if schema.prepare is not None else None


def _create(scope: Scope, implied: Implied) -> tuple[Table, Key]:
    """Add the object an add implies, as a plain add of it would."""
    schema, given = implied
    rec = dict(given)
    scope.fill_defaults(schema, rec)
    table = scope.table(schema)
    key = table.insert(rec)
    if schema.after_add is not None:
        schema.after_add(scope, key, rec)
    return table, key


def _remove(scope: Scope, table: Table, key: Key) -> None:
    """A record goes, with what its type does on removal."""
    rec = table.remove(key)
    if rec is not None and table.schema.after_remove is not None:
        table.schema.after_remove(scope, key, rec)


def _reset(scope: Scope, schema: ResourceSchema, rec: Record, attrs: Iterable[str]) -> None:
    """`unset`: attributes go back to their defaults; those without one go away."""
    for attr in attrs:
        value = scope.default_for(schema, attr, rec)
        if value is None:
            rec.pop(attr, None)
        else:
            rec[attr] = value


def _cascade(scope: Scope, schema: ResourceSchema, key: Key, rec: Record) -> None:
    """A deleted object takes its bindings, and the records that go with it, along."""
    for binding in BINDINGS_OF.get(schema.name, ()):
        btable = scope.table(binding)
        for bkey in btable.children(key[0]):
            _remove(scope, btable, bkey)
    for referrer, ref in REFERRERS.get(schema.name, ()):
        if not ref.deleted_with_target:
            continue
        rtable = scope.table(referrer)
        for rkey in rtable.referring(ref.attr, key[0]):
            _remove(scope, rtable, rkey)
    if schema.after_remove is not None:
        schema.after_remove(scope, key, rec)


def _rewrite(table: Table, attr: str, keys: list[Key], new: Any) -> None:
    """Point records at a renamed object; a key attribute re-files the record."""
    for key in keys:
        if attr in table.schema.keys:
            rec = table.remove(key)
            assert rec is not None
            rec[attr] = new
            table.insert(rec)
        else:
            table.rows[key][attr] = new
