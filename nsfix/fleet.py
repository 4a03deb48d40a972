"""Fleets: appliances listed in a YAML or TOML file, audited concurrently, one session each.

A fleet file names where each credential comes from (an environment variable or a file), never
the credential itself, so it can live in version control and be readable by the job's group.

```yaml
defaults:
  user_env: NSFIX_USER
  ca_bundle: /etc/nsfix/ca.pem
appliances:
  - name: edge-01
    url: https://10.0.0.10
    password_env: NSFIX_EDGE01_PASSWORD
    tags: [prod, dc1]
  - name: branch-07              # reached through NetScaler Console (ADM)
    url: https://10.7.0.10       # the managed instance, by this IP unless instance_name/_id
    via_console: https://console.example.net
    user_env: NSFIX_CONSOLE_USER # with via_console, user and password are Console's
    password_env: NSFIX_CONSOLE_PASSWORD
```

Relative `password_file` and `ca_bundle` paths are relative to the fleet file's folder.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from nsfix.findings import TargetAudit, Waiver
from nsfix.model import DEFAULT_PARTITION
from nsfix.operations import audit_appliance
from nsfix.rules.playbook import Playbook
from nsfix.serverfacts import ServerFacts
from nsfix.settings import (
    ENV_PASSWORD,
    SettingsError,
    Target,
    console_route,
    is_loopback,
    normalise_url,
    read_password_file,
    resolve_target,
)
from nsfix.shell import InputError, read_text
from nsfix.yamlsource import (
    Document,
    Path_,
    SourceError,
    expect_list,
    expect_mapping,
    expect_text,
    only_keys,
    parse,
    require,
)

log = logging.getLogger(__name__)

APPLIANCE_KEYS: Final = frozenset(
    {
        "name",
        "url",
        "user",
        "user_env",
        "password_env",
        "password_file",
        "partitions",
        "all_partitions",
        "ca_bundle",
        "insecure",
        "tags",
        "timeout",
        "via_console",
        "instance_name",
        "instance_id",
    }
)
# A whole fleet may go through one Console; an instance's name or id belongs to one appliance.
DEFAULT_KEYS: Final = APPLIANCE_KEYS - {"name", "url", "instance_name", "instance_id"}
# Keys that fill one slot: an appliance that sets either replaces the defaults' pair.
_SLOTS: Final = (("user", "user_env"), ("password_env", "password_file"))
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WHY_NOT_IN_THE_FILE = (
    "a password value does not belong in the fleet file: anyone who can read the file (or its "
    "history in version control) would have it. Name an environment variable with "
    "password_env, or a file readable only by the job's user with password_file"
)


@dataclass(frozen=True)
class FleetAppliance:
    """One appliance of a fleet file, defaults merged in; credentials are references only."""

    name: str
    url: str
    user: str | None
    user_env: str | None
    password_env: str | None
    password_file: Path | None
    partitions: tuple[str, ...]
    """Empty: the default partition (unless `all_partitions`)."""
    all_partitions: bool
    ca_bundle: Path | None
    insecure: bool
    tags: tuple[str, ...]
    timeout: float | None
    source: str
    """`file:line` of the entry, for messages."""
    via_console: str | None = None
    """NetScaler Console's URL when the appliance is reached through it."""
    instance_name: str | None = None
    instance_id: str | None = None

    def __str__(self) -> str:
        return f"{self.name} ({self.url})"


# --- loading -------------------------------------------------------------------------------


def load_fleet(text: str, source: str) -> tuple[FleetAppliance, ...]:
    """Parse a fleet file (TOML when `source` ends in `.toml`, YAML otherwise).

    Raises `SourceError` naming the file, the line (YAML; TOML where it can be found) and the
    field.
    """
    doc = _parse_toml(text, source) if source.lower().endswith(".toml") else parse(text, source)
    base = Path(source).parent
    top = expect_mapping(doc, doc.data, ())
    only_keys(doc, top, (), {"defaults", "appliances"})
    defaults: dict[str, Any] = {}
    if top.get("defaults") is not None:
        raw_defaults = expect_mapping(doc, top["defaults"], ("defaults",))
        defaults = _settings(doc, raw_defaults, ("defaults",), DEFAULT_KEYS, base)
    items = expect_list(doc, require(doc, top, (), "appliances"), ("appliances",))
    if not items:
        raise doc.error(("appliances",), "lists no appliance")
    out: list[FleetAppliance] = []
    names: dict[str, int | None] = {}
    urls: dict[str, str] = {}
    for index, raw in enumerate(items):
        path: Path_ = ("appliances", index)
        appliance = _appliance(doc, expect_mapping(doc, raw, path), path, defaults, base)
        if appliance.name in names:
            raise doc.error(
                (*path, "name"),
                f"appliance name {appliance.name!r} is already used (line {names[appliance.name]})",
            )
        if appliance.url in urls:
            raise doc.error(
                (*path, "url"),
                f"{appliance.url} is already listed as {urls[appliance.url]!r}: list an appliance "
                "once, with all the partitions to audit",
            )
        names[appliance.name] = doc.line((*path, "name"))
        urls[appliance.url] = appliance.name
        out.append(appliance)
    return tuple(out)


