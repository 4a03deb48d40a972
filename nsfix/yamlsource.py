"""YAML documents that remember where each value came from, to name a bad field by file and line."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

Path_ = tuple[str | int, ...]


class SourceError(ValueError):
    """A document is malformed; `str()` is `source:line: field: problem`."""

    def __init__(self, source: str, line: int | None, where: str, problem: str) -> None:
        self.source = source
        self.line = line
        self.where = where
        self.problem = problem
        location = f"{source}:{line}" if line else source
        super().__init__(f"{location}: {where + ': ' if where else ''}{problem}")


@dataclass(frozen=True)
class Document:
    """Parsed YAML data plus the line of every mapping key and sequence item."""

    data: Any
    source: str
    lines: Mapping[Path_, int]

    def line(self, path: Path_) -> int | None:
        # The nearest recorded ancestor: a missing field is reported at its parent's line.
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)

    def error(self, path: Path_, problem: str) -> SourceError:
        return SourceError(self.source, self.line(path), dotted(path), problem)


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def parse(text: str, source: str) -> Document:
    """Safe-load one YAML document; syntax errors become `SourceError` with the line."""
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise SourceError(source, line, "", f"not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise SourceError(source, None, "", f"not valid YAML: {exc}") from None
    lines: dict[Path_, int] = {}
    if node is not None:
        _record(node, (), lines)
    return Document(data, source, lines)


def _record(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            child = (*path, str(key))
            _record(value_node, child, lines)
            lines[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record(item, (*path, index), lines)


def expect_mapping(doc: Document, value: Any, path: Path_) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise doc.error(path, f"expected a mapping, got {type_name(value)}")
    return value


def expect_list(doc: Document, value: Any, path: Path_) -> Sequence[Any]:
    if not isinstance(value, list):
        raise doc.error(path, f"expected a list, got {type_name(value)}")
    return value


def expect_text(doc: Document, value: Any, path: Path_, *, allow_empty: bool = False) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise doc.error(path, f"expected text, got {type_name(value)}")
    text = str(value).strip()
    if not text and not allow_empty:
        raise doc.error(path, "must not be empty")
    return text


def only_keys(doc: Document, mapping: Mapping[str, Any], path: Path_, allowed: set[str]) -> None:
    for key in mapping:
        if key not in allowed:
            raise doc.error(
                (*path, str(key)),
                f"unknown field {key!r} (expected one of: {', '.join(sorted(allowed))})",
            )


def require(doc: Document, mapping: Mapping[str, Any], path: Path_, key: str) -> Any:
    if key not in mapping or mapping[key] is None:
        raise doc.error(path, f"missing required field {key!r}")
    return mapping[key]


def type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return "a number"
    return "text"
