"""Plain-text tables for the terminal: CJK characters take two columns, long cells are cut."""

from collections.abc import Sequence

from presentation.text import display_width, fit_width

_MAX_CELL = 40  # a request id (a UUID) fits


def _pad(text: str, width: int, right: bool) -> str:
    space = " " * (width - display_width(text))
    return space + text if right else text + space


def _numeric(text: str) -> bool:
    return bool(text) and text.lstrip("+-").replace(".", "", 1).rstrip("%").isdigit()


def format_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """``title``, then the table with numbers right-aligned; "(none)" when there are no rows."""
    if not rows:
        return f"{title}\n(none)\n"
    cells = [[fit_width(cell, _MAX_CELL) for cell in row] for row in (header, *rows)]
    widths = [max(display_width(row[i]) for row in cells) for i in range(len(header))]
    right = [all(_numeric(row[i]) for row in cells[1:]) for i in range(len(header))]
    lines = ["  ".join(_pad(cell, widths[i], right[i]) for i, cell in enumerate(row)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join([title, *lines]) + "\n"


def percent(ratio: float) -> str:
    return f"{100 * ratio:.1f}%"
