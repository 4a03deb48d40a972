"""Benchmark nsfix inventory, audit, plan and apply against a per-object reader, in one run.

Not a test: it prints figures. Every nsfix command runs as its own process, so its wall time and
peak memory (from os.wait4) are its own; requests and writes come from the mock's counters. The
online runs and the per-object baseline see the same simulated latency, so each ratio compares
like with like. The baseline reads the way most tools do: one GET per lbvserver's bindings and one
per bound service. Past --baseline-cap requests it stops and scales requests and time up (~).

It ends with the issue 11 targets checked against the figures: inventory at 50,000 services
in at most 20 requests; plan (which reads, audits and plans) at most 10 s and 400 MiB at 50,000,
online and offline; and the time at 50,000 at most 13x the time at 5,000.

Usage: python bench/core.py [SIZES...] [--latency SECONDS] [--baseline-cap REQUESTS]
       (default: 1000 5000 10000 50000 100000 services, 0.005 s, 12000 requests)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from nsfix.demo import DEMO_PASSWORD, DEMO_USER, running_mock

DEFAULT_SIZES = (1_000, 5_000, 10_000, 50_000, 100_000)
COMMANDS = ("inventory", "audit", "plan")
# audit exits 2 on findings and 3 when partial; only 1 (could not run) and above 3 are failures.
ACCEPTED_EXIT = {"inventory": {0}, "audit": {0, 2, 3}, "plan": {0}, "apply": {0},
                 "rollback": {0}}
# services=10000 with no service groups: 3,000 services behind DSR vservers, a third with usip NO.
APPLY_SCENARIO = ("services=10000", "servicegroups=0", "bad_fraction=0.33334")
WRITE_TARGET = 15
# Issue 11, at 50,000 services: inventory requests, plan seconds and MiB, and 50k/5k time ratio.
TARGET_SIZE, SCALE_FROM = 50_000, 5_000
REQUEST_TARGET, SECONDS_TARGET, MEMORY_TARGET, SCALE_TARGET = 20, 10.0, 400.0, 13.0


@dataclass(frozen=True)
class Run:
    """One measured command: wall seconds, peak RSS, and what the mock served during it."""

    seconds: float
    peak_rss_mib: float
    requests: int = 0
    writes: int = 0
    extrapolated: bool = False
    cpu_seconds: float = 0.0
    """User and system time of the nsfix process: its own work, whatever else the box runs."""


def nsfix(arguments: Sequence[str], env: dict[str, str], folder: Path) -> Run:
    """Run `python -m nsfix ARGUMENTS` as its own process; wait4 gives that process's peak RSS."""
    command = [sys.executable, "-m", "nsfix", *arguments]
    errors = folder / "stderr.txt"
    started = time.perf_counter()
    with errors.open("w") as stderr:
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=stderr,
        )
        _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in ACCEPTED_EXIT[arguments[0]]:
        tail = errors.read_text()[-2000:]
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}:\n{tail}")
    return Run(round(elapsed, 2), round(usage.ru_maxrss / 1024, 1),
               cpu_seconds=round(usage.ru_utime + usage.ru_stime, 2))


class Mock:
    """The control side of a running mock: latency, and counters reset around each measure."""

    def __init__(self, url: str, journals: Path) -> None:
        self.url = url
        # Journals go to the run's temporary folder, not the user's journal directory.
        self.env = dict(os.environ, NSFIX_URL=url, NSFIX_USER=DEMO_USER,
                        NSFIX_PASSWORD=DEMO_PASSWORD, NSFIX_JOURNAL_DIR=str(journals))

    def latency(self, seconds: float) -> None:
        if seconds > 0:
            requests.post(f"{self.url}/_mock/faults", json={"latency": seconds}, timeout=10)
        else:
            requests.delete(f"{self.url}/_mock/faults", timeout=10)

    def reset(self) -> None:
        requests.post(f"{self.url}/_mock/reset-counters", timeout=10)

    def counted(self, run: Run) -> Run:
        served = requests.get(f"{self.url}/_mock/counters", timeout=10).json()
        return Run(run.seconds, run.peak_rss_mib, served["requests_total"], served["writes"],
                   run.extrapolated, run.cpu_seconds)


