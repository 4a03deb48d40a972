"""The `nsfix` command line: a thin shell that reads settings, opens a session and renders results.

Every failure ends in one clear line on stderr and a documented exit code (`nsfix.exitcodes`),
never a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from nsfix import __version__
from nsfix.demo import DEMO_PASSWORD, DEMO_USER, MockUnavailable, running_mock, scenario_path
from nsfix.exitcodes import ExitCode
from nsfix.inventory import collect
from nsfix.model import Snapshot
from nsfix.nitro import (
    Credentials,
    NitroAuthError,
    NitroClient,
    NitroError,
    NitroNotAuthorized,
    NitroNotFound,
    NitroProtocolError,
    NitroTransportError,
)
from nsfix.reports.inventory import inventory_document, render_rich, render_text
from nsfix.settings import SettingsError, Target, resolve_target

app = typer.Typer(
    name="nsfix",
    help=(
        "Find NetScaler load balancing that forwards with Direct Server Return but does not keep "
        "the client's source IP, and fix it safely through NITRO."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

log = logging.getLogger("nsfix")


def stdout_console() -> Console:
    return Console(highlight=False)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False)


def fail(message: str, code: ExitCode = ExitCode.ERROR) -> NoReturn:
    stderr_console().print(f"nsfix: error: {message}", markup=False, highlight=False)
    raise typer.Exit(int(code))


def explain_nitro_error(error: NitroError, target: str) -> str:
    """One line an operator can act on, for each way a session can go wrong."""
    if isinstance(error, NitroAuthError):
        return f"{target}: {error}. Check NSFIX_USER and the password."
    if isinstance(error, NitroNotAuthorized):
        return f"{target}: the user may not read this ({error.message}); nsfix needs read access."
    if isinstance(error, NitroTransportError):
        return f"{target}: cannot reach the appliance: {error}"
    if isinstance(error, NitroProtocolError):
        return f"{target}: the reply was not NITRO's: {error}"
    if isinstance(error, NitroNotFound):
        return f"{target}: {error}"
    return f"{target}: NITRO error: {error}"


@contextmanager
def handled_errors() -> Iterator[None]:
    """Turn every expected failure into a message and an exit code."""
    try:
        yield
    except SettingsError as exc:
        fail(str(exc))
    except MockUnavailable as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        stderr_console().print("nsfix: interrupted", markup=False)
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def configure_logging(verbose: int) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("nsfix")
    root.handlers[:] = [handler]
    root.setLevel(level)


def open_client(target: Target, timeout: float) -> NitroClient:
    return NitroClient(
        target.url,
        Credentials(target.username, target.password),
        verify=target.verify,
        read_timeout=timeout,
        user_agent=f"nsfix/{__version__}",
    )


def read_snapshot(target: Target, *, timeout: float, show_progress: bool) -> Snapshot:
    """Log in, read one partition, always log out; the request count includes the logout."""
    client = open_client(target, timeout)
    try:
        with client, progress_reporter(show_progress) as progress:
            snapshot = collect(
                client, url=target.url, partition=target.partition, progress=progress
            )
    except NitroError as exc:
        fail(explain_nitro_error(exc, target.url))
    return replace(snapshot, requests=client.stats().total)


@contextmanager
def progress_reporter(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """A transient progress bar on stderr, only when a person is watching."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn

    with Progress(
        TextColumn("reading {task.description:<24}"),
        BarColumn(),
        console=stderr_console(),
        transient=True,
    ) as bar:
        task = bar.add_task("", total=1)

        def report(label: str, index: int, total: int) -> None:
            bar.update(task, description=label, completed=index, total=total)

        yield report


def emit_inventory(snapshot: Snapshot, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(inventory_document(snapshot), indent=2) + "\n")
    elif sys.stdout.isatty():
        console = stdout_console()
        for renderable in render_rich(snapshot):
            console.print(renderable)
    else:
        sys.stdout.write(render_text(snapshot))


# --- options shared by every command that talks to an appliance ---------------------------

