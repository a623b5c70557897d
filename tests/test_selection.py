"""Reading a chart selection back: the Latent map crashed on the browser's typed-array customdata."""

import numpy as np
import plotly.express as px

from ui.selection import picked_custom_data


def _figure():
    labels = np.array(["0", "1", "0", "1"])
    fig = px.scatter(x=[0, 1, 2, 3], y=[0, 1, 2, 3], color=labels, custom_data=[np.array([10, 11, 12, 13])])
    fig.add_scatter(x=[1.5], y=[1.5], mode="markers", name="your drawing")  # a trace without custom data
    return fig


def test_values_come_from_the_figure_whatever_the_browser_sent():
    points = [
        {"curve_number": 0, "point_index": 1, "customdata": {"0": 12}},  # a typed array, as the browser sends it
        {"curve_number": 1, "point_index": 0, "customdata": [11]},
        {"curve_number": 1, "point_number": 1},  # older events name the index point_number
    ]
    assert picked_custom_data(_figure(), points) == [12, 11, 13]


def test_points_without_custom_data_or_out_of_range_are_skipped():
    points = [
        {"curve_number": 2, "point_index": 0},  # the drawing's star
        {"curve_number": 7, "point_index": 0},
        {"curve_number": 0, "point_index": 99},
        {"x": 1.0, "y": 2.0},
    ]
    assert picked_custom_data(_figure(), points) == []
