"""The detection methods by name, each with its one-line description and source, and the default.

No numerical code here: the command line lists the methods (``povlab detect --method``) on every start without
loading the detectors' compiled kernels (numba takes about 0.25 s to import). The parameter classes that go with
each name are in :data:`app.detection.pipeline.METHODS`.
"""

from __future__ import annotations

METHOD_DESCRIPTIONS: dict[str, str] = {
    "nh": "adaptive velocity threshold with PSO detection (Nystrom & Holmqvist 2010)",
    "ivt": "velocity threshold (Salvucci & Goldberg 2000; Tobii I-VT defaults)",
    "idt": "dispersion threshold (Salvucci & Goldberg 2000)",
}
DEFAULT_METHOD = "nh"
