"""Bar charts drawn on the server as inline SVG, with their numbers as a table: no JavaScript,
no CDN, readable by a screen reader and on a phone (the SVG scales to its box)."""

import dataclasses

# Colours that stay apart for the common kinds of colour blindness (Okabe–Ito).
PALETTE = ["#0072B2", "#009E73", "#E69F00", "#D55E00", "#CC79A7", "#56B4E9", "#999999", "#F0E442"]
WIDTH, LABEL, VALUE, ROW = 640, 130, 70, 24


@dataclasses.dataclass(frozen=True)
class Segment:
    name: str
    value: int
    x: float
    width: float
    colour: str


@dataclasses.dataclass(frozen=True)
class Bar:
    label: str
    total: int
    values: list[int]
    segments: list[Segment]
    y: int


@dataclasses.dataclass(frozen=True)
class Chart:
    title: str
    series: list[tuple[str, str]]  # (name, colour)
    bars: list[Bar]
    height: int
    width: int = WIDTH
    label_width: int = LABEL
    value_x: int = WIDTH - VALUE + 6


def stacked_bars(title: str, rows: list[tuple[str, list[int]]], series: list[str]) -> Chart:
    """One horizontal bar per row, split into ``series`` (one value each, in that order)."""
    scale = (WIDTH - LABEL - VALUE) / max([sum(values) for _label, values in rows] + [1])
    colours = [(name, PALETTE[i % len(PALETTE)]) for i, name in enumerate(series)]
    bars = []
    for index, (label, values) in enumerate(rows):
        x, segments = float(LABEL), []
        for (name, colour), value in zip(colours, values, strict=True):
            if value:
                segments.append(Segment(name, value, round(x, 1), round(value * scale, 1), colour))
                x += value * scale
        bars.append(Bar(str(label), sum(values), list(values), segments, index * ROW))
    return Chart(str(title), colours, bars, max(len(bars), 1) * ROW)


def bars(title: str, rows: list[tuple[str, int]], series: str) -> Chart:
    """One plain bar per row."""
    return stacked_bars(title, [(label, [value]) for label, value in rows], [series])
