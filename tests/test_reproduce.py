"""`python -m ae reproduce`: retraining from the recorded recipe gives the same weights and metrics."""

import json

from ae.cli.main import main
from ae.runtime import machine
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
    assert sorted(s.name for s in checked) == sorted([*REGISTRY, *catalogue.readers()])
    assert set(reproduce.load_results(tmp_path)) == {*REGISTRY, *catalogue.readers()}


AMD = {"cpu_vendor": "AuthenticAMD", "cpu_model": "AMD EPYC 9B14 96-Core Processor", "isa": "avx2 fma"}
INTEL = {"cpu_vendor": "GenuineIntel", "cpu_model": "Intel(R) Xeon(R) Processor", "isa": "avx2 fma avx512f"}


def another_cpu() -> dict:
    """A CPU that is not this one: an Intel Xeon when the tests run on an AMD, an AMD EPYC anywhere else."""
    return INTEL if machine.fingerprint(1)["cpu_vendor"] == AMD["cpu_vendor"] else AMD


def _as_if_trained_on(rounding: dict, directory, name: str) -> None:
    """Rewrite the checkpoint's recorded machine fingerprint, as if another machine had trained it."""
    path = checkpoints.paths(name, directory)[1]
    meta = json.loads(path.read_text())
    meta["rounding"] = meta["rounding"] | rounding
    path.write_text(json.dumps(meta))


def test_a_checkpoint_records_the_machine_fingerprint_of_its_training(tmp_path, small_mnist):
    saved = train_and_save(TINY_CONV, small_mnist, directory=tmp_path)
    assert saved["rounding"] == machine.fingerprint(TINY_CONV.recipe.threads)
    assert saved["rounding"]["cpu_vendor"] and saved["rounding"]["torch"] and saved["rounding"]["threads"] == 1


def test_a_checkpoint_from_another_cpu_is_held_to_quality_and_the_output_names_the_fields(
    tmp_path, small_mnist, monkeypatch
):
    monkeypatch.setenv("AELAB_REGISTRY", "tests.tiny:REGISTRY")
    train_and_save(TINY_CONV, small_mnist, directory=tmp_path)
    other, here = another_cpu(), machine.fingerprint(TINY_CONV.recipe.threads)
    _as_if_trained_on(other, tmp_path, TINY_CONV.name)
    result = reproduce.check(TINY_CONV, small_mnist, tmp_path)
    assert not result["same_machine"] and not result["bit_required"] and result["reproduced"]
    fields = {d.split(":")[0] for d in result["machine_differences"]}
    assert fields == {k for k in other if other[k] != here[k]} and {"cpu_vendor", "cpu_model"} <= fields
    said = reproduce.describe(TINY_CONV.name, result)
    assert "the machines differ" in said and other["cpu_vendor"] in said


def _judged(**fields) -> dict:
    base = {"reproduced": True, "bit_identical": True, "machine_differences": [], "seed": 0, "checkpoint_seed": 0}
    return reproduce.judge(base | fields)


def test_on_the_same_machine_different_weights_are_not_reproduced_even_at_equal_quality():
    assert _judged()["reproduced"] and _judged()["bit_required"]
    assert not _judged(bit_identical=False)["reproduced"]


def test_elsewhere_quality_decides_and_different_weights_are_fine():
    other = machine.differences(machine.fingerprint(1) | another_cpu(), machine.fingerprint(1))
    assert _judged(bit_identical=False, machine_differences=other)["reproduced"]
    assert not _judged(bit_identical=False, machine_differences=other, reproduced=False)["reproduced"]
    # another seed gives other weights on any machine: only quality is judged
    assert _judged(bit_identical=False, seed=4)["reproduced"]


def test_a_checkpoint_without_a_fingerprint_is_never_held_to_bit_identity():
    assert machine.differences(None, machine.fingerprint(1)) == ["the checkpoint records no machine fingerprint"]
    assert machine.differences(machine.fingerprint(2), machine.fingerprint(1)) == ["threads: 2 when trained, 1 here"]
