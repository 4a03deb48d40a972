"""Every write the planner makes, written as a CLI command, reads back through the ns.conf parser
as exactly that write; its inverse command undoes it; names of any spelling survive the quoting."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsfix.nscli.commands import UnwritableValue, command, word
from nsfix.nscli.config import parse_config
from nsfix.nscli.syntax import quote, tokenize
from nsfix.planner_records import Operation, Verb
from nsfix.resources import FLAG_WORDS, MEMBER_BINDING, resource
from nsfix.shapes import SHAPES, Shape

SERVER_ADDRESS = "10.0.0.5"

# Names of every spelling a NetScaler name (or an edited one) may have: blanks, quotes,
# backslashes, a leading dash or hash, `q/` words, non-ASCII letters.
NAME = st.text(
    alphabet=st.sampled_from(list("abcXYZ019_-.#:@= \"'\\/q{}<>|~$^+&%`?é")),
    min_size=1,
    max_size=10,
)

WORLD = ("server", "service", "service2", "group", "group2", "vserver", "monitor", "copy")


def before_text(names: Mapping[str, str]) -> str:
    """An appliance with a bound service and group, an unbound pair, a server and a monitor."""
    q = {role: quote(name) for role, name in names.items()}
    return "\n".join(
        (
            f"add server {q['server']} {SERVER_ADDRESS}",
            f"add service {q['service']} {q['server']} TCP 80 -usip NO -useproxyport YES",
            f"add service {q['service2']} {q['server']} TCP 81 -usip NO -useproxyport YES",
            f"add serviceGroup {q['group']} TCP -usip NO -useproxyport YES -cip DISABLED",
            f"add serviceGroup {q['group2']} TCP -usip NO -useproxyport YES",
            f"add lb vserver {q['vserver']} ANY 10.1.1.1 * -m MAC",
            f"add lb monitor {q['monitor']} PING",
            f"bind lb vserver {q['vserver']} {q['service']} -weight 3",
            f"bind lb vserver {q['vserver']} {q['group']} -weight 3",
            f"bind serviceGroup {q['group']} {q['server']} 80",
            "",
        )
    )


# What an update may change: each attribute to the other value than the world's.
CHANGED = {"usip": "YES", "useproxyport": "NO", "cip": "ENABLED"}


def object_names(shape: Shape, names: Mapping[str, str]) -> dict[str, str]:
    """Which object of the world each shape writes, attribute by attribute; an unbind names a
    binding as the appliance has it (with its weight, which a rollback binds again)."""
    binds = shape.verb is Verb.BIND
    kept = {} if binds else {"weight": "3"}
    table: dict[tuple[str, Verb], dict[str, str]] = {
        ("service", Verb.UPDATE): {"name": names["service"]},
        ("servicegroup", Verb.UPDATE): {"servicegroupname": names["group"]},
        ("service", Verb.ADD): {"name": names["copy"], "servername": names["server"]},
        ("servicegroup", Verb.ADD): {"servicegroupname": names["copy"]},
        (MEMBER_BINDING, Verb.BIND): {
            "servicegroupname": names["group2"],
            "servername": names["server"],
        },
        ("service_lbmonitor_binding", Verb.BIND): {
            "name": names["service2"],
            "monitor_name": names["monitor"],
        },
        ("servicegroup_lbmonitor_binding", Verb.BIND): {
            "servicegroupname": names["group"],
            "monitor_name": names["monitor"],
        },
        ("lbvserver_service_binding", shape.verb): {
            "name": names["vserver"],
            "servicename": names["service2" if binds else "service"],
            **kept,
        },
        ("lbvserver_servicegroup_binding", shape.verb): {
            "name": names["vserver"],
            "servicegroupname": names["group2" if binds else "group"],
            **kept,
        },
    }
    return table[(shape.resource, shape.verb)]


VALUES: dict[str, st.SearchStrategy[Any]] = {
    "ip": st.sampled_from(["10.0.0.9", "2001:db8::9"]),
    "port": st.sampled_from([80, 443, 65535, "8080"]),
    "servicetype": st.sampled_from(["TCP", "ANY", "HTTP", "UDP"]),
    "td": st.sampled_from(["0", "12"]),
    "weight": st.integers(1, 100),
    "state": st.sampled_from(["ENABLED", "DISABLED"]),
    **{flag: st.sampled_from(words) for flag, words in FLAG_WORDS.items()},
}


@st.composite
def operations(draw: st.DrawFn, shape: Shape, names: Mapping[str, str]) -> Operation:
    """An operation of `shape` on the world's objects, with every optional part drawn."""
    fixed = object_names(shape, names)
    if shape.verb is Verb.UPDATE:
        fixed.update(CHANGED)
    chosen = set(shape.record.required) | (set(fixed) - set(CHANGED) - shape.record.one_of)
    chosen |= {a for a in sorted(shape.record.optional) if draw(st.booleans())}
    if shape.record.one_of:
        chosen.add(draw(st.sampled_from(sorted(shape.record.one_of))))
    if shape.verb is Verb.UPDATE and chosen == {shape.key}:
        chosen.add(draw(st.sampled_from(sorted(shape.record.optional))))
    record = {a: fixed[a] if a in fixed else draw(VALUES[a], label=a) for a in sorted(chosen)}
    return Operation(shape.verb, shape.resource, record)


