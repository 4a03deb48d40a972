"""The README's first command: the demo runs the whole loop against the bundled mock."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def nsfix_program(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """nsfix run as its own process, as `make demo` runs it."""
    return subprocess.run(
        [sys.executable, "-m", "nsfix", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_the_demo_runs_the_whole_loop_and_keeps_what_it_printed(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "TMPDIR": str(temp),
    }
    env.pop("NSFIX_JOURNAL_DIR", None)
    done = nsfix_program("demo", env=env)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for step in (
        "$ nsfix inventory",
        "$ nsfix audit",
        "$ nsfix plan -o plan.json",
        "$ nsfix explain vs_app_dsr",
        "$ nsfix apply plan.json --dry-run",
        "$ nsfix apply plan.json --yes",
        "$ nsfix rollback",
    ):
        assert step in out
    assert "outcome: loop" in out
    assert "outcome: direct-return" in out
    assert "apply: applied (exit 0)" in out
    assert "rollback: rolled-back (exit 0)" in out
    assert not (tmp_path / "state").exists()  # journal and lock live in the demo's own folder
    # Every journal path the demo prints (and the rollback it shows) exists after it ended.
    printed = set(re.findall(r"\S+/journal\.jsonl", out))
    assert len(printed) == 1
    journal = Path(printed.pop())
    assert journal.is_file()
    assert journal.parent.parent == temp
    assert (journal.parent / "plan.json").is_file()
    status = nsfix_program("status", str(journal), env=env)
    assert status.returncode == 0, status.stderr
    assert "run: ended (rolled-back)" in status.stdout
    next_steps = out[out.index("What to try next:") :]
    for hint in (f"nsfix status {journal}", "nsfix demo --scenario mixed", "docs/guide.md"):
        assert hint in next_steps


def test_a_demo_with_nothing_to_fix_still_says_what_to_try_next(tmp_path: Path) -> None:
    done = nsfix_program(
        "demo",
        "--scenario",
        "healthy",
        env={**os.environ, "HOME": str(tmp_path), "TMPDIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    assert "journal" not in done.stdout
    assert "docs/guide.md" in done.stdout[done.stdout.index("What to try next:") :]
    assert list(tmp_path.glob("nsfix-demo-*")) == []
