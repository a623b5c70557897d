"""Who may change the shared models.

Without a teacher password everyone may (one person at their own machine). With one configured, the app is in
class mode: students use every page, and only a session signed in as teacher may retrain, cancel or reset models.
The role lives in ``st.session_state`` on the server, under a key no widget uses, so a browser cannot set it.
"""

from __future__ import annotations

import hmac
import os
import time
import uuid

import streamlit as st

from ui.i18n import t

PASSWORD_ENV = "AELAB_TEACHER_PASSWORD"
SECRET_KEY = "teacher_password"
FREE_ATTEMPTS = 3  # wrong passwords allowed before each further attempt has to wait
FIRST_WAIT_S = 5.0  # the wait after the last free attempt; it doubles with every further wrong one
MAX_WAIT_S = 15 * 60.0

_ROLE, _OWNER, _FAILURES, _LOCKED_UNTIL, _NOTICE = (
    "_aelab_role", "_aelab_owner", "_aelab_failed_attempts", "_aelab_locked_until", "_aelab_sign_in_notice",
)  # fmt: skip
FIELD = "teacher_password_field"  # the sign-in form's password widget
# Stands for a password the server cannot read: class mode, and nobody can sign in (checked by identity, before any
# comparison, so no typed password can match it).
UNREADABLE = "<unreadable secrets.toml>"
clock = time.monotonic  # the back-off's clock; tests move it instead of sleeping


def configured_password() -> str | None:
    """The teacher password from the environment or st.secrets; None when neither sets one."""
    value = os.environ.get(PASSWORD_ENV)
    if not value:
        try:
            value = st.secrets.get(SECRET_KEY)
        except FileNotFoundError as e:  # Streamlit's "no secrets" errors are FileNotFoundErrors
            if getattr(e, "error_id", None) == "no-secrets-found":  # no secrets.toml at all
                return None
            # A secrets file that is there but cannot be read may hold the password: fail closed, not open.
            return UNREADABLE
    return str(value) if value else None


def class_mode() -> bool:
    return configured_password() is not None


def role() -> str:
    """This session's role: "teacher" or "student" in class mode, "owner" (may change everything) without it."""
    if not class_mode():
        return "owner"
    return "teacher" if st.session_state.get(_ROLE) == "teacher" else "student"


def may_change() -> bool:
    """May this session retrain, cancel or reset the shared models?"""
    return role() in ("owner", "teacher")


def session_owner() -> str:
    """This browser session's id, recorded on the runs it starts (the trainer bounds runs per owner)."""
    return st.session_state.setdefault(_OWNER, uuid.uuid4().hex)


def wait_left() -> float:
    """Seconds before this session may try another password (0 when it may now)."""
    return max(0.0, st.session_state.get(_LOCKED_UNTIL, 0.0) - clock())


def sign_in(entered: str) -> str | None:
    """Check ``entered`` against the teacher password; None when it is right, else a sentence for the user."""
    expected = configured_password()
    if expected is None:
        return t("auth.no_password")
    if expected is UNREADABLE:
        return t("auth.unreadable")
    if (left := wait_left()) > 0:
        return t("auth.wait", wait=_duration(left))
    if hmac.compare_digest(entered.encode("utf-8"), expected.encode("utf-8")):
        st.session_state[_ROLE] = "teacher"
        st.session_state[_FAILURES] = 0
        return None
    failures = st.session_state.get(_FAILURES, 0) + 1
    st.session_state[_FAILURES] = failures
    if failures < FREE_ATTEMPTS:
        return t("auth.wrong")
    wait = min(MAX_WAIT_S, FIRST_WAIT_S * 2 ** (failures - FREE_ATTEMPTS))
    st.session_state[_LOCKED_UNTIL] = clock() + wait
    return t("auth.wrong_wait", wait=_duration(wait))


def sign_out() -> None:
    st.session_state.pop(_ROLE, None)


def _duration(seconds: float) -> str:
    seconds = max(1, round(seconds))
    return f"{seconds} s" if seconds < 120 else f"{round(seconds / 60)} min"  # units: the same in every language


def _submit() -> None:
    """The form's callback: check the password, then empty the field so it is not kept or sent back."""
    entered = st.session_state.get(FIELD) or ""
    st.session_state[FIELD] = ""
    st.session_state[_NOTICE] = sign_in(entered)


def sign_in_form() -> None:
    """The student's "Teacher sign-in" form. The password goes over the websocket only, never into the URL."""
    with st.expander(t("auth.sign_in_title"), icon=":material/lock:"):
        with st.form("teacher_sign_in", border=False, enter_to_submit=True):
            st.text_input(t("auth.password"), type="password", key=FIELD, autocomplete="current-password")
            st.form_submit_button(t("auth.sign_in"), on_click=_submit, key="teacher_sign_in_button")
        notice = st.session_state.pop(_NOTICE, None)
        if notice:
            st.error(notice, icon=":material/lock:")
