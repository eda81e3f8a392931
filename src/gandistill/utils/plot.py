"""Line plots drawn with PIL (no plotting dependency): loss curves for reports and docs."""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from ..io.atomic import atomic_path

COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]


def _smooth(values: list[float], k: int) -> list[float]:
    if k <= 1:
        return values
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v
        if i >= k:
            acc -= values[i - k]
        out.append(acc / min(i + 1, k))
    return out


def line_plot(series: dict[str, tuple[list[float], list[float]]], path: str | Path, title: str = "",
              xlabel: str = "step", size: tuple[int, int] = (640, 360), smooth: int = 1) -> None:
    """Plot {name: (xs, ys)} to a PNG with axes, ticks and a legend."""
    w, h = size
    left, right, top, bottom = 60, 150, 30, 40
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    pts = [(x, y) for xs, ys in series.values() for x, y in zip(xs, _smooth(list(ys), smooth))]
    if not pts:
        draw.text((w // 2 - 40, h // 2), "no data", fill="black")
    else:
        x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
        y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
        x1 = x1 if x1 > x0 else x0 + 1
        pad = (y1 - y0) * 0.05 or 1.0
        y0, y1 = y0 - pad, y1 + pad
        sx = lambda x: left + (x - x0) / (x1 - x0) * (w - left - right)  # noqa: E731
        sy = lambda y: top + (y1 - y) / (y1 - y0) * (h - top - bottom)  # noqa: E731
        draw.rectangle([left, top, w - right, h - bottom], outline="black")
        for i in range(5):
            yv = y0 + (y1 - y0) * i / 4
            draw.line([left - 4, sy(yv), left, sy(yv)], fill="black")
            draw.text((4, sy(yv) - 6), f"{yv:.3g}", fill="black")
            xv = x0 + (x1 - x0) * i / 4
            draw.line([sx(xv), h - bottom, sx(xv), h - bottom + 4], fill="black")
            draw.text((sx(xv) - 12, h - bottom + 6), f"{xv:.4g}", fill="black")
        draw.text(((w - right + left) // 2 - 15, h - 16), xlabel, fill="black")
        for i, (name, (xs, ys)) in enumerate(series.items()):
            colour = COLOURS[i % len(COLOURS)]
            line = [(sx(x), sy(y)) for x, y in zip(xs, _smooth(list(ys), smooth))]
            if len(line) > 1:
                draw.line(line, fill=colour, width=2)
            draw.line([w - right + 10, top + 10 + 16 * i, w - right + 30, top + 10 + 16 * i], fill=colour, width=3)
            draw.text((w - right + 34, top + 4 + 16 * i), name, fill="black")
    if title:
        draw.text((left, 8), title, fill="black")
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")


def plot_scalars(rows: list[dict[str, float]], keys: list[str], path: str | Path, title: str = "",
                 smooth: int = 10) -> None:
    """Plot selected keys of ``stats.jsonl`` rows against step."""
    series = {}
    for key in keys:
        pairs = [(r["step"], r[key]) for r in rows if key in r]
        if pairs:
            series[key] = ([p[0] for p in pairs], [p[1] for p in pairs])
    line_plot(series, path, title=title, smooth=smooth)
