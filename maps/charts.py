"""Bar charts as accessible inline SVG: drawn on the server, no script, no CDN, the same
drawing in the page and the PDF report. Each chart is named by its title and stands beside
a table holding its figures (the table is the text alternative).

This module lays out the bars; ``templates/_charts.html`` writes the SVG, so every label
is escaped by the template engine like any other value of a page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Series colours (one per region compared), told apart also by their order and the legend.
SERIES_COLOURS = ("#1f5f99", "#c4661f", "#2f7d4f", "#7b4fa0")
WIDTH = 400
LABEL_HEIGHT = 16
BAR_HEIGHT = 12
BAR_GAP = 3
GROUP_GAP = 10
#: Room right of the longest bar for its value.
VALUE_ROOM = 90


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    colour: str
    text: str
    text_x: float


@dataclass(frozen=True)
class Group:
    label: str
    label_y: float
    bars: list[Bar]


@dataclass(frozen=True)
class Chart:
    """A horizontal bar chart: a group of bars per category, one bar per series."""

    id: str
    title: str
    groups: list[Group]
    legend: list[tuple[str, str]] = field(default_factory=list)
    width: int = WIDTH
    height: int = 0


def bar_chart(chart_id: str, title: str, categories: list[str],
              series: list[tuple[str, list[float | None]]], texts: list[list[str]],
              colours: list[str] | None = None) -> Chart:
    """A chart of ``categories`` (one group of bars each) by ``series`` (name, values in
    category order); ``texts`` are the values as written beside their bars (per series).
    ``colours``: one per category (a chart of one series coloured by category), else the
    series colours."""
    largest = max((v for _, values in series for v in values if v), default=0) or 1
    span = WIDTH - VALUE_ROOM
    groups, y = [], 2.0
    for index, category in enumerate(categories):
        label_y = y + LABEL_HEIGHT - 4
        y += LABEL_HEIGHT
        bars = []
        for number, (_, values) in enumerate(series):
            value = values[index] or 0
            width = max(span * value / largest, 1.5 if value else 0)
            colour = (colours[index] if colours and len(series) == 1
                      else SERIES_COLOURS[number % len(SERIES_COLOURS)])
            bars.append(Bar(x=0, y=y, width=round(width, 1), colour=colour,
                            text=texts[number][index], text_x=round(width + 4, 1)))
            y += BAR_HEIGHT + BAR_GAP
        groups.append(Group(label=category, label_y=round(label_y, 1), bars=bars))
        y += GROUP_GAP
    legend = ([(name, SERIES_COLOURS[i % len(SERIES_COLOURS)]) for i, (name, _) in enumerate(series)]
              if len(series) > 1 else [])
    return Chart(id=chart_id, title=title, groups=groups, legend=legend, height=int(y) + 2)
