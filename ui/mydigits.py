"""The Draw page's "My digits": keep drawings with their labels, save them as a file, teach a model your handwriting.

The digits live in this session (``st.session_state``) and in the file the user downloads; collecting them is for
everyone. Fine-tuning saves a model that every page (and, in class mode, every student) sees, so, like retraining,
it is checked on the server (``ui.auth.may_change``) whatever the widgets show.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from ae.data import handwriting
from ae.data.handwriting import MIN_FOR_FINETUNE, DigitFileError, DigitSet
from ae.storage import spec_files
from ae.storage.checkpoints import TrainingBusy
from ae.training import finetune
from ae.training.loop import Diverged
from ui import auth, state
from ui.actions import Outcome
from ui.images import enlarge

KEY = "my_digits"  # the session's DigitSet
RESULT = "my_digits_result"  # the last fine-tune's figures, shown until the next one
_UPLOADS = "_my_digits_uploads"  # uploaded file id -> what loading it said, so a rerun does not load it again
GALLERY = 40  # the most recent digits shown
NOT_ALLOWED = (
    "Only the teacher can fine-tune models here: the model it saves is one every student sees. Your digits stay "
    "yours: download them, and ask your teacher."
)


def digits() -> DigitSet:
    return st.session_state.setdefault(KEY, handwriting.empty())


def section(digit: np.ndarray | None, chosen: str | None = None) -> None:
    """The whole section: ``digit`` is the current input (28×28 in [0, 1]), ``chosen`` the page's model."""
    st.header("My digits")
    st.write(
        "Keep your drawings, each with the digit it shows. They stay in this browser tab: download them as a file "
        f"to keep them. With {MIN_FOR_FINETUNE} or more, teach a model your handwriting."
    )
    _add(digit)
    _gallery(digits())
    _file(digits())
    _finetune(chosen)


def _add(digit: np.ndarray | None) -> None:
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    label = left.segmented_control("This drawing shows a", list(range(10)), key="my_digit_label")
    missing = "Pick the digit it shows first." if label is None else None
    if right.button(
        "Add to my digits", icon=":material/add:", key="my_digits_add", disabled=digit is None or label is None,
        help=missing, width="stretch",
    ):  # fmt: skip
        try:
            st.session_state[KEY] = handwriting.add(digits(), digit, int(label))
            st.toast(f"Added a {label}: you have {len(digits())} digits.", icon=":material/check:")
        except ValueError as e:
            st.error(str(e), icon=":material/error:")


def _gallery(mine: DigitSet) -> None:
    if not len(mine):
        st.caption("No digits yet.")
        return
    per_label = " · ".join(f"{d}: {n}" for d, n in mine.counts().items() if n)
    st.caption(f"**{len(mine)} digits** ({per_label})" + (f"; the last {GALLERY} shown" if len(mine) > GALLERY else ""))
    shown = range(max(0, len(mine) - GALLERY), len(mine))
    st.image(
        [enlarge(mine.images[i] / 255.0, 2) for i in shown], caption=[str(mine.labels[i]) for i in shown], width=42,
        alt=[f"Your digit labelled {mine.labels[i]}" for i in shown],
    )  # fmt: skip
    a, b, _ = st.columns([1, 1, 2])
    if a.button("Remove the last", icon=":material/undo:", key="my_digits_remove_last", width="stretch"):
        st.session_state[KEY] = handwriting.remove(mine, -1)
        st.rerun()
    with b.popover("Remove all", icon=":material/delete:", width="stretch"):
        st.write(f"Remove all {len(mine)} digits from this tab? A file you downloaded keeps them.")
        if st.button("Yes, remove them all", key="my_digits_clear", type="primary"):
            st.session_state[KEY] = handwriting.empty()
            st.rerun()


def _file(mine: DigitSet) -> None:
    left, right = st.columns(2)
    left.download_button(
        "Download my digits", handwriting.to_bytes(mine), file_name="my-digits.npz", mime="application/octet-stream",
        icon=":material/download:", disabled=not len(mine), key="my_digits_download", on_click="ignore",
        help="A small .npz file (two arrays: 28×28 images as bytes, and labels). Upload it after a reload.",
    )  # fmt: skip
    upload = right.file_uploader("Load a digits file", type=["npz"], key="my_digits_file")
    if upload is None:
        return
    seen = st.session_state.setdefault(_UPLOADS, {})
    if upload.file_id not in seen:
        seen[upload.file_id] = load_file(upload.getvalue())
    outcome = seen[upload.file_id]
    (st.success if outcome.ok else st.error)(outcome.message, icon=":material/upload_file:")


def load_file(blob: bytes) -> Outcome:
    """Add the digits of an uploaded file to this session's (those it holds already are not added twice). A bad file
    changes nothing and says why."""
    before = digits()
    try:
        merged = handwriting.merge(before, handwriting.from_bytes(blob))
    except DigitFileError as e:
        return Outcome(False, f"Not loaded: {e}. Your {len(before)} digits are as they were.")
    st.session_state[KEY] = merged
    return Outcome(True, f"Loaded {len(merged) - len(before)} new digits: you have {len(merged)}.")


