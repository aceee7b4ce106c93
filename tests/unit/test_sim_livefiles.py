"""A live file gives each reader one answer, however slowly that reader reads it."""

from __future__ import annotations

import itertools
import os
import select
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.sim.livefiles import LiveFile

# Bounds on waits for what must happen (a ceiling against a hang, never a speed), and
# the look for what must not happen while the first reader holds the file.
CEILING_S = 60.0
LOOK_S = 0.5


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveFile]:
    count = itertools.count(1)
    # No stuck-reader limit: a starved test thread must not look like a stuck reader.
    served = LiveFile(tmp_path / "counter", lambda: f"{next(count)}\n", stuck_after_s=None)
    yield served
    served.stop()


def test_each_open_reads_one_answer(live: LiveFile) -> None:
    answers = [live.path.read_text() for _ in range(50)]
    assert answers == [f"{n}\n" for n in range(1, 51)]


def test_a_reader_that_holds_the_file_gets_its_end_not_the_next_answer(live: LiveFile) -> None:
    first = os.open(live.path, os.O_RDONLY)
    try:
        assert os.read(first, 100) == b"1\n"
        # The server has closed its end of the answer (a reader opening before that would
        # join this answer, as with any fifo): the first reader's end hangs up.
        hangup = select.poll()
        hangup.register(first, select.POLLHUP)
        assert hangup.poll(CEILING_S * 1000)
        got: list[str] = []
        served = threading.Event()

        def second() -> None:
            got.append(live.path.read_text())
            served.set()

        threading.Thread(target=second, daemon=True).start()
        # While the first reader holds the file, no next answer is written into it.
        assert not served.wait(LOOK_S)
        assert os.read(first, 100) == b""  # its end, however late it reads
    finally:
        os.close(first)
    assert served.wait(CEILING_S)
    assert got == ["2\n"]


def test_stop_ends_the_server_while_a_reader_holds_the_file(live: LiveFile) -> None:
    first = os.open(live.path, os.O_RDONLY)
    try:
        assert os.read(first, 100) == b"1\n"
        live.stop()
        assert not live.serving
    finally:
        os.close(first)
