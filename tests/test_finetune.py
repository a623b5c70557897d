"""Teach it your handwriting: the digits file, the fine-tune on a synthetic hand, the saved model, the Draw section."""

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from ae.data import handwriting
from ae.data.handwriting import DigitFileError
from ae.models.batching import mean_squared_error
from ae.storage import checkpoints, spec_files
from ae.storage.catalogue import active_registry
from ae.training import finetune, reproduce
from ui.i18n import text

ROOT = Path(__file__).resolve().parent.parent
BASE = "linear-32"  # shipped, and quick: the fine-tune and its measuring take about a second
CONFIG = finetune.FinetuneConfig(max_seconds=120)  # all 300 steps even on a busy machine: the figures are fixed


@pytest.fixture(scope="module")
def hand(mnist):
    return handwriting.synthetic(mnist, 60)


@pytest.fixture(scope="module")
def base():
    folder, _ = checkpoints.folders().resolve(BASE)
    return checkpoints.load(BASE, folder)


@pytest.fixture(scope="module")
def tuned(base, hand, mnist):
    model, meta = base
    calls = []
    result = finetune.finetune(
        model, hand, mnist, config=CONFIG, before_mnist=finetune.recorded_test_mse(meta, mnist),
        progress=lambda *a: calls.append(a),
    )  # fmt: skip
    return result, calls


# --- the digits and their file ---


def test_the_synthetic_hand_is_fixed_slanted_and_thicker(mnist, hand):
    again = handwriting.synthetic(mnist, 60)
    assert np.array_equal(again.images, hand.images) and np.array_equal(hand.labels, mnist.test_y[:60])
    assert hand.images.dtype == np.uint8 and hand.images.shape == (60, 28, 28)
    ink, original = (hand.images > 127).sum(), (mnist.test_x[:60] > 127).sum()
    assert ink > 1.5 * original  # a thicker pen


def test_add_remove_and_the_file_round_trip(hand):
    mine = handwriting.empty()
    for image, label in zip(hand.images[:3], hand.labels[:3], strict=True):
        mine = handwriting.add(mine, image.astype(np.float32) / 255.0, int(label))
    assert len(mine) == 3 and np.array_equal(mine.images, hand.images[:3])  # float [0, 1] -> the same bytes
    back = handwriting.from_bytes(handwriting.to_bytes(mine))
    assert np.array_equal(back.images, mine.images) and np.array_equal(back.labels, mine.labels)
    assert len(handwriting.remove(mine, -1)) == 2
    assert len(handwriting.merge(mine, back)) == 3  # loading the same file again adds nothing
    with pytest.raises(ValueError, match="0 to 9"):
        handwriting.add(mine, hand.images[0], 11)


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (_npz(images=np.zeros((2, 28, 27), np.uint8), labels=np.zeros(2, np.uint8)), "28×28"),
        (_npz(images=np.zeros((2, 28, 28), np.float32), labels=np.zeros(2, np.uint8)), "uint8"),
        (_npz(images=np.zeros((2, 28, 28), np.uint8), labels=np.array([3, 11])), "a label is 11"),
        (_npz(images=np.zeros((2, 28, 28), np.uint8), labels=np.zeros(3, np.uint8)), "one whole number per image"),
        (_npz(images=np.zeros((2, 28, 28), np.uint8)), "exactly two arrays"),
        (_npz(images=np.zeros((2, 28, 28), np.uint8), labels=np.array([1, "x"], object)), "cannot be read"),
        (pickle.dumps({"images": np.zeros((2, 28, 28), np.uint8)}), "not a digits file"),
        (b"\x00garbage\xff" * 100, "not a digits file"),
        (_npz(images=np.zeros((1001, 28, 28), np.uint8), labels=np.zeros(1001, np.uint8)), "a set holds at most 1,000"),
    ],
    ids=["shape", "dtype", "label-11", "lengths", "one-array", "pickled-labels", "pickle", "garbage", "too-many"],
)
def test_a_bad_file_is_refused_with_a_message(blob, message):
    with pytest.raises(DigitFileError, match=message):
        handwriting.from_bytes(blob)


def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("images.npy", b"\x00" * 50_000_000)
        z.writestr("labels.npy", b"\x00" * 10)
    with pytest.raises(DigitFileError, match="more than 1,000 digits"):
        handwriting.from_bytes(buf.getvalue())


