"""Loads stimulus images and plot PNGs into QImages, outside the widgets (widgets do no I/O).

The controller preloads a protocol's images when it is chosen, so nothing is read from disk
while a trial is on screen.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage


class ImageStore:
    def __init__(self, max_side: int = 1600) -> None:
        self.max_side = max_side  # stimuli are scaled down once; the view never needs more
        self._cache: dict[Path, QImage | None] = {}

    def preload(self, paths: list[Path]) -> None:
        for p in paths:
            self.get(p)

    def get(self, path: Path | None) -> QImage | None:
        """The image at ``path`` (cached), or None when it cannot be read."""
        if path is None:
            return None
        key = Path(path)
        if key not in self._cache:
            img = QImage(str(key))
            if img.isNull():
                self._cache[key] = None
            else:
                if max(img.width(), img.height()) > self.max_side:
                    img = img.scaled(self.max_side, self.max_side, Qt.AspectRatioMode.KeepAspectRatio,
                                     Qt.TransformationMode.SmoothTransformation)
                self._cache[key] = img
        return self._cache[key]

    def forget(self, path: Path) -> None:
        self._cache.pop(Path(path), None)

