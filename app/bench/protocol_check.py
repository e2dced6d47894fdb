"""``povlab bench protocol-check``: ``protocol new`` and ``protocol check`` on 100 trials of 1920x1080 JPEGs.

The images (distinct files, 1920x1080, JPEG quality 90, made from a bundled photo with a different crop each)
and the captions CSV are written first and not timed; then ``new_protocol`` (CSV read, TOML written, checked)
and ``check_protocol`` (load, font glyphs, layout, every image decoded) are timed in this process. The target
is under a second for ``check``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trials", type=int, default=100, help="number of trials, one image each (default 100)")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from PIL import Image

    from app.core.errors import PovLabError
    from app.core.paths import ASSETS_DIR
    from app.study.authoring import new_protocol
    from app.study.check import check_protocol

    if args.trials < 1:
        raise PovLabError("bench protocol-check: --trials must be at least 1")
    work = Path(tempfile.mkdtemp(prefix="povlab-bench-protocol-"))
    try:
        images = work / "images"
        images.mkdir()
        src = Image.open(ASSETS_DIR / "images" / "astronaut.jpg").convert("RGB")
        rows = ["image,caption,expected"]
        for i in range(args.trials):
            k = i % 64
            src.crop((k, k, 512 - (63 - k), 512 - (63 - k))).resize((1920, 1080)).save(images / f"s{i:03d}.jpg",
                                                                                      quality=90)
            rows.append(f"s{i:03d}.jpg,An astronaut number {i} in front of a flag,{'yes' if i % 3 else 'no'}")
        (work / "captions.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        t = time.perf_counter()
        new_protocol(images, work / "captions.csv", work / "p.toml")
        new_s = time.perf_counter() - t
        t = time.perf_counter()
        check = check_protocol(work / "p.toml")
        check_s = time.perf_counter() - t
        mb = sum(p.stat().st_size for p in images.iterdir()) / 1e6
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"benchmark": "protocol-check", "trials": len(check.trials), "image_px": [1920, 1080],
            "images_mb": round(mb, 1), "protocol_new_s": round(new_s, 3), "protocol_check_s": round(check_s, 3),
            "target_s": 1.0, "within_target": check_s < 1.0}
