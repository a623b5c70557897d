"""Build a model of your own: pick a family and its sizes, train it, and find it on every page beside the shipped
ones."""

import pandas as pd
import streamlit as st

from ae.models.families import FAMILIES
from ae.storage import lab, spec_files
from ui import actions, auth, datasets, state
from ui.sidebar import sidebar

sidebar()
st.title("Build a model")
st.write(
    "Choose an architecture and its sizes, then train it. Your model joins the shipped ones everywhere: the Draw "
    "strip, the Compare table, the rate–distortion chart, the training curves and every picker. The Compare table "
    "then answers whether your design beats the seed's at the same code size."
)

families = [f for f in lab.DEFAULTS if f in FAMILIES]
family = st.segmented_control("Family", families, default="mlp", key="build_family", required=True)
d = lab.DEFAULTS[family]
left, right = st.columns(2, gap="medium")
with left:
    name = st.text_input("Name", value=f"my-{family}", max_chars=40, help="Lower-case letters, digits and dashes.")
    code_label = "Code channels (each a 7×7 map)" if family == "conv" else "Code size"
    code = st.number_input(code_label, 1, 64 if family == "conv" else 784, d["code"], key=f"build_code_{family}")
    hidden, options = None, {}
    if family in ("mlp", "vae"):
        text = st.text_input("Hidden layers (widths, encoder side)", ",".join(map(str, d["hidden"])),
                             key=f"build_hidden_{family}", help="Mirrored in the decoder. Empty: none.")  # fmt: skip
        hidden = tuple(int(w) for w in text.replace(" ", "").split(",") if w.isdigit())
        if any(w and not w.isdigit() for w in text.replace(" ", "").split(",")):
            st.error("Hidden widths are whole numbers separated by commas, e.g. 256,128.")
            st.stop()
    if family == "mlp":
        options["activation"] = st.selectbox("Activation", spec_files.ACTIVATIONS)
    if family == "conv":
        hidden = (st.number_input("Hidden channels", 1, 256, d["hidden"][0]),)
        options["third_block"] = st.toggle("A third conv block on each side")
    if family == "vae":
        options["kind"] = st.selectbox("Encoder and decoder", ["mlp", "conv"])
        options["beta"] = st.number_input("β (weight of the KL term)", 0.0, 100.0, 1.0, 0.1)
with right:
    noise = st.slider("Denoising noise σ (0: a plain autoencoder)", 0.0, 1.0, 0.0, 0.05)
    epochs = st.number_input("Epochs", 1, spec_files.MAX_EPOCHS, d["epochs"], key=f"build_epochs_{family}")
    lr = st.number_input("Peak learning rate", 1e-5, 1.0, d["lr"], format="%.4f", key=f"build_lr_{family}")
    seed = st.number_input("Seed", 0, 2**31 - 1, 0)
    note = st.text_area("Note", max_chars=spec_files.MAX_NOTE, placeholder="What are you trying?", height=80)

build = lab.Build(name.strip(), family, int(code), hidden, noise=noise, epochs=int(epochs), lr=float(lr),
                  seed=int(seed), note=note, dataset=state.dataset(), **options)  # fmt: skip
st.caption(f"It learns **{datasets.title()}**, the dataset chosen in the sidebar.")
try:
    spec = lab.spec_for(build)
    values = spec_files.code_values(spec)
    st.info(
        f"{spec.description}. **{spec_files.parameters(spec):,} parameters**; code of {values} values "
        f"(compression ratio {values / 784:.3g}: code values ÷ 784 pixels).",
        icon=":material/architecture:",
    )
except lab.SpecError as e:
    spec = None
    st.error(str(e), icon=":material/error:")
if st.button("Build and train", type="primary", disabled=spec is None, icon=":material/construction:"):
    outcome = actions.build_model(build)
    (st.success if outcome.ok else st.error)(outcome.message)
if auth.class_mode() and not auth.may_change():
    st.caption(actions.BUILD_NOT_ALLOWED)

st.header("Models built here")
reg, jobs = state.registry(), state.trainer().snapshot()
built = [n for n in reg if lab.origin(n) == "built"]
if not built:
    st.caption("None yet.")
for n in built:
    _, meta, error = state.model(n)
    job = jobs.get(n)
    status = job.state if job and job.state in ("queued", "running") else ("trained" if meta else "not trained")
    mse = f"test MSE {meta['metrics']['test_mse']:.5f}" if meta else ""
    cols = st.columns([3, 2, 2, 1], vertical_alignment="center")
    cols[0].markdown(f"**{n}** · {reg[n].description}" + (f"  \n*{reg[n].note}*" if reg[n].note else ""))
    cols[1].write(status)
    cols[2].write(mse)
    if cols[3].button("Delete", key=f"delete_{n}", icon=":material/delete:"):
        outcome = actions.delete_model(n)
        (st.toast if outcome.ok else st.error)(outcome.message)
        if outcome.ok:
            st.rerun()
if problems := state.spec_problems():
    st.warning("Spec files left out (every other model is served):", icon=":material/warning:")
    st.dataframe(pd.DataFrame({"file": list(problems), "why": list(problems.values())}), hide_index=True)
