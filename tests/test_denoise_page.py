"""The Denoise page at the edge of its slider: no noise at all."""

from tests.test_app import _captions, _run


def test_zero_noise_reads_as_identical_not_infinite():
    at = _run("pages/denoise.py")
    at.slider(key="noise_sigma").set_value(0.0).run()
    assert not at.exception, at.exception
    assert "noisy · identical to the clean digit" in _captions(at)
    assert not any("inf" in c for c in _captions(at))
    rows = at.dataframe[0].value.set_index("model")
    assert rows.loc["(noisy input)", "SSIM"] == 1.0  # measured, not missing
    assert rows["SSIM"].notna().all()
