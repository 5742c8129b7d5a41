"""Inline SVG bar charts for the report's page: drawn here, nothing fetched. Each
chart comes with its figures as a table a reader can open (and a screen reader read)."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable

WIDTH, HEIGHT, LEFT, BOTTOM = 640, 180, 48, 22


def periods(days: list[str]) -> tuple[str, list[str]]:
    """The bars of a chart over time: every day from the first of ``days`` (ISO dates)
    to the last, so that a day without sessions shows as a gap; every month instead
    when they span more than three (``YYYY-MM``)."""
    dated = sorted(d for d in days if len(d) == 10 and d[4] == "-")
    if not dated:
        return "day", []
    first, last = dt.date.fromisoformat(dated[0]), dt.date.fromisoformat(dated[-1])
    if (last - first).days <= 92:
        return "day", [
            (first + dt.timedelta(days=n)).isoformat() for n in range((last - first).days + 1)
        ]
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return "month", months


def column_chart(
    ident: str,
    caption: str,
    points: list[tuple[str, float]],
    shown: Callable[[float], str],
) -> str:
    """Vertical bars, one per label (days, lengths), left to right."""
    top = max((v for _, v in points), default=0) or 1
    step = (WIDTH - LEFT) / max(1, len(points))
    every = max(1, round(len(points) / 8))  # at most about 8 labels fit under the bars
    parts = [_axis(top, shown)]
    for n, (label, value) in enumerate(points):
        h = (HEIGHT - BOTTOM - 8) * value / top
        x = LEFT + n * step
        parts.append(
            f'<rect x="{x + step * 0.1:.1f}" y="{HEIGHT - BOTTOM - h:.1f}" '
            f'width="{max(1.0, step * 0.8):.1f}" height="{h:.1f}" class="bar">'
            f"<title>{html.escape(label)}: {html.escape(shown(value))}</title></rect>"
        )
        if n % every == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{HEIGHT - 6}" class="tick" '
                f'text-anchor="middle">{html.escape(_short(label))}</text>'
            )
    return _figure(ident, caption, f"0 0 {WIDTH} {HEIGHT}", parts, points, shown)


def bar_chart(
    ident: str,
    caption: str,
    points: list[tuple[str, float]],
    shown: Callable[[float], str],
) -> str:
    """Horizontal bars, one per label (projects), largest first, labelled."""
    top = max((v for _, v in points), default=0) or 1
    row, label_width = 22, 200
    height = row * max(1, len(points)) + 4
    parts = []
    for n, (label, value) in enumerate(points):
        w = (WIDTH - label_width - 70) * value / top
        y = n * row + 2
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 15}" class="tick" text-anchor="end">'
            f"{html.escape(_clip(label, 28))}</text>"
            f'<rect x="{label_width}" y="{y + 3}" width="{max(1.0, w):.1f}" height="{row - 6}" '
            f'class="bar"><title>{html.escape(label)}: {html.escape(shown(value))}</title></rect>'
            f'<text x="{label_width + w + 6:.1f}" y="{y + 15}" class="value">'
            f"{html.escape(shown(value))}</text>"
        )
    return _figure(ident, caption, f"0 0 {WIDTH} {height}", parts, points, shown)


def _axis(top: float, shown: Callable[[float], str]) -> str:
    base = HEIGHT - BOTTOM
    return (
        f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH}" y2="{base}" class="axis"/>'
        f'<text x="{LEFT - 6}" y="14" class="tick" text-anchor="end">{html.escape(shown(top))}'
        f'</text><text x="{LEFT - 6}" y="{base}" class="tick" text-anchor="end">0</text>'
    )


def _figure(
    ident: str,
    caption: str,
    box: str,
    parts: list[str],
    points: list[tuple[str, float]],
    shown: Callable[[float], str],
) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td class=n>{html.escape(shown(v))}</td></tr>"
        for label, v in points
    )
    return (
        f'<figure class="chart" id="{ident}"><figcaption>{html.escape(caption)}</figcaption>'
        f'<svg viewBox="{box}" role="img" aria-label="{html.escape(caption)}" '
        f'preserveAspectRatio="xMinYMin meet">{"".join(parts)}</svg>'
        f"<details><summary>the figures</summary><table>{rows}</table></details></figure>\n"
    )


def _short(label: str) -> str:
    """A day's label under a bar: its month and day (a month's stays whole)."""
    return label[5:] if len(label) == 10 and label[4] == "-" else label


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]
