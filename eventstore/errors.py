"""Errors of the event store, each stated in one line that names what is wrong.

``InvalidEvent`` (an event the log refuses) lives with the vocabulary in ``domain.events``."""

from collections.abc import Sequence

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from runtime.settings import DATABASE_URL_SETTING


def safe_url(url: str | URL) -> str:
    """``url`` with its password hidden, fit for messages and logs."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except ArgumentError:
        # Not a URL at all: show only the part before any credentials.
        text = str(url)
        return text.split("@", 1)[-1] if "@" in text else text
    return parsed.render_as_string(hide_password=True)


class StoreUnavailable(Exception):
    """The event store cannot be reached: bad URL, server down, database missing."""

    def __init__(self, url: str | URL, reason: str) -> None:
        self.url = safe_url(url)
        self.reason = " ".join(reason.split())
        super().__init__(
            f"event store {self.url} is unavailable: {self.reason} "
            f"(check the setting {DATABASE_URL_SETTING})"
        )


class StoreRefused(ValueError):
    """The database refused what was sent (a character it cannot store, a value too long for
    its column, a broken constraint): no retry can change that, and nothing was written."""

    def __init__(self, reason: str) -> None:
        self.reason = " ".join(reason.split())[:300]
        super().__init__(f"the event store refused the data: {self.reason}; nothing was written")


class SequenceGap(ValueError):
    """New events do not continue a request's log at its next sequence."""

    def __init__(self, request_id: str, expected: int, got: Sequence[int]) -> None:
        self.request_id = request_id
        self.expected = expected
        self.got = list(got)
        super().__init__(
            f"request {request_id}: sequence gap, the log expects sequence {expected} next "
            f"but got {_ranges(self.got)}; nothing was written"
        )


class SequenceConflict(ValueError):
    """An event reuses a sequence the log already holds with different content."""

    def __init__(self, request_id: str, sequence: int, detail: str) -> None:
        self.request_id = request_id
        self.sequence = sequence
        super().__init__(
            f"request {request_id}: sequence {sequence} is already in the log with different "
            f"content ({detail}); nothing was written"
        )


def _ranges(numbers: Sequence[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``"1-3, 7"``."""
    parts: list[str] = []
    start = prev = None
    for n in sorted(set(numbers)):
        if start is None:
            start = prev = n
        elif prev is not None and n == prev + 1:
            prev = n
        else:
            parts.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = prev = n
    if start is not None:
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
    return ", ".join(parts) or "nothing"
