"""The sidebar every page shows: retrain a model (or all) in the background, with live progress."""

from __future__ import annotations

import time

import streamlit as st

from ae.models.specs import MAX_SEED
from ae.training.queue import MAX_EPOCHS
from ui import actions, auth, datasets, navigation, state, view

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


def sidebar() -> None:
    navigation.leave_folder_mode()
    st.html(CONTRAST_STYLE)
    datasets.from_link()  # first: the registry every page lists is the dataset's
    hidden = view.begin(list(state.registry()))
    if "sidebar" in hidden:
        # A lesson view: nothing is drawn in the sidebar, so Streamlit shows none; the link's presenter mode holds.
        _presenter_style(view.presenter(draw=False))
        return
    with st.sidebar:
        _presenter_style(view.presenter(help="Larger text and images for a projector."))
        datasets.picker()
        with st.popover("Glossary", icon=":material/menu_book:", width="stretch"):
            st.markdown(GLOSSARY)
        view.link_slot()
        if problems := state.spec_problems():
            files = ", ".join(f"specs/{f}" for f in problems)
            st.warning(f"Left out, not valid: {files}. Every other model is served; the Build page says why.")
        if "retrain" not in hidden:
            _retrain_section()
        live = state.trainer().active()
        # Poll fast while training; slowly when idle, just to notice a run started from another session.
        st.fragment(run_every=0.5 if live else 5.0)(_progress)()
        if "retrain" not in hidden:
            _sign_in_or_out()


def _retrain_section() -> None:
    st.header("Retrain")
    if not auth.class_mode():
        st.caption(auth.OPEN_NOTE)
    elif auth.may_change():
        st.caption(auth.TEACHER_NOTE)
    else:
        st.caption(auth.STUDENT_NOTE)
    if auth.may_change():
        _retrain_controls()
    _show_outcome()


def _sign_in_or_out() -> None:
    if auth.role() == "student":
        auth.sign_in_form()
    elif auth.role() == "teacher" and st.button("Sign out", icon=":material/logout:", key="teacher_sign_out"):
        auth.sign_out()
        st.rerun()


# Streamlit writes white on the primary colour: 2.0:1 on this orange, where WCAG AA asks 4.5:1. Dark text reads at
# 10.4:1; a darker orange would fail instead wherever the colour is text on the dark page (selected pills, tabs).
CONTRAST_STYLE = "<style>[data-testid='stBaseButton-primary'] {color: #0e1117 !important;}</style>"


def _presenter_style(on: bool) -> None:
    if on:
        st.html(
            "<style>html, .stMarkdown p, .stCaption p {font-size: 1.25rem !important;}"
            " h1 {font-size: 3.2rem !important;} [data-testid='stMetricValue'] {font-size: 2.2rem !important;}"
            # a large metric in a narrow column wraps instead of ending in an ellipsis
            " [data-testid='stMetricValue'] > div {overflow: visible !important; white-space: normal !important;}"
            "</style>"
        )


def _retrain_controls() -> None:
    """Model, epochs, Retrain and Reset: shown only to who may use them, and each action checks again."""
    reg = state.registry()
    seed = [n for n, spec in reg.items() if spec.group == "seed"]
    groups = {ALL: list(reg), f"seed models ({len(seed)})": seed} if seed else {ALL: list(reg)}
    choice = st.selectbox("Model", [*groups, *reg], key="retrain_model")
    names = groups.get(choice, [choice])
    default = None if choice in groups else min(reg[choice].recipe.epochs, MAX_EPOCHS)
    epochs = st.number_input(
        "Epochs", min_value=1, max_value=MAX_EPOCHS, value=default, step=1, key=f"retrain_epochs_{choice}",
        placeholder="each model's recipe",
        help=f"At most {MAX_EPOCHS}. Leave as the recipe's value to reproduce the shipped checkpoint.",
    )  # fmt: skip
    seed = st.number_input(
        "Seed", min_value=0, max_value=MAX_SEED, value=None, step=1, key="retrain_seed",
        placeholder="each model's recipe",
        help="Another seed starts from other random weights and shuffles the digits in another order. The seed "
        "models' recipes meet their bars for every seed tried (0-7); the checkpoint records its seed.",
    )  # fmt: skip
    if st.button("Retrain", type="primary", width="stretch", key="retrain_button"):
        actions.retrain(names, int(epochs) if epochs else None, None if seed is None else int(seed))
        st.session_state["trainer_seen"] = _seen(state.trainer())  # this run already shows it: no extra rerun
    if choice not in groups and st.button(
        "Reset to shipped", key="reset_button", width="stretch", help="Serve the model that came with the app again."
    ):
        actions.reset_to_shipped(choice)


def _show_outcome() -> None:
    """This session's last action's result: a refusal is said, never silent."""
    if (outcome := actions.recent_outcome()) is not None:
        (st.info if outcome.ok else st.error)(outcome.message)


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
    if view.is_hidden("retrain"):
        return  # a lesson view without the Retrain section: the page still refreshes when a model changes
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
            if actions.may_cancel(job) and st.button(f"Cancel {job.name}", key=f"cancel_{job.name}", width="stretch"):
                actions.cancel(job.name)
                _show_outcome()
        elif job.state == "queued":
            st.caption(f"{job.name}: queued ({job.epochs} epochs)")
        elif job.state == "cancelled":
            st.warning(f"{job.name}: {job.message}", icon=":material/stop_circle:")
        elif job.state == "busy":
            st.info(f"{job.name}: {job.message}", icon=":material/hourglass_top:")
        else:
            st.error(f"{job.name}: {job.message}", icon=":material/warning:")
