"""harness.convert.cache: recipe keys, atomic writes, and what a lookup trusts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from harness import catalogue
from harness.convert import cache as cache_module
from harness.convert import core
from harness.convert.analysis import analyze_bytes
from harness.convert.cache import EntryFacts, ModelCache, Recipe
from harness.convert.core import convert_many, recipe_for
from harness.convert.tflite import ConverterSettings
from harness.convert.worker import ConvertResult, ConvertTask
from harness.errors import ModelError, UnknownQuantError
from harness.outputs import write_atomic

DATA = Path(__file__).parent.parent / "data" / "convert"
TINY = (DATA / "tiny_fp32.tflite").read_bytes()
EMPTY = EntryFacts.from_dict({})  # an entry's facts beyond the bytes do not matter here


def base_recipe() -> Recipe:
    return recipe_for(catalogue.get("mobilenet_v2_0.35_96"), "fp32")


def test_key_is_stable_and_changes_with_every_input() -> None:
    base = base_recipe()
    assert base.key() == base_recipe().key()
    variants = [
        replace(base, family="v1"),
        replace(base, depth_multiplier=0.5),
        replace(base, resolution=128),
        replace(base, quant="int8"),
        replace(base, classes=1001),
        replace(base, weights_sha256="ab" * 32),
        replace(base, settings=ConverterSettings(optimizations=("DEFAULT",))),
    ]
    keys = {r.key() for r in variants} | {base.key()}
    assert len(keys) == len(variants) + 1


def test_key_includes_tool_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    before = base_recipe().key()
    monkeypatch.setattr(cache_module, "tool_versions", lambda: {"tensorflow": "9.9", "keras": "9"})
    assert base_recipe().key() != before


def test_tool_versions_come_from_installed_metadata() -> None:
    versions = cache_module.tool_versions()
    assert versions["tensorflow"] != "absent"
    assert versions["keras"] != "absent"


def test_quant_settings_differ_per_quant() -> None:
    variant = catalogue.get("mobilenet_v2_0.35_96")
    recipes = [recipe_for(variant, q) for q in ("fp32", "int8", "dynamic", "fp16")]
    assert len({r.key() for r in recipes}) == 4
    assert recipes[1].settings.inference_input_type == "int8"
    with pytest.raises(UnknownQuantError, match="int4"):
        recipe_for(variant, "int4")


def test_store_then_lookup(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path)
    stem = base_recipe().stem()
    assert cache.lookup(stem) is None
    entry = cache.store(stem, TINY, EntryFacts.from_dict({"note": "x"}))
    found = cache.lookup(stem, verify_hash=True)
    assert found is not None
    assert found.path == entry.path
    assert found.path.read_bytes() == TINY
    assert found.facts.size_bytes == len(TINY)
    assert found.facts.extra["note"] == "x"  # a key this harness does not know is kept


def test_model_without_metadata_is_not_trusted(tmp_path: Path) -> None:
    # What a crash between the two writes (or an old non-atomic writer) leaves.
    cache = ModelCache(tmp_path)
    stem = base_recipe().stem()
    model, _ = cache.paths(stem)
    write_atomic(model, TINY)
    assert cache.lookup(stem) is None


def test_size_mismatch_is_not_trusted(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path)
    stem = base_recipe().stem()
    entry = cache.store(stem, TINY, EMPTY)
    entry.path.write_bytes(TINY[: len(TINY) // 2])
    assert cache.lookup(stem) is None


def test_same_size_corruption_is_caught_by_hash_verification(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path)
    stem = base_recipe().stem()
    entry = cache.store(stem, TINY, EMPTY)
    entry.path.write_bytes(TINY[:-1] + bytes([TINY[-1] ^ 0xFF]))
    assert cache.lookup(stem) is not None  # the fast path checks sizes only
    assert cache.lookup(stem, verify_hash=True) is None


def test_unreadable_metadata_is_not_trusted(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path)
    stem = base_recipe().stem()
    _, meta = cache.paths(stem)
    cache.store(stem, TINY, EMPTY)
    meta.write_text("{not json", "utf-8")
    assert cache.lookup(stem) is None


def test_interrupted_write_leaves_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "m.tflite"
    write_atomic(target, b"old")

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, TINY)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.tflite"]


def test_killed_writer_leaves_nothing_a_lookup_trusts(tmp_path: Path) -> None:
    """SIGKILL in the middle of writing a model: no entry, only a hidden temp file."""
    cache = ModelCache(tmp_path)
    stem = base_recipe().stem()
    model, _ = cache.paths(stem)
    writer = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from harness.outputs import write_atomic\n"
        "def chunks():\n"
        "    yield b'TFL3' * 1000\n"
        "    print('writing', flush=True)\n"
        "    time.sleep(60)\n"
        "    yield b'never'\n"
        "write_atomic(Path(sys.argv[1]), chunks())\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", writer, str(model)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert not model.exists()
    leftovers = [p.name for p in cache.root.iterdir()]
    assert leftovers and all(name.startswith(".") for name in leftovers)
    assert cache.lookup(stem) is None
    # A later run stores the entry normally beside the leftover.
    cache.store(stem, TINY, EMPTY)
    assert cache.lookup(stem, verify_hash=True) is not None


def test_restore_drops_a_stale_commit_mark_first(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path)
    stem = base_recipe().stem()
    first = cache.store(stem, TINY, EntryFacts.from_dict({"generation": 1}))
    first.path.write_bytes(TINY[: len(TINY) // 2])  # no longer trusted: converted again
    cache.store(stem, TINY + b"\0" * 8, EntryFacts.from_dict({"generation": 2}))
    entry = cache.lookup(stem, verify_hash=True)
    assert entry is not None
    assert entry.facts.extra["generation"] == 2


def test_a_complete_entry_stored_again_keeps_the_first_conversion(tmp_path: Path) -> None:
    """Two runs on one cache that convert the same recipe at once: the second store finds
    the first's entry and keeps it, so the file never changes under the run using it (a
    conversion's bytes differ each time: random weights)."""
    cache = ModelCache(tmp_path)
    stem = base_recipe().stem()
    first = cache.store(stem, TINY, EntryFacts.from_dict({"generation": 1}))
    second = cache.store(stem, TINY[:-1] + b"\x01", EntryFacts.from_dict({"generation": 2}))
    assert second.path == first.path and second.facts == first.facts
    assert first.path.read_bytes() == TINY
    assert cache.lookup(stem, verify_hash=True) is not None


