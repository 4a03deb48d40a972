"""The options commands share: each declared once, and gathered into the records commands pass on.

typer reads options from a command's own parameters, so a command still lists them (the aliases
below keep names, help texts and env vars in one place) and builds its records once, first.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from nsfix.approval import RequiredApproval, parse_digest
from nsfix.settings import ENV_URL, Target, resolve_target

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="NSFIX_URL",
        metavar="URL",
        help="Appliance URL (https://NSIP; https:// is assumed without a scheme).",
    ),
]


ViaConsoleOption = Annotated[
    str | None,
    typer.Option(
        "--via-console",
        envvar="NSFIX_VIA_CONSOLE",
        help="Reach the appliance through NetScaler Console (ADM) at this URL; --user and the "
        "password are then Console's. Or NSFIX_VIA_CONSOLE.",
    ),
]


InstanceNameOption = Annotated[
    str | None,
    typer.Option(
        "--instance-name",
        help="With --via-console: the managed instance's name in Console (default: by the IP "
        "of --url).",
    ),
]


InstanceIdOption = Annotated[
    str | None,
    typer.Option("--instance-id", help="With --via-console: the managed instance's id in Console."),
]


UserOption = Annotated[
    str | None,
    typer.Option("--user", envvar="NSFIX_USER", metavar="USER", help="NITRO user."),
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
    typer.Option(
        "--ca-bundle",
        metavar="FILE",
        help="CA bundle (PEM) to verify the appliance's certificate; else NSFIX_CA_BUNDLE, else "
        "certifi's (REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE are not used).",
    ),
]


InsecureOption = Annotated[
    bool, typer.Option("--insecure", help="Do not verify TLS certificates (says so loudly).")
]


PartitionOption = Annotated[
    list[str] | None,
    typer.Option(
        "--partition",
        metavar="NAME",
        help="Admin partition to read (repeatable; default: default).",
    ),
]


AllPartitionsOption = Annotated[
    bool, typer.Option("--all-partitions", help="Every partition the appliance has.")
]


# Long enough for a large collection on a busy appliance; short enough that a host that
# accepts and never answers is named within half a minute.
DEFAULT_TIMEOUT = 30.0

TimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout",
        min=1.0,
        envvar="NSFIX_TIMEOUT",
        metavar="SECONDS",
        help="Seconds to wait for each NITRO reply; a request gives up after twice this, "
        "retries included, and says each retry.",
    ),
]


JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


VerboseOption = Annotated[
    int, typer.Option("--verbose", "-v", count=True, help="More log output on stderr (-vv: debug).")
]


PlaybookOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--playbook", metavar="FILE", help="Extra playbook YAML (repeatable).", dir_okay=False
    ),
]


NoBuiltinOption = Annotated[
    bool, typer.Option("--no-builtin-playbook", help="Do not use the shipped dsr-source-ip rules.")
]


WaiversOption = Annotated[
    Path | None, typer.Option("--waivers", help="Waiver file (YAML).", dir_okay=False)
]


ServerFactsOption = Annotated[
    Path | None,
    typer.Option(
        "--server-facts",
        help="YAML of what you know about backends (loopback VIPs, ARP, gateway).",
        dir_okay=False,
    ),
]


FromFileOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--from-file",
        help="Work offline (no appliance) from NITRO records saved by 'nsfix inventory --raw' or "
        "from an ns.conf / 'show ns runningConfig' text; with several partitions, one "
        "--from-file per --partition, in the same order.",
        dir_okay=False,
    ),
]


ReportFileOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
]


PlanFileArgument = Annotated[Path, typer.Argument(help="The plan file made by nsfix plan -o.")]


YesOption = Annotated[bool, typer.Option("--yes", help="Do not ask (for automation).")]


ExpectDigestOption = Annotated[
    str | None,
    typer.Option(
        "--expect-digest",
        help="Refuse unless the plan's digest is this one (sha256:..., as the CAB report shows).",
        metavar="DIGEST",
    ),
]


ApprovalOption = Annotated[
    Path | None,
    typer.Option(
        "--approval",
        help="The change board's signed approval of the plan (nsfix approve, or openssl).",
        dir_okay=False,
    ),
]


TrustedKeyOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--trusted-key",
        help="Public key (PEM or ssh-ed25519) that must have signed --approval (repeatable).",
        metavar="KEY",
        dir_okay=False,
    ),
]


FleetOption = Annotated[
    Path | None,
    typer.Option(
        "--fleet", help="Fleet file (YAML or TOML) of appliances to audit.", dir_okay=False
    ),
]


SelectOption = Annotated[
    list[str] | None,
    typer.Option(
        "--select", metavar="TAG", help="Only fleet appliances with this tag (repeatable)."
    ),
]


WorkersOption = Annotated[
    int, typer.Option("--workers", min=1, max=64, help="Appliances audited at once (fleet).")
]


class Format(StrEnum):
    text = "text"
    json = "json"
    md = "md"
    html = "html"
    junit = "junit"
    sarif = "sarif"


def expected_digest(text: str | None) -> str | None:
    """--expect-digest as a plan digest; a usage error when it is not one."""
    if text is None:
        return None
    try:
        return parse_digest(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--expect-digest") from None


def required_approval(
    expect_digest: str | None, approval: Path | None, trusted_keys: list[Path] | None
) -> RequiredApproval:
    """--expect-digest, --approval and --trusted-key: a signature is checked only against keys
    the operator names, and a key without a signature to check is a mistake."""
    keys = tuple(trusted_keys or ())
    if approval is not None and not keys:
        raise typer.BadParameter(
            "--approval needs --trusted-key: the public key of the change board",
            param_hint="--approval",
        )
    if keys and approval is None:
        raise typer.BadParameter(
            "--trusted-key checks the signature of an --approval; give one",
            param_hint="--trusted-key",
        )
    return RequiredApproval(expected_digest(expect_digest), approval, keys)


@dataclass(frozen=True)
class Connection:
    """How to reach one appliance: --url, --user, --password-file, --ca-bundle, --insecure and
    --timeout as given (the password itself is only read when a target is resolved)."""

    url: str | None
    user: str | None
    password_file: Path | None
    ca_bundle: Path | None
    insecure: bool
    timeout: float
    console: str | None = None
    """--via-console: NetScaler Console's URL, when the appliance is reached through it."""
    instance_name: str | None = None
    instance_id: str | None = None

    @property
    def where(self) -> str:
        """The appliance as error messages name it, before its URL is checked."""
        return self.url or os.environ.get(ENV_URL, "")

    def target(
        self, *, interactive: bool | None = None, warn: Callable[[str], None] | None = None
    ) -> Target:
        """The appliance and credentials, completed from the environment (or a prompt on a
        terminal, unless not interactive); `warn`, if given, takes the warnings, not stderr."""
        return resolve_target(
            url=self.url,
            username=self.user,
            password_file=self.password_file,
            ca_bundle=self.ca_bundle,
            insecure=self.insecure,
            console=self.console,
            instance_name=self.instance_name,
            instance_id=self.instance_id,
            interactive=interactive,
            warn=warn,
        )

    def target_at(self, url: str | None) -> Target:
        """The same credentials and TLS options for another URL (a plan's or a journal's)."""
        return replace(self, url=url).target()


