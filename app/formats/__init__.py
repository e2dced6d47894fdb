"""File formats: XDF (writer, tolerant reader, gaze stream of any LSL app), BIDS physio (writer, the one reader),
EyeLink EDF and ASC, gaze CSV, detect's output. Gaze files are read through :mod:`app.formats.gazefile`
(one reader per format, each returning :class:`app.core.recorded_gaze.RecordedGaze`); see docs/formats.md."""
