"""How well POV Lab's fixations agree with the tracker's own online parser (EyeLink's EFIX events).

Each recorded eye is detected on its own with :func:`app.detection.pipeline.detect` and
compared with the tracker's fixations of that eye sample by sample: a sample is "fixation" for
the tracker when its time lies within an EFIX event's first and last sample (half a sample of
tolerance). Agreement is Cohen's kappa of the two binary codings over every sample of the eye,
lost samples included (both codings call them non-fixation unless a fixation spans them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.core.errors import GazeDataError
from app.core.gaze import GazeBlock
from app.core.gaze_events import LABEL_CODES, cohen_kappa
from app.core.geometry import ScreenGeometry
from app.core.recorded_gaze import VendorEvent


@dataclass(frozen=True)
class EyeAgreement:
    eye: str
    n_samples: int
    ours: int  # fixations found by POV Lab
    theirs: int  # fixations of the tracker's parser
    kappa: float  # sample-level Cohen's kappa, fixation vs not
    table: tuple[int, int, int, int] = (0, 0, 0, 0)  # samples: both fixation, ours only, theirs only, neither

    def line(self, vendor: str = "EyeLink") -> str:
        return (f"{vendor} parser agreement, {self.eye} eye: fixation kappa {self.kappa:.3f} over "
                f"{self.n_samples} samples ({self.ours} fixations here, {self.theirs} in the file)")


def vendor_mask(t: NDArray[np.float64], events: Iterable[VendorEvent], kind: str, eye: str) -> NDArray[np.bool_]:
    """True for the samples that lie within the tracker's events of that kind and eye."""
    mask = np.zeros(len(t), dtype=bool)
    half = 0.5 * float(np.median(np.diff(t))) if len(t) > 1 else 0.0
    for e in events:
        if e.kind == kind and e.eye == eye:
            i0, i1 = np.searchsorted(t, [e.onset - half, e.last + half], side="left")
            mask[i0:i1] = True
    return mask


def fixation_agreement(eyes: Mapping[str, GazeBlock], events: Iterable[VendorEvent], geometry: ScreenGeometry,
                       method: str | None = None, rate_hz: float | None = None) -> list[EyeAgreement]:
    """Kappa per eye that has both samples and tracker fixations (default detector unless ``method``)."""
    from app.detection.pipeline import DEFAULT_METHOD, detect

    events = list(events)
    out = []
    for eye, block in eyes.items():
        theirs = vendor_mask(block.t, events, "fixation", eye)
        n_theirs = sum(1 for e in events if e.kind == "fixation" and e.eye == eye)
        if n_theirs == 0 or not block.valid.any():
            continue
        try:
            result = detect(block, geometry, method=method or DEFAULT_METHOD, rate_hz=rate_hz)
        except GazeDataError:
            continue
        ours = result.labels == LABEL_CODES["fixation"]
        table = (int(np.sum(ours & theirs)), int(np.sum(ours & ~theirs)), int(np.sum(~ours & theirs)),
                 int(np.sum(~ours & ~theirs)))
        out.append(EyeAgreement(eye, len(block), len(result.fixations), n_theirs, cohen_kappa(ours, theirs), table))
    return out


def pooled_kappa(agreements: Iterable[EyeAgreement]) -> float:
    """Cohen's kappa over the samples of every eye and file together (their 2x2 tables summed)."""
    both, ours, theirs, neither = (sum(col) for col in zip(*(a.table for a in agreements), strict=True))
    n = both + ours + theirs + neither
    if n == 0:
        raise GazeDataError("kappa: no samples to pool")
    po = (both + neither) / n
    pa, pb = (both + ours) / n, (both + theirs) / n
    pe = pa * pb + (1 - pa) * (1 - pb)
    return 1.0 if pe == 1.0 else (po - pe) / (1 - pe)
