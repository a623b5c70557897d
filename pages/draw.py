"""Draw a digit (or pick a test digit, or upload a picture) and see every model's reconstruction."""

import numpy as np
import streamlit as st

from ae.data.datasets import DATASETS, DEFAULT
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
from ui.images import described, enlarge, gray_rgb, heat
from ui.sidebar import sidebar

sidebar()
reg = state.registry()  # every model, shipped or built: the strip and the picker show them all
st.title("Draw a digit")
st.write(
    "Draw a digit with the mouse, a finger or a stylus. It is turned into a 28×28 image the way MNIST digits were "
    "made, then squeezed through each autoencoder's code and rebuilt. The error map shows where the rebuilt digit "
    "differs: bright pixels are large errors."
)

if state.dataset() != DEFAULT:
    st.info(
        f"These models learned **{datasets.title()}**: draw a shirt, a shoe, a bag, or pick a test picture. A digit "
        "will look unfamiliar to them.", icon=":material/apparel:",
    )  # fmt: skip
if (linked := view.digit(TEST_COUNT)) is not None:  # not len(data): the live pad needs no MNIST
    # A link to a test digit: show that digit, whatever this session's input was.
    st.session_state["source"], st.session_state["test_index"] = "Random test digit", linked
source = st.segmented_control(
    "Input", ["Draw", "Random test digit", "Upload"], default="Draw", key="source", label_visibility="collapsed",
    required=True,  # clicking the chosen one again must not leave no input chosen
)  # fmt: skip
live = False
if source == "Draw" and live_draw.enabled():
    on_server = st.toggle(
        "Compute on the server", key="server_mode",
        help="Off (the default): every model and the digit reader run in your browser, while the pen moves. On: the "
        "drawing goes to the server after each stroke, as the lab did before.",
    )  # fmt: skip
    live = not on_server and live_draw.available()
    if not on_server and not live:
        reason = st.session_state.get(live_draw.FALLBACK_KEY)
        st.caption(f"Live mode cannot run in this browser ({reason}): computing on the server.")
if live:
    # The pad and every model's results, all in the browser: nothing comes back here while the pen moves.
    live_digit = live_draw.live_draw(picked=st.query_params.get("model"))
st.space("small")  # room for the canvas' toolbar, which pops up above it, clear of the input choice
# Even halves: at 1024 px with the sidebar open, a 1 : 1.6 split clipped the canvas.
left, right = st.columns(2, gap="medium")
digit = shown_index = None
with left:
    if source == "Random test digit":
        if st.button("Another digit", icon=":material/casino:") or "test_index" not in st.session_state:
            st.session_state["test_index"] = int(np.random.default_rng().integers(len(state.data().test_x)))
        i = shown_index = st.session_state["test_index"]
        digit = state.data().test_x[i].astype(np.float32) / 255.0
        label = DATASETS[state.dataset()].classes[state.data().test_y[i]]
        st.image(
            enlarge(digit, 10),
            caption=f"Test {datasets.item()} #{i}, label {label}",
            alt=f"Test {datasets.item()} number {i}: {label}",
            width=CANVAS_SIZE,
            output_format="PNG",
        )
    elif source == "Upload":
        file = st.file_uploader(
            "A picture of one digit", type=["png", "jpg", "jpeg", "bmp", "gif", "webp"],
            help="Dark ink on paper works too: it is inverted automatically.",
        )  # fmt: skip
        if file is not None:
            try:
                digit = read_upload(file.getvalue())
                st.image(
                    enlarge(digit, 10), caption=file.name, width=CANVAS_SIZE, output_format="PNG",
                    alt=f"Your picture {file.name} as a 28 by 28 digit",
                )  # fmt: skip
            except InputError as e:
                st.error(str(e), icon=":material/error:")
    elif live:
        digit = live_digit  # handed to the lab with the pad's "Use in the lab" button: the server's view of it
        if digit is not None:
            st.image(
                enlarge(digit, 10), caption="The digit you sent, computed on the server", width=CANVAS_SIZE,
                alt="The digit you drew on the live pad, as the server received it",
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
        if st.button("Clear", icon=":material/ink_eraser:"):
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
            unreadable = str(e) if isinstance(e, InputError) else "The canvas sent no readable drawing."
            st.error(unreadable, icon=":material/error:")
        digit = canvas_to_mnist(rgba)
        if rgba is None and ss.get("canvas_restore"):
            digit = ss.get("canvas_digit")  # the handed-back strokes, until the canvas reports them itself
        elif digit is not None:
            ss["canvas_digit"] = digit
        if rgba is not None and digit is not None and ink_extent(rgba) < SMALL_INK:
            st.warning(
                "That is very small. Like MNIST, every drawing is scaled up to fill the frame, so a dot or a tiny "
                "digit becomes a fat blob. Draw the digit larger.",
                icon=":material/zoom_in:",
            )

st.session_state["input_before"] = source
view.show_digit(shown_index)

if digit is None:
    hint = "Upload a picture of one digit" if source == "Upload" else "Draw a digit on the black square"
    if not live:
        right.info(f"{hint} to see its reconstructions.", icon=":material/draw:")
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
        enlarge(digit), caption="What the model sees (28×28)", width="stretch", output_format="PNG",
        alt="Your input as the 28 by 28 digit the models see",
    )  # fmt: skip
    if name not in recs:
        error = loaded[name][2]
        st.warning(f"**{name}** is not available ({error.reason}): {error.detail}", icon=":material/warning:")
        if not view.is_hidden("retrain"):  # a lesson link without retraining offers none here either
            actions.train_now_button(name)
    else:
        rec = recs[name]
        cols[1].image(
            enlarge(rec.image), caption=f"Reconstruction by {name}", width="stretch", output_format="PNG",
            alt=f"Reconstruction by {name}: {described(rec)}",
        )  # fmt: skip
        cols[2].image(
            heat(rec.error), caption="|error| (black 0, white 1)", width="stretch", output_format="PNG",
            alt=f"Where {name} errs: brighter pixels are larger errors, MSE {rec.mse:.4f}",
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
            "Classifier reads", f"{d_in} → {d_out}", help="What a reference digit classifier reads in the "
            f"input ({p_in:.0%} sure) and in the reconstruction ({p_out:.0%} sure).",
        )  # fmt: skip
    familiar.verdict(name, rec.mse)

st.header("Every model, same input")
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
        alt = f"{other}'s reconstruction above its error map: {described(r)}"
        st.image(both, width="stretch", output_format="PNG", alt=alt)
        reads = f" · reads {r.reads[0]}" if r.reads is not None else ""
        st.caption(f"**{other}**  \nMSE {r.mse:.4f} · {r.psnr:.1f} dB{reads}  \n{familiar.short(other, r.mse)}")

if state.dataset() == DEFAULT:  # the codecs and your handwriting are about digits
    drawing_file.section(digit)  # the drawing's bytes as PNG, WebP and a codec's .ael file
    mydigits.section(digit, name)  # keep your drawings with their labels; teach a model your handwriting
