"""Acquisition layer: gaze from any eye tracker over LSL (pylsl, imported lazily).

- :mod:`~app.acquisition.discovery`: ``find_streams`` / ``find_gaze_stream`` -> ``StreamDescription``
  (name, type, source_id, rate, channel metadata, host, ``info`` for the recorder, ``resolved`` for inlets).
- :mod:`~app.acquisition.channels`: ``ChannelMap`` from Gaze Meta-Data, presets (tobii, pupil, eyelink)
  or ``--channels left_x=0,...``; left, right and averaged gaze in screen pixels.
- :mod:`~app.acquisition.inlet`: ``GazeAcquisition`` (worker thread, clock correction, ring buffer,
  counters, gaps, automatic recovery). Worker errors are logged and stop the stream; they are
  re-raised when ``POVLAB_RAISE_WORKER_ERRORS=1`` (the tests' conftest sets it).
- :mod:`~app.acquisition.outlets`: ``open_outlet(spec, source_id, rate)`` -> ``Outlet.push/push_chunk``.
- :mod:`~app.acquisition.sim_tracker`: ``SimulatedTracker`` (realistic gaze, follows the markers).
- :mod:`~app.acquisition.replay`: ``prepare_replay`` (any gaze file of :mod:`app.formats.gazefile`, mapped first) and ``Replayer``.
- :mod:`~app.bench.ingest`: ``povlab bench ingest``.
"""
