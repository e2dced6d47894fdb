"""The AOI editor: step through a protocol's images and draw, move, resize, label and delete its regions.

Gestures on the canvas (image pixels under the mouse, whatever the widget's size):
- Select tool: click a region to select it; drag it to move it; drag one of its corner handles to
  resize a box or move a polygon's vertex. Delete/Backspace removes the selection.
- Box tool: press, drag, release.
- Polygon tool: click each vertex; double-click, Enter, or a click on the first vertex closes it
  (three vertices at least); Escape drops it.
Ctrl+Z undoes (one drag is one step). The label field renames the selected region. "Save" writes the
AOIs back into the protocol file, keeping the rest of it (the entry layer supplies the writer).

The widget keeps no state of its own beyond the gesture in progress: the regions live in the
:class:`~app.core.aoi_editing.AoiDocument`, which tells the page when they changed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeyEvent, QKeySequence, QMouseEvent, QPainter, QPaintEvent, QPen, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.core.aoi_editing import AoiDocument, EditableAoi
from app.core.errors import PovLabError

HANDLE_PX = 7.0  # how close (widget pixels) a press must be to a vertex to grab it
MIN_BOX_PX = 3.0  # smaller drags (image pixels) are clicks, not boxes
NEW_LABEL = "object"


class AoiCanvas(QWidget):
    """Draws one trial's image and regions and turns mouse gestures into document operations."""

    selection_changed = Signal(int)  # index of the selected region, -1 for none

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(480, 320)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.document: AoiDocument | None = None
        self.trial = 0
        self.image: QImage | None = None
        self.tool = "select"
        self.selected = -1
        self._drag: tuple[str, int, QPointF] | None = None  # (move|vertex|box, vertex index, start in image px)
        self._drag_steps = 0
        self._rubber: QPointF | None = None
        self._polygon: list[tuple[float, float]] = []

    # -- what is shown ---------------------------------------------------------------------------
    def show_trial(self, document: AoiDocument, trial: int, image: QImage | None) -> None:
        self.document, self.trial, self.image = document, trial, image
        self._polygon, self._drag, self._rubber = [], None, None
        self.select(-1)
        self.update()

    def select(self, index: int) -> None:
        self.selected = index
        self.selection_changed.emit(index)
        self.update()

    def set_tool(self, tool: str) -> None:
        self.tool, self._polygon = tool, []
        self.update()

    # -- coordinates -------------------------------------------------------------------------------
    def image_rect(self) -> QRectF:
        """Where the image is drawn: as large as fits, centred, aspect kept."""
        if self.document is None:
            return QRectF()
        w, h = self.document.trials[self.trial].image_size
        scale = min((self.width() - 20) / w, (self.height() - 20) / h)
        return QRectF((self.width() - w * scale) / 2, (self.height() - h * scale) / 2, w * scale, h * scale)

    def _scale(self) -> float:
        assert self.document is not None
        return self.image_rect().width() / self.document.trials[self.trial].image_size[0]

    def to_image(self, p: QPointF) -> QPointF:
        r, s = self.image_rect(), self._scale()
        return QPointF((p.x() - r.x()) / s, (p.y() - r.y()) / s)

    def to_widget(self, x: float, y: float) -> QPointF:
        r, s = self.image_rect(), self._scale()
        return QPointF(r.x() + x * s, r.y() + y * s)

    def _aois(self) -> list[EditableAoi]:
        return self.document.trials[self.trial].aois if self.document is not None else []

    def _size(self) -> tuple[int, int]:
        assert self.document is not None
        return self.document.trials[self.trial].image_size

    def _vertex_at(self, pos: QPointF) -> int | None:
        if not 0 <= self.selected < len(self._aois()):
            return None
        for i, (x, y) in enumerate(self._aois()[self.selected].vertices):
            q = self.to_widget(x, y)
            if abs(q.x() - pos.x()) <= HANDLE_PX and abs(q.y() - pos.y()) <= HANDLE_PX:
                return i
        return None

    # -- mouse and keys ----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if self.document is None or event.button() != Qt.MouseButton.LeftButton:
            return
        self.setFocus()
        pos, at = event.position(), self.to_image(event.position())
        if self.tool == "box":
            self._drag, self._rubber = ("box", -1, at), at
        elif self.tool == "polygon":
            self._polygon_click(pos, at)
        else:
            vertex = self._vertex_at(pos)
            if vertex is not None:
                self._drag = ("vertex", vertex, at)
            else:
                hit = self.document.hit(self.trial, at.x(), at.y())
                self.select(-1 if hit is None else hit)
                self._drag = ("move", -1, at) if hit is not None else None
        self._drag_steps = 0
        self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        # the gesture in progress is ours to track: a synthetic move may not carry the held buttons
        if self.document is None or self._drag is None:
            return
        kind, vertex, start = self._drag
        at = self.to_image(event.position())
        if kind == "box":
            self._rubber = at
        elif 0 <= self.selected < len(self._aois()):
            aoi = self._aois()[self.selected]
            if kind == "move":
                moved = aoi.moved(at.x() - start.x(), at.y() - start.y(), self._size())
                self._drag = ("move", -1, at)
            else:
                moved = aoi.with_vertex(vertex, at.x(), at.y(), self._size())
            self.document.set(self.trial, self.selected, moved, merge=self._drag_steps > 0)
            self._drag_steps += 1
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if self.document is None or self._drag is None or event.button() != Qt.MouseButton.LeftButton:
            return
        kind, _, start = self._drag
        self._drag = None
        if kind == "box":
            end = self.to_image(event.position())
            self._rubber = None
            x0, x1 = sorted((start.x(), end.x()))
            y0, y1 = sorted((start.y(), end.y()))
            if x1 - x0 >= MIN_BOX_PX and y1 - y0 >= MIN_BOX_PX:
                aoi = EditableAoi(NEW_LABEL, "box", ((x0, y0), (x1, y1)))
                self.select(self.document.add(self.trial, aoi))
        self.update()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if self.tool == "polygon":
            self._close_polygon()

    def _polygon_click(self, pos: QPointF, at: QPointF) -> None:
        if len(self._polygon) >= 3:
            first = self.to_widget(*self._polygon[0])
            if abs(first.x() - pos.x()) <= HANDLE_PX and abs(first.y() - pos.y()) <= HANDLE_PX:
                self._close_polygon()
                return
        w, h = self._size()
        if 0 <= at.x() <= w and 0 <= at.y() <= h:
            self._polygon.append((at.x(), at.y()))

    def _close_polygon(self) -> None:
        points = list(dict.fromkeys(self._polygon))  # a double-click repeats its last point
        self._polygon = []
        if self.document is not None and len(points) >= 3:
            self.select(self.document.add(self.trial, EditableAoi(NEW_LABEL, "polygon", tuple(points))))
        self.update()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.tool == "polygon":
            self._close_polygon()
        elif key == Qt.Key.Key_Escape:
            self._polygon = []
            self.select(-1)
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_selected()
        else:
            super().keyPressEvent(event)

    def delete_selected(self) -> None:
        if self.document is not None and 0 <= self.selected < len(self._aois()):
            index = self.selected
            self.select(-1)
            self.document.remove(self.trial, index)

    # -- drawing ------------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("#303030"))
        if self.document is None:
            return
        r = self.image_rect()
        if self.image is not None:
            p.drawImage(r, self.image)
        else:
            p.fillRect(r, QColor("#555555"))
            p.setPen(QColor("#ffffff"))
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, "image not readable")
        for i, aoi in enumerate(self._aois()):
            selected = i == self.selected
            p.setPen(QPen(QColor("#ffd000" if selected else "#00e0ff"), 3 if selected else 2))
            outline = [self.to_widget(x, y) for x, y in aoi.vertices]
            p.drawPolygon(outline)
            p.drawText(outline[0] + QPointF(4, 14), aoi.label)
            if selected:
                p.setBrush(QColor("#ffd000"))
                for q in outline:
                    p.drawRect(QRectF(q.x() - 4, q.y() - 4, 8, 8))
                p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(QColor("#ff60ff"), 2, Qt.PenStyle.DashLine))
        if self._rubber is not None and self._drag is not None:
            a, b = self.to_widget(self._drag[2].x(), self._drag[2].y()), self.to_widget(self._rubber.x(), self._rubber.y())
            p.drawRect(QRectF(a, b).normalized())
        if self._polygon:
            p.drawPolyline([self.to_widget(x, y) for x, y in self._polygon])


