"""Hostile values: absurd options, wrongly typed stored values, forged records and baselines.

Each is one clear line and exit 2, refused before any work (a phone, a
model, a file), never a traceback, an endless wait or a silent `ok`. `run`
is pointed at an adb server that is not there (127.0.0.1:1), and `sim
serve` at a port the simulator refuses at start: an option that got past its
check would fail there with exit 3, so exit 2 with the option's own message
proves the refusal came first.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest
import typer.main

from harness import ranges
from harness.cli import app, main
from harness.errors import EXIT_INPUT, ResultsError
from harness.identity import BinaryInfo, Cluster, DeviceInfo, ThermalZone
from harness.results import RunStore, load
from harness.results.meta import (
    ArmRecord,
    CoreChoice,
    MeasuredSettings,
    ModelFacts,
    RunMeta,
)
from harness.results.shapes import fields_checker
from harness.stored import Stored
from harness.textsafe import MAX_LINE, one_line
from tests.support.synthetic import noisy_latencies, write_run

from .test_cli_inputs import one_error_line

A, B = "mobilenet_v2_1.0_224", "mobilenet_v2_0.35_96"
LOGS = Path(__file__).parent.parent / "data" / "benchmark_model"
TINY = Path(__file__).parent.parent / "data" / "convert" / "tiny_fp32.tflite"
NO_SERVER = ["--adb-server", "127.0.0.1:1"]
REFUSED_PORT = ["--port", "5560"]  # the simulator refuses it at start (exit 3), after the checks


def refused(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the CLI; it must exit 2 with one `error:` line, which is returned."""
    code = main(args)
    line = one_error_line(capsys.readouterr().err)
    assert code == EXIT_INPUT, line
    return line


