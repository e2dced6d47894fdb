"""Bundles: every changed byte is found, import refuses unsafe entries, duplicates and bad checksums."""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
from pathlib import Path

import pytest

from app.cli import main
from app.core.errors import BundleError
from app.runfolder.bundle import DIGEST_TAG, MANIFEST, _seal, bundle_session, import_bundle, verify_bundle


@pytest.fixture
def bundle(session_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "s.zip"
    bundle_session(session_dir, out)
    return out


def test_manifest_lists_every_file_with_its_hash(session_dir: Path, bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as zf:
        m = json.loads(zf.read(MANIFEST))
        names = {i.filename for i in zf.infolist()} - {MANIFEST}
    on_disk = {f"sub-01/ses-01/{p.relative_to(session_dir).as_posix()}": p for p in session_dir.rglob("*")
               if p.is_file()}
    derived = {f"sub-01/ses-01/derivatives/sub-01_ses-01_task-pov_run-001_desc-{d}_beh.{ext}"
               for d in ("aoimetrics", "trialmetrics") for ext in ("tsv", "json")}  # the report tables, made here
    assert set(m["files"]) == names == set(on_disk) | derived
    for arc, p in on_disk.items():
        assert m["files"][arc]["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
    assert m["app_version"] == "0.1.0" and m["participant"] == "01" and m["session"] == "01"
    assert m["protocol"]["file"] == "sub-01/ses-01/protocol.toml" and m["protocol"]["matches_session"] is True
    assert "model" in m and m["runs"] == [{"stem": "sub-01_ses-01_task-pov_run-001", "status": "complete"}]
    assert verify_bundle(bundle).ok


def _region(bundle: Path, where: str) -> int:
    data = bundle.read_bytes()
    if where == "xdf-samples":
        with zipfile.ZipFile(bundle) as zf:
            info = next(i for i in zf.infolist() if i.filename.endswith(".xdf"))
        return info.header_offset + 30 + len(info.filename) + len(info.extra) + info.compress_size // 2
    if where == "manifest-data":
        with zipfile.ZipFile(bundle) as zf:
            info = zf.getinfo(MANIFEST)
        return info.header_offset + 30 + len(info.filename) + len(info.extra) + 5
    if where == "central-directory":
        return data.rfind(b"PK\x01\x02") + 20
    if where == "digest":
        return len(data) - 10
    if where == "first-byte":
        return 0
    raise AssertionError(where)


@pytest.mark.parametrize("where", ["xdf-samples", "manifest-data", "central-directory", "digest", "first-byte"])
def test_verify_finds_any_changed_byte(bundle: Path, where: str) -> None:
    data = bytearray(bundle.read_bytes())
    data[_region(bundle, where)] ^= 0x01
    bundle.write_bytes(bytes(data))
    report = verify_bundle(bundle)
    assert not report.ok
    assert "whole-file sha256" in report.problems[0] or "digest" in report.problems[0]


def test_verify_names_the_changed_file(bundle: Path) -> None:
    data = bytearray(bundle.read_bytes())
    data[_region(bundle, "xdf-samples")] ^= 0x01
    bundle.write_bytes(bytes(data))
    problems = verify_bundle(bundle).problems
    assert any(".xdf" in p for p in problems[1:])


def test_cli_verify_and_bundle(session_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "c.zip"
    assert main(["bundle", str(session_dir), "--out", str(out)]) == 0
    assert main(["verify", str(out)]) == 0
    assert "ok:" in capsys.readouterr().out
    assert main(["bundle", str(session_dir), "--out", str(out)]) == 2  # never overwritten
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0xFF
    out.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["verify", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("povlab: error:")


def test_import_round_trip(session_dir: Path, bundle: Path, tmp_path: Path) -> None:
    target = import_bundle(bundle, tmp_path / "lab")
    assert target == tmp_path / "lab/sub-01/ses-01"
    for p in session_dir.rglob("*"):
        if p.is_file():
            assert (target / p.relative_to(session_dir)).read_bytes() == p.read_bytes()
    with pytest.raises(BundleError, match="already present"):
        import_bundle(bundle, tmp_path / "lab")
    assert [p.name for p in (tmp_path / "lab").iterdir()] == ["sub-01"]  # no staging folder left


def _with_entry(bundle: Path, out: Path, info: zipfile.ZipInfo, data: bytes) -> Path:
    """A bundle whose manifest and digest are consistent but which holds one extra, crafted entry."""
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(out, "w") as dst:
        manifest = json.loads(src.read(MANIFEST))
        for i in src.infolist():
            if i.filename != MANIFEST:
                dst.writestr(i, src.read(i))
        dst.writestr(info, data)
        manifest["files"][info.filename] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        dst.writestr(MANIFEST, json.dumps(manifest))
        dst.comment = DIGEST_TAG + b"0" * 64
    _seal(out)
    return out


def _symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize("info, why", [
    pytest.param(zipfile.ZipInfo("sub-01/ses-01/../../../evil.txt"), "'..'", id="dot-dot"),
    pytest.param(zipfile.ZipInfo("/tmp/evil.txt"), "absolute", id="absolute"),
    pytest.param(zipfile.ZipInfo("sub-01/ses-01/..\\..\\evil.txt"), "backslash", id="backslash"),
    pytest.param(zipfile.ZipInfo("C:/evil.txt"), "absolute", id="drive-letter"),
    pytest.param(_symlink("sub-01/ses-01/link"), "symbolic link", id="symlink"),
])
def test_import_refuses_entries_outside_the_folder(bundle: Path, tmp_path: Path, info: zipfile.ZipInfo,
                                                   why: str) -> None:
    evil = _with_entry(bundle, tmp_path / "evil.zip", info, b"/etc/passwd")
    assert verify_bundle(evil).problems[0].endswith(why) or why in verify_bundle(evil).problems[0]
    lab = tmp_path / "lab"
    with pytest.raises(BundleError, match="refused"):
        import_bundle(evil, lab)
    assert not (lab / "sub-01").exists()
    assert not (tmp_path / "evil.txt").exists()


def test_import_refuses_bad_checksum(bundle: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(tmp_path / "t.zip", "w") as dst:
        for i in src.infolist():
            data = src.read(i)
            if i.filename.endswith("_trials.tsv"):
                data = data.replace(b"yes", b"no!", 1)  # a changed answer, with the zip rebuilt around it
            dst.writestr(i, data)
        dst.comment = DIGEST_TAG + b"0" * 64
    _seal(tmp_path / "t.zip")
    with pytest.raises(BundleError, match=r"refused: .*_trials.tsv: sha256 does not match"):
        import_bundle(tmp_path / "t.zip", tmp_path / "lab")
    assert not (tmp_path / "lab" / "sub-01").exists()


def test_bundle_refuses_symlinks_in_the_session(session_dir: Path, tmp_path: Path) -> None:
    (session_dir / "link").symlink_to("/etc/hostname")
    with pytest.raises(BundleError, match="symbolic link"):
        bundle_session(session_dir, tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()


def test_bundle_refuses_a_run_still_recording(session_dir: Path, tmp_path: Path) -> None:
    meta_path = next(session_dir.glob("*_session.json"))
    meta = json.loads(meta_path.read_text())
    meta["status"] = "recording"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="povlab recover"):
        bundle_session(session_dir, tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()


def test_verify_finds_a_flip_anywhere(bundle: Path) -> None:
    """Fifty random single-bit flips spread over the whole file: every one is found."""
    import random

    original = bundle.read_bytes()
    rng = random.Random(7)
    for _ in range(50):
        data = bytearray(original)
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        bundle.write_bytes(bytes(data))
        assert not verify_bundle(bundle).ok
    bundle.write_bytes(original)
    assert verify_bundle(bundle).ok
