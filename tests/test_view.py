"""The URL holds the view: each query parameter sets what a page shows and survives a rerun, the widgets write their
choice back, bad values are ignored with a note, and ``hide`` only ever takes controls away (AppTest, per page)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui import auth

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _quiet_and_open(monkeypatch):
    """One person at their own machine unless a test sets class mode; Streamlit's log line about a widget preset
    through session state (how a link sets a widget) is expected here."""
    monkeypatch.delenv(auth.PASSWORD_ENV, raising=False)
    logging.getLogger("streamlit.elements.lib.policies").setLevel(logging.ERROR)


def _open(page: str, **params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / page), default_timeout=120)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def _url(at: AppTest) -> dict[str, str]:
    return {k: at.query_params[k] for k in at.query_params}


def _captions(at: AppTest) -> list[str]:
    return [img.caption for el in at.get("image") for img in el.proto.imgs]


def _notes(at: AppTest) -> list[str]:
    return [t.value for t in at.toast]


def _fine(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def test_model_digit_and_presenter_from_a_link_set_draw_and_survive_a_rerun():
    at = _open("pages/draw.py", model="linear-64", digit="1234", presenter="1")
    for _ in range(2):  # as opened, and after a rerun
        _fine(at)
        assert at.radio(key="model").value == "linear-64"
        assert "Test digit #1234, label 8" in _captions(at)
        assert "Reconstruction by linear-64" in _captions(at)
        assert at.sidebar.toggle(key="presenter").value is True
        assert _url(at) == {"model": "linear-64", "digit": "1234", "presenter": "1"}
        assert not _notes(at)
        at.run()
    assert at.sidebar.code[0].value == "?model=linear-64&digit=1234&presenter=1"  # "Link to this view"


def test_changing_a_widget_on_draw_updates_the_url():
    at = _open("pages/draw.py", digit="7")
    assert _url(at) == {"digit": "7", "model": "linear-32"}  # the picker's choice is in the link too
    at.radio(key="model").set_value("conv-8").run()
    assert _url(at)["model"] == "conv-8"
    assert at.sidebar.code[0].value == "?model=conv-8&digit=7"
    at.sidebar.toggle(key="presenter").set_value(True).run()
    assert _url(at)["presenter"] == "1"
    at.sidebar.toggle(key="presenter").set_value(False).run()
    assert "presenter" not in _url(at)
    next(b for b in at.button if b.label == "Another digit").click().run()
    assert _url(at)["digit"] == str(at.session_state["test_index"])
    at.segmented_control(key="source").set_value("Draw").run()
    assert "digit" not in _url(at)  # a drawing is not a test digit: the link no longer names one
    _fine(at)


def test_metric_from_a_link_sets_the_rate_distortion_chart_and_follows_the_control():
    at = _open("pages/rd.py", metric="ssim")
    for _ in range(2):
        _fine(at)
        assert at.segmented_control(key="rd_metric").value == "SSIM"
        assert _url(at) == {"metric": "ssim"}
        at.run()
    at.segmented_control(key="rd_metric").set_value("classifier accuracy").run()
    assert _url(at) == {"metric": "accuracy"}
    _fine(at)


def test_interpolate_takes_its_model_and_both_digits_from_a_link():
    at = _open("pages/interpolate.py", model="linear-64", digit="42", end="7")
    for _ in range(2):
        _fine(at)
        assert at.selectbox(key="interp_model").value == "linear-64"
        assert at.number_input(key="Start_index").value == 42
        assert at.number_input(key="End_index").value == 7
        assert _url(at) == {"model": "linear-64", "digit": "42", "end": "7"}
        at.run()
    at.number_input(key="End_index").set_value(9).run()
    assert _url(at)["end"] == "9"


def test_training_takes_several_models_from_a_link():
    at = _open("pages/training.py", model="linear-32,conv-8")
    for _ in range(2):
        _fine(at)
        assert at.pills(key="train_models").value == ["linear-32", "conv-8"]
        assert _url(at) == {"model": "linear-32,conv-8"}
        at.run()


BAD = [
    ("pages/draw.py", "model", "../../etc"),
    ("pages/draw.py", "digit", "-1"),
    ("pages/draw.py", "digit", "99999999"),
    ("pages/draw.py", "digit", "abc"),
    ("pages/draw.py", "presenter", "banana"),
    ("pages/draw.py", "hide", "foo"),
    ("pages/rd.py", "metric", "nope"),
    ("pages/interpolate.py", "model", "linear-33"),  # looks like a model, is none
]


@pytest.mark.parametrize(("page", "param", "value"), BAD)
def test_a_bad_value_is_ignored_with_a_note(page, param, value):
    at = _open(page, **{param: value})
    _fine(at)
    assert any(f"`{param}={value}` was ignored" in note for note in _notes(at)), _notes(at)
    assert _url(at).get(param) != value  # the link now describes what is shown instead
    if param == "presenter":
        assert at.sidebar.toggle(key="presenter").value is False
    at.run()
    _fine(at)


def test_a_bad_model_is_noted_even_where_the_page_draws_no_picker_yet():
    at = _open("pages/draw.py", model="linear-64,../../etc")  # Draw shows its picker only once there is a digit
    assert any("`model=../../etc` was ignored" in note for note in _notes(at))
    assert _url(at)["model"] == "linear-64"  # the good part still stands
    at.segmented_control(key="source").set_value("Random test digit").run()
    assert at.radio(key="model").value == "linear-64"


def test_hide_retrain_removes_the_retrain_section():
    assert _open("pages/draw.py").sidebar.button(key="retrain_button")  # there without it
    at = _open("pages/draw.py", hide="retrain")
    _fine(at)
    assert not [b for b in at.sidebar.button if b.key == "retrain_button"]
    assert not [s for s in at.sidebar.header if s.value == "Retrain"]
    assert at.sidebar.toggle(key="presenter")  # the rest of the sidebar stays
    assert _url(at) == {"hide": "retrain"}


def test_hide_sidebar_draws_no_sidebar_controls_and_keeps_presenter_mode():
    assert len(_open("pages/compare.py").sidebar) > 0
    at = _open("pages/compare.py", hide="sidebar", presenter="1")
    _fine(at)
    assert len(at.sidebar) == 0
    assert at.session_state["presenter"] is True
    assert any("font-size" in h.proto.body for h in at.get("html"))  # the presenter style still applies
    assert _url(at) == {"presenter": "1", "hide": "sidebar"}


def test_hide_stays_for_the_session_when_the_parameter_goes():
    at = _open("pages/draw.py", hide="retrain")
    del at.query_params["hide"]  # e.g. Streamlit drops the query on a page change
    at.run()
    assert not [b for b in at.sidebar.button if b.key == "retrain_button"]
    assert _url(at) == {"hide": "retrain"}  # and the link says so again


@pytest.mark.parametrize(
    ("hide", "position"),
    [(None, "sidebar"), ("sidebar", "top"), ("nav", "hidden"), ("retrain", "sidebar"), ("foo", "sidebar")],
)
def test_app_places_the_page_list_as_hide_asks(hide, position):
    def script():
        import streamlit as st

        from ui import view

        st.text(view.nav_position())

    at = AppTest.from_function(script)
    if hide is not None:
        at.query_params["hide"] = hide
    at.run()
    assert at.text[0].value == position


@pytest.fixture
def class_mode(monkeypatch):
    monkeypatch.setenv(auth.PASSWORD_ENV, PASSWORD)


def _changing(at: AppTest) -> list[str]:
    return [b.key for b in at.button if b.key and b.key.startswith(("retrain_button", "reset_button", "cancel_"))]


@pytest.mark.parametrize("hide", [None, "", "foo", "retrain", "sidebar", "nav", "sidebar,retrain,nav"])
def test_hide_grants_a_student_nothing(class_mode, hide):
    at = _open("pages/draw.py", **({} if hide is None else {"hide": hide}))
    _fine(at)
    assert not _changing(at)
    assert auth._ROLE not in at.session_state  # still no teacher role in this session


def test_a_teacher_opening_hide_retrain_has_no_retrain_button(class_mode):
    at = _open("pages/draw.py")
    at.text_input(key=auth.FIELD).input(PASSWORD)
    at.button(key="teacher_sign_in_button").click().run()
    assert at.sidebar.button(key="retrain_button")  # signed in: the full sidebar
    at.query_params["hide"] = "retrain"
    at.run()
    _fine(at)
    assert not _changing(at)
