"""Writing AOIs back into a protocol's TOML file without disturbing the rest of it (tomlkit).

Only the ``aois`` arrays of trials whose regions changed are rewritten; every comment, blank line,
key order and the other trials stay byte for byte as the user wrote them. The new file is checked
with :func:`app.core.protocol.load_protocol` before it replaces the old one (atomically), so a save
can never leave a protocol that POV Lab would refuse.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from app.core.aoi_editing import AoiDocument, EditableAoi, TrialAois
from app.core.errors import ProtocolError
from app.core.protocol import load_protocol

BOM = "\ufeff"


def _number(v: float) -> int | float:
    v = round(float(v), 1)
    return int(v) if v.is_integer() else v


def _as_toml(aoi: EditableAoi) -> Any:
    import tomlkit

    item = tomlkit.inline_table()
    item["label"] = aoi.label
    if aoi.kind == "box":
        (x0, y0), (x1, y1) = aoi.points
        item["box"] = [_number(v) for v in (x0, y0, x1, y1)]
    else:
        item["polygon"] = [[_number(x), _number(y)] for x, y in aoi.points]
    return item


def _same(raw: Any, aois: list[EditableAoi]) -> bool:
    """Whether the file's ``aois`` array already says exactly this (then it is left untouched)."""
    if not isinstance(raw, list) or len(raw) != len(aois):
        return False
    return all(dict(_as_toml(a)) == {k: v for k, v in dict(r).items()} for r, a in zip(raw, aois, strict=True))


def _trial_table(doc: Any, trial: TrialAois, path: Path) -> Any:
    tables = doc.get(trial.table)
    if tables is None or trial.index >= len(tables) or tables[trial.index].get("id") != trial.trial_id:
        raise ProtocolError(f"{path}: [[{trial.table}]] number {trial.index + 1} is no longer trial "
                            f"{trial.trial_id!r} (the file changed on disk since it was opened); reopen it")
    return tables[trial.index]


def save_aois(document: AoiDocument, path: Path | None = None) -> Path:
    """Write the document's AOIs into its protocol file (or ``path``); returns the file written."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    source = document.path
    target = Path(path) if path is not None else source
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"{source}: cannot read the protocol to save into it ({exc})") from exc
    bom = text.startswith(BOM)
    try:
        doc = tomlkit.parse(text.removeprefix(BOM))
    except TOMLKitError as exc:
        raise ProtocolError(f"{source}: not valid TOML any more ({exc}); nothing saved") from exc
    for trial in document.trials:
        table = _trial_table(doc, trial, source)
        if _same(table.get("aois"), trial.aois):
            continue
        array = tomlkit.array()
        for aoi in trial.aois:
            array.append(_as_toml(aoi))
        array.multiline(True)
        table["aois"] = array
    out = (BOM if bom else "") + tomlkit.dumps(doc)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(out)
            f.flush()
            os.fsync(f.fileno())
        load_protocol(tmp)  # relative image paths resolve from the same folder as the target
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    if target == source:
        document.saved()
    return target