def load_fleet_file(path: Path) -> tuple[FleetAppliance, ...]:
    """`load_fleet` on a file, with every problem as `InputError` (what the CLI reports)."""
    try:
        return load_fleet(read_text(path, "fleet file"), str(path))
    except SourceError as exc:
        raise InputError(f"bad fleet file: {exc}") from None


def _appliance(
    doc: Document,
    item: Mapping[str, Any],
    path: Path_,
    defaults: Mapping[str, Any],
    base: Path,
) -> FleetAppliance:
    own = _settings(doc, item, path, APPLIANCE_KEYS, base)
    require(doc, item, path, "name")
    require(doc, item, path, "url")
    name: str = own["name"]
    merged = dict(defaults)
    for slot in (*_SLOTS, ("partitions", "all_partitions")):
        if any(key in own for key in slot):
            for key in slot:
                merged.pop(key, None)
    # Choosing a CA bundle here overrides a default --insecure, and the other way round.
    if "ca_bundle" in own:
        merged.pop("insecure", None)
    if own.get("insecure"):
        merged.pop("ca_bundle", None)
    merged.update(own)
    if "user" not in merged and "user_env" not in merged:
        raise doc.error(path, "no user: give user or user_env here or under defaults")
    if "password_env" not in merged and "password_file" not in merged:
        raise doc.error(
            path, "no password source: give password_env or password_file here or under defaults"
        )
    insecure = bool(merged.get("insecure", False))
    url: str = merged["url"]
    console: str | None = merged.get("via_console")
    try:
        console_route(
            url,
            console,
            instance_name=merged.get("instance_name"),
            instance_id=merged.get("instance_id"),
        )
    except SettingsError as exc:
        message = (
            str(exc).replace("--via-console", "via_console").replace("--instance-", "instance_")
        )
        raise doc.error(path, message) from None
    # The password travels to Console when there is one, else to the appliance.
    peer = console or url
    if peer.startswith("http://") and not is_loopback(peer) and not insecure:
        raise doc.error(
            (*path, "via_console" if console else "url"),
            f"{peer} is plain HTTP: the password would cross the network in clear; use https:// "
            "(or set insecure: true if you really mean it)",
        )
    line = doc.line(path)
    return FleetAppliance(
        name=name,
        url=url,
        user=merged.get("user"),
        user_env=merged.get("user_env"),
        password_env=merged.get("password_env"),
        password_file=merged.get("password_file"),
        partitions=merged.get("partitions", ()),
        all_partitions=bool(merged.get("all_partitions", False)),
        ca_bundle=merged.get("ca_bundle"),
        insecure=insecure,
        tags=merged.get("tags", ()),
        timeout=merged.get("timeout"),
        source=f"{doc.source}:{line}" if line else doc.source,
        via_console=console,
        instance_name=merged.get("instance_name"),
        instance_id=merged.get("instance_id"),
    )


