"""The `variants`, `inspect` and `convert` commands: JSON contracts, errors, no TensorFlow.

Real conversions through the CLI are in test_convert_models.py (slow).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from harness import catalogue
from harness.cli import main
from harness.convert.analysis import analyze_bytes
from harness.convert.cache import EntryFacts, ModelCache
from harness.convert.core import recipe_for

DATA = Path(__file__).parent.parent / "data" / "convert"
TINY = DATA / "tiny_fp32.tflite"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_variants_and_inspect_do_not_import_tensorflow() -> None:
    code = (
        "import contextlib, io, json, sys\n"
        "from harness.cli import main\n"
        "codes = []\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    codes.append(main(['--help']))\n"
        "    codes.append(main(['variants']))\n"
        "    codes.append(main(['variants', '--json']))\n"
        f"    codes.append(main(['inspect', {str(TINY)!r}]))\n"
        "print(json.dumps({'codes': codes, 'tf': sorted(m for m in sys.modules\n"
        "    if m == 'tensorflow' or m.startswith(('tensorflow.', 'keras')))}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(proc.stdout) == {"codes": [0, 0, 0, 0], "tf": []}


def test_variants_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "variants", "--json")
    rows = json.loads(out)
    assert code == 0
    assert len(rows) == 38
    for row in rows:
        assert {"id", "family", "depth_multiplier", "resolution", "published"} <= row.keys()
        assert set(row["published"]) >= {"macs_m", "params_m", "top1", "top5", "pixel1_ms"}
    by_id = {r["id"]: r for r in rows}
    assert by_id["mobilenet_v2_1.0_224"]["published"]["pixel1_ms"] == 73.8
    assert by_id["mobilenet_v1_1.0_224"]["published"]["pixel1_ms"] is None


def test_variants_family_filter_and_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "variants", "--family", "v1", "--json")
    assert code == 0
    assert {r["family"] for r in json.loads(out)} == {"v1"}
    assert len(json.loads(out)) == 16
    code, out, _ = run(capsys, "variants", "--family", "v2")
    lines = out.splitlines()
    assert lines[0].startswith("id")
    assert sum(line.startswith("mobilenet_v2_") for line in lines) == 22
    assert "22 variants" in lines[-1]


def test_variants_shows_computed_beside_published_for_cached_models(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Put the tiny model in the cache under 0.35_96's recipe: its figures must
    # show up beside the published ones, and (being tiny) mismatch them.
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path))
    data = TINY.read_bytes()
    recipe = recipe_for(catalogue.get("mobilenet_v2_0.35_96"), "fp32")
    facts = EntryFacts(recipe=recipe, analysis=analyze_bytes(data))
    ModelCache(tmp_path).store(recipe.stem(), data, facts)
    code, out, _ = run(capsys, "variants", "--variants", "v2:0.35_*", "--json")
    assert code == 0
    rows = {r["id"]: r for r in json.loads(out)}
    assert rows["mobilenet_v2_0.35_128"]["computed"] is None
    computed = rows["mobilenet_v2_0.35_96"]["computed"]
    assert computed["macs"] == 9256 and computed["macs_m"] == 0
    assert computed["matches_published"] is False
    code, out, _ = run(capsys, "variants", "--variants", "v2:0.35_*")
    assert code == 0
    line = next(li for li in out.splitlines() if li.startswith("mobilenet_v2_0.35_96 "))
    assert "11 / 0" in line and "MISMATCH" in line
    assert "1 with computed figures" in out


def test_inspect_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "inspect", str(TINY), "--json")
    data = json.loads(out)
    assert code == 0
    assert data["macs"] == 9256 and data["weight_params"] == 184 and data["bias_params"] == 8
    assert data["ops"]["CONV_2D"] == 1
    assert (data["input_shape"], data["input_dtype"]) == ([1, 8, 8, 3], "float32")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["inspect", "{bad}"], "truncated"),
        (["inspect", "{missing}"], "no such file"),
        (["convert", "--variants", "mobilenet_v2_1.0_225"], "did you mean mobilenet_v2_1.0_224"),
        (["convert", "--variants", "v2:0.35_96", "--quant", "int3"], "unknown quantization"),
        (["convert", "--variants", "v2:0.35_*", "--weights", "{bad}"], "one architecture"),
        (["variants", "--variants", "v4:*"], "unknown variant"),
    ],
)
def test_errors_are_one_line_with_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], needle: str
) -> None:
    bad = tmp_path / "half.tflite"
    bad.write_bytes(TINY.read_bytes()[:2000])
    paths = {"bad": str(bad), "missing": str(tmp_path / "nope.tflite")}
    code, out, err = run(capsys, *[a.format(**paths) for a in args])
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert needle in err
    if args[0] == "inspect":
        assert args[1].format(**paths) in err  # the error names the file


def test_inspect_reads_the_tflite_inside_a_checkpoint_archive(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    archive = tmp_path / "mobilenet_v2_0.35_96.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(TINY, arcname="./mobilenet_v2_0.35_96.tflite")
        tar.add(DATA / "make_fixtures.py", arcname="./mobilenet_v2_0.35_96.ckpt.index")
    code, out, _ = run(capsys, "inspect", str(archive), "--json")
    assert code == 0
    assert json.loads(out)["macs"] == 9256
