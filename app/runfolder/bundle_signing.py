"""Tamper evidence beyond checksums: a lab key signs a bundle's manifest (Ed25519, ``cryptography``).

Checksums tell a damaged bundle from a whole one, not a tampered one: whoever edits a file can
recompute its sha256, the manifest and the whole-file seal. A signature cannot be recomputed
without the lab's private key. ``povlab keygen --out lab.key`` writes ``lab.key`` (PKCS#8 PEM,
mode 0600: keep it on the recording computer) and ``lab.key.pub`` (give it to whoever checks);
``povlab bundle --sign lab.key`` adds ``manifest.json.sig``, the signature of the exact bytes of
``manifest.json`` (which lists the sha256 of every file); ``povlab verify --key lab.key.pub`` and
``povlab import --key lab.key.pub`` refuse a bundle that is unsigned, signed by another key, or
whose manifest changed after signing (a re-sealed bundle).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from app.core.errors import BundleError

SIGNATURE = "manifest.json.sig"
ALGORITHM = "Ed25519"
MAX_KEY_BYTES = 16 * 1024


def _crypto() -> Any:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError as exc:  # a runtime dependency; a broken install says so in one line
        raise BundleError("bundle signing needs the 'cryptography' package (pip install cryptography)") from exc
    return serialization, ed25519


def fingerprint(public_raw: bytes) -> str:
    """A short name of a public key: the first 16 hex digits of the sha256 of its 32 raw bytes."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def generate_keypair(out: Path) -> tuple[Path, Path]:
    """Write a new private key to ``out`` (mode 0600) and its public key to ``out.pub``; never overwrites."""
    serialization, ed25519 = _crypto()
    pub_path = out.with_name(out.name + ".pub")
    for p in (out, pub_path):
        if p.exists() or p.is_symlink():
            raise BundleError(f"{p}: already exists; a key is never overwritten")
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with open(fd, "wb") as fh:
            fh.write(private)
        with open(pub_path, "xb") as fh:
            fh.write(public)
    except OSError as exc:
        raise BundleError(f"{out}: cannot write the key ({exc.strerror})") from exc
    return out, pub_path


def _read_key(path: Path, what: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_KEY_BYTES + 1)
    except OSError as exc:
        raise BundleError(f"{path}: cannot read the {what} ({exc.strerror})") from exc
    if len(data) > MAX_KEY_BYTES:
        raise BundleError(f"{path}: not a {what} (larger than {MAX_KEY_BYTES} bytes)")
    return data


def load_private_key(path: Path) -> Any:
    serialization, ed25519 = _crypto()
    try:
        key = serialization.load_pem_private_key(_read_key(path, "private key"), password=None)
    except (ValueError, TypeError) as exc:
        raise BundleError(f"{path}: not an unencrypted PEM private key (make one with 'povlab keygen')") from exc
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise BundleError(f"{path}: not an Ed25519 key (make one with 'povlab keygen')")
    return key


def load_public_key(path: Path) -> Any:
    serialization, ed25519 = _crypto()
    try:
        key = serialization.load_pem_public_key(_read_key(path, "public key"))
    except (ValueError, TypeError) as exc:
        raise BundleError(f"{path}: not a PEM public key (the .pub file 'povlab keygen' wrote)") from exc
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise BundleError(f"{path}: not an Ed25519 public key")
    return key


def _raw_public(key: Any) -> bytes:
    serialization, _ = _crypto()
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def sign_manifest(manifest: bytes, private_key: Any) -> bytes:
    """The ``manifest.json.sig`` entry: algorithm, the signer's public key and the signature, as JSON."""
    sig = private_key.sign(manifest)
    public = _raw_public(private_key.public_key())
    return (json.dumps({"algorithm": ALGORITHM, "public_key": base64.b64encode(public).decode("ascii"),
                        "key_fingerprint": fingerprint(public),
                        "signature": base64.b64encode(sig).decode("ascii")}, indent=2) + "\n").encode("ascii")


def signature_problem(manifest: bytes, entry: bytes | None, public_key: Any | None) -> tuple[str | None, str]:
    """(problem or None, one line saying what was checked) for a bundle's signature entry."""
    if entry is None:
        return ("not signed (no manifest.json.sig) but a key was given: it cannot be told from a re-sealed bundle"
                if public_key is not None else None), "not signed"
    try:
        sig = json.loads(entry[:MAX_KEY_BYTES])
        ok = isinstance(sig, dict) and sig.get("algorithm") == ALGORITHM
        signer = base64.b64decode(sig["public_key"], validate=True) if ok else b""
        signature = base64.b64decode(sig["signature"], validate=True) if ok else b""
    except (ValueError, KeyError, TypeError, RecursionError):
        ok, signer, signature = False, b"", b""
    if not ok or len(signer) != 32 or len(signature) != 64:
        return f"{SIGNATURE} is not an Ed25519 signature entry", "signature unreadable"
    if public_key is None:
        return None, f"signed by key {fingerprint(signer)} (not checked: pass --key LAB.pub)"
    expected = _raw_public(public_key)
    if signer != expected:
        return (f"signed by key {fingerprint(signer)}, not by the given key {fingerprint(expected)}",
                "signed by another key")
    from cryptography.exceptions import InvalidSignature

    try:
        public_key.verify(signature, manifest)
    except InvalidSignature:
        return ("the signature does not match the manifest: the bundle was changed and re-sealed after signing",
                "signature invalid")
    return None, f"signature by key {fingerprint(expected)} valid"
