"""`harness run --model [LABEL=]PATH`: a user's own .tflite as a configuration, checked early.

Every bad file is one `error:` line and exit 2 before any device is touched:
the runs below name a phone that does not exist, which would be exit 3.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from harness.bench.own_models import check_labels, load, load_all, spec
from harness.cli import main
from harness.errors import HarnessError, PlanError
from harness.results.meta import MeasuredSettings, OwnModelSpec, RunMeta
from harness.stages.settings import RunSettings, settings_from_meta
from harness.vocab import Config

TINY = Path(__file__).resolve().parents[1] / "data" / "convert" / "tiny_fp32.tflite"
VARIANT = "mobilenet_v2_0.35_96"


def test_label_is_given_or_the_file_name() -> None:
    assert spec("mine=/m/net.tflite") == {"label": "mine", "path": "/m/net.tflite"}
    assert spec("/m/net.tflite") == {"label": "net", "path": "/m/net.tflite"}
    # A `=` after a folder is part of the path, as for --benchmark-binary.
    assert spec("./a=b/net.tflite") == {"label": "net", "path": "./a=b/net.tflite"}


@pytest.mark.parametrize(
    ("specs", "words"),
    [
        ([OwnModelSpec(label="my net", path="/x")], "label 'my net' cannot name a configuration"),
        ([OwnModelSpec(label="a|b", path="/x")], "cannot name a configuration"),
        ([OwnModelSpec(label="m", path="/x"), OwnModelSpec(label="m", path="/y")], "two models"),
        ([OwnModelSpec(label="m", path="/x"), OwnModelSpec(label="M", path="/y")], "only case"),
        # Its rows would sit beside the variant's published figure.
        ([OwnModelSpec(label=VARIANT, path="/x")], "is a catalogue variant's id"),
        ([OwnModelSpec(label="m", path="")], "names no file"),
    ],
)
def test_labels_that_cannot_name_a_configuration_are_refused(
    specs: list[OwnModelSpec], words: str
) -> None:
    with pytest.raises(PlanError, match=words):
        check_labels(specs)


def test_a_model_has_its_facts_from_the_flatbuffer() -> None:
    own = load(OwnModelSpec(label="tiny", path=str(TINY)))
    assert own.sha256 == hashlib.sha256(TINY.read_bytes()).hexdigest()
    assert own.file.variant == "tiny" and own.file.quant == "file"
    facts = own.facts()
    assert facts.path == str(TINY) and facts.sha256 == own.sha256
    assert facts.input_shape == (1, 8, 8, 3) and facts.input_dtype == "float32"
    assert facts.macs and facts.weight_params and facts.ops
    assert facts.size_bytes == TINY.stat().st_size


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"PK\x03\x04 this is a zip, not a model" * 4)
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(TINY.read_bytes()[: TINY.stat().st_size // 2])
    folder = tmp_path / "folder.tflite"
    folder.mkdir()
    huge = tmp_path / "huge.tflite"
    with huge.open("wb") as f:  # sparse: costs no disk
        f.truncate(129 * 1024 * 1024)
    return {
        "not a flatbuffer": (junk, "not a TFLite flatbuffer"),
        "truncated": (cut, "corrupt or truncated TFLite file"),
        "a directory": (folder, "is a directory, not a regular file"),
        "missing": (tmp_path / "nope.tflite", "no such file"),
        "huge": (huge, "over the 128 MiB limit"),
    }


@pytest.mark.parametrize(
    "kind", ["not a flatbuffer", "truncated", "a directory", "missing", "huge"]
)
def test_a_bad_file_is_one_line_before_any_device(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, words = _bad_files(tmp_path)[kind]
    code = main(
        ["run", "--device", "no-such-phone", "--model", f"m={path}",
         "--out", str(tmp_path / "runs")]
    )  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("error: ") and words in err[0], err
    assert not (tmp_path / "runs").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked.tflite"
    locked.write_bytes(TINY.read_bytes())
    locked.chmod(0)
    with pytest.raises(HarnessError, match="cannot read"):
        load_all([OwnModelSpec(label="m", path=str(locked))])


def test_own_models_cross_every_axis_beside_or_instead_of_the_variants() -> None:
    own = [OwnModelSpec(label="tiny", path=str(TINY))]
    alone = RunSettings(devices=["x"], variants=[], own_models=own, accelerators=["cpu", "gpu"])
    assert alone.validate() == [
        Config("tiny", "file", 1, "big", "default", "cpu"),
        Config("tiny", "file", 1, "big", "default", "gpu"),
    ]
    beside = RunSettings(devices=["x"], variants=[VARIANT], own_models=own)
    assert beside.validate() == [
        Config(VARIANT, "fp32", 1, "big", "default"),
        Config("tiny", "file", 1, "big", "default"),
    ]
    assert Config("tiny", "file", 1, "big", "default").key == "tiny|file|t1|big|xnnpack=default"
    # Without own models, no variant is still nothing to measure.
    with pytest.raises(PlanError, match="--variants selects nothing"):
        RunSettings(devices=["x"], variants=[]).validate()


def test_the_command_line_measures_own_models_instead_of_the_catalogue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.run

    captured: list[RunSettings] = []

    def settings_only(settings: RunSettings, **_: object) -> None:
        captured.append(settings)
        raise PlanError("stop here")

    monkeypatch.setattr(harness.run, "run", settings_only)
    main(["run", "--device", "x", "--model", str(TINY), "--out", str(tmp_path)])
    main(["run", "--device", "x", "--model", f"t={TINY}", "--variants", VARIANT,
          "--out", str(tmp_path)])  # fmt: skip
    alone, beside = captured
    assert alone.variants == [] and alone.own_models == [{"label": "tiny_fp32", "path": str(TINY)}]
    assert beside.variants == [VARIANT] and beside.own_models[0]["label"] == "t"


def test_variants_given_empty_beside_a_model_is_still_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", "--device", "x", "--model", str(TINY), "--variants", "",
                 "--out", str(tmp_path)])  # fmt: skip
    assert code == 2 and "--variants selects nothing" in capsys.readouterr().err


def test_help_keeps_own_models_and_arm_models_apart(capsys: pytest.CaptureFixture[str]) -> None:
    main(["run", "--help"])
    shown = capsys.readouterr().out
    assert "--model " in shown and "--arm-models" in shown
    assert "--models " not in shown  # the old spelling works, unadvertised


def test_a_resumed_run_measures_its_own_models_again() -> None:
    base = dict(
        variants=(), quants=("fp32",), threads=(1,), cores=("big",), trials=1, runs=1,
        warmup=0, xnnpack="default", cooldown_temp_c=None, cooldown_timeout_s=1.0,
        op_profile=False, trial_timeout_s=60.0, arms=(), devices=("x",),
    )  # fmt: skip
    own = (OwnModelSpec(label="tiny", path=str(TINY)),)
    stored = MeasuredSettings.from_dict(
        MeasuredSettings(**base, own_models=own).to_dict()  # type: ignore[arg-type]
    )
    meta = RunMeta(seed=3, settings=stored, devices={}, binaries={}, models={}, order=())
    resumed = settings_from_meta(meta, RunSettings(devices=[], resume=Path("r")))
    assert resumed.own_models == [{"label": "tiny", "path": str(TINY)}]
    # A run stored before own models could be given measured none.
    older = {k: v for k, v in MeasuredSettings(**base).to_dict().items() if k != "own_models"}  # type: ignore[arg-type]
    meta = RunMeta(
        seed=3, settings=MeasuredSettings.from_dict(older), devices={}, binaries={}, models={},
        order=(),
    )  # fmt: skip
    assert settings_from_meta(meta, RunSettings(devices=[], resume=Path("r"))).own_models == []
