"""The run's metadata (``<stem>_session.json``) as one typed record, and the status of a run.

The session writes a :class:`RunMetadata` when it starts (``status: recording``) and again when it
ends; recovery rewrites it; export, bundling and the operator window read it back with
:meth:`RunMetadata.from_json`, which checks every type and names any key it does not know. The JSON
is the one written since the first release: every key written then is read now (files of older
versions and of ``app/runfolder/synthetic.py`` lack some keys; those are ``None``), and keys that
were absent until the end of a run stay absent until then.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar

from app.core.errors import BundleError, PovLabError
from app.core.geometry import ScreenGeometry


class SessionStatus(enum.StrEnum):
    RECORDING = "recording"  # running, or killed before it could say otherwise
    COMPLETE = "complete"  # every trial shown
    ABORTED = "aborted"  # stopped by the operator (or --duration) before the last trial
    FAILED = "failed"  # a part failed (presenter, tracker); what was recorded is kept
    DISK_FULL = "disk_full"  # the recorder could not write any more
    RECOVERED = "recovered"  # rewritten by ``povlab recover`` after a crash

    @property
    def ended(self) -> bool:
        """Whether the run is over (everything but ``recording``)."""
        return self is not SessionStatus.RECORDING

    @property
    def ok(self) -> bool:
        """Whether the run ended as the operator wanted (``povlab run`` exits 0)."""
        return self in (SessionStatus.COMPLETE, SessionStatus.ABORTED)


class _Record:
    """A record of ``session.json``: its fields are type-checked when it is built; a field that is ``None``
    is left out of the JSON unless it is named in ``KEEP_NONE`` (those are written as ``null``)."""

    KEEP_NONE: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        _check(self)


@dataclass(frozen=True)
class TrackerRecord(_Record):
    KEEP_NONE = ("mapping", "preset")
    kind: str | None = None  # the tracker spec: sim | lsl:NAME | lsl-id:SOURCE_ID | replay:FILE
    name: str | None = None
    source_id: str | None = None
    rate: float | None = None  # nominal Hz (0 = irregular)
    channels: list[str] | None = None
    hostname: str | None = None
    mapping: str | None = None  # explicit channel mapping, when given
    preset: str | None = None
    channel_map: dict[str, Any] | None = None  # the resolved map (ChannelMap.to_record()): layout, indices, units


@dataclass(frozen=True)
class ModelRecord(_Record):
    KEEP_NONE = ("provider",)
    path: str
    sha256: str
    provider: str | None = None  # ONNX Runtime execution provider


@dataclass(frozen=True)
class CountersRecord(_Record):
    received: int
    lost: int
    invalid: int
    gaps: int | None = None


@dataclass(frozen=True)
class RecorderRecord(_Record):
    KEEP_NONE = ("error",)
    error: str | None = None
    samples: dict[str, int] = field(default_factory=dict)  # per stream name


@dataclass(frozen=True)
class FilesRecord(_Record):
    xdf: str
    trials: str


@dataclass(frozen=True)
class RecoveryRecord(_Record):
    KEEP_NONE = ("original_xdf",)
    recovered_utc: str
    status_before: str
    original_xdf: str | None
    samples: dict[str, int]
    first_timestamp: float
    last_timestamp: float
    unread_bytes: int
    losses: list[str]
    trials: int
    trial_rows_added: list[int] | None = None  # trials.tsv rows recover added (live rows kept); None: none


@dataclass(frozen=True)
class RunMetadata(_Record):
    """One run's ``session.json``; ``replace()`` it to change it (it is frozen)."""

    KEEP_NONE = ("ended_utc", "model", "validation")

    participant: str
    session: str
    task: str
    run: int
    status: SessionStatus = SessionStatus.RECORDING
    app_version: str | None = None
    protocol: str | None = None  # file name of the protocol copy in the folder
    protocol_name: str | None = None
    protocol_sha256: str | None = None
    screen: ScreenGeometry | None = None
    tracker: TrackerRecord | None = None
    started_utc: str | None = None
    ended_utc: str | None = None
    model: ModelRecord | None = None
    validation: dict[str, Any] | None = None  # ValidationResult.to_dict()
    files: FilesRecord | None = None
    # written when the run ends
    gaps: list[list[float]] | None = None  # [start, end] LSL s
    counters: CountersRecord | None = None
    n_trials_done: int | None = None
    agreement: float | None = None  # model vs participant on the test trials; null when none was predicted
    n_fixations: int | None = None
    warnings: list[str] | None = None
    recorder: RecorderRecord | None = None
    # written as they happen
    quality_warnings: list[dict[str, Any]] | None = None  # gaze quality: {kind, message, t} (app.core.gaze_quality)
    tracker_changes: list[dict[str, Any]] | None = None  # the tracker came back as another outlet: {t, from, to, ...}
    recovery: RecoveryRecord | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object written to ``session.json``."""
        out: dict[str, Any] = _plain(self)
        if self.n_trials_done is not None and self.agreement is None:
            out["agreement"] = None  # the end of a run says there was nothing to agree on
        return out

    @classmethod
    def from_json(cls, data: object, where: str = "session.json") -> RunMetadata:
        """A record of a parsed ``session.json``; BundleError naming the key that is wrong or unknown."""
        return _build(cls, data, where)


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        keep = getattr(value, "KEEP_NONE", ())
        return {f.name: _plain(v) for f in dataclasses.fields(value)
                if (v := getattr(value, f.name)) is not None or f.name in keep}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _build(cls: type[Any], data: object, file: str, path: str = "") -> Any:
    """An instance of the record ``cls`` from the JSON object ``data`` found at ``path`` in ``file``."""
    at = f"{file}: {path}" if path else file
    if not isinstance(data, dict):
        raise BundleError(f"{at}: expected a JSON object, got {_kind(data)}")
    unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        keys = ", ".join(repr(f"{path}.{k}" if path else k) for k in unknown)
        raise BundleError(f"{file}: unknown key{'s' if len(unknown) > 1 else ''} {keys}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        key = f"{path}.{f.name}" if path else f.name
        if f.name in data:
            kwargs[f.name] = _value(hints[f.name], data[f.name], file, key)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise BundleError(f"{file}: key {key!r} missing")
    try:
        return cls(**kwargs)
    except BundleError:
        raise
    except PovLabError as exc:  # ScreenGeometry's own checks
        raise BundleError(f"{at}: {exc}") from exc


def _value(hint: Any, value: object, file: str, key: str) -> Any:
    """``value`` checked against the type ``hint`` (records and enums are built); BundleError naming ``key``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _value(inner, value, file, key)
    if hint is Any:
        return value
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value, file, key)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            raise BundleError(f"{file}: {key}: {value!r} is not one of "
                              f"{', '.join(str(m.value) for m in hint)}") from None
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise BundleError(f"{file}: {key}: expected a list, got {_kind(value)}")
        return [_value(args[0], v, file, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise BundleError(f"{file}: {key}: expected an object, got {_kind(value)}")
        return {str(k): _value(args[1], v, file, f"{key}.{k}") for k, v in value.items()}
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise BundleError(f"{file}: {key}: expected a number, got {_kind(value)}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise BundleError(f"{file}: {key}: expected an integer, got {_kind(value)}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise BundleError(f"{file}: {key}: expected a string, got {_kind(value)}")
    raise TypeError(f"run metadata: no rule for the type {hint!r} of {key}")


def _kind(value: object) -> str:
    names = {bool: "a boolean", str: "a string", list: "a list", dict: "an object", int: "an integer",
             float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__) + f" ({value!r:.40})"


def _check(record: object) -> None:
    """The field types of a record built in code, by the rules :meth:`RunMetadata.from_json` reads them with."""
    hints = typing.get_type_hints(type(record))
    for f in dataclasses.fields(record):  # type: ignore[arg-type]
        hint, value = hints[f.name], getattr(record, f.name)
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        target = inner[0] if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(inner) == 1 else hint
        if value is None and target is not hint:
            continue
        if isinstance(target, type) and (dataclasses.is_dataclass(target) or issubclass(target, enum.Enum)):
            if not isinstance(value, target):
                raise BundleError(f"run metadata: {f.name}: expected {target.__name__}, got {_kind(value)}")
        else:
            _value(target, _plain(value), "run metadata", f.name)
