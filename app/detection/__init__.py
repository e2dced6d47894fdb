"""Gaze event detection (numpy and numba): fixations, saccades, post-saccadic oscillations, blinks.

Modules, from samples to events:

- :mod:`~app.detection.velocity`: degrees, the smoothing differentiator, validity of samples;
- :mod:`~app.detection.ivt`, :mod:`~app.detection.idt`, :mod:`~app.detection.nh`: the detectors
  (Salvucci & Goldberg 2000; Nystrom & Holmqvist 2010), each a plain function over arrays;
- :mod:`~app.detection.speed`: the compiled passes from samples to speed (checks, gap fill-in, differentiator);
- :mod:`~app.detection.segments`: runs of labels -> events with the Tobii-style post-processing (compiled in
  :mod:`~app.detection.assembly`, state carried between chunks);
- :mod:`~app.detection.pipeline`: ``detect(block, geometry, method)`` for a whole recording;
- :mod:`~app.detection.online`: ``OnlineDetector(geometry, rate_hz, method).feed(block)`` for
  live chunks, giving the same events as ``detect`` (I-VT, I-DT);
- :mod:`~app.formats.gazefile`: CSV / BIDS physio input, EVENTS.tsv / SAMPLES.tsv output;
- :mod:`~app.detection.evaluation`: kappa against expert-coded recordings;
- :mod:`~app.bench.detect`: ``povlab bench detect``.

Events themselves (:class:`app.core.gaze_events.GazeEvent`), AOI mapping (:mod:`app.core.aoi`) and
data quality (:mod:`app.core.quality`) live in the core. Figures: ``docs/detection.md``.
"""
