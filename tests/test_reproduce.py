"""`python -m ae reproduce`: retraining from the recorded recipe gives the same weights and metrics."""

import json

from ae.cli.main import main
from ae.storage import catalogue, checkpoints
from ae.storage.catalogue import REGISTRY
from ae.training import reproduce
from ae.training.runs import train_and_save
from tests.test_classifier import TINY as TINY_CLASSIFIER
from tests.tiny import TINY_CONV


def test_check_reproduces_a_tiny_model_and_records_it(tmp_path, small_mnist, monkeypatch):
    monkeypatch.setenv("AELAB_REGISTRY", "tests.tiny:REGISTRY")  # load() resolves the tiny model by name
    train_and_save(TINY_CONV, small_mnist, directory=tmp_path)
    result = reproduce.check(TINY_CONV, small_mnist, tmp_path)
    assert result["reproduced"] and result["bit_identical"] and result["relative_difference"] == 0
    reproduce.record(TINY_CONV.name, result, tmp_path)
    assert reproduce.current(TINY_CONV.name, tmp_path) == result

    # a retrained checkpoint makes the recorded check obsolete: it is not shown for the new weights
    meta = json.loads(checkpoints.paths(TINY_CONV.name, tmp_path)[1].read_text())
    meta["weights_sha256"] = "0" * 64
    checkpoints.paths(TINY_CONV.name, tmp_path)[1].write_text(json.dumps(meta))
    assert reproduce.current(TINY_CONV.name, tmp_path) is None


def test_shipped_results_are_for_the_shipped_weights():
    results = reproduce.load_results()
    assert results, "run `python -m ae reproduce --model NAME` and commit checkpoints/reproducibility.json"
    for name, r in results.items():
        meta = checkpoints.read_sidecar(name)
        assert r["weights_sha256"] == meta["weights_sha256"], name
        metric = "test_accuracy" if name == catalogue.CLASSIFIER.name else "test_mse"
        assert r["reproduced"] and r[f"shipped_{metric}"] == meta["metrics"][metric]


def test_check_retrains_the_classifier_and_compares_it_bit_for_bit(tmp_path, small_mnist):
    train_and_save(TINY_CLASSIFIER, small_mnist, directory=tmp_path)
    result = reproduce.check(TINY_CLASSIFIER, small_mnist, tmp_path)
    assert result["bit_identical"] and result["reproduced"] and result["difference"] == 0
    assert (
        result["shipped_test_accuracy"] == checkpoints.read_sidecar("classifier", tmp_path)["metrics"]["test_accuracy"]
    )
    assert "test accuracy" in reproduce.describe("classifier", result)


def test_a_classifier_accuracy_off_by_more_than_the_tolerance_is_not_reproduced():
    within = reproduce.compare_metrics(catalogue.CLASSIFIER, {"test_accuracy": 0.9917}, {"test_accuracy": 0.9900})
    beyond = reproduce.compare_metrics(catalogue.CLASSIFIER, {"test_accuracy": 0.9917}, {"test_accuracy": 0.9890})
    assert within["reproduced"] and not beyond["reproduced"]


def _fake_check(checked: list):
    def check(spec, data, directory, *, seed=None, should_stop=None):
        checked.append(spec)
        same = {"reproduced": True, "bit_identical": True, "weights_sha256": "0" * 64, "seed": 0, "checkpoint_seed": 0}
        if spec.family == "classifier":
            return {"shipped_test_accuracy": 0.99, "retrained_test_accuracy": 0.99, "difference": 0.0, **same}
        return {"shipped_test_mse": 0.01, "retrained_test_mse": 0.01, "relative_difference": 0.0, **same}

    return check


def test_cli_reproduce_checks_the_classifier_by_name_and_with_all(tmp_path, monkeypatch, capsys):
    checked = []
    monkeypatch.setattr(reproduce, "check", _fake_check(checked))
    assert main(["reproduce", "--model", "classifier", "--checkpoints", str(tmp_path)]) == 0
    assert checked == [catalogue.CLASSIFIER] and "classifier: reproduced" in capsys.readouterr().out
    checked.clear()
    assert main(["reproduce", "--all", "--checkpoints", str(tmp_path)]) == 0
    assert sorted(s.name for s in checked) == sorted([*REGISTRY, "classifier"])
    assert set(reproduce.load_results(tmp_path)) == {*REGISTRY, "classifier"}
