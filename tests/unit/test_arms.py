"""A/B arms: parsing `[LABEL=]PATH`, the model folders, the ABBA plan, the paired verdicts."""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from harness.bench.arm_plan import build_arm_plan, plan_for
from harness.bench.arms import check_arms, model_path
from harness.bench.plan import build_plan, configurations
from harness.cli import main
from harness.cli.arm_options import parse_arms
from harness.compare.ab import ArmTrial, judge_pairs, paired_effect, pick_arms
from harness.errors import PlanError
from harness.vocab import Config

VARIANTS = ["mobilenet_v2_0.35_96", "mobilenet_v2_0.35_128", "mobilenet_v2_0.5_96"]
CONFIGS = configurations(VARIANTS, ["fp32"], ["default"], [1], ["big"])


def test_labels_make_arms_and_unlabelled_values_apply_to_every_arm() -> None:
    default, arms = parse_arms(["old=/b/old", "/b/default"], ["new=/m/new", "/m/conv"])
    assert default == "/b/default"
    assert arms == [
        {"label": "old", "binary": "/b/old", "models": "/m/conv"},
        {"label": "new", "binary": "/b/default", "models": "/m/new"},
    ]


def test_no_label_is_a_plain_run() -> None:
    assert parse_arms(["/b/bm"], []) == ("/b/bm", [])
    assert parse_arms([], []) == (None, [])
    # A `=` in a path with a folder before it is part of the path.
    assert parse_arms(["./x=y/bm"], []) == ("./x=y/bm", [])


@pytest.mark.parametrize(
    ("binaries", "models", "words"),
    [
        (["a=/x", "a=/y"], [], "same label 'a'"),
        ([], ["A=/x", "a=/y"], "only case differs"),
        (["A=/x"], ["a=/y"], "differ only in case"),
        (["my arm=/x"], [], "cannot go into a file name"),
        (["a:b=/x"], [], "cannot go into a file name"),
        (["/x", "/y"], [], "twice without a label"),
        ([], ["/m"], "needs labelled arms"),
        (["a="], [], "names no path"),
    ],
)
def test_bad_arms_are_plan_errors(binaries: list[str], models: list[str], words: str) -> None:
    with pytest.raises(PlanError, match=words):
        parse_arms(binaries, models)


def test_model_folder_names_by_variant_and_quant(tmp_path: Path) -> None:
    (tmp_path / f"{VARIANTS[0]}.tflite").write_bytes(b"x")
    (tmp_path / f"{VARIANTS[1]}-int8.tflite").write_bytes(b"x")
    assert model_path(tmp_path, VARIANTS[0], "fp32") == tmp_path / f"{VARIANTS[0]}.tflite"
    assert model_path(tmp_path, VARIANTS[0], "int8") is None  # a plain name is fp32 only
    assert model_path(tmp_path, VARIANTS[1], "int8") == tmp_path / f"{VARIANTS[1]}-int8.tflite"
    arm = {"label": "new", "binary": None, "models": str(tmp_path)}
    check_arms([arm], [VARIANTS[0]], ["fp32"])  # type: ignore[list-item]
    with pytest.raises(PlanError, match=r"arm new: .* lacks mobilenet_v2_0.35_128-fp32.tflite"):
        check_arms([arm], VARIANTS[:2], ["fp32"])  # type: ignore[list-item]
    with pytest.raises(PlanError, match="not a folder"):
        check_arms([{**arm, "models": str(tmp_path / "nope")}], VARIANTS, ["fp32"])  # type: ignore[list-item]


@pytest.mark.parametrize("trials", [1, 2, 3, 5, 6])
def test_arm_plan_pairs_every_trial_with_a_neighbour_of_the_other_arm(trials: int) -> None:
    plan = build_arm_plan(["D1", "D2"], CONFIGS, ["A", "B"], trials=trials, seed=3)
    assert len({t.trial_id for t in plan.trials}) == len(plan.trials) == 2 * 3 * 2 * trials
    counts = Counter((t.serial, t.config, t.arm) for t in plan.trials)
    assert set(counts.values()) == {trials}  # --trials N means N per arm
    for device in ("D1", "D2"):
        seq = plan.for_device(device)
        assert [t.order_index for t in seq] == list(range(len(seq)))
        for i, t in enumerate(seq):
            near = [seq[j] for j in (i - 1, i + 1) if 0 <= j < len(seq)]
            # Trial i of one arm sits next to trial i of the other, same configuration.
            assert any(
                n.config == t.config and n.arm != t.arm and n.trial_index == t.trial_index
                for n in near
            ), (i, seq)


