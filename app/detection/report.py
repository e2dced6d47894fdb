"""The agreement tables of docs/detection.md: ``python -m app.detection.report [--robustness] [--holdout]``.

- irf (Zemblys et al. 2018, one expert, EyeLink 1000 Hz) and Hooge et al. 2018 (12 experts, Tobii
  300 Hz) for every method, plus ``ivt45`` (a naive 45 deg/s I-VT, a baseline that is hard to beat on
  fixations);
- ``--robustness``: the irf and hooge2018 recordings thinned to lower rates and with added noise;
- ``--holdout``: the one free constant of the default (``peak_sd``, NH's 6) picked by the worst set on
  half of the files, and every set scored on the other half, to see whether picking fits the files.

Data from ``../shared/data`` beside the repository, or the folder given by ``--data DIR``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from app.detection.evaluation import CONDITIONS, CodedRecording, degrade, evaluate, load_irf
from app.detection.hooge import (
    HOOGE_CONDITIONS,
    MultiCoded,
    degrade_hooge,
    evaluate_hooge,
    holdout_halves,
    load_hooge,
    pair_kappas,
    summary,
)

#: rows of the tables: name -> (method, parameter overrides)
ROWS: dict[str, tuple[str, dict[str, Any]]] = {
    "nh": ("nh", {}),
    "ivt": ("ivt", {}),
    "ivt45": ("ivt", {"velocity_threshold_deg_s": 45.0}),
    "idt": ("idt", {}),
}
PEAK_SD_CANDIDATES = (4.0, 5.0, 6.0, 7.0, 8.0)


def _params(method: str, overrides: dict[str, Any]) -> Any:
    from app.detection.pipeline import make_params

    return make_params(method, overrides)


def _nh(peak_sd: float) -> Any:
    from app.detection.nh import NhParams
    from app.detection.thresholds import ThresholdParams

    return NhParams(thresholds=ThresholdParams(peak_sd=peak_sd, onset_sd=min(3.0, peak_sd)))


def scores(irf: list[CodedRecording], hooge: list[MultiCoded], method: str, params: Any,
           conditions: dict[str, dict[str, float]]) -> dict[str, float]:
    """Every figure the default is judged by: irf fixation/saccade, Hooge fixation (mean over coders),
    and fixation/saccade on each degraded copy of irf."""
    out = {}
    r = evaluate(irf, method, params=params)
    out["irf fixation"], out["irf saccade"] = r["fixation_pooled"], r["saccade_pooled"]
    out["hooge2018 fixation"] = evaluate_hooge(hooge, method, params=params)["all_mean"]
    for name, kw in conditions.items():
        r = evaluate([degrade(x, **kw) for x in irf], method, params=params)  # type: ignore[arg-type]
        out[f"{name} fixation"], out[f"{name} saccade"] = r["fixation_pooled"], r["saccade_pooled"]
    return out


def _agreement(irf: list[CodedRecording], hooge: list[MultiCoded]) -> None:
    print("| method | irf fixation (pooled / mean / worst file) | irf saccade (pooled / mean / worst) | irf PSO "
          "| hooge2018 fixation, mean over 12 coders (min-max) | adults | infants |")
    print("|---|---|---|---|---|---|---|")
    for row, (method, over) in ROWS.items():
        p = _params(method, over)
        r = evaluate(irf, method, params=p)
        h = evaluate_hooge(hooge, method, params=p)
        print(f"| {row} | {r['fixation_pooled']:.3f} / {r['fixation_mean']:.3f} / {r['fixation_min']:.3f} "
              f"| {r['saccade_pooled']:.3f} / {r['saccade_mean']:.3f} / {r['saccade_min']:.3f} | {r['pso_pooled']:.3f} "
              f"| {h['all_mean']:.3f} ({h['all_min']:.3f}-{h['all_max']:.3f}) "
              f"| {h['adult_mean']:.3f} ({h['adult_min']:.3f}-{h['adult_max']:.3f}) "
              f"| {h['infant_mean']:.3f} ({h['infant_min']:.3f}-{h['infant_max']:.3f}) |")
    cells = []
    for group in ("all", "adult", "infant"):
        recs = hooge if group == "all" else [r for r in hooge if r.group == group]
        s = summary(pair_kappas(recs))
        cells.append(f"{s['mean']:.3f} ({s['min']:.3f}-{s['max']:.3f})")
    print(f"| coder vs coder (66 pairs) | | | | {cells[0]} | {cells[1]} | {cells[2]} |")


def _hooge_robustness(hooge: list[MultiCoded]) -> None:
    print("| hooge2018 condition | " + " | ".join(f"{m} fixation (adults / infants)" for m in ROWS) + " |")
    print("|---|" + "---|" * len(ROWS))
    for name, kw in HOOGE_CONDITIONS.items():
        worse = [r for r in (degrade_hooge(x, **kw) for x in hooge) if len(r.block) >= 10]  # type: ignore[arg-type]
        cells = []
        for method, over in ROWS.values():
            h = evaluate_hooge(worse, method, params=_params(method, over))
            cells.append(f"{h['all_mean']:.3f} ({h['adult_mean']:.3f} / {h['infant_mean']:.3f})")
        print(f"| {name} | " + " | ".join(cells) + " |")


def _robustness(irf: list[CodedRecording]) -> None:
    print("| condition | " + " | ".join(f"{m} fixation / saccade" for m in ROWS) + " |")
    print("|---|" + "---|" * len(ROWS))
    for name, kw in CONDITIONS.items():
        worse = [degrade(r, **kw) for r in irf]  # type: ignore[arg-type]
        cells = []
        for method, over in ROWS.values():
            r = evaluate(worse, method, params=_params(method, over))
            cells.append(f"{r['fixation_pooled']:.3f} / {r['saccade_pooled']:.3f}")
        print(f"| {name} | " + " | ".join(cells) + " |")


def _holdout(irf: list[CodedRecording], hooge: list[MultiCoded]) -> None:
    conditions = {k: CONDITIONS[k] for k in ("250 Hz + 0.3 deg noise", "62.5 Hz", "125 Hz", "1000 Hz + 0.1 deg noise")}
    h_a, h_b = holdout_halves(hooge)
    halves = {"A": (irf[0::2], h_a), "B": (irf[1::2], h_b)}
    for pick, score in (("A", "B"), ("B", "A")):
        worst = {}
        for sd in PEAK_SD_CANDIDATES:
            s = scores(*halves[pick], "nh", _nh(sd), conditions)
            worst[sd] = min(s.values())
            print(f"pick on {pick}: peak_sd {sd}: worst set {worst[sd]:.3f} "
                  f"({min(s, key=lambda k: s[k])})")
        best = max(worst, key=lambda k: worst[k])
        for sd in sorted({best, 6.0}):
            s = scores(*halves[score], "nh", _nh(sd), conditions)
            print(f"  scored on {score} with peak_sd {sd}: " + ", ".join(f"{k} {v:.3f}" for k, v in s.items()))


def main(argv: list[str]) -> int:
    data = Path(__file__).resolve().parents[3] / "shared/data"
    if "--data" in argv:
        data = Path(argv[argv.index("--data") + 1])
    irf = load_irf(data / "irf_lookatpoint")
    hooge = load_hooge(data / "hooge2018")
    np.seterr(all="ignore")
    if "--robustness" in argv:
        _robustness(irf)
        print()
        _hooge_robustness(hooge)
    elif "--holdout" in argv:
        _holdout(irf, hooge)
    else:
        _agreement(irf, hooge)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
