"""The pages, run headless with Streamlit's AppTest against the shipped checkpoints (and a tiny registry)."""

import base64
import contextlib
import inspect
import io
import math
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

PAGES = ["pages/draw.py", "pages/compare.py", "pages/training.py"]


ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _no_class_mode(monkeypatch):
    """These tests are about the app as one person runs it: no teacher password (tests/test_class_mode.py has it)."""
    monkeypatch.delenv("AELAB_TEACHER_PASSWORD", raising=False)


def _run(path: str) -> AppTest:
    return AppTest.from_file(str(ROOT / path), default_timeout=120).run()


@pytest.mark.parametrize("page", [*PAGES, "app.py"])
def test_page_renders(page):
    at = _run(page)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.sidebar.button(key="retrain_button")  # every page has the retrain sidebar


def test_compare_table_has_every_model_with_measured_cr():
    import numpy

    from ae.storage.catalogue import REGISTRY

    assert int(numpy.__version__.split(".")[0]) >= 2  # numpy 1.x would break pyarrow and st.dataframe
    at = _run("pages/compare.py")
    table = at.dataframe[0].value
    assert list(table["model"]) == [n for n, spec in REGISTRY.items() if spec.dataset == "mnist"]  # the default
    conv = table.set_index("model").loc["conv-8"]
    assert conv["code shape"] == "8×7×7" and conv["code values"] == 392 and conv["compression ratio"] == 0.5
    assert (table["checkpoint"] == "fresh").all(), table[["model", "checkpoint", "note"]]
    assert table["test MSE"].notna().all()
    assert any("8×5×5 = 200" in i.value and "0.255" in i.value for i in at.info)


def _mse(at: AppTest) -> float:
    return float(next(m.value for m in at.metric if m.label.startswith("MSE")))


def test_model_picker_changes_the_reconstruction():
    at = _run("pages/draw.py")
    assert any("Draw a digit on the black square" in i.value for i in at.info)  # empty canvas: a hint
    at.session_state["test_index"] = 0
    at.segmented_control(key="source").set_value("Random test digit").run()
    assert not at.exception
    at.radio(key="model").set_value("linear-32").run()
    mse32 = _mse(at)
    at.radio(key="model").set_value("conv-8").run()
    mse_conv = _mse(at)
    assert mse32 != mse_conv and mse_conv < mse32  # the 392-value code rebuilds this digit better
    assert "Reconstruction by conv-8" in _captions(at)


def _captions(at: AppTest) -> list[str]:
    return [img.caption for el in at.get("image") for img in el.proto.imgs]


def _digit_png(line=((140, 40), (140, 240))) -> str:
    img = Image.new("RGBA", (256, 256), (0, 0, 0, 255))
    ImageDraw.Draw(img).line(list(line), fill=(255, 255, 255, 255), width=16)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def test_a_drawing_is_reconstructed():
    at = _run("pages/draw.py")
    # The canvas component's wire format, injected as if the browser had sent a stroke.
    at.session_state["canvas-0"] = {"drawing": {"raw": {"objects": []}, "data": _digit_png()}, "backgroundFit": None}
    at.run()
    assert not at.exception
    mse = _mse(at)
    assert 0 < mse < 0.05 and math.isfinite(mse)
    assert not at.warning


def test_a_dot_is_reconstructed_with_a_warning_to_draw_larger():
    at = _run("pages/draw.py")
    at.session_state["canvas-0"] = {
        "drawing": {"raw": {"objects": []}, "data": _digit_png(((128, 128), (130, 129)))},
        "backgroundFit": None,
    }
    at.run()
    assert not at.exception
    assert math.isfinite(_mse(at))  # still shown: the warning explains the blob, it does not hide it
    assert any("Draw the digit larger" in w.value for w in at.warning)


