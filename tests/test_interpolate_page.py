"""The Interpolate page, run headless with Streamlit's AppTest against the shipped checkpoints."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.test_app import _captions, _digit_png

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "interpolate.py")


def _run() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=120).run()


def _t_captions(at: AppTest) -> list[str]:
    return [c for c in _captions(at) if "t = " in c]


def test_t_is_kept_when_start_switches_to_draw():
    at = _run()
    at.slider(key="interp_t").set_value(0.7).run()
    assert all(c.endswith("t = 0.70") for c in _t_captions(at))
    at.segmented_control(key="Start_mode").set_value("Draw").run()
    assert not at.exception, at.exception
    # While the canvas is empty the slider must still be there, holding the user's t: a slider skipped for a
    # run loses its state and comes back at 0.5 in the browser while the images still use 0.7.
    assert any("Draw a digit on each empty canvas" in i.value for i in at.info)
    assert [s.key for s in at.slider] == ["interp_t"]
    assert at.slider(key="interp_t").value == 0.7
    assert at.session_state["interp_t"] == 0.7
    # The canvas component's wire format, injected as if the browser had sent a stroke.
    at.session_state["Start_canvas"] = {
        "drawing": {"raw": {"objects": []}, "data": _digit_png()},
        "backgroundFit": None,
    }
    at.run()
    assert not at.exception, at.exception
    assert at.slider(key="interp_t").value == 0.7
    captions = _t_captions(at)
    assert len(captions) == 2 and all(c.endswith("t = 0.70") for c in captions), captions


def test_t_is_kept_when_end_switches_to_draw_and_back():
    at = _run()
    at.slider(key="interp_t").set_value(0.25).run()
    at.segmented_control(key="End_mode").set_value("Draw").run()
    assert at.slider(key="interp_t").value == 0.25
    at.segmented_control(key="End_mode").set_value("Test digit").run()
    assert not at.exception, at.exception
    assert at.slider(key="interp_t").value == 0.25
    assert all(c.endswith("t = 0.25") for c in _t_captions(at))


def test_default_model_is_the_one_that_shows_the_morph():
    at = _run()
    assert not at.exception, at.exception
    assert at.selectbox(key="interp_model").value == "linear-32"
    assert "through linear-32's code" in _captions(at)
    # The text names the model that shows the morph, and warns that bigger codes look like a cross-fade.
    assert any("linear-32, shows it best" in m.value for m in at.markdown)
