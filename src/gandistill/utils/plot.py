"""Line plots for reports and docs: loss curves with axes, ticks and a legend.

Drawn with matplotlib when it is installed (the ``plots`` extra), else with PIL and its scalable built-in
font, measured so that no tick label, legend entry or title is cut off.
"""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

from PIL import Image, ImageDraw

from ..io.atomic import atomic_path
from .images import font, text_size

COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]
Series = dict[str, tuple[list[float], list[float]]]


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


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 × 10^k apart) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, target - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    return [round(first + i * step, 12) for i in range(int((hi - first) / step + 1e-9) + 1)]


def tick_label(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 10_000:
        return f"{v / 1000:g}k"
    return f"{v:.4g}"


def _finite(series: Series, smooth: int) -> Series:
    out = {}
    for name, (xs, ys) in series.items():
        pts = [(x, y) for x, y in zip(xs, _smooth(list(ys), smooth)) if math.isfinite(x) and math.isfinite(y)]
        out[name] = ([p[0] for p in pts], [p[1] for p in pts])
    return out


def _matplotlib_plot(series: Series, path: Path, title: str, xlabel: str, size: tuple[int, int]) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0] / 100, size[1] / 100), dpi=100)  # no pyplot: no global backend state
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for i, (name, (xs, ys)) in enumerate(series.items()):
        ax.plot(xs, ys, label=name, color=[c / 255 for c in COLOURS[i % len(COLOURS)]], linewidth=1.5)
    if not any(xs for xs, _ in series.values()):
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if series:
        ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


def _pil_plot(series: Series, path: Path, title: str, xlabel: str, size: tuple[int, int]) -> None:
    fnt, title_fnt = font(13), font(15)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    pts = [(x, y) for xs, ys in series.values() for x, y in zip(xs, ys)]
    legend_w = max((text_size(probe, n, fnt)[0] for n in series), default=0) + 44 if series else 10
    line_h = text_size(probe, "Hg0", fnt)[1]
    w, h = max(size[0], legend_w + 320), max(size[1], 40 + len(series) * (line_h + 8))
    if not pts:
        img = Image.new("RGB", (w, h), "white")
        draw = ImageDraw.Draw(img)
        draw.text((w // 2 - 25, h // 2), "no data", fill="black", font=fnt)
        if title:
            draw.text((10, 8), title, fill="black", font=title_fnt)
        with atomic_path(path) as tmp:
            img.save(tmp, format="PNG")
        return
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
    x1 = x1 if x1 > x0 else x0 + 1
    pad = (y1 - y0) * 0.05 or 1.0
    y0, y1 = y0 - pad, y1 + pad
    yticks, xticks = nice_ticks(y0, y1, 6), nice_ticks(x0, x1)
    ylabels, xlabels = [tick_label(v) for v in yticks], [tick_label(v) for v in xticks]
    left = max(text_size(probe, t, fnt)[0] for t in ylabels) + 14
    top = text_size(probe, title or "T", title_fnt)[1] + 18
    bottom = 2 * line_h + 22
    right = legend_w + max(text_size(probe, xlabels[-1], fnt)[0] // 2, 8)  # the last x label stays inside
    img = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(img)
    sx = lambda x: left + (x - x0) / (x1 - x0) * (w - left - right)  # noqa: E731
    sy = lambda y: top + (y1 - y) / (y1 - y0) * (h - top - bottom)  # noqa: E731
    for yv, text in zip(yticks, ylabels):
        draw.line([left, sy(yv), w - right, sy(yv)], fill=(228, 228, 228))
        draw.line([left - 4, sy(yv), left, sy(yv)], fill="black")
        tw, th = text_size(draw, text, fnt)
        draw.text((left - 7 - tw, sy(yv) - th / 2 - 2), text, fill="black", font=fnt)
    for xv, text in zip(xticks, xlabels):
        draw.line([sx(xv), top, sx(xv), h - bottom], fill=(236, 236, 236))
        draw.line([sx(xv), h - bottom, sx(xv), h - bottom + 4], fill="black")
        tw, _ = text_size(draw, text, fnt)
        draw.text((sx(xv) - tw / 2, h - bottom + 6), text, fill="black", font=fnt)
    draw.rectangle([left, top, w - right, h - bottom], outline="black")
    tw, _ = text_size(draw, xlabel, fnt)
    draw.text(((left + w - right) / 2 - tw / 2, h - line_h - 8), xlabel, fill="black", font=fnt)
    for i, (name, (xs, ys)) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        line = [(sx(x), sy(y)) for x, y in zip(xs, ys)]
        if len(line) > 1:
            draw.line(line, fill=colour, width=2)
        elif line:
            draw.ellipse([line[0][0] - 2, line[0][1] - 2, line[0][0] + 2, line[0][1] + 2], fill=colour)
        ly = top + 6 + (line_h + 8) * i
        draw.line([w - legend_w + 8, ly + line_h / 2 + 2, w - legend_w + 30, ly + line_h / 2 + 2], fill=colour, width=3)
        draw.text((w - legend_w + 36, ly), name, fill="black", font=fnt)
    if title:
        draw.text((left, 8), title, fill="black", font=title_fnt)
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")


def line_plot(series: Series, path: str | Path, title: str = "", xlabel: str = "step",
              size: tuple[int, int] = (640, 360), smooth: int = 1, backend: str = "auto") -> str:
    """Plot {name: (xs, ys)} to a PNG with axes, ticks and a legend; returns the backend used
    (``auto``: matplotlib when installed, else PIL)."""
    data = _finite(series, smooth)
    if backend == "auto":
        backend = "matplotlib" if importlib.util.find_spec("matplotlib") is not None else "pil"
    (_matplotlib_plot if backend == "matplotlib" else _pil_plot)(data, Path(path), title, xlabel, size)
    return backend


def plot_scalars(rows: list[dict[str, float]], keys: list[str], path: str | Path, title: str = "",
                 smooth: int = 10) -> None:
    """Plot selected keys of ``stats.jsonl`` rows against step."""
    series = {}
    for key in keys:
        pairs = [(r["step"], r[key]) for r in rows if key in r]
        if pairs:
            series[key] = ([p[0] for p in pairs], [p[1] for p in pairs])
    line_plot(series, path, title=title, smooth=smooth)
