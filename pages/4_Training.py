"""Training a variable through a surrogate gradient with any Keras optimizer."""

import time

import pandas as pd
import streamlit as st

import gradlib
from gradlib import MAX_STEPS, OPTIMIZERS, SURROGATES, TrainingConfig, TrainingHistory
from gradlib.training import LEARNING_RATE_GRID
from gradlib.surrogates import MULTIPLIER_RANGE
from ui import figures, snippets
from ui.widgets import Controls, chart, code_panel, page_header, play_button, playback, what_to_try

MAX_COMPARED = 6  # runs overlaid in compare mode, the main run included
FRAMES_PER_SECOND = 15  # play mode: at most MAX_PLAY_FRAMES frames, so at most 10 s

page_header("Training", "🏋️", "Train x so that sign(x) hits a target. Without a custom gradient the loss has "
            "derivative 0 and x never moves; with a surrogate it learns. Every change retrains at once.")

controls = Controls()
optimizer = controls.choice("optimizer", "Optimizer", list(OPTIMIZERS), "adam")
spec = OPTIMIZERS[optimizer]
learning_rate = controls.grid("lr", "Learning rate", LEARNING_RATE_GRID, 0.1)
settings = {"learning_rate": learning_rate}
for setting in spec.settings[1:]:  # the learning rate comes first in every optimizer
    settings[setting.name] = controls.number(setting.name, setting.label, setting.low, setting.high,
                                             setting.default, 0.0001 if setting.high > 0.99 else 0.001,
                                             fmt="%.4f")
surrogate = controls.choice("surrogate", "Surrogate gradient", list(SURROGATES), "sigmoid")
multiplier = controls.number("scale", "Scale (× the surrogate's published default)", *MULTIPLIER_RANGE, 1.0, 0.1)
x0 = controls.number("x0", "Starting x0", -3.0, 3.0, -1.0, 0.05)
target = controls.number("target", "Target for sign(x)", -2.0, 2.0, 1.0, 0.1)
steps = controls.integer("steps", "Steps", 1, MAX_STEPS, 100)

entry = SURROGATES[surrogate]
if entry.scale is None:
    st.sidebar.caption(f"`{surrogate}` has no parameter, so the scale does nothing for it.")

st.latex(r"L(x) = \tfrac12\,(\operatorname{sign}(x) - t)^2, \qquad \frac{dL}{dx} = (\operatorname{sign}(x) - t)"
         r"\cdot g(x), \qquad g = " + entry.derivative_latex)


def config_for(surrogate: str = surrogate, optimizer: str = optimizer) -> TrainingConfig:
    # Compared optimizers share the learning rate; their other settings stay at their defaults.
    own = settings if optimizer == spec.id else {"learning_rate": learning_rate}
    return TrainingConfig(surrogate=surrogate, scale=SURROGATES[surrogate].scaled(multiplier), optimizer=optimizer,
                          settings=own, x0=x0, target=target, steps=steps)


@st.cache_data(max_entries=512)
def trained(config: TrainingConfig) -> TrainingHistory:
    """One training run. Cached by value and returned as a copy to each caller: a classroom on
    the default settings trains once, and no visitor can alter another's history."""
    return gradlib.train(config)


history = trained(config_for())
mode = controls.choice("compare", "Compare this run with other", ["none", "surrogates", "optimizers"], "none",
                       horizontal=True, where=st)
runs = {f"{surrogate} · {spec.name}": history}
if mode == "surrogates":
    others = controls.choices("compare_surrogates", "Surrogates to compare", list(SURROGATES), ["ste", "zero"],
                              max_selections=MAX_COMPARED - 1, where=st)
    runs.update({f"{s} · {spec.name}": trained(config_for(surrogate=s)) for s in others if s != surrogate})
elif mode == "optimizers":
    others = controls.choices("compare_optimizers", "Optimizers to compare", list(OPTIMIZERS), ["sgd", "momentum"],
                              max_selections=MAX_COMPARED - 1, where=st)
    runs.update({f"{surrogate} · {OPTIMIZERS[o].name}": trained(config_for(optimizer=o))
                 for o in others if o != optimizer})

if history.stopped:
    st.error(history.stopped, icon="⚠️")
if len(history):
    final = st.columns(4)
    final[0].metric("final x", f"{history.x[-1]:.6g}", f"{history.x[-1] - x0:+.4g} from x0")
    final[1].metric("final sign(x)", f"{history.y[-1]:g}")
    final[2].metric("final loss", f"{history.loss[-1]:.6g}")
    final[3].metric("steps run", f"{len(history)} / {steps}")

playing, stop_slot = play_button("Animate the run step by step")
training_chart = st.empty()
if playing:
    longest = max(len(h) for h in runs.values())
    frame_ends = gradlib.training.playback_steps(max(longest, 1))
    with playback(stop_slot) as progress:
        for index, end in enumerate(frame_ends):
            started = time.perf_counter()
            chart(figures.training_figure(runs, upto=end), key=f"frame_{index}", where=training_chart)
            progress.progress(index / max(len(frame_ends) - 1, 1), text=f"step {end} of {longest}")
            time.sleep(max(0.0, 1 / FRAMES_PER_SECOND - (time.perf_counter() - started)))
chart(figures.training_figure(runs), key="training", where=training_chart)

left, right = st.columns([3, 2])
with left:
    if history.state:
        chart(figures.optimizer_state_figure(history), key="state")
        st.caption(f"{spec.name}'s own variables for x after each step (Keras names: "
                   f"{', '.join(history.state)}).")
    else:
        st.caption(f"{spec.name} keeps no state for x: each step is −learning rate × gradient.")
with right:
    st.markdown("**The notebook's printout** (every 10 steps)")
    every_tenth = slice(0, len(history), 10)
    st.dataframe(pd.DataFrame({"step": history.step[every_tenth], "loss": history.loss[every_tenth],
                               "grad": history.grad[every_tenth], "x": history.x[every_tenth],
                               "y": history.y[every_tenth]}), hide_index=True, key="table")
    st.download_button("Download the history (CSV)", pd.DataFrame(history.columns()).to_csv(index=False),
                       file_name=f"training_{surrogate}_{optimizer}.csv", mime="text/csv", key="download",
                       on_click="ignore")

what_to_try(
    "The defaults are the notebook's: Adam 0.1 from x0 = −1 with the sigmoid surrogate. After 10 steps x ≈ 0.0996.",
    "Compare surrogates with zero in the list: zero is the true derivative of sign, and x never moves.",
    "Compare optimizers: SGD stops as soon as sign(x) is right (the loss and gradient become 0); Adam and Lion "
    "keep going on their momentum.",
    "Set the target to 0: sign(x) is never 0, so the loss never reaches 0 and x oscillates around 0.",
    "Press ▶ Play to watch a run unfold, step by step.",
)
code_panel(snippets.training_code(config_for()))