@pytest.mark.slow
def test_sidebar_retrain_updates_the_table(tmp_path, monkeypatch):
    monkeypatch.setenv("AELAB_REGISTRY", "tests.tiny:REGISTRY")
    monkeypatch.setenv("AELAB_CHECKPOINTS", str(tmp_path))
    at = _run("pages/compare.py")
    assert set(at.dataframe[0].value["checkpoint"]) == {"missing"}
    assert any("Train tiny-linear now" in b.label for b in at.button)
    at.sidebar.selectbox(key="retrain_model").set_value("tiny-linear").run()
    at.sidebar.button(key="retrain_button").click().run()
    deadline = time.time() + 120
    while time.time() < deadline:
        time.sleep(0.5)
        at.run()
        states = dict(zip(at.dataframe[0].value["model"], at.dataframe[0].value["checkpoint"], strict=True))
        if states["tiny-linear"] == "fresh":
            break
    assert states == {"tiny-linear": "fresh", "tiny-conv": "missing"}
    row = at.dataframe[0].value.set_index("model").loc["tiny-linear"]
    assert np.isfinite(row["test MSE"]) and row["epochs"] == 2
    assert any("tiny-linear: test MSE" in s.value for s in at.sidebar.success)


def test_sidebar_can_retrain_just_the_seed_models(tmp_path, monkeypatch):
    from ae.training.queue import Trainer

    monkeypatch.setenv("AELAB_REGISTRY", "tests.tiny:REGISTRY")
    monkeypatch.setenv("AELAB_CHECKPOINTS", str(tmp_path))
    started = []
    monkeypatch.setattr(Trainer, "start", lambda self, names, epochs=None, **kw: started.append(list(names)) or [])
    at = _run("pages/compare.py")
    box = at.sidebar.selectbox(key="retrain_model")
    assert box.options == ["all models", "seed models (2)", "tiny-linear", "tiny-conv"]
    box.set_value("seed models (2)").run()
    at.sidebar.button(key="retrain_button").click().run()
    assert started == [["tiny-linear", "tiny-conv"]]


def test_sidebar_retrain_passes_the_seed_and_leaves_it_to_the_recipe_when_blank(tmp_path, monkeypatch):
    from ae.training.queue import Trainer

    monkeypatch.setenv("AELAB_REGISTRY", "tests.tiny:REGISTRY")
    monkeypatch.setenv("AELAB_CHECKPOINTS", str(tmp_path))
    started = []
    monkeypatch.setattr(Trainer, "start", lambda self, names, epochs=None, **kw: started.append(kw["seed"]) or [])
    at = _run("pages/compare.py")
    at.sidebar.selectbox(key="retrain_model").set_value("tiny-conv").run()
    at.sidebar.button(key="retrain_button").click().run()
    at.sidebar.number_input(key="retrain_seed").set_value(6).run()
    at.sidebar.button(key="retrain_button").click().run()
    assert started == [None, 6]


def test_the_folder_mode_workaround_still_fits_this_streamlit():
    """ui/navigation.py sets a private Streamlit class attribute. If an upgrade renames it or stops reading it,
    fail here, loudly, rather than let a first visitor's deep link fall back to the old pages-folder mode."""
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import script_runner

    from ui import navigation

    assert navigation.pages_manager() is PagesManager
    assert navigation.FLAG in vars(PagesManager), f"PagesManager.{navigation.FLAG} is gone: review ui/navigation.py"
    # ... and it is still what makes a run take the folder-mode path instead of running app.py
    assert f"if PagesManager.{navigation.FLAG}:" in inspect.getsource(script_runner.ScriptRunner)


@pytest.mark.parametrize("workaround", [True, False], ids=["with-workaround", "without"])
def test_a_first_visitors_deep_link_runs_through_app_py(monkeypatch, workaround):
    """A fresh server's first session opening /compare: with the workaround it reruns through app.py's
    st.navigation; without it Streamlit runs pages/compare.py alone. If the second case ever passes through app.py
    too, Streamlit no longer needs the workaround: delete ui/navigation.py."""
    import streamlit as st

    from ui import navigation

    navigations = []
    real = st.navigation
    monkeypatch.setattr(st, "navigation", lambda *a, **k: navigations.append(a) or real(*a, **k))
    if not workaround:
        monkeypatch.setattr(navigation, "leave_folder_mode", lambda: None)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/compare.py")  # before the first run: the server is still in folder mode
    at.run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Compare models"]
    assert bool(navigations) is workaround


