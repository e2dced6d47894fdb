"""Fuzzing the readers of user files: protocols (with their images and fonts), POV CSV, gaze files, XDF.

Each target mutates a valid seed input with :func:`tests.fuzz.harness.mutate` (seeded); see the harness
for what every input must satisfy. ``-m slow`` runs :data:`~tests.fuzz.harness.FUZZ_SEEDS_SLOW` per target.
"""

from __future__ import annotations

import random
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from app.core.pov_release import HEADER, read_pov_csv
from app.formats.xdf_format import write_streams
from app.formats.xdf_reader import XdfContents, read_session_xdf
from tests.fuzz.harness import FUZZ_SEEDS, FUZZ_SEEDS_SLOW, check_call, check_cli, mutate, run_seeds
from tests.hostile import FONT, IMG, png_bytes, protocol_text, tiny_font

ROOT = Path(__file__).resolve().parents[2]
ASC = ROOT / "tests" / "fixtures" / "eyelink" / "raccoons.asc"
FAST = range(FUZZ_SEEDS)
SLOW = range(FUZZ_SEEDS, FUZZ_SEEDS_SLOW)


def _protocol_case(tmp: Path, seed: int) -> None:
    rng = random.Random(seed)
    work = tmp / f"p{seed}"
    work.mkdir()
    what = rng.randrange(4)
    image, font = "img.png", "font.ttf"
    (work / image).write_bytes(png_bytes(64, 48) if what != 1 else mutate(png_bytes(64, 48), rng))
    (work / font).write_bytes(tiny_font() if what != 2 else mutate(tiny_font(), rng))
    if rng.random() < 0.3:
        image = "photo.jpg"
        (work / image).write_bytes(mutate(IMG.read_bytes(), rng, 1) if what == 1 else IMG.read_bytes())
    if rng.random() < 0.3:
        shutil.copyfile(FONT, work / font)
    text = protocol_text(image=image, layout=f'font = "{font}"').replace("box = [10, 10, 100, 100]",
                                                                          "box = [1, 1, 40, 40]")
    data = text.encode() if what in (1, 2) else mutate(text.encode(), rng)
    (work / "p.toml").write_bytes(data)
    check_cli(["protocol", "check", str(work / "p.toml")], work, work / "nothing")


def _pov_case(tmp: Path, seed: int) -> None:
    rng = random.Random(seed)
    rows = ["\t".join(HEADER)] + ["\t".join([f"img{i}", f"P{i % 3}", "txt_cup,vis_cup,off", "100,200,300",
                                             "100,120,130", "1,1,1", "200,300,150", str(i % 3)]) for i in range(5)]
    path = tmp / f"fixations_{seed}.csv"
    path.write_bytes(mutate(("\n".join(rows) + "\n").encode(), rng))
    check_call(lambda: read_pov_csv(path), f"read_pov_csv seed {seed}")


def _gaze_case(tmp: Path, seed: int, session_xdf: Path) -> None:
    rng = random.Random(seed)
    work = tmp / f"g{seed}"
    work.mkdir()
    kind = rng.randrange(4)
    if kind == 0:
        text = "time,x,y\n" + "".join(f"{i / 500:.4f},{960 + (i // 50) * 30},{540 + (i % 7)}\n" for i in range(600))
        src = work / "gaze.csv"
        src.write_bytes(mutate(text.encode(), rng))
    elif kind == 1:
        src = work / "sub-01_physio.tsv"
        tsv = "".join(f"{960 + (i // 50) * 30}\t{540 + i % 7}\t{i / 500:.4f}\n" for i in range(600))
        side = ('{"Columns": ["x_coordinate", "y_coordinate", "timestamp"], "SamplingFrequency": 500, '
                '"timestamp": {"Units": "s"}, "ScreenSize": [0.53, 0.3], "ScreenResolution": [1920, 1080], '
                '"ScreenDistance": 0.6}')
        mutated_side = rng.random() < 0.5
        src.write_bytes(tsv.encode() if mutated_side else mutate(tsv.encode(), rng))
        (work / "sub-01_physio.json").write_bytes(mutate(side.encode(), rng) if mutated_side else side.encode())
    elif kind == 2:
        src = work / "rec.asc"
        src.write_bytes(mutate(ASC.read_bytes(), rng))
    else:
        src = work / "rec.xdf"
        src.write_bytes(mutate(session_xdf.read_bytes(), rng, rng.randint(1, 3)))
    out = work / "out"
    args = ["detect", str(src), "--events-out", str(out / "events.tsv")]
    if rng.random() < 0.2:
        args += ["--rate", rng.choice(["inf", "nan", "-5", "1e308", "0", "500"])]
    check_cli(args, work, out)


def _xdf_case(tmp: Path, seed: int, session: Path) -> None:
    rng = random.Random(seed)
    folder = tmp / f"x{seed}" / session.name
    shutil.copytree(session, folder)
    xdf = next(folder.glob("*.xdf"))
    data = mutate(xdf.read_bytes(), rng, rng.randint(1, 3))
    xdf.write_bytes(data)
    meta = next(folder.glob("*_session.json"))
    meta.write_text(meta.read_text().replace('"status": "complete"', '"status": "recording"'))
    check_call(lambda: read_session_xdf(xdf), f"read_session_xdf seed {seed}")
    code, _ = check_cli(["recover", str(folder)], folder.parent, folder)
    if code == 0:
        assert read_session_xdf(xdf).complete, f"seed {seed}: recover left an incomplete XDF"
        kept = xdf.with_name(xdf.name + ".crashed")
        assert not kept.exists() or kept.read_bytes() == data, f"seed {seed}: the original was not kept as it was"


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from app.runfolder.synthetic import make_session

    return make_session(tmp_path_factory.mktemp("fuzz") / "data", duration_s=12.0)


