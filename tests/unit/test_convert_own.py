"""`harness convert --from` a Keras model or SavedModel: the catalogue's recipes for a
user's model.

The checks of the path run without TensorFlow (fast); the conversions build a
tiny Keras model in the test, save it as `.keras`, `.h5` and a SavedModel, and
convert it for real (slow).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from harness.cli import main
from harness.convert import own
from harness.convert.analysis import analyze
from harness.convert.cache import ModelCache
from harness.errors import EXIT_INPUT, InputFileError, ModelError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _fake_saved_model(folder: Path, weights: bytes = b"w") -> Path:
    (folder / "variables").mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(b"graph")
    (folder / "variables" / "variables.data-00000-of-00001").write_bytes(weights)
    return folder


def test_a_folder_without_saved_model_pb_is_refused(tmp_path: Path) -> None:
    (tmp_path / "net").mkdir()
    with pytest.raises(ModelError, match=r"net: not a SavedModel: no saved_model\.pb"):
        own.check_source(tmp_path / "net")


@pytest.mark.parametrize(
    ("name", "why"), [("net.keras", "not a Keras archive"), ("net.h5", "not an HDF5 file")]
)
def test_a_file_that_is_not_what_its_name_says_is_refused(
    tmp_path: Path, name: str, why: str
) -> None:
    path = tmp_path / name
    path.write_bytes(b"TFL3 or anything else")
    with pytest.raises(ModelError, match=f"{name}: not a Keras model: {why}"):
        own.check_source(path)


def test_a_missing_keras_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"nope\.keras: no such file"):
        own.check_source(tmp_path / "nope.keras")


def test_a_fifo_named_keras_is_refused_before_it_is_read(tmp_path: Path) -> None:
    fifo = tmp_path / "net.keras"
    os.mkfifo(fifo)  # reading it would block forever
    with pytest.raises(InputFileError):
        own.check_source(fifo)


def test_labels_come_from_the_name_without_its_suffix(tmp_path: Path) -> None:
    assert own.default_label(Path("models/mynet.keras")) == "mynet"
    assert own.default_label(Path("mynet.H5")) == "mynet"
    saved = _fake_saved_model(tmp_path / "exported")
    assert own.check_source(saved).label == "exported"
    assert own.check_source(saved, "mine").label == "mine"


def test_which_from_values_are_keras_models(tmp_path: Path) -> None:
    assert own.is_keras_source("a.keras") and own.is_keras_source("a.h5")
    assert own.is_keras_source(str(tmp_path))  # a folder: a SavedModel
    assert not own.is_keras_source("a.tflite")
    assert not own.is_keras_source("mobilenet_v2_1.0_224.tgz")
    assert not own.is_keras_source("https://host/net.keras")  # downloads are .tflite/.tgz only


def test_a_saved_models_hash_covers_its_variables(tmp_path: Path) -> None:
    # The cache key holds the content hash: retrained weights must convert again.
    one = own.check_source(_fake_saved_model(tmp_path / "a", b"w1"), "net")
    two = own.check_source(_fake_saved_model(tmp_path / "b", b"w2"), "net")
    same = own.check_source(_fake_saved_model(tmp_path / "c", b"w1"), "net")
    assert one.sha256 != two.sha256
    assert one.sha256 == same.sha256
    keys = {own.recipe_for_source(s, "fp32").stem() for s in (one, two, same)}
    assert len(keys) == 2
    assert own.recipe_for_source(one, "fp32").key() != own.recipe_for_source(one, "int8").key()


def test_bad_paths_exit_2_with_one_line_before_tensorflow(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad.keras").write_bytes(b"not a zip")
    code = (
        "import sys\n"
        "from harness.cli import main\n"
        "rc = main(sys.argv[1:])\n"
        "print('RESULT', rc, 'tensorflow' in sys.modules, file=sys.stderr)\n"
    )
    for bad in ("empty", "bad.keras", "gone.h5"):
        proc = subprocess.run(
            [sys.executable, "-c", code, "convert", "--from", str(tmp_path / bad)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        *lines, result = proc.stderr.strip().splitlines()
        assert result == f"RESULT {EXIT_INPUT} False", proc.stderr
        assert len(lines) == 1 and lines[0].startswith(f"error: {tmp_path / bad}: "), lines


def test_a_label_run_could_not_use_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "net.keras"
    with zipfile.ZipFile(model, "w") as archive:
        archive.writestr("config.json", "{}")
    assert main(["convert", "--from", f"my net={model}"]) == EXIT_INPUT
    assert "label 'my net' cannot name a model" in capsys.readouterr().err
    long = "n" * 36  # n..._dynamic is over 40
    assert main(["convert", "--from", f"{long}={model}", "--quant", "dynamic"]) == EXIT_INPUT
    assert main(["convert", "--from", f"a={model}", "--from", f"A={model}"]) == EXIT_INPUT
    assert "two models labelled 'A'" in capsys.readouterr().err


# --- real conversions (TensorFlow) ---------------------------------------------------


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny Keras model (conv, pooling, dense; 12x12x3 input) in each format."""
    import keras

    folder = tmp_path_factory.mktemp("own-models")
    keras.utils.set_random_seed(7)
    inputs = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.DepthwiseConv2D(3)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(5)(x))
    model.save(folder / "tiny.keras")
    model.save(folder / "tiny.h5")
    model.export(str(folder / "tiny_saved"))
    keras.backend.clear_session()
    return {
        "keras": folder / "tiny.keras",
        "h5": folder / "tiny.h5",
        "saved_model": folder / "tiny_saved",
    }


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["keras", "h5", "saved_model"])
def test_each_format_converts_fp32_and_int8(
    saved: dict[str, Path], kind: str, tmp_path: Path
) -> None:
    source = own.check_source(saved[kind], f"tiny-{kind}")
    models = own.convert_source(source, ["fp32", "int8"], jobs=1, out_dir=tmp_path, progress=False)
    assert [m.quant for m in models] == ["fp32", "int8"]
    fp32, int8 = (analyze(m.path) for m in models)
    assert [m.path.name for m in models] == [f"tiny-{kind}_fp32.tflite", f"tiny-{kind}_int8.tflite"]
    assert fp32.input_shape == [1, 12, 12, 3] and fp32.input_dtype == "float32"
    assert fp32.output_shape == [1, 5]
    # conv 10x10x4x(3x3x3) + depthwise 8x8x4x(3x3) + dense 4x5
    assert fp32.macs == 10 * 10 * 4 * 27 + 8 * 8 * 4 * 9 + 4 * 5
    assert int8.input_shape == [1, 12, 12, 3]
    assert (int8.input_dtype, int8.output_dtype) == ("int8", "int8")
    assert int8.macs == fp32.macs


@pytest.mark.slow
def test_a_second_conversion_comes_from_the_cache(saved: dict[str, Path]) -> None:
    source = own.check_source(saved["keras"], "tiny-cached")
    first = own.convert_source(source, ["dynamic"], jobs=1, progress=False)
    again = own.convert_source(source, ["dynamic"], jobs=1, progress=False)
    assert again[0].cached and again[0].sha256 == first[0].sha256
    assert again[0].path == first[0].path
    entry = ModelCache().lookup(own.recipe_for_source(source, "dynamic").stem())
    assert entry is not None and entry.facts.recipe.source_sha256 == source.sha256


@pytest.mark.slow
def test_cli_prints_the_run_option_and_json(
    saved: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["convert", "--from", f"mine={saved['saved_model']}", "--quant", "fp16"]
    assert main([*args, "--out", str(out), "--no-progress"]) == 0
    table = capsys.readouterr().out
    assert f"harness run --model mine_fp16={out / 'mine_fp16.tflite'}" in table
    assert main([*args, "--json", "--no-progress"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["id"], row["family"], row["quant"], row["cached"]) == ("mine", "own", "fp16", True)
    assert row["input_shape"] == [1, 12, 12, 3]
    assert row["run_model"] == f"mine_fp16={row['path']}"
