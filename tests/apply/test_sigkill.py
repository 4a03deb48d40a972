"""An apply killed with SIGKILL mid-run is undone exactly by `nsfix rollback` on its journal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.apply.helpers import (
    PASSWORD,
    ROOT,
    USER,
    Nsfix,
    comparable,
    config_diff,
    journal_dir_fixture,  # noqa: F401
    make_plan,
    nsfix_fixture,  # noqa: F401
    records,
    scenario,
)

WAIT = 20.0  # seconds: the bound on every wait in this test


def control(url: str, path: str, method: str = "GET", data: Any = None) -> Any:
    body = json.dumps(data).encode() if data is not None else None
    assert url.startswith("http://127.0.0.1:")  # only ever the loopback mock
    request = urllib.request.Request(url + path, data=body, method=method)  # noqa: S310
    with urllib.request.urlopen(request, timeout=5) as reply:  # noqa: S310
        return json.loads(reply.read())


def mock_config(url: str) -> dict[str, Any]:
    partitions = ("default", "p_apps")
    return {p: comparable(control(url, f"/_mock/config?partition={p}")) for p in partitions}


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def start_nsfix(
    url: str, journal_dir: Path, tmp_path: Path, *args: str, stdout: Any = subprocess.DEVNULL
) -> subprocess.Popen[bytes]:
    """`python -m nsfix ARGS` as its own process against the mock, its stderr in apply.err."""
    env = {
        **os.environ,
        "NSFIX_URL": url,
        "NSFIX_USER": USER,
        "NSFIX_PASSWORD": PASSWORD,
        "NSFIX_JOURNAL_DIR": str(journal_dir),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    env.pop("NSFIX_PASSWORD_FILE", None)
    return subprocess.Popen(
        [sys.executable, "-m", "nsfix", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=(tmp_path / "apply.err").open("wb"),
    )


def wait_for(condition: Any, process: subprocess.Popen[bytes], tmp_path: Path, what: str) -> None:
    """Poll until `condition()` holds, while the nsfix process lives; bounded by WAIT."""
    give_up = time.monotonic() + WAIT
    while not condition():
        assert process.poll() is None, (tmp_path / "apply.err").read_text()
        assert time.monotonic() < give_up, what
        time.sleep(0.02)


@pytest.fixture
def mock_process(tmp_path: Path) -> Iterator[str]:
    """The mixed scenario served by `python -m mocks` in its own process; yields its URL."""
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(scenario("mixed")))
    process = subprocess.Popen(
        [sys.executable, "-m", "mocks", "--scenario", str(path), "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        stdout = process.stdout
        assert stdout is not None
        first: list[bytes] = []
        reader = threading.Thread(target=lambda: first.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(WAIT)
        assert first, "the mock did not start"
        assert first[0].startswith(b"http://127.0.0.1:")
        yield first[0].decode().strip()
    finally:
        stop(process)


def test_apply_killed_mid_run_is_rolled_back_exactly_from_its_journal(
    nsfix: Nsfix, mock_process: str, journal_dir: Path, tmp_path: Path
) -> None:
    url = mock_process
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, url, plan_path)
    before = mock_config(url)
    # Slow enough that the kill lands mid-run, fast enough for the suite.
    control(url, "/_mock/faults", "POST", {"latency": 0.1})
    journal = journal_dir / "killed.jsonl"
    apply = start_nsfix(
        url,
        journal_dir,
        tmp_path,
        "apply",
        str(plan_path),
        "--yes",
        "--batch-size",
        "1",
        "--settle",
        "0",
        "--journal",
        str(journal),
    )
    try:
        wait_for(
            lambda: control(url, "/_mock/counters")["writes"] >= 1,
            apply,
            tmp_path,
            "apply never wrote",
        )
        os.kill(apply.pid, signal.SIGKILL)
        assert apply.wait(WAIT) == -signal.SIGKILL
    finally:
        stop(apply)

    kinds = [r["type"] for r in records(journal)] if journal.read_text().strip() else []
    assert kinds[0] == "start"
    assert "end" not in kinds  # it really died mid-run
    assert "intent" in kinds
    assert mock_config(url) != before  # and left something on the appliance
    assert PASSWORD not in journal.read_text() + (tmp_path / "apply.err").read_text()

    control(url, "/_mock/faults", "DELETE")
    undo = nsfix("rollback", str(journal), "--yes", "--settle", "0")
    assert undo.code == 0, undo.out + undo.err
    after = mock_config(url)
    assert after == before, "\n".join(config_diff(before, after))
    assert [r["type"] for r in records(journal)][-1] == "end"
