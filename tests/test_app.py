"""The pages, run headless with Streamlit's AppTest against the shipped checkpoints (and a tiny registry)."""

import base64
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

    from ae.registry import REGISTRY

    assert int(numpy.__version__.split(".")[0]) >= 2  # numpy 1.x would break pyarrow and st.dataframe
    at = _run("pages/compare.py")
    table = at.dataframe[0].value
    assert list(table["model"]) == list(REGISTRY)
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
    from ae.background import Trainer

    monkeypatch.setenv("AELAB_REGISTRY", "tests.tiny:REGISTRY")
    monkeypatch.setenv("AELAB_CHECKPOINTS", str(tmp_path))
    started = []
    monkeypatch.setattr(Trainer, "start", lambda self, names, epochs=None: started.append(list(names)) or [])
    at = _run("pages/compare.py")
    box = at.sidebar.selectbox(key="retrain_model")
    assert box.options == ["all models", "seed models (2)", "tiny-linear", "tiny-conv"]
    box.set_value("seed models (2)").run()
    at.sidebar.button(key="retrain_button").click().run()
    assert started == [["tiny-linear", "tiny-conv"]]
