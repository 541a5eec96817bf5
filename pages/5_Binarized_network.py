"""A binarized network: sign activations, trained through a surrogate gradient."""

import streamlit as st

from ui.widgets import (Controls, Metric, cache_in_memory, chart, code_panel, metric_row, page_header,
                        surrogate_formula, table, what_to_try)

MAX_COMPARED = 6  # networks trained side by side, this one included

page_header("network", "A small network whose hidden units output only ±1. The sign has no useful "
            "derivative, so without a custom gradient the hidden layers could never learn: the surrogate is what "
            "makes training possible.")

# Loaded after the header: the first page after the server started loads TensorFlow there, behind a note.
from gradlib import (CUSTOM, DATASETS, HIDDEN, MAX_HISTORY_BYTES, MULTIPLIER, NETWORK_LEARNING_RATE, NETWORK_STEPS,
                     OPTIMIZERS, REAL_VALUED, SEED, SURROGATES, NetworkConfig, NetworkHistory, make_dataset,
                     surrogate_entry, train_network)
from ui import figures, snippets

controls = Controls("network")
dataset = controls.choice("dataset", "Data set", list(DATASETS), "moons", horizontal=True, where=controls.main)
seed = controls.number("seed", SEED)
surrogate = controls.choice("surrogate", "Surrogate gradient", [*SURROGATES, CUSTOM, REAL_VALUED], "sigmoid",
                            help=f"{CUSTOM}: your own g(x), typed below; {REAL_VALUED}: a real-valued tanh network, "
                                 "for reference")
backward = surrogate_formula(controls, surrogate)
multiplier = controls.number("scale", MULTIPLIER)
optimizer = controls.choice("optimizer", "Optimizer", list(OPTIMIZERS), "adam")
learning_rate = controls.grid("lr", NETWORK_LEARNING_RATE)
steps = controls.number("steps", NETWORK_STEPS)
hidden = controls.grid("hidden", HIDDEN)

controls.math(r"h_1 = \operatorname{sign}(W_1 x + b_1), \quad h_2 = \operatorname{sign}(W_2 h_1 + b_2), \quad"
              r"\hat p = \sigma(W_3 h_2 + b_3), \qquad \frac{\partial h}{\partial a} := g(a) \text{ in the backward pass}")



def config_for(surrogate: str) -> NetworkConfig:
    own_backward = backward if surrogate == CUSTOM else None
    scale = None if surrogate == REAL_VALUED else surrogate_entry(surrogate, own_backward).scaled(multiplier)
    return NetworkConfig(dataset=dataset, surrogate=surrogate, scale=scale, backward=own_backward,
                         optimizer=optimizer, settings={"learning_rate": learning_rate}, steps=steps, hidden=hidden,
                         seed=seed)


@cache_in_memory(largest_entry_bytes=MAX_HISTORY_BYTES)
def trained(config: NetworkConfig) -> NetworkHistory:
    """Cached by value (a copy per caller): the same settings train once per server."""
    return train_network(config)


config = config_for(surrogate)
points, labels = make_dataset(dataset, seed)
compare = controls.toggle("compare", "Compare surrogates", where=st)
# By default: the true derivative and the real-valued network, or the notebook's sigmoid in place of the one shown.
others = (controls.choices("compare_surrogates", "Train the same network with", [*SURROGATES, REAL_VALUED],
                           [s for s in ("zero", REAL_VALUED, "sigmoid") if s != surrogate][:2],
                           max_selections=MAX_COMPARED - 1, where=st) if compare else [])

history = trained(config)
runs = {surrogate: history, **{other: trained(config_for(other)) for other in others if other != surrogate}}
left, right = st.columns([1, 1])
# ▶ Play is Plotly's, in the chart: the boundary at every snapshot step is sent once and the browser draws it.
chart(figures.decision_boundary_figure(points, labels, history), "boundary", where=left,
      alt=f"P(class 1) over the plane, the 0.5 boundary and the {len(points)} {dataset} training points: "
          f"{history.final_accuracy:.1%} of them on the right side. ▶ Play in the chart draws the boundary "
          f"forming, at {len(history.snapshot_steps) + 1} steps of the run.")
chart(figures.network_curves_figure(runs, steps), "curves", where=right,
      alt=f"Loss, training accuracy and ‖∂L/∂W₁‖ against step for {len(runs)} network(s); {surrogate} ends at "
          f"{history.final_accuracy:.1%} accuracy.")

if history.stopped:
    st.error(history.stopped, icon="⚠️")
metric_row(Metric("training accuracy", f"{history.final_accuracy:.1%}"),
           Metric("loss", f"{history.loss[-1]:.4g}" if len(history.loss) else "—"),
           Metric("‖∂L/∂W₁‖ at the last step", f"{history.first_layer_grad[-1]:.3g}" if len(history.loss) else "—"))
if len(runs) > 1:
    table({"network": list(runs), "final accuracy": [r.final_accuracy for r in runs.values()],
           "final loss": [r.loss[-1] if len(r.loss) else float("nan") for r in runs.values()]},
          key="compared", formats={"final accuracy": "percent"})
if surrogate == "zero" or "zero" in runs:
    st.caption("Under `zero` the hidden layers get no gradient (‖∂L/∂W₁‖ = 0): only the output layer learns, on "
               "the random ±1 features it was given.")

what_to_try(
    "The default (two moons, sigmoid surrogate, Adam 0.01, 300 steps, 32 units) reaches 100% training accuracy.",
    "Compare with zero: the first layer's gradient is exactly 0, so the hidden layers never change; only the "
    "output layer learns, and two moons stop at 89.5%.",
    "Compare with tanh_reference: a real-valued network, usually smoother; the binarized one draws its "
    "boundary from straight pieces, because each hidden unit is a half-plane.",
    "Spirals need more: 91.5% at the defaults, 99.5% with 128 hidden units and 1500 steps.",
    "Press ▶ Play in the boundary chart to watch the boundary form: the whole run is sent once and your browser "
    "draws it, frame by frame.",
)
code_panel(snippets.network_code(config), controls)
