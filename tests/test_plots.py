"""Plots: every figure builder gives the expected traces, real timestamps and meaningful hovers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from lstm_core import plots


@pytest.fixture(scope="module")
def prepared(series, tiny_cfg):
    from lstm_core.data.prepare import prepare

    return prepare(series, tiny_cfg.data)


def _names(fig: go.Figure) -> list[str]:
    return [t.name for t in fig.data if t.name]


def test_downsample_keeps_extremes_and_bounds_the_count():
    y = np.sin(np.linspace(0, 50, 1_000_000))
    y[123_457] = 10.0  # a spike must survive
    idx = plots.downsample(y, 10_000)
    assert len(idx) <= 10_002
    assert 123_457 in idx and idx[0] == 0 and idx[-1] == len(y) - 1
    assert np.all(np.diff(idx) > 0)
    assert len(plots.downsample(y[:500])) == 500


def test_series_figure_one_panel_per_column_with_timestamps(prepared):
    fig = plots.series_figure(prepared.frame, prepared.targets, prepared.frame.index[[100, 200]])
    assert _names(fig)[:3] == ["y", "x1", "x2"]
    assert "known change point" in _names(fig)
    assert np.issubdtype(np.asarray(fig.data[0].x).dtype, np.datetime64)
    assert fig.layout.xaxis3.rangeslider.visible


def test_series_figure_downsamples_long_series():
    frame = pd.DataFrame(
        {"v": np.random.default_rng(0).normal(size=50_000)},
        index=pd.date_range("2020", periods=50_000, freq="min"),
    )
    fig = plots.series_figure(frame, ("v",))
    assert len(fig.data[0].x) <= plots.MAX_POINTS + 2


def test_loss_figure_marks_the_best_epoch():
    fig = plots.loss_figure([3.0, 2.0, 1.5], [2.5, 1.8, 1.9], best_epoch=2)
    assert _names(fig) == [
        "train (all quantiles)", "validation (median)", "best epoch 2 (kept)"
    ]
    assert list(fig.data[2].x) == [2] and list(fig.data[2].y) == [1.8]
    live = plots.loss_figure([3.0], [2.5], total_epochs=20)  # a live chart spans every epoch
    assert tuple(live.layout.xaxis.range) == (0.5, 20.5)


def test_forecast_and_backtest_figures(fitted, series):
    forecast = fitted.predict(series)
    history = fitted.prepare(series).frame["y"]
    fig = plots.forecast_figure(history, forecast, history_points=100)
    assert _names(fig) == ["y (observed)", "80% interval", "forecast (median)"]
    assert len(fig.data[0].x) == 100
    band = next(t for t in fig.data if t.name == "80% interval")
    assert "10th to 90th percentile" in band.hovertemplate
    assert pd.Timestamp(fig.data[-1].x[0]) > history.index[-1]  # real timestamps after the data
    bt = fitted.backtest(series)
    fig = plots.backtest_figure(bt.forecasts, "y")
    assert _names(fig) == ["80% interval", "forecast (median)", "actual"]
    np.testing.assert_allclose(fig.data[-1].y, bt.forecasts["actual"])


def test_attention_figure_mean_and_each_head(fitted, series):
    ex = fitted.explain(series)
    window = fitted.prepare(series).frame["y"].iloc[-len(ex.times) :]
    fig = plots.attention_figure(window, ex.attention, ex.forecast)
    heads = ex.attention.shape[0]
    assert _names(fig) == ["y", "80% interval", "forecast (median)", "mean of heads"] + (
        [f"head {h + 1}" for h in range(heads)] if heads > 1 else []
    )
    bars = fig.data[4]
    np.testing.assert_allclose(bars.y, ex.attention.mean(axis=0))
    assert "share of the forecast's focus" in bars.hovertemplate


def test_heatmaps_are_bounded_and_labelled():
    times = pd.date_range("2021", periods=100_000, freq="min")
    gate = np.random.default_rng(0).uniform(size=(100_000, 16))
    fig = plots.gate_heatmap(times, gate)
    z = np.asarray(fig.data[0].z)
    assert z.shape[0] == 16 and z.size <= plots.MAX_CELLS
    assert "1 = LSTM output" in fig.data[0].hovertemplate
    attn = np.random.default_rng(1).dirichlet(np.ones(24), size=300)
    fig = plots.attention_heatmap(times[:323], attn, np.arange(300))
    np.testing.assert_allclose(np.asarray(fig.data[0].z)[0], attn[:, -1])  # lag 1 is the last step
    assert pd.Timestamp(fig.data[0].x[0]) == times[23]  # the first window ends at row 23


def test_change_figure_draws_every_kind_of_marker():
    s = pd.Series(
        np.r_[np.zeros(50), np.ones(50)],
        index=pd.date_range("2022", periods=100, freq="D"),
        name="level",
    )
    score = s.diff().abs().fillna(0)
    fig = plots.change_figure(
        s,
        score,
        detected=[s.index[50]],
        classical=[s.index[49]],
        known=[s.index[50]],
        labels=["level: y"],
    )
    assert _names(fig) == [
        "level",
        "change score",
        "change point",
        "change point (classical, raw series)",
        "known change point",
    ]
    assert len(fig.layout.shapes) == 6  # three markers on two panels
    numbers = _numbers(fig)  # numbered, what changed on hover
    assert [a.text for a in numbers] == ["1"] and "level: y" in numbers[0].hovertext


def test_gate_heatmap_sorts_units_on_a_fixed_scale():
    times = pd.date_range("2021", periods=50, freq="h")
    gate = np.tile([0.2, 0.9, 0.5], (50, 1))
    gate[25:, 0] += 0.1  # unit 1 leans more on memory in the second half
    fig = plots.gate_heatmap(times, gate)
    heat = fig.data[0]
    # plotly draws row 1 at the bottom: least memory there, most memory on top
    assert list(np.asarray(heat.customdata)[:, 0]) == [1, 3, 2]
    assert list(heat.colorbar.ticktext) == ["0 input", "0.5", "1 memory"]
    # issue 20: [0, 1] whatever the values, so a gate that hardly moves looks still
    assert (heat.zmin, heat.zmax) == (0, 1)
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text


def test_attention_is_coloured_against_the_even_share():
    """Issue 20: a flat attention looks flat (every marker the even colour), and a peaked one
    saturates at EVEN_CAP x the even share, whatever the range of the weights."""
    L = 48
    times = pd.date_range("2021", periods=L, freq="h")
    window = pd.Series(np.arange(L, dtype=float), index=times, name="y")
    flat = np.full((4, L), 1 / L) + np.random.default_rng(0).normal(0, 1e-4, (4, L))
    marker = plots.attention_figure(window, flat).data[0].marker
    assert (marker.cmin, marker.cmax) == (0, plots.EVEN_CAP)
    np.testing.assert_allclose(marker.color, 1.0, atol=0.02)
    assert np.ptp(marker.size) < 0.2, "no contrast from a near-uniform attention"
    peaked = np.full((1, L), 0.5 / (L - 1))
    peaked[0, -1] = 0.5
    fig = plots.attention_figure(window, peaked)
    assert fig.data[0].marker.color[-1] == pytest.approx(0.5 * L)
    assert fig.layout.shapes[0].y0 == pytest.approx(1 / L), "the even share drawn on the bars"
    assert fig.layout.yaxis.title.text == "y" and fig.layout.yaxis2.title.text
    heat = plots.attention_heatmap(times, np.tile(flat[0], (3, 1)), np.arange(3)).data[0]
    assert (heat.zmin, heat.zmax) == (0, pytest.approx(plots.EVEN_CAP / L))


def test_attribution_and_faithfulness_figures_are_labelled():
    times = pd.date_range("2021", periods=10, freq="h")
    values = np.zeros((10, 2))
    values[3, 1] = -2.0
    heat = plots.attribution_figure(times, values, ["y", "x1"]).data[0]
    assert (heat.zmin, heat.zmax) == (-2.0, 2.0), "symmetric about 0"
    fig = plots.faithfulness_figure({"Attention": 0.8, "IG": 3.1}, {"Attention": False, "IG": True})
    assert list(fig.data[0].x) == [0.8, 3.1] and fig.layout.shapes[0].x0 == 1
    assert fig.data[0].marker.color[0] == "#bbbbbb", "a view not above random is grey"
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text


def test_gate_share_figure_marks_change_points_inside_its_span():
    from types import SimpleNamespace

    from lstm_core.changepoints import ChangePoint

    index = pd.date_range("2021", periods=10, freq="D")
    det = SimpleNamespace(change_points=(ChangePoint(5, index[5], 1.0, "level", ("y",)),
                                         ChangePoint(0, index[0] - pd.Timedelta("1D"), 1.0)))
    outside = index[0] - pd.Timedelta("1D")
    fig = plots.gate_share_figure(index, np.linspace(0, 1, 10), det, [index[2], outside])
    assert _names(fig) == ["units leaning on memory", "change point", "known change point"]
    assert len(fig.layout.shapes) == 2, "only what falls inside the span"
    assert fig.layout.yaxis.tickformat == ".0%"
    assert [a.text for a in fig.layout.annotations] == ["level: y"]


def test_rolling_origin_and_error_by_step_figures(fitted, series):
    from lstm_core import baselines

    held = fitted.held_out(series)
    windows = baselines.tiled_origins(len(held.origins), 4, most=3)
    fig = plots.rolling_origin_figure(held, "y", windows)
    medians = [t for t in fig.data if t.name == "forecast (median)"]
    assert len(medians) == 3 and sum(t.showlegend for t in medians) == 1
    actual = fig.data[-1]
    assert actual.name == "actual" and len(actual.x) == 3 * 4
    assert pd.Timestamp(actual.x[-1]) == held.index[-1]
    steps = baselines.error_by_step(held.actual, {"AttentiveLSTM": held.model[..., 1], **held.baselines})
    fig = plots.error_by_step_figure(steps)
    assert _names(fig)[0] == "AttentiveLSTM" and len(fig.data) == 1 + len(held.baselines)
    assert list(fig.data[0].x) == [1, 2, 3, 4]


def test_loss_figure_draws_batch_losses_of_a_live_run():
    fig = plots.loss_figure([], [], total_epochs=5, batch_loss=[(0.1, 2.0), (0.2, 1.8)])
    assert _names(fig)[0] == "train (per batch)" and list(fig.data[0].y) == [2.0, 1.8]
    assert _names(fig)[1:] == ["train (all quantiles)", "validation (median)"]


def _numbers(fig):
    return [a for a in fig.layout.annotations if a.hovertext and "change point" in a.hovertext]


def _detection(index, rows, kinds):
    from types import SimpleNamespace

    from lstm_core.changepoints import ChangePoint

    s = pd.Series(np.r_[np.zeros(50), np.ones(50)], index=index, name="y")
    points = tuple(ChangePoint(r, index[r], 1.0, k, ("y",)) for r, k in zip(rows, kinds))
    det = SimpleNamespace(
        score=s.diff().abs().fillna(0), change_points=points, classical=(), features="raw"
    )
    return s, det


def test_detection_figure_keeps_the_last_rows_but_reaches_back_to_every_change_point():
    index = pd.date_range("2022", periods=100, freq="D")
    s, det = _detection(index, [70, 80], ["level", "spread"])
    fig = plots.detection_figure(s, det, known=[10, 90], history_points=40)
    assert len(fig.data[0].x) == 40, "both points inside the last 40 rows: those rows"
    s, det = _detection(index, [20, 80], ["level", "spread"])
    fig = plots.detection_figure(s, det, known=[10, 90], history_points=40)
    shown = pd.DatetimeIndex(fig.data[0].x)
    assert shown[0] < index[20] and shown[-1] == index[-1], "the window reaches back to row 20"
    assert "to show every change point" in fig.layout.title.text
    numbers = _numbers(fig)
    assert [a.text for a in numbers] == ["1", "2"]
    assert "level: y" in numbers[0].hovertext and "spread: y" in numbers[1].hovertext
    assert not [a for a in fig.layout.annotations if a.text in ("level: y", "spread: y")]


@pytest.mark.parametrize("unit", ["ns", "s"])
def test_change_point_numbers_of_close_points_do_not_sit_on_each_other(unit):
    index = pd.date_range("2022", periods=100, freq="D").as_unit(unit)
    s, det = _detection(index, [48, 50, 51, 90], ["level"] * 4)
    det.change_points = tuple(  # the points' times in another unit than the series'
        replace(c, time=c.time.as_unit("us")) for c in det.change_points
    )
    y = [a.yshift for a in _numbers(plots.detection_figure(s, det))]  # pixels
    assert len({y[0], y[1], y[2]}) == 3 and min(abs(y[1] - y[0]), abs(y[2] - y[1])) >= 20
    assert y[3] == y[0], "a point far from the others goes back to the first height"


def test_vertical_lines_carry_no_placeholder_labels(prepared):
    fig = plots.series_figure(prepared.frame, prepared.targets, prepared.frame.index[[100, 200]])
    assert all(a.text != "new text" for a in fig.layout.annotations)
    assert len(fig.layout.shapes) == 6
