"""The gate under between-run noise: false alarms and power of `harness check` (issue 11.2).

Runs the simulation of benchmarks/bench_check_power.py (same seeds, same
repetitions, so the same figures) through `judge_configs`, the code
`compare_runs` runs per device, and checks the claims docs/ci.md makes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.compare.power import CheckRates, RunNoise, check_rates

REPS = 2000  # as benchmarks/bench_check_power.py
DOCS = Path(__file__).resolve().parents[2] / "docs" / "ci.md"
REALISTIC = RunNoise()


@pytest.fixture(scope="module")
def identical() -> CheckRates:
    return check_rates(reps=REPS, noise=REALISTIC, configs=6)


def test_identical_code_is_flagged_in_at_most_1_percent_of_checks(identical: CheckRates) -> None:
    assert identical.false_per_check <= 0.01, identical
    assert identical.false_per_config <= 0.01, identical


def test_the_noise_model_fools_the_trial_test_alone(identical: CheckRates) -> None:
    # Without the shared shift taken out, this much between-run noise is a false alarm in
    # a third of the checks: the model is not one the old test already passed.
    assert identical.raw_false_per_check >= 0.2, identical


def test_a_ten_percent_slowdown_of_one_configuration_is_flagged_in_90_percent() -> None:
    slow = check_rates(reps=REPS, noise=REALISTIC, configs=6, slowdown=0.10)
    assert slow.detected >= 0.90, slow
    assert slow.false_per_check <= 0.01, slow


def test_without_between_run_noise_the_gate_keeps_its_power() -> None:
    quiet = RunNoise(shift_sd=0.0, big_shift_p=0.0, share_sd=0.0, config_sd=0.0)
    slow = check_rates(reps=500, noise=quiet, configs=6, slowdown=0.10)
    assert slow.detected >= 0.95, slow


def test_a_jump_of_the_current_run_is_rarely_a_regression_of_a_configuration() -> None:
    jumped = check_rates(reps=REPS, noise=REALISTIC, current_noise=RunNoise(big_shift_p=1.0))
    assert jumped.false_per_config <= 0.01, jumped
    assert jumped.raw_false_per_check >= 0.3, jumped


def test_every_configuration_slower_mostly_reads_as_inconclusive() -> None:
    # What the check cannot tell apart from a device change: said out loud as inconclusive,
    # unchanged only when the device got about as much faster, and hardly ever a regression.
    every = check_rates(reps=500, noise=REALISTIC, configs=6, slowdown=0.10, slowed=6)
    assert every.inconclusive >= 0.8, every
    assert every.unchanged <= 0.1, every
    assert every.detected <= 0.01, every


def test_docs_quote_the_simulated_headline_figures(identical: CheckRates) -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Between-run noise", 1)[1].split("\n## ", 1)[0]
    m = re.search(
        r"^\| realistic, 6 \| ([\d.]+)% \| ([\d.]+)% \| ([\d.]+)% \| ([\d.]+)% \|$", section, re.M
    )
    assert m, "the 'realistic, 6' row is missing from docs/ci.md"
    slow = check_rates(reps=REPS, noise=REALISTIC, configs=6, slowdown=0.10)
    shown = [float(g) for g in m.groups()]
    measured = [
        identical.false_per_check,
        identical.false_per_config,
        identical.raw_false_per_check,
        slow.detected,
    ]
    assert shown == [round(x * 100, 1) for x in measured]
