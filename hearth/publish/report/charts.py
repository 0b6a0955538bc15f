"""Inline SVG charts: horizontal bars, columns over months and a calibration line.

Every chart is an image with an accessible name (role="img", aria-label and its <title>) that
says what it shows and its figures, so a screen reader reads the chart, not its parts."""

from __future__ import annotations

from html import escape

from hearth.publish.ranked import TIER_COLOURS

TIER_FILL = {t: fill for t, (fill, _) in TIER_COLOURS.items()}


def tier_css() -> str:
    """The report's tier styles (cards and chips), from the tiers' one set of colours."""
    rules = []
    for tier, (fill, ink) in TIER_COLOURS.items():
        slug = tier.replace(" ", "-")
        rules.append(f".card.tier-{slug}{{border-left:6px solid {fill}}}")
        rules.append(f".tier.{slug}{{background:{fill};color:{ink}}}")
    return "\n".join(rules)


def _open_svg(name: str, width: float, height: float) -> str:
    """An SVG image named for assistive technology: aria-label and, for tooltips and other
    readers, its <title>."""
    said = escape(name)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{said}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" class="chart">'
        f"<title>{said}</title>"
    )


def _bars_svg(
    items: list[tuple[str, float, str]], colours: list[str], name: str, width: int = 640
) -> str:
    """Horizontal bars: (label, value, text shown at the bar's end). `name`: what the chart
    shows; its accessible name is that and each bar's label and shown text."""
    if not items:
        return ""
    label_w, bar_h, gap = 230, 18, 6
    top = max((v for _, v, _ in items), default=0) or 1
    h = len(items) * (bar_h + gap) + gap
    said = "; ".join(f"{label} {shown}" for label, _, shown in items)
    parts = [_open_svg(f"Bar chart. {name}: {said}.", width, h)]
    span = width - label_w - 70
    for i, (label, value, shown) in enumerate(items):
        y = gap + i * (bar_h + gap)
        w = max(0.0, value / top * span)
        colour = colours[i % len(colours)]
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 13}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 13}">{escape(shown)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _columns_svg(
    items: list[tuple[str, float]], name: str, width: int = 640, height: int = 120
) -> str:
    """Vertical bars over months, with the first and last month labelled. `name`: what the
    chart shows; its accessible name adds the months it spans and its lowest and highest."""
    if not items:
        return ""
    top = max(v for _, v in items) or 1
    n = len(items)
    step = (width - 20) / n
    low = min(items, key=lambda it: it[1])
    high = max(items, key=lambda it: it[1])
    said = (
        f"Column chart. {name}, {n} months from {items[0][0]} to {items[-1][0]}: lowest "
        f"{low[1]:,.0f} in {low[0]}, highest {high[1]:,.0f} in {high[0]}."
    )
    parts = [_open_svg(said, width, height + 20)]
    for i, (label, v) in enumerate(items):
        bh = v / top * height
        x = 10 + i * step
        parts.append(
            f'<rect x="{x:.1f}" y="{height - bh:.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{bh:.1f}" fill="#1e6fb3"><title>{escape(label)}</title></rect>'
        )
    parts.append(
        f'<text x="10" y="{height + 15}">{escape(items[0][0])}</text>'
        f'<text x="{width - 10}" y="{height + 15}" text-anchor="end">{escape(items[-1][0])}</text>'
        "</svg>"
    )
    return "".join(parts)


def _calibration_svg(rows: list[dict[str, str]], size: int = 320) -> str:
    pts = [(float(r["mean_predicted"]), float(r["observed_rate"])) for r in rows]
    hi = max(max(p for p, _ in pts), max(o for _, o in pts)) or 1
    pad = 30

    def xy(p: float, o: float) -> str:
        return f"{pad + p / hi * (size - 2 * pad):.1f},{size - pad - o / hi * (size - 2 * pad):.1f}"

    line = " ".join(xy(p, o) for p, o in pts)
    said = "; ".join(f"predicted {p:.1%}, observed {o:.1%}" for p, o in pts)
    name = (
        "Calibration chart: the predicted chance of a crisis against the share that had one, "
        f"by group of households, with the diagonal where they are equal. {said}."
    )
    return (
        _open_svg(name, size, size)
        + f'<line x1="{pad}" y1="{size - pad}" x2="{size - pad}" y2="{pad}" stroke="#999" '
        'stroke-dasharray="4"/>'
        f'<polyline points="{line}" fill="none" stroke="#b3541e" stroke-width="2"/>'
        f'<text x="{size / 2}" y="{size - 6}" text-anchor="middle">predicted chance</text>'
        "</svg>"
    )
