"""Command line: serve a mock NetScaler from a scenario file until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType
from typing import Any

from mocks.appliance import Appliance
from mocks.faults import FAULT_NAMES, FaultError, parse_fault_arg
from mocks.scenario import ScenarioError
from mocks.server import MockServer, check_loopback


def _value(text: str) -> Any:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text.strip()


def parse_generate(spec: str) -> dict[str, Any]:
    """`services=N,vservers=M,...` -> keyword arguments for mocks.generate.generate."""
    kwargs: dict[str, Any] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--generate: expected NAME=VALUE, got {part.strip()!r}")
        kwargs[name.strip()] = _value(value)
    return kwargs


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mocks",
        description="Serve a stateful mock NetScaler (NITRO API) on a loopback address. "
        "The first line printed is the base URL.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--scenario", metavar="PATH", help="scenario JSON file")
    source.add_argument("--generate", metavar="SPEC",
                        help="generate a scenario, e.g. services=5000,vservers=500")
    source.add_argument("--console", metavar="PATH",
                        help="serve a mock NetScaler Console fronting the mock appliances a "
                        "Console file lists (mocks/scenarios/README.md, Console mode)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="loopback address to listen on (127.0.0.0/8 or ::1)")
    parser.add_argument("--port", type=int, default=0, help="port (0 picks a free one)")
    parser.add_argument("--fault", action="append", default=[], metavar="NAME=VALUE",
                        help=f"arm a fault at start; NAME is one of {', '.join(FAULT_NAMES)}")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        host = check_loopback(args.host)
    except ValueError as exc:
        parser.error(str(exc))
    if args.console is not None:
        return _serve_console(args.console, host, args.port)
    try:
        if args.scenario is not None:
            appliance = Appliance.from_scenario(args.scenario)
        else:
            from mocks.generate import generate  # the scenario engineer's module; loaded on demand

            appliance = Appliance(generate(**parse_generate(args.generate)))
        for item in args.fault:
            name, value = parse_fault_arg(item)
            appliance.faults.set(name, value)
    except (ScenarioError, FaultError, ValueError, TypeError) as exc:
        print(f"python -m mocks: error: {exc}", file=sys.stderr)
        return 2

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        server = MockServer(appliance, host=host, port=args.port).start()
    except OSError as exc:
        print(f"python -m mocks: error: cannot listen on {host}:{args.port}: {exc.strerror}",
              file=sys.stderr)
        return 2
    print(server.url, flush=True)
    try:
        # Wake up regularly so signal handlers get to run promptly.
        while not stop.wait(0.2):
            pass
    finally:
        server.stop()
    return 0


def _serve_console(path: str, host: str, port: int) -> int:
    from pathlib import Path

    from mocks.console import load_console_file, start_console

    try:
        instances, users = load_console_file(Path(path))
        running = start_console(instances, users, host=host, port=port, base=Path(path).parent)
    except (ScenarioError, ValueError, TypeError, KeyError) as exc:
        print(f"python -m mocks: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"python -m mocks: error: cannot listen on {host}:{port}: {exc.strerror}",
              file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    print(running.url, flush=True)
    for instance in running.console.instances:
        print(f"instance {instance.name} ip {instance.ip} id {instance.id} -> {instance.url}",
              flush=True)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
