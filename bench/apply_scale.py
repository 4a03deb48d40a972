"""Benchmark apply and rollback of 1,000 and 5,000 changes, beside a per-object client.

Not a test: it prints figures. nsfix runs as its own process (bench/core.py's runner); requests
and writes are the mock's counters. For each plan it measures `nsfix apply` and `nsfix rollback`
at 0 and 20 ms of simulated latency, checks that each rollback leaves the appliance exactly as it
was, and measures a per-object client (the way nsfix worked before issue 15, and most scripts
work): one GET per object before and after, one PUT per change, both ways. Past --baseline-cap
requests the per-object client stops and scales its time up (~). Then it applies and rolls back
at batch sizes default, 100 and 1,000 and prints the journal's size.

Usage: python bench/apply_scale.py [--latencies 0 0.02] [--baseline-cap REQUESTS]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from core import Mock, Run, generate, mock_for, nitro_session, nsfix, ratio

from nsfix.executor import DEFAULT_BATCH_SIZE

# Services behind DSR vservers with usip NO: a third of the 30% of services that are DSR.
SCENARIOS = {
    1_000: ("services=10000", "servicegroups=0", "bad_fraction=0.33334"),
    5_000: ("services=50000", "servicegroups=0", "bad_fraction=0.33334"),
}
BATCH_SIZES = (DEFAULT_BATCH_SIZE, 100, 1_000)
WRITE_TARGET = 15
REQUEST_TARGET = 60
FLAGS = ("--yes", "--settle", "0")


@dataclass(frozen=True)
class Measured:
    """One plan at one latency: nsfix apply and rollback, and the per-object client's."""

    apply: Run
    rollback: Run
    per_object_apply: Run
    per_object_rollback: Run
    restored: bool


def config_of(mock: Mock) -> Any:
    """The running configuration, without the fields that record when it changed."""
    config = requests.get(f"{mock.url}/_mock/config", timeout=120).json()
    for name in ("configchanged", "lastconfigchangedtime", "lastconfigsavetime",
                 "currentsytemtime"):
        config.get("nsconfig", {}).pop(name, None)
    return config


def only_journal(folder: Path) -> Path:
    [journal] = folder.glob("*.jsonl")
    return journal


def apply_and_roll_back(mock: Mock, plan: Path, folder: Path, *extra: str) -> tuple[Run, Run,
                                                                                     Path]:
    """nsfix apply, then nsfix rollback of its journal, each counted on its own."""
    journals = Path(mock.env["NSFIX_JOURNAL_DIR"])
    for old in journals.glob("*.jsonl"):
        old.unlink()
    mock.reset()
    applied = mock.counted(nsfix(["apply", str(plan), *FLAGS, *extra], mock.env, folder))
    journal = only_journal(journals)
    mock.reset()
    undone = mock.counted(nsfix(["rollback", str(journal), *FLAGS, *extra], mock.env, folder))
    return applied, undone, journal


def per_object(mock: Mock, changes: Sequence[dict[str, Any]], phase: str, cap: int) -> Run:
    """A per-object client: for each change, GET the object, PUT the change (or its inverse),
    GET it again. Past `cap` requests its time is scaled up; the rest of the writes are still
    sent, untimed, so that the next measure starts from the same state."""
    config = f"{mock.url}/nitro/v1/config"
    total = 2 + 3 * len(changes)  # login and logout, then three requests per change
    mock.reset()
    timed = 0
    started = time.perf_counter()
    with nitro_session(mock.url) as session:
        for change in changes:
            operation = change["operation" if phase == "apply" else "inverse"]
            resource, record = operation["resource"], operation["record"]
            if timed * 3 < cap:
                session.get(f"{config}/{resource}/{record['name']}", timeout=30)
            session.put(f"{config}/{resource}", json={resource: record}, timeout=30)
            if timed * 3 < cap:
                session.get(f"{config}/{resource}/{record['name']}", timeout=30)
                timed += 1
                elapsed = time.perf_counter() - started
    scaled = timed < len(changes)
    return Run(round(elapsed * len(changes) / timed, 1), 0.0, total, len(changes), scaled)


