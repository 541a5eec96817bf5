"""Plotly figure builders: data in, a figure as a plain dict (``{"data": [...], "layout": {...}}``)
out. No Streamlit, so each is unit-tested.

No ``plotly.graph_objects`` object is built: the tree of validated objects, and the copy
``to_dict`` makes of it before Streamlit serialises it, cost more than the figure's data (see
``ui.widgets.chart``, which sends these dicts as they are). The shapes of these dicts are fixed here
and checked by the tests instead. Arrays stay NumPy arrays; ``chart`` encodes them as Plotly does.
Every figure sets ``uirevision`` so that a redraw after a slider move keeps the user's zoom."""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from typing import Mapping

import numpy as np
from plotly.colors import PLOTLY_SCALES, sample_colorscale
from plotly.subplots import make_subplots

from gradlib.chain import ChainTrace
from gradlib.custom import BackwardCheck
from gradlib.fixes import WRONG_REL_ERROR, DescentRun, Log1pexpComparison
from gradlib.networks import GRID, SNAPSHOT_GRID, NetworkHistory
from gradlib.training import TrainingHistory, playback_steps
from ui.contours import contour_lines
from ui.plotly_wire import BACKGROUND, INK, MUTED

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#7f7f7f", "#bcbd22", "#393b79"]
FORWARD_COLOR, BACKWARD_COLOR = "#1f77b4", "#d62728"


def _plottable(values) -> np.ndarray:
    """inf becomes NaN, which Plotly draws as a gap (inf would be drawn at the axis edge).
    float32 is plenty for a picture and halves the figure Streamlit hashes and sends, so it is
    used unless a value needs float64's range (a float64 chain reaches 1e300)."""
    values = np.array(values, dtype=np.float64)
    finite = np.isfinite(values)
    values[~finite] = np.nan
    fits = np.abs(values[finite]).max(initial=0.0) < np.finfo(np.float32).max
    return values.astype(np.float32) if fits else values


@lru_cache(maxsize=None)
def _grid_layout(rows: int, cols: int, titles: tuple[str, ...], vertical_spacing: float = 0.14,
                 shared_x: bool = False) -> dict:
    """make_subplots' axes and title annotations, computed once per grid (it is the slow part).
    Without Plotly's template, which ``ui.widgets.chart`` adds to every figure. Shared: not to be
    changed (``_figure`` copies it). ``shared_x``: the panels of a column share their x axis
    (zoomed together), labelled only under the lowest, so a panel's title never sits on the
    tick labels of the panel above (it did with presenter mode's larger text)."""
    layout = make_subplots(rows=rows, cols=cols, subplot_titles=titles, vertical_spacing=vertical_spacing,
                           shared_xaxes=shared_x).layout.to_plotly_json()
    layout.pop("template", None)
    return layout


