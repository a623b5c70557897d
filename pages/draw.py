"""Draw a digit (or pick a test digit, or upload a picture) and see every model's reconstruction."""

import numpy as np
import streamlit as st

from ae.data.datasets import DEFAULT
from ae.data.mnist import TEST_COUNT
from ae.data.preprocess import (
    CANVAS_SIZE,
    CANVAS_STROKE,
    SMALL_INK,
    InputError,
    canvas_rgba,
    canvas_to_mnist,
    ink_extent,
    read_upload,
)
from ae.measure.one_digit import reconstruct_all
from ui import actions, datasets, drawing_file, familiar, live_draw, mydigits, state, view
from ui.i18n import held, t
from ui.images import described, enlarge, gray_rgb, heat
from ui.sidebar import sidebar

sidebar()
reg = state.registry()  # every model, shipped or built: the strip and the picker show them all
st.title(t("draw.title"))
st.write(t("draw.intro"))
SOURCES = {"Draw": "draw.source_draw", "Random test digit": "draw.source_test", "Upload": "draw.source_upload"}

if state.dataset() != DEFAULT:
    st.info(t("draw.other_dataset", title=datasets.title()), icon=":material/apparel:")
if (linked := view.digit(TEST_COUNT)) is not None:  # not len(data): the live pad needs no MNIST
    # A link to a test digit: show that digit, whatever this session's input was.
    st.session_state["source"], st.session_state["test_index"] = "Random test digit", linked
source = st.segmented_control(
    t("draw.input"), list(SOURCES), default="Draw", key="source", label_visibility="collapsed",
    required=True,  # clicking the chosen one again must not leave no input chosen
    format_func=held(lambda s: t(SOURCES[s])),  # the values stay English: links and tests name them
)  # fmt: skip
live = False
if source == "Draw" and live_draw.enabled():
    on_server = st.toggle(
        t("draw.server_mode"), key="server_mode", help=t("draw.server_mode_help"),
    )  # fmt: skip
    live = not on_server and live_draw.available()
    if not on_server and not live:
        reason = st.session_state.get(live_draw.FALLBACK_KEY)
        st.caption(t("draw.no_live", reason=reason))
if live:
    # The pad and every model's results, all in the browser: nothing comes back here while the pen moves.
    live_digit = live_draw.live_draw(picked=st.query_params.get("model"))
st.space("small")  # room for the canvas' toolbar, which pops up above it, clear of the input choice
# Even halves: at 1024 px with the sidebar open, a 1 : 1.6 split clipped the canvas.
left, right = st.columns(2, gap="medium")
digit = shown_index = None
with left:
    if source == "Random test digit":
        if st.button(t("draw.another"), icon=":material/casino:") or "test_index" not in st.session_state:
            st.session_state["test_index"] = int(np.random.default_rng().integers(len(state.data().test_x)))
        i = shown_index = st.session_state["test_index"]
        digit = state.data().test_x[i].astype(np.float32) / 255.0
        st.image(
            enlarge(digit, 10),
            caption=datasets.t_item("draw.test_caption", i=i, label=datasets.label(state.data().test_y[i])),
            alt=datasets.t_item("draw.test_alt", i=i, label=datasets.label(state.data().test_y[i])),
            width=CANVAS_SIZE,
            output_format="PNG",
        )
    elif source == "Upload":
        file = st.file_uploader(
            t("draw.upload"), type=["png", "jpg", "jpeg", "bmp", "gif", "webp"], help=t("draw.upload_help"),
        )  # fmt: skip
        if file is not None:
            try:
                digit = read_upload(file.getvalue())
                st.image(
                    enlarge(digit, 10), caption=file.name, width=CANVAS_SIZE, output_format="PNG",
                    alt=t("draw.upload_alt", name=file.name),
                )  # fmt: skip
            except InputError as e:
                st.error(str(e), icon=":material/error:")
    elif live:
        digit = live_digit  # handed to the lab with the pad's "Use in the lab" button: the server's view of it
        if digit is not None:
            st.image(
                enlarge(digit, 10), caption=t("draw.sent_caption"), width=CANVAS_SIZE, alt=t("draw.sent_alt"),
            )  # fmt: skip
    else:
        from streamlit_drawable_canvas import st_canvas  # only importable inside a running app

        ss = st.session_state
        ss.setdefault("canvas_key", 0)
        if ss.get("input_before") != "Draw":
            # Back from another input: the canvas was unmounted and forgot its strokes, so they are handed back.
            ss["canvas_restore"] = ss.get("canvas_saved")
        canvas = st_canvas(
            stroke_width=CANVAS_STROKE, stroke_color="#FFFFFF", background_color="#000000", height=CANVAS_SIZE,
            width=CANVAS_SIZE, drawing_mode="freedraw", return_image_data=True,
            initial_drawing=ss.get("canvas_restore"), key=f"canvas-{ss['canvas_key']}",
        )  # fmt: skip
        if st.button(t("draw.clear"), icon=":material/ink_eraser:"):
            ss["canvas_key"] += 1
            ss["canvas_saved"] = ss["canvas_restore"] = ss["canvas_digit"] = None
            st.rerun()
        if canvas.json_data and canvas.json_data.get("objects"):
            ss["canvas_saved"] = canvas.json_data
        try:
            # Decoded here as a PNG only, not by the component's image_data (which opens whatever arrives).
            rgba = canvas_rgba(canvas.image_bytes)
        except ValueError as e:  # an InputError, or a value that is not a data URL at all
            rgba = None
            unreadable = str(e) if isinstance(e, InputError) else t("draw.unreadable")
            st.error(unreadable, icon=":material/error:")
        digit = canvas_to_mnist(rgba)
        if rgba is None and ss.get("canvas_restore"):
            digit = ss.get("canvas_digit")  # the handed-back strokes, until the canvas reports them itself
        elif digit is not None:
            ss["canvas_digit"] = digit
        if rgba is not None and digit is not None and ink_extent(rgba) < SMALL_INK:
            st.warning(
                t("draw.small"),
                icon=":material/zoom_in:",
            )

