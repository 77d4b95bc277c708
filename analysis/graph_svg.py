"""A template's directly-follows graph as a self-contained SVG (no external service, no script):
stages left to right in template order between START and END; forward edges above the row,
loops back (rework, reopen) below it, each labelled with its count and median gap; each stage
with its visits and median business time."""

import math
from xml.sax.saxutils import escape

from analysis.paths import END, START, TemplateFlow
from presentation.text import format_duration

_NODE_W = 150
_NODE_H = 56
_GAP = 80
_ROW_Y = 170
_MARGIN = 30


def _attr(value: object) -> str:
    return escape(str(value), {'"': "&quot;"})


def render_flow_svg(flow: TemplateFlow) -> str:
    order = [START, *(node.stage_id for node in flow.nodes), END]
    x = {stage: _MARGIN + n * (_NODE_W + _GAP) for n, stage in enumerate(order)}
    width = _MARGIN * 2 + len(order) * _NODE_W + (len(order) - 1) * _GAP
    height = _ROW_Y * 2 + _NODE_H
    most = max((edge.count for edge in flow.edges), default=1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12" role="img">',
        f"<title>{escape(flow.template_id)}: {flow.requests} requests</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#555"/></marker></defs>',
    ]
    for edge in flow.edges:
        if edge.source not in x or edge.target not in x:
            continue
        stroke = 1 + 4 * math.log1p(edge.count) / math.log1p(most)
        label = f"{edge.count} · {format_duration(edge.median_seconds)}"
        start_x = x[edge.source] + _NODE_W / 2
        end_x = x[edge.target] + _NODE_W / 2
        y0: float
        if edge.loop:  # below the row, bending further the longer it reaches back
            y0 = _ROW_Y + _NODE_H
            bend = y0 + 40 + abs(end_x - start_x) / 6
            path = f"M{start_x - 10},{y0} C{start_x - 10},{bend} {end_x + 10},{bend} " \
                   f"{end_x + 10},{y0}"
            label_y = bend - 8
            colour = "#c0392b"
        elif order.index(edge.target) == order.index(edge.source) + 1:
            y0 = _ROW_Y + _NODE_H / 2
            path = f"M{x[edge.source] + _NODE_W},{y0} L{x[edge.target]},{y0}"
            label_y = y0 - 8
            colour = "#555"
        else:  # a forward skip, above the row
            y0 = _ROW_Y
            bend = y0 - 40 - abs(end_x - start_x) / 6
            path = f"M{start_x},{y0} C{start_x},{bend} {end_x},{bend} {end_x},{y0}"
            label_y = bend + 22
            colour = "#555"
        parts.append(f'<path class="edge" data-source="{_attr(edge.source)}" '
                     f'data-target="{_attr(edge.target)}" data-count="{edge.count}" '
                     f'd="{path}" fill="none" stroke="{colour}" stroke-width="{stroke:.1f}" '
                     'marker-end="url(#arrow)"/>')
        parts.append(f'<text x="{(start_x + end_x) / 2}" y="{label_y}" text-anchor="middle" '
                     f'fill="{colour}">{escape(label)}</text>')
    nodes = {node.stage_id: node for node in flow.nodes}
    for stage in order:
        node = nodes.get(stage)
        title = node.name if node else stage
        detail = (f"{node.visits} · {format_duration(node.median_business_seconds)}"
                  if node else "")
        parts.append(f'<g class="node" data-stage="{_attr(stage)}">'
                     f'<rect x="{x[stage]}" y="{_ROW_Y}" width="{_NODE_W}" height="{_NODE_H}" '
                     'rx="8" fill="#eef3fb" stroke="#2c5d9f"/>'
                     f'<text x="{x[stage] + _NODE_W / 2}" y="{_ROW_Y + 24}" '
                     f'text-anchor="middle" font-weight="bold">{escape(title)}</text>'
                     f'<text x="{x[stage] + _NODE_W / 2}" y="{_ROW_Y + 42}" '
                     f'text-anchor="middle">{escape(detail)}</text></g>')
    parts.append("</svg>\n")
    return "".join(parts)
