"""A strict reader of the Prometheus text exposition format (0.0.4), for tests.

Stricter than Prometheus itself where nsfix should be: no blank lines, HELP and TYPE once per
family and before its samples, a family's samples together, no duplicate series, only the
escapes the format defines, and a final newline (node_exporter's textfile collector needs it).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


class FormatError(ValueError):
    pass


@dataclass
class Family:
    name: str
    help: str | None = None
    type: str | None = None
    samples: dict[tuple[tuple[str, str], ...], float] = field(default_factory=dict)


def _value(text: str, where: str) -> float:
    if text in {"NaN", "+Inf", "-Inf"}:
        return {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf}[text]
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        raise FormatError(f"{where}: {text!r} is not a sample value")
    return float(text)


def _labels(text: str, where: str) -> tuple[tuple[tuple[str, str], ...], str]:
    """Parse `{a="x",b="y"}` at the start of `text`; return the labels and the rest."""
    assert text.startswith("{")
    pos, labels = 1, []
    while True:
        if text[pos] == "}":
            pos += 1
            break
        match = LABEL_NAME.match(text, pos)
        if match is None:
            raise FormatError(f"{where}: bad label name at {text[pos:]!r}")
        name = match.group()
        if name.startswith("__"):
            raise FormatError(f"{where}: label name {name} is reserved")
        pos = match.end()
        if text[pos : pos + 2] != '="':
            raise FormatError(f'{where}: expected =" after {name}')
        pos += 2
        value = []
        while text[pos] != '"':
            if text[pos] == "\n":
                raise FormatError(f"{where}: raw newline in a label value")
            if text[pos] == "\\":
                escaped = text[pos + 1]
                if escaped not in {"\\", '"', "n"}:
                    raise FormatError(f"{where}: unknown escape \\{escaped}")
                value.append("\n" if escaped == "n" else escaped)
                pos += 2
                continue
            value.append(text[pos])
            pos += 1
        pos += 1
        labels.append((name, "".join(value)))
        if text[pos] == ",":
            pos += 1
        elif text[pos] != "}":
            raise FormatError(f"{where}: expected , or }} after label {name}")
    names = [n for n, _ in labels]
    if len(set(names)) != len(names):
        raise FormatError(f"{where}: a label is given twice")
    return tuple(sorted(labels)), text[pos:]


def parse(text: str) -> dict[str, Family]:
    if not text.endswith("\n"):
        raise FormatError("the file must end with a newline")
    families: dict[str, Family] = {}
    finished: set[str] = set()
    current: str | None = None
    for number, line in enumerate(text[:-1].split("\n"), start=1):
        where = f"line {number}"
        if not line:
            raise FormatError(f"{where}: blank line")
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in {"HELP", "TYPE"}:
                name = parts[2]
                if not METRIC_NAME.fullmatch(name):
                    raise FormatError(f"{where}: bad metric name {name!r}")
                family = families.setdefault(name, Family(name))
                if family.samples:
                    raise FormatError(f"{where}: {parts[1]} of {name} after its samples")
                rest = parts[3] if len(parts) == 4 else ""
                if parts[1] == "HELP":
                    if family.help is not None:
                        raise FormatError(f"{where}: second HELP for {name}")
                    if re.search(r"\\[^\\n]", rest):
                        raise FormatError(f"{where}: HELP may only escape \\\\ and \\n")
                    family.help = rest
                else:
                    if family.type is not None:
                        raise FormatError(f"{where}: second TYPE for {name}")
                    if rest not in TYPES:
                        raise FormatError(f"{where}: unknown type {rest!r}")
                    family.type = rest
            continue
        match = METRIC_NAME.match(line)
        if match is None:
            raise FormatError(f"{where}: no metric name in {line!r}")
        name, rest = match.group(), line[match.end() :]
        labels: tuple[tuple[str, str], ...] = ()
        if rest.startswith("{"):
            labels, rest = _labels(rest, where)
        fields = rest.split(" ")
        if fields[0] != "" or len(fields) not in {2, 3}:
            raise FormatError(f"{where}: expected ' value [timestamp]' in {line!r}")
        value = _value(fields[1], where)
        if len(fields) == 3 and not re.fullmatch(r"-?\d+", fields[2]):
            raise FormatError(f"{where}: bad timestamp {fields[2]!r}")
        if name != current:
            if name in finished:
                raise FormatError(f"{where}: samples of {name} are not together")
            if current is not None:
                finished.add(current)
            current = name
        family = families.setdefault(name, Family(name))
        if labels in family.samples:
            raise FormatError(f"{where}: duplicate series {name}{dict(labels)}")
        family.samples[labels] = value
    return families


def sample(families: dict[str, Family], name: str, **labels: str) -> float | None:
    family = families.get(name)
    if family is None:
        return None
    return family.samples.get(tuple(sorted(labels.items())))
