"""Figure builders: data in, a Plotly figure as a plain dict out, without Streamlit or Plotly objects."""

import json
import subprocess
import sys

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

import gradlib
from ui import figures
from ui.contours import contour_lines
from ui.plotly_wire import INK, styled


def test_the_engine_and_the_figure_modules_do_not_import_streamlit():
    # One fresh interpreter for both (each start imports TensorFlow): gradlib needs neither Streamlit
    # nor Plotly; the figure builders and code generators need no Streamlit.
    code = ("import sys, gradlib; print('streamlit' in sys.modules, 'plotly' in sys.modules);"
            "import ui.figures, ui.snippets; print('streamlit' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False", "False"]


def test_figures_are_plain_dicts_plotly_accepts():
    trace = gradlib.trace_chain("square", 2.0, 3)
    figure = figures.chain_diagram(trace, 3)
    assert type(figure) is dict and set(figure) == {"data", "layout"}
    assert all(type(t) is dict for t in figure["data"]) and type(figure["layout"]) is dict
    # Plotly's validation accepts every property the builder set.
    checked = go.Figure(figure)
    assert [t.type for t in checked.data] == ["scatter", "scatter"] and checked.layout.height == 260


def test_chain_diagram_reveals_backward_stages():
    trace = gradlib.trace_chain("square", 2.0, 3)
    for revealed in range(4):
        figure = figures.chain_diagram(trace, revealed)
        assert list(figure["data"][1]["x"]) == [2.5, 1.5, 0.5][:revealed]
    nodes = figure["data"][0]
    assert [text.split("<br>")[1] for text in nodes["text"]] == ["2", "4", "16", "256"]
    assert len(figure["layout"]["shapes"]) == 3


def test_chain_curve_turns_inf_into_gaps_and_log_scale_into_magnitudes():
    xs = np.array([-2.0, 0.0, 2.0])
    figure = figures.chain_curve_figure(xs, np.array([-4.0, np.inf, 4.0]), np.array([1.0, 2.0, -3.0]),
                                        2.0, 4.0, -3.0, log_scale=True)
    data, layout = figure["data"], figure["layout"]
    assert np.isnan(data[0]["y"][1]) and list(data[0]["y"][[0, 2]]) == [4.0, 4.0]
    assert list(data[3]["y"]) == [3.0]
    assert layout["yaxis"]["type"] == "log" and layout["yaxis2"]["type"] == "log"
    assert layout["uirevision"] == "chain-curve"
    assert [a["text"] for a in layout["annotations"]] == ["y(x)", "dy/dx (custom gradient)"]
    # The log scale went to this figure's axes only, not to the grid layout figures share.
    linear = figures.chain_curve_figure(xs, xs, xs, 0.0, 0.0, 1.0, log_scale=False)["layout"]
    assert "type" not in linear["yaxis"] and "type" not in linear["yaxis2"]


def test_gradient_field_arrows_point_along_the_gradient():
    xs = np.linspace(-2, 2, 11)
    z, dz_dx, dz_dy = gradlib.gradient_field("hypot", xs, xs)
    figure = figures.gradient_field_figure(xs, xs, z, dz_dx, dz_dy, (1.0, 1.0), arrows_every=5)
    segments_x, segments_y = np.asarray(figure["data"][1]["x"]), np.asarray(figure["data"][1]["y"])
    starts = np.column_stack([segments_x[0::3], segments_y[0::3]])
    ends = np.column_stack([segments_x[1::3], segments_y[1::3]])
    away = np.einsum("ij,ij->i", ends - starts, starts)  # hypot's gradient points away from the origin
    assert np.all(away[np.linalg.norm(starts, axis=1) > 0] > 0)
    layout = figure["layout"]
    assert layout["xaxis"]["title"]["text"] == "x" and layout["yaxis"]["title"]["text"] == "y"
    assert figure["data"][-1]["x"] == [1.0] and figure["data"][-1]["y"] == [1.0]


def test_surrogate_figure_has_one_primitive_and_derivative_per_surrogate():
    xs = np.linspace(-1, 1, 5)
    figure = figures.surrogate_figure(xs, np.sign(xs), {"a": (xs, xs ** 2), "b": (xs, np.abs(xs))}, 0.5)
    assert [t["name"] for t in figure["data"]] == ["forward step", "true derivative (0)", "a", "a", "b", "b"]
    assert [t.get("yaxis") for t in figure["data"][2:]] == [None, "y2", None, "y2"]  # None: the first axes
    np.testing.assert_array_equal(figure["data"][5]["y"], np.abs(xs))