def _settings(
    doc: Document, mapping: Mapping[str, Any], path: Path_, allowed: frozenset[str], base: Path
) -> dict[str, Any]:
    """Check and convert the fields present in one mapping (an appliance or the defaults)."""
    if "password" in mapping:
        raise doc.error((*path, "password"), _WHY_NOT_IN_THE_FILE)
    only_keys(doc, mapping, path, set(allowed))
    for first, second in (*_SLOTS, ("ca_bundle", "insecure")):
        if mapping.get(first) is not None and mapping.get(second) not in (None, False):
            raise doc.error((*path, second), f"give {first} or {second}, not both")
    if mapping.get("partitions") is not None and mapping.get("all_partitions"):
        raise doc.error(
            (*path, "all_partitions"), "give partitions or all_partitions: true, not both"
        )
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        where = (*path, key)
        if value is None:
            continue
        if key in {"name", "user", "instance_name", "instance_id"}:
            out[key] = expect_text(doc, value, where)
        elif key in {"url", "via_console"}:
            try:
                out[key] = normalise_url(expect_text(doc, value, where))
            except SettingsError as exc:
                raise doc.error(where, str(exc)) from None
        elif key in {"user_env", "password_env"}:
            out[key] = _env_name(doc, value, where)
        elif key in {"password_file", "ca_bundle"}:
            file = Path(expect_text(doc, value, where)).expanduser()
            out[key] = file if file.is_absolute() else base / file
        elif key in {"partitions", "tags"}:
            out[key] = _text_list(doc, value, where, allow_empty=key == "tags")
        elif key in {"all_partitions", "insecure"}:
            out[key] = _boolean(doc, value, where)
        elif key == "timeout":
            out[key] = _seconds(doc, value, where)
    return out


def _env_name(doc: Document, value: Any, where: Path_) -> str:
    if isinstance(value, str) and _ENV_NAME.fullmatch(value.strip()):
        return value.strip()
    # The value is not echoed: someone may have put the password itself here.
    raise doc.error(
        where,
        "must be the NAME of an environment variable (letters, digits and underscores, e.g. "
        "NSFIX_EDGE01_PASSWORD); the value given is not such a name (not shown, in case it is "
        "a secret)",
    )


def _text_list(doc: Document, value: Any, where: Path_, *, allow_empty: bool) -> tuple[str, ...]:
    items = expect_list(doc, value, where)
    if not items and not allow_empty:
        raise doc.error(where, "is empty: list at least one, or leave the field out")
    texts = [expect_text(doc, item, (*where, i)) for i, item in enumerate(items)]
    return tuple(dict.fromkeys(texts))


def _boolean(doc: Document, value: Any, where: Path_) -> bool:
    if not isinstance(value, bool):
        raise doc.error(where, "expected true or false")
    return value


def _seconds(doc: Document, value: Any, where: Path_) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise doc.error(where, "expected a positive number of seconds")
    return float(value)


_TOML_AT = re.compile(r"\s*\(at line (\d+), column \d+\)\s*$")
_TOML_HEADER = re.compile(r"\s*(\[\[?)\s*([A-Za-z0-9_-]+)\s*\]\]?")
_TOML_KEY = re.compile(r"\s*([A-Za-z0-9_-]+)\s*=")


def _parse_toml(text: str, source: str) -> Document:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_AT.search(message)
        line = int(match.group(1)) if match else None
        problem = _TOML_AT.sub("", message)
        raise SourceError(source, line, "", f"not valid TOML: {problem}") from None
    return Document(data, source, _toml_lines(text))


def _toml_lines(text: str) -> dict[Path_, int]:
    """Best-effort lines of `[[appliances]]` tables and their keys, for messages.

    Only the plain layout a fleet file uses is recognised; anything else falls back to the
    nearest enclosing table's line, as a YAML document does for a missing field.
    """
    lines: dict[Path_, int] = {(): 1}
    where: Path_ = ()
    counts: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        header = _TOML_HEADER.match(raw)
        if header:
            name = header.group(2)
            if header.group(1) == "[[":
                counts[name] = counts.get(name, -1) + 1
                where = (name, counts[name])
                lines.setdefault((name,), number)
            else:
                where = (name,)
            lines[where] = number
            continue
        key = _TOML_KEY.match(raw)
        if key:
            lines.setdefault((*where, key.group(1)), number)
    return lines


# --- choosing and resolving ----------------------------------------------------------------


def select(appliances: Sequence[FleetAppliance], tags: Sequence[str]) -> tuple[FleetAppliance, ...]:
    """The appliances carrying any of `tags` (all when none given), in fleet-file order.

    A tag no appliance carries is an error listing the known tags: a typo would otherwise
    audit nothing and report success.
    """
    if not tags:
        return tuple(appliances)
    known = sorted({tag for appliance in appliances for tag in appliance.tags})
    unknown = [tag for tag in dict.fromkeys(tags) if tag not in known]
    if unknown:
        listed = ", ".join(known) if known else "none (the fleet file tags no appliance)"
        raise SettingsError(
            f"no appliance is tagged {', '.join(map(repr, unknown))}; known tags: {listed}"
        )
    wanted = set(tags)
    return tuple(a for a in appliances if wanted.intersection(a.tags))


