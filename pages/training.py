"""Training curves: train and test loss per epoch, from each checkpoint's history (live while retraining)."""

import pandas as pd
import streamlit as st

from ae.models.families import FAMILIES
from ae.training.runs import denoise_note
from ui import alternatives, learning, state, view
from ui.charts import Curve, model_colours, training_figure
from ui.sidebar import sidebar

sidebar()
reg = state.registry()
st.title("Training")
st.write(
    "How each model learned: the mean squared error on the training digits (averaged over each epoch) and on "
    "the 10,000 test digits (after each epoch). When the two curves stay together the model is not overfitting. "
    "A model being retrained shows its curve growing here, epoch by epoch. The denoising models (`-denoise`) are "
    "fed noisy digits and scored against the clean ones, so their curves measure something harder (see below)."
)

jobs = state.trainer().snapshot()
curves, summary, notes = {}, [], []
for name in reg:
    job = jobs.get(name)
    _, meta, error = state.model(name)
    live = job is not None and job.state == "running"
    history = job.history if live else (meta or {}).get("history", [])
    if meta:
        recipe = meta["recipe"]
        summary.append(
            {"model": name, "epochs": len(meta["history"]),
             "batch": " → ".join(map(str, dict.fromkeys(recipe.get("batch_sizes") or [recipe["batch_size"]]))),
             "peak lr": recipe["lr"], "schedule": recipe["schedule"], "start": recipe.get("init", "pytorch"),
             "threads": recipe.get("threads", 1),
             "wall time (s)": meta.get("wall_time_s"), "images/s": meta.get("images_per_second"),
             "device": meta.get("device"), "trained": meta.get("created"), "command": meta.get("command")}
        )  # fmt: skip
        if not live and (note := denoise_note(name, meta)):
            notes.append((name, note))
    if hasattr(
        FAMILIES.get(reg[name].family), "training_loss"
    ):  # VAEs and codecs minimise their own objective, not MSE
        notes.append((name, f"{name}: its training curve is the loss it minimises ({reg[name].family}: not MSE); "
                            "its test curve is the MSE of its reconstructions, like every other model's."))  # fmt: skip
    if history:
        # A live run trains the registry's recipe; a checkpoint says which recipe made it.
        std = reg[name].recipe.noise_std if live else (meta or {}).get("recipe", {}).get("noise_std", 0.0)
        curves[name] = Curve(name, history, std, live)
    if error is not None and not live:
        st.caption(f"{name}: no curve ({error.reason})")

if curves:
    # Every model's two curves at once are unreadable: start with the seed's models; one in training is always shown.
    seed = [n for n in curves if reg[n].group == "seed"]
    picked = view.models("train_models", list(curves), default=seed or list(curves))
    shown = [n for n in curves if n in picked or curves[n].live]
    if shown:
        alternatives.chart(training_figure([curves[n] for n in shown], model_colours(reg)), width="stretch")
        for name, note in notes:
            if name in shown:
                st.caption(note)
    else:
        st.info("Pick one or more models above to see their curves.")
else:
    st.info("No training history yet: train a model with **Retrain** in the sidebar.")

st.header("Watch it learn")
st.write(
    "What a model makes of eight fixed test digits at its start and after every epoch, and for a model whose first "
    "layer looks at all 784 pixels at once (linear, MLP), the patterns that layer has learned to look for. Start a "
    "retrain in the sidebar to watch it live; a model trained here keeps these snapshots, so a slider replays it."
)
watched = learning.pick(list(reg), jobs)
learning.watch(watched, reg[watched], jobs.get(watched))

if summary:
    st.header("How each checkpoint was made")
    made = pd.DataFrame(summary)
    st.dataframe(
        made.drop(columns="command"),
        hide_index=True,
        height="content",
        column_config={
            "wall time (s)": st.column_config.NumberColumn(format="%.1f"),
            "images/s": st.column_config.NumberColumn(format="%.0f"),
        },
    )
    # The commands are long: a static table wraps them instead of hiding them behind a sideways scroll.
    st.table(made[["model", "command"]].rename(columns={"command": "command that made it"}), hide_index=True)