def test_arm_plan_alternates_abba_and_baab_and_shuffles_configurations() -> None:
    plan = build_arm_plan(["D"], CONFIGS, ["A", "B"], trials=6, seed=11)
    blocks: dict[str, list[str]] = {}
    seq = plan.for_device("D")
    for start in range(0, len(seq), 4):
        block = seq[start : start + 4]
        assert len({t.config for t in block}) == 1  # a block is contiguous
        blocks.setdefault(block[0].config.key, []).append("".join(str(t.arm) for t in block))
    for pattern in blocks.values():
        assert set(pattern) <= {"ABBA", "BAAB"}
        assert all(a != b for a, b in itertools.pairwise(pattern))  # alternating
    orders = {tuple(t.config.key for t in seq[r * 12 : (r + 1) * 12 : 4]) for r in range(3)}
    assert len(orders) > 1  # rounds are shuffled, not one fixed order
    assert plan == build_arm_plan(["D"], CONFIGS, ["A", "B"], trials=6, seed=11)


def test_without_arms_the_plan_is_exactly_todays() -> None:
    assert plan_for(["D"], CONFIGS, [], trials=4, seed=9) == build_plan(
        ["D"], CONFIGS, trials=4, seed=9
    )
    ids = {t.trial_id for t in plan_for(["D"], CONFIGS, [], trials=1, seed=9).trials}
    assert f"D|{CONFIGS[0].key}|0" in ids


def _rows(values: list[float | None]) -> list[ArmTrial]:
    return [
        ArmTrial(trial_index=i, status="ok" if v else "failed", latency_ms=v)
        for i, v in enumerate(values)
    ]


CID = Config("mobilenet_v2_0.35_96", "fp32", 1, "big", "default", "cpu")


def _judge(a: list[float | None], b: list[float | None]) -> Any:
    return judge_pairs(
        CID,
        "Pixel",
        _rows(a),
        _rows(b),
        threshold=0.05,
        confidence=0.99,
        metric="mean",
        labels=("A", "B"),
    )


def test_pairs_cancel_a_drift_the_two_sample_test_would_call_a_change() -> None:
    drift = [1.0, 1.0, 1.0, 1.3, 1.3, 1.3]  # a hog from the fourth pair on
    noise = [1.0, 1.01, 0.99, 1.0, 1.01, 0.99]
    a = [10 * d * n for d, n in zip(drift, noise, strict=True)]
    b = [x * 1.002 for x in a]
    row = _judge(list(a), list(b))
    assert row.verdict == "unchanged", row.reason
    slower = _judge(list(a), [x * 1.10 for x in a])
    assert slower.verdict == "regression", slower.reason
    assert slower.ratio == pytest.approx(1.10)
    assert slower.n_baseline == slower.n_current == 6


def test_paired_effect_is_the_mean_log_ratio_with_its_standard_error() -> None:
    eff = paired_effect([(10.0, 11.0), (10.0, 12.0), (20.0, 22.0)])
    assert eff is not None
    logs = [math.log(1.1), math.log(1.2), math.log(1.1)]
    mean = sum(logs) / 3
    assert eff.log_ratio == pytest.approx(mean)
    assert eff.se == pytest.approx(math.sqrt(sum((x - mean) ** 2 for x in logs) / 2 / 3))
    assert eff.df == 2
    assert paired_effect([(1.0, 2.0)]) is None


def test_b_all_failed_is_failed_and_broken_pairs_are_left_out() -> None:
    row = _judge([10.0, 10.0, 10.0], [None, None, None])
    assert row.verdict == "failed" and "arm B" in row.reason and row.n_failed == 3
    ref = _judge([None, None], [10.0, 10.0])
    assert ref.verdict == "failed" and "reference" in ref.reason
    partial = _judge([10.0, 10.1, 9.9, 10.0], [11.0, None, 10.9, 11.0])
    assert partial.n_current == 3 and "pairs left out" in partial.reason
    few = _judge([10.0, None], [11.0, 11.0])
    assert few.verdict == "inconclusive" and few.ratio == pytest.approx(1.1)


