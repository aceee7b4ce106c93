"""The verdict rules of harness.compare.stats on small hand-made trial sets."""

from __future__ import annotations

import math

import pytest

from harness.compare.stats import StatsInputError, compare_samples, cv, median
from harness.errors import HarnessError

BASE = [20.0, 20.2, 19.8, 20.1, 19.9]


def scaled(values: list[float], factor: float) -> list[float]:
    return [v * factor for v in values]


def test_clear_slowdown_is_a_regression_with_bounds_above_one() -> None:
    res = compare_samples(BASE, scaled(BASE, 1.20))
    assert res.verdict == "regression"
    assert res.ratio == pytest.approx(1.20)
    assert res.ci_low is not None and res.ci_high is not None
    assert 1.0 < res.ci_low < 1.20 < res.ci_high
    assert res.p_value is not None and res.p_value < 0.01
    assert "slower by +20.0%" in res.reason


def test_clear_speedup_is_an_improvement() -> None:
    res = compare_samples(BASE, scaled(BASE, 0.8))
    assert res.verdict == "improvement"
    assert res.ci_high is not None and res.ci_high < 1.0
    assert "faster by -20.0%" in res.reason


def test_identical_quiet_samples_are_unchanged() -> None:
    res = compare_samples(BASE, list(reversed(BASE)))
    assert res.verdict == "unchanged"
    assert res.ratio == pytest.approx(1.0)
    assert res.p_value == pytest.approx(0.5)


def test_significant_but_below_threshold_is_not_a_regression() -> None:
    # +3% with ~0.5% noise: certainly slower, but under the 5% threshold.
    res = compare_samples(BASE, scaled(BASE, 1.03))
    assert res.verdict == "unchanged"
    assert res.ci_low is not None and res.ci_low > 1.0
    assert res.ci_high is not None and res.ci_high <= 1.05


def test_over_threshold_but_noisy_is_inconclusive_not_regression() -> None:
    noisy_base = [18.0, 22.0, 20.0, 17.5, 22.5]
    noisy_cur = [19.5, 23.5, 21.0, 18.5, 24.5]  # ~ +6%, CV ~10%
    res = compare_samples(noisy_base, noisy_cur)
    assert res.ratio is not None and res.ratio > 1.05
    assert res.verdict == "inconclusive"
    assert "not significant" in res.reason


def test_threshold_decides_between_regression_and_unchanged() -> None:
    cur = scaled(BASE, 1.08)
    assert compare_samples(BASE, cur, threshold=0.05).verdict == "regression"
    assert compare_samples(BASE, cur, threshold=0.15).verdict == "unchanged"


def test_lower_confidence_gives_narrower_bounds() -> None:
    cur = [20.5, 21.4, 20.1, 21.0, 20.7]
    wide = compare_samples(BASE, cur, confidence=0.99)
    narrow = compare_samples(BASE, cur, confidence=0.9)
    assert wide.ci_low is not None and narrow.ci_low is not None
    assert wide.ci_high is not None and narrow.ci_high is not None
    assert wide.ci_low < narrow.ci_low < narrow.ci_high < wide.ci_high


def test_bounds_match_a_hand_computed_pooled_t_interval() -> None:
    # Reference computed independently: scipy's pooled t-test on the logs.
    from scipy import stats as sps

    cur = [21.0, 21.6, 20.9, 21.3, 21.8]
    lb, lc = [math.log(v) for v in BASE], [math.log(v) for v in cur]
    t_ref = sps.ttest_ind(lc, lb, equal_var=True, alternative="greater")
    res = compare_samples(BASE, cur)
    assert res.p_value == pytest.approx(t_ref.pvalue, rel=1e-9)
    ci = sps.ttest_ind(lc, lb, equal_var=True).confidence_interval(0.98)
    assert res.ci_low == pytest.approx(math.exp(ci.low), rel=1e-9)
    assert res.ci_high == pytest.approx(math.exp(ci.high), rel=1e-9)


def test_too_few_trials_is_inconclusive_with_the_counts() -> None:
    res = compare_samples([20.0], [30.0, 31.0])
    assert res.verdict == "inconclusive"
    assert (res.n_baseline, res.n_current) == (1, 2)
    assert res.ci_low is None and res.p_value is None
    assert "baseline 1, current 2" in res.reason


def test_zero_noise_on_both_sides() -> None:
    same = compare_samples([20.0] * 3, [20.0] * 3)
    assert same.verdict == "unchanged" and same.p_value == 1.0
    slower = compare_samples([20.0] * 3, [25.0] * 3)
    assert slower.verdict == "regression" and slower.ci_low == pytest.approx(1.25)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_latency_values_raise_a_harness_error(bad: float) -> None:
    with pytest.raises(StatsInputError, match="not a positive finite number"):
        compare_samples([20.0, bad], BASE)


@pytest.mark.parametrize(
    "kwargs", [{"threshold": 0.0}, {"threshold": 1.5}, {"confidence": 1.0}, {"confidence": 0.2}]
)
def test_bad_threshold_or_confidence(kwargs: dict[str, float]) -> None:
    with pytest.raises(HarnessError):
        compare_samples(BASE, BASE, **kwargs)


def test_verdict_is_symmetric_in_log_space() -> None:
    up = compare_samples(BASE, scaled(BASE, 1.1))
    down = compare_samples(scaled(BASE, 1.1), BASE)
    assert up.verdict == "regression" and down.verdict == "improvement"
    assert up.ratio is not None and down.ratio is not None
    assert up.ratio * down.ratio == pytest.approx(1.0)
    assert up.p_value == pytest.approx(down.p_value)


def test_cv_and_median() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 2.0, 3.0]) == 2.5
    assert median([]) is None
    assert cv([1.0]) is None
    assert cv([10.0, 10.0]) == 0.0
    assert cv([9.0, 11.0]) == pytest.approx(math.sqrt(2) / 10)
