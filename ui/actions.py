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

NOT_ALLOWED = "Only the teacher can retrain, cancel or reset models here. Ask your teacher."
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
        return _record(Outcome(False, NOT_ALLOWED))
    try:
        busy = state.trainer().start(list(names), epochs, seed=seed, owner=auth.session_owner())
    except Refused as e:
        return _record(Outcome(False, f"Not started: {e}."))
    started = [n for n in names if n not in busy]
    text = f"Training {', '.join(started)}." if started else "Nothing new to train."
    if busy:
        text += f" Already training: {', '.join(busy)}; showing its progress."
    return _record(Outcome(True, text))


def cancel(name: str) -> Outcome:
    """Stop ``name``'s run. A teacher may stop any run; without class mode a session stops only its own."""
    if not auth.may_change():
        return _record(Outcome(False, NOT_ALLOWED))
    owner = None if auth.role() == "teacher" else auth.session_owner()
    if state.trainer().cancel([name], owner=owner):
        return _record(Outcome(True, f"Cancelling {name}."))
    return _record(Outcome(False, f"{name} is not a run of yours that is queued or running."))


def may_cancel(job) -> bool:
    """Whether this session would be allowed to cancel ``job`` (to offer the button only where it works)."""
    return auth.role() == "teacher" or (auth.role() == "owner" and job.owner == auth.session_owner())


def reset_to_shipped(name: str) -> Outcome:
    """Drop ``name``'s retrained checkpoint so the shipped one is served again."""
    if not auth.may_change():
        return _record(Outcome(False, NOT_ALLOWED))
    if _in_training(name):
        return _record(Outcome(False, f"{name} is being retrained: cancel that run first."))
    try:
        removed = checkpoints.reset_to_shipped(name, state.checkpoint_dir())
    except checkpoints.TrainingBusy as e:
        return _record(Outcome(False, f"{name} is being retrained ({e}): try again when it ends."))
    if not removed:
        return _record(Outcome(True, f"{name} is already the shipped model."))
    return _record(Outcome(True, f"{name} is the shipped model again."))


def train_now_button(name: str) -> None:
    """A "Train <name> now" button for a model with no usable checkpoint, offered only to who may train."""
    if auth.may_change() and not view.is_hidden("retrain") and st.button(f"Train {name} now", key=f"train_{name}"):
        retrain([name], None)
        st.rerun()


BUILD_NOT_ALLOWED = "Only the teacher can build or delete models here. Ask your teacher."


def build_model(build) -> Outcome:
    """Save the model ``build`` (an ae.storage.lab.Build) asks for and queue its training, as this session."""
    if not auth.may_change():
        return _record(Outcome(False, BUILD_NOT_ALLOWED))
    try:
        spec = lab.create(build)
    except lab.SpecError as e:
        return _record(Outcome(False, f"Not built: {e}"))
    outcome = retrain([spec.name], None)
    return _record(Outcome(True, f"Built {spec.name}. {outcome.message}"))


def delete_model(name: str) -> Outcome:
    """Delete a model built in the lab (its spec and checkpoint)."""
    if not auth.may_change():
        return _record(Outcome(False, BUILD_NOT_ALLOWED))
    if _in_training(name):
        return _record(Outcome(False, f"{name} is training: cancel that run first."))
    try:
        lab.delete(name)
    except lab.SpecError as e:
        return _record(Outcome(False, f"Not deleted: {e}"))
    return _record(Outcome(True, f"Deleted {name}."))


def _in_training(name: str) -> bool:
    job = state.trainer().snapshot().get(name)
    return job is not None and job.state in ACTIVE
