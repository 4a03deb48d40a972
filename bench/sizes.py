"""Benchmark what a plan costs to hold and to read: plan file size and `nsfix plan` peak memory.

Not a test: it prints figures. Each appliance is a generated mock scenario (mocks/generate.py),
planned offline with `nsfix plan --from-file` as its own process (bench/core.py's `nsfix` and
`generate`), so the peak memory is that process's own and no latency or network is involved.
Two tables: plans of whole generated appliances (10,000 / 50,000 / 100,000 services, about a
tenth of the DSR backends wrong), and plans of a fixed number of changes (1,000 and 5,000) on
appliances of different sizes, which shows whether a plan's size follows its changes or the
appliance. Target (issue 16): a plan of 1,000 changes under 2 MB, whatever the appliance.

Usage: python bench/sizes.py [--services N ...] [--changes N ...] [--quick]
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

# bench/ is scripts, not a package: run as `python bench/sizes.py`, this folder is on sys.path.
from core import generate, nsfix

DEFAULT_SERVICES = (10_000, 50_000, 100_000)
DEFAULT_CHANGES = (1_000, 5_000)
TARGET_BYTES = 2_000_000
TARGET_CHANGES = 1_000
# The generator binds service i to vserver i mod (services/10); with dsr_fraction 0.3 and no
# service groups, 30% of the services are DSR backends and `bad_fraction` of those get usip NO:
# one change each. So a plan of N changes on an appliance of S services needs bad_fraction
# N / (0.3 S).
DSR_FRACTION = 0.3


@dataclass(frozen=True)
class Measure:
    label: str
    services: int
    changes: int
    server_tasks: int
    plan_bytes: int
    peak_rss_mib: float
    seconds: float


def plan_of(label: str, settings: Sequence[str], folder: Path) -> Measure:
    """Generate the appliance, plan it offline, and measure the file and the process."""
    scenario = folder / "scenario.json"
    plan = folder / "plan.json"
    generate(settings, scenario)
    run = nsfix(["plan", "--from-file", str(scenario), "-o", str(plan)], dict(os.environ), folder)
    document = json.loads(plan.read_text(encoding="utf-8"))
    summary = document["summary"]
    services = int(next(s.split("=")[1] for s in settings if s.startswith("services=")))
    measure = Measure(
        label, services, summary["changes"], summary["server_tasks"], plan.stat().st_size,
        run.peak_rss_mib, run.seconds,
    )
    scenario.unlink()
    plan.unlink()
    return measure


def appliance_settings(services: int) -> list[str]:
    return [f"services={services}"]


def changes_settings(services: int, changes: int) -> list[str]:
    bad = changes / (DSR_FRACTION * services)
    return [f"services={services}", "servicegroups=0", f"bad_fraction={bad:.6f}"]


def print_table(title: str, measures: Sequence[Measure]) -> None:
    print(f"\n{title}")
    print(f"{'':<28}{'services':>10}{'changes':>9}{'tasks':>8}{'plan file':>12}"
          f"{'peak MiB':>10}{'seconds':>9}")
    for m in measures:
        print(f"{m.label:<28}{m.services:>10,}{m.changes:>9,}{m.server_tasks:>8,}"
              f"{megabytes(m.plan_bytes):>12}{m.peak_rss_mib:>10}{m.seconds:>9}")


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.2f} MB" if size >= 100_000 else f"{size / 1000:.1f} kB"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python bench/sizes.py",
                                     description="nsfix plan file size and peak memory")
    parser.add_argument("--services", type=int, nargs="*", default=list(DEFAULT_SERVICES),
                        help="generated appliance sizes to plan whole")
    parser.add_argument("--changes", type=int, nargs="*", default=list(DEFAULT_CHANGES),
                        help="plan sizes, each on the smallest and the largest appliance")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    whole: list[Measure] = []
    fixed: list[Measure] = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for services in args.services:
            print(f"planning {services:,} services ...", file=sys.stderr, flush=True)
            whole.append(plan_of(f"appliance {services:,}", appliance_settings(services), folder))
        hosts = sorted({min(args.services), max(args.services)}) if args.services else [10_000]
        for changes in args.changes:
            for services in hosts:
                if changes > DSR_FRACTION * services:
                    continue
                print(f"planning {changes:,} changes on {services:,} services ...",
                      file=sys.stderr, flush=True)
                fixed.append(plan_of(f"{changes:,} changes", changes_settings(services, changes),
                                     folder))
    print("nsfix plan sizes: `nsfix plan --from-file` on generated appliances (offline)")
    print_table("Whole appliances (generator defaults: a tenth of the DSR backends wrong)", whole)
    print_table("A fixed number of changes on appliances of different sizes", fixed)
    near = [m for m in fixed if m.changes <= TARGET_CHANGES * 1.05]
    if near:
        largest = max(m.plan_bytes for m in near)
        verdict = "within" if largest < TARGET_BYTES else "OVER"
        print(f"\nA plan of about {TARGET_CHANGES:,} changes: at most {megabytes(largest)}, "
              f"{verdict} the target of {megabytes(TARGET_BYTES)}. "
              f"Whole benchmark: {time.perf_counter() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
