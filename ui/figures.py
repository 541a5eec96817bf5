"""Plotly figure builders: data in, ``go.Figure`` out. No Streamlit, so each is unit-tested.

Figures are assembled from plain dicts and built with ``_validate=False``: Plotly's property
validation made building a figure cost 10–30 ms per rerun, most of a page's budget. The shapes
of these dicts are fixed here and checked by the tests instead. Every figure sets ``uirevision``
so that a redraw after a slider move keeps the user's zoom."""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gradlib.chain import ChainTrace
from gradlib.training import TrainingHistory

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#7f7f7f", "#bcbd22", "#393b79"]
FORWARD_COLOR, BACKWARD_COLOR = "#1f77b4", "#d62728"


def _plottable(values) -> np.ndarray:
    """inf becomes NaN, which Plotly draws as a gap (inf would be drawn at the axis edge)."""
    values = np.array(values, dtype=float)
    values[~np.isfinite(values)] = np.nan
    return values


@lru_cache(maxsize=None)
def _grid_layout(rows: int, cols: int, titles: tuple[str, ...], vertical_spacing: float = 0.14) -> dict:
    """make_subplots' axes and title annotations, computed once per grid (it is the slow part)."""
    return make_subplots(rows=rows, cols=cols, subplot_titles=titles,
                         vertical_spacing=vertical_spacing).layout.to_plotly_json()


def _figure(traces: list[dict], revision: str, height: int, base: dict | None = None, **layout) -> go.Figure:
    full_layout = copy.deepcopy(base) if base else {}
    full_layout.update(uirevision=revision, height=height, margin=dict(l=10, r=10, t=40, b=10),
                       legend=dict(orientation="h", y=-0.15), **layout)
    return go.Figure(data=traces, layout=full_layout, _validate=False)


def _vline(x: float, axis: str = "") -> dict:
    return dict(type="line", xref=f"x{axis}", yref=f"y{axis} domain", x0=x, x1=x, y0=0, y1=1,
                line=dict(color="#aaa", dash="dot"))


def chain_diagram(trace: ChainTrace, revealed: int) -> go.Figure:
    """x → f → f → … → y: values on the nodes; the first ``revealed`` backward stages (from y back)
    show their downstream gradient on the edge they flow along."""
    depth = trace.depth
    names = ["x"] + [f"x{depth - stage}" if stage < depth else "y" for stage in range(1, depth + 1)]
    values = [trace.forward[0].input] + [s.output for s in trace.forward]
    shown = trace.backward[:revealed]
    traces = [
        dict(type="scatter", x=list(range(depth + 1)), y=[0] * (depth + 1), mode="markers+text",
             name="forward values", marker=dict(size=34, color=FORWARD_COLOR, line=dict(color="white", width=2)),
             text=[f"{name}<br>{value:.4g}" for name, value in zip(names, values)], textposition="top center",
             hovertemplate="%{text}<extra></extra>"),
        dict(type="scatter", x=[s.stage - 0.5 for s in shown], y=[0] * len(shown), mode="markers+text",
             name="gradient flowing back", marker=dict(symbol="triangle-left", size=16, color=BACKWARD_COLOR),
             text=[f"f'={s.local_grad:.4g}<br>↓ {s.downstream:.4g}" for s in shown], textposition="bottom center",
             hovertemplate=[f"stage {s.stage}: upstream {s.upstream:.6g} × local {s.local_grad:.6g} "
                            f"= downstream {s.downstream:.6g}<extra></extra>" for s in shown]),
    ]
    edges = [dict(type="line", x0=stage + 0.15, x1=stage + 0.85, y0=0, y1=0, line=dict(color="#888", width=2))
             for stage in range(depth)]
    return _figure(traces, "chain-diagram", 260, shapes=edges,
                   xaxis=dict(visible=False, range=[-0.6, depth + 0.6]),
                   yaxis=dict(visible=False, range=[-1.2, 1.2]))


def chain_curve_figure(xs: np.ndarray, y: np.ndarray, dydx: np.ndarray, x: float, y_at_x: float,
                       dydx_at_x: float, log_scale: bool) -> go.Figure:
    """y(x) and dy/dx(x) over a range, the current x marked; on a log scale |y| and |dy/dx|."""
    traces, lines = [], []
    for axis, (values, at_x, color) in zip(("", "2"), [(y, y_at_x, FORWARD_COLOR), (dydx, dydx_at_x, BACKWARD_COLOR)]):
        values, at_x = (np.abs(values), abs(at_x)) if log_scale else (values, at_x)
        traces += [dict(type="scatter", x=xs, y=_plottable(values), mode="lines", line=dict(color=color),
                        showlegend=False, xaxis=f"x{axis}", yaxis=f"y{axis}"),
                   dict(type="scatter", x=[x], y=_plottable([at_x]), mode="markers", showlegend=False,
                        marker=dict(size=11, color="black"), xaxis=f"x{axis}", yaxis=f"y{axis}")]
        lines.append(_vline(x, axis))
    base = _grid_layout(1, 2, ("y(x)", "dy/dx (custom gradient)"))
    figure = _figure(traces, "chain-curve", 330, base, shapes=lines)
    if log_scale:
        figure.layout.yaxis.type = figure.layout.yaxis2.type = "log"
    return figure


