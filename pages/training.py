"""Training curves: train and test loss per epoch, from each checkpoint's history (live while retraining)."""

import pandas as pd
import plotly.express as px
import streamlit as st

from ui import state
from ui.sidebar import sidebar

sidebar()
reg = state.registry()
st.title("Training")
st.write(
    "How each model learned: the mean squared error on the training digits (averaged over each epoch) and on "
    "the 10,000 test digits (after each epoch). When the two curves stay together the model is not overfitting. "
    "A model being retrained shows its curve growing here, epoch by epoch."
)

jobs = state.trainer().snapshot()
frames, summary = [], []
for name in reg:
    job = jobs.get(name)
    _, meta, error = state.model(name)
    live = job is not None and job.state == "running"
    history = job.history if live else (meta or {}).get("history", [])
    if meta:
        summary.append(
            {"model": name, "epochs": len(meta["history"]), "batch": meta["recipe"]["batch_size"],
             "peak lr": meta["recipe"]["lr"], "schedule": meta["recipe"]["schedule"],
             "wall time (s)": meta.get("wall_time_s"), "images/s": meta.get("images_per_second"),
             "device": meta.get("device"), "trained": meta.get("created"), "command": meta.get("command")}
        )  # fmt: skip
    for h in history:
        label = f"{name} (training)" if live else name
        frames.append({"model": label, "epoch": h["epoch"], "split": "train", "MSE": h["train_loss"]})
        frames.append({"model": label, "epoch": h["epoch"], "split": "test", "MSE": h["test_loss"]})
    if error is not None and not live:
        st.caption(f"{name}: no curve ({error.reason})")

if frames:
    df = pd.DataFrame(frames)
    fig = px.line(
        df, x="epoch", y="MSE", color="model", line_dash="split", markers=True, log_y=True,
        labels={"MSE": "MSE (log scale)"},
    )  # fmt: skip
    fig.update_layout(height=480, margin={"t": 30}, legend_title_text="")
    st.plotly_chart(fig, width="stretch")
else:
    st.info("No training history yet: train a model with **Retrain** in the sidebar.")

if summary:
    st.subheader("How each checkpoint was made")
    st.dataframe(pd.DataFrame(summary), hide_index=True, width="stretch")
