"""Host-side pieces of the device layer: quoting, settings, ELF checks, parsers."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from harness.config import Defaults, load_config
from harness.device.binary import classify, parse_help
from harness.device.cores import check_policy
from harness.device.elf import check_abi, read_header
from harness.device.files import remote_path
from harness.device.kv import parse_record
from harness.device.quote import sh_join, sh_quote
from harness.device.servers import parse_server
from harness.device.session import map_adb_error, parse_sha256_line
from harness.device.thermal import zone_temp_c
from harness.errors import (
    BinaryError,
    ConfigError,
    CorePolicyError,
    DeviceError,
    DeviceOfflineError,
    DeviceTimeoutError,
    DeviceUnauthorizedError,
    HarnessError,
)

HOSTILE = [
    "plain",
    "a b",
    "it's",
    '"dq"',
    "$(touch /tmp/pwned)",
    "`id`",
    "x;y|z&",
    "*",
    "~",
    "back\\slash",
    "new\nline",
    "",
    "-n",
    "'",
    "''",
    "$HOME",
    "100%",
]


@pytest.mark.skipif(not shutil.which("mksh"), reason="needs mksh")
def test_sh_join_survives_mksh_word_splitting() -> None:
    script = "for w in " + sh_join(HOSTILE) + '; do printf "[%s]" "$w"; done'
    out = subprocess.run(["mksh", "-c", script], capture_output=True, text=True, check=True).stdout
    assert out == "".join(f"[{w}]" for w in HOSTILE)


def test_sh_quote_leaves_safe_words_bare_and_refuses_nul() -> None:
    assert sh_quote("/data/local/tmp/harness/m.tflite") == "/data/local/tmp/harness/m.tflite"
    assert sh_quote("--num_threads=1") == "--num_threads=1"
    assert sh_quote("it's") == "'it'\\''s'"
    with pytest.raises(ValueError):
        sh_quote("a\x00b")


def test_remote_path_refuses_escapes() -> None:
    assert remote_path("models/a b.tflite") == "/data/local/tmp/harness/models/a b.tflite"
    for bad in ("", "/etc/passwd", "../x", "models/../../x", "a//b", "a\nb"):
        with pytest.raises(HarnessError):
            remote_path(bad)


def test_config_from_harness_toml_and_pyproject(tmp_path: Path) -> None:
    assert load_config(tmp_path).devices == {}
    (tmp_path / "pyproject.toml").write_text(
        '[tool.harness.devices]\nlab1 = "SERIAL1"\n[tool.harness.defaults]\n'
        'adb_server = "lab-host:5037"\ncooldown_temp = 38\n'
    )
    cfg = load_config(tmp_path)
    # Only the keys the harness reads are kept: a key of another tool's is no error.
    assert cfg.resolve_alias("LAB1") == "SERIAL1"
    assert cfg.defaults == Defaults(adb_server="lab-host:5037")
    (tmp_path / "harness.toml").write_text('[devices]\nbench = "10.0.0.7:5555"\n')
    cfg = load_config(tmp_path)  # harness.toml wins
    assert cfg.devices == {"bench": "10.0.0.7:5555"} and cfg.path == tmp_path / "harness.toml"


@pytest.mark.parametrize(
    "text",
    ['[devices\nx = "y"', "[devices]\nlab = 3\n", '[devices]\nall = "SERIAL"\n', "devices = 1\n"],
)
def test_bad_config_is_a_config_error(tmp_path: Path, text: str) -> None:
    (tmp_path / "harness.toml").write_text(text)
    with pytest.raises(ConfigError):
        load_config(tmp_path)


def _elf(path: Path, bits: int, machine: int, little: bool = True) -> Path:
    order = "<" if little else ">"
    head = b"\x7fELF" + bytes([2 if bits == 64 else 1, 1 if little else 2, 1]) + bytes(9)
    path.write_bytes(head + struct.pack(f"{order}HH", 2, machine) + bytes(40))
    return path


def test_elf_abi_check(tmp_path: Path) -> None:
    arm64 = _elf(tmp_path / "arm64", 64, 183)
    arm32 = _elf(tmp_path / "arm32", 32, 40)
    assert read_header(arm64).abi == "arm64-v8a"
    assert check_abi(arm32, ["arm64-v8a", "armeabi-v7a"]).abi == "armeabi-v7a"
    with pytest.raises(BinaryError, match=r"32-bit ARM .*arm64-v8a"):
        check_abi(arm32, ["arm64-v8a"])
    with pytest.raises(BinaryError, match="64-bit AArch64"):
        check_abi(arm64, ["x86_64"])
    host_true = Path("/bin/true")
    if host_true.exists() and read_header(host_true).abi == "x86_64":
        with pytest.raises(BinaryError, match="x86-64"):
            check_abi(host_true, ["arm64-v8a", "armeabi-v7a"])
    (tmp_path / "short").write_bytes(b"\x7fEL")
    with pytest.raises(BinaryError, match="not an ELF"):
        read_header(tmp_path / "short")


def test_parse_help_reads_flags_behind_log_prefixes() -> None:
    # Shape of classic benchmark_model usage (LiteRT tflite/tools/command_line_flags.cc
    # Usage: "--name=default\ttype\toptional\thelp"), logged at ERROR level.
    text = (
        "INFO: STARTING!\nERROR: usage: benchmark_model\nERROR: Flags:\n"
        "ERROR: \t--num_runs=50\tint32\toptional\texpected number of runs\n"
        "\t--graph=\tstring\toptional\tgraph file name\n"
        "  --use_xnnpack=false\tbool\toptional\texplicitly apply XNNPACK\n"
        "ERROR: not a flag -- this one\n"
    )
    first, flags = parse_help(text)
    assert first == "INFO: STARTING!"
    assert flags == {"num_runs", "graph", "use_xnnpack"}


def test_classify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path))
    line = "INFO: harness benchmark_model stand-in 1.0 (LiteRT 2.3.0); not the official TFLite tool"
    assert classify("a" * 64, line) == "stand-in"
    assert classify("a" * 64, "usage: benchmark_model") == "unknown"


def test_parse_sha256_line() -> None:
    digest = "ab" * 32
    assert parse_sha256_line(f"{digest}  /data/x\n", "/data/x", serial="s") == digest
    # sha256sum marks an escaped file name with a leading backslash.
    assert parse_sha256_line(f"\\{digest}  /data/a\\\\b\n", "/x", serial="s") == digest
    assert parse_sha256_line("absent\n", "/data/x", serial="s") is None
    with pytest.raises(DeviceError, match="sha256sum"):
        parse_sha256_line("sh: sha256sum: not found\n", "/data/x", serial="s")


def test_check_policy() -> None:
    assert [check_policy(p) for p in ("BIG", "prime", "little", "all", "0xF0", "c")] == [
        "big",
        "prime",
        "little",
        "all",
        "0xf0",
        "c",
    ]
    for bad in ("turbo", "0", "g0", "0x", "123456789", "c; reboot"):
        with pytest.raises(CorePolicyError):
            check_policy(bad)


def test_parse_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANDROID_ADB_SERVER_HOST", raising=False)
    monkeypatch.setenv("ANDROID_ADB_SERVER_PORT", "5099")
    assert parse_server(None) == ("127.0.0.1", 5099)
    assert parse_server("lab-host:5037") == ("lab-host", 5037)
    assert parse_server("[::1]:5037") == ("::1", 5037)
    with pytest.raises(ConfigError):
        parse_server("lab-host")


def test_map_adb_error_types() -> None:
    from adbutils import AdbError, AdbTimeout

    assert isinstance(map_adb_error(AdbTimeout("x"), serial="s", command="c"), DeviceTimeoutError)
    assert isinstance(map_adb_error(TimeoutError(), serial="s", command="c"), DeviceTimeoutError)
    assert isinstance(map_adb_error(EOFError(), serial="s", command="c"), DeviceOfflineError)
    assert isinstance(map_adb_error(AdbError(""), serial="s", command="c"), DeviceOfflineError)
    unauthorized = map_adb_error(
        AdbError("device unauthorized.\nThis adb server's ..."), serial="s", command="c"
    )
    assert isinstance(unauthorized, DeviceUnauthorizedError) and unauthorized.hint
    gone = map_adb_error(AdbError("device 's' not found"), serial="s", command="ls")
    assert isinstance(gone, DeviceOfflineError) and gone.command == "ls" and gone.serial == "s"


def test_zone_units_and_records() -> None:
    assert zone_temp_c("41200") == pytest.approx(41.2)
    assert zone_temp_c("38") == pytest.approx(38.0)  # an old driver reporting whole degrees
    assert zone_temp_c("") is None
    rec = parse_record("zone=thermal_zone7 temp=36000 type=cpu gold 2")
    assert rec == {"zone": "thermal_zone7", "temp": "36000", "type": "cpu gold 2"}
