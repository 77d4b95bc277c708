"""Input as callers send it: text the store can hold, and refusals short enough to show.

Every command and submission is plain text in the end (a PostgreSQL ``text`` column or JSON
value). NUL and the other C0 control characters (but tab, newline and carriage return), and
lone surrogates, cannot be stored or shown, so they are refused where input enters."""

import re
from typing import Any

from pydantic import BaseModel, ValidationError, field_validator

MAX_PROBLEMS = 3
"""Problems named in one refusal; the rest are counted."""

_SHOWN = 40
"""Characters of a caller's value (or field name) a refusal may quote."""

# C0 controls but tab, newline and carriage return; lone surrogates.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def unprintable(text: str) -> str | None:
    """Why ``text`` cannot be stored (its first bad character and where), or None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    char = found.group()
    kind = "lone surrogate" if "\ud800" <= char <= "\udfff" else "control character"
    return f"{kind} U+{ord(char):04X} at position {found.start()}"


class PlainTextModel(BaseModel):
    """A model whose every text field refuses what the store cannot hold."""

    @field_validator("*")
    @classmethod
    def _printable(cls, value: Any) -> Any:
        if isinstance(value, str) and (problem := unprintable(value)):
            raise ValueError(f"contains a {problem}")
        return value


def shorten(value: object, limit: int = _SHOWN) -> str:
    """``value`` as text, cut to ``limit`` characters with the full length said."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


def describe(error: ValidationError) -> str:
    """pydantic's problems as one short line naming each field and what is wrong, never the
    value sent (which may be huge): ``subject: String should have at most 200 characters``."""
    problems = error.errors(include_url=False, include_input=False, include_context=False)
    parts = []
    for problem in problems[:MAX_PROBLEMS]:
        where = ".".join(shorten(str(part)) for part in problem["loc"]) or "input"
        parts.append(f"{where}: {shorten(problem['msg'], 200)}")
    if len(problems) > MAX_PROBLEMS:
        parts.append(f"and {len(problems) - MAX_PROBLEMS} more")
    return "; ".join(parts)
