"""The Training page's "Watch it learn": a run's per-epoch snapshots (``snapshots``), live or replayed, as images.

Eight fixed test digits rebuilt at the start and after each epoch fill a grid row by row; for a model whose first
layer is a ``nn.Linear`` on the pixels, its first filters are drawn beside the training digits' leading principal
components.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
from PIL import Image, ImageDraw, ImageFont

from ae.compression.baselines import PCA, fit_pca
from ae.measure import generate
from ae.models.autoencoders import PIXELS
from ae.models.specs import ModelSpec
from ae.storage import snapshots
from ae.storage.snapshots import Snapshots
from ui import state
from ui.i18n import t

PCA_DIGITS = 10_000  # training digits the principal components are found on (the leading ones are settled by then)
MAX_ROWS = 11  # epochs the grid shows at most (evenly spaced); a row per epoch up to 10 epochs
SCALE = 2  # screen pixels per digit pixel in the grid
FILTER_SCALE = 3
LABEL_WIDTH = 118
GAP = 4
BACKGROUND, TEXT, PENDING = (14, 17, 23), (230, 230, 230), (45, 48, 58)
WATCH_KEY = "watch_model"
LIVE_EVERY = 1.5  # seconds between looks at a run under way
_FOLLOWED = "_aelab_watch_followed"  # the runs this session has already switched the view to


_PCA_READY: set[str] = set()  # data fingerprints whose components are in the cache below


@st.cache_resource(show_spinner=False)
def _pca(fingerprint: str) -> tuple[PCA, np.ndarray]:
    x = state.data().train_x[:PCA_DIGITS].reshape(-1, PIXELS) / 255.0
    with state.one_core():
        pca = fit_pca(x)
        variances = ((x - pca.mean) @ pca.components.T).var(axis=0)  # each component's share of the variance
    _PCA_READY.add(fingerprint)
    return pca, variances


def pca_ready() -> bool:
    return state.data().fingerprint in _PCA_READY


def pca() -> tuple[PCA, np.ndarray]:
    """The principal components of the training digits and the variance along each, found once per server."""
    fingerprint = state.data().fingerprint
    with state.busy("learning.finding_pca", fingerprint):
        return _pca(fingerprint)


@st.cache_resource(max_entries=64)
def _stored(name: str, folder: str, key: str, sha: str | None) -> Snapshots | None:
    return snapshots.load(name, folder, {snapshots.SIDECAR_KEY: sha})


def stored(name: str) -> Snapshots | None:
    """The snapshots kept with the checkpoint serving ``name``, or None (shipped checkpoints keep none)."""
    _, meta, _ = state.model(name)
    if meta is None:
        return None
    return _stored(name, state.resolved(name)[0], state.checkpoint_key(name), meta.get(snapshots.SIDECAR_KEY))


def pick(names: list[str], jobs: dict) -> str:
    """The model to watch: a run that just started is shown at once; otherwise the user's choice, first offered a
    model with snapshots."""
    ss = st.session_state
    followed = ss.setdefault(_FOLLOWED, set())
    for name in names:
        job = jobs.get(name)
        if job is not None and job.state == "running" and (name, job.started) not in followed:
            followed.add((name, job.started))
            ss[WATCH_KEY] = name
    if ss.get(WATCH_KEY) not in names:
        ss[WATCH_KEY] = next((n for n in names if stored(n) is not None), names[0])
    return st.selectbox(t("learning.model"), names, key=WATCH_KEY)


def watch(name: str, spec: ModelSpec, job) -> None:
    """``name`` learning: live while it trains, else replayed with a slider."""
    if job is not None and job.state == "running":
        _live(name, spec)
        return
    snaps = stored(name)
    if snaps is None:
        st.info(absent_note(name), icon=":material/movie:")
    else:
        _replay(name, spec, snaps, state.model(name)[1].get("history", []))


@st.fragment(run_every=LIVE_EVERY)
def _live(name: str, spec: ModelSpec) -> None:
    """The run's snapshots so far, read from the trainer every few seconds; the whole page reruns when it ends."""
    job = state.trainer().snapshot().get(name)
    if job is None or job.state != "running":
        st.rerun(scope="app")  # saved (or stopped): the page now replays the checkpoint
    if job.snapshots is None:
        st.info(t("learning.starting", name=name), icon=":material/movie:")
        return
    snaps = job.snapshots
    st.caption(t("learning.live", name=name, done=snaps.epochs, epochs=job.epochs))
    show(spec, snaps, snaps.epochs, job.epochs, job.history, live=True)


def absent_note(name: str) -> str:
    if state.model(name)[0] is None:
        return t("learning.no_checkpoint", name=name)
    if state.origin(name) == "shipped":
        return t("learning.shipped", name=name)
    return t("learning.older", name=name)


@st.fragment
def _replay(name: str, spec: ModelSpec, snaps: Snapshots, history: list) -> None:
    """The slider reruns only this part of the page."""
    epoch = st.slider(
        t("learning.replay"), 0, snaps.epochs, snaps.epochs, key=f"replay_{name}_{snaps.epochs}",
        help=t("learning.replay_help"),
    )  # fmt: skip
    show(spec, snaps, epoch, snaps.epochs, history, share=_share(name, spec))