def _finetune(chosen: str | None) -> None:
    mine = digits()
    if len(mine) < MIN_FOR_FINETUNE:
        st.info(
            f"Add {(k := MIN_FOR_FINETUNE - len(mine))} more digit{'s' * (k != 1)} to fine-tune a model on your "
            "handwriting.",
            icon=":material/school:",
        )
        _result()
        return
    st.markdown("**Teach a model your handwriting**")
    names = state.usable()
    if not names:
        st.warning("No trained model is available to fine-tune.")
        return
    index = names.index(chosen) if chosen in names else 0
    left, right = st.columns(2)
    base = left.selectbox("Model to fine-tune", names, index=index, key="my_digits_base")
    name = right.text_input("Save it as", finetune.default_name(base), max_chars=40, key=f"my_digits_name_{base}")
    allowed = auth.may_change()
    if not allowed:
        st.caption(NOT_ALLOWED)
    if st.button(
        "Fine-tune on my handwriting", icon=":material/school:", type="primary", disabled=not allowed,
        key="my_digits_finetune", help="A copy of the model trains for a few seconds on your digits mixed with "
        "MNIST digits, and is saved as a new model; the original is left as it is.",
    ):  # fmt: skip
        outcome = fine_tune(base, name.strip())
        if outcome.ok:
            st.rerun()  # the new model joins the strip and the pickers above
        st.error(outcome.message, icon=":material/error:")
    _result()


def fine_tune(base: str, name: str) -> Outcome:
    """Fine-tune ``base`` on this session's digits and save it as ``name``: checked on the server, like every
    change to the shared models. The figures go to ``st.session_state[RESULT]``."""
    if not auth.may_change():
        return Outcome(False, NOT_ALLOWED)
    mine, registry = digits(), state.registry()
    if len(mine) < MIN_FOR_FINETUNE:
        return Outcome(False, f"Not started: fine-tuning needs {MIN_FOR_FINETUNE} digits; you have {len(mine)}.")
    model, meta, _ = state.model(base) if base in registry else (None, None, None)
    if model is None:
        return Outcome(False, f"Not started: {base!r} is not a model with a usable checkpoint.")
    try:
        finetune.check_target(registry[base], name, len(mine))  # a bad name is refused before the run, not after
        result, saved = _run(registry[base], model, meta, mine, name)
    except (spec_files.SpecError, TrainingBusy, Diverged, ValueError) as e:
        return Outcome(False, f"Not saved: {e}")
    st.session_state[RESULT] = {
        "base": base, "name": saved.name, "digits": len(mine), "steps": result.steps, "seconds": result.seconds,
        "before": result.before, "after": result.after,
    }  # fmt: skip
    return Outcome(True, f"Saved as {saved.name}.")


def _run(spec, model, meta: dict, mine: DigitSet, name: str):
    """The fine-tune and the save, on one core, shown as a status with a progress bar."""
    data = state.data()
    with st.status(f"Fine-tuning {spec.name} on your {len(mine)} digits ...", expanded=True) as status:
        bar = st.progress(0.0, text="Waiting for a free core ...")
        with state.one_core():
            result = finetune.finetune(
                model, mine, data, noise_std=spec.recipe.noise_std,
                before_mnist=finetune.recorded_test_mse(meta, data),
                progress=lambda step, steps: bar.progress(step / steps, text=f"Step {step} of {steps}"),
            )  # fmt: skip
            bar.progress(1.0, text="Measuring and saving ...")
            saved = finetune.save(result, spec, meta, data, name=name)
        status.update(label=f"Fine-tuned {spec.name} as {saved.name}", state="complete")
    return result, saved


def _result() -> None:
    r = st.session_state.get(RESULT)
    if not r:
        return
    before, after = r["before"], r["after"]
    st.success(
        f"**{r['name']}** is {r['base']} fine-tuned on your {r['digits']} digits ({r['steps']} steps, "
        f"{r['seconds']:.1f} s). It is a model like any other now: on this page's strip, in Compare, everywhere.",
        icon=":material/school:",
    )
    st.dataframe(results_table(before, after), hide_index=True)
    st.caption(f"Did it forget MNIST? {forgetting(before.mnist, after.mnist)}")


def results_table(before: finetune.Scores, after: finetune.Scores) -> pd.DataFrame:
    rows = [("your digits", before.yours, after.yours), ("MNIST test digits (10,000)", before.mnist, after.mnist)]
    return pd.DataFrame(
        [{"reconstruction MSE on": w, "before": b, "after": a, "change": f"{a / b - 1:+.0%}"} for w, b, a in rows]
    )


def forgetting(before: float, after: float) -> str:
    change = after / before - 1
    if change <= 0.02:
        return f"No: its MNIST test error moved by {change:+.1%}."
    if change <= 0.25:
        return f"A little: its MNIST test error rose by {change:.0%}, the price of learning your hand."
    return f"Yes, noticeably: its MNIST test error rose by {change:.0%}. More MNIST in the mix would keep more of it."
