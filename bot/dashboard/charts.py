"""Server-side SVG charts: no scripts, no CDN, readable on a phone.

Each function returns safe markup (the labels are escaped here). The drawing is sized for a
phone-wide viewBox so the text stays legible when the SVG scales to the card's width.
"""
from __future__ import annotations

import math
from typing import Sequence

from markupsafe import Markup, escape

PALETTE = ("#1f6f5c", "#e07a2e", "#3a6fb0", "#b03a5b", "#7a5cb0", "#8a8a2e", "#2e8a8a", "#6b6b6b")
WIDTH = 360
FONT = 12


def _fmt(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}".replace(",", ".")
    return f"{value:.1f}".replace(".", ",")


def nice_max(value: float) -> float:
    """A round axis maximum at or above value (1, 2, 2.5, 5 × 10^n)."""
    if value <= 0:
        return 1
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10 ** exponent
        if candidate >= value:
            return candidate
    return 10 ** (exponent + 1)


def _svg(height: float, title: str, body: list[str], width: float = WIDTH) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height:.0f}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="{FONT}" font-family="system-ui, sans-serif">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def hbar(items: Sequence[tuple[str, float]], title: str, unit: str = "", max_value: float | None = None,
         color: str = PALETTE[0], notes: Sequence[str] | None = None) -> Markup:
    """Horizontal bars, one per (label, value): the label above its bar, the value at its end.
    `notes` (same length) replaces the printed value, e.g. "42 (61%)"."""
    items = list(items)
    if not items:
        return _svg(40, title, ['<text x="0" y="24" fill="#666">–</text>'])
    top = max_value if max_value is not None else max(v for _, v in items)  # no axis: the longest bar fills the row
    row, bar_h = 36, 12
    body = []
    for i, (label, value) in enumerate(items):
        y = i * row
        width = 0 if top <= 0 else max(0.0, min(1.0, value / top)) * WIDTH
        shown = notes[i] if notes else f"{_fmt(value)}{unit}"
        body.append(f'<text x="0" y="{y + 13}" fill="#222">{escape(label)}</text>')
        body.append(f'<text x="{WIDTH}" y="{y + 13}" fill="#222" font-weight="600" text-anchor="end">'
                    f"{escape(shown)}</text>")
        body.append(f'<rect x="0" y="{y + 18}" width="{WIDTH}" height="{bar_h}" rx="3" fill="#eef1ef"/>')
        body.append(f'<rect x="0" y="{y + 18}" width="{width:.1f}" height="{bar_h}" rx="3" fill="{color}">'
                    f"<title>{escape(label)}: {escape(shown)}</title></rect>")
    return _svg(len(items) * row + 2, title, body)


def vbar(items: Sequence[tuple[str, float]], title: str, unit: str = "", color: str = PALETTE[2]) -> Markup:
    """Vertical bars for a short ordered scale (ratings 1-5, levels I-IV)."""
    items = list(items)
    height, base, left = 180, 150, 30
    top, ticks = axis(max([v for _, v in items] + [0]))
    slot = (WIDTH - left) / max(1, len(items))
    body = _grid(top, base, left, height_px=base - 20, ticks=ticks)
    for i, (label, value) in enumerate(items):
        h = 0 if top <= 0 else value / top * (base - 20)
        x = left + i * slot + slot * 0.2
        body.append(f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{slot * 0.6:.1f}" height="{h:.1f}" rx="3" '
                    f'fill="{color}"><title>{escape(label)}: {_fmt(value)}{unit}</title></rect>')
        body.append(f'<text x="{x + slot * 0.3:.1f}" y="{base - h - 4:.1f}" text-anchor="middle" '
                    f'font-weight="600">{_fmt(value)}{unit}</text>')
        body.append(f'<text x="{x + slot * 0.3:.1f}" y="{base + 16}" text-anchor="middle">{escape(label)}</text>')
    return _svg(height, title, body)


def axis(value: float, ticks: int = 4) -> tuple[float, int]:
    """An axis top and tick count whose steps are round numbers (whole numbers for counts)."""
    if value <= ticks:
        top = max(1, math.ceil(value))
        return top, top
    step = nice_max(value / ticks)
    step = max(1, math.ceil(step)) if step >= 1 else step
    return step * math.ceil(value / step), math.ceil(value / step)


