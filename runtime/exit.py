"""How an entry point ends: an expected failure is one line naming what to fix and a non-zero
status, never a traceback; and leaving a process that used the Temporal SDK."""

import os
import sys
from collections.abc import Callable
from typing import NoReturn

from pydantic import ValidationError

from domain.validation import describe

FAILED = 2
"""The status of an expected failure: bad input, a setting to fix, a server to start."""

OUTCOME_UNKNOWN = 3
"""The status when no answer came in time: whether an action took effect is not known."""


def one_line(error: BaseException) -> str:
    """The error's message on one line; a validation error as ``field: problem; ...``."""
    if isinstance(error, ValidationError):
        return f"invalid input: {describe(error)}"
    return " ".join(str(error).split())


def run_main(program: str, body: Callable[[], object],
             refusals: tuple[type[Exception], ...], *, status: int = FAILED) -> int:
    """Runs ``body``; one of the ``refusals`` it raises is printed as ``program: message`` on
    stderr and ends with ``status``; anything else is a bug and keeps its traceback."""
    try:
        body()
    except refusals as error:
        print(f"{program}: {one_line(error)}", file=sys.stderr)
        return status
    return 0


def exit_now(status: int) -> NoReturn:
    """Flushes and exits without interpreter finalization: the Temporal client's Rust threads
    can abort finalization now and then ("PyGILState_Release ... finalizing",
    temporalio/sdk-python#300), turning exit status 0 or 2 into 134."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