st.session_state["input_before"] = source
view.show_digit(shown_index)

if digit is None:
    if not live:
        right.info(t("draw.hint_upload" if source == "Upload" else "draw.hint_draw"), icon=":material/draw:")
    if state.dataset() == DEFAULT:  # your handwritten digits: for the digit models
        mydigits.section(None)  # your kept digits, their file and the fine-tune need no input on screen
    st.stop()
with right:
    st.session_state["last_digit"] = digit  # the latent map page marks it
    shapes = state.code_shapes()
    loaded = {n: state.model(n) for n in reg}
    usable = {n: m for n, (m, _, _) in loaded.items() if m is not None}
    read_in, recs = reconstruct_all(usable, digit, state.classifier())
    name = view.model("model", list(reg), widget=st.radio, format_func=lambda n: f"{n} ({shapes[n]})", horizontal=True)
    cols = st.columns(3)
    cols[0].image(
        enlarge(digit), caption=t("draw.sees"), width="stretch", output_format="PNG", alt=t("draw.sees_alt"),
    )  # fmt: skip
    if name not in recs:
        error = loaded[name][2]
        st.warning(
            t("draw.unavailable", name=name, reason=error.reason, detail=error.detail), icon=":material/warning:"
        )
        if not view.is_hidden("retrain"):  # a lesson link without retraining offers none here either
            actions.train_now_button(name)
    else:
        rec = recs[name]
        cols[1].image(
            enlarge(rec.image), caption=t("draw.rec_caption", name=name), width="stretch", output_format="PNG",
            alt=t("draw.rec_alt", name=name, what=described(rec)),
        )  # fmt: skip
        cols[2].image(
            heat(rec.error), caption=t("draw.error_caption"), width="stretch", output_format="PNG",
            alt=t("draw.error_alt", name=name, mse=rec.mse),
        )  # fmt: skip

if name in recs:
    # Across the whole page, under both columns: in the right column alone they were cut off on a projector.
    rec = recs[name]
    m1, m2, m3 = st.columns(3)
    m1.metric(f"MSE ({name})", f"{rec.mse:.5f}")
    m2.metric("PSNR", f"{rec.psnr:.1f} dB")
    if read_in is not None:
        (d_in, p_in), (d_out, p_out) = read_in, rec.reads
        m3.metric(
            t("draw.reads"), f"{datasets.label(d_in)} → {datasets.label(d_out)}",
            help=datasets.t_item("draw.reads_help", p_in=p_in, p_out=p_out),
        )  # fmt: skip
    familiar.verdict(name, rec.mse)

st.header(t("draw.every_model"))
# Rows of eight (presenter mode: five, for its large text), so that with the lab's models the tiles stay readable.
per_row = 5 if state.presenter() else min(len(reg), 8)
names = list(reg)
strip = [col for i in range(0, len(names), per_row) for col in st.columns(per_row)][: len(names)]
for col, other in zip(strip, names, strict=True):
    with col:
        if other not in recs:
            st.caption(f"**{other}**: {loaded[other][2].reason}")
            continue
        r = recs[other]
        # One picture per model (reconstruction above its error map): half the images for the browser to fetch.
        both = np.concatenate([gray_rgb(enlarge(r.image, 3)), heat(r.error, scale=3)], axis=0)
        alt = t("draw.strip_alt", name=other, what=described(r))
        st.image(both, width="stretch", output_format="PNG", alt=alt)
        reads = t("draw.strip_reads", digit=datasets.label(r.reads[0])) if r.reads is not None else ""
        st.caption(f"**{other}**  \nMSE {r.mse:.4f} · {r.psnr:.1f} dB{reads}  \n{familiar.short(other, r.mse)}")

if state.dataset() == DEFAULT:  # the codecs and your handwriting are about digits
    drawing_file.section(digit)  # the drawing's bytes as PNG, WebP and a codec's .ael file
    mydigits.section(digit, name)  # keep your drawings with their labels; teach a model your handwriting
