"""Build a model of your own: pick a family and its sizes, train it, and find it on every page beside the shipped
ones."""

import pandas as pd
import streamlit as st

from ae.models.families import FAMILIES
from ae.storage import lab, spec_files
from ui import actions, auth, datasets, state
from ui.i18n import headers, t
from ui.sidebar import sidebar

sidebar()
st.title(t("build.title"))
st.write(t("build.intro"))

families = [f for f in lab.DEFAULTS if f in FAMILIES]
family = st.segmented_control(t("build.family"), families, default="mlp", key="build_family", required=True)
d = lab.DEFAULTS[family]
left, right = st.columns(2, gap="medium")
with left:
    name = st.text_input(t("build.name"), value=f"my-{family}", max_chars=40, help=t("build.name_help"))
    code_label = t("build.code_channels") if family == "conv" else t("build.code_size")
    code = st.number_input(code_label, 1, 64 if family == "conv" else 784, d["code"], key=f"build_code_{family}")
    hidden, options = None, {}
    if family in ("mlp", "vae"):
        text = st.text_input(t("build.hidden"), ",".join(map(str, d["hidden"])), key=f"build_hidden_{family}",
                             help=t("build.hidden_help"))  # fmt: skip
        hidden = tuple(int(w) for w in text.replace(" ", "").split(",") if w.isdigit())
        if any(w and not w.isdigit() for w in text.replace(" ", "").split(",")):
            st.error(t("build.hidden_error"))
            st.stop()
    if family == "mlp":
        options["activation"] = st.selectbox(t("build.activation"), spec_files.ACTIVATIONS)
    if family == "conv":
        hidden = (st.number_input(t("build.hidden_channels"), 1, 256, d["hidden"][0]),)
        options["third_block"] = st.toggle(t("build.third_block"))
    if family == "vae":
        options["kind"] = st.selectbox(t("build.kind"), ["mlp", "conv"])
        options["beta"] = st.number_input(t("build.beta"), 0.0, 100.0, 1.0, 0.1)
with right:
    noise = st.slider(t("build.noise"), 0.0, 1.0, 0.0, 0.05)
    epochs = st.number_input(t("sidebar.epochs"), 1, spec_files.MAX_EPOCHS, d["epochs"], key=f"build_epochs_{family}")
    lr = st.number_input(t("build.lr"), 1e-5, 1.0, d["lr"], format="%.4f", key=f"build_lr_{family}")
    seed = st.number_input(t("sidebar.seed"), 0, 2**31 - 1, 0)
    note = st.text_area(
        t("build.note"), max_chars=spec_files.MAX_NOTE, placeholder=t("build.note_placeholder"), height=80
    )

build = lab.Build(name.strip(), family, int(code), hidden, noise=noise, epochs=int(epochs), lr=float(lr),
                  seed=int(seed), note=note, dataset=state.dataset(), **options)  # fmt: skip
st.caption(t("build.learns", title=datasets.title()))
try:
    spec = lab.spec_for(build)
    values = spec_files.code_values(spec)
    st.info(
        t(
            "build.summary",
            description=spec.description,
            parameters=spec_files.parameters(spec),
            values=values,
            ratio=values / 784,
        ),
        icon=":material/architecture:",
    )
except lab.SpecError as e:
    spec = None
    st.error(str(e), icon=":material/error:")
if st.button(t("build.build"), type="primary", disabled=spec is None, icon=":material/construction:"):
    outcome = actions.build_model(build)
    (st.success if outcome.ok else st.error)(outcome.message)
if auth.class_mode() and not auth.may_change():
    st.caption(t("actions.build_not_allowed"))

st.header(t("build.built"))
reg, jobs = state.registry(), state.trainer().snapshot()
built = [n for n in reg if lab.origin(n) == "built"]
if not built:
    st.caption(t("build.none"))
for n in built:
    _, meta, error = state.model(n)
    job = jobs.get(n)
    status = job.state if job and job.state in ("queued", "running") else ("trained" if meta else "untrained")
    mse = t("build.test_mse", mse=meta["metrics"]["test_mse"]) if meta else ""
    cols = st.columns([3, 2, 2, 1], vertical_alignment="center")
    cols[0].markdown(f"**{n}** · {reg[n].description}" + (f"  \n*{reg[n].note}*" if reg[n].note else ""))
    cols[1].write(t(f"build.{status}"))
    cols[2].write(mse)
    if cols[3].button(t("build.delete"), key=f"delete_{n}", icon=":material/delete:"):
        outcome = actions.delete_model(n)
        (st.toast if outcome.ok else st.error)(outcome.message)
        if outcome.ok:
            st.rerun()
if problems := state.spec_problems():
    st.warning(t("build.left_out"), icon=":material/warning:")
    table = pd.DataFrame({"file": list(problems), "why": list(problems.values())})
    st.dataframe(table, hide_index=True, column_config=headers(table.columns))
