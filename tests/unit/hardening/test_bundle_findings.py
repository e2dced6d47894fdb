"""Bundles from elsewhere: hostile manifests are reported problems, imports are bounded and never follow links."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

from app.core.errors import BundleError
from app.runfolder.bundle import DIGEST_TAG, _seal, bundle_session, import_bundle, verify_bundle
from tests.hostile import expect_clean_error


def _zip_with_manifest(tmp_path: Path, manifest: bytes, extra: dict[str, bytes] | None = None,
                       compress: int = zipfile.ZIP_DEFLATED) -> Path:
    path = tmp_path / "b.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in (extra or {}).items():
            zf.writestr(name, data, compress_type=compress)
        zf.writestr("manifest.json", manifest, compress_type=zipfile.ZIP_DEFLATED)
        zf.comment = DIGEST_TAG + b"0" * 64
    _seal(path)
    return path


SHA = "0" * 64
MANIFESTS = [
    pytest.param(b"[1, 2]", "not an object", id="a-list"),
    pytest.param(b'"text"', "not an object", id="a-string"),
    pytest.param(b"null", "not an object", id="null"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, "nested deeper", id="nested-100000"),
    pytest.param(json.dumps({"format": "povlab-session-bundle", "files": "all"}).encode(), "'files' must be",
                 id="files-a-string"),
    pytest.param(json.dumps({"format": "povlab-session-bundle", "files": {"a": "x"}}).encode(), "files['a']",
                 id="entry-a-string"),
    pytest.param(json.dumps({"format": "povlab-session-bundle", "files": {"a": {"sha256": SHA, "size": "1"}},
                             "participant": "01", "session": "01"}).encode(), "files['a']", id="size-a-string"),
    pytest.param(json.dumps({"format": "povlab-session-bundle", "files": {}, "participant": 1,
                             "session": "01"}).encode(), "'participant' must be", id="participant-a-number"),
    pytest.param(b" " * (9 * 2**20), "larger than 8 MiB", id="manifest-bomb"),
]


@pytest.mark.parametrize(("manifest", "message"), MANIFESTS)
def test_hostile_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str], manifest: bytes, message: str) -> None:
    path = _zip_with_manifest(tmp_path, manifest)
    report = verify_bundle(path)
    assert not report.ok and any(message in p for p in report.problems), report.problems
    expect_clean_error(["verify", str(path)], capsys, message)
    expect_clean_error(["import", str(path), "--into", str(tmp_path / "lab")], capsys)
    assert not (tmp_path / "lab").exists() or not any((tmp_path / "lab").iterdir())


def test_import_limits(session_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "s.zip"
    bundle_session(session_dir, bundle)
    with pytest.raises(BundleError, match="more than the import limit of 3 "):
        import_bundle(bundle, tmp_path / "lab", max_files=3)
    with pytest.raises(BundleError, match="uncompressed, more than the import limit"):
        import_bundle(bundle, tmp_path / "lab", max_bytes=10_000)
    expect_clean_error(["import", str(bundle), "--into", str(tmp_path / "lab"), "--max-files", "3"], capsys,
                       "--max-files")
    assert not (tmp_path / "lab").exists() or not any((tmp_path / "lab").rglob("*.xdf"))
    assert import_bundle(bundle, tmp_path / "lab").is_dir()  # within the defaults


def test_zip_bomb_entry_is_refused(tmp_path: Path) -> None:
    path = _zip_with_manifest(tmp_path, b"{}", extra={"sub-01/ses-01/zeros.tsv": bytes(200 * 2**20)})
    assert path.stat().st_size < 1_000_000
    with pytest.raises(BundleError, match="zip bomb"):
        import_bundle(path, tmp_path / "lab")
    assert not (tmp_path / "lab").exists()


def test_import_never_follows_a_symlink_in_the_target(session_dir: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "s.zip"
    bundle_session(session_dir, bundle)
    lab, elsewhere = tmp_path / "lab", tmp_path / "elsewhere"
    lab.mkdir(), elsewhere.mkdir()
    os.symlink(elsewhere, lab / "sub-01")
    with pytest.raises(BundleError, match="symbolic link"):
        import_bundle(bundle, lab)
    assert not any(elsewhere.iterdir())
    assert not [p for p in lab.iterdir() if p.name.startswith(".povlab-import")]
