"""Signed bundles: a re-sealed bundle (file edited, sha256 and seal recomputed) fails verification with a key."""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
from pathlib import Path

import pytest

from app.cli import main
from app.core.errors import BundleError
from app.runfolder.bundle import DIGEST_TAG, _seal, bundle_session, import_bundle, verify_bundle
from app.runfolder.bundle_signing import generate_keypair
from tests.hostile import expect_clean_error


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return generate_keypair(tmp_path / "keys" / "lab.key")


def _reseal(src: Path, dst: Path, edit: str) -> None:
    """What a tamperer without the key can do: change a file, fix its sha256 in the manifest, re-seal the zip."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        manifest = json.loads(zin.read("manifest.json"))
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith(edit):
                data = data.replace(b"yes", b"no ", 1) if b"yes" in data else data + b"\n"
                manifest["files"][info.filename] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            if info.filename != "manifest.json":
                zout.writestr(info, data)
        zout.writestr("manifest.json", json.dumps(manifest, indent=2) + "\n")
        zout.comment = DIGEST_TAG + b"0" * 64
    _seal(dst)


def test_keygen_writes_a_private_key_only_its_owner_reads(keys: tuple[Path, Path], tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    private, public = keys
    assert stat.S_IMODE(private.stat().st_mode) == 0o600 and b"PRIVATE KEY" in private.read_bytes()
    assert b"PUBLIC KEY" in public.read_bytes()
    expect_clean_error(["keygen", "--out", str(private)], capsys, "never overwritten")
    assert main(["keygen", "--out", str(tmp_path / "other.key")]) == 0


def test_signed_bundle_verifies_and_a_resealed_one_does_not(session_dir: Path, tmp_path: Path,
                                                            keys: tuple[Path, Path],
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    private, public = keys
    signed = tmp_path / "signed.zip"
    assert main(["bundle", str(session_dir), "--out", str(signed), "--sign", str(private)]) == 0
    assert main(["verify", str(signed), "--key", str(public)]) == 0
    assert "signature by key" in capsys.readouterr().out
    tampered = tmp_path / "tampered.zip"
    _reseal(signed, tampered, "_trials.tsv")
    assert verify_bundle(tampered).ok  # checksums alone cannot tell: the manifest and seal were recomputed
    expect_clean_error(["verify", str(tampered), "--key", str(public)], capsys, "re-sealed")
    with pytest.raises(BundleError, match="re-sealed"):
        import_bundle(tampered, tmp_path / "lab", public_key=public)
    assert not (tmp_path / "lab" / "sub-01").exists()
    assert import_bundle(signed, tmp_path / "lab", public_key=public).is_dir()


def test_unsigned_or_other_key_fails_with_a_key(session_dir: Path, tmp_path: Path, keys: tuple[Path, Path],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    private, public = keys
    unsigned = tmp_path / "u.zip"
    bundle_session(session_dir, unsigned)
    assert verify_bundle(unsigned).ok and verify_bundle(unsigned).signature == "not signed"
    expect_clean_error(["verify", str(unsigned), "--key", str(public)], capsys, "not signed")
    _, other_pub = generate_keypair(tmp_path / "other.key")
    signed = tmp_path / "s.zip"
    bundle_session(session_dir, signed, sign_key=private)
    expect_clean_error(["verify", str(signed), "--key", str(other_pub)], capsys, "not by the given key")
    expect_clean_error(["verify", str(signed), "--key", str(private)], capsys, "not a PEM public key")
    expect_clean_error(["bundle", str(session_dir), "--out", str(tmp_path / "x.zip"), "--sign", str(public)], capsys,
                       "private key")
