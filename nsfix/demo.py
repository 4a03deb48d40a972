"""Start the bundled mock appliance as a child process, for the demo and the benchmarks.

nsfix never imports the mock: it runs it as a separate program, as it would talk to a real box.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from nsfix.errors import NsfixError

DEMO_USER = "nsroot"
# The mock's factory-default credentials; not a secret of any real appliance.
DEMO_PASSWORD = "nsroot"  # noqa: S105


class MockUnavailable(NsfixError):
    """The mock appliance could not be found or did not start."""


def scenario_path(name: str) -> Path:
    """`seed-incident` → the bundled scenario file, found without importing the mock."""
    spec = importlib.util.find_spec("mocks")
    if spec is None or not spec.submodule_search_locations:
        raise MockUnavailable("the bundled mock appliance (package 'mocks') is not installed")
    folder = Path(next(iter(spec.submodule_search_locations))) / "scenarios"
    path = folder / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.json"))
        raise MockUnavailable(f"no scenario {name!r}; bundled: {', '.join(known)}")
    return path


@contextmanager
def running_mock(arguments: Sequence[str], *, start_timeout: float = 20.0) -> Iterator[str]:
    """Run `python -m mocks ARGUMENTS` and yield its base URL; stop it on the way out."""
    command = [sys.executable, "-m", "mocks", "--host", "127.0.0.1", "--port", "0", *arguments]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, fixed arguments
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = _first_line(process, start_timeout)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    stdout = process.stdout
    assert stdout is not None
    lines: list[str] = []
    # readline() has no timeout of its own; a daemon thread keeps a hung mock from hanging us.
    reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    url = lines[0].strip() if lines else ""
    if url.startswith("http"):
        return url
    detail = ""
    if process.poll() is not None and process.stderr is not None:
        tail = process.stderr.read().strip().splitlines()
        detail = f": {tail[-1]}" if tail else ""
    raise MockUnavailable(f"the mock appliance did not start within {timeout:.0f} s{detail}")