def show(spec: ModelSpec, snaps: Snapshots, epoch: int, planned: int, history: list, *, share=None, live=False):
    """The grid up to ``epoch`` of ``planned``, and the first layer's filters after ``epoch`` when there are any."""
    caption = grid_caption(snaps, epoch)
    st.image(
        grid(snaps, epoch, planned, history),
        caption=caption,
        alt=t("learning.grid_alt", name=spec.name, caption=caption),
    )
    if getattr(spec.recipe, "init", "pytorch") == "logit-rrr":
        st.caption(t("learning.closed_form"))
    if snaps.filters is None:
        st.caption(t("learning.conv_note"))
        return
    filters = snaps.filters[min(epoch, len(snaps.filters) - 1)]
    left, right = st.columns(2)
    said = t("learning.filters", n=len(filters), epoch=epoch)
    left.image(tile(filters), caption=said, alt=t("learning.grey", what=said))
    if live and not pca_ready():
        # Finding them waits for a free core, which the run may hold: a live view never waits for it.
        right.caption(t("learning.pca_later"))
    else:
        right.image(
            tile(snapshots.signed_images(pca()[0].components[: len(filters)])),
            caption=(said := t("learning.components", n=len(filters), digits=PCA_DIGITS)),
            alt=t("learning.grey", what=said),
        )
    st.caption(t("learning.weights"))
    if spec.family == "linear":
        st.write(t("learning.linear_note") + (" " + share_note(share) if share is not None else ""))
    else:
        st.write(t("learning.mlp_note"))


def grid_caption(snaps: Snapshots, epoch: int) -> str:
    labels = ", ".join(str(i) for i in snaps.indices)
    return t("learning.grid_caption", labels=labels, epoch=epoch)


def _share(name: str, spec: ModelSpec) -> tuple[int, float, float] | None:
    """For a linear model: its code size, how much of its code's variance the leading principal components explain,
    and what random filters would give."""
    model = state.model(name)[0]
    layer = snapshots.first_layer(model) if model is not None and spec.family == "linear" else None
    if layer is None:
        return None
    components, variances = pca()
    weight = layer.weight.detach().double().numpy()
    k = len(weight)
    random = float(variances[:k].sum() / variances.sum())
    return k, snapshots.code_share(weight, components.components, variances), random


def share_note(share: tuple[int, float, float]) -> str:
    k, measured, random = share
    return t("learning.share", k=k, measured=measured, random=random)


def shown_epochs(planned: int, epoch: int) -> list[int]:
    """The grid's rows: every epoch up to ``MAX_ROWS``, else evenly spaced ones, and always ``epoch`` itself."""
    rows = np.unique(np.linspace(0, planned, min(planned + 1, MAX_ROWS)).round().astype(int)).tolist()
    return sorted(set(rows) | {epoch})


def grid(snaps: Snapshots, epoch: int, planned: int, history: list) -> np.ndarray:
    """The digits on top, then a row per shown epoch: filled up to ``epoch``, blank beyond (not trained yet)."""
    rows = shown_epochs(planned, epoch)
    n, size = len(snaps.digits), 28 * SCALE
    height = (len(rows) + 1) * (size + GAP) + GAP
    img = Image.new("RGB", (LABEL_WIDTH + n * (size + GAP), height), BACKGROUND)
    draw, font = ImageDraw.Draw(img), ImageFont.load_default(size=13)
    losses = {row["epoch"]: row.get("test_loss") for row in history}
    for r, e in enumerate([None, *rows]):
        top = GAP + r * (size + GAP)
        filled = e is None or e <= min(epoch, snaps.epochs)
        images = snaps.digits if e is None else snaps.reconstructions[e] if filled else None
        for c in range(n):
            left = LABEL_WIDTH + c * (size + GAP)
            if images is None:
                draw.rectangle((left, top, left + size - 1, top + size - 1), fill=PENDING)
            else:
                img.paste(Image.fromarray(images[c]).resize((size, size), Image.NEAREST), (left, top))
        label = (
            t("learning.row_digits")
            if e is None
            else t("learning.row_start")
            if e == 0
            else t("learning.row_epoch", e=e)
        )
        draw.text((6, top + 8), label, fill=TEXT if filled else PENDING, font=font)
        if e and losses.get(e) is not None and filled:
            draw.text((6, top + 28), t("learning.row_test", loss=losses[e]), fill=TEXT, font=font)
    return np.asarray(img)


def tile(images: np.ndarray, columns: int = 4) -> np.ndarray:
    """(k, 28, 28) uint8 images in rows of ``columns``, enlarged, on the page's dark background."""
    big = np.repeat(np.repeat(np.asarray(images), FILTER_SCALE, axis=1), FILTER_SCALE, axis=2)
    return generate.tile(np.repeat(big[..., None], 3, axis=-1), columns, gap=GAP, fill=BACKGROUND)
