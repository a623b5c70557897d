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
from ui.i18n import t
from ui.images import enlarge

KEY = "my_digits"  # the session's DigitSet
RESULT = "my_digits_result"  # the last fine-tune's figures, shown until the next one
_UPLOADS = "_my_digits_uploads"  # uploaded file id -> what loading it said, so a rerun does not load it again
GALLERY = 40  # the most recent digits shown


def digits() -> DigitSet:
    return st.session_state.setdefault(KEY, handwriting.empty())


def section(digit: np.ndarray | None, chosen: str | None = None) -> None:
    """The whole section: ``digit`` is the current input (28×28 in [0, 1]), ``chosen`` the page's model."""
    st.header(t("mine.title"))
    st.write(t("mine.intro", n=MIN_FOR_FINETUNE))
    _add(digit)
    _gallery(digits())
    _file(digits())
    _finetune(chosen)


def _add(digit: np.ndarray | None) -> None:
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    label = left.segmented_control(t("mine.shows"), list(range(10)), key="my_digit_label")
    missing = t("mine.pick_first") if label is None else None
    if right.button(
        t("mine.add"), icon=":material/add:", key="my_digits_add", disabled=digit is None or label is None,
        help=missing, width="stretch",
    ):  # fmt: skip
        try:
            st.session_state[KEY] = handwriting.add(digits(), digit, int(label))
            st.toast(t("mine.added", label=label, n=len(digits())), icon=":material/check:")
        except ValueError as e:
            st.error(str(e), icon=":material/error:")


def _gallery(mine: DigitSet) -> None:
    if not len(mine):
        st.caption(t("mine.none"))
        return
    per_label = " · ".join(f"{d}: {n}" for d, n in mine.counts().items() if n)
    st.caption(
        t("mine.count", n=len(mine), per_label=per_label) + (t("mine.last", n=GALLERY) if len(mine) > GALLERY else "")
    )
    shown = range(max(0, len(mine) - GALLERY), len(mine))
    st.image(
        [enlarge(mine.images[i] / 255.0, 2) for i in shown], caption=[str(mine.labels[i]) for i in shown], width=42,
        alt=[t("mine.digit_alt", label=mine.labels[i]) for i in shown],
    )  # fmt: skip
    a, b, _ = st.columns([1, 1, 2])
    if a.button(t("mine.remove_last"), icon=":material/undo:", key="my_digits_remove_last", width="stretch"):
        st.session_state[KEY] = handwriting.remove(mine, -1)
        st.rerun()
    with b.popover(t("mine.remove_all"), icon=":material/delete:", width="stretch"):
        st.write(t("mine.remove_ask", n=len(mine)))
        if st.button(t("mine.remove_yes"), key="my_digits_clear", type="primary"):
            st.session_state[KEY] = handwriting.empty()
            st.rerun()


def _file(mine: DigitSet) -> None:
    left, right = st.columns(2)
    left.download_button(
        t("mine.download"), handwriting.to_bytes(mine), file_name="my-digits.npz", mime="application/octet-stream",
        icon=":material/download:", disabled=not len(mine), key="my_digits_download", on_click="ignore",
        help=t("mine.download_help"),
    )  # fmt: skip
    upload = right.file_uploader(t("mine.load"), type=["npz"], key="my_digits_file")
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
        return Outcome(False, t("mine.not_loaded", why=e, n=len(before)))
    st.session_state[KEY] = merged
    return Outcome(True, t("mine.loaded", new=len(merged) - len(before), n=len(merged)))


def _finetune(chosen: str | None) -> None:
    mine = digits()
    if len(mine) < MIN_FOR_FINETUNE:
        st.info(
            t("mine.more_one" if (k := MIN_FOR_FINETUNE - len(mine)) == 1 else "mine.more", k=k),
            icon=":material/school:",
        )
        _result()
        return
    st.markdown(t("mine.teach"))
    names = state.usable()
    if not names:
        st.warning(t("mine.no_model"))
        return
    index = names.index(chosen) if chosen in names else 0
    left, right = st.columns(2)
    base = left.selectbox(t("mine.base"), names, index=index, key="my_digits_base")
    name = right.text_input(t("mine.save_as"), finetune.default_name(base), max_chars=40, key=f"my_digits_name_{base}")
    allowed = auth.may_change()
    if not allowed:
        st.caption(t("mine.not_allowed"))
    if st.button(
        t("mine.finetune"), icon=":material/school:", type="primary", disabled=not allowed,
        key="my_digits_finetune", help=t("mine.finetune_help"),
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
        return Outcome(False, t("mine.not_allowed"))
    mine, registry = digits(), state.registry()
    if len(mine) < MIN_FOR_FINETUNE:
        return Outcome(False, t("mine.too_few", need=MIN_FOR_FINETUNE, n=len(mine)))
    model, meta, _ = state.model(base) if base in registry else (None, None, None)
    if model is None:
        return Outcome(False, t("mine.no_base", base=repr(base)))
    try:
        finetune.check_target(registry[base], name, len(mine))  # a bad name is refused before the run, not after
        result, saved = _run(registry[base], model, meta, mine, name)
    except (spec_files.SpecError, TrainingBusy, Diverged, ValueError) as e:
        return Outcome(False, t("mine.not_saved", why=e))
    st.session_state[RESULT] = {
        "base": base, "name": saved.name, "digits": len(mine), "steps": result.steps, "seconds": result.seconds,
        "before": result.before, "after": result.after,
    }  # fmt: skip
    return Outcome(True, t("mine.saved", name=saved.name))


def _run(spec, model, meta: dict, mine: DigitSet, name: str):
    """The fine-tune and the save, on one core, shown as a status with a progress bar."""
    data = state.data()
    with st.status(t("mine.tuning", name=spec.name, n=len(mine)), expanded=True) as status:
        bar = st.progress(0.0, text=t("mine.waiting"))
        with state.one_core():
            result = finetune.finetune(
                model, mine, data, noise_std=spec.recipe.noise_std,
                before_mnist=finetune.recorded_test_mse(meta, data),
                progress=lambda step, steps: bar.progress(step / steps, text=t("mine.step", step=step, steps=steps)),
            )  # fmt: skip
            bar.progress(1.0, text=t("mine.saving"))
            saved = finetune.save(result, spec, meta, data, name=name)
        status.update(label=t("mine.tuned", name=spec.name, saved=saved.name), state="complete")
    return result, saved


def _result() -> None:
    r = st.session_state.get(RESULT)
    if not r:
        return
    before, after = r["before"], r["after"]
    st.success(
        t("mine.result", name=r["name"], base=r["base"], digits=r["digits"], steps=r["steps"], seconds=r["seconds"]),
        icon=":material/school:",
    )
    st.dataframe(results_table(before, after), hide_index=True)
    st.caption(t("mine.forget", answer=forgetting(before.mnist, after.mnist)))


def results_table(before: finetune.Scores, after: finetune.Scores) -> pd.DataFrame:
    rows = [(t("mine.yours"), before.yours, after.yours), (t("mine.mnist"), before.mnist, after.mnist)]
    on, was, now, change = t("mine.col_on"), t("mine.col_before"), t("mine.col_after"), t("mine.col_change")
    return pd.DataFrame([{on: w, was: b, now: a, change: f"{a / b - 1:+.0%}"} for w, b, a in rows])


def forgetting(before: float, after: float) -> str:
    change = after / before - 1
    if change <= 0.02:
        return t("mine.forget_no", change=change)
    if change <= 0.25:
        return t("mine.forget_little", change=change)
    return t("mine.forget_yes", change=change)
