"""Benchmark `nsfix inventory` against generated mock appliances: requests, seconds, memory.

Not a test: it prints figures. Each size runs in a fresh child process so that its peak memory
is its own. Usage: python bench/inventory.py [SIZES...]   (default: 100 10000 50000 services)
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_SIZES = (100, 10_000, 50_000)


def measure(services: int) -> dict[str, object]:
    """Run in the child: generate, serve, collect once, report."""
    import requests

    from nsfix.demo import DEMO_PASSWORD, DEMO_USER, running_mock
    from nsfix.inventory import collect
    from nsfix.nitro import Credentials, NitroClient

    with tempfile.TemporaryDirectory() as folder:
        scenario = Path(folder) / "scenario.json"
        subprocess.run(
            [sys.executable, "-m", "mocks.generate", f"services={services}", "-o", str(scenario)],
            check=True,
        )
        with running_mock(["--scenario", str(scenario)], start_timeout=120) as url:
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            started = time.perf_counter()
            client = NitroClient(url, Credentials(DEMO_USER, DEMO_PASSWORD), read_timeout=120)
            with client:
                snapshot = collect(client, url=url)
            elapsed = time.perf_counter() - started
            rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            stats = client.stats()
            served = requests.get(f"{url}/_mock/counters", timeout=10).json()
    return {
        "services": services,
        "lbvservers": len(snapshot.vservers),
        "servicegroup_members": sum(len(g.members) for g in snapshot.servicegroups.values()),
        "requests": stats.total,
        "requests_seen_by_mock": served.get("requests_total", served.get("total")),
        "by_resource": dict(stats.by_resource),
        "seconds": round(elapsed, 2),
        "peak_rss_mib": round(rss_after / 1024, 1),
        "rss_growth_mib": round((rss_after - rss_before) / 1024, 1),
        "defects": len(snapshot.defects),
    }


def main(argv: list[str]) -> int:
    if argv[:1] == ["--one"]:
        print(json.dumps(measure(int(argv[1]))))
        return 0
    sizes = [int(a) for a in argv] or list(DEFAULT_SIZES)
    print(f"{'services':>9} {'vservers':>9} {'members':>8} {'requests':>9} {'seconds':>8} "
          f"{'peak RSS MiB':>13}")
    results = []
    for size in sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(size)],
            check=True, capture_output=True, text=True,
        )
        row = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(row)
        print(f"{row['services']:>9} {row['lbvservers']:>9} {row['servicegroup_members']:>8} "
              f"{row['requests']:>9} {row['seconds']:>8} {row['peak_rss_mib']:>13}")
    print()
    for row in results:
        print(f"{row['services']} services, requests by resource: {row['by_resource']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
