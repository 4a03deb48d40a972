"""The configuration in memory: tables of records, partitions, and the scope a request sees."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from typing import Any

from mocks.envelopes import bad_object, no_such
from mocks.schema import (
    DEFAULT_PARTITION,
    SCHEMAS,
    ResourceSchema,
)
from mocks.values import Key, Record, clone, norm


class Table:
    """Rows of one resource type in one partition, indexed for bindings and references."""

    def __init__(self, schema: ResourceSchema) -> None:
        self.schema = schema
        self.rows: dict[Key, Record] = {}
        self.by_parent: dict[str, dict[Key, None]] = {}
        # Only key attributes are indexed: they never change in place.
        self.refs: dict[str, dict[str, dict[Key, None]]] = {
            ref.attr: {} for ref in schema.references if ref.attr in schema.keys
        }
        self.holders: dict[str, Key] = {}

    def key_of(self, rec: Mapping[str, Any]) -> Key:
        return tuple(norm(rec.get(k)) for k in self.schema.keys)

    def insert(self, rec: Record, key: Key | None = None) -> Key:
        key = self.key_of(rec) if key is None else key
        self._place(key, rec)
        self._hold(key, rec)
        return key

    def insert_lenient(self, rec: Record) -> Key:
        """Insert at load time; a duplicate key keeps both records (the first wins lookups)."""
        key = self.key_of(rec)
        if key in self.rows:
            n = 1
            while (*key, f"#dup{n}") in self.rows:
                n += 1
            key = (*key, f"#dup{n}")
        return self.insert(rec, key)

    def insert_first(self, rec: Record) -> Key:
        key = self.insert(rec)
        self.rows = {key: rec, **self.rows}
        return key

    def remove(self, key: Key) -> Record | None:
        rec = self._take(key)
        if rec is not None:
            self._release(key, rec)
        return rec

    def rename(self, key: Key, attr: str, new: Any) -> None:
        """Give a record a new name: it moves to the end, and is found by what it was before."""
        rec = self._take(key)
        assert rec is not None
        rec[attr] = new
        new_key = self.key_of(rec)
        self._place(new_key, rec)
        for value, holder in self.holders.items():
            if holder == key:
                self.holders[value] = new_key

    def set_value(self, key: Key, attr: str, value: Any) -> None:
        """Change one attribute of a stored record, keeping the found_by lookup right."""
        rec = self.rows[key]
        if attr != self.schema.found_by:
            rec[attr] = value
            return
        self._release(key, rec)
        rec[attr] = value
        self._hold(key, rec)

    def children(self, parent: str) -> list[Key]:
        return list(self.by_parent.get(parent, ()))

    def referring(self, attr: str, value: str) -> list[Key]:
        """The records whose `attr` names `value`."""
        index = self.refs.get(attr)
        if index is not None:
            return list(index.get(value, ()))
        return [key for key, rec in self.rows.items() if norm(rec.get(attr)) == value]

    def holder_of(self, value: str) -> Key | None:
        """The first record that held `value` in the schema's found_by attribute."""
        return self.holders.get(value)

    def _place(self, key: Key, rec: Record) -> None:
        self.rows[key] = rec
        if self.schema.is_binding:
            self.by_parent.setdefault(key[0], {})[key] = None
        for attr, index in self.refs.items():
            index.setdefault(norm(rec.get(attr)), {})[key] = None

    def _take(self, key: Key) -> Record | None:
        rec = self.rows.pop(key, None)
        if rec is None:
            return None
        if self.schema.is_binding:
            bucket = self.by_parent.get(key[0])
            if bucket is not None:
                bucket.pop(key, None)
                if not bucket:
                    del self.by_parent[key[0]]
        for attr, index in self.refs.items():
            ref_bucket = index.get(norm(rec.get(attr)))
            if ref_bucket is not None:
                ref_bucket.pop(key, None)
                if not ref_bucket:
                    del index[norm(rec.get(attr))]
        return rec

    def _hold(self, key: Key, rec: Record) -> None:
        attr = self.schema.found_by
        if attr is None or len(key) != len(self.schema.keys):
            return  # load-time duplicates are never found
        value = norm(rec.get(attr))
        if value:
            self.holders.setdefault(value, key)

    def _release(self, key: Key, rec: Record) -> None:
        attr = self.schema.found_by
        if attr is None:
            return
        value = norm(rec.get(attr))
        if self.holders.get(value) == key:
            del self.holders[value]