def test_the_message_limit_fits_the_canvas_worst_case_and_little_more():
    """server.maxMessageSize bounds every websocket message. The canvas' largest is its picture as a PNG data URL
    (a 280×280 canvas of random pixels compresses worst) plus its strokes as JSON: it must fit with room for a few
    hundred long strokes, and the limit must stay far below Streamlit's default of 200 MB."""
    import json

    noise = np.random.default_rng(0).integers(0, 256, (280, 280, 4), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise, "RGBA").save(buf, "PNG")
    picture = len("data:image/png;base64,") + len(base64.b64encode(buf.getvalue()))
    stroke = {"type": "path", "stroke": "#FFFFFF", "strokeWidth": 16, "left": 12.3456, "top": 45.6789,
              "path": [["Q", 123.456789, 78.912345, 124.567891, 80.123456]] * 100}  # fmt: skip
    worst = picture + 300 * len(json.dumps(stroke))
    assert worst < message_limit() <= 8 * worst


def message_limit() -> int:
    """server.maxMessageSize from .streamlit/config.toml, in bytes (Streamlit counts 1 MB as 10^6 bytes)."""
    import tomllib

    return tomllib.loads((ROOT / ".streamlit/config.toml").read_text())["server"]["maxMessageSize"] * 1_000_000


HINT = b"Draw a digit on the black square"  # what the Draw page shows a new session


def _canvas_message(picture_chars: int = 0) -> bytes:
    """A BackMsg as a browser sends it when its canvas changes, the picture ``picture_chars`` long (0: a plain
    rerun, as a browser sends when it opens the app)."""
    import json

    from streamlit.proto.BackMsg_pb2 import BackMsg

    msg = BackMsg()
    if picture_chars:
        widget = msg.rerun_script.widget_states.widgets.add()
        widget.id = "$$ID-canvas-probe"  # no such widget: the app ignores its value; the server still reads it
        widget.json_value = json.dumps({"drawing": {"raw": {"objects": []}, "data": "x" * picture_chars}})
    else:
        msg.rerun_script.query_string = ""
    return msg.SerializeToString()


def _connect(url: str):
    from websockets.sync.client import connect

    ws_url = f"{url.replace('http', 'ws', 1)}/_stcore/stream"
    return connect(ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=10, close_timeout=5)


def _exchange(ws, message: bytes, until: bytes | None = None, seconds: float = 30.0) -> int:
    """Send ``message``; count the answers until one contains ``until`` (or, with None, for ``seconds``). What was
    still on its way from an earlier message is read first, so it is not taken for an answer."""
    with contextlib.suppress(TimeoutError):
        for _ in range(10_000):  # bounded; each wait ends after 1 s of quiet
            ws.recv(timeout=1.0)
    ws.send(message)
    received, deadline = 0, time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            answer = ws.recv(timeout=left)
        except TimeoutError:
            break
        received += 1
        if until is not None and until in answer:
            return received
    assert until is None, f"no answer containing {until!r} within {seconds} s"
    return received


def _send_one(url: str, message: bytes, seconds: float = 10.0) -> tuple[bool, int]:
    """Send one message on a new websocket: (did the server close it, how many answers came). Returns at the first
    answer or the close, whichever comes first; neither within ``seconds`` fails."""
    from websockets.exceptions import ConnectionClosed

    received = 0
    try:
        with _connect(url) as ws:
            received = _exchange(ws, message, until=b"", seconds=seconds)  # b"" is in every answer
    except ConnectionClosed as e:
        assert e.rcvd is None or e.rcvd.code == 1009, e  # 1009: message too big
        return True, received
    return False, received


@pytest.mark.slow
def test_a_message_over_the_limit_is_refused_and_other_sessions_are_still_served():
    import urllib.request

    from bench.load import server

    limit = message_limit()
    with server() as (url, _, _pid), _connect(url) as other:
        assert _exchange(other, _canvas_message(), until=HINT)  # a session drawing along
        closed, answers = _send_one(url, _canvas_message(limit - 500_000))  # large, but within the limit: read
        assert not closed and answers > 0
        closed, answers = _send_one(url, _canvas_message(limit + 100_000))
        assert closed and answers == 0
        assert _exchange(other, _canvas_message(), until=HINT)  # the other session is still served
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as health:
            assert health.status == 200
        with _connect(url) as fresh:
            assert _exchange(fresh, _canvas_message(), until=HINT)  # and a new one too