def _panels(titles: tuple[str, ...], cols: int, stacked: bool, shared_x: bool = False) -> dict:
    """The layout of panels ``cols`` to a row, or ``stacked`` one to a row for a phone (side by side
    there, a panel is ~170 px wide): stacked, they share one x axis, so that only a title (on one
    line: the panel is wide) goes between them."""
    if stacked:
        return _grid_layout(len(titles), 1, tuple(title.replace("<br>", " ") for title in titles),
                            vertical_spacing=0.07, shared_x=True)
    return _grid_layout(-(-len(titles) // cols), cols, titles, shared_x=shared_x)


def _figure(traces: list[dict], revision: str, height: int, base: dict | None = None, **layout) -> dict:
    full_layout = copy.deepcopy(base) if base else {}
    full_layout.update(uirevision=revision, height=height, margin=dict(l=10, r=10, t=40, b=10),
                       legend=dict(orientation="h", y=-0.15), **layout)
    return {"data": traces, "layout": full_layout}


def _set_axes(layout: dict, prefix: str, **properties) -> None:
    """Set ``properties`` on every axis of the layout named ``prefix`` (``xaxis``, ``xaxis2``…)."""
    for name, axis in layout.items():
        if re.fullmatch(rf"{prefix}\d*", name):
            axis.update(properties)


def _vline(x: float, axis: str = "") -> dict:
    return dict(type="line", xref=f"x{axis}", yref=f"y{axis} domain", x0=x, x1=x, y0=0, y1=1,
                line=dict(color=MUTED, dash="dot"))


def chain_diagram(trace: ChainTrace, revealed: int) -> dict:
    """x → f → f → … → y: values on the nodes; the first ``revealed`` backward stages (from y back)
    show their downstream gradient on the edge they flow along."""
    depth = trace.depth
    names = ["x"] + [f"x{depth - stage}" if stage < depth else "y" for stage in range(1, depth + 1)]
    values = [trace.forward[0].input] + [s.output for s in trace.forward]
    shown = trace.backward[:revealed]
    traces = [
        dict(type="scatter", x=list(range(depth + 1)), y=[0] * (depth + 1), mode="markers+text",
             name="forward values", marker=dict(size=34, color=FORWARD_COLOR, line=dict(color=BACKGROUND, width=2)),
             text=[f"{name}<br>{value:.4g}" for name, value in zip(names, values)], textposition="top center",
             hovertemplate="%{text}<extra></extra>"),
        dict(type="scatter", x=[s.stage - 0.5 for s in shown], y=[0] * len(shown), mode="markers+text",
             name="gradient flowing back", marker=dict(symbol="triangle-left", size=16, color=BACKWARD_COLOR),
             text=[f"f'={s.local_grad:.4g}<br>↓ {s.downstream:.4g}" for s in shown], textposition="bottom center",
             hovertemplate=[f"stage {s.stage}: upstream {s.upstream:.6g} × local {s.local_grad:.6g} "
                            f"= downstream {s.downstream:.6g}<extra></extra>" for s in shown]),
    ]
    edges = [dict(type="line", x0=stage + 0.15, x1=stage + 0.85, y0=0, y1=0, line=dict(color=MUTED, width=2))
             for stage in range(depth)]
    return _figure(traces, "chain-diagram", 260, shapes=edges,
                   xaxis=dict(visible=False, range=[-0.6, depth + 0.6]),
                   yaxis=dict(visible=False, range=[-1.2, 1.2]))


def chain_curve_figure(xs: np.ndarray, y: np.ndarray, dydx: np.ndarray, x: float, y_at_x: float,
                       dydx_at_x: float, log_scale: bool, stacked: bool = False) -> dict:
    """y(x) and dy/dx(x) over a range, the current x marked; on a log scale |y| and |dy/dx|. Side
    by side, or ``stacked`` for a phone."""
    traces, lines = [], []
    for axis, (values, at_x, color) in zip(("", "2"), [(y, y_at_x, FORWARD_COLOR), (dydx, dydx_at_x, BACKWARD_COLOR)]):
        values, at_x = (np.abs(values), abs(at_x)) if log_scale else (values, at_x)
        traces += [dict(type="scatter", x=_plottable(xs), y=_plottable(values), mode="lines", line=dict(color=color),
                        showlegend=False, xaxis=f"x{axis}", yaxis=f"y{axis}"),
                   dict(type="scatter", x=[x], y=_plottable([at_x]), mode="markers", showlegend=False,
                        marker=dict(size=11, color=INK), xaxis=f"x{axis}", yaxis=f"y{axis}")]
        lines.append(_vline(x, axis))
    base = _panels(("y(x)", "dy/dx (custom gradient)"), 2, stacked)
    figure = _figure(traces, "chain-curve", 560 if stacked else 330, base, shapes=lines)
    if log_scale:
        _set_axes(figure["layout"], "yaxis", type="log")
    return figure


def gradient_field_figure(xs: np.ndarray, ys: np.ndarray, z: np.ndarray, dz_dx: np.ndarray,
                          dz_dy: np.ndarray, point: tuple[float, float], arrows_every: int) -> dict:
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
    # The arrows are black in either theme: they lie on the coloured map, not on the page.
    traces = [
        dict(type="contour", x=xs, y=ys, z=_plottable(z), colorscale="RdBu", reversescale=True,
             contours=dict(showlabels=True), name="z", colorbar=dict(title=dict(text="z"))),
        dict(type="scatter", x=np.column_stack([px, tips_x, np.full_like(px, np.nan)]).ravel(),
             y=np.column_stack([py, tips_y, np.full_like(py, np.nan)]).ravel(), mode="lines",
             line=dict(color="black", width=1.2), name="∇z (scaled)", hoverinfo="skip", showlegend=False),
        dict(type="scatter", x=tips_x, y=tips_y, mode="markers", showlegend=False, hoverinfo="skip",
             marker=dict(symbol="triangle-up", size=7, color="black", angle=90 - np.degrees(np.arctan2(gy, gx)))),
        dict(type="scatter", x=[point[0]], y=[point[1]], mode="markers", name="(x, y)",
             marker=dict(size=14, color="gold", line=dict(color="black", width=2))),
    ]
    return _figure(traces, "gradient-field", 480, xaxis=dict(title=dict(text="x"), range=[xs[0], xs[-1]]),
                   yaxis=dict(title=dict(text="y"), range=[ys[0], ys[-1]], scaleanchor="x"))


def surrogate_figure(xs: np.ndarray, step_values: np.ndarray, curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
                     x: float, stacked: bool = False) -> dict:
    """Left (or, ``stacked`` for a phone, above): the forward step and each surrogate's smooth
    primitive (what the backward pass pretends the forward was). Right (below): each surrogate
    derivative, with the true one, 0."""
    traces = [
        dict(type="scatter", x=xs, y=step_values, mode="lines", name="forward step",
             line=dict(color=INK, width=3, shape="hv")),
        dict(type="scatter", x=xs, y=np.zeros_like(xs), mode="lines", name="true derivative (0)",
             line=dict(color=INK, dash="dot"), xaxis="x2", yaxis="y2"),
    ]
    for index, (label, (primitive, derivative)) in enumerate(curves.items()):
        color = PALETTE[index % len(PALETTE)]
        traces += [dict(type="scatter", x=xs, y=_plottable(primitive), mode="lines", name=label, legendgroup=label,
                        line=dict(color=color, dash="dash")),
                   dict(type="scatter", x=xs, y=_plottable(derivative), mode="lines", name=label, legendgroup=label,
                        showlegend=False, line=dict(color=color), xaxis="x2", yaxis="y2")]
    # Two lines each side by side: in a narrow window, one line each ran into the other.
    base = _panels(("forward step and<br>primitives P(x)", "backward: surrogate<br>derivative g(x)"), 2, stacked)
    figure = _figure(traces, "surrogates", 640 if stacked else 400, base, shapes=[_vline(x), _vline(x, "2")])
    if not stacked:
        figure["layout"]["margin"]["t"] = 60  # room for the two-line titles
    return figure


TRAINING_PANELS = (("loss", "loss"), ("x", "x (after the update)"), ("grad", "gradient dL/dx"),
                   ("y", "forward output sign(x)"))


ANIMATION_FRAMES = 60  # Play: drawn by the browser from the one figure sent, in 1.5 to 2 s
FRAME_MS = 16  # one frame a screen refresh (60 Hz) asked: drawn late, a frame takes two (30 a second)
ANIMATION_BUDGET = 100_000  # numbers in all frames together (~0.5 MB): fewer points per frame with more runs


def _animation_controls(redraw: bool | list[bool] = False) -> dict:
    """Plotly's own ▶ Play / Pause buttons over the plots: the browser steps through the figure's
    frames (no server work) at FRAME_MS per frame, redrawing only the traces, or with ``redraw`` the
    whole plot (Plotly moves only scatter traces between frames: a contour changes only then);
    ``redraw`` may say it frame by frame."""
    frame = ([dict(duration=FRAME_MS, redraw=each) for each in redraw] if isinstance(redraw, list)
             else dict(duration=FRAME_MS, redraw=redraw))
    play = dict(frame=frame, transition=dict(duration=0), fromcurrent=False, mode="immediate")
    pause = dict(frame=dict(duration=0, redraw=False), transition=dict(duration=0), mode="immediate")
    return dict(type="buttons", direction="left", showactive=False, x=0, y=1.12, xanchor="left", yanchor="bottom",
                pad=dict(t=0, r=8), buttons=[dict(label="▶ Play", method="animate", args=[None, play]),
                                             dict(label="❚❚ Pause", method="animate", args=[[None], pause])])


def _thinned_cuts(cuts: list[tuple[np.ndarray, np.ndarray]], end: int, points: int) -> list[dict]:
    """A frame of long runs: each run's (steps, values) cut after step ``end`` and thinned to
    ``points`` evenly spaced points. Runs of one length share the points they show, and the steps
    (one array: sent once)."""
    shown_for: dict[int, tuple[slice | np.ndarray, np.ndarray]] = {}
    data = []
    for steps, values in cuts:
        length = min(end, len(steps))
        if length not in shown_for:
            # Every point of a short cut: a slice, so its arrays are views (nothing copied).
            shown = slice(length) if length <= points else np.unique(np.linspace(0, length - 1, points).astype(int))
            shown_for[length] = shown, steps[shown]
        shown, shown_steps = shown_for[length]
        data.append(dict(type="scatter", x=shown_steps, y=values[shown]))
    return data


def training_figure(histories: Mapping[str, TrainingHistory], stacked: bool = False) -> dict:
    """Loss, x, gradient and the step's output against step, one colour per run, and Play: the
    runs drawn step by step in the browser (frames of every run cut at the same step, each cut
    thinned to the frame budget's points), while the axes keep the whole run's range. The panels
    are 2 × 2, or ``stacked`` one under another for a phone (2 × 2 there is ~170 px a panel)."""
    traces, cuts = [], []
    for index, (label, history) in enumerate(histories.items()):
        columns, steps = history.columns(), history.step.astype(np.int32)  # int32: quick to encode, per frame
        for panel, (name, _) in enumerate(TRAINING_PANELS):
            axis = "" if panel == 0 else str(panel + 1)
            traces.append(dict(type="scatter", x=history.step, y=_plottable(columns[name]), mode="lines",
                               name=label, legendgroup=label, showlegend=panel == 0, xaxis=f"x{axis}",
                               yaxis=f"y{axis}", line=dict(color=PALETTE[index % len(PALETTE)])))
            cuts.append((steps, traces[-1]["y"]))  # already plottable: frames only index it
    cols = 1 if stacked else 2
    base = _panels(tuple(title for _, title in TRAINING_PANELS), cols, stacked, shared_x=True)
    longest = max(len(h) for h in histories.values())
    points = max(2, ANIMATION_BUDGET // (2 * ANIMATION_FRAMES * max(len(cuts), 1)))
    # Runs no longer than a frame's points show every point in every frame: a frame then sends
    # only y, which Plotly draws against the trace's own steps (it draws min(len(x), len(y))
    # points). That halves the figure. Longer runs are thinned, so their frames send x too.
    whole = longest <= points
    frames = [dict(name=str(end), traces=list(range(len(cuts))),
                   data=[dict(type="scatter", y=values[:end]) for _, values in cuts] if whole
                   else _thinned_cuts(cuts, end, points))
              for end in playback_steps(max(longest, 1), min(ANIMATION_FRAMES, max(longest, 1)))]
    figure = _figure(traces, "training", 880 if stacked else 540, base, updatemenus=[_animation_controls()])
    figure["frames"] = frames
    figure["layout"]["margin"]["t"] = 70  # room for the buttons above the plots
    last_step = max(max(h.config.steps for h in histories.values()) - 1, 1)
    _set_axes(figure["layout"], "xaxis", range=[0, last_step])
    for lowest in range(len(TRAINING_PANELS) - cols + 1, len(TRAINING_PANELS) + 1):  # each column's
        figure["layout"][f"xaxis{lowest}"]["title"] = dict(text="step")
    return figure


def optimizer_state_figure(history: TrainingHistory) -> dict:
    """The optimizer's own variables for x against step (Adam's momentum m and velocity v...)."""
    traces = [dict(type="scatter", x=history.step, y=_plottable(values), mode="lines", name=name,
                   line=dict(color=PALETTE[index % len(PALETTE)]))
              for index, (name, values) in enumerate(history.state.items())]
    figure = _figure(traces, "optimizer-state", 300, title=dict(text="optimizer state"),
                     xaxis=dict(title=dict(text="step"), range=[0, max(history.config.steps - 1, 1)]),
                     yaxis=dict(title=dict(text="value")))
    # Under the axis title: in a chart this low, the usual place (15% of the plot down) is on it.
    figure["layout"]["legend"]["y"] = -0.3
    return figure


# The colours of the P(class 1) contour's 10 bands (0 to 1 by 0.1, RdBu reversed), each band's
# middle as Plotly colours it, for Play's tiles: a tile takes the colour of its value's band.
_BANDS = sample_colorscale(PLOTLY_SCALES["RdBu"], [1 - (band + 0.5) / 10 for band in range(10)])
BAND_COLORSCALE = [[edge, color] for band, color in enumerate(_BANDS) for edge in (band / 10, (band + 1) / 10)]
FILL_OPACITY = 0.75
SNAPSHOT_TILE_PX = 15  # a snapshot point's tile fills its cell on a desktop (14.8 px); tiles overlap on a phone


def decision_boundary_figure(points: np.ndarray, labels: np.ndarray, history: NetworkHistory) -> dict:
    """P(class 1) over the plane after the last step, the 0.5 contour as the boundary, and the
    training points; ▶ Play: the browser draws the boundary at each of the run's snapshot steps
    (on the coarser SNAPSHOT_GRID), then after the last step, from frames of the one figure sent.

    A contour changes only when Plotly redraws the whole chart, and a redraw every frame was slower
    than 30 frames a second. So the snapshots are drawn by scatter traces, which Plotly moves
    without a redraw: a tile per snapshot point in the colour of its band, the 0.5 line traced by
    ui.contours, and the step as a text (the title is not redrawn either). Only the first frame
    (the contours out of sight) and the last (the final contours back) redraw the chart."""
    final = history.boundary.astype(np.float32)  # one array for the traces and the last frame: sent once
    empty: list[float] = []
    # Plotly's RdBu runs blue to red; reversed, P(1) = 1 is blue like the class-1 points.
    traces = [dict(type="contour", x=GRID, y=GRID, z=final, zmin=0, zmax=1, colorscale="RdBu",
                   reversescale=True, contours=dict(start=0, end=1, size=0.1), line=dict(width=0), opacity=FILL_OPACITY,
                   name="P(class 1)",
                   colorbar=dict(title=dict(text="P(1)"))),
              # Lines coloured by level take the colorscale's colour: the theme's text colour.
              dict(type="contour", x=GRID, y=GRID, z=final, showscale=False, name="boundary",
                   contours=dict(start=0.5, end=0.5, size=1, coloring="lines"), line=dict(width=2),
                   colorscale=[[0, INK], [1, INK]], hoverinfo="skip"),
              # Play's snapshots, empty until it starts: opaque tiles made translucent together,
              # as the contour's bands are, so tiles that overlap (on a narrow chart) do not darken.
              dict(type="scatter", x=empty, y=empty, mode="markers", opacity=FILL_OPACITY,
                   name="P(class 1) at the step",
                   marker=dict(symbol="square", size=SNAPSHOT_TILE_PX, color=empty, cmin=0, cmax=1,
                               colorscale=BAND_COLORSCALE, line=dict(width=0)),
                   hoverinfo="skip", showlegend=False),
              dict(type="scatter", x=empty, y=empty, mode="lines", name="boundary at the step",
                   line=dict(color=INK, width=2), hoverinfo="skip", showlegend=False)]
    for label, color in ((0, "#d62728"), (1, "#1f77b4")):
        chosen = labels == label
        traces.append(dict(type="scatter", x=points[chosen, 0], y=points[chosen, 1], mode="markers",
                           name=f"class {label}", marker=dict(color=color, size=7, line=dict(color=BACKGROUND, width=1))))
    # The step during Play, where the title is: on axes over the plot that run 0 to 1 like the paper.
    traces.append(dict(type="scatter", x=empty, y=empty, text=[""], mode="text", textposition="top left",
                       cliponaxis=False, xaxis="x2", yaxis="y2", hoverinfo="skip", showlegend=False))
    tiles, line, step_text = 2, 3, len(traces) - 1
    tile_x, tile_y = (a.ravel().astype(np.float32) for a in np.meshgrid(SNAPSHOT_GRID, SNAPSHOT_GRID))
    frames = []
    for index, (step, z, (line_x, line_y)) in enumerate(zip(history.snapshot_steps.tolist(), history.snapshots,
                                                            contour_lines(history.snapshots, SNAPSHOT_GRID, 0.5))):
        data = {tiles: dict(type="scatter", marker=dict(color=z.reshape(-1))),
                line: dict(type="scatter", x=line_x, y=line_y),
                step_text: dict(type="scatter", text=[f"after step {step}"])}
        frame = dict(name=str(step))
        if index == 0:  # the contours out of sight (their colour bar kept), the tiles and the step in place
            data |= {0: dict(type="contour", opacity=0, hoverinfo="skip"), 1: dict(type="contour", opacity=0)}
            data[tiles] |= dict(x=tile_x, y=tile_y)
            data[step_text] |= dict(x=[1], y=[1])
            frame["layout"] = dict(title=dict(text=""))
        frames.append(dict(frame, data=list(data.values()), traces=list(data)))
    # After the last step: the figure as it was before Play.
    last_step = history.config.steps
    frames.append(dict(name=str(last_step), layout=dict(title=dict(text=f"after step {last_step}")),
                       traces=[0, 1, tiles, line, step_text],
                       data=[dict(type="contour", x=GRID, y=GRID, z=final, opacity=FILL_OPACITY, hoverinfo="all"),
                             dict(type="contour", x=GRID, y=GRID, z=final, opacity=1),
                             dict(type="scatter", x=empty, y=empty, marker=dict(color=empty)),
                             dict(type="scatter", x=empty, y=empty),
                             dict(type="scatter", x=empty, y=empty, text=[""])]))
    figure = _figure(traces, "decision-boundary", 460, xaxis=dict(range=[GRID[0], GRID[-1]]),
                     yaxis=dict(range=[GRID[0], GRID[-1]], scaleanchor="x"),
                     xaxis2=dict(overlaying="x", range=[0, 1], visible=False, fixedrange=True),
                     yaxis2=dict(overlaying="y", range=[0, 1], visible=False, fixedrange=True),
                     updatemenus=[_animation_controls([index in (0, len(frames) - 1) for index in range(len(frames))])],
                     # Just above the plot, under the buttons: beside them it ran into Pause on a phone.
                     title=dict(text=f"after step {last_step}", x=1, xref="paper", xanchor="right",
                                y=1, yref="paper", yanchor="bottom", pad=dict(b=4)))
    figure["frames"] = frames
    figure["layout"]["margin"]["t"] = 70  # room for the buttons above the plot
    return figure


NETWORK_PANELS = (("loss", "loss (cross-entropy)"), ("accuracy", "training accuracy"),
                  ("first_layer_grad", "‖∂L/∂W₁‖: what reaches the first layer"))


def network_curves_figure(histories: Mapping[str, NetworkHistory], steps: int) -> dict:
    """Loss, accuracy and the first layer's gradient norm against step, one colour per run, on one
    shared step axis."""
    traces = []
    for index, (label, history) in enumerate(histories.items()):
        for panel, (name, _) in enumerate(NETWORK_PANELS):
            axis = "" if panel == 0 else str(panel + 1)
            traces.append(dict(type="scatter", x=history.step, y=_plottable(getattr(history, name)), mode="lines",
                               name=label, legendgroup=label, showlegend=panel == 0, xaxis=f"x{axis}",
                               yaxis=f"y{axis}", line=dict(color=PALETTE[index % len(PALETTE)])))
    base = _grid_layout(3, 1, tuple(title for _, title in NETWORK_PANELS), vertical_spacing=0.14,  # room for titles
                        shared_x=True)
    figure = _figure(traces, "network-curves", 560, base)
    _set_axes(figure["layout"], "xaxis", range=[0, max(steps - 1, 1)])
    figure["layout"]["xaxis3"]["title"] = dict(text="step")
    return figure


def log1pexp_figure(comparison: Log1pexpComparison, x: float, autodiff_wrong_from: float | None,
                    docs_wrong_up_to: float | None) -> dict:
    """d/dx log(1 + e^x) three ways against the exact value (top, log scale) and each one's
    relative error (bottom), with where autodiff and the docs' form are wrong shaded."""
    floor = 1e-10  # an error of exactly 0 is drawn here: a log axis has no 0
    # Where σ(x) is below the dtype's smallest normal number no method can hold it (TF flushes
    # it to 0): no error is drawn there.
    holdable = comparison.exact >= np.finfo(comparison.dtype).tiny
    traces = [dict(type="scatter", x=comparison.x, y=_plottable(comparison.exact), mode="lines", name="exact",
                   legendgroup="exact", line=dict(color="#7f7f7f", width=6))]
    styles = {"stable": ("stable custom gradient", FORWARD_COLOR, "solid"),
              "docs": ("the docs' custom gradient", "#ff7f0e", "dot"),
              "autodiff": ("TF autodiff", BACKWARD_COLOR, "dash")}
    for method, (name, color, dash) in styles.items():
        line = dict(color=color, dash=dash, width=2)
        traces += [dict(type="scatter", x=comparison.x, y=_plottable(comparison.gradients[method]), mode="lines",
                        name=name, legendgroup=method, line=line),
                   dict(type="scatter", x=comparison.x, y=_plottable(np.where(holdable, np.maximum(comparison.rel_errors[method], floor), np.nan)),
                        mode="lines", name=name, legendgroup=method, showlegend=False, line=line,
                        xaxis="x2", yaxis="y2")]
    shapes = [_vline(x), _vline(x, "2"),
              dict(type="line", xref="x2 domain", yref="y2", x0=0, x1=1, y0=WRONG_REL_ERROR, y1=WRONG_REL_ERROR,
                   line=dict(color=MUTED, dash="dot"))]
    for start, end, color in ((autodiff_wrong_from, comparison.x[-1], BACKWARD_COLOR),
                              (comparison.x[0], docs_wrong_up_to, "#ff7f0e")):
        if start is not None and end is not None:
            shapes += [dict(type="rect", xref=f"x{axis}", yref=f"y{axis} domain", x0=start, x1=end, y0=0, y1=1,
                            fillcolor=color, opacity=0.08, line=dict(width=0)) for axis in ("", "2")]
    base = _grid_layout(2, 1, ("dy/dx (float32, log scale)", "relative error against the exact value"), shared_x=True)
    return _figure(traces, "log1pexp", 620, base, shapes=shapes,
                   yaxis=dict(base["yaxis"], type="log", exponentformat="power"),
                   yaxis2=dict(base["yaxis2"], type="log", exponentformat="power"),
                   xaxis2=dict(base["xaxis2"], title=dict(text="x")))


def descent_figure(run: DescentRun, fixed_label: str) -> dict:
    """x and the gradient x received, per step, through the fix and without it."""
    traces = []
    for label, xs, grads, color in ((fixed_label, run.x_with, run.grad_with, FORWARD_COLOR),
                                    ("without", run.x_without, run.grad_without, BACKWARD_COLOR)):
        traces += [dict(type="scatter", x=run.step, y=_plottable(xs), mode="lines", name=label, legendgroup=label,
                        line=dict(color=color)),
                   dict(type="scatter", x=run.step, y=_plottable(grads), mode="lines", name=label, legendgroup=label,
                        showlegend=False, line=dict(color=color), xaxis="x2", yaxis="y2")]
    base = _grid_layout(1, 2, ("x after each step", "gradient x received"))
    return _figure(traces, "descent", 360, base)


def backward_check_figure(check: BackwardCheck, x: float) -> dict:
    """f over the range (top); your g against f′ three ways (bottom), where g is wrong shaded."""
    traces = [dict(type="scatter", x=check.x, y=_plottable(check.forward), mode="lines", name="f(x)",
                   line=dict(color=FORWARD_COLOR, width=3))]
    for name, values, color, dash, width in (("f′ exact (sympy)", check.exact, "#7f7f7f", "solid", 7),
                                             ("TF autodiff of f", check.autodiff, "#2ca02c", "dot", 3),
                                             ("finite difference", check.finite_difference, "#ff7f0e", "dash", 2),
                                             ("g, your backward", check.backward, BACKWARD_COLOR, "solid", 2)):
        traces.append(dict(type="scatter", x=check.x, y=_plottable(values), mode="lines", name=name,
                           line=dict(color=color, dash=dash, width=width), xaxis="x2", yaxis="y2"))
    shapes = [_vline(x), _vline(x, "2")]
    # One rectangle per run of wrong points (edges half a grid step out, so a lone point shows).
    half = (check.x[1] - check.x[0]) / 2
    edges = np.flatnonzero(np.diff(np.concatenate([[0], check.wrong.astype(int), [0]])))
    for start, end in zip(edges[::2], edges[1::2]):
        shapes.append(dict(type="rect", xref="x2", yref="y2 domain", x0=check.x[start] - half,
                           x1=check.x[end - 1] + half, y0=0, y1=1, fillcolor=BACKWARD_COLOR, opacity=0.1,
                           line=dict(width=0)))
    base = _grid_layout(2, 1, ("f(x)", "g(x) against f′(x)"), shared_x=True)
    return _figure(traces, "backward-check", 560, base, shapes=shapes, xaxis2=dict(base["xaxis2"], title=dict(text="x")))

