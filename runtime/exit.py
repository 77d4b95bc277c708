"""Leaving a process that used the Temporal SDK."""

import os
import sys
from typing import NoReturn


def exit_now(status: int) -> NoReturn:
    """Flushes and exits without interpreter finalization: the Temporal client's Rust threads
    can abort finalization now and then ("PyGILState_Release ... finalizing",
    temporalio/sdk-python#300), turning exit status 0 or 2 into 134."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
