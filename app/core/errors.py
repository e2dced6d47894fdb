"""One error hierarchy for POV Lab.

Adapters translate library errors into these with ``raise ... from``; the CLI turns
any ``PovLabError`` into one clear line on stderr and exit code 2.
"""

from __future__ import annotations


class PovLabError(Exception):
    """Base of every error POV Lab reports to its user."""

    exit_code = 2


class ProtocolError(PovLabError):
    """A protocol file is malformed or refers to missing stimuli."""


class TrackerError(PovLabError):
    """No tracker stream, wrong channels, or a stream that cannot be read."""


class RecordingError(PovLabError):
    """The recording cannot be started, written or read."""


class GazeDataError(PovLabError):
    """Gaze samples that cannot be processed (bad header, unsorted time, empty)."""


class ModelError(PovLabError):
    """A model file that is missing, not ONNX, or of an incompatible version."""


class BundleError(PovLabError):
    """A session bundle that is corrupt, tampered with or unsafe to import."""


class PresentationError(PovLabError):
    """The participant screen cannot be opened or a stimulus cannot be shown."""


class StudyError(PovLabError):
    """A study folder that is not one study (no sessions, sessions of several protocols) or a report that cannot be made."""
