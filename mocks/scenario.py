"""Scenario files in and out: a scenario into a Store, and a partition back in scenario shape."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mocks.schema import (
    DEFAULT_PARTITION,
    LOAD_ORDER,
    NSHOSTNAME,
    NSPARTITION,
    SCHEMAS,
    ResourceSchema,
    unmodeled_schema,
)
from mocks.store import Scope, Store
from mocks.values import Record, clone_record


class ScenarioError(ValueError):
    """A scenario that cannot be loaded (bad JSON, wrong top-level shape)."""


def load_scenario(source: Mapping[str, Any] | str | Path) -> dict[str, Any]:
    """Read a scenario (path to JSON, or an already-parsed mapping) into a fresh dict."""
    if isinstance(source, Mapping):
        # Shallow is enough: records are copied one by one when loaded, and the mock never
        # mutates nested values in place.
        data: Any = dict(source)
        origin = "scenario"
    else:
        path = Path(source)
        origin = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"{origin}: cannot read scenario: {exc.strerror}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScenarioError(
                f"{origin}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{origin}: the top level must be a JSON object keyed by resource type, "
            f"not {type(data).__name__}"
        )
    return data


def canonical_ha_state(state: str) -> str:
    """Primary and Secondary as the appliance spells them; any other state (UNKNOWN, a
    transitional state such as Claiming) is kept as given, for nsfix to be tried against."""
    word = state.strip()
    if not word:
        raise ScenarioError("ha_state must not be empty")
    lowered = word.lower()
    return lowered.capitalize() if lowered in ("primary", "secondary") else word


def _records(type_name: str, value: Any) -> list[Record]:
    if isinstance(value, dict):
        return [dict(value)]
    if not isinstance(value, list):
        raise ScenarioError(f"{type_name}: expected a list of records, got {type(value).__name__}")
    out = []
    for position, item in enumerate(value):
        if not isinstance(item, dict):
            raise ScenarioError(f"{type_name}[{position}]: every record must be a JSON object")
        out.append(dict(item))
    return out


def build_store(data: dict[str, Any], partitions: Mapping[str, Any],
                mock: Mapping[str, Any]) -> Store:
    """A Store holding the scenario: top-level resources, `_partitions`, `_mock` settings.

    `data` is consumed; `_mock` and `_partitions` are already taken out of it.
    """
    store = Store()
    _load_appliance_wide(store, data, partitions)
    _load_partition(store.default, data)
    for name, content in partitions.items():
        _load_partition(store.scope(store.partitions[str(name)]), dict(content))
    if "hostname" in mock:
        if mock["hostname"] is None:
            # An appliance that answers `show ns hostName` with no record at all.
            store.singletons[NSHOSTNAME.name].clear()
        else:
            store.singletons[NSHOSTNAME.name]["hostname"] = str(mock["hostname"])
    for schema in LOAD_ORDER:
        if schema.after_load is not None:
            schema.after_load(store.default)
    configured = mock.get("ha_state")
    if isinstance(configured, str) and configured:
        store.ha_state = canonical_ha_state(configured)
    for part in store.partitions.values():
        part.saved = export(store.scope(part), deep=False)
        part.last_saved = store.boot
    return store


def _load_record(scope: Scope, schema: ResourceSchema, rec: Record) -> Record:
    if schema.on_load is not None:
        rec = schema.on_load(scope, rec)
    scope.fill_defaults(schema, rec)
    return rec


def _load_type(scope: Scope, schema: ResourceSchema, value: Any) -> None:
    if schema.singleton:
        merged: Record = {}
        for item in _records(schema.name, value):
            merged.update(item)
        rec = _load_record(scope, schema, merged)
        if schema.appliance_wide:
            scope.store.singletons[schema.name] = rec
        else:
            scope.partition.singletons[schema.name] = rec
        return
    table = scope.table(schema)
    for item in _records(schema.name, value):
        table.insert_lenient(_load_record(scope, schema, item))


def _load_appliance_wide(store: Store, data: dict[str, Any], partitions: Mapping[str, Any]) -> None:
    scope = store.default
    for schema in LOAD_ORDER:
        if schema.appliance_wide:
            _load_type(scope, schema, data.pop(schema.name, []))
    # Every partition the scenario fills is an nspartition, listed or not; ids are handed out
    # in order to those without one.
    table = scope.table(NSPARTITION)
    for name in partitions:
        if str(name) != DEFAULT_PARTITION and (str(name),) not in table.rows:
            rec: Record = {"partitionname": str(name)}
            scope.fill_defaults(NSPARTITION, rec)
            table.insert(rec)
    next_id = 1 + max(
        (int(r["partitionid"]) for r in table.rows.values()
         if str(r.get("partitionid", "")).isdigit()),
        default=0,
    )
    for rec in table.rows.values():
        if "partitionid" not in rec:
            rec["partitionid"] = next_id
            next_id += 1
        store.open_partition(str(rec.get("partitionname", "")))


def _load_partition(scope: Scope, data: dict[str, Any]) -> None:
    for schema in LOAD_ORDER:
        if schema.appliance_wide:
            data.pop(schema.name, None)  # only meaningful at the top level
        elif schema.singleton:
            _load_type(scope, schema, data.pop(schema.name, []))
        elif schema.name in data:
            _load_type(scope, schema, data.pop(schema.name))
    for type_name, value in data.items():
        if type_name.startswith("_"):
            continue  # metadata such as "_comment"
        records = _records(type_name, value)
        first = next((next(iter(r)) for r in records if r), "name")
        unmodeled = scope.store.unmodeled.get(type_name.lower())
        if unmodeled is None:
            unmodeled = unmodeled_schema(type_name.lower(), first)
            scope.store.unmodeled[unmodeled.name] = unmodeled
        table = scope.table(unmodeled)
        for rec in records:
            table.insert_lenient(rec)


def export(scope: Scope, deep: bool = True) -> dict[str, Any]:
    """The partition in scenario shape (with the appliance-wide objects in the default one).

    `deep=False` (internal saved copies) shares nested values, which is safe because the mock
    only ever replaces values, never mutates them.
    """
    clone: Callable[[Mapping[str, Any]], Record] = clone_record if deep else dict
    with_appliance_wide = scope.partition.name == DEFAULT_PARTITION
    out: dict[str, Any] = {}
    for schema in LOAD_ORDER:
        if schema.appliance_wide and not with_appliance_wide:
            continue
        if schema.singleton:
            out[schema.name] = scope.render_singleton(schema)
            continue
        rows = scope.table(schema).rows.values()
        if schema.export_computed:
            out[schema.name] = [clone(scope.render(schema, r)) for r in rows]
        else:
            out[schema.name] = [clone(r) for r in rows]
    for type_name, table in scope.partition.tables.items():
        if type_name not in SCHEMAS:
            out[type_name] = [clone(r) for r in table.rows.values()]
    return out
