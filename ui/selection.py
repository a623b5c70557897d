"""Which of a Plotly figure's points a chart selection picked."""

from __future__ import annotations

from typing import Any


def picked_custom_data(fig: Any, points: list[dict]) -> list:
    """The first custom-data value of every selected point that has one, looked up in ``fig`` itself.

    The selection event's own ``customdata`` cannot be trusted: plotly ships numpy columns to the browser as typed
    arrays, and a typed array comes back from the browser as a dict ({"0": 17}), not a list. The point's trace and
    index are plain integers, so the value is read from the figure instead.
    """
    picked = []
    for p in points:
        curve, index = p.get("curve_number"), p.get("point_index", p.get("point_number"))
        if curve is None or index is None or not 0 <= curve < len(fig.data):
            continue
        custom = fig.data[curve].customdata
        if custom is not None and 0 <= index < len(custom):
            picked.append(custom[index][0])
    return picked