@pytest.mark.parametrize("seeds", [pytest.param(FAST, id="default"), pytest.param(SLOW, id="slow",
                                                                                  marks=pytest.mark.slow)])
def test_fuzz_protocols(tmp_path: Path, seeds: range) -> None:
    run_seeds(seeds, lambda s: _protocol_case(tmp_path, s))


@pytest.mark.parametrize("seeds", [pytest.param(FAST, id="default"), pytest.param(SLOW, id="slow",
                                                                                  marks=pytest.mark.slow)])
def test_fuzz_pov_csv(tmp_path: Path, seeds: range) -> None:
    run_seeds(seeds, lambda s: _pov_case(tmp_path, s))


@pytest.mark.parametrize("seeds", [pytest.param(FAST, id="default"), pytest.param(SLOW, id="slow",
                                                                                  marks=pytest.mark.slow)])
def test_fuzz_gaze_files(tmp_path: Path, session: Path, seeds: range) -> None:
    xdf = next(session.glob("*.xdf"))
    run_seeds(seeds, lambda s: _gaze_case(tmp_path, s, xdf))


@pytest.mark.parametrize("seeds", [pytest.param(range(12), id="default"), pytest.param(SLOW, id="slow",
                                                                                       marks=pytest.mark.slow)])
def test_fuzz_xdf_and_recovery(tmp_path: Path, session: Path, seeds: range) -> None:
    run_seeds(seeds, lambda s: _xdf_case(tmp_path, s, session))


HOSTILE_FLOATS = [float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 1e12, -1e12, 0.0, -1.0, 5e-324, 2.0**63]
SLOW_VALUES = range(FUZZ_SEEDS, FUZZ_SEEDS + 1200)  # each case runs five commands: about 0.4 s


def _damage_values(contents: XdfContents, rng: random.Random) -> None:
    """Hostile numbers where byte flips rarely put them: stamps, channel values, a reversed stretch."""
    numeric = [s for s in contents.streams.values() if len(s)]
    for _ in range(rng.randint(1, 6)):
        s = rng.choice(numeric)
        i = rng.randrange(len(s))
        what = rng.randrange(3)
        if what == 0:
            s.time_stamps[i] = rng.choice(HOSTILE_FLOATS)
        elif what == 1 and not isinstance(s.time_series, list):
            s.time_series[i, rng.randrange(s.time_series.shape[1])] = rng.choice(HOSTILE_FLOATS)
        else:
            j = min(len(s), i + rng.randint(2, 50))
            s.time_stamps[i:j] = s.time_stamps[i:j][::-1].copy()


def _xdf_values_case(tmp: Path, seed: int, session: Path) -> None:
    rng = random.Random(seed)
    root = tmp / f"v{seed}"
    folder = root / "data" / session.parent.name / session.name
    shutil.copytree(session, folder)
    xdf = next(folder.glob("*.xdf"))
    contents = read_session_xdf(xdf)
    _damage_values(contents, rng)
    xdf.unlink()
    write_streams(xdf, sorted(contents.streams.values(), key=lambda s: s.stream_id), recorded_at=contents.recorded_at)
    if rng.random() < 0.5:  # cut short as well, as a crash would
        xdf.write_bytes(xdf.read_bytes()[: int(xdf.stat().st_size * rng.uniform(0.5, 1.0))])
    meta = next(folder.glob("*_session.json"))
    meta.write_text(meta.read_text().replace('"status": "complete"', '"status": "recording"'))
    before = read_session_xdf(xdf)
    out = root / "out"
    code, _ = check_cli(["recover", str(folder)], root, root)
    assert code == 0, f"seed {seed}: recover refused a readable recording"
    after = read_session_xdf(xdf)
    for name, s in before.streams.items():  # nothing that could be read is lost
        assert len(after.streams[name]) == len(s), f"seed {seed}: recover lost samples of {name}"
        np.testing.assert_array_equal(after.streams[name].time_stamps, s.time_stamps)
    for argv in (["detect", str(xdf), "--events-out", str(out / "events.tsv")],
                 ["report", str(folder), "--aoi-metrics", str(out / "a.tsv"), "--trials", str(out / "t.tsv")],
                 ["export", str(folder), "--bids", str(out / "bids")],
                 ["bundle", str(folder), "--out", str(out / "b.zip")]):
        with warnings.catch_warnings(record=True) as caught:  # a user would see them on the terminal
            warnings.simplefilter("always")
            _, err = check_cli(argv, root, root)
        said = [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught
                if issubclass(w.category, RuntimeWarning)]
        assert "Warning" not in err and not said, f"seed {seed}: povlab {argv[0]} warned:\n{err[-2000:]}{said[:3]}"


@pytest.mark.parametrize("seeds", [pytest.param(range(8), id="default"), pytest.param(SLOW_VALUES, id="slow",
                                                                                      marks=pytest.mark.slow)])
def test_fuzz_xdf_values_through_every_command(tmp_path: Path, session: Path, seeds: range) -> None:
    run_seeds(seeds, lambda s: _xdf_values_case(tmp_path, s, session))
