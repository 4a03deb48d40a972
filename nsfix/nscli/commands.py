"""Write a plan's NITRO operations as NetScaler CLI commands, one command per operation.

Every write the planner makes (nsfix/shapes.py) and its inverse has a command here, in the words
`ns.conf` uses: `set service S -usip YES`, `add serviceGroup G TCP -td 0`, `bind lb vserver V S
-weight 2`, `bind serviceGroup G 10.0.0.5 80`, `bind service S -monitorName M`, `rm service S`.
CLI options are the NITRO attribute names (CLI option names are case-insensitive); NITRO's port
65535 is the CLI's `*`. Every name and value goes through the one quoting rule of
`nsfix.nscli.syntax.quote`, which the configuration parser reads back exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from nsfix.errors import NsfixError
from nsfix.nscli.syntax import quote
from nsfix.planner_records import Operation, Verb, in_reading_order
from nsfix.resources import WILDCARD_PORT, nitro_value, resource

OBJECT_WORDS: Final[Mapping[str, str]] = {
    "service": "service",
    "servicegroup": "serviceGroup",
    "lbvserver": "lb vserver",
}
"""The CLI's words for the objects nsfix writes or binds to, by NITRO resource type."""

# NITRO attributes whose CLI option is spelled otherwise (CLI option names ignore case).
_OPTION: Final[Mapping[str, str]] = {"monitor_name": "monitorName"}

# What a binding names with an option, not with a positional word (`bind service S -monitorName M`).
_OPTION_IDENTITY: Final = frozenset({"monitor_name"})

# The positional words of an add, after the name, in the CLI's order; the rest are options.
_ADD_POSITIONAL: Final[Mapping[str, tuple[tuple[str, ...], ...]]] = {
    # `add service <name> (<IP> | <serverName>) <serviceType> (<port> | *)`
    "service": (("ip", "servername"), ("servicetype",), ("port",)),
    # `add serviceGroup <serviceGroupName> <serviceType>`
    "servicegroup": (("servicetype",),),
}


# A binding's settings at their default are left out, as ns.conf leaves them out: a binding
# without `-weight` has weight 1, a member without `-state` is enabled.
_BINDING_DEFAULTS: Final[Mapping[str, str]] = {"weight": "1", "state": "ENABLED"}


class UnwritableValue(NsfixError):
    """A name or value no CLI command can carry (a line break, a control character)."""


def command(op: Operation) -> str:
    """The one CLI command that makes the same write as `op`."""
    if op.verb is Verb.UPDATE:
        return _update(op)
    if op.verb is Verb.ADD:
        return _add(op)
    if op.verb is Verb.DELETE:
        entry = resource(op.resource)
        return _line("rm", _object_words(op.resource), op.record[entry.key])
    if op.verb in (Verb.BIND, Verb.UNBIND):
        return _binding(op)
    raise ValueError(f"no CLI command for {op.verb} of {op.resource}")


def _update(op: Operation) -> str:
    key = resource(op.resource).key
    options = {k: v for k, v in op.record.items() if k != key}
    if not options:
        raise ValueError(f"an update of {op.resource} {op.record.get(key)!r} writes nothing")
    return _line("set", _object_words(op.resource), op.record[key], options=options)


def _add(op: Operation) -> str:
    key = resource(op.resource).key
    positional = _ADD_POSITIONAL.get(op.resource)
    if positional is None:
        raise ValueError(f"no CLI command for {op.verb} of {op.resource}")
    words: list[Any] = [op.record[key]]
    used = {key}
    for choices in positional:
        present = [name for name in choices if name in op.record]
        if len(present) != 1:
            raise ValueError(f"an add of {op.resource} needs exactly one of {', '.join(choices)}")
        words.append(_value(present[0], op.record[present[0]]))
        used.add(present[0])
    options = {k: v for k, v in op.record.items() if k not in used}
    return _line("add", _object_words(op.resource), *words, options=options)


def _binding(op: Operation) -> str:
    binding = resource(op.resource).binding
    if binding is None:
        raise ValueError(f"no CLI command for {op.verb} of {op.resource}")
    record = op.record
    words: list[Any] = [record[binding.parent_key]]
    options: dict[str, Any] = {}
    named = [k for k in binding.identity if record.get(k) not in (None, "")]
    if not named:
        raise ValueError(f"{op.resource} record names no bound object: {dict(record)}")
    for name in named:
        if name in _OPTION_IDENTITY:
            options[name] = record[name]
        else:
            words.append(_value(name, record[name]))
    if op.verb is Verb.BIND:
        # The binding's own settings (weight, a member's state); an unbind names only what goes.
        skip = {binding.parent_key, *binding.identity}
        options.update(
            {
                k: v
                for k, v in record.items()
                if k not in skip and str(v) != _BINDING_DEFAULTS.get(k)
            }
        )
    verb = "bind" if op.verb is Verb.BIND else "unbind"
    return _line(verb, _object_words(binding.parent), *words, options=options)


def _object_words(resource_type: str) -> str:
    words = OBJECT_WORDS.get(resource_type)
    if words is None:
        raise ValueError(f"no CLI words for a {resource_type}")
    return words


def _value(attribute: str, value: Any) -> str:
    if attribute == "port" and str(value) == str(WILDCARD_PORT):
        return "*"
    return nitro_value(attribute, value)


def _line(verb: str, words: str, *args: Any, options: Mapping[str, Any] | None = None) -> str:
    parts = [verb, words, *(word(str(a)) for a in args)]
    ordered = in_reading_order({k: _value(k, v) for k, v in (options or {}).items()})
    for name, value in ordered.items():
        parts.extend((f"-{_OPTION.get(name, name)}", word(value)))
    return " ".join(parts)


def word(text: str) -> str:
    """`text` as one word of a command, quoted when needed; an UnwritableValue when no command
    can carry it: a pasted control (a line break, an escape, a bidi override) would act on the
    terminal or hide what the line does, and NetScaler names hold none."""
    bad = [char for char in text if not char.isprintable()]
    if bad:
        raise UnwritableValue(
            f"no CLI command can carry {text!r}: it holds the control character {bad[0]!a}"
        )
    return quote(text)
