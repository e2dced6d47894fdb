"""Checks made before a session starts, so that bad input stops it with one clear line.

- every caption fits the screen (:func:`app.core.layout.layout_trial` raises ``ProtocolError``);
- every image decodes completely (the protocol reader only read its header);
- the font loads;
- there is a display to open a window on (the window itself is opened by
  :meth:`app.presentation.presenter.PsychoPyPresenter.open`, still before the session starts).
"""

from __future__ import annotations

import importlib.util
import os
import sys

from app.core.errors import PresentationError
from app.core.layout import TrialLayout, layout_trial
from app.core.protocol import Protocol
from app.presentation.compose import decode_image, load_font


def preflight(protocol: Protocol) -> dict[str, TrialLayout]:
    """Lay out every trial and decode every image; returns the layouts by trial id."""
    layouts = {}
    for trial in protocol.all_trials:
        layouts[trial.trial_id] = layout_trial(protocol, trial)
        decode_image(trial.image, f"{protocol.path}: trial {trial.trial_id}")
    load_font(protocol)
    return layouts


def require_display(display: str | None = None) -> str | None:
    """The X display the window will use; PresentationError when there is none (Linux)."""
    if not sys.platform.startswith("linux"):
        return display
    name = display or os.environ.get("DISPLAY")
    if not name and not os.environ.get("WAYLAND_DISPLAY"):
        raise PresentationError("no display for the participant screen: DISPLAY is not set "
                                "(start the session from a desktop, run it under Xvfb, or use --headless)")
    return name


def require_psychopy() -> None:
    """PresentationError when PsychoPy (or pyglet, its window library) is not installed."""
    for module in ("psychopy", "pyglet"):
        if importlib.util.find_spec(module) is None:
            raise PresentationError(f"{module} is not installed: the participant screen needs PsychoPy "
                                    "(scripts/setup.sh installs it: pip install --no-deps psychopy plus the "
                                    "[presentation] extra), or run with --headless")
