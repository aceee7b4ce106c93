"""Bad input and a hostile environment: one line on stderr, exit 2 (input) or 3 (environment).

Exit 70 means a bug; none of these is one. Read-only
and full filesystems are real: a tmpfs mounted in a private user and mount
namespace (`unshare -rm`), with the harness run inside it. `run` is pointed at
an adb server that is not there (127.0.0.1:1): an option that got past
validation would reach the device step and fail there with exit 3, so exit 2
with the option's own message proves the refusal came before any work.
"""

from __future__ import annotations

import errno
import gzip
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import EXIT_DEVICE, EXIT_INPUT, HarnessError, from_os_error
from harness.inputs import MODEL_BYTES
from harness.run import RunSettings
from harness.stages.settings import MAX_TRIALS
from tests.support.synthetic import noisy_latencies, write_run

A = "mobilenet_v2_1.0_224"
DATA = Path(__file__).parent.parent / "data" / "convert"


def _can_mount_tmpfs() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=16k tmpfs /mnt"],
        capture_output=True, timeout=30,
    )  # fmt: skip
    return probe.returncode == 0


needs_tmpfs = pytest.mark.skipif(
    not _can_mount_tmpfs(), reason="needs `unshare -rm` (user namespaces) to mount a tmpfs"
)


@pytest.fixture()
def runs(tmp_path: Path) -> dict[str, Path]:
    base = write_run(tmp_path / "base", noisy_latencies([A], n=5, cv=0.01, seed=1))
    cur = write_run(tmp_path / "cur", noisy_latencies([A], n=5, cv=0.01, seed=2))
    return {"base": base, "cur": cur}


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "unexpected" not in lines[0], err
    return lines[0]


