"""compare_runs on synthetic run folders and baseline files: verdicts, context, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.compare import compare_runs, load_source, save_baseline
from harness.compare.baseline import dumps_baseline
from harness.compare.check import threshold_for
from harness.errors import ContextMismatchError, HarnessError, ResultsError, SchemaVersionError
from tests.support.synthetic import MEDIAN_SHARE, MIN_SHARE, noisy_latencies, write_run

A, B, C = "mobilenet_v2_1.0_224", "mobilenet_v2_0.35_96", "mobilenet_v2_0.5_128"


@pytest.fixture()
def base(tmp_path: Path) -> Path:
    return write_run(tmp_path / "base", noisy_latencies([A, B, C], n=5, cv=0.01, seed=1))


def current(tmp_path: Path, scale: dict[str, float] | None = None, **kwargs: object) -> Path:
    lat = noisy_latencies([A, B, C], n=5, cv=0.01, seed=2, scale=scale)
    return write_run(tmp_path / "cur", lat, **kwargs)  # type: ignore[arg-type]


def verdicts(comparison: object) -> dict[str, str]:
    return {r.config.variant: r.verdict for r in comparison.rows}  # type: ignore[attr-defined]


def test_same_setup_is_unchanged_and_exits_0(tmp_path: Path, base: Path) -> None:
    comp = compare_runs(base, current(tmp_path))
    assert verdicts(comp) == {A: "unchanged", B: "unchanged", C: "unchanged"}
    assert comp.exit_code == 0
    assert comp.warnings == [] and comp.context_differences == []


def test_slowdown_is_a_regression_and_exits_1(tmp_path: Path, base: Path) -> None:
    comp = compare_runs(base, current(tmp_path, scale={A: 1.25, C: 0.8}))
    assert verdicts(comp) == {A: "regression", B: "unchanged", C: "improvement"}
    assert comp.exit_code == 1
    row = next(r for r in comp.rows if r.config.variant == A)
    assert row.ratio == pytest.approx(1.25, rel=0.03)
    assert row.ci_low is not None and row.ci_low > 1.0
    assert (row.n_baseline, row.n_current) == (5, 5)
    assert row.baseline_median_ms is not None and row.current_median_ms is not None
    assert row.current_median_ms / row.baseline_median_ms == pytest.approx(1.25, rel=0.03)
    assert row.key == f"{A}|fp32|t1|big|xnnpack=default"
    assert comp.counts() == {
        "regression": 1,
        "improvement": 1,
        "unchanged": 1,
        "inconclusive": 0,
        "failed": 0,
        "missing": 0,
        "new": 0,
    }


def test_baseline_file_gives_the_same_verdicts_as_the_run(tmp_path: Path, base: Path) -> None:
    cur = current(tmp_path, scale={A: 1.25})
    path, warnings = save_baseline(base, tmp_path / "b" / "baseline.json")
    assert warnings == []
    from_file, from_run = compare_runs(path, cur), compare_runs(base, cur)
    assert [r.to_dict() for r in from_file.rows] == [r.to_dict() for r in from_run.rows]


def test_baseline_file_is_one_line_per_config_and_round_trips(tmp_path: Path, base: Path) -> None:
    path, _ = save_baseline(base, tmp_path / "baseline.json")
    text = path.read_text()
    doc = json.loads(text)
    assert doc["schema_version"] == 1 and doc["kind"] == "harness-baseline"
    assert set(doc["contexts"]["Pixel"]) >= {
        "model",
        "platform",
        "abi",
        "binary_kind",
        "binary_sha256",
        "fingerprint",
        "throttled_trials",
    }
    config_lines = [line for line in text.splitlines() if '"latency_ms"' in line]
    assert len(config_lines) == 3 == len(doc["configs"])
    # Re-saving a baseline is byte-identical: diffs show only real changes.
    again, _ = save_baseline(path, tmp_path / "again.json")
    assert again.read_text() == text
    assert dumps_baseline(json.loads(text)) == text
    src = load_source(path)
    assert src.kind == "baseline"
    assert len(src.configs["Pixel"]) == 3


def test_missing_and_new_configurations(tmp_path: Path, base: Path) -> None:
    lat = noisy_latencies([A, B, "mobilenet_v2_1.4_224"], n=5, cv=0.01, seed=3)
    cur = write_run(tmp_path / "cur", lat)
    comp = compare_runs(base, cur)
    v = verdicts(comp)
    assert v[C] == "missing" and v["mobilenet_v2_1.4_224"] == "new"
    missing = next(r for r in comp.rows if r.config.variant == C)
    assert missing.n_current == 0 and missing.current_median_ms is None
    # A configuration of the baseline that the current run lacks fails the gate...
    assert comp.exit_code == 1
    # ...unless the run is a deliberate subset.
    allowed = compare_runs(base, cur, allow_missing=True)
    assert verdicts(allowed)[C] == "missing" and allowed.exit_code == 0
    assert allowed.to_dict()["allow_missing"] is True


def test_a_device_absent_from_the_current_run_is_missing_and_fails(tmp_path: Path) -> None:
    b = write_run(tmp_path / "b", noisy_latencies([A], n=5, cv=0.01, seed=1))
    c = write_run(
        tmp_path / "c",
        noisy_latencies([A], n=5, cv=0.01, seed=2),
        device={"model": "Pixel 2", "serial": "OTHER"},
    )
    both = write_run(tmp_path / "both", noisy_latencies([A], n=5, cv=0.01, seed=3))
    # Two devices in the baseline: one of them is absent from the current run.
    two = tmp_path / "two.json"
    doc = json.loads(save_baseline(b, tmp_path / "one.json")[0].read_text())
    other = json.loads(save_baseline(c, tmp_path / "other.json")[0].read_text())
    doc["contexts"].update(other["contexts"])
    doc["configs"] += other["configs"]
    two.write_text(dumps_baseline(doc))
    comp = compare_runs(two, both)
    assert {(r.device_model, r.verdict) for r in comp.rows} == {
        ("Pixel", "unchanged"),
        ("Pixel 2", "missing"),
    }
    assert comp.exit_code == 1
    assert compare_runs(two, both, allow_missing=True).exit_code == 0


def test_all_trials_failed_is_failed_and_fails_the_gate(tmp_path: Path, base: Path) -> None:
    lat = noisy_latencies([A, B], n=5, cv=0.01, seed=3)
    lat[C] = []
    cur = write_run(tmp_path / "cur", lat, failed={C: 5})
    comp = compare_runs(base, cur)
    row = next(r for r in comp.rows if r.config.variant == C)
    assert row.verdict == "failed"
    assert row.n_failed == 5 and row.n_current == 0
    assert "all 5 current trial(s) failed" in row.reason
    assert comp.exit_code == 1
    assert comp.counts()["failed"] == 1
    # --allow-missing is for a deliberate subset; a configuration that broke still fails.
    assert compare_runs(base, cur, allow_missing=True).exit_code == 1


def test_some_failed_trials_are_counted(tmp_path: Path, base: Path) -> None:
    lat = noisy_latencies([A, B, C], n=5, cv=0.01, seed=3)
    lat[A] = lat[A][:3]
    comp = compare_runs(base, write_run(tmp_path / "cur", lat, failed={A: 2}))
    row = next(r for r in comp.rows if r.config.variant == A)
    assert row.n_current == 3 and row.n_failed == 2
    assert "2 of 5 current trials failed" in row.reason
    assert row.to_dict()["n_failed"] == 2
    assert comp.exit_code == 0


def test_one_trial_is_inconclusive(tmp_path: Path) -> None:
    b = write_run(tmp_path / "b", {A: [20.0]})
    c = write_run(tmp_path / "c", {A: [30.0, 30.1, 29.9]})
    (row,) = compare_runs(b, c).rows
    assert row.verdict == "inconclusive"
    assert "too few" in row.reason


@pytest.mark.parametrize(
    ("device", "binary", "named"),
    [
        ({"model": "Pixel 2"}, None, "device model: baseline 'Pixel' vs current 'Pixel 2'"),
        ({"platform": "msm8998"}, None, "SoC: baseline 'msm8996' vs current 'msm8998'"),
        ({"abi": "armeabi-v7a"}, None, "ABI"),
        (None, {"sha256": "cd" * 32}, "benchmark binary sha256"),
        (None, {"kind": "official"}, "benchmark binary kind"),
    ],
)
def test_context_mismatch_refuses_and_names_the_difference(
    tmp_path: Path,
    base: Path,
    device: dict[str, str] | None,
    binary: dict[str, str] | None,
    named: str,
) -> None:
    cur = current(tmp_path, device=device, binary=binary)
    with pytest.raises(ContextMismatchError) as info:
        compare_runs(base, cur)
    assert info.value.exit_code == 2
    assert any(named in d for d in info.value.differences), info.value.differences
    assert named in str(info.value)
    # Allowed: compared anyway, and the difference is a warning in the result.
    comp = compare_runs(base, cur, allow_context_change=True)
    assert comp.context_differences and any(named in w for w in comp.warnings)
    assert {r.verdict for r in comp.rows} == {"unchanged"}


def test_model_change_pairs_the_lone_devices(tmp_path: Path, base: Path) -> None:
    cur = current(tmp_path, device={"model": "Pixel 2"})
    comp = compare_runs(base, cur, allow_context_change=True)
    assert {r.device_model for r in comp.rows} == {"Pixel 2"}
    assert {r.verdict for r in comp.rows} == {"unchanged"}


def test_android_build_change_and_thermal_trouble_are_warnings(tmp_path: Path, base: Path) -> None:
    cur = current(
        tmp_path,
        device={"fingerprint": "google/sailfish/sailfish:11/RP1A/1:user"},
        trial_overrides={"throttled": True, "cooled": False, "temp_after_c": 51.5},
    )
    comp = compare_runs(base, cur)
    text = "\n".join(comp.warnings)
    assert "Android build changed" in text and "sailfish:11" in text
    assert "thermal trouble in the current run: 15 throttled trial(s)" in text
    assert "51.5 °C" in text
    assert comp.context_differences == []
    assert comp.to_dict()["warnings"] == comp.warnings


def test_thermal_trouble_in_the_baseline_is_a_warning_too(tmp_path: Path) -> None:
    b = write_run(
        tmp_path / "b",
        noisy_latencies([A], n=5, cv=0.01, seed=1),
        trial_overrides={"cooled": False},
    )
    c = write_run(tmp_path / "c", noisy_latencies([A], n=5, cv=0.01, seed=2))
    comp = compare_runs(b, c)
    assert any("thermal trouble in the baseline" in w and "cooled down" in w for w in comp.warnings)


def test_interrupted_run_is_a_warning(tmp_path: Path, base: Path) -> None:
    comp = compare_runs(base, current(tmp_path, status="interrupted"))
    assert any("interrupted" in w for w in comp.warnings)


def test_per_variant_thresholds(tmp_path: Path) -> None:
    # Five configurations, two of them 8% slower: most of the run did not move, so the
    # run's shared shift is ~0 and each configuration is judged on its own change.
    d, e = "mobilenet_v2_0.75_160", "mobilenet_v2_1.4_224"
    names = [A, B, C, d, e]
    base = write_run(tmp_path / "b", noisy_latencies(names, n=5, cv=0.01, seed=1))
    cur = write_run(
        tmp_path / "c", noisy_latencies(names, n=5, cv=0.01, seed=2, scale={A: 1.08, B: 1.08})
    )
    assert verdicts(compare_runs(base, cur))[A] == "regression"
    comp = compare_runs(base, cur, thresholds={"mobilenet_v2_1.0_*": 0.15})
    assert verdicts(comp) == {
        A: "unchanged",
        B: "regression",
        C: "unchanged",
        d: "unchanged",
        e: "unchanged",
    }
    assert next(r for r in comp.rows if r.config.variant == A).threshold == 0.15


def test_most_of_the_run_moving_alike_is_inconclusive(tmp_path: Path, base: Path) -> None:
    # Two of three configurations 8% slower: as the median, that is the run's shift, which a
    # device change makes just as well (docs/ci.md "Between-run noise").
    comp = compare_runs(base, current(tmp_path, scale={A: 1.08, B: 1.08}))
    assert verdicts(comp) == {A: "inconclusive", B: "inconclusive", C: "unchanged"}
    row = next(r for r in comp.rows if r.config.variant == A)
    assert "cannot tell these apart" in row.reason
    assert row.shift == pytest.approx(1.08, rel=0.02)
    assert row.own_ratio == pytest.approx(1.0, abs=0.02)
    assert any("the whole run moved by about +7" in w for w in comp.warnings), comp.warnings
    assert comp.exit_code == 0


def test_threshold_resolution_order() -> None:
    t = {"mobilenet_v2_*": 0.1, "mobilenet_v2_1.0_*": 0.2, A: 0.3}
    assert threshold_for(A, 0.05, t) == 0.3
    assert threshold_for("mobilenet_v2_1.0_192", 0.05, t) == 0.2
    assert threshold_for(B, 0.05, t) == 0.1
    assert threshold_for("mobilenet_v1_1.0_224", 0.05, t) == 0.05
    assert threshold_for(A, 0.05, None) == 0.05


def test_to_dict_is_json_ready(tmp_path: Path, base: Path) -> None:
    comp = compare_runs(base, current(tmp_path, scale={A: 1.3}))
    doc = json.loads(json.dumps(comp.to_dict(), allow_nan=False))
    assert doc["exit_code"] == 1 and doc["schema_version"] == 1
    assert doc["baseline"]["contexts"]["Pixel"]["platform"] == "msm8996"
    assert {r["verdict"] for r in doc["rows"]} == {"regression", "unchanged"}
    assert set(doc["rows"][0]) >= {
        "variant",
        "quant",
        "threads",
        "cores",
        "xnnpack",
        "device_model",
        "verdict",
        "baseline_median_ms",
        "current_median_ms",
        "ratio",
        "ci_low",
        "ci_high",
        "p_value",
        "n_baseline",
        "n_current",
        "threshold",
        "reason",
    }


def test_bad_inputs_are_results_errors(tmp_path: Path, base: Path) -> None:
    with pytest.raises(ResultsError, match="no such run folder or baseline file"):
        compare_runs(tmp_path / "nope", base)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ResultsError, match=r"no meta\.json"):
        compare_runs(tmp_path / "empty", base)
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    with pytest.raises(ResultsError, match="not a harness baseline"):
        compare_runs(other, base)
    broken = tmp_path / "broken.json"
    broken.write_text('{"kind": "harness-baseline", ')
    with pytest.raises(ResultsError, match="unreadable JSON"):
        compare_runs(broken, base)
    future = tmp_path / "future.json"
    future.write_text(
        json.dumps(
            {"kind": "harness-baseline", "schema_version": 99, "contexts": {}, "configs": []}
        )
    )
    with pytest.raises(SchemaVersionError):
        compare_runs(future, base)
    bad_values = tmp_path / "bad.json"
    bad_values.write_text(
        json.dumps(
            {
                "kind": "harness-baseline",
                "schema_version": 1,
                "contexts": {},
                "configs": [
                    {
                        "device_model": "Pixel",
                        "variant": A,
                        "quant": "fp32",
                        "threads": 1,
                        "cores": "big",
                        "xnnpack": "default",
                        "latency_ms": [20.0, -1],
                    }
                ],
            }
        )
    )
    with pytest.raises(ResultsError, match=r"configs\[0\] is malformed"):
        compare_runs(bad_values, base)


def test_run_with_a_future_schema_is_refused(tmp_path: Path, base: Path) -> None:
    meta = json.loads((base / "meta.json").read_text())
    meta["schema_version"] = 99
    (base / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(SchemaVersionError):
        compare_runs(base, base)


def test_bad_threshold_values(tmp_path: Path, base: Path) -> None:
    with pytest.raises(HarnessError):
        compare_runs(base, base, threshold=0)
    with pytest.raises(HarnessError):
        compare_runs(base, base, thresholds={A: 2.0})


def test_baseline_from_a_run_without_ok_trials_is_refused(tmp_path: Path) -> None:
    run = write_run(tmp_path / "r", {A: []}, failed={A: 3})
    with pytest.raises(ResultsError, match="no ok trials"):
        save_baseline(run, tmp_path / "b.json")
    assert not (tmp_path / "b.json").exists()


def test_baseline_save_warns_about_interrupted_runs_and_thin_configs(tmp_path: Path) -> None:
    run = write_run(tmp_path / "r", {A: [20.0, 20.1], B: [5.0]}, status="interrupted")
    _, warnings = save_baseline(run, tmp_path / "b.json")
    assert any("interrupted" in w for w in warnings)
    assert any(B in w and "only 1 ok trial" in w for w in warnings)


def test_metric_median_and_min_use_those_figures(tmp_path: Path, base: Path) -> None:
    cur = current(tmp_path, scale={A: 1.25})
    mean = compare_runs(base, cur)
    for metric, share in (("median", MEDIAN_SHARE), ("min", MIN_SHARE)):
        comp = compare_runs(base, cur, metric=metric)
        assert comp.metric == metric and comp.to_dict()["metric"] == metric
        assert verdicts(comp) == verdicts(mean)
        for r, m in zip(comp.rows, mean.rows, strict=True):
            assert r.baseline_median_ms == pytest.approx(m.baseline_median_ms * share)
    # The baseline file keeps all three, so a check may pick any of them later.
    path, _ = save_baseline(base, tmp_path / "b.json")
    from_file = compare_runs(path, cur, metric="min")
    assert [r.to_dict() for r in from_file.rows] == [
        r.to_dict() for r in compare_runs(base, cur, metric="min").rows
    ]


def test_metric_figures_absent_from_an_old_baseline_are_warned(tmp_path: Path, base: Path) -> None:
    path, _ = save_baseline(base, tmp_path / "b.json")
    doc = json.loads(path.read_text())
    for c in doc["configs"]:
        del c["median_ms"]
    path.write_text(json.dumps(doc))
    comp = compare_runs(path, current(tmp_path), metric="median")
    assert any("lacks per-trial median figures for 3" in w for w in comp.warnings)
    assert {r.verdict for r in comp.rows} == {"inconclusive"}
    assert all("baseline 0, current 5" in r.reason for r in comp.rows)
    assert {r.verdict for r in compare_runs(path, current(tmp_path)).rows} == {"unchanged"}


def test_unknown_metric(base: Path) -> None:
    with pytest.raises(HarnessError, match="metric must be one of mean, median, min"):
        compare_runs(base, base, metric="p95")


def test_synthetic_latencies_are_never_compared_with_measured_ones(tmp_path: Path) -> None:
    # The simulated device's deterministic mode says so in the binary's first line.
    drawn = {
        "version_line": "INFO: harness benchmark_model stand-in 1.0 (LiteRT 1.2.0); not "
        "the official TFLite tool; SYNTHETIC latencies (seeded: seed=7 cv=0.02); times "
        "are drawn, not measured"
    }
    b = write_run(tmp_path / "b", noisy_latencies([A, B, C], n=5, cv=0.01, seed=1))
    c = write_run(tmp_path / "c", noisy_latencies([A, B, C], n=5, cv=0.01, seed=2), binary=drawn)
    with pytest.raises(
        ContextMismatchError, match="latencies: baseline 'measured' vs current 'synthetic'"
    ):
        compare_runs(b, c)
    # Two synthetic runs compare; the baseline file keeps the label.
    c2 = write_run(tmp_path / "c2", noisy_latencies([A, B, C], n=5, cv=0.01, seed=3), binary=drawn)
    path, _ = save_baseline(c, tmp_path / "syn.json")
    assert json.loads(path.read_text())["contexts"]["Pixel"]["latencies"] == "synthetic"
    assert compare_runs(path, c2).context_differences == []


FIVE = [A, B, C, "mobilenet_v2_0.75_160", "mobilenet_v2_1.4_224"]


def test_a_device_change_shared_by_the_run_is_not_a_regression(tmp_path: Path) -> None:
    b = write_run(tmp_path / "b", noisy_latencies(FIVE, n=5, cv=0.01, seed=1))
    # Every configuration 30% slower, as a hotter phone or a busier host makes them.
    c = write_run(
        tmp_path / "c", noisy_latencies(FIVE, n=5, cv=0.01, seed=2, scale=dict.fromkeys(FIVE, 1.3))
    )
    comp = compare_runs(b, c)
    assert set(verdicts(comp).values()) == {"inconclusive"}
    assert comp.exit_code == 0
    for row in comp.rows:
        assert row.ratio is not None and row.ratio > 1.25  # what was measured, still shown
        assert row.shift == pytest.approx(1.3, rel=0.02)
        assert row.own_ratio == pytest.approx(1.0, abs=0.02)
        assert "the device or its state changed" in row.reason
    assert any("the whole run moved by about +" in w and "median of 5" in w for w in comp.warnings)
    doc = comp.to_dict()
    assert {"shift", "own_ratio", "own_ci_low", "own_ci_high", "n_failed"} <= set(doc["rows"][0])


def test_a_slowdown_hidden_by_a_faster_device_is_still_flagged(tmp_path: Path) -> None:
    b = write_run(tmp_path / "b", noisy_latencies(FIVE, n=5, cv=0.01, seed=1))
    scale = dict.fromkeys(FIVE, 0.8)
    scale[A] = 0.8 * 1.2  # 20% slower than the rest of a run that got 20% faster
    comp = compare_runs(
        b, write_run(tmp_path / "c", noisy_latencies(FIVE, n=5, cv=0.01, seed=2, scale=scale))
    )
    row = next(r for r in comp.rows if r.config.variant == A)
    assert row.ratio is not None and row.ratio < 1.0  # measured faster...
    assert row.verdict == "regression"  # ...but slower than everything else moved
    assert row.own_ratio == pytest.approx(1.2, rel=0.03)
    assert "than the rest of the run" in row.reason
    assert comp.exit_code == 1


def test_with_two_configurations_no_shift_is_taken_out_and_the_output_says_so(
    tmp_path: Path,
) -> None:
    b = write_run(tmp_path / "b", noisy_latencies([A, B], n=5, cv=0.01, seed=1))
    c = write_run(
        tmp_path / "c", noisy_latencies([A, B], n=5, cv=0.01, seed=2, scale={A: 1.3, B: 1.3})
    )
    comp = compare_runs(b, c)
    assert set(verdicts(comp).values()) == {"regression"}
    assert all(r.shift is None and r.own_ratio is None for r in comp.rows)
    assert any(
        "only 2 configuration(s)" in w and "between-run noise is not accounted for" in w
        for w in comp.warnings
    ), comp.warnings
    quiet = compare_runs(
        b, write_run(tmp_path / "q", noisy_latencies([A, B], n=5, cv=0.01, seed=3))
    )
    assert not any("only 2" in w for w in quiet.warnings)