@contextmanager
def mock_for(scenario: Path) -> Iterator[Mock]:
    with running_mock(["--scenario", str(scenario)], start_timeout=300) as url:
        yield Mock(url, scenario.parent)


def generate(settings: Sequence[str], scenario: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "mocks.generate", *settings, "-o", str(scenario)], check=True,
    )


def nitro_session(url: str) -> requests.Session:
    """A logged-in session the way a script would make one: POST login, keep the cookie."""
    session = requests.Session()
    reply = session.post(f"{url}/nitro/v1/config/login",
                         json={"login": {"username": DEMO_USER, "password": DEMO_PASSWORD}},
                         timeout=30)
    reply.raise_for_status()
    session.cookies.set("NITRO_AUTH_TOKEN", reply.json()["sessionid"])
    return session


def per_object_read(url: str, cap: int) -> tuple[int, int]:
    """The baseline: list lbvservers, then GET each one's bindings and each bound service.

    Stops before the vserver that would pass `cap` requests; returns the requests sent and the
    requests a full read would send (scaled up from the vservers read, when it stopped early).
    """
    config = f"{url}/nitro/v1/config"
    with nitro_session(url) as session:
        vservers = session.get(f"{config}/lbvserver", timeout=120).json().get("lbvserver", [])
        sent = 2  # login and the list
        read = 0
        for vserver in vservers:
            if sent >= cap:
                break
            name = vserver["name"]
            reply = session.get(f"{config}/lbvserver_service_binding/{name}", timeout=30).json()
            sent += 1
            for binding in reply.get("lbvserver_service_binding", []):
                session.get(f"{config}/service/{binding['servicename']}", timeout=30)
                sent += 1
            read += 1
    if read == len(vservers):
        return sent, sent
    return sent, 2 + round((sent - 2) * len(vservers) / read)


def baseline(mock: Mock, cap: int) -> Run:
    mock.reset()
    started = time.perf_counter()
    sent, total = per_object_read(mock.url, cap)
    elapsed = time.perf_counter() - started
    return Run(round(elapsed * total / sent, 1), 0.0, total, 0, total > sent)


def measure_size(services: int, latency: float, cap: int, folder: Path) -> dict[str, Run]:
    """Every measure for one appliance size: nsfix online and offline, and the baseline."""
    scenario = folder / f"scenario-{services}.json"
    raw = folder / f"raw-{services}.json"
    generate([f"services={services}"], scenario)
    runs: dict[str, Run] = {}
    with mock_for(scenario) as mock:
        nsfix(["inventory", "--raw", str(raw)], mock.env, folder)  # the offline runs' input
        mock.latency(latency)
        for command in COMMANDS:
            extra = ["-o", str(folder / "plan.json")] if command == "plan" else []
            mock.reset()
            runs[f"{command} online"] = mock.counted(nsfix([command, *extra], mock.env, folder))
        runs["baseline"] = baseline(mock, cap)
    for command in COMMANDS:
        extra = ["-o", str(folder / "plan.json")] if command == "plan" else []
        runs[f"{command} offline"] = nsfix(
            [command, "--from-file", str(raw), *extra], dict(os.environ), folder,
        )
    return runs


