"""`harness baseline save`, `harness check`, `harness trend` through the real CLI entry point."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from harness.cli import main
from tests.support.synthetic import noisy_latencies, write_run

A, B = "mobilenet_v2_1.0_224", "mobilenet_v2_0.35_96"


@pytest.fixture()
def runs(tmp_path: Path) -> dict[str, Path]:
    base = write_run(tmp_path / "base", noisy_latencies([A, B], n=5, cv=0.01, seed=1))
    same = write_run(tmp_path / "same", noisy_latencies([A, B], n=5, cv=0.01, seed=2))
    slow = write_run(
        tmp_path / "slow", noisy_latencies([A, B], n=5, cv=0.01, seed=3, scale={A: 1.25})
    )
    other = write_run(
        tmp_path / "other",
        noisy_latencies([A, B], n=5, cv=0.01, seed=4),
        device={"model": "Pixel 2"},
    )
    return {"base": base, "same": same, "slow": slow, "other": other}


def save(run: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["baseline", "save", str(run), "-o", str(out)]) == 0
    assert f"baseline written to {out}" in capsys.readouterr().err
    return out


def test_exit_0_1_2(
    tmp_path: Path, runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = save(runs["base"], tmp_path / "baseline.json", capsys)
    assert main(["check", "--baseline", str(baseline), "--current", str(runs["same"])]) == 0
    out = capsys.readouterr().out
    assert "2 configurations: 2 unchanged" in out
    assert main(["check", "--baseline", str(baseline), "--current", str(runs["slow"])]) == 1
    out = capsys.readouterr().out
    assert "REGRESSION" in out and A in out
    assert main(["check", "--baseline", str(baseline), "--current", str(runs["other"])]) == 2
    err = capsys.readouterr().err
    assert "device model: baseline 'Pixel' vs current 'Pixel 2'" in err
    assert "--allow-context-change" in err
    assert (
        main(
            [
                "check",
                "--baseline",
                str(baseline),
                "--current",
                str(runs["other"]),
                "--allow-context-change",
            ]
        )
        == 0
    )
    assert "context changed (allowed)" in capsys.readouterr().out


def test_outputs_json_junit_markdown(
    tmp_path: Path, runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    junit, md = tmp_path / "r" / "check.xml", tmp_path / "r" / "check.md"
    code = main(
        [
            "check",
            "--baseline",
            str(runs["base"]),
            "--current",
            str(runs["slow"]),
            "--json",
            "--junit",
            str(junit),
            "--markdown",
            str(md),
        ]
    )
    assert code == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["exit_code"] == 1
    assert {r["variant"]: r["verdict"] for r in doc["rows"]} == {A: "regression", B: "unchanged"}
    assert "<failure" in junit.read_text() and "| **regression** |" in md.read_text()


def test_threshold_options(
    tmp_path: Path, runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["check", "--baseline", str(runs["base"]), "--current", str(runs["slow"]), "--json"]
    assert main([*args, "--threshold", "30%"]) == 0
    assert json.loads(capsys.readouterr().out)["threshold"] == 0.3
    toml = tmp_path / "t.toml"
    toml.write_text('[thresholds]\n"mobilenet_v2_1.0_*" = "40%"\n')
    assert main([*args, "--thresholds", str(toml)]) == 0
    assert json.loads(capsys.readouterr().out)["thresholds"] == {"mobilenet_v2_1.0_*": 0.4}
    js = tmp_path / "t.json"
    js.write_text(json.dumps({A: 0.02}))
    assert main([*args, "--thresholds", str(js), "--confidence", "0.95"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["confidence"] == 0.95
    assert next(r for r in doc["rows"] if r["variant"] == A)["threshold"] == 0.02


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--threshold", "five"], "is not a percentage"),
        (["--threshold", "150%"], "between 0% and 100%"),
        (["--confidence", "0%"], "between 0% and 100%"),
        (["--thresholds", "/nonexistent/t.json"], "cannot read thresholds file"),
    ],
)
def test_bad_options_exit_2(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    code = main(["check", "--baseline", str(runs["base"]), "--current", str(runs["same"]), *extra])
    assert code == 2
    assert message in capsys.readouterr().err


def test_malformed_thresholds_file_exits_2(
    tmp_path: Path, runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    for name, text in (("a.json", "{"), ("b.json", "[]"), ("c.json", '{"x": true}')):
        (tmp_path / name).write_text(text)
        code = main(
            [
                "check",
                "--baseline",
                str(runs["base"]),
                "--current",
                str(runs["same"]),
                "--thresholds",
                str(tmp_path / name),
            ]
        )
        assert code == 2, name
        assert "threshold" in capsys.readouterr().err


def test_missing_inputs_exit_2(
    tmp_path: Path, runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["check", "--baseline", str(tmp_path / "x.json"), "--current", str(runs["same"])]) == 2
    )
    assert "no such run folder or baseline file" in capsys.readouterr().err
    assert (
        main(["baseline", "save", str(tmp_path / "nothing"), "-o", str(tmp_path / "b.json")]) == 2
    )
    assert not (tmp_path / "b.json").exists()


def test_trend_cli_finds_the_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    start = datetime(2026, 3, 1, tzinfo=timezone.utc)
    for i in range(10):
        # Folder names sort against time: the order must come from created_at.
        write_run(
            tmp_path / "results" / f"run{9 - i}",
            noisy_latencies([A, B], n=5, cv=0.01, seed=i, scale={A: 1.2 if i >= 6 else 1.0}),
            created_at=start + timedelta(days=i),
        )
    assert main(["trend", str(tmp_path / "results")]) == 0
    out = capsys.readouterr().out
    assert "step slower +20" in out and f"{A}" in out and "from run run3 (#6)" in out
    assert B not in out.split("step", 1)[1]
    assert main(["trend", str(tmp_path / "results"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in doc["runs"]] == [f"run{9 - i}" for i in range(10)]
    assert len(doc["steps"]) == 1 and doc["steps"][0]["at_index"] == 6
    assert main(["trend", str(tmp_path / "nope")]) == 2


def test_trend_fail_on_slowdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    start = datetime(2026, 3, 1, tzinfo=timezone.utc)

    def runs(folder: str, scale_after_6: float, recover_at: int | None = None) -> Path:
        for i in range(10):
            up = i >= 6 and (recover_at is None or i < recover_at)
            write_run(
                tmp_path / folder / f"r{i}",
                noisy_latencies([A], n=5, cv=0.01, seed=i, scale={A: scale_after_6 if up else 1.0}),
                created_at=start + timedelta(days=i),
            )
        return tmp_path / folder

    still_slow = runs("slow", 1.2)
    recovered = runs("recovered", 1.2, recover_at=8)
    faster = runs("faster", 0.8)
    assert main(["trend", str(still_slow), "--fail-on-slowdown"]) == 1
    assert main(["trend", str(recovered), "--fail-on-slowdown"]) == 0
    assert main(["trend", str(faster), "--fail-on-slowdown"]) == 0
    assert main(["trend", str(still_slow)]) == 0
    capsys.readouterr()
    assert main(["trend", str(recovered), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [s["ratio"] > 1 for s in doc["steps"]] == [True, False]
    assert doc["open_slowdowns"] == []


def test_failed_and_missing_exit_1_unless_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write_run(tmp_path / "base", noisy_latencies([A, B], n=5, cv=0.01, seed=1))
    subset = write_run(tmp_path / "subset", noisy_latencies([A], n=5, cv=0.01, seed=2))
    lat = noisy_latencies([A], n=5, cv=0.01, seed=3)
    lat[B] = []
    broke = write_run(tmp_path / "broke", lat, failed={B: 5})
    args = ["check", "--baseline", str(base)]
    assert main([*args, "--current", str(subset)]) == 1
    out = capsys.readouterr().out
    assert "MISSING" in out and "not measured in the current run" in out
    assert main([*args, "--current", str(subset), "--allow-missing"]) == 0
    assert main([*args, "--current", str(broke)]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "5/0, 5 failed" in out and "all 5 current trial(s) failed" in out
    assert main([*args, "--current", str(broke), "--allow-missing"]) == 1
