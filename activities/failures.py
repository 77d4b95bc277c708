"""How an activity fails: as one short line that Temporal can carry and operators can read.

An exception's chained causes (the driver's tracebacks) travel with a failure and can exceed
Temporal's failure size ("Failure exceeds size limit"), hiding the reason; the store's errors
therefore leave an activity as an ApplicationError without a cause, retryable only when a retry
can help, and the worker logs each failed attempt on one line."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError

from domain.events import InvalidEvent
from eventstore.engine import classify
from eventstore.errors import SequenceConflict, SequenceGap, StoreRefused, StoreUnavailable

STORE_UNAVAILABLE = "StoreUnavailable"


@contextmanager
def store_failures(engine: AsyncEngine) -> Iterator[None]:
    """Turns the store's errors raised in the block into one-line ApplicationErrors: an outage
    is retried, a refusal of the data (or an invalid, gapped or conflicting event) is not."""
    try:
        yield
    except DBAPIError as error:  # raised by a query past the store's own classification
        raise _failure(classify(engine, error)) from None
    except (InvalidEvent, SequenceGap, SequenceConflict, StoreRefused,
            StoreUnavailable) as error:
        raise _failure(error) from None


def _failure(error: Exception) -> ApplicationError:
    if isinstance(error, StoreUnavailable):
        return ApplicationError(str(error), type=STORE_UNAVAILABLE)
    return ApplicationError(str(error), type=type(error).__name__, non_retryable=True)


class OneLineActivityFailures(logging.Filter):
    """Logs a failed activity attempt that raised an ApplicationError (a failure the activity
    states on purpose) as one line with its type and message, without the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, ApplicationError):
            record.msg = f"{record.msg}: {error.type}: {error.message}"
            record.exc_info = None
            record.exc_text = None
        return True


ONE_LINE_FAILURES = OneLineActivityFailures()
ACTIVITY_LOGGER = "temporalio.activity"
