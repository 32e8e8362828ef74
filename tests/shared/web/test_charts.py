"""The rating card's chart geometry: proportions, scaling and empty cases."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from shared.schemas.ratings import LabelCounts, TrendPoint
from shared.web import charts


def test_split_segments_tile_the_bar_in_label_order() -> None:
    segments = charts.split(LabelCounts(positive=6, neutral=1, negative=3))
    assert [s.label for s in segments] == ["positive", "neutral", "negative"]
    assert [s.percent for s in segments] == pytest.approx([60, 10, 30])
    assert [s.x for s in segments] == pytest.approx([0, 60, 70])
    assert segments[-1].x + segments[-1].width == pytest.approx(100)
    assert [s.name for s in segments] == ["긍정", "중립", "부정"]


def test_split_without_reviews_has_no_width() -> None:
    segments = charts.split(LabelCounts(positive=0, neutral=0, negative=0))
    assert all(s.width == 0 and s.count == 0 for s in segments)


def test_histogram_scales_to_the_peak_and_colours_by_region() -> None:
    counts = {str(r): 0 for r in range(1, 11)} | {"2": 5, "7": 10, "10": 20}
    chart = charts.histogram(counts)
    heights = {b.label: b.height for b in chart.bars}
    usable = chart.baseline - charts.HIST_TOP
    assert heights["10"] == pytest.approx(usable)
    assert heights["7"] == pytest.approx(usable / 2)
    assert heights["1"] == 0
    assert [b.css for b in chart.bars] == ["negative"] * 4 + ["neutral"] * 4 + ["positive"] * 2
    assert all(b.y + b.height == pytest.approx(chart.baseline) for b in chart.bars)
    assert chart.total == 35


def test_histogram_tolerates_missing_buckets() -> None:
    chart = charts.histogram({})
    assert len(chart.bars) == 10 and chart.total == 0
    assert all(b.height == 0 for b in chart.bars)


def test_trend_bars_and_positivity_line() -> None:
    start = date(2026, 1, 5)
    points = [
        TrendPoint(period=start + timedelta(weeks=i), review_count=n, average_positivity=p)
        for i, (n, p) in enumerate([(2, 1.0), (0, None), (4, 0.25), (1, 0.0)])
    ]
    chart = charts.trend(points)
    assert [b.count for b in chart.bars] == [2, 0, 4, 1]
    assert chart.peak == 4 and chart.total == 7
    assert len(chart.dots) == 3  # the empty week has no positivity
    top = charts.TREND_TOP
    assert chart.dots[0][1] == pytest.approx(top)  # positivity 1.0 at the top
    assert chart.dots[2][1] == pytest.approx(chart.baseline)  # 0.0 on the axis
    assert chart.line.count(",") == 3
    assert [t[2] for t in chart.ticks] == ["start", "middle", "end"]
    assert chart.ticks[0][1] == "01/05"


def test_trend_of_nothing() -> None:
    chart = charts.trend([])
    assert chart.bars == [] and chart.ticks == [] and chart.line == ""
