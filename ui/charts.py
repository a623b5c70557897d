"""The charts the pages show, built from the tables that ae computes: one colour per kind of model or codec on every
page, log axes labelled in plain decimals, and nothing drawn at a value the data does not have."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from ae.models.specs import ModelSpec
from ui.i18n import label, t

# One colour per kind of model or codec, used by every chart that plots them (Compare, Rate & distortion,
# Training), so a colour means the same thing on every page. Okabe–Ito colours: distinct for colour-blind viewers
# and readable on the dark theme.
FAMILY_COLOURS = {
    "linear": "#56B4E9",  # sky blue
    "conv": "#E69F00",  # orange
    "PCA": "#CC79A7",  # pink
    "JPEG": "#009E73",  # green
    "WebP": "#F0E442",  # yellow
    "PNG": "#BBBBBB",  # grey: lossless, the exact digit
    "codec": "#D55E00",  # vermillion: the autoencoder trained for rate (ae.models.codec)
    "mlp": "#44AA99",  # teal (Paul Tol's palette, beyond Okabe–Ito's eight): deep linear models, the lab's
    "vae": "#AA4499",  # purple: the generative models
}
OTHER_COLOUR = "#888888"
# Per-model colours (the Training page plots models, not kinds): hues around the family colour, far enough apart to
# tell six models apart, the family colour first.
FAMILY_SHADES = {
    "linear": ["#56B4E9", "#9fdcff", "#2a74d5", "#8f8cf2", "#3fc9bd", "#c7b0ff"],
    "conv": ["#E69F00", "#ffd27a", "#b8860b", "#ff9b85", "#a0522d"],
    "codec": ["#D55E00", "#ff7f50", "#8b2500", "#ffa07a", "#cd5c5c"],
    "mlp": ["#44AA99", "#88ccbb", "#227766", "#66ddaa"],
    "vae": ["#AA4499", "#dd88cc", "#771166"],
}
GROUP_SYMBOLS = {
    "seed": "circle", "matched": "square", "denoise": "diamond", "codec": "star", "lab": "triangle-up",
    "generate": "hexagon",
}  # fmt: skip


def model_colours(registry: dict[str, ModelSpec]) -> dict[str, str]:
    """A fixed colour per model, drawn from its family's shades (linear cool, conv warm; each family's first model
    gets the family colour), in registry order: a model keeps its colour whichever models a chart shows."""
    colours = {}
    for family in dict.fromkeys(s.family for s in registry.values()):
        shades = FAMILY_SHADES.get(family) or [FAMILY_COLOURS.get(family, OTHER_COLOUR)]
        names = [n for n, s in registry.items() if s.family == family]
        colours.update({n: shades[i % len(shades)] for i, n in enumerate(names)})
    return colours


def log_ticks(values) -> tuple[list[float], list[str]]:
    """Tick positions 1, 2, 5 per decade spanning ``values`` (> 0), written as plain decimals (0.0001, not 100µ
    or 1e-4), readable by anyone who reads decimals."""
    positive = [float(v) for v in values if v is not None and math.isfinite(v) and v > 0]
    if not positive:
        return [], []
    lo, hi = math.floor(math.log10(min(positive))), math.ceil(math.log10(max(positive)))
    ticks = [m * 10.0**e for e in range(lo, hi + 1) for m in (1, 2, 5)]
    ticks = [t for t in ticks if min(positive) / 2 <= t <= max(positive) * 2]
    return ticks, [f"{t:.{max(0, -math.floor(math.log10(t)))}f}" for t in ticks]


def log_axis(values) -> dict:
    """Plotly settings for a log axis (errors, bits per pixel) labelled in plain decimals at 1, 2, 5 per decade."""
    tickvals, ticktext = log_ticks(values)
    return {"type": "log", "tickvals": tickvals, "ticktext": ticktext}


def compare_figure(table: pd.DataFrame):
    """The Compare page's chart: compression ratio against test MSE, one colour per family, one marker per group."""
    import plotly.graph_objects as go

    usable = table[table["test MSE"].notna()]
    if usable.empty:
        return None
    fig = go.Figure()
    for (family, group), rows in usable.groupby(["family", "group"], sort=False):
        fig.add_trace(
            go.Scatter(
                x=rows["compression ratio"], y=rows["test MSE"], mode="markers+text", text=rows["model"],
                textposition="top center", name=f"{family}, {label('group', group)}", legendgroup=family,
                marker={"size": 12, "color": FAMILY_COLOURS.get(family, OTHER_COLOUR),
                        "symbol": GROUP_SYMBOLS.get(group, "circle")},
                customdata=rows[["code shape", "PSNR (dB)", "SSIM", "parameters"]].to_numpy(),
                hovertemplate=t("charts.compare_hover"),
            )
        )  # fmt: skip
    fig.update_layout(
        height=460,
        margin={"t": 30},
        legend_title_text=t("charts.family_group"),
        xaxis_title=t("charts.ratio_axis"),
        yaxis_title=t("charts.test_mse_log"),
        yaxis=log_axis(usable["test MSE"]),
    )
    return fig


