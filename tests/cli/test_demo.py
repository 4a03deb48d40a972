"""The README's first command: the demo runs the whole loop against the bundled mock."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_the_demo_runs_the_whole_loop_and_leaves_nothing_behind(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state")}
    env.pop("NSFIX_JOURNAL_DIR", None)
    done = subprocess.run(
        [sys.executable, "-m", "nsfix", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
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
    assert not (tmp_path / "state").exists()  # journal and lock lived in the demo's temp dir
