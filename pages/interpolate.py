"""Walk from one digit to another through a model's code space, next to a plain pixel cross-fade."""

import numpy as np
import streamlit as st

from ae.data.preprocess import canvas_rgba, canvas_to_mnist
from ae.measure.explore import interpolate, pixel_blend
from ui import state, view
from ui.images import enlarge, strip
from ui.sidebar import sidebar

sidebar()
st.title("Interpolate")
st.write(
    "Pick two digits. The autoencoder encodes both, mixes the two **codes** in proportion t, and decodes the mix. "
    "Below it, the same mix done on the **pixels**. Look for in-between shapes that look like handwriting in the "
    "code row, and a ghostly double exposure in the pixel row. The smallest code, linear-32, shows it best: a "
    "bigger code keeps so much of each digit that its walk looks much like the pixel cross-fade."
)

# linear-32 by default: its tight code is the one whose walk shows the morph the text describes.
name = view.model("interp_model", state.usable(), default="linear-32")
model = state.model(name)[0]


def pick(side: str, default_index: int):
    """One end of the walk: a test digit, or a drawing. The link's ``digit`` is the start's test digit, ``end``
    the end's."""
    param = "digit" if side == "Start" else "end"
    # Kept under a key of its own: the box is skipped while this end draws, and a skipped widget forgets its value.
    kept = f"{side}_digit"
    if (linked := view.digit(len(state.data().test_x), param)) is not None:
        st.session_state[f"{side}_mode"] = "Test digit"
        st.session_state[kept] = st.session_state[f"{side}_index"] = linked
    mode = st.segmented_control(side, ["Test digit", "Draw"], default="Test digit", key=f"{side}_mode", required=True)
    if mode == "Draw":
        from streamlit_drawable_canvas import st_canvas  # only importable inside a running app

        canvas = st_canvas(
            stroke_width=14, stroke_color="#FFFFFF", background_color="#000000", height=196, width=196,
            drawing_mode="freedraw", return_image_data=True, key=f"{side}_canvas",
        )  # fmt: skip
        view.show_digit(None, param)  # a drawing has no link
        try:
            return canvas_to_mnist(canvas_rgba(canvas.image_bytes))
        except ValueError as e:
            st.error(str(e))
            return None
    i = st.number_input(
        "Test digit #", 0, len(state.data().test_x) - 1, st.session_state.get(kept, default_index), key=f"{side}_index"
    )
    st.session_state[kept] = int(i)
    view.show_digit(int(i), param)
    digit, label = state.test_digit(int(i))
    st.image(enlarge(digit, 7), caption=f"label {label}", output_format="PNG", alt=f"Test digit number {i}, a {label}")
    return digit


left, right = st.columns(2)
with left:
    a = pick("Start", 3)  # a 0 in the test set
with right:
    b = pick("End", 0)  # a 7
# Rendered on every run, before the stop below: a widget skipped for one run loses its state, and the browser
# then showed the default t on a re-created slider while the images used the old one.
t = st.slider("t: 0 = start, 1 = end", 0.0, 1.0, 0.5, 0.05, key="interp_t")
if a is None or b is None:
    st.info("Draw a digit on each empty canvas (or switch it to a test digit).")
    st.stop()

code_img = interpolate(model, a, b, [t])[0]
pixel_img = pixel_blend(a, b, [t])[0]
c1, c2 = st.columns(2)
c1.image(
    enlarge(code_img, 8), caption=f"decode((1-t)·z₁ + t·z₂), t = {t:.2f}", output_format="PNG",
    alt=f"{name} decoding the mix of the two digits' codes at t = {t:.2f}",
)  # fmt: skip
c2.image(
    enlarge(pixel_img, 8), caption=f"(1-t)·x₁ + t·x₂ on the pixels, t = {t:.2f}", output_format="PNG",
    alt=f"The two digits' pixels cross-faded at t = {t:.2f}",
)  # fmt: skip

steps = np.linspace(0, 1, 8).tolist()
st.header("Eight steps")
st.image(
    strip(interpolate(model, a, b, steps)), caption=f"through {name}'s code", width="stretch", output_format="PNG",
    alt=f"Eight steps from the start digit to the end digit through {name}'s code",
)  # fmt: skip
st.image(
    strip(pixel_blend(a, b, steps)), caption="on the pixels", width="stretch", output_format="PNG",
    alt="Eight steps from the start digit to the end digit cross-fading the pixels",
)  # fmt: skip