class Partition:
    """One admin partition's configuration: its tables, singletons and saved copy."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tables: dict[str, Table] = {}
        self.singletons: dict[str, Record] = {}
        self.changed = False
        self.last_changed: float | None = None
        self.last_saved: float | None = None
        self.saved: dict[str, Any] = {}
        # Change and save times a scenario gave, shown as given until the next change or save.
        self.labels: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Partition({self.name!r}, tables={sorted(self.tables)})"


class Store:
    """Everything the appliance holds: appliance-wide objects, partitions, its HA state."""

    def __init__(self) -> None:
        self.tables: dict[str, Table] = {
            s.name: Table(s) for s in SCHEMAS.values() if s.appliance_wide and not s.singleton
        }
        self.singletons: dict[str, Record] = {
            s.name: {} for s in SCHEMAS.values() if s.appliance_wide and s.singleton
        }
        self.partitions: dict[str, Partition] = {
            DEFAULT_PARTITION: Partition(DEFAULT_PARTITION)
        }
        # Types a scenario carries that the mock does not model, by lower-case name.
        self.unmodeled: dict[str, ResourceSchema] = {}
        self.ha_state = "Primary"
        self.boot = time.time()

    def schema(self, type_name: str) -> ResourceSchema:
        """The schema a request names; 400/1232 for a type the appliance does not know."""
        schema = SCHEMAS.get(type_name) or self.unmodeled.get(type_name)
        if schema is None:
            raise bad_object(type_name)
        return schema

    def scope(self, part: Partition) -> Scope:
        return Scope(self, part)

    @property
    def default(self) -> Scope:
        return Scope(self, self.partitions[DEFAULT_PARTITION])

    def open_partition(self, name: str) -> None:
        """Create the partition an nspartition record names, unless it exists."""
        if name and name != DEFAULT_PARTITION and name not in self.partitions:
            self.partitions[name] = Partition(name)

    def close_partition(self, name: str) -> None:
        # Sessions in it notice that their partition is gone (see Sessions.authenticate).
        self.partitions.pop(name, None)


_DefaultPlan = tuple[
    dict[str, Any], list[tuple[str, Any]], list[tuple[str, Callable[[Record], Any]]]
]
_DEFAULT_PLANS: dict[str, _DefaultPlan] = {}


def _default_plan(schema: ResourceSchema) -> _DefaultPlan:
    """Split a schema's defaults into plain constants, mutable constants and computed ones."""
    plan = _DEFAULT_PLANS.get(schema.name)
    if plan is None:
        constants: dict[str, Any] = {}
        mutables: list[tuple[str, Any]] = []
        dynamic: list[tuple[str, Callable[[Record], Any]]] = []
        for attr, default in schema.defaults.items():
            if callable(default):
                dynamic.append((attr, default))
            elif isinstance(default, list | dict):
                mutables.append((attr, default))
            else:
                constants[attr] = default
        plan = _DEFAULT_PLANS[schema.name] = (constants, mutables, dynamic)
    return plan


class Scope:
    """One partition together with the appliance-wide objects: what a request works on."""

    __slots__ = ("partition", "store")

    def __init__(self, store: Store, partition: Partition) -> None:
        self.store = store
        self.partition = partition

    @property
    def ha_state(self) -> str:
        return self.store.ha_state

    def table(self, schema: ResourceSchema) -> Table:
        if schema.appliance_wide:
            return self.store.tables[schema.name]
        table = self.partition.tables.get(schema.name)
        if table is None:
            table = self.partition.tables[schema.name] = Table(schema)
        return table

    def singleton(self, schema: ResourceSchema) -> Record:
        """The one record of a singleton type (nsconfig), stored, not rendered."""
        if schema.appliance_wide:
            return self.store.singletons[schema.name]
        return self.partition.singletons.setdefault(schema.name, {})

    def render(self, schema: ResourceSchema, rec: Record) -> Record:
        """A stored record as a read shows it: computed attributes filled in."""
        out = dict(rec)
        if schema.compute is not None:
            out.update(schema.compute(self, rec))
        return out

    def render_singleton(self, schema: ResourceSchema) -> Record:
        out = {k: clone(v) for k, v in self.singleton(schema).items()}
        if schema.compute is not None:
            out.update(schema.compute(self, out))
        return out

    def fill_defaults(self, schema: ResourceSchema, rec: Record) -> None:
        constants, mutables, dynamic = _default_plan(schema)
        # Dict merges run in C: given attributes keep their order, defaults follow.
        merged = {**rec, **constants, **rec}
        rec.clear()
        rec.update(merged)
        for attr, value in mutables:
            if attr not in rec:
                rec[attr] = copy.deepcopy(value)
        for attr, make in dynamic:
            if attr not in rec:
                value = make(rec)
                if value is not None:
                    rec[attr] = value
        for attr, inherit in schema.inherited.items():
            if attr not in rec:
                rec[attr] = inherit(self)

    def default_for(self, schema: ResourceSchema, attr: str, rec: Record) -> Any:
        """What `unset` puts back: the default, None for an attribute that has none."""
        inherit = schema.inherited.get(attr)
        if inherit is not None:
            return inherit(self)
        default = schema.defaults.get(attr)
        return default(rec) if callable(default) else clone(default)

    def touch(self) -> None:
        """The partition's configuration changed and is no longer saved."""
        part = self.partition
        part.changed = True
        part.last_changed = time.time()
        part.labels.pop("changed", None)

    def find_keys(self, schema: ResourceSchema, name: str, args: Mapping[str, str]) -> list[Key]:
        table = self.table(schema)
        if len(schema.keys) == 1 or not schema.modeled:
            single: Key = (norm(name),)
            return [single] if single in table.rows else []
        # Multi-key objects (nsip: ipaddress + td) are addressed by the first key plus args.
        extra = {k: norm(args[k]) for k in schema.keys[1:] if k in args}
        found: list[Key] = []
        for key in table.rows:
            if key[0] != name:
                continue
            if all(key[schema.keys.index(k)] == v for k, v in extra.items()):
                found.append(key)
        return found

    def require_parent(self, schema: ResourceSchema, parent: str) -> None:
        """404 unless the parent object a binding names exists."""
        if schema.binding_parent_type is None:
            return
        parent_schema = SCHEMAS[schema.binding_parent_type]
        if (norm(parent),) not in self.table(parent_schema).rows:
            raise no_such(parent_schema.keys[0], parent)
