"""Personal data masked in every log record of a process (issue 13).

:func:`install` puts :class:`PersonalDataFilter` in front of every record the
process makes, through the log-record factory rather than on one logger or
handler: Rasa, Sanic, aiohttp and the action server configure their own loggers
and handlers after we start, and a filter on the root logger does not see
records that propagate from child loggers. A record's message is formatted once
(``msg % args``), masked (:func:`bot.core.pii.mask`, every kind), and stored
without arguments, so no handler or formatter sees the original text.

Every process installs it at start: the stack launcher, the command line and
the web app (``bot/__main__.py``), Rasa (``bot/rasa_runtime.py``) and the
action server (``actions/__init__.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot.core.pii import mask


class PersonalDataFilter(logging.Filter):
    """Masks phone numbers, emails, NI numbers, bank and card details in a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message, masked; never drops a record.

        Args:
            record: The record.

        Returns:
            True (the record is always kept).
        """
        if getattr(record, "_personal_data_masked", False):
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # A malformed format string: keep what there is, masked.
            message = f"{record.msg} {record.args}"
        record.msg = mask(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            # Tracebacks quote values too; format it now so the masked text is what's kept.
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = mask(record.exc_text)
        record._personal_data_masked = True  # noqa: SLF001 - our own marker attribute
        return True


_FILTER = PersonalDataFilter()
_installed: list[Callable[..., logging.LogRecord]] = []


def install() -> None:
    """Mask every log record this process makes from now on (idempotent)."""
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _FILTER.filter(record)
        return record

    _installed.append(previous)
    logging.setLogRecordFactory(factory)


def uninstall() -> None:
    """Restore the record factory that was there before :func:`install` (tests)."""
    if _installed:
        logging.setLogRecordFactory(_installed.pop())
