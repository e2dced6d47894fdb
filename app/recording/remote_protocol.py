"""LabRecorder's remote-control commands as pure functions: parse a line, update the target, name the file.

Everything here follows LabRecorder (``src/tcpinterface.cpp`` and ``src/mainwindow.cpp`` of
labstreaminglayer/App-LabRecorder), so a lab script cannot tell POV Lab from LabRecorder:

- a line is trimmed; ``start``, ``stop`` and ``update`` must match exactly; a line containing
  ``filename`` is a filename command, else one containing ``select`` and ``all`` / ``none`` selects;
  anything else is ignored (LabRecorder answers ``OK`` to every line);
- ``filename`` fields are ``{option:value}``: the option is letters, matched case-insensitively
  (``{Root:..}`` works), the value is one or more characters other than ``{}\\r\\n?*|<>"``;
  unknown options are ignored; ``{run:abc}`` is 0 (``QString::toInt``), the run spin box
  then keeps it within 1..1000; ``{template:..}`` is lowercased and switches BIDS mode off;
  ``{modality:..}`` is lowercased;
- the run counter is written with 3 digits (``run-002``, ``exp002``): ``%r`` in BIDS mode, ``%n``
  with a template (the other is left as it is, as LabRecorder does);
- BIDS mode (no template): ``sub-%p/ses-%s/%m/sub-%p_ses-%s_task-%b[_acq-%a]_run-%r_%m.xdf``
  (``_acq-%a`` only with an acquisition); defaults P001, S001, task ``Default``, modality ``eeg``.

Beyond LabRecorder: the path is resolved inside a data root (:func:`resolve_path`), and a root or a
template that leaves it, a NUL byte, an over-long name or a root that is a file is refused with a
:class:`~app.core.errors.RecordingError` (one ``ERROR`` line to the script). Backslashes count as
folder separators, so a script written on Windows (``exp%n\\%p.xdf``) names the same folders here.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from app.core.errors import RecordingError

# LabRecorder's expression in rcsUpdateFilename, case-insensitive
_FIELD = re.compile(r"\{(?P<option>[a-zA-Z]+):(?P<value>[^{}\n\r?*|<>\"]+)\}")
_INT = re.compile(r"^\s*[+-]?[0-9]+\s*$", re.ASCII)
COMMANDS = ("start", "stop", "update", "select_all", "select_none", "filename", "ignored")
BIDS_TEMPLATE = "sub-%p/ses-%s/%m/sub-%p_ses-%s_task-%b[_acq-%a]_run-%r_%m.xdf"
RUN_MIN, RUN_MAX = 1, 1000  # LabRecorder's spin_counter
NAME_MAX = 255  # bytes in one file or folder name (ext4, NTFS, APFS)
PATH_MAX = 4000  # characters in the whole path


@dataclass(frozen=True)
class Command:
    """One parsed line: its kind (one of :data:`COMMANDS`) and, for ``filename``, its fields in order."""

    kind: str
    fields: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in COMMANDS:
            raise ValueError(f"command kind {self.kind!r}: expected one of {', '.join(COMMANDS)}")


def parse_command(line: str) -> Command:
    """What LabRecorder's ``handleLine`` makes of one line (pure; never raises for any ``str``)."""
    s = line.strip()
    if s == "start":
        return Command("start")
    if s == "stop":
        return Command("stop")
    if s == "update":
        return Command("update")
    if "filename" in s:
        return Command("filename", parse_fields(s))
    if "select" in s:
        if "all" in s:
            return Command("select_all")
        if "none" in s:
            return Command("select_none")
    return Command("ignored")


def parse_fields(line: str) -> tuple[tuple[str, str], ...]:
    """The ``{option:value}`` fields of a filename command, options lowercased, in their order."""
    return tuple((m.group("option").lower(), m.group("value")) for m in _FIELD.finditer(line))


def to_int(text: str) -> int:
    """``QString::toInt``: the number, or 0 when the text is not an integer (or out of ``int`` range)."""
    if not _INT.match(text):
        return 0
    n = int(text.strip())
    return n if -(2**31) <= n < 2**31 else 0