def _seed_cache(root: Path, variant_id: str, quant: str) -> None:
    recipe = recipe_for(catalogue.get(variant_id), quant)
    facts = EntryFacts(recipe=recipe, source="keras", analysis=analyze_bytes(TINY))
    ModelCache(root).store(recipe.stem(), TINY, facts)


def test_convert_many_takes_cached_models_without_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_workers(fn: object, tasks: list[object], **kwargs: object) -> list[object]:
        assert tasks == [], "a cached model was converted again"
        return []

    monkeypatch.setattr(core, "run_tasks", no_workers)
    _seed_cache(tmp_path, "mobilenet_v2_0.35_96", "fp32")
    _seed_cache(tmp_path, "mobilenet_v2_0.35_128", "fp32")
    out = tmp_path / "out"
    models = convert_many(
        catalogue.select("v2:0.35_128,v2:0.35_96"), ["fp32"], cache_root=tmp_path, out_dir=out
    )
    assert [m.variant.id for m in models] == ["mobilenet_v2_0.35_128", "mobilenet_v2_0.35_96"]
    assert all(m.cached for m in models)
    # A run whose models all come from the cache says so (and no bar starts).
    assert capsys.readouterr().err == "all 2 model(s) come from the cache: nothing to convert\n"
    assert [p.name for p in sorted(out.iterdir())] == [
        "mobilenet_v2_0.35_128_fp32.tflite",
        "mobilenet_v2_0.35_96_fp32.tflite",
    ]
    assert models[0].path.read_bytes() == TINY
    assert models[0].to_dict()["macs"] == analyze_bytes(TINY).macs
    assert json.loads(json.dumps(models[0].to_dict()))["cached"] is True


def test_missing_models_go_to_workers_largest_first_and_come_back_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scheduling order differs from the result order; each result lands in its place."""
    seen: list[str] = []

    def fake_workers(
        fn: object, tasks: list[ConvertTask], **kwargs: object
    ) -> Iterator[tuple[int, ConvertResult]]:
        # Finish in reverse order of submission, as a real pool may.
        for index, task in reversed(list(enumerate(tasks))):
            recipe = task.recipe
            seen.append(recipe.variant)
            payload = TINY + recipe.variant.encode()  # distinct bytes per variant
            facts = EntryFacts(recipe=recipe, analysis=analyze_bytes(TINY))
            entry = ModelCache(task.cache_root).store(recipe.stem(), payload, facts)
            yield index, ConvertResult(facts=entry.facts)

    monkeypatch.setattr(core, "run_tasks", fake_workers)
    _seed_cache(tmp_path, "mobilenet_v2_0.5_96", "fp32")  # one already cached
    chosen = catalogue.select("v2:0.35_96,v2:1.4_224,v2:0.5_96,v2:1.0_128")
    models = convert_many(chosen, ["fp32"], cache_root=tmp_path, progress=False)
    assert [m.variant.id for m in models] == [v.id for v in chosen]
    assert [m.cached for m in models] == [False, False, True, False]
    for model in models[:2] + models[3:]:
        assert model.path.read_bytes().endswith(model.variant.id.encode())
    # Submitted largest first (here reversed by the fake pool's finishing order).
    assert seen[::-1] == ["mobilenet_v2_1.4_224", "mobilenet_v2_1.0_128", "mobilenet_v2_0.35_96"]


def test_unwritable_out_dir_is_a_clear_error(tmp_path: Path) -> None:
    _seed_cache(tmp_path, "mobilenet_v2_0.35_96", "fp32")
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(ModelError, match="cannot write") as info:
        convert_many(catalogue.select("v2:0.35_96"), cache_root=tmp_path, out_dir=blocker / "out")
    assert info.value.path.startswith(str(blocker))
