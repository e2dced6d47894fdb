"""The tracker picker's list: LSL gaze streams visible now, each with its rate and a channel check.

Wraps :func:`app.acquisition.discovery.find_streams` and
:func:`app.acquisition.channels.resolve_channel_map` so the operator window (which never touches
LSL itself) gets plain :class:`TrackerInfo` rows. The simulator is always offered first.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.errors import TrackerError

MIN_RATE_HZ = 30.0


@dataclass(frozen=True)
class TrackerInfo:
    label: str
    tracker: str  # a tracker spec (app.acquisition.tracker_spec): sim | lsl-id:SOURCE_ID | lsl:NAME
    rate_hz: float
    n_channels: int
    ok: bool
    note: str


def simulated(rate_hz: float = 1000.0) -> TrackerInfo:
    return TrackerInfo("Simulated tracker", "sim", rate_hz, 6, True, "simulated gaze (demo, no eye tracker)")


def check_stream(name: str, rate_hz: float, n_channels: int, channels: tuple[dict[str, str], ...],
                 screen_px: tuple[int, int] = (1920, 1080), desc: dict[str, str] | None = None,
                 stream_type: str = "") -> tuple[bool, str]:
    """Whether a stream can be recorded as gaze: a channel map for x/y (vendor layout, metadata or preset)
    and a regular rate (a recognised vendor app that publishes rate 0, the old Tobii app, is accepted)."""
    from app.acquisition.channels import resolve_channel_map

    try:
        cmap = resolve_channel_map(name, n_channels, channels, screen_px, desc=desc, stream_type=stream_type)
    except TrackerError as exc:
        return False, ("irregular rate: gaze streams need a nominal sampling rate; " if rate_hz <= 0 else "") + str(exc)
    if rate_hz <= 0 and not cmap.source.startswith("vendor:"):
        return False, "irregular rate: gaze streams need a nominal sampling rate"
    if 0 < rate_hz < MIN_RATE_HZ:
        return False, f"{rate_hz:g} Hz is below {MIN_RATE_HZ:g} Hz, too slow for fixation detection"
    return True, cmap.describe() + (" (no nominal rate published)" if rate_hz <= 0 else "")


def list_gaze_streams(timeout_s: float = 1.0, include_simulator: bool = True,
                      screen_px: tuple[int, int] = (1920, 1080)) -> list[TrackerInfo]:
    """The simulator (optional) and every gaze stream visible within ``timeout_s`` seconds."""
    from app.acquisition.discovery import find_streams

    out = [simulated()] if include_simulator else []
    for d in find_streams(timeout=timeout_s):
        ok, note = check_stream(d.name, d.rate_hz, d.n_channels, d.channels, screen_px, d.desc, d.type)
        spec = f"lsl-id:{d.source_id}" if d.source_id else f"lsl:{d.name}"
        out.append(TrackerInfo(f"{d.name} on {d.hostname}", spec, d.rate_hz, d.n_channels, ok, note))
    return out
