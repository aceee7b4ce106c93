"""Hostile input files: each is one clear line and exit 2, after bounded work (harness.inputs).

A path may name /dev/zero, a FIFO, a link to either, a directory or a file of
gigabytes; a file may nest JSON or TOML a hundred thousand levels deep, hold an
integer of five thousand digits, or (an archive, a flatbuffer) ask for far more
work than its size. Cases that would hang or fill the memory if the refusal
regressed run the CLI in a child process with a memory limit; pytest's own
timeout is the only clock, and no assertion is about time.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import resource
import struct
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.cli import main
from harness.convert import archive
from harness.convert.analysis import analyze_bytes
from harness.errors import EXIT_FAILURES, EXIT_INPUT, EXIT_OK, ModelError
from harness.inputs import LOG_BYTES, MAX_DEPTH, MODEL_BYTES, TRIALS_BYTES
from harness.textsafe import MAX_LINE
from tests.support.synthetic import noisy_latencies, write_run

A = "mobilenet_v2_1.0_224"
DATA = Path(__file__).parent.parent / "data"
TINY = (DATA / "convert" / "tiny_fp32.tflite").read_bytes()
LOG = DATA / "benchmark_model" / "era2020_ti_am62_cpu.log"
OPS_LOG = DATA / "benchmark_model" / "derived_xnnpack_ops_table.log"


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "unexpected" not in lines[0], err
    return lines[0]


def _limit_memory() -> None:  # in the child: a regression fails with MemoryError, not the host
    resource.setrlimit(resource.RLIMIT_DATA, (1 << 31, 1 << 31))


def harness(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`harness ARGS` in a child process with at most 2 GiB of data memory."""
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True,
        cwd=cwd, env={**os.environ, **(env or {})}, preexec_fn=_limit_memory, check=False,
    )  # fmt: skip


# -- what an input path may name ------------------------------------------------------------


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _zero(path: Path) -> Path:
    path.symlink_to("/dev/zero")
    return path


def _link_to_fifo(path: Path) -> Path:
    _fifo(path.with_name(path.name + ".fifo"))
    path.symlink_to(path.with_name(path.name + ".fifo"))
    return path


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


