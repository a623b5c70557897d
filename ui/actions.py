"""Everything that changes the shared models, each checking on the server that this session may do it.

Widgets call only these. Hiding a button from a student is a courtesy; the check here is the rule, so a session
that sets widget values or session state by other means still changes nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import streamlit as st

from ae.storage import checkpoints, lab
from ae.training.queue import ACTIVE, Refused
from ui import auth, state, view
from ui.i18n import t

_LAST = "_aelab_last_action"
SHOW_FOR_S = 10.0


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str


def _record(outcome: Outcome) -> Outcome:
    st.session_state[_LAST] = (outcome, time.monotonic())
    return outcome


def recent_outcome() -> Outcome | None:
    """This session's last action's outcome, for SHOW_FOR_S seconds: long enough to outlive the whole-page rerun
    that follows a change in the trainer, short enough not to linger over later actions."""
    outcome, at = st.session_state.get(_LAST, (None, 0.0))
    return outcome if time.monotonic() - at < SHOW_FOR_S else None


def retrain(names: list[str], epochs: int | None, seed: int | None = None) -> Outcome:
    """Queue ``names`` for training (``epochs``, ``seed`` None: each recipe's own), as this session."""
    if not auth.may_change():
        return _record(Outcome(False, t("actions.not_allowed")))
    try:
        busy = state.trainer().start(list(names), epochs, seed=seed, owner=auth.session_owner())
    except Refused as e:
        return _record(Outcome(False, t("actions.not_started", why=e)))
    started = [n for n in names if n not in busy]
    text = t("actions.training", names=", ".join(started)) if started else t("actions.nothing_new")
    if busy:
        text += " " + t("actions.already", names=", ".join(busy))
    return _record(Outcome(True, text))


def cancel(name: str) -> Outcome:
    """Stop ``name``'s run. A teacher may stop any run; without class mode a session stops only its own."""
    if not auth.may_change():
        return _record(Outcome(False, t("actions.not_allowed")))
    owner = None if auth.role() == "teacher" else auth.session_owner()
    if state.trainer().cancel([name], owner=owner):
        return _record(Outcome(True, t("actions.cancelling", name=name)))
    return _record(Outcome(False, t("actions.not_yours", name=name)))


def may_cancel(job) -> bool:
    """Whether this session would be allowed to cancel ``job`` (to offer the button only where it works)."""
    return auth.role() == "teacher" or (auth.role() == "owner" and job.owner == auth.session_owner())


def reset_to_shipped(name: str) -> Outcome:
    """Drop ``name``'s retrained checkpoint so the shipped one is served again."""
    if not auth.may_change():
        return _record(Outcome(False, t("actions.not_allowed")))
    if _in_training(name):
        return _record(Outcome(False, t("actions.being_retrained", name=name)))
    try:
        removed = checkpoints.reset_to_shipped(name, state.checkpoint_dir())
    except checkpoints.TrainingBusy as e:
        return _record(Outcome(False, t("actions.busy", name=name, why=e)))
    if not removed:
        return _record(Outcome(True, t("actions.already_shipped", name=name)))
    return _record(Outcome(True, t("actions.shipped_again", name=name)))


def train_now_button(name: str) -> None:
    """A "Train <name> now" button for a model with no usable checkpoint, offered only to who may train."""
    if (
        auth.may_change()
        and not view.is_hidden("retrain")
        and st.button(t("actions.train_now", name=name), key=f"train_{name}")
    ):
        retrain([name], None)
        st.rerun()


def build_model(build) -> Outcome:
    """Save the model ``build`` (an ae.storage.lab.Build) asks for and queue its training, as this session."""
    if not auth.may_change():
        return _record(Outcome(False, t("actions.build_not_allowed")))
    try:
        spec = lab.create(build)
    except lab.SpecError as e:
        return _record(Outcome(False, t("actions.not_built", why=e)))
    outcome = retrain([spec.name], None)
    return _record(Outcome(True, t("actions.built", name=spec.name, then=outcome.message)))


def delete_model(name: str) -> Outcome:
    """Delete a model built in the lab (its spec and checkpoint)."""
    if not auth.may_change():
        return _record(Outcome(False, t("actions.build_not_allowed")))
    if _in_training(name):
        return _record(Outcome(False, t("actions.is_training", name=name)))
    try:
        lab.delete(name)
    except lab.SpecError as e:
        return _record(Outcome(False, t("actions.not_deleted", why=e)))
    return _record(Outcome(True, t("actions.deleted", name=name)))


def _in_training(name: str) -> bool:
    job = state.trainer().snapshot().get(name)
    return job is not None and job.state in ACTIVE
