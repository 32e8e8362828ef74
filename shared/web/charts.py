"""Geometry of the rating card's charts, drawn as inline SVG by the templates (no chart JS).

Pure functions of the ratings API's numbers: the positive/neutral/negative split, the 1..10
predicted-rating histogram and the weekly trend. Coordinates are in each chart's viewBox.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.schemas.ratings import LabelCounts, TrendPoint

LABELS = ("positive", "neutral", "negative")
LABEL_NAMES = {"positive": "긍정", "neutral": "중립", "negative": "부정"}


def rating_region(rating: int) -> str:
    """The NSMC convention the model's label follows: 1-4 negative, 5-8 neutral, 9-10 positive."""
    return "negative" if rating <= 4 else "neutral" if rating <= 8 else "positive"


@dataclass(frozen=True, slots=True)
class Segment:
    label: str
    name: str
    count: int
    percent: float
    x: float
    width: float


def split(counts: LabelCounts) -> list[Segment]:
    """Segments of a 100-unit-wide bar, in label order; empty labels get no width."""
    values = {label: int(getattr(counts, label)) for label in LABELS}
    total = sum(values.values())
    segments: list[Segment] = []
    x = 0.0
    for label in LABELS:
        share = values[label] / total * 100 if total else 0.0
        segments.append(Segment(label, LABEL_NAMES[label], values[label], share, x, share))
        x += share
    return segments


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    count: int
    x: float
    y: float
    width: float
    height: float
    css: str


@dataclass(frozen=True, slots=True)
class Histogram:
    width: int
    height: int
    baseline: float
    bars: list[Bar]
    total: int


HIST_W, HIST_H, HIST_TOP, HIST_BOTTOM = 300, 130, 16, 18


def histogram(counts: dict[str, int]) -> Histogram:
    """Ten bars, 1..10, scaled to the largest count; the region colours the bar."""
    values = [int(counts.get(str(rating), 0)) for rating in range(1, 11)]
    peak = max(values) or 1
    slot = HIST_W / 10
    usable = HIST_H - HIST_TOP - HIST_BOTTOM
    baseline = HIST_H - HIST_BOTTOM
    bars = []
    for index, count in enumerate(values):
        height = usable * count / peak
        bars.append(
            Bar(
                label=str(index + 1),
                count=count,
                x=round(index * slot + slot * 0.15, 2),
                y=round(baseline - height, 2),
                width=round(slot * 0.7, 2),
                height=round(height, 2),
                css=rating_region(index + 1),
            )
        )
    return Histogram(HIST_W, HIST_H, baseline, bars, sum(values))


@dataclass(frozen=True, slots=True)
class TrendChart:
    width: int
    height: int
    baseline: float
    bars: list[Bar]
    line: str  # SVG polyline points of the mean positivity (periods with reviews only)
    dots: list[tuple[float, float, str, float]]  # x, y, period, positivity
    ticks: list[tuple[float, str, str]]  # x, label, anchor class (start / middle / end)
    peak: int
    total: int


TREND_W, TREND_H, TREND_TOP, TREND_BOTTOM = 600, 160, 12, 22


def trend(points: list[TrendPoint]) -> TrendChart:
    """Review counts as bars and mean positivity (0..1 on the same height) as a line."""
    count = max(len(points), 1)
    slot = TREND_W / count
    usable = TREND_H - TREND_TOP - TREND_BOTTOM
    baseline = TREND_H - TREND_BOTTOM
    peak = max((p.review_count for p in points), default=0)
    bars: list[Bar] = []
    dots: list[tuple[float, float, str, float]] = []
    for index, point in enumerate(points):
        height = usable * point.review_count / (peak or 1)
        x = index * slot
        bars.append(
            Bar(
                label=point.period.isoformat(),
                count=point.review_count,
                x=round(x + slot * 0.1, 2),
                y=round(baseline - height, 2),
                width=round(slot * 0.8, 2),
                height=round(height, 2),
                css="count",
            )
        )
        if point.average_positivity is not None:
            y = baseline - usable * point.average_positivity
            dots.append(
                (
                    round(x + slot / 2, 2),
                    round(y, 2),
                    point.period.isoformat(),
                    point.average_positivity,
                )
            )
    line = " ".join(f"{x},{y}" for x, y, _, _ in dots)
    last = len(points) - 1
    ticks = [
        (
            0.0 if index == 0 else float(TREND_W) if index == last else round(index * slot, 2),
            points[index].period.strftime("%m/%d"),
            "start" if index == 0 else "end" if index == last else "middle",
        )
        for index in sorted({0, len(points) // 2, last})
        if points
    ]
    total = sum(p.review_count for p in points)
    return TrendChart(TREND_W, TREND_H, baseline, bars, line, dots, ticks, peak, total)
