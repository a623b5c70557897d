"""The workspace: what the app and the CLI train or measure goes to AELAB_HOME; the shipped folder is only read."""

from __future__ import annotations

import hashlib
import inspect
import json
import shutil
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from ae.compression import rd
from ae.measure.compare import comparison_table
from ae.runtime import workspace
from ae.storage import checkpoints
from ae.storage.catalogue import REGISTRY
from ae.training import reproduce
from ae.training.runs import train_and_save
from tests.tiny import REGISTRY as TINY
from tests.tiny import TINY_LINEAR

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "checkpoints"


def hashes(folder: Path) -> dict[str, str]:
    """Every file in ``folder`` (hidden lock files aside) by its sha256: what "unchanged" is checked against."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, small_mnist) -> Path:
    """tiny-linear trained once into a folder of its own; tests copy it where they need it."""
    folder = tmp_path_factory.mktemp("trained")
    train_and_save(TINY_LINEAR, small_mnist, directory=folder)
    return folder


def _copy(name: str, source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for path in checkpoints.paths(name, source):
        shutil.copy2(path, target / path.name)


def test_home_is_aelab_home_else_the_xdg_data_folder_else_local_share(monkeypatch, tmp_path):
    monkeypatch.setenv("AELAB_HOME", str(tmp_path / "mine"))
    assert workspace.home() == tmp_path / "mine"
    monkeypatch.delenv("AELAB_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert workspace.home() == tmp_path / "xdg" / "aelab"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/path")  # invalid per XDG: ignored
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert workspace.home() == tmp_path / "user" / ".local" / "share" / "aelab"


def test_checkpoint_dir_is_created_on_demand_only(workspace_home):
    assert not (workspace_home / "checkpoints").exists()
    assert workspace.checkpoint_dir(create=False) == workspace_home / "checkpoints"
    assert not (workspace_home / "checkpoints").exists()
    assert workspace.checkpoint_dir().is_dir()


def test_every_test_has_a_workspace_outside_the_repository(workspace_home):
    assert workspace.home() == workspace_home
    assert not workspace_home.resolve().is_relative_to(ROOT)


def test_a_retrain_with_the_default_directory_writes_only_into_the_workspace(workspace_home, small_mnist):
    default = inspect.signature(train_and_save).parameters["directory"].default
    # Checked before training, so that a default still pointing at the shipped folder fails without writing there.
    assert default is None or Path(default).resolve() != SHIPPED.resolve(), "its default is the shipped folder"
    before = hashes(SHIPPED)
    train_and_save(TINY_LINEAR, small_mnist)
    assert hashes(SHIPPED) == before
    ws = workspace_home / "checkpoints"
    assert {p.name for p in ws.iterdir() if not p.name.startswith(".")} == {
        "tiny-linear.safetensors",
        "tiny-linear.json",
        "tiny-linear.snapshots.safetensors",  # what the Training page replays (ae.storage.snapshots)
    }
    assert checkpoints.Folders(SHIPPED, ws).resolve(TINY_LINEAR.name, TINY)[0] == ws


def test_the_workspace_copy_is_served_until_reset_to_shipped(tmp_path, trained, workspace_home):
    shipped, ws = tmp_path / "shipped", workspace_home / "checkpoints"
    _copy(TINY_LINEAR.name, trained, shipped)
    assert checkpoints.Folders(shipped, ws).resolve(TINY_LINEAR.name, TINY) == (shipped, "shipped")
    _copy(TINY_LINEAR.name, trained, ws)
    meta = checkpoints.read_sidecar(TINY_LINEAR.name, ws)
    meta["created"] = "2026-03-04T05:06:07+00:00"
    (ws / "tiny-linear.json").write_text(json.dumps(meta))
    before = hashes(shipped)
    folder, origin = checkpoints.Folders(shipped, ws).resolve(TINY_LINEAR.name, TINY)
    local = datetime.fromisoformat(meta["created"]).astimezone()
    assert (folder, origin) == (ws, f"retrained {local:%Y-%m-%d %H:%M}")
    assert checkpoints.reset_to_shipped(TINY_LINEAR.name) is True
    assert not any(ws.glob("tiny-linear.*"))
    assert checkpoints.Folders(shipped, ws).resolve(TINY_LINEAR.name, TINY) == (shipped, "shipped")
    assert checkpoints.reset_to_shipped(TINY_LINEAR.name) is False  # nothing left to remove
    assert hashes(shipped) == before


@pytest.mark.parametrize("damage", ["architecture", "recipe", "truncated weights", "sidecar only"])
def test_an_unusable_or_stale_workspace_checkpoint_falls_back_to_shipped(tmp_path, trained, workspace_home, damage):
    shipped, ws = tmp_path / "shipped", workspace_home / "checkpoints"
    _copy(TINY_LINEAR.name, trained, shipped)
    _copy(TINY_LINEAR.name, trained, ws)
    assert checkpoints.Folders(shipped, ws).resolve(TINY_LINEAR.name, TINY)[0] == ws
    weights, sidecar = checkpoints.paths(TINY_LINEAR.name, ws)
    meta = json.loads(sidecar.read_text())
    if damage == "architecture":
        meta["spec"]["args"]["depth"] = 17
    elif damage == "recipe":
        meta["recipe"]["lr"] = 0.5
    elif damage == "truncated weights":
        weights.write_bytes(weights.read_bytes()[:100])
    else:
        weights.unlink()
    sidecar.write_text(json.dumps(meta))
    assert checkpoints.Folders(shipped, ws).resolve(TINY_LINEAR.name, TINY) == (shipped, "shipped")


def test_a_retrain_with_other_epochs_is_still_served(tmp_path, trained, workspace_home):
    """The sidebar's Epochs box is the user's choice, not a recipe change: that retrain must show."""
    ws = workspace_home / "checkpoints"
    _copy(TINY_LINEAR.name, trained, ws)
    meta = json.loads((ws / "tiny-linear.json").read_text())
    meta["recipe"]["epochs"] = 1
    (ws / "tiny-linear.json").write_text(json.dumps(meta))
    assert checkpoints.Folders(tmp_path, ws).resolve(TINY_LINEAR.name, TINY)[0] == ws


def test_reset_refuses_while_the_model_trains_into_the_workspace(trained, workspace_home):
    ws = workspace_home / "checkpoints"
    _copy(TINY_LINEAR.name, trained, ws)
    with checkpoints.training_lock(TINY_LINEAR.name, ws), pytest.raises(checkpoints.TrainingBusy):
        checkpoints.reset_to_shipped(TINY_LINEAR.name)
    assert (ws / "tiny-linear.safetensors").exists() and (ws / "tiny-linear.json").exists()


def test_compare_table_says_where_each_checkpoint_comes_from(tmp_path, trained, workspace_home, small_mnist):
    shipped, ws = tmp_path / "shipped", workspace_home / "checkpoints"
    _copy(TINY_LINEAR.name, trained, shipped)
    source = checkpoints.Folders(shipped, ws)
    table = comparison_table(small_mnist, source, TINY, measure=False).set_index("model")
    assert table.loc["tiny-linear", "origin"] == "shipped"
    assert table.loc["tiny-conv", "checkpoint"] == "missing" and pd.isna(table.loc["tiny-conv", "origin"])
    _copy(TINY_LINEAR.name, trained, ws)
    table = comparison_table(small_mnist, source, TINY, measure=False).set_index("model")
    assert table.loc["tiny-linear", "origin"].startswith("retrained 20")


def _perturbed_copy(name: str, target: Path) -> str:
    """``name``'s shipped model with slightly different weights, saved into ``target``: a retrain, as the rest of
    the code sees it. Returns its weights hash."""
    model, meta = checkpoints.load(name, SHIPPED)
    for p in model.parameters():
        p.data.add_(1e-4)
    spec = REGISTRY[name]
    keep = {k: v for k, v in meta.items() if k not in ("format", "version", "spec", "recipe", "seed", "created")}
    return checkpoints.save(model, keep, spec, target)["weights_sha256"]


def test_rd_points_of_a_retrained_model_go_to_the_workspace_and_shipped_ones_stay(mnist, workspace_home, monkeypatch):
    ws = workspace_home / "checkpoints"
    sha = _perturbed_copy("linear-32", ws)
    shipped_rd = hashes(SHIPPED)[rd.STORED]
    measured = []
    fake = rd.load_stored(SHIPPED)["models"]["linear-32"]["rows"]
    monkeypatch.setattr(rd, "model_rows", lambda spec, *a: measured.append(spec.name) or fake)
    monkeypatch.setattr(rd, "baseline_rows", lambda *a, **k: pytest.fail("baselines measured again"))
    rd.rd_table(mnist)
    assert measured == ["linear-32"]  # every other point is read from the shipped rd.json
    assert rd.load_stored(ws)["models"]["linear-32"]["key"]["weights_sha256"] == sha
    assert hashes(SHIPPED)[rd.STORED] == shipped_rd
    rd.rd_table(mnist)  # read back from the workspace, not measured again
    assert measured == ["linear-32"]
    checkpoints.reset_to_shipped("linear-32")
    rd.rd_table(mnist)  # the shipped model's points are still in the shipped rd.json
    assert measured == ["linear-32"]


def test_reproducibility_checks_are_kept_in_the_workspace_and_match_the_served_weights(workspace_home):
    from ui import state

    shipped_sha = checkpoints.read_sidecar("linear-32", SHIPPED)["weights_sha256"]
    before = hashes(SHIPPED)
    result = {"reproduced": True, "weights_sha256": shipped_sha, "checked": "in this test"}
    reproduce.record("linear-32", result, checkpoints.folders().writable)  # where `python -m ae reproduce` records
    assert hashes(SHIPPED) == before
    assert reproduce.load_results(workspace_home / "checkpoints")["linear-32"] == result
    assert state.reproducibility("linear-32") == result
    _perturbed_copy("linear-32", workspace_home / "checkpoints")
    assert state.reproducibility("linear-32") is None  # that check was of the shipped weights, not the retrained ones


def test_the_rd_page_measures_a_retrained_model_on_a_core_and_keeps_its_points_in_the_workspace(
    workspace_home, monkeypatch, tmp_path
):
    from streamlit.testing.v1 import AppTest

    from ae.runtime.cores import CORES

    monkeypatch.setenv("AELAB_CACHE_DIR", str(tmp_path))
    ws = workspace_home / "checkpoints"
    sha = _perturbed_copy("linear-32", ws)
    before = hashes(SHIPPED)
    fake = rd.load_stored(SHIPPED)["models"]["linear-32"]["rows"]
    held = []

    def model_rows(name, *args):
        with CORES.hold(CORES.total, give_up=lambda: True) as all_free:
            held.append(not all_free)  # the page holds a core while it measures
        return fake

    monkeypatch.setattr(rd, "model_rows", model_rows)
    monkeypatch.setattr(rd, "baseline_rows", lambda *a, **k: pytest.fail("baselines measured again"))
    at = AppTest.from_file(str(ROOT / "pages/rd.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    assert held == [True]  # linear-32 alone was measured, on a core of the budget
    assert rd.load_stored(ws)["models"]["linear-32"]["key"]["weights_sha256"] == sha
    assert hashes(SHIPPED) == before


def test_the_app_retrains_into_the_workspace_and_its_table_follows_a_reset(tmp_path, trained, monkeypatch):
    from ui import state

    shipped = tmp_path / "shipped"
    _copy(TINY_LINEAR.name, trained, shipped)
    monkeypatch.setenv("AELAB_REGISTRY", "tests.tiny:REGISTRY")
    monkeypatch.setenv(state.CHECKPOINTS_ENV, str(shipped))
    before = hashes(shipped), hashes(SHIPPED)

    def origin() -> str:
        return state.table().set_index("model").loc["tiny-linear", "origin"]

    assert origin() == "shipped"
    tr = state.trainer()
    tr.start(["tiny-linear"])
    assert tr.wait(120), tr.snapshot()
    assert tr.snapshot()["tiny-linear"].state == "done", tr.snapshot()
    assert (hashes(shipped), hashes(SHIPPED)) == before
    ws = Path(state.checkpoint_dir())
    assert (ws / "tiny-linear.safetensors").exists()
    assert origin().startswith("retrained ")
    assert state.resolved("tiny-linear")[0] == str(ws) and state.model("tiny-linear")[0] is not None
    assert checkpoints.reset_to_shipped("tiny-linear", state.checkpoint_dir())
    assert origin() == "shipped"
    assert state.resolved("tiny-linear") == (str(shipped), "shipped") and state.model("tiny-linear")[0] is not None


class _Probed(Exception):
    """Raised by a probe in place of heavy work: the probe has seen what it came for."""


@pytest.mark.parametrize("work", ["denoise scores", "gallery ranking", "latent map"])
def test_heavy_page_work_holds_a_core_of_the_training_budget(workspace_home, monkeypatch, work):
    from ae.data import noise
    from ae.measure import explore
    from ae.runtime.cores import CORES
    from ui import state

    _perturbed_copy("linear-32", workspace_home / "checkpoints")  # a checkpoint no cache has seen
    held = []

    def probe(*args, **kwargs):
        with CORES.hold(CORES.total, give_up=lambda: True) as all_free:
            held.append(not all_free)
        raise _Probed

    target, call = {
        "denoise scores": (noise, lambda: state.denoise_scores(("linear-32",), "gaussian", 0.3)),
        "gallery ranking": (explore, lambda: state.error_ranking("linear-32")),
        "latent map": (explore, lambda: state.latent_map("linear-32")),
    }[work]
    attr = {"denoise scores": "corrupt", "gallery ranking": "rank_errors", "latent map": "codes"}[work]
    monkeypatch.setattr(target, attr, probe)
    with pytest.raises(_Probed):
        call()
    assert held == [True]
    with CORES.hold(CORES.total, give_up=lambda: True) as all_free:
        assert all_free  # and gave it back
