"""A chart's text alternative (ui.charts.as_table) lists exactly the points the chart draws."""

import plotly.graph_objects as go

from ui.charts import as_table


def test_every_point_of_every_series_is_a_row_under_the_axis_titles():
    fig = go.Figure([
        go.Scatter(x=[0.1, 0.5], y=[20.0, 28.5], name="codec", text=["codec-1", "codec-3"]),
        go.Scatter(x=[0.55], y=[25.7], name="PCA"),
    ])  # fmt: skip
    fig.update_layout(xaxis_title="bits per pixel", yaxis_title="PSNR (dB)")
    table = as_table(fig)
    assert list(table.columns) == ["series", "bits per pixel", "PSNR (dB)", "point"]
    assert table["series"].tolist() == ["codec", "codec", "PCA"]
    assert table["PSNR (dB)"].tolist() == [20.0, 28.5, 25.7]
    assert table["point"].tolist()[:2] == ["codec-1", "codec-3"]