def test_check_junit_or_markdown_naming_a_folder(
    tmp_path: Path, runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    for option in ("--junit", "--markdown"):
        code = main(["check", "--baseline", str(runs["base"]), "--current", str(runs["cur"]),
                     option, str(tmp_path)])  # fmt: skip
        captured = capsys.readouterr()
        assert code == EXIT_INPUT
        assert option in one_error_line(captured.err) and "folder" in captured.err
        assert captured.out == ""  # refused before the comparison is printed


def test_output_under_a_file(
    tmp_path: Path, runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code = main(["check", "--baseline", str(runs["base"]), "--current", str(runs["cur"]),
                 "--junit", str(blocker / "check.xml")])  # fmt: skip
    assert code == EXIT_INPUT
    assert "is a file, not a folder" in one_error_line(capsys.readouterr().err)
    code = main(["baseline", "save", str(runs["base"]), "-o", str(blocker / "b.json")])
    assert code == EXIT_INPUT
    one_error_line(capsys.readouterr().err)


def test_baseline_and_report_output_naming_a_folder(
    tmp_path: Path, runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["baseline", "save", str(runs["base"]), "-o", str(tmp_path)]) == EXIT_INPUT
    assert "--out names a folder" in one_error_line(capsys.readouterr().err)
    assert main(["report", str(runs["base"]), "-o", str(tmp_path)]) == EXIT_INPUT
    assert "--out names a folder" in one_error_line(capsys.readouterr().err)


def _harness_in_tmpfs(mount: Path, options: str, command: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m harness.cli COMMAND` with a fresh tmpfs (`options`) mounted on `mount`."""
    script = f"mount -t tmpfs -o {options} tmpfs {mount} && {command}"
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=120
    )


@needs_tmpfs
def test_read_only_filesystem_is_exit_3(tmp_path: Path, runs: dict[str, Path]) -> None:
    mount = tmp_path / "ro"
    mount.mkdir()
    harness = f"{sys.executable} -m harness.cli"
    proc = _harness_in_tmpfs(
        mount, "ro", f"{harness} baseline save {runs['base']} -o {mount}/b.json"
    )
    assert proc.returncode == EXIT_DEVICE, proc.stderr
    assert "read-only filesystem" in one_error_line(proc.stderr)
    proc = _harness_in_tmpfs(
        mount,
        "ro",
        f"{harness} check --baseline {runs['base']} --current {runs['cur']} "
        f"--markdown {mount}/sub/check.md",
    )
    assert proc.returncode == EXIT_DEVICE, proc.stderr
    assert "--markdown" in one_error_line(proc.stderr)


@needs_tmpfs
def test_full_disk_while_writing_is_exit_3(tmp_path: Path, runs: dict[str, Path]) -> None:
    mount = tmp_path / "full"
    mount.mkdir()
    fill = f"head -c 65536 /dev/zero > {mount}/fill 2>/dev/null;"  # fills the 64 KiB tmpfs
    proc = _harness_in_tmpfs(
        mount, "size=64k",
        f"{fill} {sys.executable} -m harness.cli baseline save {runs['base']} -o {mount}/b.json",
    )  # fmt: skip
    assert proc.returncode == EXIT_DEVICE, proc.stderr
    line = one_error_line(proc.stderr)
    assert "No space left on device" in line and f"{mount}/b.json" in line


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (FileNotFoundError(errno.ENOENT, "No such file or directory", "/x/y"), EXIT_INPUT),
        (IsADirectoryError(errno.EISDIR, "Is a directory", "/x"), EXIT_INPUT),
        (OSError(errno.ENOSPC, "No space left on device"), EXIT_DEVICE),
        (PermissionError(errno.EACCES, "Permission denied", "/x/y"), EXIT_DEVICE),
        (OSError(errno.EROFS, "Read-only file system", "/x/y"), EXIT_DEVICE),
    ],
)
def test_os_errors_map_to_input_or_environment(error: OSError, code: int) -> None:
    mapped = from_os_error(error, path="/fallback")
    assert mapped.exit_code == code
    assert str(mapped) == f"{error.filename or '/fallback'}: {error.strerror}"


def test_sim_port_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "serve", "--port", "99999"]) == EXIT_INPUT
    line = one_error_line(capsys.readouterr().err)
    assert "--port" in line and "65535" in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "--device", "sim", "--seed", "abc"], "'--seed'"),
        (["report"], "Missing argument"),
        (["check", "--baseline", "b.json"], "Missing option '--current'"),
        (["variants", "--no-such-option"], "No such option"),
    ],
)
def test_usage_errors_are_one_line(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == EXIT_INPUT
    line = one_error_line(capsys.readouterr().err)
    assert expected in line and "--help" in line


def test_a_bare_group_still_shows_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    main(["baseline"])
    assert "save" in capsys.readouterr().out  # help, not an error line


# Reading a corrupt run is the validating reader's job (harness.results.validate);
# these pin the exit code and the one line the CLI shows.
def _corrupt(
    run: Path, *, meta: dict[str, object] | None = None, trial: dict[str, object] | None = None
) -> Path:
    if meta:
        doc = json.loads((run / "meta.json").read_text())
        (run / "meta.json").write_text(json.dumps({**doc, **meta}))
    if trial:
        lines = (run / "trials.jsonl").read_text().splitlines()
        lines[0] = json.dumps({**json.loads(lines[0]), **trial})
        (run / "trials.jsonl").write_text("\n".join(lines) + "\n")
    return run


@pytest.mark.parametrize(
    "corruption",
    [{"meta": {"devices": "Pixel"}}, {"trial": {"threads": "x"}}, {"trial": {"latency_ms": 1e308}}],
    ids=["devices-is-a-string", "threads-x", "latency-1e308"],
)
def test_corrupt_run_is_exit_2(
    runs: dict[str, Path],
    corruption: dict[str, dict[str, object]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    current = _corrupt(runs["cur"], **corruption)
    code = main(["check", "--baseline", str(runs["base"]), "--current", str(current)])
    assert code == EXIT_INPUT
    assert str(current) in one_error_line(capsys.readouterr().err)


# Options outside their bounds, or selecting nothing, are refused before any device step.
NO_SERVER = ["--adb-server", "127.0.0.1:1"]


def run_cli(*args: str) -> list[str]:
    return ["run", "--device", "no-such-phone", *NO_SERVER, *args]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--trials", "1000000000"], f"--trials must be <= {MAX_TRIALS}"),
        (["--variants", ""], "--variants selects nothing"),
        (["--variants", ","], "--variants selects nothing"),
        (["--variants", " "], "--variants selects nothing"),
        (["--quant", ","], "--quant selects nothing"),
        (["--cooldown-temp", "-5"], "--cooldown-temp must be above 0"),
    ],
)
def test_run_refuses_before_any_work(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(run_cli(*args)) == EXIT_INPUT
    assert expected in one_error_line(capsys.readouterr().err)


def test_run_out_naming_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "results"
    blocker.write_text("")
    assert main(run_cli("--out", str(blocker))) == EXIT_INPUT
    assert "--out names a file" in one_error_line(capsys.readouterr().err)


def test_bounds_that_pass_reach_the_device_step(capsys: pytest.CaptureFixture[str]) -> None:
    """The control: 0 (documented "off") and the maximum itself are accepted."""
    code = main(run_cli("--cooldown-temp", "0", "--trials", str(MAX_TRIALS)))
    assert code == EXIT_DEVICE, capsys.readouterr().err
    capsys.readouterr()


def test_validate_refuses_the_same_without_the_cli(tmp_path: Path) -> None:
    bad: list[dict[str, object]] = [
        {"trials": MAX_TRIALS + 1}, {"variants": []}, {"cooldown_temp_c": -5.0},
        {"cooldown_temp_c": float("nan")}, {"out": DATA / "tiny_fp32.tflite"},
    ]  # fmt: skip
    for changes in bad:
        settings = RunSettings(devices=["x"], out=tmp_path)
        for name, value in changes.items():
            setattr(settings, name, value)
        with pytest.raises(HarnessError) as info:
            settings.validate()
        assert info.value.exit_code == EXIT_INPUT, changes


@pytest.mark.parametrize("selection", ["", ",", " "])
def test_convert_and_variants_refuse_an_empty_selection(
    selection: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in ("convert", "variants"):
        assert main([command, "--variants", selection]) == EXIT_INPUT
        assert "names no variant" in one_error_line(capsys.readouterr().err)


def test_convert_out_naming_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "models"
    blocker.write_text("")
    code = main(["convert", "--variants", "v2:0.35_96", "--from",
                 str(DATA / "tiny_fp32.tflite"), "--out", str(blocker)])  # fmt: skip
    assert code == EXIT_INPUT
    assert "--out names a file" in one_error_line(capsys.readouterr().err)


def huge_member_archive(path: Path) -> Path:
    """A .tgz whose one member's header claims 1.5 GB (the data is not there at all)."""
    info = tarfile.TarInfo("mobilenet_v2_1.0_224.tflite")
    info.size = 1_500_000_000
    path.write_bytes(gzip.compress(info.tobuf(format=tarfile.GNU_FORMAT)))
    return path


def test_archive_member_over_the_cap_is_refused_from_its_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = huge_member_archive(tmp_path / "mobilenet_v2_1.0_224.tgz")
    assert MODEL_BYTES < 1_500_000_000
    for args in (["inspect", str(archive)], ["convert", "--from", str(archive)]):
        assert main(args) == EXIT_INPUT
        # Reading the member would have failed differently: its data is missing.
        assert "over the 128 MiB limit" in one_error_line(capsys.readouterr().err)


def _in_full_cache(
    tmp_path: Path, size: str, fill: bool, *args: str
) -> subprocess.CompletedProcess[str]:
    """`harness ARGS` with $HARNESS_CACHE_DIR on a fresh tmpfs of `size` (filled if `fill`)."""
    mount = tmp_path / "cache"
    mount.mkdir()
    filler = f"head -c {size} /dev/zero > {mount}/fill 2>/dev/null;" if fill else ""
    command = " ".join([sys.executable, "-m", "harness.cli", *args])
    script = (f"mount -t tmpfs -o size={size} tmpfs {mount} && {filler} "
              f"HARNESS_CACHE_DIR={mount} exec {command}")  # fmt: skip
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=300
    )


@needs_tmpfs
def test_full_model_cache_on_import_is_exit_3(tmp_path: Path) -> None:
    proc = _in_full_cache(tmp_path, "64k", True, "convert", "--variants", "v2:0.35_96",
                          "--from", str(DATA / "tiny_fp32.tflite"))  # fmt: skip
    assert proc.returncode == EXIT_DEVICE, proc.stderr
    assert "No space left on device" in one_error_line(proc.stderr)


@needs_tmpfs
def test_full_model_cache_before_converting_is_exit_3(tmp_path: Path) -> None:
    proc = _in_full_cache(tmp_path, "64k", True, "convert", "--variants", "v2:0.35_96",
                          "--no-progress")  # fmt: skip
    assert proc.returncode == EXIT_DEVICE, proc.stderr
    assert "the model cache cannot take files" in one_error_line(proc.stderr)


@pytest.mark.slow
@needs_tmpfs
def test_cache_filling_up_during_a_conversion_is_exit_3_without_tensor_specs(
    tmp_path: Path,
) -> None:
    # Room for the probe and the converter's log, not for the ~1.7 MB model.
    proc = _in_full_cache(tmp_path, "512k", False, "convert", "--variants", "v2:0.35_96",
                          "--no-progress", "--jobs", "1")  # fmt: skip
    assert proc.returncode == EXIT_DEVICE, proc.stderr
    line = one_error_line(proc.stderr)
    assert "No space left on device" in line
    assert "TensorSpec" not in line and "log:" not in line