@dataclass(frozen=True)
class Curve:
    """One model's per-epoch history, as the Training page plots it."""

    model: str
    history: list[dict]
    noise_std: float = 0.0  # > 0: a denoising model, trained and tested on noisy inputs (ae.training.loop)
    live: bool = False  # being retrained now


def split_labels(noise_std: float) -> dict[str, str]:
    """What each curve measures: the per-pixel MSE of the output against the clean digit, fed the clean digit or,
    for a denoising model, a noisy copy (ae.training.loop: a fixed noisy copy of the test digits, TEST_NOISE_SEED)."""
    if not noise_std:
        return {"train": t("charts.train_clean"), "test": t("charts.test_clean")}
    return {"train": t("charts.train_noisy", std=noise_std), "test": t("charts.test_noisy", std=noise_std)}


def training_figure(curves: list[Curve], colours: dict[str, str]):
    """Train (solid) and test (dotted) MSE per epoch, one fixed colour per model. The legend has one entry per
    model (clicking it hides both curves) and a key for the two line styles, so it fits beside the chart."""
    import plotly.graph_objects as go

    fig = go.Figure()
    values = []
    for c in curves:
        name = t("charts.in_training", name=c.model) if c.live else c.model
        if c.noise_std:
            name += t("charts.noisy_inputs")
        labels = split_labels(c.noise_std)
        epochs = [h["epoch"] for h in c.history]
        for split, key, dash in (("train", "train_loss", "solid"), ("test", "test_loss", "dot")):
            mse = [h[key] for h in c.history]
            values += mse
            fig.add_trace(
                go.Scatter(
                    x=epochs, y=mse, mode="lines+markers", name=name, legendgroup=c.model,
                    showlegend=split == "train", line={"color": colours.get(c.model), "dash": dash},
                    hovertemplate=t("charts.training_hover", name=c.model, split=t(f"charts.{split}"),
                                    what=labels[split]),
                )
            )  # fmt: skip
    for split, dash in (("train", "solid"), ("test", "dot")):  # the key to the line styles
        fig.add_trace(
            go.Scatter(
                x=[None], y=[None], mode="lines", name=t(f"charts.{split}_mse"),
                line={"color": "#aaaaaa", "dash": dash},
                legendgroup="key", legendgrouptitle_text=t("charts.line_style") if split == "train" else None,
            )
        )  # fmt: skip
    models = len(curves)
    fig.update_layout(
        height=max(480, 60 + 22 * (models + 3)),  # tall enough for every legend entry: none is cut off
        margin={"t": 30},
        legend={"title_text": "", "tracegroupgap": 4},
        xaxis={"title": t("charts.epoch"), "dtick": 1},
        yaxis={"title": t("charts.log_scale", axis="MSE"), **log_axis(values)},
    )
    return fig


# Which way is better for each quality measure the chart can show.
HIGHER_IS_BETTER = {"PSNR (dB)": True, "MSE": False, "SSIM": True, "classifier accuracy": True}
KIND_DASH = {
    "float32 code": "solid",
    "8-bit code": "dot",
    "4-bit code": "dash",
    "lossy": "longdash",
    "lossless": "solid",
    "8-bit code, entropy coded": "dashdot",  # real .ael files (ae.compression.aelfile), header included
    "entropy coded": "solid",  # a codec trained for rate: its files are its only points
    "uniform quantizer, entropy coded": "longdashdot",  # the PCA codec's .ael files (ae.compression.baselines)
}
FAMILY_ORDER = ["codec", "linear", "conv", "PCA", "JPEG", "WebP", "PNG"]
# Only the autoencoders' float32 points (and the few points of the codecs trained for rate) carry a name: a label on
# every point overlaps.
LABELLED = ("linear", "conv")


def metric_name(metric: str) -> str:
    """A quality measure (a column of the rate-distortion table) in words."""
    return t("charts.accuracy") if metric == "classifier accuracy" else metric


def direction(metric: str, cost: str = "bits") -> str:
    """The sentence that says which corner of the chart is better, for ``metric`` against ``cost`` on x: "bits"
    (bits per pixel) or "values" (code values)."""
    key = "charts.better_up" if HIGHER_IS_BETTER[metric] else "charts.better_down"
    return t(key, cost=t(f"charts.cost_{cost}"), metric=metric_name(metric))


def _plottable(values: pd.Series, log: bool) -> pd.Series:
    # Lossless PNG has PSNR ∞ and MSE 0: no place on the axis (0 has none on a log scale), so it gets a line.
    finite = values.map(lambda v: v is not None and pd.notna(v) and abs(v) != float("inf"))
    return finite & (values > 0) if log else finite


def _exact_text(name: str, kind: str, bpp: float, metric: str, value: float) -> str:
    shown = "∞" if value == float("inf") else f"{value:g}"
    kind = label("kind", kind)
    return " " + t("charts.exact", name=name, kind=kind, bpp=bpp, metric=metric_name(metric), value=shown)