class AoiEditorPage(QWidget):
    """Toolbar (trial stepping, tools, label, delete, undo, save, back) over the canvas."""

    back_requested = Signal()

    def __init__(self, images: Callable[[Path], QImage | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.images = images
        self.save: Callable[[AoiDocument], Path] | None = None  # set by the window from its backend
        self.document: AoiDocument | None = None
        self.trial = 0
        self.canvas = AoiCanvas()
        self.prev_button, self.next_button = QPushButton("◀ Previous"), QPushButton("Next ▶")
        self.trial_label = QLabel()
        self.tools = QButtonGroup(self)
        tool_row = QHBoxLayout()
        for name, text in (("select", "Select / move"), ("box", "Box"), ("polygon", "Polygon")):
            button = QRadioButton(text)
            button.setObjectName(f"tool_{name}")
            button.toggled.connect(lambda on, n=name: on and self.canvas.set_tool(n))
            self.tools.addButton(button)
            tool_row.addWidget(button)
            setattr(self, f"{name}_tool", button)
        self.select_tool.setChecked(True)
        self.label_edit = QLineEdit()
        self.label_edit.setPlaceholderText("label of the selected region")
        self.label_edit.setEnabled(False)
        self.delete_button, self.undo_button = QPushButton("Delete"), QPushButton("Undo")
        self.save_button, self.back_button = QPushButton("Save"), QPushButton("Back")
        self.status = QLabel()
        self.status.setWordWrap(True)

        top = QHBoxLayout()
        for w in (self.prev_button, self.trial_label, self.next_button):
            top.addWidget(w)
        top.addStretch(1)
        top.addLayout(tool_row)
        edit = QHBoxLayout()
        edit.addWidget(QLabel("Label:"))
        for w in (self.label_edit, self.delete_button, self.undo_button, self.save_button, self.back_button):
            edit.addWidget(w)
        outer = QVBoxLayout(self)
        outer.addLayout(top)
        outer.addWidget(self.canvas, 1)
        outer.addLayout(edit)
        outer.addWidget(self.status)

        self.prev_button.clicked.connect(lambda: self.show_trial(self.trial - 1))
        self.next_button.clicked.connect(lambda: self.show_trial(self.trial + 1))
        self.delete_button.clicked.connect(self.canvas.delete_selected)
        self.undo_button.clicked.connect(self.undo)
        self.save_button.clicked.connect(self.save_document)
        self.back_button.clicked.connect(self.back_requested.emit)
        self.label_edit.editingFinished.connect(self._relabel)
        self.canvas.selection_changed.connect(self._selection_changed)
        QShortcut(QKeySequence.StandardKey.Undo, self, activated=self.undo)
        QShortcut(QKeySequence.StandardKey.Save, self, activated=self.save_document)

    def open(self, document: AoiDocument) -> None:
        if self.document is not None and self._changed in self.document.listeners:
            self.document.listeners.remove(self._changed)
        self.document = document
        document.listeners.append(self._changed)
        self.show_trial(0)
        self.status.setText(f"{document.path}: {len(document.trials)} images")

    def show_trial(self, trial: int) -> None:
        if self.document is None:
            return
        self.trial = max(0, min(trial, len(self.document.trials) - 1))
        t = self.document.trials[self.trial]
        self.canvas.show_trial(self.document, self.trial, self.images(t.image))
        self._refresh()

    def undo(self) -> None:
        if self.document is None:
            return
        trial = self.document.undo()
        if trial is not None and trial != self.trial:
            self.show_trial(trial)
        self.canvas.select(-1)

    def save_document(self) -> None:
        if self.document is None or self.save is None:
            self.status.setText("saving is not available in this installation")
            return
        try:
            path = self.save(self.document)
        except PovLabError as exc:
            self.status.setText(f"not saved: {exc}")
            return
        self.status.setText(f"saved {path}")
        self._refresh()

    def _relabel(self) -> None:
        index = self.canvas.selected
        if self.document is None or not 0 <= index < len(self.document.trials[self.trial].aois):
            return
        try:
            self.document.relabel(self.trial, index, self.label_edit.text())
        except PovLabError as exc:
            self.status.setText(str(exc))
            self.label_edit.setText(self.document.trials[self.trial].aois[index].label)

    def _selection_changed(self, index: int) -> None:
        aois = self.document.trials[self.trial].aois if self.document is not None else []
        ok = 0 <= index < len(aois)
        self.label_edit.setEnabled(ok)
        self.delete_button.setEnabled(ok)
        self.label_edit.setText(aois[index].label if ok else "")

    def _changed(self, trial: int) -> None:
        if trial == self.trial:
            self.canvas.update()
        self._refresh()

    def _refresh(self) -> None:
        if self.document is None:
            return
        t = self.document.trials[self.trial]
        kind = "practice" if t.table == "practice" else "trial"
        flag = " — unsaved changes" if self.document.dirty else ""
        self.trial_label.setText(f"{self.trial + 1}/{len(self.document.trials)}  {kind} {t.trial_id}: "
                                 f"{len(t.aois)} regions{flag}")
        self.prev_button.setEnabled(self.trial > 0)
        self.next_button.setEnabled(self.trial < len(self.document.trials) - 1)
        self.undo_button.setEnabled(self.document.can_undo)
