"""A per-principal request budget: a fixed one-minute window per caller, answered 429 with
``Retry-After`` when spent. Per process; a deployment of N replicas allows up to N times as
much."""

import time
from collections.abc import Callable


class RateLimiter:
    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = per_minute
        self._clock = clock
        self._windows: dict[str, tuple[int, int]] = {}

    def retry_after(self, caller: str) -> int | None:
        """Counts one request of ``caller``: None when allowed, else the seconds to wait."""
        now = self._clock()
        window = int(now // 60)
        start, count = self._windows.get(caller, (window, 0))
        if start != window:
            start, count = window, 0
        if count >= self._limit:
            return max(1, int((window + 1) * 60 - now) + 1)
        self._windows[caller] = (start, count + 1)
        if len(self._windows) > 100_000:  # forget callers of past windows
            self._windows = {k: v for k, v in self._windows.items() if v[0] == window}
        return None
