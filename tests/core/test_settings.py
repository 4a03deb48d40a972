"""Where nsfix gets its target and credentials, and what it refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nsfix.settings import SettingsError, Target, normalise_url, resolve_target


def resolve(**kwargs: Any) -> Target:
    defaults: dict[str, Any] = {
        "url": None,
        "username": None,
        "password_file": None,
        "ca_bundle": None,
        "insecure": False,
        "environ": {},
        "interactive": False,
        "warn": lambda m: None,
    }
    defaults.update(kwargs)
    return resolve_target(**defaults)


def test_environment_supplies_url_user_and_password() -> None:
    target = resolve(
        environ={"NSFIX_URL": "ns1.example.net", "NSFIX_USER": "audit", "NSFIX_PASSWORD": "s3cret"}
    )
    assert target.url == "https://ns1.example.net"
    assert "s3cret" not in repr(target)
    assert "s3cret" not in str(target)


def test_missing_url_user_or_password_says_how_to_give_it() -> None:
    with pytest.raises(SettingsError, match="--url or set NSFIX_URL"):
        resolve()
    with pytest.raises(SettingsError, match="NSFIX_USER"):
        resolve(url="https://ns")
    with pytest.raises(SettingsError, match="does not prompt when not on a terminal"):
        resolve(url="https://ns", username="u")


def test_prompts_for_the_password_only_on_a_terminal() -> None:
    target = resolve(url="https://ns", username="u", interactive=True, prompt=lambda _: "pw")
    assert target.password == "pw"


def test_password_file_first_line_and_group_access_warned(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("topsecret\nignored\n")
    secret.chmod(0o640)
    warnings: list[str] = []
    target = resolve(url="https://ns", username="u", password_file=secret, warn=warnings.append)
    assert target.password == "topsecret"
    assert any("chmod 600" in w for w in warnings)
    assert all("topsecret" not in w for w in warnings)


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o602, 0o666])
def test_a_password_file_open_to_every_user_is_refused(tmp_path: Path, mode: int) -> None:
    secret = tmp_path / "pw"
    secret.write_text("topsecret\n")
    secret.chmod(mode)
    with pytest.raises(SettingsError) as refused:
        resolve(url="https://ns", username="u", password_file=secret)
    message = str(refused.value)
    assert str(secret) in message
    assert f"chmod 600 {secret}" in message
    assert "NSFIX_INSECURE_PASSWORD_FILE=1" in message
    assert "topsecret" not in message


def test_an_open_password_file_is_used_only_when_asked_and_loudly(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("topsecret\n")
    secret.chmod(0o644)
    warnings: list[str] = []
    target = resolve(
        url="https://ns",
        username="u",
        password_file=secret,
        environ={"NSFIX_INSECURE_PASSWORD_FILE": "1"},
        warn=warnings.append,
    )
    assert target.password == "topsecret"
    [warning] = warnings
    assert "every user" in warning
    assert "chmod 600" in warning


def test_unreadable_or_empty_password_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read password file"):
        resolve(url="https://ns", username="u", password_file=tmp_path / "nope")
    empty = tmp_path / "empty"
    empty.write_text("")
    empty.chmod(0o600)
    with pytest.raises(SettingsError, match="is empty"):
        resolve(url="https://ns", username="u", password_file=empty)


def test_a_password_file_that_is_not_text_is_a_clear_error(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_bytes(b"\xff\xfe\x00secret")
    secret.chmod(0o600)
    with pytest.raises(SettingsError, match="is not UTF-8 text"):
        resolve(url="https://ns", username="u", password_file=secret)


def test_plain_http_is_refused_off_loopback_unless_insecure() -> None:
    env = {"NSFIX_USER": "u", "NSFIX_PASSWORD": "p"}
    with pytest.raises(SettingsError, match="plain HTTP"):
        resolve(url="http://10.1.1.1", environ=env)
    assert resolve(url="http://127.0.0.1:8080", environ=env).url == "http://127.0.0.1:8080"
    warnings: list[str] = []
    target = resolve(url="http://10.1.1.1", environ=env, insecure=True, warn=warnings.append)
    assert target.verify is False
    assert warnings


def test_tls_verification_is_on_by_default_and_insecure_warns() -> None:
    env = {"NSFIX_USER": "u", "NSFIX_PASSWORD": "p"}
    assert resolve(url="https://ns", environ=env).verify is True
    warnings: list[str] = []
    assert (
        resolve(url="https://ns", environ=env, insecure=True, warn=warnings.append).verify is False
    )
    assert any("verification is OFF" in w for w in warnings)


def test_ca_bundle_must_exist_and_excludes_insecure(tmp_path: Path) -> None:
    env = {"NSFIX_USER": "u", "NSFIX_PASSWORD": "p"}
    with pytest.raises(SettingsError, match="does not exist"):
        resolve(url="https://ns", environ=env, ca_bundle=tmp_path / "ca.pem")
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert resolve(url="https://ns", environ=env, ca_bundle=bundle).verify == str(bundle)
    with pytest.raises(SettingsError, match="contradict"):
        resolve(url="https://ns", environ=env, ca_bundle=bundle, insecure=True)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("10.0.0.1", "https://10.0.0.1"),
        ("https://ns:8443/path", "https://ns:8443"),
        ("http://[::1]:80", "http://[::1]:80"),
    ],
)
def test_url_normalisation(given: str, expected: str) -> None:
    assert normalise_url(given) == expected


@pytest.mark.parametrize("bad", ["", "ftp://ns", "https://", "https://u:p@ns", "https://ns:99999"])
def test_bad_urls_are_clear_errors(bad: str) -> None:
    with pytest.raises(SettingsError):
        normalise_url(bad)


def test_a_ca_bundle_comes_from_the_flag_else_nsfix_ca_bundle(tmp_path: Path) -> None:
    flagged, named = tmp_path / "flag.pem", tmp_path / "env.pem"
    for bundle in (flagged, named):
        bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    env = {"NSFIX_USER": "u", "NSFIX_PASSWORD": "p", "NSFIX_CA_BUNDLE": str(named)}
    assert resolve(url="https://ns", environ=env).verify == str(named)
    assert resolve(url="https://ns", environ=env, ca_bundle=flagged).verify == str(flagged)
    # --insecure on the command line wins over a bundle named in the environment, loudly.
    warnings: list[str] = []
    target = resolve(url="https://ns", environ=env, insecure=True, warn=warnings.append)
    assert target.verify is False
    assert any("verification is OFF" in w for w in warnings)
    with pytest.raises(SettingsError, match="does not exist"):
        resolve(url="https://ns", environ={**env, "NSFIX_CA_BUNDLE": str(tmp_path / "nope")})


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_a_bundle_requests_would_take_from_the_environment_is_named_and_not_used(
    tmp_path: Path, variable: str
) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    env = {"NSFIX_USER": "u", "NSFIX_PASSWORD": "p", variable: str(bundle)}
    warnings: list[str] = []
    assert resolve(url="https://ns", environ=env, warn=warnings.append).verify is True
    [warning] = warnings
    assert f"{variable} is set but not used" in warning
    assert "certifi" in warning
    assert "--ca-bundle or set NSFIX_CA_BUNDLE" in warning
    warnings.clear()
    chosen = {**env, "NSFIX_CA_BUNDLE": str(bundle)}
    assert resolve(url="https://ns", environ=chosen, warn=warnings.append).verify == str(bundle)
    assert warnings == []