def measure_apply(latency: float, folder: Path) -> tuple[int, Run, Run]:
    """Apply a plan of about 1,000 changes; the baseline PUTs the same changes one by one."""
    scenario = folder / "scenario-apply.json"
    plan = folder / "plan-apply.json"
    generate(APPLY_SCENARIO, scenario)
    with mock_for(scenario) as mock:
        nsfix(["plan", "-o", str(plan)], mock.env, folder)
        operations = [c["operation"] for c in json.loads(plan.read_text())["plan"]["changes"]]
        mock.latency(latency)
        mock.reset()
        applied = mock.counted(nsfix(["apply", str(plan), "--yes", "--settle", "0"],
                                     mock.env, folder))
    with mock_for(scenario) as mock:  # the same appliance, still unfixed
        mock.latency(latency)
        mock.reset()
        started = time.perf_counter()
        with nitro_session(mock.url) as session:
            for operation in operations:
                resource = operation["resource"]
                session.put(f"{mock.url}/nitro/v1/config/{resource}",
                            json={resource: operation["record"]}, timeout=30)
        per_object = mock.counted(Run(round(time.perf_counter() - started, 2), 0.0))
    return len(operations), applied, per_object


def ratio(ours: float, theirs: float) -> str:
    """How many times nsfix's figure the baseline's is (below 1: the baseline does better)."""
    if not ours:
        return "-"
    times = theirs / ours
    return f"{times:.0f}x" if times >= 10 else f"{times:.1f}x"


def print_tables(results: dict[int, dict[str, Run]], latency: float) -> None:
    sizes = list(results)
    head = f"{'':<18}" + "".join(f"{s:>12,}" for s in sizes)
    print(f"\nRequests sent (online: NITRO requests counted by the mock; offline: none)\n{head}")
    for key in [f"{c} online" for c in COMMANDS] + ["baseline"]:
        print(f"{key:<18}" + "".join(f"{results[s][key].requests:>12,}" for s in sizes))
    print(f"\nWall time, seconds (online at {latency * 1000:g} ms per request; ~ = scaled up "
          f"from the capped baseline)\n{head}")
    for key in [f"{c} {w}" for w in ("online", "offline") for c in COMMANDS] + ["baseline"]:
        cells = [f"{'~' if results[s][key].extrapolated else ''}{results[s][key].seconds:g}"
                 for s in sizes]
        print(f"{key:<18}" + "".join(f"{c:>12}" for c in cells))
    print(f"\nCPU time of the nsfix process, seconds (user + system; wall time above also "
          f"holds the mock's work and the latency)\n{head}")
    for key in [f"{c} {w}" for w in ("online", "offline") for c in COMMANDS]:
        print(f"{key:<18}" + "".join(f"{results[s][key].cpu_seconds:>12g}" for s in sizes))
    print(f"\nPeak memory of the nsfix process, MiB\n{head}")
    for key in [f"{c} {w}" for w in ("online", "offline") for c in COMMANDS]:
        print(f"{key:<18}" + "".join(f"{results[s][key].peak_rss_mib:>12}" for s in sizes))
    print(f"\nBaseline / nsfix inventory online, at the same latency\n{head}")
    for label, field in (("requests", "requests"), ("wall time", "seconds")):
        cells = [ratio(getattr(results[s]["inventory online"], field),
                       getattr(results[s]["baseline"], field)) for s in sizes]
        print(f"{label:<18}" + "".join(f"{c:>12}" for c in cells))


def print_apply(changes: int, applied: Run, per_object: Run) -> None:
    verdict = "within" if applied.writes <= WRITE_TARGET else "OVER"
    print(f"\nApplying {changes:,} changes (nsfix apply --settle 0, default batch size)")
    print(f"{'':<18}{'requests':>10}{'writes':>8}{'seconds':>9}")
    print(f"{'nsfix apply':<18}{applied.requests:>10,}{applied.writes:>8,}{applied.seconds:>9}")
    print(f"{'one PUT each':<18}{per_object.requests:>10,}{per_object.writes:>8,}"
          f"{per_object.seconds:>9}")
    print(f"nsfix apply: {applied.writes} write requests, {verdict} the target of "
          f"{WRITE_TARGET}; one PUT per change sends {ratio(applied.writes, per_object.writes)} "
          f"the writes and takes {ratio(applied.seconds, per_object.seconds)} the time "
          f"(nsfix's other requests are its preflight and verification reads).")


