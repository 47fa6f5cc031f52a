"""Bar charts drawn on the server as SVG: no script, no CDN, readable as a table by screen readers."""

from dataclasses import dataclass

BAR_HEIGHT = 18
GAP = 6
LABEL_WIDTH = 220
BAR_WIDTH = 300
WIDTH = LABEL_WIDTH + BAR_WIDTH + 60


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: int
    width: int

    @property
    def text_y(self) -> int:
        return self.y + BAR_HEIGHT - 5

    @property
    def value_x(self) -> int:
        return LABEL_WIDTH + self.width + 6


def bar_chart(rows: list[tuple[str, int]]) -> dict:
    """What templates/admin/surveys/_bar_chart.svg needs to draw ``rows`` (label, value) as horizontal bars."""
    top = max((value for _label, value in rows), default=0) or 1
    bars = [
        Bar(
            label=label if len(label) <= 32 else label[:31] + "…",
            value=value,
            y=index * (BAR_HEIGHT + GAP),
            width=round(BAR_WIDTH * value / top),
        )
        for index, (label, value) in enumerate(rows)
    ]
    return {
        "bars": bars,
        "width": WIDTH,
        "height": max(len(bars) * (BAR_HEIGHT + GAP), BAR_HEIGHT),
        "bar_height": BAR_HEIGHT,
        "label_width": LABEL_WIDTH,
    }