def _warn_on_stderr(message: str) -> None:
    print(f"nsfix: warning: {message}", file=sys.stderr, flush=True)


def target_of(
    appliance: FleetAppliance,
    environ: Mapping[str, str],
    *,
    warn: Callable[[str], None] = _warn_on_stderr,
) -> Target:
    """Resolve the appliance's credentials and TLS options into a `Target`.

    Raises `SettingsError` naming the appliance and the missing variable or file.
    """
    who = f"appliance {appliance.name!r} ({appliance.source})"
    if appliance.user_env is not None:
        user = environ.get(appliance.user_env, "")
        if not user:
            raise SettingsError(
                f"{who}: environment variable {appliance.user_env} (the user name) is not set"
            )
    else:
        user = appliance.user or ""
    if appliance.password_file is not None:
        try:
            password = read_password_file(
                appliance.password_file, lambda m: warn(f"{appliance.name}: {m}")
            )
        except SettingsError as exc:
            raise SettingsError(f"{who}: {exc}") from None
    else:
        variable = appliance.password_env or ""
        password = environ.get(variable, "")
        if not password:
            raise SettingsError(
                f"{who}: environment variable {variable} (the password) is not set or empty"
            )
    try:
        return resolve_target(
            url=appliance.url,
            username=user,
            password_file=None,
            ca_bundle=appliance.ca_bundle,
            insecure=appliance.insecure,
            console=appliance.via_console,
            instance_name=appliance.instance_name,
            instance_id=appliance.instance_id,
            environ={ENV_PASSWORD: password},
            interactive=False,
            warn=lambda m: warn(f"{appliance.name}: {m}"),
        )
    except SettingsError as exc:
        raise SettingsError(f"{who}: {exc}") from None


# --- running -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplianceRun:
    """What auditing one appliance of a fleet gave: its partitions' audits, or why not."""

    appliance: FleetAppliance
    audits: tuple[TargetAudit, ...]
    """Always at least one entry: an appliance that failed is an entry with `error` set."""
    error: str | None
    """Why no partition of the appliance could be audited; None when at least one was."""
    seconds: float

    @property
    def status(self) -> str:
        """`ok`, `partial` (some partitions failed) or `error` (none read)."""
        if self.error is not None:
            return "error"
        return "ok" if all(a.ok for a in self.audits) else "partial"


def first_partition(appliance: FleetAppliance) -> str:
    return appliance.partitions[0] if appliance.partitions else DEFAULT_PARTITION