def measure(size: int, latencies: Sequence[float], cap: int,
            folder: Path) -> tuple[int, dict[float, Measured], dict[int, tuple[int, int]]]:
    """Figures for one plan: per latency, and journal sizes (after apply, after rollback) per
    batch size."""
    scenario = folder / f"scenario-{size}.json"
    plan = folder / f"plan-{size}.json"
    generate(SCENARIOS[size], scenario)
    results: dict[float, Measured] = {}
    journals: dict[int, tuple[int, int]] = {}
    with mock_for(scenario) as mock:
        nsfix(["plan", "-o", str(plan)], mock.env, folder)
        changes = json.loads(plan.read_text())["plan"]["changes"]
        before = config_of(mock)
        for latency in latencies:
            mock.latency(latency)
            applied, undone, _ = apply_and_roll_back(mock, plan, folder)
            restored = config_of(mock) == before
            forward = per_object(mock, changes, "apply", cap)
            back = per_object(mock, list(reversed(changes)), "rollback", cap)
            results[latency] = Measured(applied, undone, forward, back, restored)
        mock.latency(0)
        for batch in BATCH_SIZES:
            _, _, journal = apply_and_roll_back(mock, plan, folder, "--batch-size", str(batch))
            lines = journal.read_bytes().splitlines(keepends=True)
            apply_end = next(i for i, line in enumerate(lines) if b'"type": "end"' in line)
            journals[batch] = (len(b"".join(lines[: apply_end + 1])), journal.stat().st_size)
    return len(changes), results, journals


def seconds(run: Run) -> str:
    return f"{'~' if run.extrapolated else ''}{run.seconds:g}"


def print_size(changes: int, results: dict[float, Measured]) -> None:
    print(f"\n{changes:,} changes (default batch size {DEFAULT_BATCH_SIZE}, --settle 0)")
    print(f"{'':<30}{'requests':>10}{'writes':>8}" +
          "".join(f"{f's @{lat * 1000:g} ms':>12}" for lat in results))
    rows = (("nsfix apply", "apply"), ("per-object apply", "per_object_apply"),
            ("nsfix rollback", "rollback"), ("per-object rollback", "per_object_rollback"))
    first = next(iter(results.values()))
    for label, name in rows:
        run: Run = getattr(first, name)
        cells = "".join(f"{seconds(getattr(m, name)):>12}" for m in results.values())
        print(f"{label:<30}{run.requests:>10,}{run.writes:>8,}{cells}")
    for latency, m in results.items():
        verdicts = []
        for name in ("apply", "rollback"):
            run = getattr(m, name)
            ok = run.writes <= WRITE_TARGET and run.requests <= REQUEST_TARGET
            verdicts.append(f"{name} {'within' if ok else 'OVER'} {WRITE_TARGET} writes / "
                            f"{REQUEST_TARGET} requests")
        print(f"@{latency * 1000:g} ms: {'; '.join(verdicts)}; state after rollback identical "
              f"to before: {'yes' if m.restored else 'NO'}; per-object / nsfix time: apply "
              f"{ratio(m.apply.seconds, m.per_object_apply.seconds)}, rollback "
              f"{ratio(m.rollback.seconds, m.per_object_rollback.seconds)}")


def print_journals(journals: dict[int, dict[int, tuple[int, int]]]) -> None:
    sizes = list(journals)
    print("\nJournal size, MB: after apply / after apply and rollback")
    print(f"{'batch size':<16}" + "".join(f"{f'{s:,} changes':>22}" for s in sizes))
    for batch in BATCH_SIZES:
        label = f"{batch:,}{' (default)' if batch == DEFAULT_BATCH_SIZE else ''}"
        cells = "".join(
            f"{f'{journals[s][batch][0] / 1e6:.2f} / {journals[s][batch][1] / 1e6:.2f}':>22}"
            for s in sizes
        )
        print(f"{label:<16}{cells}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python bench/apply_scale.py", description=__doc__)
    parser.add_argument("--changes", nargs="*", type=int, default=list(SCENARIOS),
                        choices=list(SCENARIOS))
    parser.add_argument("--latencies", nargs="*", type=float, default=[0.0, 0.02],
                        help="seconds per request")
    parser.add_argument("--baseline-cap", type=int, default=1_500,
                        help="requests the per-object client sends before it scales up")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    journals: dict[int, dict[int, tuple[int, int]]] = {}
    measured: list[tuple[int, dict[float, Measured]]] = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for size in args.changes:
            print(f"measuring {size:,} changes ...", file=sys.stderr, flush=True)
            changes, results, sizes = measure(size, args.latencies, args.baseline_cap, folder)
            measured.append((changes, results))
            journals[changes] = sizes
    print(f"nsfix apply/rollback benchmark: {os.cpu_count()} CPUs, mock on 127.0.0.1; "
          "seconds are wall time of the whole command (~ = scaled up from a capped run)")
    for changes, results in measured:
        print_size(changes, results)
    print_journals(journals)
    print(f"\nWhole benchmark: {time.perf_counter() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
