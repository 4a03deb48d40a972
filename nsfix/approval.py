"""Binding an apply to what the change board approved: the plan digest it saw, and its signature.

The CAB reviews a plan's report, which shows the plan's digest (which covers every change). Apply
with `--expect-digest` refuses any other plan. A detached Ed25519 signature over that digest, made
with a key only the board holds (`nsfix approve`, or openssl), lets apply check the approval
itself against the board's public key: whoever can edit a plan can seal it again, but cannot sign
it.

Ed25519 through PyCA `cryptography`: small keys and signatures, no parameters to get wrong,
deterministic signatures, and the same keys and signatures as OpenSSL 3 (`openssl pkeyutl
-rawin`), so a board without nsfix can sign with openssl alone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from nsfix.errors import NsfixError
from nsfix.exitcodes import ExitCode
from nsfix.shell import InputError

SCHEMA: Final = "nsfix.approval"
SCHEMA_VERSION: Final = 1
ALGORITHM: Final = "ed25519"
SIGNED_PREFIX: Final = "nsfix-plan-approval-v1 "
"""What a signature covers comes after this prefix, so a board key signs nothing else by chance."""
SIGNATURE_BYTES: Final = 64

_DIGEST: Final = re.compile(r"sha256:[0-9a-f]{64}")


class ApprovalError(NsfixError):
    """The plan is not the one approved, or the approval does not verify: nothing is written."""

    exit_code = ExitCode.REFUSED


@dataclass(frozen=True)
class Approval:
    """How an apply was bound to an approval; the journal's start record carries it."""

    expected_digest: str | None = None
    """The digest given with --expect-digest (the plan's, or apply refused)."""
    approval_file: str | None = None
    key: str | None = None
    """The fingerprint of the trusted key that verified the signature."""

    def describe(self) -> str:
        parts = []
        if self.expected_digest:
            parts.append(f"the plan digest is the one expected ({self.expected_digest})")
        if self.key:
            parts.append(f"the approval {self.approval_file} is signed by trusted key {self.key}")
        return "approved: " + "; ".join(parts)


def parse_digest(text: str) -> str:
    """`sha256:` and 64 hex digits (the prefix may be left out); ValueError for anything else."""
    value = text.strip().lower()
    if re.fullmatch(r"[0-9a-f]{64}", value):
        value = f"sha256:{value}"
    if not _DIGEST.fullmatch(value):
        raise ValueError(f"{text!r} is not a plan digest (sha256: and 64 hex digits)")
    return value


def signed_text(plan_digest: str) -> bytes:
    """The exact bytes a signature covers: the prefix and the plan digest, no newline."""
    return f"{SIGNED_PREFIX}{plan_digest}".encode("ascii")


def fingerprint(key: Ed25519PublicKey) -> str:
    """`sha256:` and the hex SHA-256 of the key's DER SubjectPublicKeyInfo, as
    `openssl pkey -pubin -outform DER | sha256sum` gives it."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return f"sha256:{hashlib.sha256(der).hexdigest()}"


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A PEM public key (openssl's `-pubout`) or an OpenSSH `ssh-ed25519` line."""
    data = _read(path, "trusted key")
    try:
        if data.lstrip().startswith(b"ssh-"):
            key: object = serialization.load_ssh_public_key(data.strip())
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InputError(f"{path}: not a PEM or OpenSSH public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{path}: not an Ed25519 public key")
    return key


def load_private_key(path: Path, passphrase: Callable[[], str]) -> Ed25519PrivateKey:
    """A PEM private key (openssl genpkey) or an OpenSSH one; `passphrase` is asked only when
    the key is encrypted."""
    data = _read(path, "signing key")
    openssh = b"OPENSSH PRIVATE KEY" in data
    load = serialization.load_ssh_private_key if openssh else serialization.load_pem_private_key
    try:
        try:
            key: object = load(data, None)
        except TypeError:
            # Encrypted: only now is there a reason to ask.
            key = load(data, passphrase().encode("utf-8"))
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise InputError(f"{path}: cannot read the private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{path}: not an Ed25519 private key")
    return key


