"""Text as people read it, shared by the command-line timeline and the monthly report:
durations in hours and minutes (or in Chinese), and widths in display columns, where CJK
characters take two."""

import unicodedata

_MAX_CELL = 24
EMPTY = "-"


def format_duration(seconds: float | None) -> str:
    """``7500`` -> ``"2h 05m"`` (whole minutes, rounded down); ``"-"`` for no value."""
    if seconds is None:
        return EMPTY
    minutes = int(max(seconds, 0) // 60)
    return f"{minutes // 60}h {minutes % 60:02d}m"


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: CJK (wide / full-width) characters take two."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def fit_width(text: str, width: int = _MAX_CELL) -> str:
    """``text`` cut to ``width`` display columns (CJK characters take two), with an ellipsis."""
    if display_width(text) <= width:
        return text
    cut = ""
    for char in text:
        if display_width(cut + char) > width - 1:
            break
        cut += char
    return cut + "…"


def pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def duration_zh(seconds: float | None) -> str:
    """``7500`` -> ``"2小时05分"``, ``90`` -> ``"1分"`` (whole minutes, rounded down), under a
    minute ``"42秒"``; ``"-"`` for no value."""
    if seconds is None:
        return "-"
    total = max(seconds, 0.0)
    if total < 60:
        return f"{int(total)}秒"
    minutes = int(total // 60)
    hours, minutes = divmod(minutes, 60)
    if hours >= 24:
        days, hours = divmod(hours, 24)
        return f"{days}天{hours}小时{minutes:02d}分"
    return f"{hours}小时{minutes:02d}分" if hours else f"{minutes}分"
