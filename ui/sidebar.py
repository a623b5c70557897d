"""The sidebar every page shows: retrain a model (or all) in the background, with live progress."""

from __future__ import annotations

import time

import streamlit as st

from ui import state

ALL = "all models"


GLOSSARY = """
**Code** (latent): the short list of numbers the encoder turns a digit into; the decoder rebuilds the digit
from it alone.

**Compression ratio**: code values ÷ 784 pixels. Smaller means a tighter squeeze.

**Bits per pixel**: the code's size in bits ÷ 784. A float32 value is 32 bits; an 8-bit code 8.

**MSE**: mean squared error, the average of (original pixel − rebuilt pixel)² with pixels in [0, 1]. Lower is
better; 0 is a perfect copy.

**PSNR**: peak signal-to-noise ratio, 10·log₁₀(1 / MSE), in decibels. Higher is better; +3 dB halves the MSE.

**SSIM**: structural similarity (0 to 1): compares local brightness, contrast and structure, window by window;
1 is identical. On these black backgrounds it punishes a faint grey haze far more than MSE does: the linear models
leave such a haze, so their SSIM is lower than their MSE suggests.
"""


def _leave_folder_mode() -> None:
    """Run the app through app.py's navigation even when the server's first visitor opens a page's own URL.

    Because a pages/ folder sits beside app.py, Streamlit starts in its old folder mode: until some session has run
    app.py's st.navigation, a link like /compare runs pages/compare.py alone, without app.py's wide layout and with
    the folder's file names as the menu. Leaving that mode and rerunning sends this session through app.py.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without it has no folder mode to leave
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()


def sidebar() -> None:
    _leave_folder_mode()
    reg = state.registry()
    tr = state.trainer()
    with st.sidebar:
        if st.toggle("Presenter mode", key="presenter", help="Larger text and images for a projector."):
            st.html(
                "<style>html, .stMarkdown p, .stCaption p {font-size: 1.25rem !important;}"
                " h1 {font-size: 3.2rem !important;} [data-testid='stMetricValue'] {font-size: 2.2rem !important;}"
                # a large metric in a narrow column wraps instead of ending in an ellipsis
                " [data-testid='stMetricValue'] > div {overflow: visible !important; white-space: normal !important;}"
                "</style>"
            )
        with st.popover("Glossary", icon=":material/menu_book:", width="stretch"):
            st.markdown(GLOSSARY)
        st.subheader("Retrain")
        seed = [n for n, spec in reg.items() if spec.group == "seed"]
        groups = {ALL: list(reg), f"seed models ({len(seed)})": seed} if seed else {ALL: list(reg)}
        choice = st.selectbox("Model", [*groups, *reg], key="retrain_model")
        names = groups.get(choice, [choice])
        default = None if choice in groups else reg[choice].recipe.epochs
        epochs = st.number_input(
            "Epochs", min_value=1, max_value=200, value=default, step=1, key=f"retrain_epochs_{choice}",
            placeholder="each model's recipe", help="Leave as the recipe's value to reproduce the shipped checkpoint.",
        )  # fmt: skip
        if st.button("Retrain", type="primary", width="stretch", key="retrain_button"):
            busy = tr.start(names, int(epochs) if epochs else None)
            st.session_state["trainer_seen"] = _seen(tr)  # this run already shows the new state: no extra rerun
            if busy:
                st.info(f"Already training: {', '.join(busy)}. Showing its progress.")
        live = tr.active()
        # Poll fast while training; slowly when idle, just to notice a run started from another session.
        st.fragment(run_every=0.5 if live else 5.0)(_progress)()


def _seen(tr) -> tuple:
    """What, when it changes, calls for a whole-page rerun: a run started or ended, an epoch finished."""
    jobs = tr.snapshot()
    return tr.active(), tr.generation, tuple((n, len(j.history)) for n, j in jobs.items() if j.state == "running")


def _progress() -> None:
    tr = state.trainer()
    jobs = tr.snapshot()
    seen = _seen(tr)
    # A run started, finished an epoch or ended (here or in another session): rerun the whole page, so tables,
    # models and the training curves refresh.
    if st.session_state.get("trainer_seen", seen) != seen:
        st.session_state["trainer_seen"] = seen
        st.rerun(scope="app")
    st.session_state["trainer_seen"] = seen
    if not jobs:
        st.caption("Models are trained once and saved to disk; retraining replaces a checkpoint when it finishes.")
        return
    done = [j for j in jobs.values() if j.state == "done"]
    if len(done) > 2:
        # One box for many finished runs: eleven green boxes pushed the running bars out of sight.
        st.success(f"Retrained {len(done)} models", icon=":material/check_circle:")
        with st.expander("Results"):
            for job in done:
                st.caption(f"{job.name}: {job.message}")
    else:
        for job in done:
            st.success(f"{job.name}: {job.message}", icon=":material/check_circle:")
    for job in sorted(jobs.values(), key=lambda j: j.started or time.time()):
        if job.state == "running":
            text = f"{job.name}: epoch {max(job.epoch, 1)}/{job.epochs}"
            if job.steps and job.fraction >= 1.0:
                text += ": scoring on the test digits and saving"
            elif job.steps:
                text += f", step {job.step}/{job.steps}, loss {job.loss:.5f}"
            st.progress(min(job.fraction, 1.0), text=text)
            if st.button(f"Cancel {job.name}", key=f"cancel_{job.name}", width="stretch"):
                tr.cancel([job.name])
        elif job.state == "queued":
            st.caption(f"{job.name}: queued ({job.epochs} epochs)")
        elif job.state == "cancelled":
            st.warning(f"{job.name}: {job.message}", icon=":material/stop_circle:")
        elif job.state == "busy":
            st.info(f"{job.name}: {job.message}", icon=":material/hourglass_top:")
        else:
            st.error(f"{job.name}: {job.message}", icon=":material/warning:")
