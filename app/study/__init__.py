"""A study: a lab's own stimuli turned into a protocol, a folder of sessions for it, and reports on them.

- :mod:`app.study.authoring`: ``povlab protocol new`` (images + captions CSV -> protocol TOML, via tomlkit)
- :mod:`app.study.check`: ``povlab protocol check`` (what a session's preparation checks, without tracker or display)
- :mod:`app.study.status`: ``povlab study status`` (participants, sessions, quality, model agreement)
- :mod:`app.study.aoi_report` and :mod:`app.study.report`: ``povlab report`` (per-AOI metrics, per-trial table)
"""
