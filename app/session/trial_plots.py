"""The figures every session leaves in its run folder: a scanpath and a dwell heatmap per trial.

:class:`TrialPlotter` listens to the session's own events (``TrialStarted`` gives the layout and
the stimulus, ``FixationMapped`` the fixations inside a trial) and, when the recording is closed,
writes ``plots/<stem>_trial-NN_<id>_{scanpath,heatmap}.png`` with :mod:`app.runfolder.plots`. So
``povlab run`` leaves the same plots as a session in the operator window, which only shows them.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from app.core.errors import PovLabError
from app.core.geometry import ScreenGeometry
from app.core.layout import TrialLayout
from app.runfolder.plots import TrialGaze, TrialPlots, write_trial_plots
from app.session.updates import FixationMapped, SessionEvent, TrialStarted

log = logging.getLogger(__name__)


class TrialPlotter:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # events come from the presenter's and the live pipeline's threads
        self._trials: dict[int, tuple[str, TrialLayout, Path]] = {}
        self._fixations: dict[int, list[tuple[float, float, float]]] = {}

    def observe(self, event: SessionEvent) -> None:
        with self._lock:
            if isinstance(event, TrialStarted):
                self._trials[event.number] = (event.trial_id, event.layout, event.image)
                self._fixations.setdefault(event.number, [])
            elif isinstance(event, FixationMapped) and event.number > 0:
                ev = event.fixation
                self._fixations.setdefault(event.number, []).append((float(ev.x), float(ev.y), float(ev.duration)))

    def write(self, folder: Path, stem: str, geometry: ScreenGeometry,
              background: str) -> tuple[tuple[TrialPlots, ...], str]:
        """Write the plots of every trial shown; returns them and a note for the operator (never raises
        :class:`PovLabError`: a plot that cannot be written is reported, the recording stays as it is)."""
        with self._lock:
            trials = [TrialGaze(n, trial_id, layout, image, tuple(self._fixations.get(n, ())))
                      for n, (trial_id, layout, image) in sorted(self._trials.items())]
        if not trials:
            return (), "no trial was shown: no plots"
        try:
            pairs = write_trial_plots(folder, stem, trials, geometry, background)
        except PovLabError as exc:
            log.error("plots not written: %s", exc)
            return (), f"plots not written: {exc}"
        plots = tuple(TrialPlots(t.number, t.trial_id, scan, heat)
                      for t, (scan, heat) in zip(trials, pairs, strict=True))
        return plots, f"plots in {folder}"
