"""Keep the log output of file libraries (pyxdf, ...) off the user's terminal while a file is read.

pyxdf logs a traceback for every chunk it cannot read; left alone, Python's last-resort handler
prints it on stderr before POV Lab's own one-line error. :func:`captured_logs` routes the named
loggers into a list for the duration of a read: the reader may quote the last message in its
error, and the debug log of the application still receives everything.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except (TypeError, ValueError):
            text = str(record.msg)
        if record.levelno >= logging.WARNING:
            self.messages.append((record.levelno, text.splitlines()[0] if text else record.levelname))
        log.debug("%s: %s", record.name, text)


@contextmanager
def captured_logs(*names: str) -> Iterator[list[tuple[int, str]]]:
    """Within the block, records of the named loggers (and their children) go to the yielded list only.

    The list holds ``(level, first line of the message)`` of every warning and error.
    """
    handler = _Collect()
    saved = []
    for name in names:
        logger = logging.getLogger(name)
        saved.append((logger, logger.handlers[:], logger.propagate))
        logger.handlers = [handler]
        logger.propagate = False
    try:
        yield handler.messages
    finally:
        for logger, handlers, propagate in saved:
            logger.handlers = handlers
            logger.propagate = propagate
