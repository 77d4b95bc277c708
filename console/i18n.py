"""Message catalogs and locale formatting. The ``.po`` catalogs under locale/ are the source;
they are compiled in memory when the console starts (Babel's own compiler), so no build step
and no compiled binary in the repository. zh_CN is the default, English is selectable."""

import io
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.core import Locale
from babel.dates import format_datetime, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from fastapi import Request

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
DEFAULT_TIMEZONE = "Asia/Shanghai"
LOCALE_COOKIE = "caseflow_locale"
TIMEZONE_COOKIE = "caseflow_tz"
_LOCALE_DIR = Path(__file__).parent / "locale"


@cache
def translations(locale: str) -> Translations:
    with (_LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


def locale_of(request: Request) -> str:
    chosen = request.cookies.get(LOCALE_COOKIE)
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


def timezone_of(request: Request) -> ZoneInfo:
    """The viewer's zone, as their browser reported it (a cookie the page script sets)."""
    try:
        return ZoneInfo(request.cookies.get(TIMEZONE_COOKIE) or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


class Formatter:
    """Dates and durations for one viewer: their locale and their time zone."""

    def __init__(self, locale: str, zone: ZoneInfo) -> None:
        self.locale = locale
        self.zone = zone
        self._babel = Locale.parse(locale)

    def when(self, at: datetime | None, zone: str | None = None) -> str:
        if at is None:
            return "-"
        target = ZoneInfo(zone) if zone else self.zone
        return format_datetime(at.astimezone(target), "medium", locale=self._babel)

    def duration(self, seconds: float) -> str:
        """A duration such as "2 小时" or "-35 分钟" (negative: past a deadline)."""
        sign = "-" if seconds < 0 else ""
        text = format_timedelta(timedelta(seconds=abs(seconds)), threshold=1.5,
                                granularity="minute", locale=self._babel)
        return sign + text

    def now(self) -> datetime:
        return datetime.now(UTC)
