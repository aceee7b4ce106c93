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
