"""Inline SVG charts for the report page: no script, nothing fetched, every text escaped."""

import html
from collections.abc import Callable, Sequence

from presentation.text import display_width, fit_width


def escape(text: object) -> str:
    return html.escape(str(text), quote=True)


_CHAR_PX = 7  # one display column at font-size 12


def svg_bar_chart(bars: Sequence[tuple[str, float]], *, title: str,
                  value_label: Callable[[float], str] = lambda v: f"{v:g}",
                  max_value: float | None = None, width: int = 640,
                  bar_height: int = 20) -> str:
    """A horizontal bar chart as an inline ``<svg>`` element: one bar per ``(label, value)``,
    labels and title escaped (and cut to fit), each bar with a tooltip."""
    label_columns = min(max((display_width(label) for label, _ in bars), default=4), 28)
    label_px = label_columns * _CHAR_PX + 12
    value_px = 80
    plot_px = max(width - label_px - value_px, 40)
    top = 28
    height = top + max(len(bars), 1) * (bar_height + 6) + 6
    scale = max_value if max_value is not None else max((v for _, v in bars), default=0.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" class="chart-title">{escape(fit_width(title, 80))}</text>',
    ]
    if not bars:
        parts.append(f'<text x="0" y="{top + 14}" class="chart-empty">无数据</text>')
    for index, (label, value) in enumerate(bars):
        y = top + index * (bar_height + 6)
        length = 0.0 if scale <= 0 else max(value, 0.0) / scale * plot_px
        shown = value_label(value)
        parts += [
            f'<text x="{label_px - 6}" y="{y + bar_height - 6}" text-anchor="end" '
            f'class="chart-label">{escape(fit_width(label, label_columns))}</text>',
            f'<rect x="{label_px}" y="{y}" width="{length:.1f}" height="{bar_height}" '
            f'class="chart-bar"><title>{escape(label)}: {escape(shown)}</title></rect>',
            f'<text x="{label_px + length + 4:.1f}" y="{y + bar_height - 6}" '
            f'class="chart-value">{escape(shown)}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def svg_column_chart(columns: Sequence[tuple[str, float]], *, title: str,
                     width: int = 720, height: int = 220) -> str:
    """A vertical column chart as an inline ``<svg>`` (one column per ``(label, value)``, e.g.
    per day), labels and title escaped."""
    top, bottom, left = 28, 30, 32
    plot_h = height - top - bottom
    count = max(len(columns), 1)
    slot = (width - left) / count
    peak = max((v for _, v in columns), default=0.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" class="chart-title">{escape(fit_width(title, 90))}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width}" y2="{top + plot_h}" '
        'class="chart-axis"/>',
        f'<text x="{left - 4}" y="{top + 10}" text-anchor="end" class="chart-value">'
        f"{escape(f'{peak:g}')}</text>",
    ]
    for index, (label, value) in enumerate(columns):
        h = 0.0 if peak <= 0 else max(value, 0.0) / peak * plot_h
        x = left + index * slot
        parts.append(
            f'<rect x="{x + slot * 0.15:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{h:.1f}" class="chart-bar">'
            f"<title>{escape(label)}: {escape(f'{value:g}')}</title></rect>"
        )
        if len(columns) <= 16 or index % 2 == 0:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{height - 12}" text-anchor="middle" '
                f'class="chart-tick">{escape(fit_width(label, 6))}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