def _hover(x: str, metric: str) -> str:
    y = "%{y:.6f}" if metric == "MSE" else "%{y:.4f}"
    return t("charts.rd_hover", x=t(f"col.{x}"), metric=metric_name(metric), y=y)


def _family_traces(fig, points: pd.DataFrame, x: str, metric: str, kinds: dict[str, str]) -> None:
    import plotly.graph_objects as go

    families = [f for f in FAMILY_ORDER if f in set(points["family"])]
    families += [f for f in dict.fromkeys(points["family"]) if f not in families]
    for family in families:
        for kind, dash in kinds.items():
            rows = points[(points["family"] == family) & (points["kind"] == kind)].sort_values(x)
            if rows.empty:
                continue
            labelled = (family in LABELLED and kind == "float32 code") or kind == "entropy coded"
            fig.add_trace(
                go.Scatter(
                    x=rows[x], y=rows[metric], mode="lines+markers+text" if labelled else "lines+markers",
                    text=rows["name"] if labelled else None, textposition="top center", textfont_size=10,
                    name=f"{family}, {label('kind', kind)}", legendgroup=family,
                    line={"color": FAMILY_COLOURS.get(family, OTHER_COLOUR), "dash": dash},
                    customdata=rows[["name", "kind", "code values", "digits"]].astype(object).fillna("-").to_numpy(),
                    hovertemplate=_hover(x, metric),
                )
            )  # fmt: skip


def rd_figure(table: pd.DataFrame, metric: str):
    """Bits per pixel against ``metric`` for every point but the original digits: one colour per family (the same
    as on every other chart), one dash per kind of code. Points with no place on the axis (lossless PNG: PSNR ∞,
    MSE 0) are drawn as a labelled vertical line at their bits per pixel, never at an invented value."""
    import plotly.graph_objects as go

    log = metric == "MSE"
    points = table[table["family"] != "original"]
    ok = _plottable(points[metric], log)
    fig = go.Figure()
    _family_traces(fig, points[ok], "bits per pixel", metric, KIND_DASH)
    for _, r in points[~ok].iterrows():
        colour = FAMILY_COLOURS.get(r["family"], OTHER_COLOUR)
        fig.add_vline(x=r["bits per pixel"], line={"color": colour, "dash": "dot"})
        fig.add_annotation(
            # An annotation on a log axis is placed in log10 units (a vline is not).
            x=math.log10(r["bits per pixel"]), xanchor="left", y=1 if HIGHER_IS_BETTER[metric] else 0, yref="paper",
            yanchor="top" if HIGHER_IS_BETTER[metric] else "bottom", showarrow=False, font={"color": colour},
            text=_exact_text(r["name"], r["kind"], r["bits per pixel"], metric, r[metric]),
        )  # fmt: skip
    fig.update_layout(
        height=560,
        margin={"t": 20},
        legend_title_text="",
        xaxis={"title": t("charts.log_scale", axis=t("col.bits per pixel")), **log_axis(points["bits per pixel"])},
    )
    fig.update_yaxes(title=_y_title(metric, log), **(log_axis(points[metric]) if log else {}))
    return fig


def _y_title(metric: str, log: bool) -> str:
    return t("charts.log_scale", axis=metric_name(metric)) if log else metric_name(metric)


def ratio_figure(table: pd.DataFrame, metric: str):
    """The seed's view: compression ratio (code values / 784) against ``metric``, float32 codes only, in the
    same colours as ``rd_figure``."""
    import plotly.graph_objects as go

    log = metric == "MSE"
    values = table[table["code values"].notna() & (table["kind"] == "float32 code")]
    fig = go.Figure()
    _family_traces(fig, values, "compression ratio", metric, {"float32 code": "solid"})
    fig.update_layout(height=420, margin={"t": 20}, legend_title_text="", xaxis_title=t("charts.ratio_axis"))
    fig.update_yaxes(title=_y_title(metric, log), **(log_axis(values[metric]) if log else {}))
    return fig


def as_table(fig) -> pd.DataFrame:
    """The chart's points as rows (series, x, y and, where the chart has it, each point's label): what the chart
    shows, for a screen reader or a keyboard, and for a student who wants the numbers."""
    x_name = fig.layout.xaxis.title.text or "x"
    y_name = fig.layout.yaxis.title.text or "y"
    rows = []
    for trace in fig.data:
        ys = list(trace.y) if getattr(trace, "y", None) is not None else []
        xs = list(trace.x) if getattr(trace, "x", None) is not None else list(range(len(ys)))
        labels = trace.text if isinstance(getattr(trace, "text", None), list | tuple) else None
        for i, (x, y) in enumerate(zip(xs, ys, strict=False)):
            row = {t("charts.series"): trace.name or "", x_name: x, y_name: y}
            if labels is not None and i < len(labels):
                row[t("charts.point")] = labels[i]
            rows.append(row)
    return pd.DataFrame(rows)
