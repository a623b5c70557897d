"""The sidebar every page shows: retrain a model (or all) in the background, with live progress."""

from __future__ import annotations

import time

import streamlit as st

from ae.models.specs import MAX_SEED
from ae.training.queue import MAX_EPOCHS
from ui import actions, auth, datasets, i18n, navigation, state, view
from ui.i18n import t

ALL = "all models"  # the picker's option for every model (shown translated)


def sidebar() -> None:
    navigation.leave_folder_mode()
    st.html(CONTRAST_STYLE)
    datasets.from_link()  # first: the registry every page lists is the dataset's
    hidden = view.begin(list(state.registry()))
    datasets.in_link()
    if "sidebar" in hidden:
        # A lesson view: nothing is drawn in the sidebar, so Streamlit shows none; the link's presenter mode holds.
        i18n.begin()
        _presenter_style(view.presenter(draw=False))
        return
    with st.sidebar:
        i18n.begin()
        _presenter_style(view.presenter(help=t("sidebar.presenter_help")))
        i18n.picker()
        datasets.picker()
        with st.popover(t("sidebar.glossary"), icon=":material/menu_book:", width="stretch"):
            st.markdown(t("sidebar.glossary_text"))
        view.link_slot()
        if problems := state.spec_problems():
            files = ", ".join(f"specs/{f}" for f in problems)
            st.warning(t("sidebar.left_out", files=files))
        if "retrain" not in hidden:
            _retrain_section()
        live = state.trainer().active()
        # Poll fast while training; slowly when idle, just to notice a run started from another session.
        st.fragment(run_every=0.5 if live else 5.0)(_progress)()
        if "retrain" not in hidden:
            _sign_in_or_out()


def _retrain_section() -> None:
    st.header(t("sidebar.retrain"))
    if not auth.class_mode():
        st.caption(t("auth.open_note"))
    elif auth.may_change():
        st.caption(t("auth.teacher_note"))
    else:
        st.caption(t("auth.student_note"))
    if auth.may_change():
        _retrain_controls()
    _show_outcome()


def _sign_in_or_out() -> None:
    if auth.role() == "student":
        auth.sign_in_form()
    elif auth.role() == "teacher" and st.button(
        t("sidebar.sign_out"), icon=":material/logout:", key="teacher_sign_out"
    ):
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
    choice = st.selectbox(t("sidebar.model"), [*groups, *reg], key="retrain_model", format_func=i18n.held(_group_label))
    names = groups.get(choice, [choice])
    default = None if choice in groups else min(reg[choice].recipe.epochs, MAX_EPOCHS)
    epochs = st.number_input(
        t("sidebar.epochs"), min_value=1, max_value=MAX_EPOCHS, value=default, step=1, key=f"retrain_epochs_{choice}",
        placeholder=t("sidebar.recipe_placeholder"), help=t("sidebar.epochs_help", max=MAX_EPOCHS),
    )  # fmt: skip
    seed = st.number_input(
        t("sidebar.seed"), min_value=0, max_value=MAX_SEED, value=None, step=1, key="retrain_seed",
        placeholder=t("sidebar.recipe_placeholder"), help=t("sidebar.seed_help"),
    )  # fmt: skip
    if st.button(t("sidebar.retrain_button"), type="primary", width="stretch", key="retrain_button"):
        actions.retrain(names, int(epochs) if epochs else None, None if seed is None else int(seed))
        st.session_state["trainer_seen"] = _seen(state.trainer())  # this run already shows it: no extra rerun
    if choice not in groups and st.button(
        t("sidebar.reset"), key="reset_button", width="stretch", help=t("sidebar.reset_help")
    ):
        actions.reset_to_shipped(choice)


def _group_label(choice: str) -> str:
    """A group of the retrain picker in words (a model's name stays as it is)."""
    if choice == ALL:
        return t("sidebar.all_models")
    if choice.startswith("seed models ("):
        return t("sidebar.seed_models", n=choice.removeprefix("seed models (").rstrip(")"))
    return choice


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
        st.caption(t("sidebar.idle"))
        return
    done = [j for j in jobs.values() if j.state == "done"]
    if len(done) > 2:
        # One box for many finished runs: eleven green boxes pushed the running bars out of sight.
        st.success(t("sidebar.retrained_n", n=len(done)), icon=":material/check_circle:")
        with st.expander(t("sidebar.results")):
            for job in done:
                st.caption(f"{job.name}: {job.message}")
    else:
        for job in done:
            st.success(f"{job.name}: {job.message}", icon=":material/check_circle:")
    for job in sorted(jobs.values(), key=lambda j: j.started or time.time()):
        if job.state == "running":
            text = t("sidebar.epoch", name=job.name, epoch=max(job.epoch, 1), epochs=job.epochs)
            if job.steps and job.fraction >= 1.0:
                text += t("sidebar.scoring")
            elif job.steps:
                text += t("sidebar.step", step=job.step, steps=job.steps, loss=job.loss)
            st.progress(min(job.fraction, 1.0), text=text)
            if actions.may_cancel(job) and st.button(
                t("sidebar.cancel", name=job.name), key=f"cancel_{job.name}", width="stretch"
            ):
                actions.cancel(job.name)
                _show_outcome()
        elif job.state == "queued":
            st.caption(t("sidebar.queued", name=job.name, epochs=job.epochs))
        elif job.state == "cancelled":
            st.warning(f"{job.name}: {job.message}", icon=":material/stop_circle:")
        elif job.state == "busy":
            st.info(f"{job.name}: {job.message}", icon=":material/hourglass_top:")
        else:
            st.error(f"{job.name}: {job.message}", icon=":material/warning:")
