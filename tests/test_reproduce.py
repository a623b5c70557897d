"""`python -m ae reproduce`: retraining from the recorded recipe gives the same weights and metrics."""

import json

from ae import checkpoints, reproduce
from ae.runs import train_and_save
from tests.tiny import REGISTRY as TINY
from tests.tiny import TINY_CONV


def test_check_reproduces_a_tiny_model_and_records_it(tmp_path, small_mnist, monkeypatch):
    monkeypatch.setattr(checkpoints, "REGISTRY", TINY)  # load() resolves the tiny model by name
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
        assert r["reproduced"] and r["shipped_test_mse"] == meta["metrics"]["test_mse"]