def test_pick_arms_defaults_and_refusals(tmp_path: Path) -> None:
    assert pick_arms(["x", "y", "z"], None, None, tmp_path) == ("x", "y")
    assert pick_arms(["x", "y", "z"], "z", None, tmp_path) == ("z", "x")
    assert pick_arms(["x", "y", "z"], None, "x", tmp_path) == ("y", "x")
    for arms, a, b, words in (
        ([], None, None, "no arms"),
        (["x"], None, None, "one arm"),
        (["x", "y"], "q", None, "--a: no arm 'q'"),
        (["x", "y"], None, "q", "--b: no arm 'q'"),
        (["x", "y"], "x", "x", "same arm"),
    ):
        with pytest.raises(PlanError, match=words):
            pick_arms(arms, a, b, tmp_path)


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--benchmark-binary", "a=/x", "--benchmark-binary", "a=/y"], "same label"),
        (["--arm-models", "a b=/x"], "--arm-models: arm label 'a b' cannot go into a file name"),
        (["--arm-models", "new=NOFOLDER"], "not a folder"),
        (["--arm-models", "new=EMPTY"], "lacks mobilenet_v2_0.35_96-fp32.tflite"),
        # The option's old spelling still works, and its errors name the new one.
        (["--models", "new=NOFOLDER"], "not a folder"),
        (["--models", "/m/conv"], "--arm-models without a label needs labelled arms"),
    ],
)
def test_run_refuses_bad_arms_before_any_device(
    args: list[str], words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    args = [
        a.replace("NOFOLDER", str(tmp_path / "nope")).replace("EMPTY", str(tmp_path / "empty"))
        for a in args
    ]
    # A device that does not exist: reaching it would be a device error (exit 3), not 2.
    code = main(
        [
            "run",
            "--device",
            "no-such-phone",
            "--variants",
            "mobilenet_v2_0.35_96",
            "--out",
            str(tmp_path / "runs"),
            *args,
        ]
    )
    assert code == 2
    assert words in _one_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("arms", "extra", "words"),
    [
        (None, [], "has no arms"),
        ([{"label": "x", "binary": None, "models": None}], [], "has one arm (x)"),
        (
            [
                {"label": "x", "binary": None, "models": None},
                {"label": "y", "binary": None, "models": None},
            ],
            ["--b", "z"],
            "--b: no arm 'z'",
        ),
    ],
)
def test_check_ab_refuses_runs_without_two_arms(
    arms: Any, extra: list[str], words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings: dict[str, Any] = {"variants": VARIANTS[:1]}
    if arms is not None:
        settings["arms"] = arms
    (tmp_path / "meta.json").write_text(
        json.dumps({"schema_version": 1, "run_id": "r", "status": "complete", "settings": settings})
    )
    code = main(["check", "--ab", str(tmp_path), *extra])
    assert code == 2
    assert words in _one_line(capsys.readouterr().err)


def test_check_ab_and_baseline_options_do_not_mix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--ab", str(tmp_path), "--baseline", str(tmp_path)]) == 2
    assert "leave out --baseline" in _one_line(capsys.readouterr().err)
    assert main(["check", "--baseline", str(tmp_path), "--current", str(tmp_path), "--a", "x"]) == 2
    assert "--a and --b" in _one_line(capsys.readouterr().err)


def test_arms_whose_models_differ_in_input_are_named_in_a_warning() -> None:
    from harness.bench.arms import model_differences
    from harness.bench.target import ModelFile

    data = Path(__file__).resolve().parents[1] / "data" / "convert"
    fp32 = ModelFile(VARIANTS[0], "fp32", data / "tiny_fp32.tflite", "a" * 64)
    int8 = ModelFile(VARIANTS[0], "fp32", data / "tiny_int8.tflite", "b" * 64)
    warnings, analyses = model_differences({"old": [fp32], "new": [int8]})
    # The same graph quantized: same shape and ops, another input type.
    assert warnings == [
        f"{VARIANTS[0]} (fp32): arm new's model takes input [1, 8, 8, 3] int8, "
        "arm old's [1, 8, 8, 3] float32"
    ]
    assert analyses["new"][f"{VARIANTS[0]}|fp32"].input_shape == (1, 8, 8, 3)
    same, _ = model_differences({"old": [fp32], "new": [fp32]})
    assert same == []
