"""A tiny revenue-trend sparkline as a PNG, written with the standard library only."""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Sequence

__all__ = ["sparkline_png"]

_Colour = tuple[int, int, int, int]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def sparkline_png(
    values: Sequence[float],
    *,
    width: int = 120,
    height: int = 28,
    line: _Colour = (11, 61, 145, 255),
    fill: _Colour = (11, 61, 145, 48),
    last_point: _Colour = (201, 55, 44, 255),
) -> bytes:
    """Render ``values`` (oldest first, e.g. monthly revenue) as an RGBA PNG sparkline.

    Missing or non-finite values are skipped; fewer than two usable values give a flat line.
    The output depends only on the arguments, so messages stay byte-for-byte reproducible.
    """
    if width < 4 or height < 4:
        raise ValueError("sparkline needs at least 4x4 pixels")
    points = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if len(points) < 2:
        points = [0.0, 0.0] if not points else [points[0], points[0]]
    low, high = min(points), max(points)
    span = high - low or 1.0
    pad = 2
    xs = [pad + round(i * (width - 1 - 2 * pad) / (len(points) - 1)) for i in range(len(points))]
    ys = [
        pad + round((high - v) / span * (height - 1 - 2 * pad)) if high != low else height // 2
        for v in points
    ]

    pixels = [[(0, 0, 0, 0)] * width for _ in range(height)]

    def put(x: int, y: int, colour: _Colour) -> None:
        if 0 <= x < width and 0 <= y < height:
            pixels[y][x] = colour

    # Area under the line, then the line (Bresenham), then a dot on the latest value.
    for (x0, y0), (x1, y1) in zip(
        zip(xs, ys, strict=True), zip(xs[1:], ys[1:], strict=True), strict=False
    ):
        for x in range(x0, x1 + 1):
            y_line = y0 + (y1 - y0) * (x - x0) / max(x1 - x0, 1)
            for y in range(math.ceil(y_line) + 1, height):
                put(x, y, fill)
    for (x0, y0), (x1, y1) in zip(
        zip(xs, ys, strict=True), zip(xs[1:], ys[1:], strict=True), strict=False
    ):
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err = dx + dy
        x, y = x0, y0
        while True:
            put(x, y, line)
            put(x, y + 1, line)
            if x == x1 and y == y1:
                break
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x += sx
            if e2 <= dx:
                err += dx
                y += sy
    for ox in (-1, 0, 1):
        for oy in (-1, 0, 1):
            put(xs[-1] + ox, ys[-1] + oy, last_point)

    raw = b"".join(b"\x00" + b"".join(bytes(px) for px in row) for row in pixels)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )
