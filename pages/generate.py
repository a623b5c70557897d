"""Generate: sample new digits, walk a VAE's 2-D latent plane, move code values, add and subtract class means."""

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch
from PIL import Image

from ae.measure import generate as gen
from ae.measure.classifier import read_digits
from ae.measure.explore import codes
from ui import alternatives, datasets, state, view
from ui.i18n import held, t
from ui.images import enlarge, strip
from ui.sidebar import sidebar

SAMPLES = 32  # digits per batch of samples: 4 rows of 8
PLANE_DIGITS = 2000  # test digits scattered over the latent plane
PROBE = 41  # the plane's invisible click targets per side: a click anywhere decodes that point
TICKS = (-2.0, -1.0, 0.0, 1.0, 2.0)

sidebar()
st.title(t("generate.title"))
st.write(t("generate.intro"))

reg = state.registry()
names = state.usable()
vaes = {n for n in names if reg[n].family == "vae"}


def kind(name: str) -> str:
    return "VAE" if name in vaes else t("generate.plain")


name = view.model("generate_model", names, default="vae-2", format_func=held(lambda n: f"{n} ({kind(n)})"))
model = state.model(name)[0]


@st.cache_data(max_entries=64, show_spinner=False)
def _stats(name: str, key: str) -> gen.CodeStats:
    d = state.data()
    with state.one_core():
        return gen.code_stats(state.model(name)[0], d.train_images()[: gen.FIT_DIGITS], d.train_y)


def stats(name: str) -> gen.CodeStats:
    """The statistics of ``name``'s codes of 2,000 training digits, computed once per checkpoint."""
    key = state.checkpoint_key(name)
    with state.busy("generate.encoding_train", name, key):
        return _stats(name, key)


@st.cache_data(max_entries=8, show_spinner=False)
def _confidences(names: tuple[str, ...], keys: tuple[str, ...], classifier_key: str) -> dict[str, float]:
    clf = state.classifier()
    out = {}
    for n in names:
        m = state.model(n)[0]
        s = None if n in vaes else stats(n)
        with state.one_core():
            out[n] = gen.sample_confidence(m, clf, s)
    return out


def confidences() -> dict[str, float] | None:
    """Each usable model's mean classifier confidence in 256 of its samples; None without the classifier."""
    if state.classifier() is None:
        return None
    keys = tuple(state.checkpoint_key(n) for n in names)
    args = (tuple(names), keys, state.reader_key()[1])
    with state.busy("generate.reading_samples", *args):
        return _confidences(*args)


def sample_section() -> None:
    st.header(t("generate.samples"))
    ss = st.session_state
    ss.setdefault("generate_seed", 0)
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    if left.button(t("generate.new_samples"), icon=":material/casino:", key="generate_new"):
        ss["generate_seed"] += 1
    right.number_input(t("sidebar.seed"), 0, 2**31 - 1, key="generate_seed", help=t("generate.seed_help"))
    seed = int(ss["generate_seed"])
    s = None if name in vaes else stats(name)
    images = gen.samples(model, SAMPLES, seed, s)
    st.image(
        enlarge(gen.tile(images, 8), 3),
        output_format="PNG",
        alt=t("generate.samples_alt", n=SAMPLES, name=name, seed=seed),
    )
    how = t("generate.how_vae" if name in vaes else "generate.how_plain", n=SAMPLES, seed=seed, name=name,
            fit=gen.FIT_DIGITS)  # fmt: skip
    clf = state.classifier()
    if clf is not None:
        conf = read_digits(clf, images)[1]
        how += ". " + t("generate.confidence", conf=conf.mean())
    st.caption(how + ".")
    scores = confidences()
    if scores:
        st.info(gen.confidence_sentence(scores, vaes), icon=":material/fact_check:")


@st.cache_data(max_entries=16, show_spinner=False)
def _plane(name: str, key: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    m = state.model(name)[0]
    with state.one_core():
        _, grid = gen.latent_grid(m, n)
        z = codes(m, state.data().test_images()[:PLANE_DIGITS])
    return gen.tile(grid.reshape(-1, 28, 28), grid.shape[1]), gen.to_quantile(z)


def plane_figure(grid: np.ndarray, xy: np.ndarray) -> go.Figure:
    """The decodes tiled over the plane (in prior-quantile units) under the test digits' codes, coloured by label,
    and a lattice of invisible points that makes a click anywhere a selection."""
    fig = go.Figure()
    img = Image.fromarray((np.clip(grid, 0, 1) * 255).astype(np.uint8), mode="L")
    fig.add_layout_image(source=img, xref="x", yref="y", x=0, y=1, sizex=1, sizey=1, sizing="stretch", layer="below")
    labels = state.data().test_y[:PLANE_DIGITS]
    for c in range(10):
        idx = np.flatnonzero(labels == c)
        fig.add_scatter(
            x=xy[idx, 0], y=xy[idx, 1], mode="markers", name=datasets.label(c), customdata=idx[:, None],
            marker={"size": 5, "opacity": 0.7}, hovertemplate=t("generate.dot_hover", label=datasets.label(c)),
            unselected={"marker": {"opacity": 0.7}}, selected={"marker": {"size": 12}},
        )  # fmt: skip
    p = (np.arange(PROBE) + 0.5) / PROBE
    px, py = np.meshgrid(p, p)
    fig.add_scatter(
        x=px.ravel(), y=py.ravel(), mode="markers", name="plane", showlegend=False,
        marker={"size": 9, "opacity": 0}, hovertemplate=t("generate.click_hover"),
        selected={"marker": {"opacity": 1, "color": "gold"}}, unselected={"marker": {"opacity": 0}},
    )  # fmt: skip
    ticks = {"tickvals": gen.to_quantile(np.array(TICKS)).tolist(), "ticktext": [f"{t:g}" for t in TICKS]}
    fig.update_xaxes(range=[0, 1], title="z₁", showgrid=False, zeroline=False, **ticks)
    fig.update_yaxes(range=[0, 1], title="z₂", showgrid=False, zeroline=False, scaleanchor="x", **ticks)
    fig.update_layout(height=640, margin={"t": 20}, legend_title_text=t("latent.label"), dragmode="pan")
    return fig


def plane_section() -> None:
    st.header(t("generate.plane"))
    n = st.select_slider(
        t("generate.grid"), [8, 10, 15, 20, 25], value=15, key="generate_grid", format_func=lambda v: f"{v}×{v}"
    )
    key = state.checkpoint_key(name)
    with state.busy("state.encoding_test", "plane", name, key, n):
        grid, xy = _plane(name, key, n)
    fig = plane_figure(grid, xy)
    event = alternatives.chart(fig, width="stretch", on_select="rerun", selection_mode="points", key="generate_plane")
    st.caption(t("generate.plane_caption", n=n))
    points = event.selection.points if event and event.selection else []
    if points:
        show_point(fig, points[0])


def show_point(fig: go.Figure, point: dict) -> None:
    """The decode of a clicked point of the plane (and the test digit itself when a dot was clicked)."""
    curve, i = point.get("curve_number"), point.get("point_index", point.get("point_number"))
    if curve is None or i is None or not 0 <= curve < len(fig.data):
        return
    trace = fig.data[curve]
    z = gen.from_quantile(np.array([[trace.x[i], trace.y[i]]]))
    cols = st.columns(4)
    cols[0].image(
        enlarge(gen.decode(model, z)[0], 5), caption=t("generate.decode_of", z1=z[0, 0], z2=z[0, 1]),
        alt=t("generate.decode_alt", z1=z[0, 0], z2=z[0, 1]),
    )  # fmt: skip
    if trace.customdata is not None:
        index = int(trace.customdata[i][0])
        digit, label = state.test_digit(index)
        cols[1].image(
            enlarge(digit, 5), caption=t("generate.whose", index=index, label=label),
            alt=t("generate.whose_alt", index=index, label=label),
        )  # fmt: skip


@st.fragment
def slider_section() -> None:
    st.header(t("generate.move"))
    s = stats(name)
    index = int(st.number_input(t("interpolate.number"), 0, len(state.data().test_x) - 1, 0, key="generate_digit"))
    digit, label = state.test_digit(index)
    code = codes(model, torch.from_numpy(digit).reshape(1, 1, 28, 28))[0]
    dims = gen.slider_dims(s)
    st.caption(t("generate.dims_all" if len(dims) == s.size else "generate.dims", name=name, size=s.size, n=len(dims)))
    left, right = st.columns([3, 2])
    values = {}
    with left:
        for dim in dims:
            lo, hi = gen.slider_range(s, dim)
            where = ", ".join(map(str, np.unravel_index(dim, s.shape))) if len(s.shape) > 1 else str(dim)
            default = float(np.clip(code[dim], lo, hi))
            values[dim] = st.slider(
                f"z[{where}]", lo, hi, default, (hi - lo) / 200, format="%.2f", key=f"gen_{name}_{index}_{dim}"
            )
    moved = gen.decode(model, gen.with_values(code, values)[None], s.shape)[0]
    rebuilt = gen.decode(model, code[None], s.shape)[0]
    right.image(
        strip(np.stack([digit, rebuilt, moved]), 5),
        caption=t("generate.moved", index=index, label=label),
        alt=t("generate.moved_alt", index=index, label=label),
        output_format="PNG",
    )


@st.fragment
def arithmetic_section() -> None:
    st.header(t("generate.arithmetic"))
    text = st.text_input(t("generate.expression"), "7 - 1 + 4", key="generate_expr")
    try:
        terms = gen.parse_terms(text)
    except ValueError as e:
        st.error(str(e))
        return
    mean = t("generate.mean")
    written = " ".join(("− " if sign < 0 else "+ ") + f"{mean} {d}" for sign, d in terms).removeprefix("+ ")
    st.caption(t("generate.arithmetic_caption", fit=gen.FIT_DIGITS, written=written))
    images = [gen.decode(m, gen.arithmetic(stats(n), terms)[None], stats(n).shape)[0] for n, m in loaded()]
    clf = state.classifier()
    reads = read_digits(clf, images) if clf is not None else None
    cols = st.columns(min(7, len(images)))
    for i, (n, _) in enumerate(loaded()):
        seen = None if reads is None else datasets.label(reads[0][i])
        caption = n if reads is None else t("generate.reads", name=n, digit=seen, conf=reads[1][i])
        alt = t("generate.decoding", name=n, written=written)
        alt += "" if reads is None else t("generate.reader_reads", digit=seen)
        cols[i % len(cols)].image(enlarge(images[i], 3), caption=caption, output_format="PNG", alt=alt)


def loaded() -> list[tuple[str, object]]:
    return [(n, state.model(n)[0]) for n in names]


sample_section()
if name in vaes and model.code_size == 2:
    plane_section()
else:
    planes = [n for n in vaes if reg[n].args.get("code_size") == 2]
    st.caption(t("generate.no_plane", names=t("generate.or").join(planes) or t("generate.one")))
slider_section()
arithmetic_section()
