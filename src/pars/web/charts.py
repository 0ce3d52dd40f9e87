"""Bar charts drawn on the server as inline SVG, with no script and no inline style: this module
computes the geometry, `templates/_charts.html` writes the markup (every text autoescaped) and
`static/charts.css` colours it by class. Every chart is paired with a table of the same numbers
on the page, and writes each value beside its bar, so colour is never the only cue.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Bar", "Chart", "Row", "columns", "hbars"]


@dataclass(frozen=True)
class Row:
    """One bar: its label, its length, the text written beside it, a colour class, whether it
    is drawn hatched (an approximate value), and whether a gap separates it from the bar before
    (a new group)."""

    label: str
    value: float
    text: str
    kind: str = "default"
    hatched: bool = False
    new_group: bool = False
    sublabel: str = ""


@dataclass(frozen=True)
class Bar:
    row: Row
    x: float
    y: float
    width: float
    height: float
    label_x: float
    label_y: float
    text_x: float
    text_y: float
    sublabel_y: float = 0


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    desc: str
    width: int
    height: int
    bars: list[Bar]
    vertical: bool
    baseline: tuple[float, float, float, float] = (0, 0, 0, 0)
    hatched: bool = field(default=False)


def hbars(
    chart_id: str,
    title: str,
    desc: str,
    rows: list[Row],
    label_width: int = 200,
    bar_width: int = 380,
) -> Chart:
    """A horizontal bar chart: labels on the left, each value written after its bar."""
    row_h, gap = 22, 10
    top = max((r.value for r in rows), default=0) or 1
    bars: list[Bar] = []
    y = 4.0
    for i, r in enumerate(rows):
        if r.new_group and i:
            y += gap
        width = max(round(bar_width * r.value / top), 1)
        bars.append(
            Bar(r, label_width, y + 3, width, row_h - 6, label_width - 6, y + 15,
                label_width + width + 6, y + 15)
        )  # fmt: skip
        y += row_h
    height = int(y + 6)
    return Chart(
        chart_id, title, desc, label_width + bar_width + 130, height, bars, vertical=False,
        baseline=(label_width, 2, label_width, height - 2),
        hatched=any(r.hatched for r in rows),
    )  # fmt: skip


def columns(chart_id: str, title: str, desc: str, rows: list[Row], plot_height: int = 180) -> Chart:
    """A vertical bar (column) chart: a label and sub-label under each column, its value
    above."""
    col_w, pad, top_room, foot = 52, 10, 22, 40
    top = max((r.value for r in rows), default=0) or 1
    bars: list[Bar] = []
    base = top_room + plot_height
    for i, r in enumerate(rows):
        h = round(plot_height * r.value / top)
        x = pad + i * col_w
        bars.append(
            Bar(r, x + 6, base - h, col_w - 12, h, x + col_w / 2, base + 16,
                x + col_w / 2, base - h - 6, sublabel_y=base + 32)
        )  # fmt: skip
    width = pad * 2 + col_w * max(len(rows), 1)
    return Chart(
        chart_id, title, desc, width, base + foot, bars, vertical=True,
        baseline=(pad, base, width - pad, base),
        hatched=any(r.hatched for r in rows),
    )  # fmt: skip
