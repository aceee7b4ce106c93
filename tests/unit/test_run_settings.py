"""`harness run` refuses bad options before touching a device, with exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import PlanError, UnknownQuantError, UnknownVariantError
from harness.identity import DeviceInfo
from harness.results.meta import RunMeta
from harness.run import RunSettings
from harness.stages.finish import resume_command


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "--device is required"),
        (["--device", "sim", "--xnnpack", "maybe"], "--xnnpack"),
        (["--device", "sim", "--threads", "two"], "--threads"),
        (["--device", "sim", "--threads", "0"], "--threads must be >= 1"),
        (["--device", "sim", "--variants", "mobilenet_v2_9.9_224"], "unknown variant"),
        (["--device", "sim", "--quant", "int4"], "unknown quantization"),
        (["--device", "sim", "--runs", "0"], "--runs"),
        (["--device", "sim", "--trials", "0"], "--trials"),
        (["--device", "sim", "--reconnect-timeout", "0"], "--reconnect-timeout"),
        (["--device", "sim", "--accelerator", "cpu,tpu"], "unknown compute unit 'tpu'"),
        (["--device", "sim", "--accelerator", ""], "--accelerator selects nothing"),
    ],
)
def test_bad_options_exit_2_without_a_device(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", *args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err


def test_validate_returns_the_configurations() -> None:
    settings = RunSettings(
        devices=["x"], variants=["v2:0.35_96", "v2:0.35_128"], xnnpack="both", threads=[1, 2]
    )
    configs = settings.validate()
    assert len(configs) == 2 * 2 * 2
    assert {c.xnnpack for c in configs} == {"off", "on"}


def test_the_settings_are_checked_once_into_what_the_stages_take(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`checked` gives the configurations and the user's models, each file read once:
    what the plan stage takes instead of validating and reading the models again."""
    import harness.bench.own_models as own_models
    from harness.results.meta import OwnModelSpec
    from harness.stages.settings import checked

    tiny = Path(__file__).resolve().parents[1] / "data" / "convert" / "tiny_fp32.tflite"
    reads: list[str] = []
    real_load = own_models.load

    def counted(one: OwnModelSpec) -> own_models.OwnModel:
        reads.append(one["label"])
        return real_load(one)

    monkeypatch.setattr(own_models, "load", counted)
    settings = RunSettings(
        devices=["x"],
        variants=["v2:0.35_96"],
        threads=[1, 2],
        own_models=[OwnModelSpec(label="tiny", path=str(tiny))],
        out=tmp_path / "runs",
    )
    request = checked(settings)
    assert reads == ["tiny"]
    assert request.settings is settings
    assert [m.label for m in request.own] == ["tiny"]
    assert len(request.configs) == 2 * 2  # (variant, own model) x threads
    assert request.configs == settings.validate()


def test_validate_raises_typed_errors() -> None:
    with pytest.raises(UnknownQuantError):
        RunSettings(devices=["x"], quants=["fp64"]).validate()
    with pytest.raises(UnknownVariantError):
        RunSettings(devices=["x"], variants=["v3:1.0_224"]).validate()
    with pytest.raises(PlanError):
        RunSettings(devices=["x"], warmup=-1).validate()


def test_resume_command_is_exact_and_quoted(tmp_path: object) -> None:
    settings = RunSettings(devices=["127.0.0.1:5600", "my phone"], adb_server="lab:5037")
    cmd = resume_command(tmp_path / "run 1", settings)  # type: ignore[operator]
    assert cmd == (
        f"harness run --resume '{tmp_path}/run 1' --device 127.0.0.1:5600 "
        "--device 'my phone' --adb-server lab:5037"
    )


def test_resumed_single_device_may_come_back_at_a_new_address() -> None:
    from harness.stages.resume import map_resumed_serials, plan_serials

    pixel = {
        "model": "Pixel",
        "device": "sailfish",
        "platform": "msm8996",
        "abi": "arm64-v8a",
        "fingerprint": "google/sailfish/sailfish:10/QP1A",
    }
    old = "127.0.0.1:40001"
    meta = RunMeta.from_dict({"devices": {old: pixel}, "binaries": {old: {"sha256": "ab"}}})

    def now(
        serial: str, info: dict[str, str] = pixel, sha: str = "ab"
    ) -> dict[str, tuple[DeviceInfo, str]]:
        return {serial: (DeviceInfo.from_dict(info), sha)}

    same = map_resumed_serials(meta, now("127.0.0.1:40001"))
    assert same == {"127.0.0.1:40001": "127.0.0.1:40001"}
    # A fresh simulated device (or a phone over TCP on a new port): the run's serial stays.
    moved = map_resumed_serials(meta, now("127.0.0.1:40777"))
    assert moved == {"127.0.0.1:40001": "127.0.0.1:40777"}
    assert plan_serials(moved, ["127.0.0.1:40777"]) == ["127.0.0.1:40001"]
    two = RunMeta.from_dict({"devices": {"A": {}, "B": {}}})
    blank = DeviceInfo.from_dict({})
    both = map_resumed_serials(two, {"B": (blank, None), "A": (blank, None)})
    assert plan_serials(both, ["B", "A"]) == ["B", "A"]
    with pytest.raises(PlanError, match="not a device of this run"):
        map_resumed_serials(two, {"C": (blank, None), "D": (blank, None), "E": (blank, None)})
    # Another phone, or another binary, is refused with every difference named.
    other = {**pixel, "model": "Pixel 4", "platform": "sm8150"}
    with pytest.raises(PlanError, match=r"model 'Pixel' -> 'Pixel 4'.*platform 'msm8996'"):
        map_resumed_serials(meta, now("127.0.0.1:40777", other))
    with pytest.raises(PlanError, match="benchmark binary sha256 ab -> cd"):
        map_resumed_serials(meta, now("127.0.0.1:40001", pixel, "cd"))


def test_resume_takes_the_measuredsettings_from_meta(tmp_path: object) -> None:
    from harness.stages.settings import settings_from_meta

    stored = RunMeta.from_dict({
        "seed": 42,
        "settings": {
            "variants": ["mobilenet_v2_0.35_96"], "quants": ["fp32"], "threads": [2],
            "cores": ["big"], "trials": 3, "runs": 7, "warmup": 2, "xnnpack": "off",
            "devices": ["sim"],
        },
    })  # fmt: skip
    given = RunSettings(devices=[], runs=50, trials=5, resume=tmp_path, reconnect_timeout_s=9)  # type: ignore[arg-type]
    merged = settings_from_meta(stored, given)
    assert (merged.seed, merged.runs, merged.trials, merged.threads) == (42, 7, 3, [2])
    assert merged.xnnpack == "off" and merged.devices == ["sim"]
    assert merged.reconnect_timeout_s == 9  # how to reach the phone may change


def test_resume_of_a_non_run_folder_and_ignored_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", "--resume", str(tmp_path / "nope"), "--runs", "7", "--seed", "3"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--runs, --seed ignored" in err
    assert "not a run folder" in err
