"""Training curves: train and test loss per epoch, from each checkpoint's history (live while retraining)."""

import pandas as pd
import streamlit as st

from ae.models.families import FAMILIES
from ae.training.runs import denoise_note
from ui import alternatives, learning, state, view
from ui.charts import Curve, model_colours, training_figure
from ui.i18n import headers, t
from ui.sidebar import sidebar

sidebar()
reg = state.registry()
st.title(t("training.title"))
st.write(t("training.intro"))

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
        if not live and denoise_note(name, meta):  # a denoising checkpoint: ae says when, the note says why
            std, end, mse = recipe["noise_std"], meta["history"][-1]["test_loss"], meta["metrics"]["test_mse"]
            notes.append((name, t("training.denoise_note", name=name, std=std, end=end, mse=mse)))
    if hasattr(
        FAMILIES.get(reg[name].family), "training_loss"
    ):  # VAEs and codecs minimise their own objective, not MSE
        notes.append((name, t("training.own_loss", name=name, family=reg[name].family)))
    if history:
        # A live run trains the registry's recipe; a checkpoint says which recipe made it.
        std = reg[name].recipe.noise_std if live else (meta or {}).get("recipe", {}).get("noise_std", 0.0)
        curves[name] = Curve(name, history, std, live)
    if error is not None and not live:
        st.caption(t("training.no_curve", name=name, reason=error.reason))

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
        st.info(t("training.pick"))
else:
    st.info(t("training.no_history"))

st.header(t("training.watch"))
st.write(t("training.watch_text"))
watched = learning.pick(list(reg), jobs)
learning.watch(watched, reg[watched], jobs.get(watched))

if summary:
    st.header(t("training.made"))
    made = pd.DataFrame(summary)
    st.dataframe(
        made.drop(columns="command"),
        hide_index=True,
        height="content",
        column_config={
            **headers(made.columns),
            "wall time (s)": st.column_config.NumberColumn(t("col.wall time (s)"), format="%.1f"),
            "images/s": st.column_config.NumberColumn(t("col.images/s"), format="%.0f"),
        },
    )
    # The commands are long: a static table wraps them instead of hiding them behind a sideways scroll.
    st.table(made[["model", "command"]].rename(columns={"model": t("col.model"), "command": t("training.command_col")}),
             hide_index=True)  # fmt: skip
