"""Class mode: with a teacher password set, a student session changes no shared model by any means the app offers;
a teacher signs in (wrong passwords refused, then rate-limited) and gets the full sidebar. Without a password the
sidebar works as before, and says that anyone with the link may retrain."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ae.training.queue import MAX_EPOCHS, Job, Refused, Trainer
from ui import auth
from ui.i18n import text

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"
CHANGING = ("retrain_button", "reset_button", "cancel_", "train_")  # keys of every button that changes a model


@pytest.fixture
def calls(tmp_path, monkeypatch):
    """The tiny registry in empty folders, and every way of changing a model replaced by a recorder."""
    monkeypatch.setenv("AELAB_REGISTRY", "tests.tiny:REGISTRY")
    monkeypatch.setenv("AELAB_CHECKPOINTS", str(tmp_path / "checkpoints"))
    monkeypatch.setenv("AELAB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv(auth.PASSWORD_ENV, raising=False)
    made: dict[str, list] = {"start": [], "cancel": [], "reset": []}

    def start(self, names, epochs=None, *, seed=None, owner=""):
        made["start"].append((list(names), epochs, owner))
        return []

    def cancel(self, names=None, *, owner=None):
        made["cancel"].append((names, owner))
        return list(names or [])

    monkeypatch.setattr(Trainer, "start", start)
    monkeypatch.setattr(Trainer, "cancel", cancel)
    monkeypatch.setattr(
        "ae.storage.checkpoints.reset_to_shipped", lambda name, *a, **k: made["reset"].append(name) or True
    )
    return made


@pytest.fixture
def class_mode(calls, monkeypatch):
    monkeypatch.setenv(auth.PASSWORD_ENV, PASSWORD)
    return calls


def _running(monkeypatch, owner: str = "someone else") -> None:
    """The trainer reports a run under way (so the sidebar would offer Cancel to whoever may use it)."""
    job = Job("tiny-linear", 2, owner=owner, state="running", epoch=1, steps=10, step=3, loss=0.1, fraction=0.3)
    monkeypatch.setattr(Trainer, "snapshot", lambda self: {job.name: job})
    monkeypatch.setattr(Trainer, "active", lambda self: True)


def _app(page: str = "pages/draw.py") -> AppTest:
    return AppTest.from_file(str(ROOT / page), default_timeout=120).run()


def _changing_buttons(at: AppTest) -> list[str]:
    return [b.key for b in at.button if b.key and b.key.startswith(CHANGING)]


def _texts(at: AppTest) -> str:
    return " ".join(e.value for kind in ("caption", "info", "error", "success") for e in at.sidebar.get(kind))


def _sign_in(at: AppTest, password: str) -> AppTest:
    at.text_input(key=auth.FIELD).input(password)
    return at.button(key="teacher_sign_in_button").click().run()


PAGES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))


@pytest.mark.parametrize("page", PAGES)
def test_a_student_is_offered_no_way_to_change_a_model(class_mode, monkeypatch, page):
    _running(monkeypatch)
    at = _app(page)
    assert not at.exception, at.exception
    assert _changing_buttons(at) == []  # no Retrain, Reset, Cancel nor "Train now"
    assert not [s for s in at.sidebar.selectbox if s.key == "retrain_model"]
    assert text("en", "auth.student_note") in _texts(at)
    assert [e.label for e in at.sidebar.expander] == ["Teacher sign-in"]


def test_a_student_setting_widget_values_directly_starts_nothing(class_mode, monkeypatch):
    _running(monkeypatch)
    at = _app()
    # Everything a browser could claim for the hidden widgets, and more.
    for key in ("retrain_button", "reset_button", "cancel_tiny-linear", "train_tiny-linear"):
        at.session_state[key] = True
    at.session_state["retrain_model"] = "tiny-linear"
    at.session_state["retrain_epochs_tiny-linear"] = MAX_EPOCHS
    at.run()
    assert not at.exception, at.exception
    assert class_mode == {"start": [], "cancel": [], "reset": []}
    assert _changing_buttons(at) == []


def _act() -> None:
    """A page that calls every action straight away, as a page with a student-visible button would."""
    import streamlit as st

    from ui import actions

    for outcome in (
        actions.retrain(["tiny-linear"], 2),
        actions.cancel("tiny-linear"),
        actions.reset_to_shipped("tiny-linear"),
    ):
        st.write(f"{outcome.ok}: {outcome.message}")


def test_every_action_refuses_a_student_on_the_server(class_mode):
    at = AppTest.from_function(_act, default_timeout=60).run()
    assert not at.exception, at.exception
    assert [m.value for m in at.markdown] == [f"False: {auth_text()}"] * 3
    assert class_mode == {"start": [], "cancel": [], "reset": []}


def auth_text() -> str:
    return text("en", "actions.not_allowed")


def test_wrong_passwords_are_refused_then_rate_limited(class_mode, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(auth, "clock", lambda: now[0])
    at = _app()
    for attempt in range(1, auth.FREE_ATTEMPTS + 1):
        _sign_in(at, f"guess {attempt}")
        assert "That password is not right" in _texts(at)
        assert at.text_input(key=auth.FIELD).value == ""  # not kept in the field, nor sent back to the browser
    assert f"try again in {auth.FIRST_WAIT_S:.0f} s" in _texts(at)
    _sign_in(at, PASSWORD)  # right, but too soon: not even compared
    assert "try again in" in _texts(at) and _changing_buttons(at) == []
    now[0] += auth.FIRST_WAIT_S - 2
    _sign_in(at, PASSWORD)
    assert "try again in 2 s" in _texts(at)  # the wait left, not the whole wait again
    now[0] += 2.5
    _sign_in(at, "guess 4")  # a fourth wrong one doubles the wait
    assert f"try again in {2 * auth.FIRST_WAIT_S:.0f} s" in _texts(at)
    assert not at.query_params  # nothing about the sign-in goes into the URL
    assert class_mode["start"] == []


def test_the_right_password_unlocks_the_full_sidebar_and_sign_out_locks_it(class_mode, monkeypatch, caplog):
    _running(monkeypatch)
    at = _app()
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="streamlit"):
        logging.getLogger("streamlit").addHandler(caplog.handler)
        try:
            _sign_in(at, PASSWORD)
        finally:
            logging.getLogger("streamlit").removeHandler(caplog.handler)
    assert PASSWORD not in caplog.text
    assert not at.exception, at.exception
    assert text("en", "auth.teacher_note") in _texts(at)
    assert {"retrain_button", "cancel_tiny-linear"} <= set(_changing_buttons(at))
    assert at.sidebar.number_input(key="retrain_epochs_all models").max == MAX_EPOCHS
    at.sidebar.button(key="cancel_tiny-linear").click().run()
    assert class_mode["cancel"] == [(["tiny-linear"], None)]  # a teacher may stop anyone's run
    at.sidebar.selectbox(key="retrain_model").set_value("tiny-linear").run()
    at.sidebar.button(key="retrain_button").click().run()
    assert class_mode["start"][0][:2] == (["tiny-linear"], 2)
    at.sidebar.button(key="reset_button").click().run()
    assert class_mode["reset"] == [] and "cancel that run first" in _texts(at)  # it would be written back
    monkeypatch.setattr(Trainer, "snapshot", lambda self: {})
    at.sidebar.button(key="reset_button").click().run()
    assert class_mode["reset"] == ["tiny-linear"] and "is the shipped model again" in _texts(at)
    at.sidebar.button(key="teacher_sign_out").click().run()
    assert _changing_buttons(at) == [] and text("en", "auth.student_note") in _texts(at)


def test_the_password_can_come_from_secrets_toml(calls):
    at = AppTest.from_file(str(ROOT / "pages/draw.py"), default_timeout=120)
    at.secrets[auth.SECRET_KEY] = PASSWORD
    at.run()
    assert not at.exception, at.exception
    assert _changing_buttons(at) == [] and text("en", "auth.student_note") in _texts(at)
    _sign_in(at, PASSWORD)
    assert "retrain_button" in _changing_buttons(at)


def test_without_a_password_anyone_may_retrain_and_cancel_only_their_own_runs(calls, monkeypatch):
    at = _app()
    assert not at.exception, at.exception
    assert text("en", "auth.open_note") in _texts(at)
    assert not at.sidebar.expander  # no sign-in form: there is nothing to sign in to
    at.sidebar.selectbox(key="retrain_model").set_value("tiny-linear").run()
    at.sidebar.button(key="retrain_button").click().run()
    names, _, owner = calls["start"][0]
    assert names == ["tiny-linear"] and owner  # the run is recorded as this session's
    _running(monkeypatch, owner="another session")
    at.run()
    assert "cancel_tiny-linear" not in _changing_buttons(at)  # someone else's run
    _running(monkeypatch, owner=owner)
    at.run()
    at.sidebar.button(key="cancel_tiny-linear").click().run()
    assert calls["cancel"] == [(["tiny-linear"], owner)]


def test_a_refusal_by_the_trainer_is_shown(calls, monkeypatch):
    def refuse(self, names, epochs=None, *, seed=None, owner=""):
        raise Refused("your previous retrain is still queued or running: wait for it, or cancel it first")

    monkeypatch.setattr(Trainer, "start", refuse)
    at = _app()
    at.sidebar.button(key="retrain_button").click().run()
    assert not at.exception, at.exception
    assert any("previous retrain is still queued or running" in e.value for e in at.sidebar.error)


def _too_many_epochs() -> None:
    import streamlit as st

    from ae.training.queue import MAX_EPOCHS
    from ui import actions

    st.write(actions.retrain(["tiny-linear"], MAX_EPOCHS + 1).message)


def test_the_real_trainer_refuses_too_many_epochs_with_a_message(tmp_path, monkeypatch):
    monkeypatch.setenv("AELAB_REGISTRY", "tests.tiny:REGISTRY")
    monkeypatch.setenv("AELAB_CHECKPOINTS", str(tmp_path))
    monkeypatch.delenv(auth.PASSWORD_ENV, raising=False)
    at = AppTest.from_function(_too_many_epochs, default_timeout=60).run()
    assert not at.exception, at.exception
    assert at.markdown[0].value == f"Not started: epochs must be between 1 and {MAX_EPOCHS}, not {MAX_EPOCHS + 1}."


def _teacher_resets() -> None:
    import streamlit as st

    from ui import actions, auth

    assert auth.sign_in(st.session_state.get("password", "")) is None
    st.write(actions.reset_to_shipped("tiny-linear").message)


def test_reset_to_shipped_removes_the_workspace_copy(tmp_path, monkeypatch):
    from ae.runtime import workspace
    from ae.storage import checkpoints

    monkeypatch.setenv("AELAB_REGISTRY", "tests.tiny:REGISTRY")
    monkeypatch.setenv(auth.PASSWORD_ENV, PASSWORD)
    retrained = checkpoints.paths("tiny-linear", workspace.checkpoint_dir())
    for path in retrained:
        path.write_bytes(b"a retrained checkpoint")
    at = AppTest.from_function(_teacher_resets, default_timeout=60)
    at.session_state["password"] = PASSWORD
    at.run()
    assert not at.exception, at.exception
    assert at.markdown[0].value == "tiny-linear is the shipped model again."
    assert not any(path.exists() for path in retrained)
    at.run()
    assert at.markdown[0].value == "tiny-linear is already the shipped model."


def test_a_secrets_file_that_cannot_be_read_keeps_the_models_locked(calls, tmp_path, monkeypatch):
    """A typo in secrets.toml must not silently open the app to every student: class mode, and nobody signs in."""
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit/secrets.toml").write_text('teacher_password = "unterminated\n')
    monkeypatch.chdir(tmp_path)  # Streamlit looks for .streamlit/secrets.toml in the working directory
    at = AppTest.from_file(str(ROOT / "pages/draw.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    assert _changing_buttons(at) == [] and text("en", "auth.student_note") in _texts(at)
    _sign_in(at, "unterminated")
    assert "cannot be read, so nobody can sign in" in _texts(at) and _changing_buttons(at) == []
