"""harness.convert.analysis: the TFLite flatbuffer reader, on tiny real models.

The fixtures in tests/data/convert/ were made by the TF converter
(tests/data/convert/make_fixtures.py); their cost is small enough to count by
hand, which is what the expected figures below are.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from harness.convert.analysis import ModelAnalysis, analyze, analyze_bytes
from harness.errors import InputFileError, ModelError

DATA = Path(__file__).parent.parent / "data" / "convert"
FP32 = DATA / "tiny_fp32.tflite"
INT8 = DATA / "tiny_int8.tflite"

# 8x8x3 -> Conv2D(4, 3x3, same) -> DepthwiseConv2D(3x3, same) -> GAP -> Dense(10)
CONV_MACS = 8 * 8 * 4 * (3 * 3 * 3)
DW_MACS = 8 * 8 * 4 * (3 * 3)
FC_MACS = 10 * 4
CONV_W, DW_W, FC_W = 4 * 3 * 3 * 3, 3 * 3 * 4, 10 * 4


@pytest.mark.parametrize("path", [FP32, INT8], ids=["fp32", "int8"])
def test_counts_macs_and_weights_by_hand(path: Path) -> None:
    result = analyze(path)
    assert result.macs == CONV_MACS + DW_MACS + FC_MACS
    assert result.weight_params == CONV_W + DW_W + FC_W
    assert result.ops == {
        "CONV_2D": 1,
        "DEPTHWISE_CONV_2D": 1,
        "FULLY_CONNECTED": 1,
        "MEAN": 1,
        "SOFTMAX": 1,
    }
    assert result.input_shape == [1, 8, 8, 3]
    assert result.output_shape == [1, 10]
    assert result.size_bytes == path.stat().st_size


def test_biases_are_counted_as_stored() -> None:
    # The converter drops the Dense layer's all-zero bias (input -1) and keeps
    # one 4-element bias per convolution: 4 + 4.
    assert analyze(FP32).bias_params == 8


def test_dtypes_follow_the_quantization() -> None:
    assert (analyze(FP32).input_dtype, analyze(FP32).output_dtype) == ("float32", "float32")
    assert (analyze(INT8).input_dtype, analyze(INT8).output_dtype) == ("int8", "int8")


def test_round_trips_through_dict() -> None:
    result = analyze(INT8)
    assert ModelAnalysis.from_dict(result.to_dict()) == result


def test_every_truncation_is_a_clear_error() -> None:
    data = FP32.read_bytes()
    for cut in range(len(data)):
        with pytest.raises(ModelError, match="tiny_cut"):
            analyze_bytes(data[:cut], path="tiny_cut.tflite")


def test_truncated_file_error_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "half.tflite"
    broken.write_bytes(FP32.read_bytes()[:1500])
    with pytest.raises(ModelError) as info:
        analyze(broken)
    assert info.value.path == str(broken)
    assert str(broken) in str(info.value)
    assert "truncated" in str(info.value)


def test_random_corruption_never_escapes_as_another_exception() -> None:
    data = INT8.read_bytes()
    rng = random.Random(7)
    outcomes = {"ok": 0, "error": 0}
    for _ in range(2000):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(8, len(mutated))] = rng.randrange(256)
        try:
            analyze_bytes(bytes(mutated))
            outcomes["ok"] += 1
        except ModelError:
            outcomes["error"] += 1
    assert outcomes["error"] > 0  # the corruption is noticed, not silently accepted


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "too short"),
        (b"\x00\x01", "too short"),
        (b"\x10\x00\x00\x00NOPE" + bytes(16), "not a TFLite flatbuffer"),
    ],
)
def test_not_a_model(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.tflite"
    path.write_bytes(content)
    with pytest.raises(ModelError, match=message):
        analyze(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such file"):
        analyze(tmp_path / "absent.tflite")
    with pytest.raises(InputFileError, match="is a directory, not a regular file"):
        analyze(tmp_path)