def inverse_of(op: Operation, before: Mapping[str, Any]) -> Operation:
    """What the planner writes as the undo of `op` (nsfix/shapes.py checks the same)."""
    key = resource(op.resource).key
    if op.verb is Verb.UPDATE:
        return Operation(Verb.UPDATE, op.resource, {key: op.record[key], **before})
    if op.verb is Verb.ADD:
        return Operation(Verb.DELETE, op.resource, {key: op.record[key]})
    undo = Verb.UNBIND if op.verb is Verb.BIND else Verb.BIND
    return Operation(undo, op.resource, dict(op.record))


Rows = dict[str, set[str]]


def rows(text: str) -> Rows:
    """The parsed configuration, each record one comparable row, by resource type."""
    parsed = parse_config(text)
    assert parsed.problems == (), parsed.problems
    assert parsed.ignored == ()
    out: Rows = {}
    for name, records in parsed.records.items():
        listed = records if isinstance(records, list) else [records]
        if not listed:
            continue  # a table emptied by an unbind says no more than no table
        out[name] = {json.dumps({k: str(v) for k, v in r.items()}, sort_keys=True) for r in listed}
    return out


def as_read_back(op: Operation) -> dict[str, str]:
    """The attributes `op` writes as the parser records them: the CLI takes a service's or a
    member's address where its server name goes, and NITRO's port 65535 is the CLI's `*`."""
    record = {k: str(v) for k, v in op.record.items()}
    if "ip" in record:
        record["servername"] = record["ip"]
        if op.resource == "service":
            record["ipaddress"] = record.pop("ip")
    return record