def print_scaling(results: dict[int, dict[str, Run]]) -> None:
    """Wall time at 50,000 services over wall time at 5,000: 10 would be linear."""
    if TARGET_SIZE not in results or SCALE_FROM not in results:
        return
    big, small = results[TARGET_SIZE], results[SCALE_FROM]
    print(f"\nScaling: time at {TARGET_SIZE:,} / time at {SCALE_FROM:,} services "
          f"(10x is linear; target <= {SCALE_TARGET:g}x)")
    print(f"{'':<18}{'wall':>10}{'wall':>10}{'ratio':>8}{'CPU':>10}{'CPU':>10}{'ratio':>8}")
    for key in [f"{c} {w}" for w in ("online", "offline") for c in COMMANDS]:
        cells = []
        for field in ("seconds", "cpu_seconds"):
            low, high = getattr(small[key], field), getattr(big[key], field)
            cells.append(f"{low:>9g}s{high:>9g}s{(high / low if low else 0.0):>7.1f}x")
        print(f"{key:<18}" + "".join(cells))


def print_targets(results: dict[int, dict[str, Run]]) -> None:
    """Each issue 11 target, the figure measured, and whether it is met."""
    if TARGET_SIZE not in results:
        return
    at = results[TARGET_SIZE]
    checks = [(f"inventory requests at {TARGET_SIZE:,}", at["inventory online"].requests,
               REQUEST_TARGET, "")]
    for where in ("online", "offline"):
        checks.append((f"plan {where} seconds", at[f"plan {where}"].seconds, SECONDS_TARGET, " s"))
        checks.append((f"plan {where} peak MiB", at[f"plan {where}"].peak_rss_mib,
                       MEMORY_TARGET, " MiB"))
    if SCALE_FROM in results:
        for where in ("online", "offline"):
            small = results[SCALE_FROM][f"plan {where}"].seconds
            times = round(at[f"plan {where}"].seconds / small, 1) if small else 0.0
            checks.append((f"plan {where} {TARGET_SIZE // 1000}k/{SCALE_FROM // 1000}k", times,
                           SCALE_TARGET, "x"))
    print("\nTargets (issue 11)")
    for label, value, limit, unit in checks:
        verdict = "met" if value <= limit else "MISSED"
        print(f"{label:<28}{value:>10g}{unit:<4} <= {limit:g}{unit}  {verdict}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python bench/core.py", description="nsfix benchmark")
    parser.add_argument("sizes", nargs="*", type=int, default=list(DEFAULT_SIZES))
    parser.add_argument("--latency", type=float, default=0.005, help="seconds per request")
    parser.add_argument("--baseline-cap", type=int, default=12_000,
                        help="requests the baseline sends before it scales up")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results: dict[int, dict[str, Run]] = {}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for size in args.sizes:
            print(f"measuring {size:,} services ...", file=sys.stderr, flush=True)
            results[size] = measure_size(size, args.latency, args.baseline_cap, folder)
        print("measuring apply ...", file=sys.stderr, flush=True)
        changes, applied, per_object = measure_apply(args.latency, folder)
    load = os.getloadavg()[1]
    print(f"nsfix benchmark: {os.cpu_count()} CPUs (load average {load:.1f} over the last 5 "
          f"minutes at the end), simulated latency {args.latency * 1000:g} ms per NITRO "
          f"request, mock on 127.0.0.1")
    print_tables(results, args.latency)
    print_scaling(results)
    print_apply(changes, applied, per_object)
    print_targets(results)
    largest = results[args.sizes[-1]]
    print(f"\nSummary: at {args.sizes[-1]:,} services nsfix reads the appliance in "
          f"{largest['inventory online'].requests} requests "
          f"({largest['inventory online'].seconds:g} s) where a per-object reader needs "
          f"{largest['baseline'].requests:,} ({largest['baseline'].seconds:g} s); "
          f"offline runs send none. Whole benchmark: {time.perf_counter() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