# ---- every numeric option has a documented range, checked before any work ----------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--runs", "1000000000"], "--runs must be <= 10000"),
        (["--warmup", "1000000"], "--warmup must be <= 1000"),
        (["--threads", "100000"], "--threads must be <= 64"),
        (["--threads", "1,4096"], "--threads must be <= 64"),
        (["--cooldown-temp", "inf"], "--cooldown-temp must be above 0, up to 100 °C, got inf"),
        (["--cooldown-temp", "1e308"], "--cooldown-temp must be <= 100 °C"),
        (["--cooldown-temp", "nan"], "--cooldown-temp must be above 0, up to 100 °C, got nan"),
        (["--cooldown-timeout", "inf"], "--cooldown-timeout must be above 0, up to 3600 s"),
        (["--cooldown-timeout", "nan"], "--cooldown-timeout must be above 0, up to 3600 s"),
        (["--trial-timeout", "inf"], "--trial-timeout must be above 0, up to 86400 s"),
        (["--trial-timeout", "nan"], "--trial-timeout must be above 0, up to 86400 s"),
        (["--reconnect-timeout", "inf"], "--reconnect-timeout must be above 0, up to 86400 s"),
        (["--reconnect-timeout", "1e9"], "--reconnect-timeout must be <= 86400 s"),
        (["--wait-for-device", "inf"], "--wait-for-device must be from 0 to 86400 s"),
        (["--wait-for-device", "nan"], "--wait-for-device must be from 0 to 86400 s"),
        (["--wait-for-device", "-1"], "--wait-for-device must be >= 0 s"),
        (["--seed", "-1"], "--seed must be >= 0"),
        (["--seed", str(2**70)], "--seed must be <= 9223372036854775807"),
        (["--cores", "bogus"], "unknown core policy 'bogus'"),
        (["--cores", "big,0"], "unknown core policy '0'"),
        (["--cores", "f" * 5000], "unknown core policy"),
    ],
)
def test_run_refuses_numbers_outside_their_range(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    line = refused(["run", "--device", "no-such-phone", *NO_SERVER, *args], capsys)
    assert message in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--quant", ""], "--quant selects nothing"),
        (["--from", str(TINY), "--jobs", "1000000"], "--jobs must be <= 64"),
        (["--from", str(TINY), "--jobs", "0"], "--jobs must be >= 1"),
        (["--from", str(TINY), "--classes", "1000000000"], "--classes must be <= 30000"),
    ],
)
def test_convert_refuses_nonsense(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert message in refused(["convert", "--variants", B, *args], capsys)


def test_parse_and_trend_refuse_numbers_outside_their_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = LOGS / "era2020_ti_am62_cpu.log"
    assert "--exit-code must be <= 255" in refused(
        ["parse", str(log), "--exit-code", "99999"], capsys
    )
    run = write_run(tmp_path / "r", noisy_latencies([A], n=3, cv=0.01, seed=1))
    for value, says in (
        ("inf", "--penalty must be above 0, up to 1000, got inf"),
        ("nan", "--penalty must be above 0, up to 1000, got nan"),
        ("0", "--penalty must be above 0, got 0"),
    ):
        assert says in refused(["trend", str(run), "--penalty", value], capsys)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--thermal", "battery=nan"], "--thermal must be from -50 to 150 °C, got nan"),
        (["--thermal", "0=1e999"], "--thermal must be from -50 to 150 °C, got inf"),
        (["--thermal", "battery"], "--thermal 'battery': expected KEY=VALUE"),
        (["--cap", "2=abc"], "--cap must be a whole number from 1 to 10000000 kHz"),
        (["--cap", "2=0"], "--cap must be >= 1 kHz"),
        (["--slowdown", "nan"], "--slowdown must be from 1 to 1000, got nan"),
        (["--slowdown", "inf"], "--slowdown must be from 1 to 1000, got inf"),
        (["--synthetic", "-1"], "--synthetic must be >= 0"),
        (["--drop-after-bytes", "-1"], "--drop-after-bytes must be >= 0 bytes"),
        (["--drop-after-commands", "-5"], "--drop-after-commands must be >= 0"),
        (["--fail-pushes-after", "-1"], "--fail-pushes-after must be >= 0 bytes"),
        (["--auth", "accept-after:1e308"], "--auth accept-after must be <= 86400 s"),
        (["--prop", "nonsense"], "--prop 'nonsense': expected KEY=VALUE"),
    ],
)
def test_sim_serve_refuses_nonsense_before_starting(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert message in refused(["sim", "serve", *REFUSED_PORT, *args], capsys)


def test_sim_serve_port_range_is_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    line = refused(["sim", "serve", "--port", "70000"], capsys)
    assert "--port must be <= 65535, got 70000" in line


def _commands() -> dict[str, Any]:
    out: dict[str, Any] = {}

    def walk(group: Any, prefix: str) -> None:
        for name, cmd in group.commands.items():
            if hasattr(cmd, "commands"):
                walk(cmd, f"{prefix}{name} ")
            else:
                out[f"{prefix}{name}"] = cmd

    walk(typer.main.get_command(app), "")
    return out


def _numeric(param: Any) -> bool:
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    kinds = {a for a in typing.get_args(annotation)} | {annotation}
    return bool(kinds & {int, float}) and not getattr(param, "is_flag", False)


# Options whose values are numbers written as text (comma lists, KEY=NUMBER, fractions).
NUMBERS_AS_TEXT = {
    ("run", "--threads"), ("sim serve", "--thermal"), ("sim serve", "--cap"),
    ("sim serve", "--auth"), ("check", "--threshold"), ("check", "--confidence"),
    ("report", "--threshold"), ("trend", "--min-step"),
}  # fmt: skip
RANGE_TEXT = re.compile(r"-?\d[\d.]* to -?\d|above -?\d[\d.]*, up to -?\d|above 0%, below 100%")


def test_every_numeric_option_shows_its_range_in_help() -> None:
    found = []
    for name, cmd in _commands().items():
        for param in cmd.params:
            option = max(getattr(param, "opts", []) or [""], key=len)
            if _numeric(param) or (name, option) in NUMBERS_AS_TEXT:
                found.append((name, option))
                assert RANGE_TEXT.search(param.help or ""), (name, option, param.help)
    # The walk sees them all: run's, convert's, parse's, trend's and sim serve's numbers.
    assert {("run", "--runs"), ("convert", "--jobs"), ("parse", "--exit-code")} <= set(found)
    assert {("trend", "--penalty"), ("sim serve", "--drop-after-bytes")} <= set(found)
    assert len(found) >= 25, found


def test_help_and_run_md_quote_the_ranges_the_code_checks() -> None:
    commands = _commands()
    run_md = (Path(__file__).parents[2] / "docs" / "run.md").read_text(encoding="utf-8")
    for field, allowed in ranges.RUN.items():
        option = "--" + field.removesuffix("_s").removesuffix("_c").replace("_", "-")
        [param] = [p for p in commands["run"].params if option in getattr(p, "opts", [])]
        assert str(allowed) in " ".join((param.help or "").split()), (option, param.help)
        rows = [line for line in run_md.splitlines() if line.startswith("| `--")]
        row = next(line for line in rows if f"`{option}" in line.split("|")[1])
        assert str(allowed) in row or str(allowed).replace(" °C", "") in row, (option, row)
    for option, allowed in ranges.SIM_SERVE.items():
        [param] = [p for p in commands["sim serve"].params if option in getattr(p, "opts", [])]
        assert str(allowed) in " ".join((param.help or "").split()), (option, param.help)


# ---- error lines are bounded ----------------------------------------------------------


def test_a_huge_value_is_cut_in_the_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    name = "v2:" + "x" * 100_000
    line = refused(["variants", "--variants", name], capsys)
    assert len(line) <= MAX_LINE and "characters cut]" in line and "unknown variant" in line
    line = refused(["run", "--device", "sim", "--variants", "a\nb\x1b[2J" + "y" * 50_000], capsys)
    assert len(line) <= MAX_LINE and "\x1b" not in line


def test_one_line_folds_and_cuts() -> None:
    assert one_line("a\n  b\r\n\tc") == "a b c"
    cut = one_line("k " + "v" * 10_000 + " end")
    assert cut.startswith("k vvv") and cut.endswith("vvv end") and "characters cut]" in cut
    assert len(one_line(" ".join(["w" * 150] * 1000))) <= MAX_LINE


# ---- stored values of the wrong type ------------------------------------------------------


def _edit_meta(run: Path, change: Any) -> None:
    meta = json.loads((run / "meta.json").read_text())
    change(meta)
    (run / "meta.json").write_text(json.dumps(meta).replace('"INFINITY"', "Infinity"))


def _edit_trial(run: Path, index: int, **fields: Any) -> None:
    path = run / "trials.jsonl"
    lines = path.read_text().splitlines()
    data = json.loads(lines[index])
    data.update(fields)
    lines[index] = json.dumps(data)
    path.write_text("\n".join(lines) + "\n")


SERIAL = "FA6AE0301234"  # tests.support.synthetic's phone

META_CORRUPTIONS = {
    "device-entry-is-a-string": lambda m: m["devices"].__setitem__(SERIAL, "Pixel"),
    "clusters-is-a-string": lambda m: m["devices"][SERIAL].__setitem__("clusters", "0-3"),
    "a-cluster-is-a-string": lambda m: m["devices"][SERIAL].__setitem__("clusters", ["x"]),
    "sdk-is-a-list": lambda m: m["devices"][SERIAL].__setitem__("sdk", [29]),
    "binary-entry-is-a-list": lambda m: m["binaries"].__setitem__(SERIAL, ["x"]),
    "seed-is-a-string": lambda m: m.__setitem__("seed", "7"),
    "created-at-is-an-object": lambda m: m.__setitem__("created_at", {"x": 1}),
    "status-is-unknown": lambda m: m.__setitem__("status", "fine"),
    "seed-beyond-64-bits": lambda m: m.__setitem__("seed", 10**30),
}


@pytest.mark.parametrize("corruption", list(META_CORRUPTIONS), ids=list(META_CORRUPTIONS))
def test_meta_values_of_the_wrong_type_are_exit_2_everywhere(
    tmp_path: Path, corruption: str, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_run(tmp_path / "good", noisy_latencies([A, B], n=3, cv=0.01, seed=1))
    bad = write_run(tmp_path / "bad", noisy_latencies([A, B], n=3, cv=0.01, seed=2))
    _edit_meta(bad, META_CORRUPTIONS[corruption])
    for args in (
        ["report", str(bad), "-o", str(tmp_path / "r.html")],
        ["check", "--baseline", str(good), "--current", str(bad)],
        ["trend", str(good), str(bad)],
        ["baseline", "save", str(bad), "-o", str(tmp_path / "b.json")],
    ):
        assert str(bad / "meta.json") in refused(args, capsys), args


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"cooled": "yes"}, "cooled is a string, not true or false or null"),
        ({"throttled": 1}, "throttled is an integer"),
        ({"freq_before": {"0": "fast"}}, "freq_before['0'] is a string, not a list"),
        ({"wall_s": "1.5"}, "wall_s '1.5' is not a number"),
        ({"temp_before_c": "hot"}, "temp_before_c is a string"),
        ({"binary_kind": "mine"}, "binary_kind 'mine' is not one of"),
        # Integers a table's Int64 column cannot hold (a crash in pandas, far from the file).
        ({"battery_level": -(2**64)}, "battery_level is an integer outside the 64-bit range"),
        ({"exit_code": 2**63}, "exit_code is an integer outside the 64-bit range"),
        ({"freq_after": {"0": [2**64, 1]}}, "freq_after['0'][0] is an integer outside"),
    ],
)
def test_trial_values_of_the_wrong_type_are_exit_2(
    tmp_path: Path, fields: dict[str, Any], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_run(tmp_path / "good", noisy_latencies([A], n=3, cv=0.01, seed=1))
    bad = write_run(tmp_path / "bad", noisy_latencies([A], n=3, cv=0.01, seed=2))
    _edit_trial(bad, 1, **fields)
    for args in (
        ["report", str(bad), "-o", str(tmp_path / "r.html")],
        ["check", "--baseline", str(good), "--current", str(bad)],
        ["trend", str(good), str(bad)],
    ):
        line = refused(args, capsys)
        assert "trials.jsonl: line 2" in line and says in line, line


STORED_RECORDS = (
    RunMeta, MeasuredSettings, DeviceInfo, Cluster, ThermalZone, BinaryInfo, ModelFacts,
    ArmRecord, CoreChoice,
)  # fmt: skip


@pytest.mark.parametrize("record", STORED_RECORDS, ids=lambda r: r.__name__)
def test_the_reader_checks_every_field_of_every_stored_record(record: type[Stored]) -> None:
    """The check of meta.json is read from the records' own annotations: a field a record
    gains is checked from then on (no list of stored types to keep beside it)."""
    check = fields_checker(record.field_types())
    assert record.field_types()
    for name in record.field_types():
        # A list of lists fits no stored field: each one must refuse it, naming itself.
        found = check({name: [[[]]]})
        assert found is not None and found.startswith(name), (name, found)
    assert check({}) is None  # every key may be absent: an older harness may not write it


# ---- --resume of a run folder whose stored values are wrong --------------------------------


def _resumable(tmp_path: Path) -> Path:
    run = write_run(tmp_path / "run", {B: [10.0, 11.0]})
    settings = {
        "variants": [B], "quants": ["fp32"], "threads": [1], "cores": ["big"], "trials": 2,
        "runs": 5, "warmup": 1, "xnnpack": "default", "devices": ["sim"],
    }  # fmt: skip
    _edit_meta(run, lambda m: m.update(settings=settings, seed=5))
    return run


RESUME_IDS = [
    "seed-missing", "seed-string", "seed-inf", "seed-float", "threads-strings", "runs-absurd",
    "trials-bool",
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda m: m.pop("seed"), "meta.json lacks seed"),
        (lambda m: m.__setitem__("seed", "7"), "seed is a string, not an integer"),
        (lambda m: m.__setitem__("seed", "INFINITY"), "seed inf is not finite"),
        (lambda m: m.__setitem__("seed", 7.5), "seed is a number, not an integer"),
        (lambda m: m["settings"].__setitem__("threads", ["1"]), "settings.threads[0] '1'"),
        (lambda m: m["settings"].__setitem__("runs", 10**9), "settings.runs must be <= 10000"),
        (lambda m: m["settings"].__setitem__("trials", True), "settings.trials True is not"),
    ],
    ids=RESUME_IDS,
)
def test_resume_refuses_stored_values_before_opening_a_phone(
    tmp_path: Path, change: Any, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _resumable(tmp_path)
    _edit_meta(run, change)
    line = refused(["run", "--resume", str(run), "--device", "x", *NO_SERVER], capsys)
    assert says in line and str(run) in line


def test_resume_with_an_empty_device_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _resumable(tmp_path)
    for device in ("", ","):
        line = refused(["run", "--resume", str(run), "--device", device, *NO_SERVER], capsys)
        assert "--device selects nothing" in line


# ---- a record that is not one of the run's trials ------------------------------------------


def _forged(tmp_path: Path, **fields: Any) -> Path:
    """A run of 2 planned trials, plus a copy of its first trial under another id."""
    run = write_run(tmp_path / "run", {A: [70.0, 71.0]})
    first = json.loads((run / "trials.jsonl").read_text().splitlines()[0])
    first.update({"trial_id": f"{SERIAL}|{A}|7", "trial_index": 7, **fields})
    with open(run / "trials.jsonl", "a") as fh:
        fh.write(json.dumps(first) + "\n")
    return run


@pytest.mark.parametrize(
    ("fields", "says"),
    [({}, "is not one of the run's planned trials"), ({"run_id": "other"}, "belongs to run")],
)
def test_a_record_outside_the_plan_is_refused_by_every_reader(
    tmp_path: Path, fields: dict[str, Any], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _forged(tmp_path, **fields)
    with pytest.raises(ResultsError, match=f"line 3: .*{says}"):
        load(run)
    with pytest.raises(ResultsError, match=says):
        RunStore.open(run)  # what --resume opens: it would have counted the record
    line = refused(["baseline", "save", str(run), "-o", str(tmp_path / "b.json")], capsys)
    assert says in line
    assert not (tmp_path / "b.json").exists()


# ---- parse: a log without a believable latency is not ok ---------------------------------


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ("avg=1.24027e+06", "avg=inf", "avg_us inf is not finite"),
        ("avg=1.24027e+06", "avg=1e308", "avg_us 1e+308 is absurd"),
        ("avg=1.24027e+06", "avg=nan", "avg_us nan is not finite"),
        ("count=50 ", "count=0 ", "count=0 (no timed run)"),
    ],
)
def test_parse_is_not_ok_without_a_believable_latency(
    tmp_path: Path, old: str, new: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (LOGS / "era2020_ti_am62_cpu.log").read_text()
    assert old in text
    log = tmp_path / "x.log"
    log.write_text(text.replace(old, new).replace("Inference (avg): 1.24027e+06", f"x {new}"))
    assert main(["parse", str(log), "--json"]) == 1
    out = capsys.readouterr()
    parsed = json.loads(out.out)
    assert parsed["status"] == "parse_error" and says in parsed["error"]
    assert parsed["avg_us"] is None and says in out.err and "warning: " in out.err


def test_parse_leaves_out_a_figure_no_record_may_hold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (LOGS / "era2020_ti_am62_cpu.log").read_text()
    log = tmp_path / "x.log"
    log.write_text(text.replace("min=1238588 max=1252566", "min=-5 max=inf"))
    assert main(["parse", str(log), "--json"]) == 0  # the mean is fine
    out = capsys.readouterr()
    parsed = json.loads(out.out)
    assert parsed["min_us"] is None and parsed["max_us"] is None
    assert parsed["avg_us"] == pytest.approx(1.24027e06)
    assert "min_us -5.0 is negative: left out" in out.err


# ---- trend of nothing ------------------------------------------------------------------------


def test_trend_of_runs_without_an_ok_trial_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = write_run(tmp_path / "runs" / "empty", {})
    torn = write_run(tmp_path / "runs" / "torn", {A: [70.0]})
    for name in ("trials.parquet", "summary.parquet"):
        (torn / name).unlink()
    (torn / "trials.jsonl").write_text('{"schema_version": 1, "run_id": "torn", "tri')
    for args in ([str(empty)], [str(torn)], [str(tmp_path / "runs")]):
        assert "no ok trial" in refused(["trend", *args], capsys)


# ---- baselines -------------------------------------------------------------------------------


def _baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, dict[str, Any]]:
    run = write_run(tmp_path / "run", noisy_latencies([A, B], n=3, cv=0.01, seed=1))
    path = tmp_path / "base.json"
    assert main(["baseline", "save", str(run), "-o", str(path)]) == 0
    capsys.readouterr()
    return run, json.loads(path.read_text())