def difference(before: Rows, after: Rows) -> tuple[dict[str, list[dict[str, str]]], ...]:
    gone: dict[str, list[dict[str, str]]] = {}
    new: dict[str, list[dict[str, str]]] = {}
    for name in set(before) | set(after):
        old, now = before.get(name, set()), after.get(name, set())
        if old - now:
            gone[name] = [json.loads(r) for r in sorted(old - now)]
        if now - old:
            new[name] = [json.loads(r) for r in sorted(now - old)]
    return gone, new


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_every_planned_write_reads_back_as_exactly_that_write(data: st.DataObject) -> None:
    drawn = data.draw(st.lists(NAME, min_size=len(WORLD), max_size=len(WORLD), unique=True))
    names = dict(zip(WORLD, drawn, strict=True))
    shape = SHAPES[data.draw(st.sampled_from(sorted(SHAPES)), label="shape")]
    op = data.draw(operations(shape, names), label="operation")
    base = before_text(names)
    before = rows(base)
    after = rows(base + command(op) + "\n")
    gone, new = difference(before, after)
    written = as_read_back(op)
    key = resource(op.resource).key if op.verb in (Verb.UPDATE, Verb.ADD) else None
    if op.verb is Verb.UPDATE:
        assert key is not None
        [old] = gone[op.resource]
        assert new == {op.resource: [{**old, **written}]}
        assert gone == {op.resource: [old]}
        previous = {k: old[k] for k in written if k != key}
    elif op.verb in (Verb.ADD, Verb.BIND):
        assert gone == {}
        assert list(new) == [op.resource]
        [made] = new[op.resource]
        assert {k: made.get(k) for k in written} == written
        previous = {}
    else:
        assert new == {}
        [removed] = gone[op.resource]
        assert {k: removed.get(k) for k in written} == written
        assert list(gone) == [op.resource]
        previous = {}
    # The inverse, pasted after, leaves the configuration as it was.
    undo = inverse_of(op, previous)
    assert rows(base + command(op) + "\n" + command(undo) + "\n") == before


def test_every_operation_shape_and_its_inverse_has_a_command() -> None:
    """A shape added to nsfix/shapes.py without a CLI command fails here (and in the property
    test above, which draws from the same closed list)."""
    names = {role: role for role in WORLD}
    for shape in SHAPES.values():
        fixed = object_names(shape, names)
        record: dict[str, Any] = {a: fixed.get(a, "1") for a in shape.record.required}
        if shape.record.one_of:
            record.setdefault("servername", "server")
        if shape.verb is Verb.UPDATE:
            record["usip"] = "YES"
        op = Operation(shape.verb, shape.resource, record)
        line = command(op)
        assert tokenize(line), line
        assert command(inverse_of(op, {"usip": "NO"} if shape.verb is Verb.UPDATE else {}))


WORDS = [
    (
        Operation(
            Verb.UPDATE, "service", {"name": "svc_app_01", "useproxyport": "NO", "usip": "YES"}
        ),
        "set service svc_app_01 -usip YES -useproxyport NO",
    ),
    (
        Operation(
            Verb.BIND,
            MEMBER_BINDING,
            {"servicegroupname": "sg web", "ip": "10.0.0.9", "port": 65535, "weight": 2},
        ),
        'bind serviceGroup "sg web" 10.0.0.9 * -weight 2',
    ),
    (
        Operation(
            Verb.UNBIND,
            MEMBER_BINDING,
            {"servicegroupname": "sg", "ip": "10.0.0.9", "port": 80, "weight": 2},
        ),
        "unbind serviceGroup sg 10.0.0.9 80",
    ),
    (
        Operation(
            Verb.BIND,
            "servicegroup_lbmonitor_binding",
            {"servicegroupname": "sg", "monitor_name": "ping-default"},
        ),
        "bind serviceGroup sg -monitorName ping-default",
    ),
    (
        Operation(
            Verb.UNBIND,
            "lbvserver_service_binding",
            {"name": "vs", "servicename": "-svc", "weight": 1},
        ),
        'unbind lb vserver vs "-svc"',
    ),
    (
        Operation(Verb.DELETE, "servicegroup", {"servicegroupname": "sg"}),
        "rm serviceGroup sg",
    ),
]


@pytest.mark.parametrize(("op", "line"), WORDS, ids=[line for _, line in WORDS])
def test_the_words_ns_conf_uses(op: Operation, line: str) -> None:
    assert command(op) == line


@pytest.mark.parametrize("name", ["a\nb", "a\rb", "esc\x1b[31m", "tab\there", "rtl\u202eoverride"])
def test_a_name_no_command_can_carry_is_a_clear_error(name: str) -> None:
    with pytest.raises(UnwritableValue, match="no CLI command can carry"):
        word(name)
    with pytest.raises(UnwritableValue):
        command(Operation(Verb.UPDATE, "service", {"name": name, "usip": "YES"}))
