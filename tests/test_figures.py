"""Figure builders: data in, Plotly figure out, without Streamlit."""

import subprocess
import sys

import numpy as np

import gradlib
from ui import figures


def test_figure_modules_do_not_import_streamlit():
    code = "import sys, ui.figures, ui.snippets; print('streamlit' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_chain_diagram_reveals_backward_stages():
    trace = gradlib.trace_chain("square", 2.0, 3)
    for revealed in range(4):
        figure = figures.chain_diagram(trace, revealed)
        assert list(figure.data[1].x) == [2.5, 1.5, 0.5][:revealed]
    assert len(figure.layout.shapes) == 3


def test_chain_curve_turns_inf_into_gaps_and_log_scale_into_magnitudes():
    xs = np.array([-2.0, 0.0, 2.0])
    figure = figures.chain_curve_figure(xs, np.array([-4.0, np.inf, 4.0]), np.array([1.0, 2.0, -3.0]),
                                        2.0, 4.0, -3.0, log_scale=True)
    assert np.isnan(figure.data[0].y[1]) and list(figure.data[0].y[[0, 2]]) == [4.0, 4.0]
    assert list(figure.data[3].y) == [3.0]
    assert figure.layout.yaxis.type == "log" and figure.layout.yaxis2.type == "log"
    assert figure.layout.uirevision == "chain-curve"


def test_gradient_field_arrows_point_along_the_gradient():
    xs = np.linspace(-2, 2, 11)
    z, dz_dx, dz_dy = gradlib.gradient_field("hypot", xs, xs)
    figure = figures.gradient_field_figure(xs, xs, z, dz_dx, dz_dy, (1.0, 1.0), arrows_every=5)
    segments_x, segments_y = np.asarray(figure.data[1].x), np.asarray(figure.data[1].y)
    starts = np.column_stack([segments_x[0::3], segments_y[0::3]])
    ends = np.column_stack([segments_x[1::3], segments_y[1::3]])
    away = np.einsum("ij,ij->i", ends - starts, starts)  # hypot's gradient points away from the origin
    assert np.all(away[np.linalg.norm(starts, axis=1) > 0] > 0)


def test_surrogate_figure_has_one_primitive_and_derivative_per_surrogate():
    xs = np.linspace(-1, 1, 5)
    figure = figures.surrogate_figure(xs, np.sign(xs), {"a": (xs, xs ** 2), "b": (xs, np.abs(xs))}, 0.5)
    assert [t.name for t in figure.data] == ["forward step", "true derivative (0)", "a", "a", "b", "b"]
    assert [t.yaxis for t in figure.data[2:]] == [None, "y2", None, "y2"]  # None: the first axes


def test_training_figure_cuts_runs_for_play_mode():
    history = gradlib.train(gradlib.TrainingConfig(steps=30))
    figure = figures.training_figure({"run": history}, upto=10)
    assert len(figure.data) == 4 and all(len(trace.x) == 10 for trace in figure.data)
    assert list(figure.layout.xaxis.range) == [0, 29]
    state = figures.optimizer_state_figure(history)
    assert [t.name for t in state.data] == ["momentum", "velocity"]


def test_float64_values_beyond_float32_stay_plotted():
    xs = np.array([1.0, 2.0])
    figure = figures.chain_curve_figure(xs, np.array([1e300, 2.0]), np.array([1.0, 2.0]), 1.0, 1e300, 1.0, False)
    assert figure.data[0].y[0] == 1e300  # not turned into a gap by a float32 cast
    small = figures.chain_curve_figure(xs, np.array([1.0, 2.0]), np.array([1.0, 2.0]), 1.0, 1.0, 1.0, False)
    assert small.data[0].y.dtype == np.float32
