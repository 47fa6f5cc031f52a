"""Bar charts as inline SVG, drawn on the server: no script, no CDN, readable without JavaScript."""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

COLOURS = ["#417690", "#79aec8", "#5b9a68", "#e0b040", "#ba2121", "#8a6fb0"]


def bar_chart(rows: list[tuple[str, list[int]]], *, series: list[str], title: str) -> SafeString:
    """Groups of bars, one group per row (label, a value per series), with a legend and a text title.

    Each bar carries its value as a <title> (a tooltip) and the figures stay in the page's table.
    """
    width, height, top, bottom, left = 720, 240, 20, 40, 40
    peak = max((value for _label, values in rows for value in values), default=0) or 1
    group = (width - left) / max(len(rows), 1)
    bar = max(min(group * 0.8 / max(len(series), 1), 40), 2)
    plot = height - top - bottom
    bars, labels = [], []
    for index, (label, values) in enumerate(rows):
        x0 = left + index * group + (group - bar * len(values)) / 2
        for position, value in enumerate(values):
            tall = plot * value / peak
            bars.append(
                (
                    round(x0 + position * bar, 1),
                    round(top + plot - tall, 1),
                    round(bar - 1, 1),
                    round(tall, 1),
                    COLOURS[position % len(COLOURS)],
                    series[position],
                    value,
                )
            )
        labels.append((round(left + index * group + group / 2, 1), height - bottom + 16, label))
    legend = format_html_join(
        "",
        '<rect x="{}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}" font-size="11">{}</text>',
        (
            (left + i * 110, height - 14, COLOURS[i % len(COLOURS)], left + i * 110 + 14, height - 5, name)
            for i, name in enumerate(series)
        ),
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" role="img" aria-label="{}" '
        'style="max-width:100%;height:auto;font-family:sans-serif"><title>{}</title>'
        '<text x="{}" y="12" font-size="11">{}</text>'
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999"/>{}{}{}</svg>',
        width,
        height,
        title,
        title,
        left,
        peak,
        left,
        top + plot,
        width,
        top + plot,
        format_html_join(
            "",
            '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>',
            bars,
        ),
        format_html_join("", '<text x="{}" y="{}" font-size="11" text-anchor="middle">{}</text>', labels),
        legend,
    )