@dataclass(frozen=True)
class RecordingTarget:
    """Where the next recording goes, as set by ``filename`` commands (fields keep their last value).

    ``root`` is relative to the data root (or an absolute path inside it); ``run`` is what the
    script sent (0 for a non-number); the file name uses it within LabRecorder's 1..1000.
    """

    root: str = ""
    template: str = ""  # empty: BIDS mode
    participant: str = "P001"
    session: str = "S001"
    task: str = "Default"
    run: int = 1
    acquisition: str = ""
    modality: str = "eeg"

    @property
    def bids(self) -> bool:
        return not self.template

    def relative_name(self) -> str:
        """The template with LabRecorder's replacements, in its order (``%b``, ``%p``, ``%s``, ``%a``, ``%m``, run)."""
        tpl = BIDS_TEMPLATE.replace("[_acq-%a]", "_acq-%a" if self.acquisition else "") if self.bids else self.template
        out = tpl.replace("\\", "/")
        for key, value in (("%b", self.task), ("%p", self.participant), ("%s", self.session),
                           ("%a", self.acquisition), ("%m", self.modality)):
            out = out.replace(key, value)
        run = min(max(self.run, RUN_MIN), RUN_MAX)
        return out.replace("%r" if self.bids else "%n", f"{run:03d}")


def apply_fields(target: RecordingTarget, fields: tuple[tuple[str, str], ...]) -> RecordingTarget:
    """LabRecorder's ``rcsUpdateFilename``: each known field in turn; unknown ones are ignored."""
    for option, value in fields:
        if option == "root":
            target = replace(target, root=value)
        elif option == "template":
            target = replace(target, template=value.lower())
        elif option == "task":
            target = replace(target, task=value)
        elif option == "run":
            target = replace(target, run=to_int(value))
        elif option in ("participant", "session", "acquisition"):
            target = replace(target, **{option: value})
        elif option == "modality":
            target = replace(target, modality=value.lower())
    return target


def _check_text(what: str, text: str) -> None:
    if "\x00" in text:
        raise RecordingError(f"remote control: {what} contains a NUL byte")
    if len(text) > PATH_MAX:
        raise RecordingError(f"remote control: {what} is {len(text)} characters long (at most {PATH_MAX})")
    for part in text.replace("\\", "/").split("/"):
        if len(part.encode("utf-8", "surrogatepass")) > NAME_MAX:
            raise RecordingError(f"remote control: {what} has a name of {len(part)} characters "
                                 f"(at most {NAME_MAX} bytes each): {part[:40]}...")


def _inside(path: Path, data_root: Path) -> bool:
    return path == data_root or data_root in path.parents


def resolve_root(root: str, data_root: Path) -> Path:
    """The folder a ``{root:..}`` names: relative to the data root, or absolute and inside it (symlinks followed)."""
    _check_text("root", root)
    base = Path(os.path.realpath(data_root))
    raw = Path(root.replace("\\", "/")) if root else Path()
    folder = Path(os.path.realpath(raw if raw.is_absolute() else base / raw))
    if not _inside(folder, base):
        raise RecordingError(f"remote control: root {root!r} is outside the data root {data_root}; refused")
    return folder


def resolve_path(target: RecordingTarget, data_root: Path) -> Path:
    """The XDF path of ``target`` inside ``data_root``, checked before anything is created or renamed."""
    folder = resolve_root(target.root, data_root)
    name = target.relative_name()
    _check_text("file name", name)
    rel = Path(name)
    if not name.strip() or rel.is_absolute() or ".." in rel.parts or not rel.name:
        raise RecordingError(f"remote control: file name {name!r} leaves the root folder or is empty")
    path = folder / rel
    base = Path(os.path.realpath(data_root))
    if not _inside(Path(os.path.realpath(path)), base):
        raise RecordingError(f"remote control: {path} leads outside the data root {data_root} (a link); refused")
    for parent in [path.parent, *path.parent.parents]:
        if parent.exists() and not parent.is_dir():
            raise RecordingError(f"remote control: {parent} is a file, not a folder")
        if parent == folder:
            break
    if path.is_dir():
        raise RecordingError(f"remote control: recording path {path} already exists and is a directory")
    return path
