"""The red team's protocol findings (issue 15): each input ends in one clear error naming file and key, or loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.errors import ProtocolError
from app.core.fontmetrics import load_font_metrics
from app.core.protocol import load_protocol
from tests.hostile import IMG, expect_clean_error, png_bytes, protocol_text, tiny_font


def _files(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, data in {
        "zero.png": png_bytes(0, 10), "header.png": png_bytes(8, 8, truncate=33), "ok.png": png_bytes(8, 8),
        "short.jpg": IMG.read_bytes()[: IMG.stat().st_size // 2],
        "upem0.ttf": tiny_font(units_per_em=0), "hm0.ttf": tiny_font(n_hmetrics=0),
        "cmap12.ttf": tiny_font(groups=((0, 0xFFFFFFFF, 1),)), "ok.ttf": tiny_font(),
    }.items():
        (tmp_path / name).write_bytes(data)
        out[name] = tmp_path / name
    return out


def _screen(key: str, value: str):
    return lambda t: "\n".join(f"{key} = {value}" if ln.startswith(f"{key} = ") else ln for ln in t.splitlines())


CASES = [
    pytest.param(dict(image="zero.png"), None, "a side of zero", id="png-width-0"),
    pytest.param(dict(image="header.png"), None, "truncated PNG", id="png-only-header"),
    pytest.param(dict(image="short.jpg"), None, "truncated JPEG", id="truncated-jpeg"),
    pytest.param(dict(layout='font = "upem0.ttf"'), None, "unitsPerEm is 0", id="font-units-per-em-0"),
    pytest.param(dict(layout='font = "hm0.ttf"'), None, "numberOfHMetrics is 0", id="font-hmetrics-0"),
    pytest.param(dict(layout='font = "cmap12.ttf"'), None, "character map covers more than", id="font-cmap12-hang"),
    pytest.param(dict(image="a\\u0000b.png"), None, "trials[0].image", id="nul-in-path"),
    pytest.param(dict(image="x" * 5000 + ".png"), None, "at most 1024 characters", id="path-5000-chars"),
    pytest.param(dict(extra_top='instructions = "' + "x" * 20_000 + '"'), None, "instructions: expected at most",
                 id="huge-instructions"),
    pytest.param({}, _screen("distance_cm", "1" + "0" * 400), "screen.distance_cm", id="int-10e400"),
    pytest.param({}, _screen("width_px", "100000"), "screen.width_px", id="screen-100000-px"),
    pytest.param({}, _screen("distance_cm", "9" * 5000), "not valid TOML", id="int-of-5000-digits"),
    pytest.param({}, _screen("distance_cm", "1e-9"), "screen.distance_cm", id="distance-1e-9"),
    pytest.param({}, lambda t: t.replace("width_px", "widht_px"), "did you mean 'width_px'", id="typo-widht"),
    pytest.param(dict(trial="captoin = 'x'"), None, "did you mean 'caption'", id="typo-in-trial"),
    pytest.param(dict(extra_top='[responses]\npause = ""'), None, "responses.pause", id="empty-pause-key"),
    pytest.param({}, lambda t: t.replace('label = "cup"', 'label = "cup\\nsaucer"'), "control characters",
                 id="aoi-label-newline"),
]


@pytest.mark.parametrize(("parts", "edit", "message"), CASES)
def test_hostile_protocol_is_one_clear_error(tmp_path: Path, parts: dict[str, str], edit, message: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    _files(tmp_path)
    text = protocol_text(**parts)
    path = tmp_path / "p.toml"
    path.write_text(edit(text) if edit else text, encoding="utf-8")
    with pytest.raises(ProtocolError) as info:
        load_protocol(path)
    assert message in str(info.value) and str(path) in str(info.value)
    line = expect_clean_error(["run", "--protocol", str(path), "--participant", "X", "--out", str(tmp_path / "out"),
                               "--no-model"], capsys, message)
    assert len(line) < 600  # a 100,000-character value is never repeated back
    assert not (tmp_path / "out").exists()


def test_deep_arrays_and_huge_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deep = tmp_path / "deep.toml"
    deep.write_text(protocol_text(extra_top="x = " + "[" * 5000 + "]" * 5000))
    expect_clean_error(["run", "--protocol", str(deep), "--participant", "X", "--no-model"], capsys, "nested deeper")
    named = tmp_path / "named.toml"
    named.write_text(protocol_text().replace('name = "hostile"', 'name = "' + "n" * 100_000 + '"'))
    line = expect_clean_error(["run", "--protocol", str(named), "--participant", "X", "--no-model"], capsys,
                              "name: expected at most 100 characters")
    assert len(line) < 600


def test_many_trials_and_float_schema(tmp_path: Path) -> None:
    many = tmp_path / "many.toml"
    trial = f'[[trials]]\nimage = "{IMG}"\ncaption = "A cup"\n'
    many.write_text(protocol_text() + trial * 2001)
    with pytest.raises(ProtocolError, match="at most 2000 trials"):
        load_protocol(many)
    version = tmp_path / "version.toml"
    version.write_text(protocol_text().replace("schema_version = 1", "schema_version = 1.0"))
    with pytest.raises(ProtocolError, match="schema_version"):
        load_protocol(version)


def test_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + protocol_text().encode("utf-8"))
    assert load_protocol(path).name == "hostile"


def test_well_formed_small_files_still_load(tmp_path: Path) -> None:
    files = _files(tmp_path)
    path = tmp_path / "ok.toml"
    path.write_text(protocol_text(image="ok.png", layout='font = "ok.ttf"').replace(
        "box = [10, 10, 100, 100]", "box = [1, 1, 7, 7]"))
    p = load_protocol(path)
    assert p.trials[0].image_size == (8, 8) and p.style.font == files["ok.ttf"].resolve()
    assert load_font_metrics(files["ok.ttf"]).text_width("ab", 10.0) == pytest.approx(10.0)