BASELINE_IDS = [
    "bool", "string", "1e300", "zero-median", "twice", "threads", "failed", "source", "context",
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda d: d["configs"][0].update(latency_ms=[True, True]), "latency_ms[0] True is not"),
        (lambda d: d["configs"][0].update(latency_ms=["70"]), "latency_ms[0] '70' is not"),
        (lambda d: d["configs"][0].update(latency_ms=[1e300]), "1e+300 is absurd"),
        (lambda d: d["configs"][0].update(median_ms=[0.0]), "median_ms 0.0 is not positive"),
        (lambda d: d["configs"].append(dict(d["configs"][0])), "repeats the configuration"),
        (lambda d: d["configs"][0].update(threads="1"), "threads '1' is not an integer"),
        (lambda d: d["configs"][0].update(failed=-1), "failed -1 is negative"),
        (lambda d: d.update(source=[1]), "source is a list, not an object"),
        (lambda d: d["contexts"].update(Pixel="x"), "contexts['Pixel'] is a string"),
    ],
    ids=BASELINE_IDS,
)
def test_a_baseline_with_untrustworthy_values_is_refused(
    tmp_path: Path, change: Any, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run, doc = _baseline(tmp_path, capsys)
    change(doc)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    line = refused(["check", "--baseline", str(bad), "--current", str(run)], capsys)
    assert str(bad) in line and says in line, line


# ---- ANDROID_ADB_SERVER_PORT and --adb-server --------------------------------------------


@pytest.mark.parametrize("port", ["abc", "70000", "0", "", "9" * 5000])
def test_a_bad_adb_server_port_in_the_environment_is_one_line(port: str) -> None:
    env = {**os.environ, "ANDROID_ADB_SERVER_PORT": port}
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "devices"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == EXIT_INPUT, done.stderr
    assert "ANDROID_ADB_SERVER_PORT" in one_error_line(done.stderr)


@pytest.mark.parametrize("spec", ["", " ", "lab:", "lab:70000", "lab:0", "lab:" + "9" * 5000])
def test_a_bad_adb_server_option_is_one_line(spec: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert "--adb-server" in refused(["devices", "--adb-server", spec], capsys)


@pytest.mark.parametrize("command", [["clean"], ["devices"], ["run"]])
@pytest.mark.parametrize("selection", ["", ",", " "])
def test_an_empty_device_selection_is_refused(
    command: list[str], selection: str, capsys: pytest.CaptureFixture[str]
) -> None:
    line = refused([*command, "--device", selection, *NO_SERVER], capsys)
    assert "--device selects nothing" in line


@pytest.mark.parametrize(
    "args",
    [
        ["trend", ""],
        ["report", "", "-o", "x.html"],
        ["baseline", "save", "", "-o", "x.json"],
        ["check", "--baseline", "", "--current", "x"],
        ["run", "--device", "x", *NO_SERVER, "--out", ""],
        ["run", "--resume", "", "--device", "x", *NO_SERVER],
        ["parse", ""],
        ["inspect", ""],
    ],
)
def test_an_empty_path_names_nothing(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    # `Path("")` is `.`: the current folder holds a run, which must not be read or written.
    run = write_run(tmp_path / "run", noisy_latencies([A], n=3, cv=0.01, seed=1))
    monkeypatch.chdir(run)
    before = sorted(p.name for p in run.iterdir())
    assert "an empty path names nothing" in refused(args, capsys)
    assert sorted(p.name for p in run.iterdir()) == before


# ---- words from a phone that look like numbers ------------------------------------------------


def test_device_digits_are_ascii_digits_and_cpu_lists_are_bounded() -> None:
    """`"²".isdigit()` is true but `int("²")` fails; `0-99999999999` is no CPU list."""
    from harness.bench import proof
    from harness.device.kv import cpu_list, digits
    from harness.device.lease import _parse_holder

    assert digits("42") and not digits("²") and not digits("①") and not digits("-1")
    assert cpu_list("0,²,1") == (0, 1)
    assert _parse_holder("held\npid=²\nheartbeat=①\ncreated=500\nnow=510\n").pid == "²"
    assert proof.cpu_list("0-²") is None
    assert proof.cpu_list("0-99999999999") is None  # a range() of that size would never end
    samples = proof.parse_samples(
        "affinity mask=30 list=4-5\n"
        "sample up=10.00 temp=41000 f²=2400000 s①=1,2 f4=2400000 s4=1000,2000 self=100\n"
    )
    [sample] = samples.samples
    assert sample.freqs == {4: 2400000}