KINDS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "fifo": (_fifo, "is a FIFO, not a regular file"),
    "link-to-dev-zero": (_zero, "is a character device, not a regular file"),
    "link-to-fifo": (_link_to_fifo, "is a FIFO, not a regular file"),
    "folder": (_folder, "is a directory, not a regular file"),
}


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize(
    "command",
    [
        ["inspect", "{}/m.tflite"],
        ["inspect", "{}/m.tgz"],
        ["convert", "--from", "{}/m.tflite", "--variants", "v2:0.35_96"],
        ["convert", "--from", "{}/mobilenet_v2_0.35_96.tgz"],
        ["parse", "{}/b.log"],
        ["parse", str(LOG), "--stderr", "{}/b.log"],
    ],
    ids=["inspect", "inspect-tgz", "convert-from", "convert-from-tgz", "parse", "parse-stderr"],
)
def test_an_input_that_is_not_a_regular_file_is_refused(
    tmp_path: Path, kind: str, command: list[str]
) -> None:
    make, said = KINDS[kind]
    if kind == "folder" and command[0] == "convert":
        # `convert --from` takes a SavedModel folder: one without saved_model.pb is refused.
        said = "not a SavedModel: no saved_model.pb in this folder"
    args = [a.replace("{}", str(tmp_path)) for a in command]
    target = next(Path(a) for a in args if a.startswith(str(tmp_path)))
    make(target)
    proc = harness(*args, cwd=tmp_path, env={"HARNESS_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode == EXIT_INPUT, proc.stderr
    line = one_error_line(proc.stderr)
    assert said in line and str(target) in line


def test_dev_zero_itself(tmp_path: Path) -> None:
    for args in (["inspect", "/dev/zero"], ["parse", "/dev/zero"]):
        proc = harness(*args, cwd=tmp_path)
        assert proc.returncode == EXIT_INPUT, proc.stderr
        assert "/dev/zero: is a character device" in one_error_line(proc.stderr)


@pytest.mark.parametrize(
    ("name", "limit", "args"),
    [
        ("m.tflite", MODEL_BYTES, ["inspect"]),
        ("b.log", LOG_BYTES, ["parse"]),
    ],
)
def test_a_file_over_its_size_bound_is_refused_unread(
    tmp_path: Path, name: str, limit: int, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    huge = tmp_path / name
    with open(huge, "wb") as fh:
        fh.truncate(limit + 1)  # sparse: no disk, and nothing is read
    assert main([*args, str(huge)]) == EXIT_INPUT
    assert "limit for a" in one_error_line(capsys.readouterr().err)


# -- run folders whose files are hostile ------------------------------------------------------


@pytest.fixture()
def run(tmp_path: Path) -> Path:
    return write_run(tmp_path / "run", noisy_latencies([A], n=4, cv=0.01, seed=1))


READERS = [
    ["report", "{run}", "-o", "{tmp}/r.html"],
    ["baseline", "save", "{run}", "-o", "{tmp}/b.json"],
    ["check", "--baseline", "{run}", "--current", "{run}"],
    ["trend", "{run}"],
]
READER_IDS = ["report", "baseline-save", "check", "trend"]


def _args(command: list[str], run: Path) -> list[str]:
    return [a.format(run=run, tmp=run.parent) for a in command]


@pytest.mark.parametrize("command", READERS, ids=READER_IDS)
@pytest.mark.parametrize("name", ["trials.jsonl", "meta.json"])
def test_a_run_file_that_is_a_fifo_or_dev_zero_is_refused(
    run: Path, command: list[str], name: str
) -> None:
    for make in (_fifo, _zero):
        (run / name).unlink(missing_ok=True)
        make(run / name)
        proc = harness(*_args(command, run))
        assert proc.returncode == EXIT_INPUT, proc.stderr
        line = one_error_line(proc.stderr)
        assert name in line and ("regular file" in line or "no meta.json" in line), line


@pytest.mark.parametrize("command", READERS, ids=READER_IDS)
def test_trials_read_through_a_link_out_of_the_run_folder_are_refused(
    run: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    outside = run.parent / "elsewhere.jsonl"
    (run / "trials.jsonl").rename(outside)
    (run / "trials.jsonl").symlink_to(outside)
    assert main(_args(command, run)) == EXIT_INPUT
    line = one_error_line(capsys.readouterr().err)
    assert "trials.jsonl: is a symbolic link" in line and "inside it" in line


@pytest.mark.parametrize("kind", ["fifo", "link-to-dev-zero"])
@pytest.mark.parametrize("which", ["baseline", "thresholds", "harness.toml"])
def test_a_baseline_thresholds_or_settings_file_that_is_not_regular(
    run: Path, tmp_path: Path, kind: str, which: str
) -> None:
    make, said = KINDS[kind]
    if which == "harness.toml":
        make(tmp_path / "harness.toml")
        proc = harness("devices", "--adb-server", "127.0.0.1:1", cwd=tmp_path)
    else:
        path = make(tmp_path / f"{which}.json")
        option = "--baseline" if which == "baseline" else "--thresholds"
        proc = harness("check", "--baseline", str(run), "--current", str(run), option, str(path))
    assert proc.returncode == EXIT_INPUT, proc.stderr
    assert said in one_error_line(proc.stderr)


def test_a_huge_trials_file_is_refused_unread(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open(run / "trials.jsonl", "r+b") as fh:
        fh.truncate(TRIALS_BYTES + 1)
    assert main(["report", str(run), "-o", str(run.parent / "r.html")]) == EXIT_INPUT
    assert "limit for trials.jsonl" in one_error_line(capsys.readouterr().err)


# -- JSON and TOML nested past the depth bound ------------------------------------------------

DEEP_JSON = '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}"
DEEP_TOML = "x = " + "[" * 100_000 + "]" * 100_000 + "\n"


@pytest.mark.parametrize("command", READERS, ids=READER_IDS)
def test_deep_json_in_meta_json_is_one_line(
    run: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    meta = json.loads((run / "meta.json").read_text())
    text = json.dumps(meta)
    (run / "meta.json").write_text(text[:-1] + ', "deep": ' + DEEP_JSON + "}")
    assert main(_args(command, run)) == EXIT_INPUT
    assert f"nested deeper than {MAX_DEPTH} levels" in one_error_line(capsys.readouterr().err)


def test_deep_json_in_a_trial_line_is_one_line(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = (run / "trials.jsonl").read_text().splitlines()
    lines[0] = lines[0][:-1] + ', "deep": ' + DEEP_JSON + "}"
    (run / "trials.jsonl").write_text("\n".join(lines) + "\n")
    assert main(["report", str(run), "-o", str(run.parent / "r.html")]) == EXIT_INPUT
    line = one_error_line(capsys.readouterr().err)
    assert "line 1" in line and "nested deeper" in line


def test_deep_json_in_a_baseline_and_a_thresholds_file(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "deep.json"
    baseline.write_text(DEEP_JSON)
    assert main(["check", "--baseline", str(baseline), "--current", str(run)]) == EXIT_INPUT
    assert "nested deeper" in one_error_line(capsys.readouterr().err)
    for name, text in (("t.json", DEEP_JSON), ("t.toml", DEEP_TOML)):
        (tmp_path / name).write_text(text)
        code = main(["check", "--baseline", str(run), "--current", str(run),
                     "--thresholds", str(tmp_path / name)])  # fmt: skip
        assert code == EXIT_INPUT
        assert "nested deeper" in one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    "text",
    [DEEP_TOML, "[tool.harness.defaults]\nx = " + "{a = " * 50_000 + "1" + "}" * 50_000],
    ids=["array", "inline-table"],
)
def test_deep_toml_in_harness_toml_is_one_line(
    tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "harness.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    assert main(["devices", "--adb-server", "127.0.0.1:1"]) == EXIT_INPUT
    assert "nested deeper" in one_error_line(capsys.readouterr().err)


def test_a_dotted_key_nested_past_the_bound_is_refused_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "harness.toml").write_text("[defaults]\n" + ".".join(["k"] * 5000) + " = 1\n")
    monkeypatch.chdir(tmp_path)
    assert main(["devices", "--adb-server", "127.0.0.1:1"]) == EXIT_INPUT
    assert "nested deeper" in one_error_line(capsys.readouterr().err)


# -- integers of thousands of digits ----------------------------------------------------------

HUGE = "9" * 5000


def test_a_log_with_a_5000_digit_count_is_parsed_not_crashed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = LOG.read_text()
    log = tmp_path / "huge.log"
    log.write_text(text.replace("count=", f"count={HUGE}", 1))
    assert main(["parse", str(log), "--json"]) in (EXIT_OK, EXIT_FAILURES)
    json.loads(capsys.readouterr().out)
    nodes = tmp_path / "nodes.log"
    nodes.write_text(
        f"INFO: Replacing {HUGE} out of {HUGE} node(s) with delegate "
        "(TfLiteXNNPackDelegate) node, yielding 1 partitions.\n" + text
    )
    assert main(["parse", str(nodes)]) == EXIT_OK, capsys.readouterr().err


def test_an_op_table_holding_inf_gives_json_with_null(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = OPS_LOG.read_text()
    assert "IGEMM\t    0.160\t    0.200\t" in text and "1\tDelegate/HardSwish" in text
    log = tmp_path / "inf.log"
    log.write_text(
        text.replace("IGEMM\t    0.160\t    0.200\t", "IGEMM\t    inf\t    inf\t", 1)
        .replace("1\tDelegate/HardSwish", "inf\tDelegate/HardSwish", 1)
    )  # fmt: skip
    main(["parse", str(log), "--json"])
    out = json.loads(capsys.readouterr().out)
    conv = next(op for op in out["ops"] if op["node_type"].startswith("Convolution"))
    swish = next(op for op in out["ops"] if op["node_type"].startswith("HardSwish"))
    assert conv["avg_ms"] is None and swish["times_called"] is None


@pytest.mark.parametrize("where", ["meta", "baseline"])
def test_json_integers_past_the_digit_bound_are_refused(
    run: Path, tmp_path: Path, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if where == "meta":
        text = (run / "meta.json").read_text()
        (run / "meta.json").write_text(text.replace('"seed": ', f'"seed": {HUGE}, "was": ', 1))
        args = ["check", "--baseline", str(run), "--current", str(run)]
    else:
        path = tmp_path / "b.json"
        path.write_text('{"kind": "harness-baseline", "schema_version": ' + HUGE + "}")
        args = ["check", "--baseline", str(path), "--current", str(run)]
    assert main(args) == EXIT_INPUT
    assert "an integer of 5000 digits" in one_error_line(capsys.readouterr().err)


def test_toml_integers_past_the_digit_bound_are_refused(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.toml"
    path.write_text(f'"mobilenet_v2_*" = {HUGE}\n')
    code = main(["check", "--baseline", str(run), "--current", str(run),
                 "--thresholds", str(path)])  # fmt: skip
    assert code == EXIT_INPUT
    assert "digits" in one_error_line(capsys.readouterr().err)


def test_a_thresholds_file_that_is_not_utf8(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.json"
    path.write_bytes(b'{"mobilenet_v2_\xff": "5%"}')
    code = main(["check", "--baseline", str(run), "--current", str(run),
                 "--thresholds", str(path)])  # fmt: skip
    assert code == EXIT_INPUT
    assert "not UTF-8 text (byte 0xff at offset 15)" in one_error_line(capsys.readouterr().err)


# -- archives: work bounded by the archive's size --------------------------------------------


def _header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    return info.tobuf(format=tarfile.GNU_FORMAT)


def _member(name: str, data: bytes) -> bytes:
    return _header(name, len(data)) + data + bytes(-len(data) % 512)


def test_a_member_claiming_8_gib_is_refused_after_bounded_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """8 GiB of zeros that really are there (8 MB of gzip), then the model behind them."""
    zero_mib = gzip.compress(bytes(1 << 20), compresslevel=9)
    path = tmp_path / "mobilenet_v2_0.35_96.tgz"
    with open(path, "wb") as fh:
        fh.write(gzip.compress(_header("big.ckpt.data", 8 << 30)))
        for _ in range(8 << 10):
            fh.write(zero_mib)
        fh.write(gzip.compress(_member("mobilenet_v2_0.35_96.tflite", TINY) + bytes(1024)))
    assert main(["inspect", str(path)]) == EXIT_INPUT
    line = one_error_line(capsys.readouterr().err)
    assert "the archive unpacks to over" in line and "more than its size allows" in line


def test_an_archive_of_very_many_members_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mobilenet_v2_0.35_96.tgz"
    body = io.BytesIO()
    for i in range(archive.MAX_MEMBERS + 1):
        body.write(_header(f"f{i}", 0))
    body.write(_member("mobilenet_v2_0.35_96.tflite", TINY) + bytes(1024))
    path.write_bytes(gzip.compress(body.getvalue()))
    assert main(["inspect", str(path)]) == EXIT_INPUT
    assert f"over {archive.MAX_MEMBERS} members" in one_error_line(capsys.readouterr().err)


def test_a_bounded_archive_still_yields_its_model(tmp_path: Path) -> None:
    """The control: a plain checkpoint archive, a bzip2 and an xz one, read in one pass."""
    body = _member("./x.ckpt.index", b"index") + _member("./m.tflite", TINY) + bytes(1024)
    for name, packed in (
        ("a.tgz", gzip.compress(body)),
        ("a.tar", body),
    ):
        path = tmp_path / name
        path.write_bytes(packed)
        assert archive.tflite_from_archive(path) == ("./m.tflite", TINY)


# -- flatbuffers: linear work, bounded counts ------------------------------------------------


class Flat:
    """A tiny flatbuffer writer: tables and vectors placed in order, offsets patched at the end."""

    def __init__(self) -> None:
        self.buf = bytearray(b"\0\0\0\0TFL3")
        self.where: dict[str, int] = {}
        self.fixups: list[tuple[int, str]] = [(0, "model")]

    def _align(self) -> None:
        self.buf += bytes(-len(self.buf) % 4)

    def table(self, key: str, fields: dict[int, tuple[str, object]]) -> None:
        ids = sorted(fields)
        self._align()
        vtable = len(self.buf)
        slots = {fid: 4 + 4 * k for k, fid in enumerate(ids)}
        self.buf += struct.pack("<HH", 4 + 2 * (ids[-1] + 1), 4 + 4 * len(ids))
        self.buf += b"".join(struct.pack("<H", slots.get(i, 0)) for i in range(ids[-1] + 1))
        self._align()
        self.where[key] = len(self.buf)
        self.buf += struct.pack("<i", len(self.buf) - vtable)
        for fid in ids:
            kind, value = fields[fid]
            if kind == "ref":
                self.fixups.append((len(self.buf), str(value)))
                self.buf += bytes(4)
            else:
                self.buf += struct.pack("<i" if kind == "i32" else "<bxxx", value)

    def ints(self, key: str, values: list[int]) -> None:
        self._align()
        self.where[key] = len(self.buf)
        self.buf += struct.pack(f"<I{len(values)}i", len(values), *values)

    def refs(self, key: str, targets: list[str]) -> None:
        self._align()
        self.where[key] = len(self.buf)
        self.buf += struct.pack("<I", len(targets))
        for target in targets:
            self.fixups.append((len(self.buf), target))
            self.buf += bytes(4)

    def done(self) -> bytes:
        for pos, key in self.fixups:
            struct.pack_into("<I", self.buf, pos, self.where[key] - pos)
        return bytes(self.buf)


def conv_model(n_ops: int, op_inputs: list[int], shape: list[int]) -> bytes:
    """`n_ops` CONV_2D ops that all are one operator table, over one tensor of `shape`."""
    fb = Flat()
    fb.table("model", {1: ("ref", "codes"), 2: ("ref", "subgraphs"), 4: ("ref", "buffers")})
    fb.refs("codes", ["code"])
    fb.table("code", {0: ("i8", 3), 3: ("i32", 3)})  # CONV_2D
    fb.refs("subgraphs", ["sub"])
    fb.table("sub", {0: ("ref", "tensors"), 1: ("ref", "io"), 2: ("ref", "io"), 3: ("ref", "ops")})
    fb.refs("tensors", ["tensor"])
    fb.table("tensor", {0: ("ref", "shape"), 1: ("i8", 0)})
    fb.ints("shape", shape)
    fb.ints("io", [0])
    fb.refs("ops", ["op"] * n_ops)
    fb.table("op", {0: ("i32", 0), 1: ("ref", "inputs"), 2: ("ref", "outputs")})
    fb.ints("inputs", op_inputs)
    fb.ints("outputs", [0])
    fb.refs("buffers", [])
    return fb.done()


def test_ops_sharing_one_long_input_list_are_read_in_linear_time() -> None:
    n = 20_000
    data = conv_model(n, [0] * n, [1, 1, 1, 1])
    assert len(data) < 170_000
    # Reading every op's whole input list (n * n) would overrun the reader's work budget.
    assert analyze_bytes(data).ops == {"CONV_2D": n}


def test_ops_sharing_one_long_shape_are_refused_by_the_work_budget() -> None:
    n = 4_000
    data = conv_model(n, [0, 0], [1] * n)
    with pytest.raises(ModelError, match="refer to the same data over and over"):
        analyze_bytes(data)


def test_a_tensor_of_absurd_size_is_refused_not_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "digits.tflite"
    path.write_bytes(conv_model(1, [0, 0], [2**31 - 1] * 1000))  # 9,300 digits of elements
    assert main(["inspect", str(path), "--json"]) == EXIT_INPUT
    assert "over 2**48 elements" in one_error_line(capsys.readouterr().err)


# -- an error is one bounded line ------------------------------------------------------------


def test_an_error_naming_a_huge_value_is_cut_to_one_bounded_line(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = "x" * 100_000 + "\nsecond line"
    path = tmp_path / "t.json"
    path.write_text(json.dumps({key: "not a fraction"}))
    code = main(["check", "--baseline", str(run), "--current", str(run),
                 "--thresholds", str(path)])  # fmt: skip
    assert code == EXIT_INPUT
    line = one_error_line(capsys.readouterr().err)
    assert len(line) <= MAX_LINE
    assert "characters cut]" in line and line.endswith("a fraction like 0.05")  # the end survives