def stacked(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], title: str) -> Markup:
    """Vertical bars over time, each split by series (new registrations per week, by sector)."""
    labels = list(labels)
    series = [(name, list(values)) for name, values in series]
    legend_rows = math.ceil(len(series) / 2)
    base, left, top_pad = 150, 30, 10
    totals = [sum(values[i] for _, values in series) for i in range(len(labels))]
    top, ticks = axis(max(totals + [0]))
    slot = (WIDTH - left) / max(1, len(labels))
    scale = (base - top_pad) / top if top else 0
    body = _grid(top, base, left, height_px=base - top_pad, ticks=ticks)
    for i, label in enumerate(labels):
        y = base
        x = left + i * slot + slot * 0.15
        for index, (name, values) in enumerate(series):
            h = values[i] * scale
            if h <= 0:
                continue
            y -= h
            body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
                        f'fill="{PALETTE[index % len(PALETTE)]}"><title>{escape(label)} · {escape(name)}: '
                        f"{_fmt(values[i])}</title></rect>")
        if totals[i]:
            body.append(f'<text x="{x + slot * 0.35:.1f}" y="{y - 3:.1f}" text-anchor="middle" font-size="10" '
                        f'font-weight="600">{_fmt(totals[i])}</text>')
    for i in sorted({0, len(labels) // 2, len(labels) - 1}) if labels else []:
        x = left + i * slot + slot * 0.5
        anchor = "middle"
        if i == len(labels) - 1 and len(labels) > 1:
            x, anchor = left + (i + 1) * slot, "end"
        elif i == 0:
            x, anchor = left + slot * 0.15, "start"
        body.append(f'<text x="{x:.1f}" y="{base + 16}" text-anchor="{anchor}" fill="#444">{escape(labels[i])}</text>')
    for index, (name, _values) in enumerate(series):
        x = 10 + (index % 2) * (WIDTH / 2)
        y = base + 34 + (index // 2) * 18
        body.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" rx="2" fill="{PALETTE[index % len(PALETTE)]}"/>')
        body.append(f'<text x="{x + 14}" y="{y}">{escape(name)}</text>')
    return _svg(base + 24 + legend_rows * 18, title, body)


def _grid(top: float, base: float, left: float, height_px: float, ticks: int = 4) -> list[str]:
    out = []
    for i in range(ticks + 1):
        value = top * i / ticks
        y = base - height_px * i / ticks
        out.append(f'<line x1="{left}" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e6e4"/>')
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#666" font-size="10">'
                   f"{_fmt(value)}</text>")
    return out


def line(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], title: str) -> Markup:
    """Lines over time: one (name, values) per series, values aligned with `labels`.
    Shows a legend when there is more than one series."""
    labels = list(labels)
    series = [(name, list(values)) for name, values in series]
    legend_rows = math.ceil(len(series) / 2) if len(series) > 1 else 0
    base, left, top_pad = 150, 30, 10
    height = base + 24 + legend_rows * 18
    top, ticks = axis(max([v for _, values in series for v in values] + [0]))
    n = max(1, len(labels) - 1)
    plot_w = WIDTH - left - 8

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + plot_w * i / n, base - (base - top_pad) * (v / top if top else 0)

    body = _grid(top, base, left, height_px=base - top_pad, ticks=ticks)
    for index, (name, values) in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in enumerate(values)))
        body.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2.5" '
                    f'stroke-linejoin="round"/>')
        for i, v in enumerate(values):
            x, y = xy(i, v)
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}">'
                        f"<title>{escape(name)} {escape(labels[i])}: {_fmt(v)}</title></circle>")
    # x labels: first, middle, last (a phone has no room for more)
    for i in sorted({0, len(labels) // 2, len(labels) - 1}) if labels else []:
        x, _ = xy(i, 0)
        anchor = "start" if i == 0 else "end" if i == len(labels) - 1 else "middle"
        body.append(f'<text x="{x:.1f}" y="{base + 16}" text-anchor="{anchor}" fill="#444">'
                    f"{escape(labels[i])}</text>")
    if legend_rows:
        for index, (name, _values) in enumerate(series):
            x = 10 + (index % 2) * (WIDTH / 2)
            y = base + 34 + (index // 2) * 18
            body.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" rx="2" '
                        f'fill="{PALETTE[index % len(PALETTE)]}"/>')
            body.append(f'<text x="{x + 14}" y="{y}">{escape(name)}</text>')
    return _svg(height, title, body)


def gauge(share: float | None, title: str, caption: str = "") -> Markup:
    """One big percentage with a ring, for a headline figure (compliance, satisfaction)."""
    size, r = 120, 46
    circumference = 2 * math.pi * r
    filled = 0 if share is None else max(0.0, min(1.0, share)) * circumference
    text = "–" if share is None else f"{share * 100:.1f}%".replace(".", ",")
    body = [
        f'<circle cx="60" cy="60" r="{r}" fill="none" stroke="#eef1ef" stroke-width="12"/>',
        "" if share is None else
        f'<circle cx="60" cy="60" r="{r}" fill="none" stroke="{PALETTE[0]}" stroke-width="12" '
        f'stroke-dasharray="{filled:.1f} {circumference:.1f}" transform="rotate(-90 60 60)" stroke-linecap="round"/>',
        f'<text x="60" y="66" text-anchor="middle" font-size="20" font-weight="700">{text}</text>',
    ]
    if caption:
        body.append(f'<text x="60" y="{size + 12}" text-anchor="middle" fill="#444">{escape(caption)}</text>')
    return _svg(size + (20 if caption else 0), title, body, width=size)