def gradient_field_figure(xs: np.ndarray, ys: np.ndarray, z: np.ndarray, dz_dx: np.ndarray,
                          dz_dy: np.ndarray, point: tuple[float, float], arrows_every: int) -> go.Figure:
    """Contour of z with gradient arrows on a coarser grid and the current point."""
    rows, cols = np.meshgrid(np.arange(0, len(ys), arrows_every), np.arange(0, len(xs), arrows_every), indexing="ij")
    gx, gy = dz_dx[rows, cols].ravel(), dz_dy[rows, cols].ravel()
    px, py = xs[cols].ravel(), ys[rows].ravel()
    finite = np.isfinite(gx) & np.isfinite(gy)
    gx, gy, px, py = gx[finite], gy[finite], px[finite], py[finite]
    # Arrows share one length scale so their lengths compare; the longest spans one cell.
    cell = arrows_every * min(xs[1] - xs[0], ys[1] - ys[0])
    longest = np.max(np.hypot(gx, gy)) if gx.size else 0.0
    factor = 0.9 * cell / longest if longest > 0 else 0.0
    tips_x, tips_y = px + factor * gx, py + factor * gy
    traces = [
        dict(type="contour", x=xs, y=ys, z=_plottable(z), colorscale="RdBu", reversescale=True,
             contours=dict(showlabels=True), name="z", colorbar=dict(title=dict(text="z"))),
        dict(type="scatter", x=np.column_stack([px, tips_x, np.full_like(px, np.nan)]).ravel(),
             y=np.column_stack([py, tips_y, np.full_like(py, np.nan)]).ravel(), mode="lines",
             line=dict(color="black", width=1.2), name="∇z (scaled)", hoverinfo="skip"),
        dict(type="scatter", x=tips_x, y=tips_y, mode="markers", showlegend=False, hoverinfo="skip",
             marker=dict(symbol="triangle-up", size=7, color="black", angle=90 - np.degrees(np.arctan2(gy, gx)))),
        dict(type="scatter", x=[point[0]], y=[point[1]], mode="markers", name="(x, y)",
             marker=dict(size=14, color="gold", line=dict(color="black", width=2))),
    ]
    return _figure(traces, "gradient-field", 480, xaxis=dict(title=dict(text="x"), range=[xs[0], xs[-1]]),
                   yaxis=dict(title=dict(text="y"), range=[ys[0], ys[-1]], scaleanchor="x"))


def surrogate_figure(xs: np.ndarray, step_values: np.ndarray, curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
                     x: float) -> go.Figure:
    """Left: the forward step and each surrogate's smooth primitive (what the backward pass
    pretends the forward was). Right: each surrogate derivative, with the true one, 0."""
    traces = [
        dict(type="scatter", x=xs, y=step_values, mode="lines", name="forward step",
             line=dict(color="black", width=3, shape="hv")),
        dict(type="scatter", x=xs, y=np.zeros_like(xs), mode="lines", name="true derivative (0)",
             line=dict(color="black", dash="dot"), xaxis="x2", yaxis="y2"),
    ]
    for index, (label, (primitive, derivative)) in enumerate(curves.items()):
        color = PALETTE[index % len(PALETTE)]
        traces += [dict(type="scatter", x=xs, y=_plottable(primitive), mode="lines", name=label, legendgroup=label,
                        line=dict(color=color, dash="dash")),
                   dict(type="scatter", x=xs, y=_plottable(derivative), mode="lines", name=label, legendgroup=label,
                        showlegend=False, line=dict(color=color), xaxis="x2", yaxis="y2")]
    base = _grid_layout(1, 2, ("forward step and primitives P(x)", "backward: surrogate derivative g(x)"))
    return _figure(traces, "surrogates", 380, base, shapes=[_vline(x), _vline(x, "2")])


TRAINING_PANELS = (("loss", "loss"), ("x", "x (after the update)"), ("grad", "gradient dL/dx"),
                   ("y", "forward output sign(x)"))


def training_figure(histories: Mapping[str, TrainingHistory], upto: int | None = None) -> go.Figure:
    """Loss, x, gradient and the step's output against step, one colour per run; ``upto`` cuts
    every run at that many steps (play mode) while the axes keep the whole run's range."""
    traces = []
    for index, (label, history) in enumerate(histories.items()):
        columns = history.columns()
        end = len(history) if upto is None else min(upto, len(history))
        for panel, (name, _) in enumerate(TRAINING_PANELS):
            axis = "" if panel == 0 else str(panel + 1)
            traces.append(dict(type="scatter", x=history.step[:end], y=columns[name][:end], mode="lines",
                               name=label, legendgroup=label, showlegend=panel == 0, xaxis=f"x{axis}",
                               yaxis=f"y{axis}", line=dict(color=PALETTE[index % len(PALETTE)])))
    base = _grid_layout(2, 2, tuple(title for _, title in TRAINING_PANELS))
    figure = _figure(traces, "training", 520, base)
    last_step = max(max(h.config.steps for h in histories.values()) - 1, 1)
    figure.update_xaxes(range=[0, last_step])
    figure.layout.xaxis3.title.text = figure.layout.xaxis4.title.text = "step"
    return figure


def optimizer_state_figure(history: TrainingHistory) -> go.Figure:
    """The optimizer's own variables for x against step (Adam's momentum m and velocity v...)."""
    traces = [dict(type="scatter", x=history.step, y=values, mode="lines", name=name,
                   line=dict(color=PALETTE[index % len(PALETTE)]))
              for index, (name, values) in enumerate(history.state.items())]
    return _figure(traces, "optimizer-state", 300, title=dict(text="optimizer state"),
                   xaxis=dict(title=dict(text="step"), range=[0, max(history.config.steps - 1, 1)]),
                   yaxis=dict(title=dict(text="value")))