def run_fleet(
    appliances: Sequence[FleetAppliance],
    audit_one: Callable[[FleetAppliance], list[TargetAudit]],
    *,
    workers: int,
    on_done: Callable[[ApplianceRun], None] | None = None,
) -> list[ApplianceRun]:
    """Audit appliances concurrently with at most `workers` at a time; results in fleet order.

    Each call of `audit_one` opens its own session (partitions in turn within the appliance).
    Any exception of one appliance (missing credentials, unreachable, a bug) is caught into
    its `ApplianceRun`, so it never stops the others. `on_done` is called in this thread, in
    completion order, as each appliance finishes.
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    if not appliances:
        return []
    runs: dict[int, ApplianceRun] = {}
    pool = ThreadPoolExecutor(
        max_workers=min(workers, len(appliances)), thread_name_prefix="nsfix-fleet"
    )
    try:
        futures: dict[Future[ApplianceRun], int] = {
            pool.submit(_run_one, appliance, audit_one): index
            for index, appliance in enumerate(appliances)
        }
        for future in as_completed(futures):
            run = future.result()
            runs[futures[future]] = run
            if on_done is not None:
                on_done(run)
    except BaseException:
        # Ctrl-C: start no further appliance; the ones running finish and log out.
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [runs[index] for index in range(len(appliances))]


def _run_one(
    appliance: FleetAppliance, audit_one: Callable[[FleetAppliance], list[TargetAudit]]
) -> ApplianceRun:
    started = time.monotonic()
    try:
        audits = tuple(audit_one(appliance))
    except SettingsError as exc:
        audits = (_error_entry(appliance, str(exc)),)
    except Exception as exc:
        log.debug("appliance %s failed", appliance.name, exc_info=True)
        audits = (_error_entry(appliance, f"{appliance.name}: {type(exc).__name__}: {exc}"),)
    if not audits:
        audits = (_error_entry(appliance, f"{appliance.name}: nothing was audited"),)
    audits = tuple(replace(a, appliance=appliance.name) for a in audits)
    error = None if any(a.ok for a in audits) else (audits[0].error or "not audited")
    return ApplianceRun(appliance, audits, error, time.monotonic() - started)


def _error_entry(appliance: FleetAppliance, message: str) -> TargetAudit:
    return TargetAudit(
        appliance.url, first_partition(appliance), None, None, message, appliance=appliance.name
    )


def audit_one_factory(
    playbooks: Sequence[Playbook],
    waivers: Sequence[Waiver],
    facts: ServerFacts | None,
    *,
    timeout: float,
    user_agent: str,
    say: Callable[[str], None],
    environ: Mapping[str, str],
    running_config: bool = False,
) -> Callable[[FleetAppliance], list[TargetAudit]]:
    """`audit_one` for `run_fleet`: resolve the appliance's target, then audit its partitions.

    `timeout` is the NITRO reply timeout for appliances that do not set their own.
    """

    def audit_one(appliance: FleetAppliance) -> list[TargetAudit]:
        target = target_of(
            appliance, environ, warn=lambda message: say(f"nsfix: warning: {message}")
        )
        return audit_appliance(
            target,
            appliance.partitions,
            appliance.all_partitions,
            timeout=appliance.timeout or timeout,
            user_agent=user_agent,
            playbooks=playbooks,
            waivers=waivers,
            facts=facts,
            # Not `say`: describe_run reports a failed appliance or partition once, by name.
            say=_unsaid,
            running_config=running_config,
        )

    return audit_one


def _unsaid(message: str) -> None:
    """Drop a message that a later, fuller line says again."""


# --- aggregating ---------------------------------------------------------------------------


def fleet_targets(runs: Sequence[ApplianceRun]) -> list[TargetAudit]:
    """Every partition audit of every appliance, in fleet order: what renderers and
    `audit_exit_code` take."""
    return [audit for run in runs for audit in run.audits]


def run_counts(run: ApplianceRun) -> dict[str, int]:
    """Active findings per severity and waived findings over the appliance's partitions."""
    out = {"critical": 0, "warning": 0, "info": 0, "waived": 0}
    for audit in run.audits:
        for finding in audit.result.findings if audit.result is not None else ():
            out["waived" if finding.waived else finding.severity.value] += 1
    return out


def describe_run(run: ApplianceRun) -> str:
    """One line per appliance for stderr: `edge-01 (https://...): ok, 2 critical ... 0.4 s`."""
    if run.error is not None:
        return f"{run.appliance}: NOT AUDITED ({run.seconds:.1f} s): {run.error}"
    c = run_counts(run)
    failed = [f"{a.partition} ({a.error or 'not read'})" for a in run.audits if not a.ok]
    partial = f", partitions not read: {'; '.join(failed)}" if failed else ""
    return (
        f"{run.appliance}: {run.status}, {c['critical']} critical, {c['warning']} warning, "
        f"{c['info']} info ({c['waived']} waived) in {run.seconds:.1f} s{partial}"
    )


def fleet_document(runs: Sequence[ApplianceRun]) -> dict[str, Any]:
    """The per-appliance view of a fleet run, for a `fleet` member of the JSON report."""
    entries = []
    total = {"appliances": len(runs), "ok": 0, "partial": 0, "error": 0}
    findings = {"critical": 0, "warning": 0, "info": 0, "waived": 0}
    for run in runs:
        counts = run_counts(run)
        total[run.status] += 1
        for key, value in counts.items():
            findings[key] += value
        entries.append(
            {
                "name": run.appliance.name,
                "url": run.appliance.url,
                "tags": list(run.appliance.tags),
                "status": run.status,
                "error": run.error,
                "seconds": round(run.seconds, 3),
                "partitions": [_partition_entry(a) for a in run.audits],
                "counts": counts,
            }
        )
    return {"appliances": entries, "summary": {**total, **findings}}


def _partition_entry(audit: TargetAudit) -> dict[str, Any]:
    return {
        "partition": audit.partition,
        "status": "ok" if audit.ok else "error",
        "error": audit.error,
    }


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def plan_file_name(appliance: FleetAppliance, partition: str) -> str:
    """`edge-01.plan.json`, or `edge-01.p_apps.plan.json` for a non-default partition."""
    stem = _UNSAFE.sub("_", appliance.name).strip("._") or "appliance"
    if partition != DEFAULT_PARTITION:
        stem += "." + (_UNSAFE.sub("_", partition).strip("._") or "partition")
    return f"{stem}.plan.json"