# --- the fine-tune ---


def test_the_fine_tune_learns_the_hand_and_keeps_mnist(tuned, base, mnist):
    result, calls = tuned
    assert result.after.yours < 0.75 * result.before.yours  # the synthetic hand: at least a quarter less error
    assert result.after.mnist < 1.5 * result.before.mnist  # and MNIST not forgotten
    assert result.before.mnist == base[1]["metrics"]["test_mse"]  # as recorded: no pass over the test digits
    assert finetune.recorded_test_mse({**base[1], "data": {"fingerprint": "other"}}, mnist) is None
    assert result.quality.mse == result.after.mnist
    assert calls[-1] == (300, 300) and result.steps == 300
    held_out = handwriting.synthetic(mnist, 60, start=60).tensors()[0]  # the same hand, digits it never saw
    assert mean_squared_error(result.model, held_out) < mean_squared_error(base[0], held_out)


def test_the_fine_tune_is_seeded_and_leaves_the_base_alone(tuned, base, hand, mnist):
    model, meta = base
    again = finetune.finetune(model, hand, mnist, config=CONFIG, before_mnist=finetune.recorded_test_mse(meta, mnist))
    assert again.after == tuned[0].after
    assert mean_squared_error(model, hand.tensors()[0]) == pytest.approx(tuned[0].before.yours, rel=1e-6)


def test_too_few_digits_are_refused(base, hand, mnist):
    few = handwriting.DigitSet(hand.images[:19], hand.labels[:19])
    with pytest.raises(ValueError, match="at least 20"):
        finetune.finetune(base[0], few, mnist)


def test_the_saved_model_is_a_model_like_any_other(tuned, base, mnist, workspace_home, capsys):
    result, _ = tuned
    spec = active_registry()[BASE]
    saved = finetune.save(result, spec, base[1], mnist)
    assert saved.name == "linear-32-mine" and saved.group == "lab" and saved.recipe.init == "pytorch"
    registry = active_registry()
    assert registry["linear-32-mine"] == saved
    folder, origin = checkpoints.folders().resolve(saved.name)
    model, meta = checkpoints.load(saved.name, folder)
    assert folder == workspace_home / "checkpoints" and origin.startswith("retrained")
    assert checkpoints.status(saved.name, folder).state == "fresh"
    assert meta["metrics"]["test_mse"] == result.after.mnist
    assert meta["finetune"]["base"] == BASE and meta["finetune"]["base_fingerprint"] == base[1]["weights_sha256"]
    assert meta["finetune"]["digits"] == 60 and meta["history"][-1]["finetune"]
    assert mean_squared_error(model, result.digits.tensors()[0]) == pytest.approx(result.after.yours, rel=1e-5)
    # Saving again replaces an earlier fine-tune; a shipped name, or a bad one, is refused with nothing written.
    assert finetune.save(result, spec, base[1], mnist).name == saved.name
    for bad, why in [("conv-8", "shipped"), ("My Model", "not a valid name"), ("../x", "not a valid name")]:
        with pytest.raises(spec_files.SpecError, match=why):
            finetune.save(result, spec, base[1], mnist, name=bad)
    assert sorted(p.name for p in spec_files.folder(workspace_home).iterdir()) == ["linear-32-mine.json"]
    # reproduce skips it: no retrain from the spec gives it.
    from ae.cli.main import main

    assert reproduce.fine_tuned(saved.name, folder)
    assert main(["reproduce", "--model", saved.name]) == 0
    assert reproduce.NOT_REPRODUCIBLE in capsys.readouterr().out


def test_a_lab_models_name_is_not_taken_over(tuned, base, mnist, workspace_home):
    spec = active_registry()[BASE]
    spec_files.save(finetune.finetuned_spec(spec, "mine", "built by hand", 0), workspace_home)  # no checkpoint: built
    with pytest.raises(spec_files.SpecError, match="already called 'mine'"):
        finetune.save(tuned[0], spec, base[1], mnist, name="mine")


# --- the Draw page's section ---


