"""Real conversions with the TF converter (slow): published figures, quantizations, cache.

Only the smallest variants are converted, once per test session (the cache in
$HARNESS_CACHE_DIR is shared); `benchmarks/bench_convert.py --check-all`
checks all 38.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from harness import catalogue
from harness.convert import ConvertedModel, cache_dir, convert_many, recipe_for
from harness.convert.cache import ModelCache
from harness.errors import ConversionError

pytestmark = pytest.mark.slow

V2 = "mobilenet_v2_0.35_96"
V1 = "mobilenet_v1_0.25_128"
CLI = "import sys; from harness.cli import main; sys.exit(main())"
QUANTS = ("fp32", "int8", "dynamic", "fp16")


@pytest.fixture(scope="module")
def converted() -> dict[tuple[str, str], ConvertedModel]:
    """The representative subset: both families in fp32, every quantization of one."""
    models = convert_many(catalogue.select([V2]), QUANTS, jobs=2, progress=False)
    models += convert_many(catalogue.select([V1]), ["fp32"], jobs=2, progress=False)
    return {(m.variant.id, m.quant): m for m in models}


def test_v2_fp32_reproduces_the_published_macs_and_params(
    converted: dict[tuple[str, str], ConvertedModel],
) -> None:
    model = converted[(V2, "fp32")]
    published = model.variant.published
    assert model.macs // 1_000_000 == published.macs_m
    assert round(model.weight_params / 1e6, 2) == published.params_m
    assert model.matches_published
    assert model.analysis.input_shape == [1, 96, 96, 3]
    assert model.analysis.input_dtype == "float32"
    assert model.analysis.output_shape == [1, 1000]


def test_v1_fp32_reproduces_the_published_row(
    converted: dict[tuple[str, str], ConvertedModel],
) -> None:
    # The V1 table counts the slim checkpoint's variables (harness/convert/published.py).
    model = converted[(V1, "fp32")]
    published = model.variant.published
    assert abs(model.macs / 1e6 - published.macs_m) < 1
    assert model.params_m == published.params_m
    assert model.matches_published
    assert model.analysis.input_shape == [1, 128, 128, 3]


@pytest.mark.parametrize("quant", QUANTS[1:])
def test_quantizations_keep_the_architecture(
    converted: dict[tuple[str, str], ConvertedModel], quant: str
) -> None:
    fp32, other = converted[(V2, "fp32")], converted[(V2, quant)]
    assert (other.macs, other.weight_params) == (fp32.macs, fp32.weight_params)
    assert other.sha256 != fp32.sha256


def test_int8_has_int8_io_and_a_quarter_of_the_size(
    converted: dict[tuple[str, str], ConvertedModel],
) -> None:
    int8, fp32 = converted[(V2, "int8")], converted[(V2, "fp32")]
    assert (int8.analysis.input_dtype, int8.analysis.output_dtype) == ("int8", "int8")
    # int8 weights are 1/4 of float32; int32 biases and scales add a little.
    assert 0.22 < int8.size_bytes / fp32.size_bytes < 0.32


def test_fp16_is_half_and_dynamic_a_quarter(
    converted: dict[tuple[str, str], ConvertedModel],
) -> None:
    fp32 = converted[(V2, "fp32")].size_bytes
    assert 0.45 < converted[(V2, "fp16")].size_bytes / fp32 < 0.55
    assert 0.22 < converted[(V2, "dynamic")].size_bytes / fp32 < 0.32
    assert converted[(V2, "dynamic")].analysis.input_dtype == "float32"


def test_litert_runs_the_int8_model(converted: dict[tuple[str, str], ConvertedModel]) -> None:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(converted[(V2, "int8")].path))
    interpreter.allocate_tensors()
    (model_input,) = interpreter.get_input_details()
    (model_output,) = interpreter.get_output_details()
    assert model_input["dtype"] == np.int8
    interpreter.set_tensor(model_input["index"], np.zeros((1, 96, 96, 3), dtype=np.int8))
    interpreter.invoke()
    assert interpreter.get_tensor(model_output["index"]).shape == (1, 1000)


def test_second_run_converts_nothing(converted: dict[tuple[str, str], ConvertedModel]) -> None:
    again = convert_many(catalogue.select([V2]), QUANTS, jobs=2, progress=False)
    assert all(m.cached for m in again)
    assert [(m.path, m.sha256) for m in again] == [
        (converted[(V2, q)].path, converted[(V2, q)].sha256) for q in QUANTS
    ]
    assert all(m.path.parent == cache_dir() / "models" for m in again)


def _run_cli(args: list[str]) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    """Run the CLI in a fresh interpreter; report whether TensorFlow got imported."""
    code = (
        "import json, sys\n"
        "from harness.cli import main\n"
        f"rc = main({args!r})\n"
        "print(json.dumps({'rc': rc, 'tf': 'tensorflow' in sys.modules}), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    return proc, json.loads(proc.stderr.strip().splitlines()[-1])


def test_cached_convert_does_not_import_tensorflow(
    converted: dict[tuple[str, str], ConvertedModel],
) -> None:
    proc, status = _run_cli(
        ["convert", "--variants", f"{V2},{V1}", "--quant", "fp32", "--json", "--no-progress"]
    )
    assert status == {"rc": 0, "tf": False}
    rows = json.loads(proc.stdout)
    assert [(r["id"], r["cached"]) for r in rows] == [(V2, True), (V1, True)]
    contract = {"id", "quant", "path", "sha256", "size_bytes", "macs", "weight_params", "cached"}
    assert contract <= rows[0].keys()


def test_variants_shows_computed_figures_for_cached_models(
    converted: dict[tuple[str, str], ConvertedModel],
) -> None:
    proc, status = _run_cli(["variants", "--json"])
    assert status == {"rc": 0, "tf": False}
    rows = {r["id"]: r for r in json.loads(proc.stdout)}
    assert rows[V2]["computed"]["macs_m"] == rows[V2]["published"]["macs_m"]
    assert rows[V1]["computed"]["params_m"] == rows[V1]["published"]["params_m"]
    assert rows[V1]["computed"]["matches_published"] is True
    text, _ = _run_cli(["variants", "--family", "v1"])
    line = next(li for li in text.stdout.splitlines() if li.startswith(V1 + " "))
    assert "14 / 14" in line and "0.47 / 0.47" in line


def test_bad_weights_fail_with_the_variant_named(tmp_path: Path) -> None:
    weights = tmp_path / "wrong.weights.h5"
    weights.write_bytes(b"not an HDF5 file")
    with pytest.raises(ConversionError) as info:
        convert_many(catalogue.select([V2]), ["fp32"], weights=weights, progress=False)
    assert info.value.variant == V2
    assert "wrong.weights.h5" in str(info.value)


def test_killed_conversion_leaves_nothing_to_trust(tmp_path: Path) -> None:
    """Kill `harness convert` (and its workers) mid-conversion; the cache stays clean."""
    # Unbuffered, so the worker's log shows at once how far the conversion got.
    env = {**os.environ, "HARNESS_CACHE_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI, "convert", "--variants", V2, "--quant", "dynamic"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    logs = tmp_path / "logs"
    deadline = time.monotonic() + 120
    # Keras has exported the SavedModel: the TF converter itself is now running.
    while not any("Saved artifact" in p.read_text(errors="replace") for p in logs.glob("*.log")):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    models = tmp_path / "models"
    visible = [p for p in models.iterdir() if not p.name.startswith(".")] if models.exists() else []
    assert visible == []
    recipe = recipe_for(catalogue.get(V2), "dynamic")
    assert ModelCache(tmp_path).lookup(recipe.stem()) is None
