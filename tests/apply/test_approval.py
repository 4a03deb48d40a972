"""Binding an apply to what the change board approved: --expect-digest, and a signed approval."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from nsfix.approval import fingerprint
from tests.apply.helpers import (
    Nsfix,
    StartAppliance,
    appliance_fixture,  # noqa: F401
    journal_dir_fixture,  # noqa: F401
    journal_files,
    make_plan,
    nsfix_fixture,  # noqa: F401
    only_journal,
    records,
)
from tests.apply.test_edited_plans import resealed


def board_key(folder: Path, name: str = "cab") -> tuple[Path, Path, str]:
    """A change board's key pair as openssl writes them: (private PEM, public PEM, fingerprint)."""
    key = Ed25519PrivateKey.generate()
    private, public = folder / f"{name}.pem", folder / f"{name}.pub.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public, fingerprint(key.public_key())


def start_record(journal_dir: Path) -> dict[str, Any]:
    return records(only_journal(journal_dir))[0]


def test_apply_with_the_expected_digest_goes_ahead_and_journals_it(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    digest = make_plan(nsfix, mock.url, plan_path)["digest"]
    # As the CAB report shows it, or without the prefix, in either case.
    for given in (digest, digest.split(":", 1)[1].upper()):
        dry = nsfix("apply", str(plan_path), "--dry-run", "--expect-digest", given)
        assert dry.code == 0, dry.err
    run = nsfix("apply", str(plan_path), "--yes", "--settle", "0", "--expect-digest", digest)
    assert run.code == 0, run.out + run.err
    assert f"approved: the plan digest is the one expected ({digest})" in run.err
    assert start_record(journal_dir)["approval"] == {
        "expected_digest": digest,
        "approval_file": None,
        "key": None,
    }


def test_another_digest_than_the_approved_one_is_refused_naming_both(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    document = make_plan(nsfix, mock.url, plan_path)
    approved = document["digest"]
    # After the review someone drops c2 and seals the plan again: every change is still one the
    # planner makes, so only the approval can tell.
    document["plan"]["changes"] = document["plan"]["changes"][:1]
    edited = resealed(document)
    plan_path.write_text(json.dumps(edited))
    for extra in ((), ("--dry-run",), ("--json",)):
        run = nsfix("apply", str(plan_path), "--yes", "--expect-digest", approved, *extra)
        assert run.code == 4, run.out + run.err
        assert f"the plan's digest is {edited['digest']}, but {approved} was approved" in run.err
    assert mock.appliance.counters["writes"] == 0
    assert journal_files(journal_dir) == []


def test_a_malformed_expected_digest_is_a_usage_error(nsfix: Nsfix, tmp_path: Path) -> None:
    run = nsfix("apply", str(tmp_path / "plan.json"), "--expect-digest", "sha256:abc")
    assert run.code == 64
    assert "is not a plan digest" in run.err


def test_a_signed_approval_verifies_and_is_journalled_with_the_key(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    digest = make_plan(nsfix, mock.url, plan_path)["digest"]
    private, public, key_id = board_key(tmp_path)
    signed = nsfix("approve", str(plan_path), "--key", str(private), "--expect-digest", digest)
    assert signed.code == 0, signed.err
    approval = tmp_path / "plan.json.approval"
    document = json.loads(approval.read_text())
    assert (document["plan_digest"], document["key"]) == (digest, key_id)
    assert f"approved plan {digest} with key {key_id}" in signed.err

    run = nsfix(
        "apply", str(plan_path), "--yes", "--settle", "0",
        "--approval", str(approval), "--trusted-key", str(public),
    )  # fmt: skip
    assert run.code == 0, run.out + run.err
    assert f"is signed by trusted key {key_id}" in run.err
    assert start_record(journal_dir)["approval"] == {
        "expected_digest": None,
        "approval_file": str(approval),
        "key": key_id,
    }


def test_an_approval_of_another_plan_is_refused(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    document = make_plan(nsfix, mock.url, plan_path)
    private, public, _ = board_key(tmp_path)
    assert nsfix("approve", str(plan_path), "--key", str(private)).code == 0
    document["plan"]["changes"] = document["plan"]["changes"][:1]
    edited = resealed(document)
    plan_path.write_text(json.dumps(edited))
    run = nsfix(
        "apply", str(plan_path), "--yes",
        "--approval", f"{plan_path}.approval", "--trusted-key", str(public),
    )  # fmt: skip
    assert run.code == 4, run.out + run.err
    assert f"approves the plan {document['digest']}, not this plan ({edited['digest']})" in run.err
    assert mock.appliance.counters["writes"] == 0
    assert journal_files(journal_dir) == []


def test_an_approval_by_an_untrusted_key_or_with_a_forged_signature_is_refused(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    _, board_public, board_id = board_key(tmp_path, "cab")
    own_private, _, own_id = board_key(tmp_path, "someone")
    # Whoever edits plans can make a key pair too; the board's public key does not trust it.
    assert nsfix("approve", str(plan_path), "--key", str(own_private)).code == 0
    approval = tmp_path / "plan.json.approval"
    run = nsfix(
        "apply", str(plan_path), "--yes",
        "--approval", str(approval), "--trusted-key", str(board_public),
    )  # fmt: skip
    assert run.code == 4, run.out + run.err
    assert f"signed with key {own_id}, which is not a trusted key ({board_id})" in run.err
    # Claiming the board's key in the file does not help: the signature is what is checked.
    document = json.loads(approval.read_text())
    approval.write_text(json.dumps({**document, "key": board_id}))
    run = nsfix(
        "apply", str(plan_path), "--yes",
        "--approval", str(approval), "--trusted-key", str(board_public),
    )  # fmt: skip
    assert run.code == 4, run.out + run.err
    assert "its signature does not verify with the trusted key(s)" in run.err
    assert mock.appliance.counters["writes"] == 0
    assert journal_files(journal_dir) == []


def test_one_of_several_trusted_keys_is_enough(
    nsfix: Nsfix, appliance: StartAppliance, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    _, first, _ = board_key(tmp_path, "chair")
    private, second, _ = board_key(tmp_path, "deputy")
    assert nsfix("approve", str(plan_path), "--key", str(private)).code == 0
    run = nsfix(
        "apply", str(plan_path), "--yes", "--settle", "0", "--approval", f"{plan_path}.approval",
        "--trusted-key", str(first), "--trusted-key", str(second),
    )  # fmt: skip
    assert run.code == 0, run.out + run.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--approval", "x.approval"), "--approval needs --trusted-key"),
        (("--trusted-key", "cab.pub.pem"), "--trusted-key checks the signature of an --approval"),
    ],
)
def test_an_approval_and_its_key_go_together(
    args: tuple[str, ...], message: str, nsfix: Nsfix, tmp_path: Path
) -> None:
    run = nsfix("apply", str(tmp_path / "plan.json"), *args)
    assert run.code == 64
    assert message in run.err


def test_approve_refuses_a_plan_other_than_the_one_reviewed(
    nsfix: Nsfix, appliance: StartAppliance, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    private, _, _ = board_key(tmp_path)
    run = nsfix(
        "approve", str(plan_path), "--key", str(private), "--expect-digest", "sha256:" + "0" * 64
    )
    assert run.code == 4
    assert "was approved: this is not the plan the change board approved" in run.err
    assert not (tmp_path / "plan.json.approval").exists()


def test_approve_asks_for_the_passphrase_of_an_encrypted_key_only_on_a_terminal(
    nsfix: Nsfix, appliance: StartAppliance, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    encrypted = tmp_path / "cab.pem"
    encrypted.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"board secret"),
        )
    )
    run = nsfix("approve", str(plan_path), "--key", str(encrypted))
    assert run.code == 1
    assert "is encrypted: run nsfix approve on a terminal" in run.err


def test_openssh_keys_work_as_well(nsfix: Nsfix, appliance: StartAppliance, tmp_path: Path) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    key = Ed25519PrivateKey.generate()
    private, public = tmp_path / "id_ed25519", tmp_path / "id_ed25519.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        + b" cab@example\n"
    )
    assert nsfix("approve", str(plan_path), "--key", str(private)).code == 0
    run = nsfix(
        "apply", str(plan_path), "--yes", "--settle", "0",
        "--approval", f"{plan_path}.approval", "--trusted-key", str(public),
    )  # fmt: skip
    assert run.code == 0, run.out + run.err


def openssl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["openssl", *args], capture_output=True, check=False)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_a_board_without_nsfix_signs_with_openssl(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    """The workflow docs/guide.md gives the board, command for command."""
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    digest = make_plan(nsfix, mock.url, plan_path)["digest"]
    private, public = tmp_path / "cab.pem", tmp_path / "cab.pub.pem"
    if openssl("genpkey", "-algorithm", "ed25519", "-out", str(private)).returncode != 0:
        pytest.skip("this openssl has no Ed25519")
    assert openssl("pkey", "-in", str(private), "-pubout", "-out", str(public)).returncode == 0
    message = tmp_path / "approval.txt"
    message.write_bytes(f"nsfix-plan-approval-v1 {digest}".encode())
    signature = tmp_path / "plan.sig"
    signing = openssl(
        "pkeyutl", "-sign", "-rawin", "-inkey", str(private),
        "-in", str(message), "-out", str(signature),
    )  # fmt: skip
    if signing.returncode != 0:
        pytest.skip(f"this openssl cannot sign raw input: {signing.stderr.decode()}")
    der = openssl("pkey", "-pubin", "-in", str(public), "-outform", "DER").stdout
    key_id = "sha256:" + hashlib.sha256(der).hexdigest()

    run = nsfix(
        "apply", str(plan_path), "--yes", "--settle", "0",
        "--approval", str(signature), "--trusted-key", str(public),
    )  # fmt: skip
    assert run.code == 0, run.out + run.err
    assert start_record(journal_dir)["approval"]["key"] == key_id
    # The same signature, base64 in nsfix approve's document, verifies the same way.
    document = {
        "schema": "nsfix.approval",
        "schema_version": 1,
        "algorithm": "ed25519",
        "plan_digest": digest,
        "key": key_id,
        "signature": base64.b64encode(signature.read_bytes()).decode(),
    }
    approval = tmp_path / "plan.json.approval"
    approval.write_text(json.dumps(document))
    check = nsfix(
        "apply", str(plan_path), "--dry-run", "--approval", str(approval),
        "--trusted-key", str(public),
    )  # fmt: skip
    assert check.code == 7, check.out + check.err  # verified; the change is in place already


@pytest.mark.parametrize("first", [b"{", b" "])
def test_a_raw_signature_verifies_whatever_byte_it_starts_with(
    tmp_path: Path, first: bytes
) -> None:
    """One raw Ed25519 signature in 256 starts with "{" (and some with a blank): it is still a
    signature, not a broken JSON approval (CI once refused one)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from nsfix.approval import RequiredApproval, signed_text

    digest = "sha256:" + "ab" * 32
    for _ in range(20_000):
        key = Ed25519PrivateKey.generate()
        signature = key.sign(signed_text(digest))
        if signature.startswith(first):
            break
    else:
        pytest.fail(f"no signature starting with {first!r}")
    approval, public = tmp_path / "plan.sig", tmp_path / "cab.pub.pem"
    approval.write_bytes(signature)
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    bound = RequiredApproval(approval_file=approval, trusted_keys=(public,)).check(digest)
    assert bound is not None
    assert bound.key is not None
