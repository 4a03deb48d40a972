"""Where to connect and as whom: URL, credentials and TLS options from flags, environment, files.

A password never comes from the command line (it would sit in shell history and `ps`): it comes
from NSFIX_PASSWORD, a password file, or a prompt on a terminal.
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from nsfix.errors import NsfixError
from nsfix.nitro.console import ConsoleRoute, RouteError, choose_instance
from nsfix.nitro.transport import default_ca_bundle

ENV_URL = "NSFIX_URL"
ENV_USER = "NSFIX_USER"
ENV_PASSWORD = "NSFIX_PASSWORD"  # noqa: S105 - the variable's name, not a password
ENV_PASSWORD_FILE = "NSFIX_PASSWORD_FILE"  # noqa: S105
ENV_INSECURE_PASSWORD_FILE = "NSFIX_INSECURE_PASSWORD_FILE"  # noqa: S105
ENV_CA_BUNDLE = "NSFIX_CA_BUNDLE"
# What requests (and curl) would trust if asked to verify with "the default": nsfix does not.
IGNORED_CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


class SettingsError(NsfixError):
    """A setting is missing or unusable; the message says which and how to give it."""


@dataclass(frozen=True)
class Target:
    """One appliance to talk to, with everything needed to open a session.

    With `via`, the appliance is reached through NetScaler Console: `url` still names the
    appliance (plans, journals and locks key on it), while the user, password and TLS trust
    are Console's, the only peer nsfix then talks to.
    """

    url: str
    username: str
    password: str = field(repr=False)
    verify: bool | str = True
    """True (certifi's CA bundle), False (only with --insecure) or a CA bundle path."""
    partition: str | None = None
    via: ConsoleRoute | None = None

    def __str__(self) -> str:
        if self.via is not None:
            return f"{self.url} via {self.username}@{self.via.url}"
        return f"{self.username}@{self.url}"


def console_route(
    appliance_url: str,
    console: str | None,
    *,
    instance_name: str | None = None,
    instance_id: str | None = None,
) -> ConsoleRoute | None:
    """--via-console with the instance options, checked; None when the appliance is direct."""
    if console is None:
        if instance_name is not None or instance_id is not None:
            raise SettingsError("--instance-name and --instance-id need --via-console")
        return None
    try:
        instance = choose_instance(appliance_url, name=instance_name, instance_id=instance_id)
    except RouteError as exc:
        raise SettingsError(str(exc)) from None
    return ConsoleRoute(normalise_url(console), instance)


def normalise_url(value: str) -> str:
    """`10.0.0.1` → `https://10.0.0.1`; keeps scheme, host and port, drops any path."""
    text = value.strip()
    if not text:
        raise SettingsError("the appliance URL is empty")
    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"}:
        raise SettingsError(f"unsupported URL scheme {parts.scheme!r}: use https://")
    if not parts.hostname:
        raise SettingsError(f"no host in URL {value!r}")
    if parts.username or parts.password:
        raise SettingsError(
            "credentials in the URL are not accepted: use NSFIX_USER and NSFIX_PASSWORD"
        )
    try:
        parts.port  # noqa: B018 - urlsplit validates the port lazily
    except ValueError as exc:
        raise SettingsError(f"bad port in URL {value!r}") from exc
    return f"{parts.scheme}://{parts.netloc}"


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_password_file(
    path: Path, warn: Callable[[str], None], *, environ: Mapping[str, str] | None = None
) -> str:
    """The first line of a password file that only its owner (and perhaps its group) can open.

    A file every user of the machine may open is refused unread, unless
    NSFIX_INSECURE_PASSWORD_FILE=1 says to use it anyway; access by the file's group is a
    warning (sharing with a group is a choice someone made).
    """
    env = os.environ if environ is None else environ
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise SettingsError(f"cannot read password file {path}: {exc.strerror}") from exc
    if mode & stat.S_IRWXO:
        if env.get(ENV_INSECURE_PASSWORD_FILE) != "1":
            raise SettingsError(
                f"password file {path} is open to every user on this machine (mode {mode:04o}): "
                f"chmod 600 {path}, or set {ENV_INSECURE_PASSWORD_FILE}=1 to use it anyway"
            )
        warn(
            f"password file {path} is open to every user on this machine (mode {mode:04o}); "
            f"used because {ENV_INSECURE_PASSWORD_FILE}=1: chmod 600 it"
        )
    elif mode & stat.S_IRWXG:
        warn(f"password file {path} is readable by its group; chmod 600 it")
    try:
        content = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"cannot read password file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise SettingsError(f"password file {path} is not UTF-8 text") from None
    password = content.splitlines()[0] if content else ""
    if not password:
        raise SettingsError(f"password file {path} is empty")
    return password


def tls_trust(
    ca_bundle: Path | None,
    insecure: bool,
    env: Mapping[str, str],
    warn: Callable[[str], None],
    *,
    https: bool,
) -> bool | str:
    """What verifies the appliance: a CA bundle asked for (--ca-bundle, else NSFIX_CA_BUNDLE),
    nothing (--insecure, said loudly), else certifi's bundle. A bundle that requests or curl
    would take from the environment is not trusted unasked, and a warning says so."""
    if ca_bundle is not None and insecure:
        raise SettingsError("--ca-bundle and --insecure contradict each other: choose one")
    if insecure:
        if https:
            warn("TLS certificate verification is OFF (--insecure): the appliance is not verified")
        return False
    if ca_bundle is None and env.get(ENV_CA_BUNDLE):
        ca_bundle = Path(env[ENV_CA_BUNDLE])
    if ca_bundle is not None:
        if not ca_bundle.is_file():
            raise SettingsError(f"CA bundle {ca_bundle} does not exist")
        return str(ca_bundle)
    ignored = [name for name in IGNORED_CA_VARIABLES if env.get(name)]
    if ignored and https:
        warn(
            f"{' and '.join(ignored)} {'is' if len(ignored) == 1 else 'are'} set but not used: "
            f"nsfix verifies the appliance with certifi's CA bundle ({default_ca_bundle()}); to "
            f"trust another CA, pass --ca-bundle or set {ENV_CA_BUNDLE}"
        )
    return True


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def resolve_target(
    *,
    url: str | None,
    username: str | None,
    password_file: Path | None,
    ca_bundle: Path | None,
    insecure: bool,
    partition: str | None = None,
    console: str | None = None,
    instance_name: str | None = None,
    instance_id: str | None = None,
    environ: Mapping[str, str] | None = None,
    interactive: bool | None = None,
    prompt: Callable[[str], str] = getpass.getpass,
    warn: Callable[[str], None] | None = None,
) -> Target:
    """Combine flags and environment into a `Target`, or say exactly what is missing.

    With `console` (NetScaler Console's URL), the credentials and TLS checks are Console's,
    and the managed instance is the URL's IP unless `instance_name` or `instance_id` names it.
    """
    env = os.environ if environ is None else environ
    raw_url = url or env.get(ENV_URL)
    if not raw_url:
        raise SettingsError(f"no appliance given: pass --url or set {ENV_URL}")
    appliance = normalise_url(raw_url)
    via = console_route(appliance, console, instance_name=instance_name, instance_id=instance_id)
    # The password goes to whatever nsfix connects to: Console when there is one.
    base = via.url if via is not None else appliance

    warn = warn or _warn
    verify = tls_trust(ca_bundle, insecure, env, warn, https=base.startswith("https://"))
    if base.startswith("http://") and not is_loopback(base) and not insecure:
        raise SettingsError(
            f"{base} is plain HTTP: the password would cross the network in clear. "
            "Use https://, or pass --insecure if you really mean it"
        )
    if base.startswith("http://") and not is_loopback(base):
        warn("plain HTTP: credentials and configuration cross the network unencrypted")

    user = username or env.get(ENV_USER)
    if not user:
        raise SettingsError(f"no user name: pass --user or set {ENV_USER}")

    password: str | None = None
    file_name = password_file
    if file_name is None and env.get(ENV_PASSWORD_FILE):
        file_name = Path(env[ENV_PASSWORD_FILE])
    if file_name is not None:
        password = read_password_file(file_name, warn, environ=env)
    elif env.get(ENV_PASSWORD):
        password = env[ENV_PASSWORD]
    else:
        on_tty = sys.stdin.isatty() if interactive is None else interactive
        if not on_tty:
            raise SettingsError(
                f"no password: set {ENV_PASSWORD} or {ENV_PASSWORD_FILE}, or pass --password-file "
                "(nsfix does not prompt when not on a terminal)"
            )
        password = prompt(f"Password for {user}@{base}: ")
        if not password:
            raise SettingsError("empty password")
    return Target(
        url=appliance,
        username=user,
        password=password,
        verify=verify,
        partition=partition,
        via=via,
    )