def test_training_figure_plays_in_the_browser_from_frames_of_the_run():
    history = gradlib.train(gradlib.TrainingConfig(steps=30))
    figure = figures.training_figure({"run": history})
    data, layout, frames = figure["data"], figure["layout"], figure["frames"]
    assert len(data) == 4 and all(len(trace["x"]) == 30 for trace in data)  # the whole run, shown at once
    np.testing.assert_allclose(data[1]["y"], history.x, rtol=1e-6)  # the x panel
    assert all(layout[f"xaxis{n}"]["range"] == [0, 29] for n in ("", "2", "3", "4"))
    assert layout["xaxis3"]["title"]["text"] == layout["xaxis4"]["title"]["text"] == "step"
    assert "title" not in layout["xaxis"]
    # Play: one frame per step for a short run, each cutting all four panels at that step.
    assert [frame["name"] for frame in frames] == [str(n) for n in range(1, 31)]
    assert all(frame["traces"] == [0, 1, 2, 3] for frame in frames)
    tenth = frames[9]["data"]  # y alone: Plotly draws it against the first 10 of the trace's steps
    assert all("x" not in trace and len(trace["y"]) == 10 for trace in tenth)
    np.testing.assert_allclose(tenth[1]["y"], history.x[:10], rtol=1e-6)
    buttons = layout["updatemenus"][0]["buttons"]
    assert [b["label"] for b in buttons] == ["▶ Play", "❚❚ Pause"] and buttons[0]["method"] == "animate"
    assert buttons[0]["args"][1]["frame"] == {"duration": figures.FRAME_MS, "redraw": False}  # 40 frames a second asked
    # A long comparison stays within the frame budget: fewer points per frame, never more frames.
    long_runs = {name: gradlib.train(gradlib.TrainingConfig(optimizer=name, steps=5000)) for name in ("adam", "sgd")}
    frames = figures.training_figure(long_runs)["frames"]
    assert len(frames) == figures.ANIMATION_FRAMES and frames[-1]["name"] == "5000"
    assert sum(len(trace["x"]) * 2 for frame in frames for trace in frame["data"]) <= figures.ANIMATION_BUDGET
    last = frames[-1]["data"][0]  # thinned, so with its steps
    assert last["x"][0] == 0 and last["x"][-1] == 4999  # the last frame reaches the end of the run
    assert all(len(trace["x"]) == len(trace["y"]) for frame in frames for trace in frame["data"])
    state = figures.optimizer_state_figure(history)
    assert [t["name"] for t in state["data"]] == ["momentum", "velocity"]
    assert state["layout"]["yaxis"]["title"]["text"] == "value"


def test_decision_boundary_plays_the_boundary_forming_in_the_browser():
    history = gradlib.train_network(gradlib.NetworkConfig(steps=40))
    points, labels = gradlib.make_dataset("moons", 0)
    figure = figures.decision_boundary_figure(points, labels, history)
    assert go.Figure(figure).frames  # Plotly's validation accepts the frames too
    data, layout, frames = figure["data"], figure["layout"], figure["frames"]
    assert [t["type"] for t in data] == ["contour", "contour", *["scatter"] * 5]
    np.testing.assert_array_equal(data[0]["z"], np.float32(history.boundary))
    assert data[1]["z"] is data[0]["z"] and data[1]["colorscale"] == [[0, INK], [1, INK]]  # the theme's, not black
    tiles, line, step = data[2], data[3], data[6]
    assert line["line"]["color"] == INK and step["xaxis"] == "x2"
    assert [len(trace["x"]) for trace in (tiles, line, step)] == [0, 0, 0]  # drawn only while Play runs
    # Play: the boundary at each snapshot step, on the coarser grid, by scatter traces (Plotly moves
    # them without redrawing the chart), then the final contours again, as before Play.
    assert [frame["name"] for frame in frames] == [*map(str, history.snapshot_steps), "40"]
    lines = contour_lines(history.snapshots, figures.SNAPSHOT_GRID, 0.5)
    for index, (frame, snapshot, (line_x, line_y)) in enumerate(zip(frames, history.snapshots, lines)):
        by_trace = dict(zip(frame["traces"], frame["data"]))
        np.testing.assert_array_equal(by_trace[2]["marker"]["color"], snapshot.ravel())
        np.testing.assert_array_equal(by_trace[3]["x"], line_x)
        np.testing.assert_array_equal(by_trace[3]["y"], line_y)
        assert by_trace[6]["text"] == [f"after step {frame['name']}"]
        if index == 0:  # the contours out of sight, the tiles on the snapshot grid, the step where the title was
            assert by_trace[0]["opacity"] == by_trace[1]["opacity"] == 0 and frame["layout"]["title"]["text"] == ""
            side = len(figures.SNAPSHOT_GRID)
            np.testing.assert_array_equal(by_trace[2]["x"], np.float32(np.tile(figures.SNAPSHOT_GRID, side)))
            np.testing.assert_array_equal(by_trace[2]["y"], np.float32(np.repeat(figures.SNAPSHOT_GRID, side)))
        else:
            assert sorted(frame["traces"]) == [2, 3, 6] and "layout" not in frame
    final = dict(zip(frames[-1]["traces"], frames[-1]["data"]))
    assert sorted(final) == [0, 1, 2, 3, 6] and frames[-1]["layout"]["title"]["text"] == "after step 40"
    assert final[0]["z"] is final[1]["z"] is data[0]["z"] and (final[0]["opacity"], final[1]["opacity"]) == (0.75, 1)
    assert final[0]["x"] is gradlib.GRID and all(len(final[t]["x"]) == 0 for t in (2, 3, 6))
    assert layout["title"]["text"] == "after step 40"
    buttons = layout["updatemenus"][0]["buttons"]
    assert [b["label"] for b in buttons] == ["▶ Play", "❚❚ Pause"]
    # A contour changes only when redrawn: the first frame (contours hidden) and the last (shown) redraw.
    assert buttons[0]["args"][1]["frame"] == [{"duration": figures.FRAME_MS, "redraw": index in (0, len(frames) - 1)}
                                              for index in range(len(frames))]
    assert figures.training_figure({"run": gradlib.train(gradlib.TrainingConfig(steps=5))})[
        "layout"]["updatemenus"][0]["buttons"][0]["args"][1]["frame"]["redraw"] is False  # the shared controls kept


