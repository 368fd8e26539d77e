"""The result page's histogram as server-rendered SVG geometry: no chart library, no script."""

from __future__ import annotations

from dataclasses import dataclass

#: The plot area inside the SVG's view box, in its units.
WIDTH, HEIGHT = 640.0, 200.0


@dataclass(frozen=True)
class Bar:
    """One bin: its rectangle and what it counts."""

    x: float
    y: float
    width: float
    height: float
    low: float
    high: float
    count: int


@dataclass(frozen=True)
class Histogram:
    """The bars of a histogram scaled to the plot area, the tallest bin reaching its top."""

    bars: list[Bar]
    low: float
    high: float
    peak: int
    width: float = WIDTH
    height: float = HEIGHT


def histogram(bin_edges: list[float], counts: list[int]) -> Histogram:
    """Scale ``counts`` (one per bin between consecutive ``bin_edges``) to the plot area.

    A worker's histogram always has bins and counts some pixels, so ``peak`` > 0.
    """
    peak = max(counts)
    width = WIDTH / len(counts)
    bars = []
    for index, count in enumerate(counts):
        height = HEIGHT * count / peak
        bars.append(
            Bar(
                x=round(index * width, 3),
                y=round(HEIGHT - height, 3),
                width=round(width, 3),
                height=round(height, 3),
                low=bin_edges[index],
                high=bin_edges[index + 1],
                count=count,
            )
        )
    return Histogram(bars, low=bin_edges[0], high=bin_edges[-1], peak=peak)
