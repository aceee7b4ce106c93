"""harness.inputs: the one careful way input files are read (the rules of docs/design.md)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from harness.errors import InputFileError
from harness.inputs import (
    MAX_DEPTH,
    MAX_INT_DIGITS,
    loads_json,
    loads_toml,
    open_binary,
    parse_int,
    read_bytes,
    read_json,
    read_text,
    sha256_file,
)
from harness.textsafe import MAX_LINE, one_line


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_json_depth_bound_is_exact() -> None:
    assert loads_json(nested(MAX_DEPTH)) is not None
    with pytest.raises(ValueError, match=f"nested deeper than {MAX_DEPTH} levels"):
        loads_json(nested(MAX_DEPTH + 1))
    objects = '{"a": ' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1)
    with pytest.raises(ValueError, match="nested deeper"):
        loads_json(objects)


def test_brackets_inside_strings_do_not_nest() -> None:
    text = json.dumps({"s": "[" * 10_000 + '\\"{' * 100, "wide": [[1]] * 1000})
    assert loads_json(text)["wide"][999] == [1]


def test_malformed_json_is_still_the_parsers_error() -> None:
    with pytest.raises(json.JSONDecodeError):
        loads_json("[" * 100 + "}" * 100)


def test_integer_digit_bound() -> None:
    assert loads_json("9" * MAX_INT_DIGITS) == int("9" * MAX_INT_DIGITS)
    assert loads_json("-" + "9" * MAX_INT_DIGITS) == -int("9" * MAX_INT_DIGITS)
    with pytest.raises(ValueError, match=f"an integer of {MAX_INT_DIGITS + 1} digits"):
        loads_json("1" * (MAX_INT_DIGITS + 1))
    assert parse_int("+" + "1" * MAX_INT_DIGITS) == int("1" * MAX_INT_DIGITS)
    with pytest.raises(ValueError, match="digits"):
        parse_int("1" * 5000)


def test_toml_bounds() -> None:
    assert loads_toml("x = " + nested(MAX_DEPTH - 1)) == {"x": json.loads(nested(MAX_DEPTH - 1))}
    with pytest.raises(ValueError, match="nested deeper"):
        loads_toml("x = " + nested(MAX_DEPTH))
    with pytest.raises(ValueError, match="digits"):
        loads_toml(f"x = {'9' * (MAX_INT_DIGITS + 1)}")
    with pytest.raises(ValueError, match="digits"):
        loads_toml(f"x = {'9' * 5000}")


def test_a_socket_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        with pytest.raises(InputFileError, match="is a socket, not a regular file"):
            read_json(path, limit=100, what="a file")


def test_a_file_that_grows_past_its_bound_while_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "growing.log"
    path.write_bytes(b"x" * 10)
    with open_binary(path, limit=16, what="a log") as handle:
        with open(path, "ab") as writer:
            writer.write(b"y" * 100)
        with pytest.raises(InputFileError, match="over the 16 bytes limit for a log"):
            handle.read()


def test_bounded_reads_of_regular_files(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"\xe2\x82\xac" * 4)
    assert read_bytes(path, limit=12, what="x") == b"\xe2\x82\xac" * 4
    assert read_text(path, limit=12, what="x") == "\u20ac" * 4
    with pytest.raises(InputFileError, match="12 bytes is over the 11 bytes limit for x"):
        read_bytes(path, limit=11, what="x")
    path.write_bytes(b"ok\xc3")
    with pytest.raises(InputFileError, match=r"not UTF-8 text \(byte 0xc3 at offset 2\)"):
        read_text(path, limit=100, what="x")
    assert len(sha256_file(path, limit=3, what="x")) == 64
    with pytest.raises(FileNotFoundError):
        read_bytes(tmp_path / "absent", limit=1, what="x")


def test_follow_false_refuses_a_link_even_to_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "real").write_text("{}")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert read_json(tmp_path / "link", limit=10, what="x") == {}
    with pytest.raises(InputFileError, match="is a symbolic link"):
        read_json(tmp_path / "link", limit=10, what="x", follow=False)


def test_unreadable_file_is_one_clear_refusal(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    path = tmp_path / "secret.json"
    path.write_text("{}")
    path.chmod(0)
    with pytest.raises(InputFileError, match="cannot read: Permission denied"):
        read_json(path, limit=10, what="x")


def test_one_line_keeps_both_ends_of_a_long_message() -> None:
    text = "start " + "v" * 10_000 + "\nend (hint)"
    line = one_line(text)
    assert len(line) <= MAX_LINE and "\n" not in line
    assert line.startswith("start vvv") and line.endswith("end (hint)")
    assert "characters cut]" in line
    assert one_line("short\nline") == "short line"
