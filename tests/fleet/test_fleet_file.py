"""Fleet files (YAML and TOML), tag selection, credential resolution, and the shipped examples."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from nsfix.fleet import FleetAppliance, load_fleet, load_fleet_file, select, target_of
from nsfix.settings import SettingsError
from nsfix.shell import InputError
from nsfix.yamlsource import SourceError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SECRET = "Hunter2-is-not-a-name!"


def fleet(text: str, source: str = "/etc/nsfix/fleet.yaml") -> tuple[FleetAppliance, ...]:
    return load_fleet(textwrap.dedent(text), source)


def error_of(text: str, source: str = "fleet.yaml") -> SourceError:
    with pytest.raises(SourceError) as info:
        fleet(text, source)
    return info.value


# --- parsing -------------------------------------------------------------------------------


def test_defaults_apply_unless_an_appliance_overrides_them() -> None:
    one, two, three = fleet(
        """
        defaults:
          user_env: NSFIX_USER
          password_env: NSFIX_PASSWORD
          ca_bundle: ca.pem
          timeout: 30
          tags: [prod]
        appliances:
          - name: a
            url: 10.0.0.1
          - name: b
            url: https://10.0.0.2:8443
            user: other
            password_file: secrets/b.password
            partitions: [default, p_apps]
            tags: [lab, dc2]
            timeout: 5
          - name: c
            url: https://10.0.0.3
            insecure: true
            all_partitions: true
        """
    )
    assert one == FleetAppliance(
        name="a",
        url="https://10.0.0.1",
        user=None,
        user_env="NSFIX_USER",
        password_env="NSFIX_PASSWORD",
        password_file=None,
        partitions=(),
        all_partitions=False,
        ca_bundle=Path("/etc/nsfix/ca.pem"),
        insecure=False,
        tags=("prod",),
        timeout=30.0,
        source="/etc/nsfix/fleet.yaml:9",
    )
    # Setting one of a credential pair replaces the defaults' pair.
    assert (two.user, two.user_env) == ("other", None)
    assert (two.password_env, two.password_file) == (None, Path("/etc/nsfix/secrets/b.password"))
    assert two.partitions == ("default", "p_apps")
    assert two.tags == ("lab", "dc2")
    assert two.timeout == 5.0
    assert two.url == "https://10.0.0.2:8443"
    # insecure here drops the default CA bundle instead of contradicting it.
    assert (three.insecure, three.ca_bundle, three.all_partitions) == (True, None, True)
    assert three.source == "/etc/nsfix/fleet.yaml:18"


@pytest.mark.parametrize(
    ("text", "line", "where", "problem"),
    [
        (
            """
            appliances:
              - name: a
                url: https://10.0.0.1
                user: nsroot
                password: nsroot
            """,
            6,
            "appliances[0].password",
            "a password value does not belong in the fleet file",
        ),
        (
            """
            defaults:
              password: x
            appliances: []
            """,
            3,
            "defaults.password",
            "password_env",
        ),
        (
            """
            appliances:
              - name: a
                url: https://10.0.0.1
                user: u
                password_env: P
                colour: blue
            """,
            7,
            "appliances[0].colour",
            "unknown field 'colour'",
        ),
        (
            """
            appliances:
              - url: https://10.0.0.1
                user: u
                password_env: P
            """,
            3,
            "appliances[0]",
            "missing required field 'name'",
        ),
        (
            """
            appliances:
              - name: a
                user: u
                password_env: P
            """,
            3,
            "appliances[0]",
            "missing required field 'url'",
        ),
        (
            """
            defaults: {user: u, password_env: P}
            appliances:
              - name: a
                url: https://10.0.0.1
              - name: a
                url: https://10.0.0.2
            """,
            6,
            "appliances[1].name",
            "'a' is already used (line 4)",
        ),
        (
            """
            defaults: {user: u, password_env: P}
            appliances:
              - name: a
                url: https://10.0.0.1
              - name: b
                url: 10.0.0.1
            """,
            7,
            "appliances[1].url",
            "already listed as 'a'",
        ),
        (
            """
            appliances:
              - name: a
                url: https://10.0.0.1
                user: u
                user_env: NSFIX_USER
                password_env: P
            """,
            6,
            "appliances[0].user_env",
            "give user or user_env, not both",
        ),
        (
            """
            appliances:
              - name: a
                url: https://10.0.0.1
                user: u
            """,
            3,
            "appliances[0]",
            "no password source",
        ),
        (
            """
            appliances:
              - name: a
                url: https://10.0.0.1
                password_env: P
            """,
            3,
            "appliances[0]",
            "no user",
        ),
        (
            """
            defaults: {user: u, password_env: P}
            appliances:
              - name: a
                url: https://10.0.0.1
                partitions: [p1]
                all_partitions: true
            """,
            7,
            "appliances[0].all_partitions",
            "not both",
        ),
        (
            """
            defaults: {user: u, password_env: P}
            appliances:
              - name: a
                url: https://10.0.0.1
                partitions: []
            """,
            6,
            "appliances[0].partitions",
            "is empty",
        ),
        (
            """
            defaults: {user: u, password_env: P}
            appliances:
              - name: a
                url: ftp://10.0.0.1
            """,
            5,
            "appliances[0].url",
            "unsupported URL scheme",
        ),
        (
            """
            defaults: {user: u, password_env: P}
            appliances:
              - name: a
                url: http://10.0.0.1
            """,
            5,
            "appliances[0].url",
            "plain HTTP",
        ),
        (
            """
            defaults: {user: u, password_env: P}
            appliances:
              - name: a
                url: https://10.0.0.1
                timeout: -3
            """,
            6,
            "appliances[0].timeout",
            "positive number of seconds",
        ),
        (
            """
            defaults: {user: u, password_env: P}
            appliances:
              - name: a
                url: https://10.0.0.1
                insecure: "yes please"
            """,
            6,
            "appliances[0].insecure",
            "true or false",
        ),
        (
            """
            defaults: {user: u, password_env: P}
            appliances:
              - name: a
                url: https://10.0.0.1
                ca_bundle: ca.pem
                insecure: true
            """,
            7,
            "appliances[0].insecure",
            "give ca_bundle or insecure, not both",
        ),
        (
            """
            defaults: {user: u, password_env: P}
            appliances:
              - name: a
                url: https://10.0.0.1
                tags: prod
            """,
            6,
            "appliances[0].tags",
            "expected a list",
        ),
        (
            """
            defaults: {user: u, password_env: P}
            appliances: []
            """,
            3,
            "appliances",
            "lists no appliance",
        ),
        (
            """
            appliance:
              - name: a
            """,
            2,
            "appliance",
            "unknown field 'appliance'",
        ),
        (
            """
            appliances:
              - name: a
                url: [unclosed
            """,
            5,
            "",
            "not valid YAML",
        ),
    ],
)
def test_every_error_names_the_file_line_and_field(
    text: str, line: int, where: str, problem: str
) -> None:
    error = error_of(text)
    assert (error.source, error.line, error.where) == ("fleet.yaml", line, where)
    assert problem in error.problem
    assert str(error).startswith(f"fleet.yaml:{line}: ")


def test_a_password_given_as_a_variable_name_is_refused_without_echoing_it() -> None:
    error = error_of(
        f"""
        appliances:
          - name: a
            url: https://10.0.0.1
            user: u
            password_env: "{SECRET}"
        """
    )
    assert (error.line, error.where) == (6, "appliances[0].password_env")
    assert "NAME of an environment variable" in str(error)
    assert SECRET not in str(error)


def test_toml_fleet_gives_the_same_appliances_as_yaml() -> None:
    yaml_fleet = fleet(
        """
        defaults:
          user_env: NSFIX_USER
          password_env: NSFIX_PASSWORD
        appliances:
          - name: a
            url: https://10.0.0.1
            tags: [prod]
          - name: b
            url: https://10.0.0.2
            all_partitions: true
        """,
        "/srv/fleet.yaml",
    )
    toml_fleet = fleet(
        """
        [defaults]
        user_env = "NSFIX_USER"
        password_env = "NSFIX_PASSWORD"

        [[appliances]]
        name = "a"
        url = "https://10.0.0.1"
        tags = ["prod"]

        [[appliances]]
        name = "b"
        url = "https://10.0.0.2"
        all_partitions = true
        """,
        "/srv/fleet.toml",
    )
    assert [replace(a, source="") for a in toml_fleet] == [
        replace(a, source="") for a in yaml_fleet
    ]
    assert [a.source for a in toml_fleet] == ["/srv/fleet.toml:6", "/srv/fleet.toml:11"]


def test_toml_errors_name_the_file_and_field_and_line_where_known() -> None:
    password = error_of(
        """
        [defaults]
        user = "u"
        password_env = "P"

        [[appliances]]
        name = "a"
        url = "https://10.0.0.1"

        [[appliances]]
        name = "b"
        url = "https://10.0.0.2"
        user = "u"
        password = "nsroot"
        """,
        "fleet.toml",
    )
    assert (password.source, password.where, password.line) == (
        "fleet.toml",
        "appliances[1].password",
        14,
    )
    assert "does not belong in the fleet file" in password.problem
    syntax = error_of('[[appliances]]\nname = "a"\nurl = \n', "fleet.toml")
    assert (syntax.line, syntax.where) == (3, "")
    assert "not valid TOML" in syntax.problem
    nested = error_of(
        """
        appliances = [{name = "a", url = "https://10.0.0.1", user = "u", password_env = 7}]
        """,
        "fleet.toml",
    )
    assert nested.where == "appliances[0].password_env"
    assert nested.source == "fleet.toml"


def test_a_bad_fleet_file_is_an_input_error_for_the_cli(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"fleet file .* does not exist"):
        load_fleet_file(tmp_path / "nope.yaml")
    bad = tmp_path / "fleet.yaml"
    bad.write_text("appliances:\n  - name: a\n    password: x\n")
    with pytest.raises(InputError, match=r"bad fleet file: .*fleet.yaml:3: appliances\[0\]"):
        load_fleet_file(bad)


# --- selecting -----------------------------------------------------------------------------

TAGGED = """
defaults: {user: u, password_env: P}
appliances:
  - {name: a, url: https://10.0.0.1, tags: [prod, dc1]}
  - {name: b, url: https://10.0.0.2, tags: [prod, dc2]}
  - {name: c, url: https://10.0.0.3, tags: [lab]}
  - {name: d, url: https://10.0.0.4}
"""


def test_select_keeps_fleet_order_and_takes_any_of_the_tags() -> None:
    appliances = fleet(TAGGED)
    assert [a.name for a in select(appliances, ["dc2", "lab"])] == ["b", "c"]
    assert [a.name for a in select(appliances, ["prod"])] == ["a", "b"]
    assert [a.name for a in select(appliances, [])] == ["a", "b", "c", "d"]


def test_select_with_an_unknown_tag_lists_the_known_ones() -> None:
    with pytest.raises(SettingsError) as info:
        select(fleet(TAGGED), ["prod", "dc3"])
    assert str(info.value) == "no appliance is tagged 'dc3'; known tags: dc1, dc2, lab, prod"


# --- credentials ---------------------------------------------------------------------------


def one(text: str, base: Path) -> FleetAppliance:
    (appliance,) = load_fleet(textwrap.dedent(text), str(base / "fleet.yaml"))
    return appliance


def test_credentials_come_from_the_named_environment_variables(tmp_path: Path) -> None:
    appliance = one(
        """
        appliances:
          - {name: edge, url: https://10.0.0.1, user_env: EDGE_USER, password_env: EDGE_PW}
        """,
        tmp_path,
    )
    target = target_of(appliance, {"EDGE_USER": "auditor", "EDGE_PW": SECRET})
    assert (target.url, target.username, target.password, target.verify) == (
        "https://10.0.0.1",
        "auditor",
        SECRET,
        True,
    )
    assert SECRET not in repr(target)


@pytest.mark.parametrize(
    ("environ", "missing"),
    [({"EDGE_PW": "x"}, "EDGE_USER"), ({"EDGE_USER": "u"}, "EDGE_PW")],
)
def test_a_missing_variable_is_named_with_the_appliance(
    tmp_path: Path, environ: dict[str, str], missing: str
) -> None:
    appliance = one(
        """
        appliances:
          - {name: edge, url: https://10.0.0.1, user_env: EDGE_USER, password_env: EDGE_PW}
        """,
        tmp_path,
    )
    with pytest.raises(SettingsError) as info:
        target_of(appliance, environ)
    message = str(info.value)
    assert message.startswith(f"appliance 'edge' ({tmp_path / 'fleet.yaml'}:3): ")
    assert f"environment variable {missing}" in message


def test_a_password_file_relative_to_the_fleet_file_is_read_and_its_mode_checked(
    tmp_path: Path,
) -> None:
    appliance = one(
        """
        appliances:
          - {name: edge, url: https://10.0.0.1, user: u, password_file: edge.password}
        """,
        tmp_path,
    )
    secret = tmp_path / "edge.password"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o600)
    warnings: list[str] = []
    assert target_of(appliance, {}, warn=warnings.append).password == SECRET
    assert warnings == []
    secret.chmod(0o640)
    assert target_of(appliance, {}, warn=warnings.append).password == SECRET
    assert warnings == [f"edge: password file {secret} is readable by its group; chmod 600 it"]
    secret.chmod(0o644)
    with pytest.raises(SettingsError, match=rf"appliance 'edge' .*chmod 600 {secret}"):
        target_of(appliance, {})
    secret.unlink()
    with pytest.raises(SettingsError, match=r"appliance 'edge' .*cannot read password file"):
        target_of(appliance, {})


def test_tls_options_reach_the_target(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    verified, unverified = load_fleet(
        textwrap.dedent(
            """
            defaults: {user: u, password_env: P, ca_bundle: ca.pem}
            appliances:
              - {name: a, url: https://10.0.0.1}
              - {name: b, url: https://10.0.0.2, insecure: true}
            """
        ),
        str(tmp_path / "fleet.yaml"),
    )
    warnings: list[str] = []
    assert target_of(verified, {"P": "x"}, warn=warnings.append).verify == str(bundle)
    assert target_of(unverified, {"P": "x"}, warn=warnings.append).verify is False
    assert warnings == [
        "b: TLS certificate verification is OFF (--insecure): the appliance is not verified"
    ]
    bundle.unlink()
    with pytest.raises(SettingsError, match=r"appliance 'a' .*CA bundle .*ca.pem does not exist"):
        target_of(verified, {"P": "x"})


# --- the shipped examples ------------------------------------------------------------------


def test_the_example_fleet_files_load_and_agree() -> None:
    from_yaml = load_fleet_file(EXAMPLES / "fleet.yaml")
    from_toml = load_fleet_file(EXAMPLES / "fleet.toml")
    assert [a.name for a in from_yaml] == ["dc1-adc-01", "dc1-adc-02", "dc2-adc-01", "lab-vpx"]
    assert [replace(a, source="") for a in from_yaml] == [replace(a, source="") for a in from_toml]
    assert [a.name for a in select(from_yaml, ["dc1"])] == ["dc1-adc-01", "dc1-adc-02"]


def env_variables(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            out[name] = value
    return out


def test_the_example_env_file_sets_exactly_the_variables_the_fleet_names() -> None:
    named: set[str] = set()
    for appliance in load_fleet_file(EXAMPLES / "fleet.yaml"):
        named.update(v for v in (appliance.user_env, appliance.password_env) if v)
    variables = env_variables(EXAMPLES / "nsfix.env.example")
    assert set(variables) == named
    # Single-quoted: systemd's EnvironmentFile= and the cron job's sh read them alike.
    assert all(re.fullmatch(r"'[^']*'", value) for value in variables.values())
    assert "mode 0600, owner nsfix" in (EXAMPLES / "nsfix.env.example").read_text()


def unit_settings(path: Path) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


def audit_options() -> tuple[set[str], set[str]]:
    """The options `nsfix audit` has (plus the fleet options being added), and --format's."""
    import typer

    from nsfix.cli import app

    command: Any = typer.main.get_command(app)
    audit = command.commands["audit"]
    options = {name for param in audit.params for name in param.opts}
    fmt = next(p for p in audit.params if "--format" in p.opts)
    # click keeps the choices on the type; typer >= 0.20 (its own click) on the annotation.
    choices = getattr(getattr(fmt, "type", None), "choices", None)
    if choices is None:
        choices = [member.value for member in fmt.type_descriptor.annotation]
    return options | {"--fleet", "--select", "--since", "--workers"}, set(choices)


def check_audit_command(words: list[str]) -> None:
    assert words[1] == "audit"
    options, formats = audit_options()
    given = [w for w in words if w.startswith("-")]
    assert set(given) <= options, f"not nsfix audit options: {set(given) - options}"
    assert {"--fleet", "--since", "--output", "--format"} <= set(given)
    assert words[words.index("--format") + 1] in formats
    assert words[words.index("--fleet") + 1] == "/etc/nsfix/fleet.yaml"
    assert words[words.index("--since") + 1] == "/var/lib/nsfix/audit-state.json"
    assert words[words.index("--output") + 1].startswith("/var/lib/nsfix/")


def test_the_systemd_service_runs_a_real_nsfix_audit_command_hardened() -> None:
    service = unit_settings(EXAMPLES / "systemd" / "nsfix-audit.service")
    (exec_start,) = service["ExecStart"]
    words = shlex.split(exec_start)
    assert words[0] == "/opt/nsfix/bin/nsfix"
    check_audit_command(words)
    assert service["Type"] == ["oneshot"]
    assert service["User"] == ["nsfix"]
    assert service["EnvironmentFile"] == ["/etc/nsfix/nsfix.env"]
    for key in ("NoNewPrivileges", "PrivateTmp", "ProtectHome", "PrivateDevices"):
        assert service[key] == ["yes"], key
    assert service["ProtectSystem"] == ["strict"]
    assert service["ReadWritePaths"] == ["/var/lib/nsfix"]
    timer = unit_settings(EXAMPLES / "systemd" / "nsfix-audit.timer")
    assert timer["Persistent"] == ["true"]
    assert timer["Unit"] == ["nsfix-audit.service"]
    assert timer["RandomizedDelaySec"]
    assert timer["OnCalendar"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    service = (EXAMPLES / "systemd" / "nsfix-audit.service").read_text()
    (tmp_path / "nsfix-audit.service").write_text(
        service.replace("/opt/nsfix/bin/nsfix", shutil.which("true") or "/bin/true")
    )
    shutil.copy(EXAMPLES / "systemd" / "nsfix-audit.timer", tmp_path)
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", "nsfix-audit.timer", "nsfix-audit.service"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "nsfix-audit" not in done.stderr, done.stderr  # e.g. "Unknown key ... ignoring"


def cron_command() -> str:
    lines = [
        line
        for line in (EXAMPLES / "cron" / "nsfix-audit").read_text().splitlines()
        if line and not line.startswith("#") and "=" not in line.split()[0]
    ]
    (entry,) = lines
    fields = entry.split(maxsplit=6)
    assert fields[5] == "nsfix"  # cron.d lines name the user
    assert "%" not in fields[6]  # cron would turn it into a newline
    return fields[6]


def test_the_cron_line_runs_a_real_nsfix_audit_command() -> None:
    command = cron_command()
    outer = shlex.split(command)
    inner = outer[outer.index("-c") + 1]
    words = shlex.split(inner.split("exec ", 1)[1])
    check_audit_command(words)
    assert "--timestamps" in words  # the log file has no timestamps of its own
    assert command.startswith("flock -n -E 75 /var/lib/nsfix/audit.lock ")


@pytest.mark.skipif(shutil.which("flock") is None, reason="needs flock")
@pytest.mark.parametrize(
    ("code", "mailed"), [(0, False), (2, False), (1, True), (3, True), (8, True)]
)
def test_the_cron_line_reads_the_env_file_and_speaks_only_when_it_should(
    tmp_path: Path, code: int, mailed: bool
) -> None:
    fake = tmp_path / "nsfix"
    fake.write_text(
        '#!/bin/sh\necho "args: $*" >&2\n'
        'echo "user=$NSFIX_USER pw=$NSFIX_DC1_ADC_01_PASSWORD" >&2\n'
        f"exit {code}\n"
    )
    fake.chmod(0o755)
    env = tmp_path / "nsfix.env"
    env.write_text("NSFIX_USER='auditor'\nNSFIX_DC1_ADC_01_PASSWORD='a b;$c'\n")
    state = tmp_path / "state"
    state.mkdir()
    log = tmp_path / "audit.log"
    command = (
        cron_command()
        .replace("/opt/nsfix/bin/nsfix", str(fake))
        .replace("/etc/nsfix/nsfix.env", str(env))
        .replace("/var/log/nsfix/audit.log", str(log))
        .replace("/var/lib/nsfix", str(state))
    )
    done = subprocess.run(
        ["/bin/sh", "-c", command], capture_output=True, text=True, timeout=30, check=False
    )
    assert "user=auditor pw=a b;$c" in log.read_text()
    assert "--since " + str(state / "audit-state.json") in log.read_text()
    assert bool(done.stdout.strip()) is mailed, done.stdout
    if mailed:
        assert f"nsfix audit exited {code}" in done.stdout


def run_install(destdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    shell = shutil.which("dash") or "/bin/sh"  # dash when there is one: POSIX sh, no bashisms
    return subprocess.run(
        [shell, str(EXAMPLES / "install.sh"), *args],
        env={**os.environ, "DESTDIR": str(destdir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_install_script_is_idempotent_and_never_overwrites_credentials(tmp_path: Path) -> None:
    root = tmp_path / "root"
    first = run_install(root)
    assert first.returncode == 0, first.stderr
    env = root / "etc/nsfix/nsfix.env"
    units = root / "etc/systemd/system"
    assert mode(env) == 0o600
    assert mode(root / "etc/nsfix/fleet.yaml") == 0o640
    assert mode(units / "nsfix-audit.service") == 0o644
    assert mode(units / "nsfix-audit.timer") == 0o644
    assert mode(root / "var/lib/nsfix") == 0o750
    assert (root / "var/lib/nsfix/reports").is_dir()
    assert (root / "var/log/nsfix").is_dir()
    assert not (root / "etc/cron.d").exists()  # nothing scheduled without --enable
    assert "nothing enabled" in first.stdout

    env.write_text("NSFIX_USER='mine'\n")
    again = run_install(root, "--enable", "--cron", "--nsfix-bin", "/usr/local/bin/nsfix")
    assert again.returncode == 0, again.stderr
    assert env.read_text() == "NSFIX_USER='mine'\n"
    assert "refusing to overwrite the existing" in again.stdout
    assert mode(env) == 0o600
    cron = (root / "etc/cron.d/nsfix-audit").read_text()
    assert "exec /usr/local/bin/nsfix audit" in cron
    assert "/opt/nsfix" not in (units / "nsfix-audit.service").read_text()

    bad = run_install(root, "--bogus")
    assert bad.returncode == 64
    assert "unknown option" in bad.stderr