def test_snapshot_tiles_take_the_colours_plotly_gives_the_contour_bands():
    # As Chromium draws the P(class 1) contour's 10 bands (read from its SVG): a tile of a snapshot
    # point is coloured like the band its value falls in, to within rounding.
    drawn = [(187, 33, 38), (204, 78, 59), (221, 123, 80), (225, 158, 111), (205, 180, 161), (162, 172, 209),
             (106, 137, 247), (77, 101, 226), (48, 64, 204), (19, 28, 183)]
    scale = figures.BAND_COLORSCALE
    assert len(scale) == 20 and [edge for edge, _ in scale[::2]] == [band / 10 for band in range(10)]
    for band, (low, high) in enumerate(zip(scale[::2], scale[1::2])):
        assert low[1] == high[1] and high[0] == (band + 1) / 10
        rgb = [float(channel) for channel in low[1][4:-1].split(",")]
        assert np.abs(np.subtract(rgb, drawn[band])).max() <= 1, (band, low[1])


def test_network_curves_share_one_step_axis_numbered_at_the_bottom():
    history = gradlib.train_network(gradlib.NetworkConfig(steps=40))
    layout = figures.network_curves_figure({"a": history, "b": history}, 40)["layout"]
    # Step numbers under an upper panel sat on the title of the panel below.
    for upper in ("xaxis", "xaxis2"):
        assert layout[upper]["showticklabels"] is False and layout[upper]["matches"] == "x3"
    assert layout["xaxis3"].get("showticklabels", True) and layout["xaxis3"]["title"]["text"] == "step"
    assert all(layout[f"xaxis{n}"]["range"] == [0, 39] for n in ("", "2", "3"))


def test_a_phone_gets_every_panel_on_a_row_of_its_own():
    """Side by side on a phone a panel is ~170 px wide: stacked, each takes the chart's width, one
    under another without overlapping, on one shared x axis numbered under the lowest panel."""
    xs = np.linspace(-3, 3, 7)
    history = gradlib.train(gradlib.TrainingConfig(steps=20))
    built = {"chain": lambda stacked: figures.chain_curve_figure(xs, xs ** 2, 2 * xs, 1.0, 1.0, 2.0, False, stacked),
             "surrogates": lambda stacked: figures.surrogate_figure(xs, np.sign(xs), {"a": (xs, xs)}, 0.5, stacked),
             "training": lambda stacked: figures.training_figure({"run": history}, stacked)}
    for name, build in built.items():
        side_by_side, stacked = build(False)["layout"], build(True)["layout"]
        panels = sorted(key for key in stacked if key.startswith("yaxis"))
        assert any(side_by_side[f"x{key[1:]}"]["domain"][1] - side_by_side[f"x{key[1:]}"]["domain"][0] < 0.6
                   for key in panels), name  # not stacked: panels share rows
        assert all(stacked[f"x{key[1:]}"]["domain"] == [0.0, 1.0] for key in panels), name
        rows = sorted(stacked[key]["domain"] for key in panels)
        assert all(upper[0] > lower[1] for lower, upper in zip(rows, rows[1:])), name  # no overlap
        lowest = min(panels, key=lambda key: stacked[key]["domain"][0])
        assert all(stacked[f"x{key[1:]}"].get("matches") == "x" + lowest[5:] or key == lowest for key in panels)
        assert stacked["height"] > side_by_side["height"]
        assert not any("<br>" in note["text"] for note in stacked["annotations"])  # a wide panel: titles on one line
    assert figures.training_figure({"run": history}, stacked=True)["layout"]["xaxis4"]["title"]["text"] == "step"
    assert "title" not in figures.training_figure({"run": history}, stacked=True)["layout"]["xaxis3"]