UrlOption = Annotated[
    str | None,
    typer.Option("--url", envvar="NSFIX_URL", help="Appliance URL (https://NSIP); or NSFIX_URL."),
]
UserOption = Annotated[
    str | None, typer.Option("--user", envvar="NSFIX_USER", help="NITRO user; or NSFIX_USER.")
]
PasswordFileOption = Annotated[
    Path | None,
    typer.Option(
        "--password-file",
        help="File whose first line is the password (else NSFIX_PASSWORD, else a prompt).",
        dir_okay=False,
    ),
]
CaBundleOption = Annotated[
    Path | None,
    typer.Option("--ca-bundle", help="CA bundle to verify the appliance's certificate."),
]
InsecureOption = Annotated[
    bool, typer.Option("--insecure", help="Do not verify TLS certificates (says so loudly).")
]
PartitionOption = Annotated[
    str | None, typer.Option("--partition", help="Admin partition to read (default: default).")
]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", min=1.0, help="Seconds to wait for each NITRO reply.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
VerboseOption = Annotated[
    int, typer.Option("--verbose", "-v", count=True, help="More log output on stderr (-vv: debug).")
]


def target_from(
    url: str | None,
    user: str | None,
    password_file: Path | None,
    ca_bundle: Path | None,
    insecure: bool,
    partition: str | None,
) -> Target:
    return resolve_target(
        url=url,
        username=user,
        password_file=password_file,
        ca_bundle=ca_bundle,
        insecure=insecure,
        partition=partition,
    )


@app.command()
def inventory(
    url: UrlOption = None,
    user: UserOption = None,
    password_file: PasswordFileOption = None,
    ca_bundle: CaBundleOption = None,
    insecure: InsecureOption = False,
    partition: PartitionOption = None,
    timeout: TimeoutOption = 60.0,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """List virtual servers (DSR first), their services, groups and members, SNIPs and modes."""
    configure_logging(verbose)
    with handled_errors():
        target = target_from(url, user, password_file, ca_bundle, insecure, partition)
        snapshot = read_snapshot(
            target, timeout=timeout, show_progress=sys.stderr.isatty() and not as_json
        )
        emit_inventory(snapshot, as_json)


@app.command()
def demo(
    scenario: Annotated[
        str, typer.Option(help="Bundled scenario to load into the mock appliance.")
    ] = "seed-incident",
    as_json: JsonOption = False,
) -> None:
    """Run nsfix against the bundled mock appliance (no real NetScaler needed)."""
    configure_logging(0)
    with handled_errors():
        path = scenario_path(scenario)
        say = stderr_console()
        with running_mock(["--scenario", str(path)]) as url:
            say.print(
                f"Started the mock appliance at {url} with scenario {scenario!r}.", markup=False
            )
            target = Target(url=url, username=DEMO_USER, password=DEMO_PASSWORD)
            say.print(f"$ NSFIX_URL={url} nsfix inventory", markup=False)
            snapshot = read_snapshot(
                target, timeout=30.0, show_progress=sys.stderr.isatty() and not as_json
            )
            emit_inventory(snapshot, as_json)


def version_callback(value: bool) -> None:
    if value:
        print(f"nsfix {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=version_callback, is_eager=True, help="Print version."),
    ] = False,
) -> None:
    """nsfix: audit, plan and safely fix DSR source-IP set-ups on NetScaler ADC."""


def main(argv: list[str] | None = None) -> None:
    """Console entry point: maps usage errors to EX_USAGE so that exit 2 keeps meaning findings."""
    if os.environ.get("NO_COLOR"):
        os.environ.setdefault("TERM", "dumb")
    try:
        # Without standalone mode a typer.Exit's code is returned instead of exiting.
        result = app(args=argv, prog_name="nsfix", standalone_mode=False)
    except typer.Abort:
        print("nsfix: interrupted", file=sys.stderr)
        sys.exit(int(ExitCode.INTERRUPTED))
    except Exception as exc:
        if not is_usage_error(exc):
            raise
        exc.show()  # type: ignore[attr-defined]
        sys.exit(int(ExitCode.USAGE))
    sys.exit(result if isinstance(result, int) else int(ExitCode.OK))


def is_usage_error(exc: BaseException) -> bool:
    """Click's usage errors (vendored by newer typer) all carry exit code 2 and a show()."""
    return getattr(exc, "exit_code", None) == 2 and callable(getattr(exc, "show", None))
