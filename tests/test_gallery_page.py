"""The Gallery page, run headless with Streamlit's AppTest against the shipped checkpoints."""

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "gallery.py")


def test_class_error_chart_labels_every_digit():
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception, at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert list(spec["data"][0]["x"]) == [str(c) for c in range(10)]
    # A numeric-looking axis gets auto ticks (0, 2, 4, ...); a category axis with a tick per category names all ten.
    xaxis = spec["layout"]["xaxis"]
    assert xaxis["type"] == "category" and xaxis["dtick"] == 1, xaxis