def approval_document(plan_digest: str, key: Ed25519PrivateKey) -> dict[str, Any]:
    """A signed approval of the plan with this digest. Only `plan_digest` is signed; `key`
    names the signer's public key, for people (apply trusts only --trusted-key)."""
    signature = key.sign(signed_text(plan_digest))
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "algorithm": ALGORITHM,
        "plan_digest": plan_digest,
        "key": fingerprint(key.public_key()),
        "signature": base64.b64encode(signature).decode("ascii"),
    }


@dataclass(frozen=True)
class RequiredApproval:
    """What apply was asked to bind the plan to: --expect-digest, --approval, --trusted-key."""

    expected_digest: str | None = None
    approval_file: Path | None = None
    trusted_keys: tuple[Path, ...] = ()

    def check(self, plan_digest: str) -> Approval | None:
        """How the plan is bound to its approval (None: nothing was asked); ApprovalError
        when it is not the approved plan or the approval does not verify."""
        expected = self.expected_digest
        if expected is not None and expected != plan_digest:
            raise ApprovalError(
                f"the plan's digest is {plan_digest}, but {expected} was approved: this is not "
                "the plan the change board approved; nothing was written"
            )
        if self.approval_file is None:
            return None if expected is None else Approval(expected_digest=expected)
        keys = [load_public_key(path) for path in self.trusted_keys]
        signer, signature = _read_approval(self.approval_file, plan_digest)
        for key in keys:
            try:
                key.verify(signature, signed_text(plan_digest))
            except InvalidSignature:
                continue
            return Approval(expected, str(self.approval_file), fingerprint(key))
        trusted = {fingerprint(k) for k in keys}
        if signer is not None and signer not in trusted:
            why = f"it was signed with key {signer}, which is not a trusted key"
        else:
            why = "its signature does not verify with the trusted key(s)"
        raise ApprovalError(
            f"{self.approval_file}: not a valid approval of plan {plan_digest}: {why} "
            f"({', '.join(sorted(trusted))}); nothing was written"
        )


def _read_approval(path: Path, plan_digest: str) -> tuple[str | None, bytes]:
    """(the signer's fingerprint as the file states it, the signature) from an approval made
    by `nsfix approve` (JSON) or a raw 64-byte signature as `openssl pkeyutl -sign` writes it."""
    data = _read(path, "approval")
    # Exactly 64 bytes is a raw signature whatever its first byte (one in 256 starts with "{"):
    # nsfix approve's JSON holds a 71-character digest, so it is never that short.
    if len(data) == SIGNATURE_BYTES:
        return None, data
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApprovalError(
            f"{path}: not an approval (neither nsfix approve's JSON nor a 64-byte Ed25519 "
            "signature)"
        ) from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise ApprovalError(f"{path}: not an nsfix approval (schema {SCHEMA!r} expected)")
    if document.get("schema_version") != SCHEMA_VERSION or document.get("algorithm") != ALGORITHM:
        raise ApprovalError(
            f"{path}: approval version {document.get('schema_version')!r} with "
            f"{document.get('algorithm')!r} is not supported (this nsfix reads version "
            f"{SCHEMA_VERSION}, {ALGORITHM})"
        )
    approved = document.get("plan_digest")
    if approved != plan_digest:
        raise ApprovalError(
            f"{path} approves the plan {approved}, not this plan ({plan_digest}); nothing was "
            "written"
        )
    try:
        signature = base64.b64decode(str(document.get("signature", "")), validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    if len(signature) != SIGNATURE_BYTES:
        raise ApprovalError(f"{path}: the signature is not 64 bytes of base64")
    signer = document.get("key")
    return (str(signer) if signer else None), signature


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
