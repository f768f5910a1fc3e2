"""Bar charts as inline SVG, drawn on the server: no chart library, no script, no inline style
(the CSP forbids it; colours come from classes in casebook.css). Every chart has a title and
a description for screen readers, and the page shows the same numbers in a table.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

_FONT_WIDTH = 6.2  # px per character of the chart's 11 px labels, to size the label column


@dataclass(frozen=True)
class Series:
    """One set of bars: its name (legend), a value per label, and its CSS class."""

    name: str
    values: list[int]
    css_class: str = "bar"


def _nice_max(value: float) -> float:
    """A round upper bound for the axis (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def _number(value: float) -> str:
    return f"{value:g}"


def column_chart(
    chart_id: str, title: str, labels: list[str], series: list[Series], height: int = 220
) -> Markup:
    """Vertical bars, one group per label (e.g. per month), one bar per series."""
    groups = max(1, len(labels))
    width = max(320, 40 + groups * (14 * len(series) + 18))
    top, bottom, left = 24, 36, 36
    plot_h = height - top - bottom
    peak = _nice_max(max((v for s in series for v in s.values), default=0))
    group_w = (width - left - 8) / groups
    bar_w = max(4.0, (group_w - 10) / max(1, len(series)))
    parts = [
        f'<svg id="{escape(chart_id)}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{width - 4}" '
        f'y2="{top + plot_h}"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{_number(peak)}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>',
    ]
    for g, label in enumerate(labels):
        x0 = left + g * group_w + 5
        for s_index, s in enumerate(series):
            value = s.values[g] if g < len(s.values) else 0
            h = plot_h * value / peak
            x = x0 + s_index * bar_w
            parts.append(
                f'<rect class="{escape(s.css_class)}" x="{x:.1f}" y="{top + plot_h - h:.1f}" '
                f'width="{bar_w - 2:.1f}" height="{h:.1f}"><title>{escape(s.name)} · '
                f"{escape(label)}: {value}</title></rect>"
            )
        parts.append(
            f'<text x="{x0 + (group_w - 10) / 2:.1f}" y="{top + plot_h + 14}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    for s_index, s in enumerate(series):
        x = left + s_index * 140
        parts.append(
            f'<rect class="{escape(s.css_class)}" x="{x}" y="{height - 12}" width="10" '
            f'height="10"/><text x="{x + 14}" y="{height - 3}">{escape(s.name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(
    chart_id: str, title: str, rows: list[tuple[str, int]], css_class: str = "bar"
) -> Markup:
    """Horizontal bars, one per row (e.g. per state), labelled on the left, value on the right."""
    label_w = 12 + _FONT_WIDTH * max((len(label) for label, _ in rows), default=4)
    width, row_h, top = 560, 20, 8
    height = top * 2 + row_h * max(1, len(rows))
    plot_w = width - label_w - 48
    peak = _nice_max(max((v for _, v in rows), default=0))
    parts = [
        f'<svg id="{escape(chart_id)}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
    ]
    for i, (label, value) in enumerate(rows):
        y = top + i * row_h
        w = plot_w * value / peak
        parts.append(
            f'<text x="{label_w - 6:.1f}" y="{y + 14}" text-anchor="end">{escape(label)}</text>'
            f'<rect class="{escape(css_class)}" x="{label_w:.1f}" y="{y + 3}" width="{w:.1f}" '
            f'height="{row_h - 6}"><title>{escape(label)}: {value}</title></rect>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 14}">{value}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
