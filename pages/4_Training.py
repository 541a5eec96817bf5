"""Training a variable through a surrogate gradient with any Keras optimizer."""

import streamlit as st

from ui.widgets import (Controls, Metric, cache_in_memory, chart, code_panel, metric_row, on_a_phone, page_header,
                        surrogate_formula, table, what_to_try)

MAX_COMPARED = 6  # runs overlaid in compare mode, the main run included

page_header("training", "Train x so that sign(x) hits a target. Without a custom gradient the loss has "
            "derivative 0 and x never moves; with a surrogate it learns. Every change retrains at once.")

# Loaded after the header: the first page after the server started loads TensorFlow there, behind a note.
import gradlib
from gradlib import (CUSTOM, LEARNING_RATE, MULTIPLIER, OPTIMIZERS, SURROGATES, TARGET, TRAINING_STEPS, X0,
                     TrainingConfig, TrainingHistory, surrogate_entry)
from ui import figures, snippets
from ui.exports import csv_text

controls = Controls("training")
optimizer = controls.choice("optimizer", "Optimizer", list(OPTIMIZERS), "adam")
spec = OPTIMIZERS[optimizer]
# The learning rate is every optimizer's, with one default, so it is kept across a switch; the
# other settings are each optimizer's own (Lion's β₂ default is not Adam's).
learning_rate = controls.grid("lr", LEARNING_RATE)
settings = {"learning_rate": learning_rate}
for setting in spec.settings[1:]:
    settings[setting.name] = controls.number(setting.name, setting, owner=optimizer)
surrogate = controls.choice("surrogate", "Surrogate gradient", [*SURROGATES, CUSTOM], "sigmoid",
                            help=f"{CUSTOM}: your own g(x), typed below (see the Your gradient page)")
backward = surrogate_formula(controls, surrogate)
multiplier = controls.number("scale", MULTIPLIER)
x0 = controls.number("x0", X0, where=controls.main)
target = controls.number("target", TARGET)
steps = controls.number("steps", TRAINING_STEPS)
entry = surrogate_entry(surrogate, backward)
if entry.scale is None:
    st.sidebar.caption(f"`{surrogate}` has no parameter, so the scale does nothing for it.")

controls.math(r"L(x) = \tfrac12\,(\operatorname{sign}(x) - t)^2, \qquad \frac{dL}{dx} = (\operatorname{sign}(x) - t)"
              r"\cdot g(x), \qquad g = " + entry.derivative_latex)


def config_for(surrogate: str = surrogate, optimizer: str = optimizer) -> TrainingConfig:
    # Compared optimizers share the learning rate; their other settings stay at their defaults.
    own = settings if optimizer == spec.id else {"learning_rate": learning_rate}
    own_backward = backward if surrogate == CUSTOM else None
    return TrainingConfig(surrogate=surrogate, scale=surrogate_entry(surrogate, own_backward).scaled(multiplier),
                          backward=own_backward, optimizer=optimizer, settings=own, x0=x0, target=target, steps=steps)


# A history is at most 8 float64 columns of MAX_STEPS (tests/test_limits.py measures one).
@cache_in_memory(largest_entry_bytes=8 * 8 * TRAINING_STEPS.high)
def trained(config: TrainingConfig) -> TrainingHistory:
    """One training run. Cached by value and returned as a copy to each caller: a classroom on
    the default settings trains once, and no visitor can alter another's history."""
    return gradlib.train(config)


def others_than(chosen: str, candidates: list[str]) -> list[str]:
    """The first two candidates that are not the run being compared against."""
    return [c for c in candidates if c != chosen][:2]


history = trained(config_for())
mode = controls.choice("compare", "Compare this run with other", ["none", "surrogates", "optimizers"], "none",
                       horizontal=True, where=controls.aside)
runs = {f"{surrogate} · {spec.name}": history}
if mode == "surrogates":
    others = controls.choices("compare_surrogates", "Surrogates to compare", list(SURROGATES),
                              others_than(surrogate, ["ste", "zero", "sigmoid"]), max_selections=MAX_COMPARED - 1,
                              where=controls.aside)
    runs.update({f"{s} · {spec.name}": trained(config_for(surrogate=s)) for s in others if s != surrogate})
elif mode == "optimizers":
    others = controls.choices("compare_optimizers", "Optimizers to compare", list(OPTIMIZERS),
                              others_than(optimizer, ["sgd", "momentum", "adam"]), max_selections=MAX_COMPARED - 1,
                              where=controls.aside)
    runs.update({f"{surrogate} · {OPTIMIZERS[o].name}": trained(config_for(optimizer=o))
                 for o in others if o != optimizer})

if history.stopped:
    st.error(history.stopped, icon="⚠️")

# ▶ Play is Plotly's, in the chart: the whole run is sent once and the browser draws it step by step.
chart(figures.training_figure(runs, stacked=on_a_phone()), key="training",
      alt=f"Loss, x, the gradient and sign(x) against step for {len(runs)} run(s): x goes from {x0:g} to "
          f"{history.x[-1]:.6g} in {len(history)} steps, and the loss ends at {history.loss[-1]:.6g}. ▶ Play in "
          "the chart draws the runs step by step.")
if len(history):
    metric_row(Metric("final x", f"{history.x[-1]:.6g}", f"{history.x[-1] - x0:+.4g} from x0"),
               Metric("final sign(x)", f"{history.y[-1]:g}"), Metric("final loss", f"{history.loss[-1]:.6g}"),
               Metric("steps run", f"{len(history)} / {steps}"))

left, right = st.columns([3, 2])
with left:
    if history.state:
        chart(figures.optimizer_state_figure(history), key="state",
              alt=f"{spec.name}'s own variables for x after each step (Keras names): "
                  + ", ".join(f"{name} ends at {values[-1]:.4g}" for name, values in history.state.items()) + ".")
    else:
        st.caption(f"{spec.name} keeps no state for x: each step is −learning rate × gradient.")
with right:
    st.markdown("**The notebook's printout** (every 10 steps)")
    every_tenth = slice(0, len(history), 10)
    table({"step": history.step[every_tenth], "loss": history.loss[every_tenth], "grad": history.grad[every_tenth],
           "x": history.x[every_tenth], "y": history.y[every_tenth]}, key="table")
    # Built on every run, not on click: Streamlit 1.67 drops a file built on click when another
    # session's run ends before the browser fetched it (24 of 30 downloads answered 404 in a class).
    st.download_button("Download the history (CSV)", csv_text(history.columns()),
                       file_name=f"training_{surrogate}_{optimizer}.csv", mime="text/csv", key="download",
                       on_click="ignore")

what_to_try(
    "The defaults are the notebook's: Adam 0.1 from x0 = −1 with the sigmoid surrogate. As in the notebook, the "
    "table's row for step 10 (after 11 updates) shows x ≈ 0.0996.",
    "Compare surrogates with zero in the list: zero is the true derivative of sign, and x never moves.",
    "Compare optimizers: SGD stops as soon as sign(x) is right (the loss and gradient become 0); Adam and Lion "
    "keep going on their momentum.",
    "Set the target to 0: sign(x) is never 0, so the loss never reaches 0 and x oscillates around 0.",
    "Press ▶ Play in the chart to watch the runs unfold, step by step: your browser draws it, the server does "
    "nothing meanwhile.",
)
code_panel(snippets.training_code(config_for()), controls)
