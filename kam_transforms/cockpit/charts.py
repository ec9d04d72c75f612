"""The cockpit's charts: matplotlib figures rendered to inline SVG strings.

Text stays text in the SVG (``svg.fonttype = none``), so the browser draws it with its own
fonts (Chinese labels included) and the page stays searchable. No pyplot: each chart is a
:class:`matplotlib.figure.Figure` of its own (safe in threads, nothing global kept).
Data labels (customer names) are wrapped in groups whose id starts with ``data-``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, PercentFormatter  # noqa: E402

__all__ = ["bars", "lines", "pareto", "scatter"]

FONTS = ["Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Micro Hei", "DejaVu Sans", "sans-serif"]
BLUE, ORANGE, GREY, RED = "#1f5fa8", "#e07b00", "#b8c2cc", "#c0392b"
#: matplotlib settings for every chart (Any: rc_context types its keys as literals)
_RC: Any = {
    "svg.fonttype": "none",
    "svg.hashsalt": "kam-cockpit",
    "font.family": "sans-serif",
    "font.sans-serif": FONTS,
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _money(value: float, _pos: object = None) -> str:
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:,.1f}{suffix}"
    return f"{value:,.0f}"


def _svg(fig: Figure, title: str) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)
    sized = r'<svg([^>]*?) width="[^"]+" height="[^"]+"'
    svg = re.sub(sized, r'<svg\1 class="chart"', svg, count=1)
    return svg.replace(">", f' role="img" aria-label="{_attr(title)}">', 1)


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _figure(width: float = 7.0, height: float = 3.6) -> Figure:
    """A figure with fixed margins (a layout engine or a tight bounding box would draw
    every chart twice: a third of the cockpit's time)."""
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(width, height))
        fig.subplots_adjust(left=0.13, right=0.97, top=0.9, bottom=0.16)
        return fig


def bars(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    title: str,
    ylabel: str = "",
    money: bool = False,
    colours: Sequence[str] | None = None,
) -> str:
    """Grouped vertical bars: one group per category, one bar per series."""
    with matplotlib.rc_context(_RC):
        fig = _figure()
        ax = fig.add_subplot()
        width = 0.8 / max(1, len(series))
        for i, (name, values) in enumerate(series):
            xs = [c + (i - (len(series) - 1) / 2) * width for c in range(len(categories))]
            colour = (colours or [BLUE, ORANGE, GREY, RED])[i % 4]
            drawn = ax.bar(xs, values, width, label=name, color=colour)
            ax.bar_label(drawn, fmt=_money if money else "{:,.0f}", fontsize=8)
        ax.set_xticks(range(len(categories)), list(categories))
        ax.set_ylabel(ylabel)
        if money:
            ax.yaxis.set_major_formatter(FuncFormatter(_money))
        if len(series) > 1:
            ax.legend(frameon=False)
        ax.set_title(title)
        return _svg(fig, title)


def pareto(
    curve: Sequence[tuple[float, float]],
    cutoffs: Sequence[tuple[str, float, float]],
    title: str,
    xlabel: str,
    ylabel: str,
) -> str:
    """The cumulative share curve; each cut-off as (label, x where its class ends, share)."""
    with matplotlib.rc_context(_RC):
        fig = _figure()
        ax = fig.add_subplot()
        ax.plot([0, *[x for x, _ in curve]], [0, *[y for _, y in curve]], color=BLUE, lw=2)
        for (label, x, share), colour in zip(cutoffs, (RED, ORANGE), strict=False):
            ax.axhline(share, color=colour, ls="--", lw=1)
            ax.axvline(x, color=colour, ls=":", lw=1)
            ax.annotate(label, (x, share), xytext=(6, -14), textcoords="offset points",
                        color=colour)  # fmt: skip
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        return _svg(fig, title)


def scatter(
    background: Sequence[tuple[float, float]],
    keys: Sequence[tuple[float, float, str]],
    title: str,
    xlabel: str,
    ylabel: str,
    thresholds: tuple[float | None, float | None] = (None, None),
    quadrant_names: Sequence[str] = (),
    diagonal: bool = False,
    named: int = 8,
) -> str:
    """Grey background dots, blue key-account dots (the first ``named`` labelled), optional
    threshold lines (x, y) with quadrant names (top-right, top-left, bottom-right,
    bottom-left) and an optional y = x diagonal."""
    xt, yt = thresholds
    # money is skewed (a few accounts carry most): log axes, values under a floor (a
    # hundredth of the threshold; zero and negative values) drawn on the floor
    fx, fy = (max(1.0, (v or 100.0) / 100) for v in (xt, yt))

    def clip(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(max(p[0], fx), max(p[1], fy)) for p in points]

    with matplotlib.rc_context(_RC):
        fig = _figure(7.0, 4.6)
        ax = fig.add_subplot()
        ax.set_xscale("log")
        ax.set_yscale("log")
        if background:
            dots = clip(background)
            ax.scatter([p[0] for p in dots], [p[1] for p in dots], s=8, color=GREY, alpha=0.7,
                       lw=0)  # fmt: skip
        if keys:
            drawn = clip([(k[0], k[1]) for k in keys])
            ax.scatter([p[0] for p in drawn], [p[1] for p in drawn], s=28, color=BLUE, lw=0)
            right = sorted(p[0] for p in drawn)[len(drawn) // 2]
            for i, ((x, y), (_, _, name)) in enumerate(zip(drawn[:named], keys, strict=False)):
                left = x > right
                text = ax.annotate(name[:28], (x, y), xytext=(-4 if left else 4, 3),
                                   textcoords="offset points", fontsize=7,
                                   ha="right" if left else "left")  # fmt: skip
                text.set_gid(f"data-label-{i}")
        if xt is not None:
            ax.axvline(xt, color=ORANGE, lw=1)
        if yt is not None:
            ax.axhline(yt, color=ORANGE, lw=1)
        if quadrant_names and xt is not None and yt is not None:
            spots = ((0.98, 0.97, "right", "top"), (0.02, 0.97, "left", "top"),
                     (0.98, 0.03, "right", "bottom"), (0.02, 0.03, "left", "bottom"))  # fmt: skip
            for name, (x, y, ha, va) in zip(quadrant_names, spots, strict=True):
                ax.text(x, y, name, transform=ax.transAxes, ha=ha, va=va, color=ORANGE,
                        fontsize=10, weight="bold")  # fmt: skip
        if diagonal:
            top = max([p[0] for p in background] + [k[0] for k in keys] + [fx * 10])
            ax.plot([fx, top], [fx, top], color=ORANGE, ls="--", lw=1)
        ax.xaxis.set_major_formatter(FuncFormatter(_money))
        ax.yaxis.set_major_formatter(FuncFormatter(_money))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        return _svg(fig, title)


def lines(
    xs: Sequence[float],
    series: Sequence[tuple[str, Sequence[float]]],
    title: str,
    xlabel: str,
    ylabel: str,
) -> str:
    """One line per series over ``xs`` (money on the y axis)."""
    with matplotlib.rc_context(_RC):
        fig = _figure()
        ax = fig.add_subplot()
        for (name, values), colour in zip(series, (ORANGE, BLUE, GREY, RED), strict=False):
            ax.plot(list(xs), list(values), label=name, color=colour, lw=2)
        ax.yaxis.set_major_formatter(FuncFormatter(_money))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.legend(frameon=False)
        ax.set_title(title)
        return _svg(fig, title)
