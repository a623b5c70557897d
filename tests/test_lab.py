"""The lab: build a model of every family, train it, find it everywhere, delete it; bad requests change nothing."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ae.cli.main import main
from ae.measure.compare import comparison_table
from ae.runtime import workspace
from ae.storage import checkpoints, lab, spec_files
from ae.storage.catalogue import active_registry, built
from ae.training.runs import train_and_save

ROOT = Path(__file__).resolve().parent.parent
QUICK = {"train_subset": 2000}  # seconds, not minutes: these tests check the plumbing, not the quality


@pytest.fixture(autouse=True)
def _no_class_mode(monkeypatch):
    monkeypatch.delenv("AELAB_TEACHER_PASSWORD", raising=False)


def _files(home: Path) -> list[str]:
    return sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file())


@pytest.mark.slow
@pytest.mark.parametrize(
    "build",
    [
        # Code sizes the chart has already (32, 98 = 2x7x7, 16): the rd command then measures only the new model.
        lab.Build("my-linear", "linear", code=32, epochs=1, extra=QUICK),
        lab.Build("my-mlp", "mlp", code=32, hidden=(64, 32), activation="gelu", epochs=1, extra=QUICK),
        lab.Build("my-conv", "conv", code=2, hidden=(8,), third_block=True, noise=0.3, epochs=1, extra=QUICK),
        lab.Build("my-vae", "vae", code=16, hidden=(64,), beta=0.5, epochs=1, extra=QUICK),
    ],
    ids=lambda b: b.family,
)
def test_each_family_builds_trains_shows_everywhere_and_deletes(build, small_mnist, workspace_home, capsys):
    spec = lab.create(build)
    assert spec.name in active_registry() and lab.origin(spec.name) == "built"
    meta = train_and_save(spec, small_mnist)
    assert meta["metrics"]["test_mse"] < 0.22  # one short epoch: a grey picture (all 0.5) scores about 0.23

    table = comparison_table(small_mnist, checkpoints.folders(), measure=False)
    assert spec.name in list(table["model"])
    assert table.set_index("model").loc[spec.name, "checkpoint"] == "fresh"

    assert main(["rd", "--stored"]) == 0
    assert any(line.split()[:1] == [spec.name] for line in capsys.readouterr().out.splitlines())

    at = AppTest.from_file(str(ROOT / "pages/draw.py"), default_timeout=120)
    at.session_state["source"], at.session_state["test_index"] = "Random test digit", 3
    at.run()
    assert not at.exception, at.exception
    assert any(o.split(" (")[0] == spec.name for o in at.radio(key="model").options)  # the picker; the strip below
    assert any(c.value.startswith(f"**{spec.name}**  \nMSE") for c in at.caption)  # its tile in the strip

    lab.delete(spec.name)
    assert spec.name not in active_registry()
    assert not any(spec.name in f for f in _files(workspace_home) if not f.endswith(".lock"))


@pytest.mark.parametrize(
    ("build", "why"),
    [
        (lab.Build("zero", "linear", code=0), "code size"),
        (lab.Build("big-code", "linear", code=785), "code size"),
        (lab.Build("deep", "mlp", hidden=(8,) * 10_000), "at most 8 widths"),
        (lab.Build("huge", "mlp", code=784, hidden=(4096, 4096, 4096, 4096, 4096, 4096, 3000)), "parameters"),
        (lab.Build("a/b", "linear"), "not a valid name"),
        (lab.Build("..", "linear"), "not a valid name"),
        (lab.Build("my model", "linear"), "not a valid name"),
        (lab.Build("x" * 41, "linear"), "not a valid name"),
        (lab.Build("linear-32", "linear"), "shipped model"),
        (lab.Build("rnn-1", "rnn"), "unknown family"),
        (lab.Build("swishy", "mlp", activation="swish"), "unknown activation"),
        (lab.Build("too-long", "mlp", epochs=10_000), "epochs"),
        (lab.Build("two-widths", "conv", hidden=(8, 8)), "one hidden width"),
    ],
    ids=lambda v: v.name if isinstance(v, lab.Build) else "",
)
def test_bad_requests_are_refused_and_write_nothing(build, why, workspace_home):
    with pytest.raises(spec_files.SpecError, match=why):
        lab.create(build)
    assert _files(workspace_home) == []


def test_a_100m_parameter_model_is_refused_without_allocating_it(workspace_home):
    build = lab.Build("hundred-m", "mlp", code=784, hidden=(4096,) * 8)  # ~250 M parameters
    with pytest.raises(spec_files.SpecError, match="parameters is more than"):
        lab.create(build)


def test_a_name_taken_by_a_built_model_is_refused(workspace_home):
    lab.create(lab.Build("mine", "linear", code=8))
    before = (spec_files.folder(workspace_home) / "mine.json").read_text()
    with pytest.raises(spec_files.SpecError, match="built earlier"):
        lab.create(lab.Build("mine", "mlp"))
    assert (spec_files.folder(workspace_home) / "mine.json").read_text() == before


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        json.dumps({"format": 1, "name": "broken", "family": "mlp", "args": {"code_size": 0}, "recipe": {}}),
        json.dumps({"format": 99}),
        "[]",
    ],
)
def test_a_hand_edited_bad_spec_is_named_and_the_rest_is_served(content, workspace_home):
    good = lab.create(lab.Build("good-one", "linear", code=8))
    (spec_files.folder(workspace_home) / "broken.json").write_text(content)
    registry = active_registry()
    assert good.name in registry and "broken" not in registry and "conv-8" in registry
    assert "broken.json" in built()[1]


@pytest.mark.parametrize("beta2", [1.0, 0, "0.99"])
def test_a_hand_edited_beta2_out_of_range_is_refused(beta2, workspace_home):
    data = spec_files.to_dict(lab.spec_for(lab.Build("mine", "linear", code=8)))
    data["recipe"]["beta2"] = beta2
    spec_files.folder(workspace_home).mkdir(parents=True)
    (spec_files.folder(workspace_home) / "mine.json").write_text(json.dumps(data))
    assert "mine" not in active_registry() and "beta2" in built()[1]["mine.json"]


def test_a_spec_named_like_a_shipped_model_is_left_out(workspace_home):
    spec = lab.spec_for(lab.Build("mine", "linear", code=8))
    data = spec_files.to_dict(spec) | {"name": "conv-8"}
    (spec_files.folder(workspace_home)).mkdir(parents=True)
    (spec_files.folder(workspace_home) / "conv-8.json").write_text(json.dumps(data))
    assert active_registry()["conv-8"].family == "conv"
    assert "shipped model" in built()[1]["conv-8.json"]


def test_the_app_names_a_bad_spec_and_serves_the_others(workspace_home):
    (spec_files.folder(workspace_home)).mkdir(parents=True)
    (spec_files.folder(workspace_home) / "broken.json").write_text("{not json")
    at = AppTest.from_file(str(ROOT / "pages/build.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    assert any("specs/broken.json" in w.value for w in at.sidebar.warning)
    assert "broken.json" in list(at.dataframe[0].value["file"])


def test_deleting_a_shipped_model_is_refused():
    with pytest.raises(spec_files.SpecError, match="shipped model"):
        lab.delete("conv-8")


def test_cli_new_list_delete(workspace_home, capsys):
    assert main(["new", "cli-mlp", "--family", "mlp", "--hidden", "32", "--code", "8", "--note", "hi"]) == 0
    assert json.loads((spec_files.folder(workspace_home) / "cli-mlp.json").read_text())["note"] == "hi"
    assert main(["list"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows["cli-mlp"][1:5] == ["mlp", "mnist", "built", "missing"] and rows["conv-8"][3] == "shipped"
    assert rows["fashion-conv-8"][1:4] == ["conv", "fashion", "shipped"]
    assert main(["new", "cli-bad", "--family", "mlp", "--activation", "swish"]) == 2
    assert "unknown activation" in capsys.readouterr().err
    assert main(["delete", "cli-mlp"]) == 0
    assert main(["delete", "cli-mlp"]) == 2
    assert "no built model" in capsys.readouterr().err
    assert not (spec_files.folder(workspace_home) / "cli-mlp.json").exists()


def test_build_page_builds_and_trains_a_model(workspace_home, monkeypatch):
    monkeypatch.setattr(lab, "DEFAULTS", {**lab.DEFAULTS, "linear": {**lab.DEFAULTS["linear"], "epochs": 1}})
    at = AppTest.from_file(str(ROOT / "pages/build.py"), default_timeout=60).run()
    at.segmented_control(key="build_family").set_value("linear").run()
    at.text_input[0].set_value("page-linear").run()
    assert any("parameters" in i.value for i in at.info)
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert "page-linear" in active_registry()
    assert any("Built page-linear" in s.value for s in at.success)
    assert (workspace.home() / "specs" / "page-linear.json").exists()
    from ui import state

    state.trainer().cancel()  # the run the page queued: stopped, so nothing trains on after the test
    assert state.trainer().wait(60)


def test_a_running_trainer_trains_a_model_built_after_it_started(small_mnist, workspace_home):
    from ae.training.queue import Trainer

    trainer = Trainer(lambda _: small_mnist, active_registry, workspace.checkpoint_dir())
    lab.create(lab.Build("late-comer", "linear", code=8, epochs=1, extra={"train_subset": 500}))
    trainer.start(["late-comer"])
    assert trainer.wait(120)
    job = trainer.snapshot()["late-comer"]
    assert job.state == "done", job.message
    assert checkpoints.status("late-comer", workspace.checkpoint_dir()).state == "fresh"