def test_float64_values_beyond_float32_stay_plotted():
    xs = np.array([1.0, 2.0])
    figure = figures.chain_curve_figure(xs, np.array([1e300, 2.0]), np.array([1.0, 2.0]), 1.0, 1e300, 1.0, False)
    assert figure["data"][0]["y"][0] == 1e300  # not turned into a gap by a float32 cast
    small = figures.chain_curve_figure(xs, np.array([1.0, 2.0]), np.array([1.0, 2.0]), 1.0, 1.0, 1.0, False)
    assert small["data"][0]["y"].dtype == np.float32


def _sample_figures() -> list[dict]:
    """Figures with lists, float32 and float64 arrays, int64 steps, a 2-D contour and frames of
    2-D float32 contours."""
    xs = np.linspace(-1.0, 1.0, 5)
    grid = np.linspace(-2, 2, 11)
    return [figures.chain_diagram(gradlib.trace_chain("square", 2.0, 3), 3),
            figures.chain_curve_figure(xs, xs, xs, 0.5, 0.5, 0.5, True),
            figures.training_figure({"run": gradlib.train(gradlib.TrainingConfig(steps=20))}),
            figures.gradient_field_figure(grid, grid, *gradlib.gradient_field("hypot", grid, grid), (1.0, 1.0), 5),
            figures.decision_boundary_figure(*gradlib.make_dataset("xor", 1),
                                             gradlib.train_network(gradlib.NetworkConfig(dataset="xor", steps=5)))]


def _chart_script():
    from test_figures import _sample_figures
    from ui.widgets import chart

    for index, figure in enumerate(_sample_figures()):
        chart(figure, key=f"figure_{index}", alt=f"figure {index}")


def test_chart_sends_what_plotly_would():
    """ui.widgets.chart hands Streamlit the dict without building a go.Figure: what reaches the
    browser is still the JSON of go.Figure(figure) as the figures were sent before, NumPy arrays
    as Plotly's typed arrays and Plotly's template (which Streamlit's theme restyles) included."""
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_function(_chart_script, default_timeout=60).run()
    assert not app.exception, [e.value for e in app.exception]
    sent = [json.loads(element.proto.spec) for element in app.get("plotly_chart")]
    expected = [json.loads(pio.to_json(go.Figure(styled(figure), _validate=False))) for figure in _sample_figures()]
    assert len(sent) == 5 and sent == expected
    assert sent[1]["data"][0]["y"]["dtype"] == "f4" and sent[2]["data"][0]["x"]["dtype"] == "i1"  # steps: int64
    assert sent[3]["data"][0]["z"]["shape"] == "11, 11" and "layout" in sent[0]["layout"]["template"]
    assert sent[4]["frames"][-1]["data"][0]["z"]["dtype"] == "f4"


def test_every_text_takes_the_themes_colour_and_a_projector_gets_larger_text():
    """INK is Streamlit's placeholder for the theme's text colour (replaced in the browser, light or
    dark); no chart text is left in Plotly's grey. Ticks 14 px and titles 16 px, 18 and 22 large."""
    for large, (tick, title) in ((False, (14, 16)), (True, (18, 22))):
        figure = styled(figures.training_figure({"run": gradlib.train(gradlib.TrainingConfig(steps=20))}), large)
        layout = figure["layout"]
        axes = [axis for name, axis in layout.items() if name[1:5] == "axis"]
        assert len(axes) == 8 and all(axis["tickfont"] == {"color": INK, "size": tick} for axis in axes)
        assert all(axis["title"]["font"]["color"] == INK for axis in axes if "title" in axis)
        assert [a["font"] for a in layout["annotations"]] == [{"color": INK, "size": title}] * 4  # panel titles
        assert layout["legend"]["font"] == {"color": INK, "size": tick}
    # The lines that were black now follow the theme: the step, the true derivative, the current x.
    surrogate = figures.surrogate_figure(np.linspace(-1, 1, 5), np.sign(np.linspace(-1, 1, 5)), {}, 0.0)
    assert [trace["line"]["color"] for trace in surrogate["data"]] == [INK, INK]
    curve = figures.chain_curve_figure(np.linspace(-1, 1, 5), np.ones(5), np.ones(5), 0.5, 1.0, 1.0, False)
    assert [trace["marker"]["color"] for trace in curve["data"] if trace["mode"] == "markers"] == [INK, INK]
