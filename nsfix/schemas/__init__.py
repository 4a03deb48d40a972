"""The JSON Schemas (draft 2020-12) of nsfix's documents, shipped in the package: load by name."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any, Final

NAMES: Final = ("inventory", "audit", "plan", "result")
"""`inventory`, `audit`, `plan` and `result`: one schema per document, `<name>.schema.json`."""
BASE_ID: Final = "https://nsfix.invalid/schemas"


def schema_id(name: str, version: int) -> str:
    """The `$id` of a schema: `https://nsfix.invalid/schemas/<name>/<schema_version>`."""
    return f"{BASE_ID}/{name}/{version}"


def load_schema(name: str) -> dict[str, Any]:
    """The schema of document `name` as a dict; `ValueError` for a name nsfix has no schema for."""
    if name not in NAMES:
        raise ValueError(f"no schema named {name!r} (known: {', '.join(NAMES)})")
    text = files(__name__).joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    assert isinstance(schema, dict)
    return schema