@pytest.fixture
def draw_page(monkeypatch, hand):
    monkeypatch.delenv("AELAB_TEACHER_PASSWORD", raising=False)
    at = AppTest.from_file(str(ROOT / "pages/draw.py"), default_timeout=120)
    at.session_state["test_index"] = 0
    at.session_state["my_digits"] = hand
    # A test digit as the input: this section does not depend on the pad (whose live mode prepares every model for
    # the browser on a first run).
    at.session_state["source"] = "Random test digit"
    return at


def _button(at: AppTest, key: str):
    return next(b for b in at.button if b.key == key)


def test_the_draw_page_collects_digits_and_offers_the_fine_tune_at_20(draw_page, hand):
    at = draw_page
    at.session_state["my_digits"] = handwriting.DigitSet(hand.images[:19], hand.labels[:19])
    at.run()
    assert not at.exception, at.exception
    assert not any(b.key == "my_digits_finetune" for b in at.button)
    assert any("Add 1 more digit to" in i.value for i in at.info)
    at.segmented_control(key="my_digit_label").set_value(7).run()
    _button(at, "my_digits_add").click().run()
    assert not at.exception, at.exception
    mine = at.session_state["my_digits"]
    assert len(mine) == 20 and mine.labels[-1] == 7
    assert np.array_equal(mine.images[-1], (at.session_state["last_digit"] * 255).round().astype(np.uint8))
    button = _button(at, "my_digits_finetune")
    assert not button.disabled and at.selectbox(key="my_digits_base").value == BASE


def test_a_student_collects_digits_but_may_not_fine_tune(draw_page, hand, monkeypatch):
    monkeypatch.setenv("AELAB_TEACHER_PASSWORD", "secret")
    at = draw_page.run()
    assert _button(at, "my_digits_finetune").disabled and _button(at, "my_digits_add")
    assert any("Only the teacher can fine-tune" in c.value for c in at.caption)


def _fine_tune_as_this_session():
    import streamlit as st

    from ae.data import handwriting
    from ae.data.mnist import load_mnist
    from ui import mydigits

    st.session_state[mydigits.KEY] = handwriting.synthetic(load_mnist(), 20)
    outcome = mydigits.fine_tune("linear-32", "linear-32-mine")
    (st.success if outcome.ok else st.error)(outcome.message)


def test_a_students_fine_tune_is_refused_on_the_server(monkeypatch):
    """Not through the (disabled) button: as a crafted message would, straight to the action."""
    monkeypatch.setenv("AELAB_TEACHER_PASSWORD", "secret")
    at = AppTest.from_function(_fine_tune_as_this_session, default_timeout=60).run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [text("en", "mine.not_allowed")]
    assert "linear-32-mine" not in active_registry()


def test_fine_tuning_from_the_draw_page_saves_a_model_the_page_shows(draw_page):
    at = draw_page.run()
    at.text_input(key=f"my_digits_name_{BASE}").set_value("my-hand").run()
    _button(at, "my_digits_finetune").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert "my-hand (32)" in at.radio(key="model").options  # the strip and the picker list it at once
    table = at.dataframe[-1].value.set_index("reconstruction MSE on")
    assert table.loc["your digits", "after"] < table.loc["your digits", "before"]
    assert any("Did it forget MNIST?" in c.value for c in at.caption)
    assert "finetune" in checkpoints.read_sidecar("my-hand", checkpoints.folders().resolve("my-hand")[0])


def _load_files_in_this_session():
    import streamlit as st

    from ae.data import handwriting
    from ae.data.mnist import load_mnist
    from ui import mydigits

    hand = handwriting.synthetic(load_mnist(), 25)
    st.session_state[mydigits.KEY] = handwriting.DigitSet(hand.images[:20], hand.labels[:20])
    for blob in (b"PK\x03\x04 not really a zip", handwriting.to_bytes(hand)):
        outcome = mydigits.load_file(blob)
        (st.success if outcome.ok else st.error)(outcome.message)
        st.write(f"{len(mydigits.digits())} digits")


def test_a_bad_upload_loses_nothing_and_a_good_one_adds_only_new_digits():
    at = AppTest.from_function(_load_files_in_this_session, default_timeout=60).run()
    assert not at.exception, at.exception
    assert "not a digits file" in at.error[0].value and "Your 20 digits are as they were" in at.error[0].value
    assert at.success[0].value == "Loaded 5 new digits: you have 25."
    assert [m.value for m in at.markdown] == ["20 digits", "25 digits"]
