"""NITRO reads: GET config (attrs, filter, args, pagination, count, views), stat, aggregates."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote_plus

from mocks.behaviour import Behaviour
from mocks.envelopes import DONE, bad_arg, bad_object, bad_value, missing, no_such
from mocks.messages import parse_pairs, query_flag
from mocks.schema import (
    AGGREGATES,
    DEFAULT_PARTITION,
    RUNNING_CONFIG_ORDER,
    SCHEMAS,
    ResourceSchema,
)
from mocks.store import Scope
from mocks.values import Key, Record, norm

# A read-only view of the partition as CLI text, not a resource the mock stores.
RUNNING_CONFIG = "nsrunningconfig"

Condition = tuple[str, str | re.Pattern[str]]


def get(scope: Scope, api: str, type_name: str, name: str | None,
        query: Mapping[str, str], behaviour: Behaviour | None = None) -> dict[str, Any]:
    """The answer to a GET of `/nitro/v1/<api>/<type_name>[/<name>]?<query>`."""
    behaviour = behaviour or Behaviour()
    if api == "stat":
        return stat(scope, type_name, name)
    if type_name == RUNNING_CONFIG:
        out = dict(DONE)
        out[RUNNING_CONFIG] = {"response": running_config(scope)}
        return out
    if type_name in AGGREGATES:
        return _aggregate(scope, type_name, name, query)
    schema = scope.store.schema(type_name)
    attrs_raw = unquote_plus(query.get("attrs", ""))
    wanted: list[str] | None = [a.strip() for a in attrs_raw.split(",") if a.strip()] or None
    # attrs= returns only the attributes asked for (reference §1); whether keys come along and
    # what an unknown name does are the scenario's choice (`_mock.attrs_keys`, `attrs_unknown`).
    with_keys = behaviour.attrs_keys
    if wanted is not None and behaviour.attrs_unknown == "error" and schema.modeled:
        for attr in wanted:
            if attr not in _known(schema) and attr not in schema.computed:
                raise bad_arg(attr)
    if wanted is None and query_flag(query, "view") == "summary":
        wanted = list(schema.summary or schema.required or schema.keys)
        with_keys = True
    if schema.singleton:
        rec = scope.render_singleton(schema)
        out = dict(DONE)
        if not rec:
            return out  # nothing configured (no hostname): NITRO returns no record
        if wanted is not None:
            rec = {k: rec[k] for k in wanted if k in rec}
        out[type_name] = rec
        return out

    table = scope.table(schema)
    args = parse_pairs(query.get("args"))
    conditions = _conditions(schema, args, parse_pairs(query.get("filter")))
    keys: Iterable[Key]
    if schema.is_binding:
        if name is None:
            if query_flag(query, "bulkbindings") != "yes":
                raise missing(schema.path_key)
            keys = table.rows.keys()
        else:
            scope.require_parent(schema, name)
            keys = table.children(norm(name))
    elif name is not None:
        keys = scope.find_keys(schema, name, args)
        if not keys:
            raise no_such(schema.path_key, name)
    else:
        keys = table.rows.keys()

    rows = table.rows
    matched: list[Record] = []
    for key in keys:
        rec = rows[key]
        if conditions and not _matches(scope, schema, rec, conditions):
            continue
        matched.append(rec)

    out = dict(DONE)
    if query_flag(query, "count") == "yes":
        out[type_name] = [{"__count": len(matched)}]
        return out
    matched = _page(matched, query)
    if matched:
        out[type_name] = _project(scope, schema, matched, wanted, with_keys)
    return out


def _known(schema: ResourceSchema) -> frozenset[str]:
    return (schema.writable | schema.readonly | schema.add_only | schema.update_only
            | frozenset(schema.keys) | frozenset(schema.defaults))


def _conditions(schema: ResourceSchema, args: Mapping[str, str],
                filters: Mapping[str, str]) -> list[Condition]:
    known = _known(schema)
    out: list[Condition] = []
    for attr, value in args.items():
        # args also carries qualifiers that are not attributes (`all:true`): ignore those.
        if schema.modeled and attr not in known:
            continue
        out.append((attr, value))
    for attr, value in filters.items():
        if len(value) >= 2 and value.startswith("/") and value.endswith("/"):
            try:
                out.append((attr, re.compile(value[1:-1])))
            except re.error:
                raise bad_value("filter", value) from None
        else:
            out.append((attr, value))
    return out


def _matches(scope: Scope, schema: ResourceSchema, rec: Record,
             conditions: list[Condition]) -> bool:
    rendered: Record | None = None
    for attr, want in conditions:
        if attr in schema.computed:
            if rendered is None:
                rendered = scope.render(schema, rec)
            value = rendered.get(attr)
        else:
            value = rec.get(attr)
        if value is None:
            return False
        text = norm(value)
        if isinstance(want, re.Pattern):
            if want.search(text) is None:
                return False
        elif text != want:
            return False
    return True


def _page(rows: list[Any], query: Mapping[str, str]) -> list[Any]:
    try:
        size = int(unquote_plus(query.get("pagesize", "0")) or 0)
        page = int(unquote_plus(query.get("pageno", "1")) or 1)
    except ValueError:
        raise bad_value("pagesize", query.get("pagesize")) from None
    if size <= 0:
        return rows
    start = (max(page, 1) - 1) * size
    return rows[start:start + size]


def _project(scope: Scope, schema: ResourceSchema, rows: list[Record],
             wanted: list[str] | None, with_keys: bool) -> list[Record]:
    """Records as a read shows them: all attributes, or the ones asked for (and the keys)."""
    if wanted is None:
        return [scope.render(schema, rec) for rec in rows]
    render = any(a in schema.computed for a in wanted)
    fields = list(dict.fromkeys((*schema.keys, *wanted))) if with_keys else wanted
    out = []
    for rec in rows:
        src = scope.render(schema, rec) if render else rec
        out.append({a: src[a] for a in fields if a in src})
    return out


def _aggregate(scope: Scope, type_name: str, name: str | None,
               query: Mapping[str, str]) -> dict[str, Any]:
    """`<parent>_binding`: every binding type of one parent (or of all, with bulkbindings)."""
    parent_schema = SCHEMAS[type_name[: -len("_binding")]]
    parent_attr = parent_schema.keys[0]
    if name is None:
        if query_flag(query, "bulkbindings") != "yes":
            raise missing(parent_attr)
        # Paged like any collection: a page is `pagesize` parents, each with all its bindings.
        parents = _page([key[0] for key in scope.table(parent_schema).rows], query)
    else:
        if (norm(name),) not in scope.table(parent_schema).rows:
            raise no_such(parent_attr, name)
        parents = [norm(name)]
    items = []
    for parent in parents:
        item: Record = {parent_attr: parent}
        for binding_type in AGGREGATES[type_name]:
            schema = SCHEMAS[binding_type]
            table = scope.table(schema)
            children = table.children(parent)
            if children:
                item[binding_type] = [scope.render(schema, table.rows[k]) for k in children]
        items.append(item)
    out = dict(DONE)
    if items:
        out[type_name] = items
    return out


def stat(scope: Scope, type_name: str, name: str | None) -> dict[str, Any]:
    """`/nitro/v1/stat/<type>`: statistics for the types that have them."""
    out = dict(DONE)
    schema = SCHEMAS.get(type_name)
    if schema is not None and schema.type_stat is not None:
        out[type_name] = schema.type_stat(scope)
        return out
    if schema is None or schema.stat is None:
        raise bad_object(type_name)
    table = scope.table(schema)
    if name is not None:
        keys = scope.find_keys(schema, name, {})
        if not keys:
            raise no_such(schema.keys[0], name)
    else:
        keys = list(table.rows)
    stats = []
    for key in keys:
        rec = table.rows[key]
        stats.append(schema.stat(rec, scope.render(schema, rec)))
    if stats:
        out[type_name] = stats
    return out


def running_config(scope: Scope) -> str:
    """The partition as `show running config` prints it (appliance-wide lines in default)."""
    lines = [version_header(scope)] if scope.partition.name == DEFAULT_PARTITION else []
    for schema in RUNNING_CONFIG_ORDER:
        if schema.cli is None:
            continue
        if schema.appliance_wide and scope.partition.name != DEFAULT_PARTITION:
            continue
        if schema.singleton:
            records: Iterable[Record] = (scope.singleton(schema),)
        else:
            records = scope.table(schema).rows.values()
        for rec in records:
            line = schema.cli(rec)
            if line is not None:
                lines.append(line)
    return "\n".join(lines) + "\n"


def version_header(scope: Scope) -> str:
    """`#NS14.1 Build 25.56`: the first line of a saved or running configuration."""
    version = str(scope.singleton(SCHEMAS["nsversion"]).get("version") or "")
    found = re.search(r"NS(\d+\.\d+):\s*Build\s+(\d+\.\d+)", version)
    return f"#NS{found.group(1)} Build {found.group(2)}" if found else "#NS Build unknown"