@dataclass(frozen=True)
class Source:
    """What a command reads: which partitions, from the appliance of `connection` or, with
    --from-file, offline from saved NITRO records or configuration texts."""

    connection: Connection
    partitions: tuple[str, ...] = ()
    all_partitions: bool = False
    from_file: tuple[Path, ...] = ()

    @property
    def partition(self) -> str | None:
        """The partition of a records file to use: the first one asked for, else its own."""
        return self.partitions[0] if self.partitions else None

    def appliance_options(self) -> dict[str, object]:
        """The options that name a single appliance, by name, as the user gave them."""
        connection = self.connection
        return {
            "--url": connection.url,
            "--user": connection.user,
            "--password-file": connection.password_file,
            "--ca-bundle": connection.ca_bundle,
            "--insecure": connection.insecure,
            "--via-console": connection.console,
            "--instance-name": connection.instance_name,
            "--instance-id": connection.instance_id,
            "--partition": self.partitions,
        }


@dataclass(frozen=True)
class Output:
    """How a command writes its result: the format (--format, or --json) and --output's file."""

    format: Format
    file: Path | None

    @classmethod
    def given(
        cls, as_json: bool, output_format: Format = Format.text, file: Path | None = None
    ) -> Output:
        # --json is the short way to say --format json, and wins over any --format.
        return cls(Format.json if as_json else output_format, file)

    @property
    def as_json(self) -> bool:
        return self.format is Format.json


@dataclass(frozen=True)
class Fleet:
    """--fleet, --select and --workers: which appliances of a fleet file, and how many at once."""

    file: Path | None
    tags: tuple[str, ...]
    workers: int


def check_fleet_usage(ctx: typer.Context, fleet: Fleet, single: Mapping[str, object]) -> None:
    """--fleet brings its own targets; mixing it with single-appliance options is a usage error.

    Only options given on the command line clash: NSFIX_URL or NSFIX_USER set in a cron job's
    environment are simply not used for a fleet.
    """
    if fleet.file is None:
        if fleet.tags:
            raise typer.BadParameter("--select needs --fleet", param_hint="--select")
        return
    clash = [
        name
        for name, value in single.items()
        if value and not from_environment(ctx, name.lstrip("-").replace("-", "_"))
    ]
    if clash:
        raise typer.BadParameter(
            f"{', '.join(clash)} cannot be combined with --fleet (the fleet file says it)",
            param_hint="--fleet",
        )


def from_environment(ctx: typer.Context, parameter: str) -> bool:
    source = ctx.get_parameter_source(parameter)
    return source is not None and source.name == "ENVIRONMENT"
