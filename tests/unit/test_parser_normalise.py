"""lineforms.normalise: every prefix a pasted or dumped line carries comes off, not the message."""

from __future__ import annotations

import pytest

from harness.logs.lineforms import FORMS, normalise
from harness.logs.parser import parse

MSG = "count=50 first=5 curr=5 min=4 max=6 avg=5 std=1"


@pytest.mark.parametrize(
    ("raw", "severity"),
    [
        (MSG, None),
        (f"    {MSG}\r\n", None),  # indented paste, Windows line ending
        (f"\t{MSG}", None),
        (f"> {MSG}", None),  # Markdown quote
        (f"INFO: {MSG}", "INFO"),
        (f"  WARN: {MSG}", "WARN"),
        (f"VERBOSE: {MSG}", "VERBOSE"),
        (f"05-31 10:31:13.022 21767 21767 I tflite  : {MSG}", None),  # threadtime
        (f"2022-05-31 10:31:13.022 21767 21767 I tflite  : {MSG}", None),  # threadtime, year
        (f"05-31 10:31:13.022  2000 21767 21767 I tflite  : {MSG}", None),  # uid column
        (f"07-08 15:40:34.274 I/tflite  ( 6794): {MSG}", None),  # time
        (f"I/tflite  ( 6794): {MSG}", None),  # brief
        (f"I( 6794) {MSG}", None),  # process
        (f"I/tflite: {MSG}", None),  # tag
        (f"2023-06-14 10:55:21.084 18088-18088 tflite                  "
         f"org.tensorflow.lite.benchmark        I  {MSG}", None),  # Android Studio
        (f"2021-05-26 10:35:38.971 13129-13129/org.example I/tflite: {MSG}", None),
        # Android Studio Logcat from Electric Eel on: each column but the level may be hidden
        (f"10:04:31.319  2638-2638  tflite          org.tensorflow.lite.benchmark  I  {MSG}",
         None),  # time only
        (f"05:58:19.796 tflite                  com.example.app  I  {MSG}", None),  # no ids
        (f"10:55:20.865  I  {MSG}", None),  # compact view: time and level
        (f"2023-04-04 17:24:18.428 19036-19036                         pid-19036   W  {MSG}",
         None),  # a repeated tag hidden, an unknown package shown as its pid
        (f"2024-01-05 10:12:33.123  1234-1250 tflite  com.example.app  I  {MSG}", None),
        (f"2024-01-05 10:12:33.123 1234 tflite  com.example.app  com.example:bg  A  {MSG}",
         None),  # the pid alone, a process-name column, Android Studio's A (assert)
        (f"1234-1250 tflite  com.example.app  E  {MSG}", None),  # no timestamp
        # Markdown list items (or lines) of inline code
        (f"- `{MSG}`", None),
        (f"    * `INFO: {MSG}`", "INFO"),
        (f"+ `{MSG}`", None),
        (f"12. `VERBOSE: {MSG}`", "VERBOSE"),
        (f"`{MSG}`", None),
        (f"- `05-31 10:31:13.022 21767 21767 I tflite  : {MSG}`", None),
        (f"2017-11-27 08:56:25.497476: I tensorflow/tools/benchmark/x.cc:538] {MSG}", None),
        (f"I0000 00:00:1658183303.208241    8218 stage.cc:78] {MSG}", None),  # glog, abseil
        (f"\x1b[32mINFO: {MSG}\x1b[0m", "INFO"),  # ANSI colour
        (f"05-31 10:31:13.022 21767 21767 I tflite  : INFO: {MSG}", "INFO"),
    ],
)  # fmt: skip
def test_prefixes_come_off(raw: str, severity: str | None) -> None:
    assert normalise(raw) == (MSG, severity)


def test_a_message_that_only_looks_like_a_prefix_is_kept() -> None:
    assert normalise("I/O error: could not read") == ("I/O error: could not read", None)
    assert normalise("E [ops/vsi_nn_op_permute.c:op_setup:203]Error")[0].startswith("E [ops/")
    # the tool's own list of memory figures and a code fence are no Markdown wrapping
    assert normalise("- VmRSS              : 12 MB") == ("- VmRSS              : 12 MB", None)
    assert normalise("```") == ("```", None)
    # an empty Android Studio message is empty, not the columns before it
    assert normalise("2023-04-04 17:24:18.428 19036-19036 tflite  com.x  I") == ("", None)


def test_android_studio_and_markdown_pastes_read_like_the_plain_log() -> None:
    plain = (
        "Running benchmark for at least 1 iterations and at least 0.5 seconds\n"
        "count=3 first=20000 curr=15000 min=15000 max=20000 avg=16666.7 std=2357\n"
        "Running benchmark for at least 50 iterations and at least 1 seconds\n"
        f"{MSG}\n"
    )
    studio = "".join(
        f"10:04:31.319  2638-2638  tflite   org.tensorflow.lite.benchmark  I  {line}\n"
        for line in plain.splitlines()
    )
    markdown = "".join(f"    - `INFO: {line}`\n" for line in plain.splitlines())
    assert parse(plain).to_dict() == parse(studio).to_dict()
    # INFO: tags mark a 2020+ build, which would print a memory line: only that warning differs
    a, b = parse(plain).figures, parse(markdown).figures
    assert (a.count, a.avg_us, a.min_us, a.max_us) == (b.count, b.avg_us, b.min_us, b.max_us)
    assert (a.count, a.avg_us) == (50, 5)


def test_coloured_and_indented_log_reads_like_a_plain_one() -> None:
    plain = (
        "STARTING!\n"
        "Running benchmark for at least 1 iterations and at least 0.5 seconds\n"
        "count=3 first=20000 curr=15000 min=15000 max=20000 avg=16666.7 std=2357\n"
        "Running benchmark for at least 50 iterations and at least 1 seconds\n"
        f"{MSG}\n"
        "Inference timings in us: Init: 1, First inference: 20000, Warmup (avg): 16666.7, "
        "Inference (avg): 5\n"
    )
    dressed = "".join(f"   \x1b[1;34mINFO: {line}\x1b[0m\r\n" for line in plain.splitlines())
    a, b = parse(plain).to_dict(), parse(dressed).to_dict()
    assert a["avg_us"] == b["avg_us"] == 5 and a["count"] == b["count"] == 50
    assert a == b


def test_every_line_form_documents_its_releases_and_fills() -> None:
    names = [form.name for form in FORMS]
    assert len(names) == len(set(names))
    assert all(form.releases and form.fills and form.key for form in FORMS)
