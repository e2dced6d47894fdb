"""Presentation layer: the participant screen (PsychoPy, in its own process).

Import :class:`PsychoPyPresenter` from :mod:`app.presentation.presenter`; PsychoPy itself
is imported only in the child process.
"""
