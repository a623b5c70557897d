"""Walk from one digit to another through a model's code space, next to a plain pixel cross-fade."""

import numpy as np
import streamlit as st

from ae.data.preprocess import canvas_rgba, canvas_to_mnist
from ae.measure.explore import interpolate, pixel_blend
from ui import state, view
from ui.i18n import held, t
from ui.images import enlarge, strip
from ui.sidebar import sidebar

sidebar()
st.title(t("interpolate.title"))
st.write(t("interpolate.intro"))

# linear-32 by default: its tight code is the one whose walk shows the morph the text describes.
name = view.model("interp_model", state.usable(), default="linear-32")
model = state.model(name)[0]
MODES = {"Test digit": "interpolate.mode_test", "Draw": "interpolate.mode_draw"}


def pick(side: str, default_index: int):
    """One end of the walk: a test digit, or a drawing. The link's ``digit`` is the start's test digit, ``end``
    the end's."""
    param = "digit" if side == "Start" else "end"
    # Kept under a key of its own: the box is skipped while this end draws, and a skipped widget forgets its value.
    kept = f"{side}_digit"
    if (linked := view.digit(len(state.data().test_x), param)) is not None:
        st.session_state[f"{side}_mode"] = "Test digit"
        st.session_state[kept] = st.session_state[f"{side}_index"] = linked
    mode = st.segmented_control(
        t(f"interpolate.{side.lower()}"), list(MODES), default="Test digit", key=f"{side}_mode", required=True,
        format_func=held(lambda m: t(MODES[m])),
    )  # fmt: skip
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
        t("interpolate.number"),
        0,
        len(state.data().test_x) - 1,
        st.session_state.get(kept, default_index),
        key=f"{side}_index",
    )
    st.session_state[kept] = int(i)
    view.show_digit(int(i), param)
    digit, label = state.test_digit(int(i))
    st.image(
        enlarge(digit, 7), caption=t("interpolate.label", label=label), output_format="PNG",
        alt=t("interpolate.digit_alt", i=i, label=label),
    )  # fmt: skip
    return digit


left, right = st.columns(2)
with left:
    a = pick("Start", 3)  # a 0 in the test set
with right:
    b = pick("End", 0)  # a 7
# Rendered on every run, before the stop below: a widget skipped for one run loses its state, and the browser
# then showed the default t on a re-created slider while the images used the old one.
mix = st.slider(t("interpolate.t"), 0.0, 1.0, 0.5, 0.05, key="interp_t")
if a is None or b is None:
    st.info(t("interpolate.empty"))
    st.stop()

code_img = interpolate(model, a, b, [mix])[0]
pixel_img = pixel_blend(a, b, [mix])[0]
c1, c2 = st.columns(2)
c1.image(
    enlarge(code_img, 8), caption=t("interpolate.code_caption", t=mix), output_format="PNG",
    alt=t("interpolate.code_alt", name=name, t=mix),
)  # fmt: skip
c2.image(
    enlarge(pixel_img, 8), caption=t("interpolate.pixel_caption", t=mix), output_format="PNG",
    alt=t("interpolate.pixel_alt", t=mix),
)  # fmt: skip

steps = np.linspace(0, 1, 8).tolist()
st.header(t("interpolate.steps"))
st.image(
    strip(interpolate(model, a, b, steps)), caption=t("interpolate.through", name=name), width="stretch",
    output_format="PNG", alt=t("interpolate.through_alt", name=name),
)  # fmt: skip
st.image(
    strip(pixel_blend(a, b, steps)), caption=t("interpolate.on_pixels"), width="stretch", output_format="PNG",
    alt=t("interpolate.on_pixels_alt"),
)  # fmt: skip
