"""Only the executor writes: the client has no write methods and nothing else takes the door."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import nsfix
from nsfix.nitro import NitroClient, NitroWriter

PACKAGE = Path(nsfix.__file__).parent
EXECUTOR = PACKAGE / "executor.py"
NITRO = PACKAGE / "nitro"
DOOR_MODULE = "nsfix.nitro.writer"
DOOR_NAMES = frozenset({"writer", "NitroWriter"})  # the client's method and the writer's class


def door_uses(source: str, where: str) -> list[str]:
    """Every place the source imports the writer or opens the door, as 'where:line: what'."""
    uses: list[str] = []
    for node in ast.walk(ast.parse(source)):
        what = _door_use(node)
        if what is not None:
            uses.append(f"{where}:{getattr(node, 'lineno', '?')}: {what}")
    return uses


def _door_use(node: ast.AST) -> str | None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name == DOOR_MODULE or alias.name.startswith(DOOR_MODULE + "."):
                return f"import {alias.name}"
    elif isinstance(node, ast.ImportFrom):
        module = node.module or ""
        for alias in node.names:
            if module == DOOR_MODULE or (module.startswith("nsfix") and alias.name in DOOR_NAMES):
                return f"from {module} import {alias.name}"
    elif isinstance(node, ast.Attribute) and node.attr in DOOR_NAMES:
        return f".{node.attr}"
    elif isinstance(node, ast.Name) and node.id in DOOR_NAMES - {"writer"}:
        # A bare name 'writer' is any local variable (the journal's, in apply); the class is not.
        return node.id
    elif isinstance(node, ast.Constant) and node.value in DOOR_NAMES:
        return f"{node.value!r} (getattr and friends)"
    return None


def module_uses(path: Path) -> list[str]:
    return door_uses(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent)))


def test_only_the_executor_takes_the_write_door() -> None:
    modules = [
        path for path in PACKAGE.rglob("*.py") if path != EXECUTOR and NITRO not in path.parents
    ]
    assert len(modules) > 20  # the walk found the product, not an empty directory
    uses = [use for path in sorted(modules) for use in module_uses(path)]
    assert uses == [], (
        "only nsfix/executor.py may write to an appliance; other modules read, or build "
        "WriteRequests with nsfix.nitro.writes to show them:\n" + "\n".join(uses)
    )


def test_the_executor_does_take_it() -> None:
    # Keeps the check above honest: if the executor stopped matching it, it would catch nothing.
    assert any(use.endswith(": .writer") for use in module_uses(EXECUTOR))


@pytest.mark.parametrize(
    "source",
    [
        "from nsfix.nitro import NitroWriter",
        "from nsfix.nitro.writer import send_later",
        "import nsfix.nitro.writer",
        "from nsfix.nitro import writer",
        "client.writer().send(request)",
        "door = getattr(client, 'writer')",
        "def run(door: 'NitroWriter') -> None: ...",
    ],
)
def test_every_way_through_the_door_is_seen(source: str) -> None:
    assert door_uses(source, "probe.py")


def test_reads_and_described_writes_are_not_the_door() -> None:
    source = (
        "from nsfix.nitro.writes import describe_update\n"
        "writer = JournalWriter.reopen(path)\n"
        "writer.write('intent', request=describe_update('service', record).render())\n"
        "client.get('service')\n"
    )
    assert door_uses(source, "probe.py") == []


def test_the_client_has_no_write_methods_and_the_writer_only_send() -> None:
    assert {name for name in vars(NitroClient) if not name.startswith("_")} == {
        "login",
        "logout",
        "close",
        "switch_partition",
        "stats",
        "where",  # read-only: how messages name the appliance (or the Console route)
        "get",
        "get_all",
        "get_singleton",
        "count",
        "get_stat",
        "writer",
    }
    assert {name for name in vars(NitroWriter) if not name.startswith("_")} == {"send"}
