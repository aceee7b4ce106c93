"""Device files whose content is computed when a reader opens them.

A phone's kernel computes /proc/stat or an energy counter at the moment it is
read; a regular file cannot. So such a file is a fifo in the instance root,
bound where the phone has the file, and one thread per fifo answers every
open with `render()` at that moment: a read computes the value, nothing polls
in between. `cat`, mksh's `read` and the sync service read it like a file.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

# A reader still draining one answer would otherwise be handed the next one too;
# answers are a few kB at most, far within this pause.
REOPEN_PAUSE_S = 0.02
STOP_TIMEOUT_S = 2.0


class LiveFile:
    """Serves one fifo at `path` with `render()` until stopped."""

    def __init__(self, path: Path, render: Callable[[], str]) -> None:
        self.path = path
        self.render = render
        self._stop = threading.Event()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            os.mkfifo(path, 0o644)
        self._thread = threading.Thread(
            target=self._serve, name=f"sim-live-{path.name}", daemon=True
        )
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                fd = os.open(self.path, os.O_WRONLY)  # blocks until a reader opens
            except OSError:
                return
            try:
                if self._stop.is_set():
                    return
                try:
                    text = self.render()
                except Exception:  # a broken answer must not end the file for good
                    log.exception("live file %s could not be computed", self.path)
                    text = ""
                os.write(fd, text.encode())
            except OSError as exc:
                if exc.errno != errno.EPIPE:  # the reader left early: fine
                    return
            finally:
                os.close(fd)
            self._stop.wait(REOPEN_PAUSE_S)

    def stop(self) -> None:
        """End the thread: wake its blocking open with a reader of our own."""
        self._stop.set()
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
            os.close(fd)
        except OSError:
            pass
        self._thread.join(STOP_TIMEOUT_S)
