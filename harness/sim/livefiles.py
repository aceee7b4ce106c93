"""Device files whose content is computed when a reader opens them.

A phone's kernel computes /proc/stat or an energy counter at the moment it is
read; a regular file cannot. So such a file is a fifo in the instance root,
bound where the phone has the file, and one thread per fifo answers every
open with `render()` at that moment: a read computes the value, nothing polls
in between. `cat`, mksh's `read` and the sync service read it like a file.

A reader sees the end of its answer only when no writer holds the fifo, so the
next answer waits until every reader of this one has closed it: the kernel's
own open and close events on the fifo (inotify) say when. A reader that is
slow to read its end (a loaded host) would otherwise be handed the next answer
too, as more of its file.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import select
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 2.0
# A reader that holds the fifo this long after its answer is taken to be stuck (a
# process that never closes it): the next reader is served rather than left waiting.
STUCK_READER_S = 10.0
# inotify(7): the events counted, and the queue's overflow.
IN_CLOSE_WRITE, IN_CLOSE_NOWRITE, IN_OPEN, IN_Q_OVERFLOW = 0x08, 0x10, 0x20, 0x4000
IN_CLOEXEC = os.O_CLOEXEC
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len (then len bytes of name)


class OpenCount:
    """How many opens of one path are not closed yet, from the kernel's inotify events.

    Every open counts (the server's own too), and every close: the count is
    the number of file descriptions that hold the path now, as far as the
    events read so far tell.
    """

    def __init__(self, path: Path) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(IN_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        mask = IN_OPEN | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE
        if libc.inotify_add_watch(fd, os.fsencode(path), mask) < 0:
            err = ctypes.get_errno()
            os.close(fd)
            raise OSError(err, f"inotify_add_watch {path}")
        self.fd = fd
        self.held = 0
        self.read_closes = 0  # closes of a read-only open: a reader done with its answer
        self.overflowed = False

    def wait(self, timeout_s: float) -> None:
        """Read the events that arrive within `timeout_s` (at least one, unless it passes)."""
        ready, _w, _x = select.select([self.fd], [], [], timeout_s)
        if not ready:
            return
        data = os.read(self.fd, 64 * _EVENT.size)
        at = 0
        while at + _EVENT.size <= len(data):
            _wd, mask, _cookie, length = _EVENT.unpack_from(data, at)
            at += _EVENT.size + length
            if mask & IN_OPEN:
                self.held += 1
            if mask & (IN_CLOSE_WRITE | IN_CLOSE_NOWRITE):
                self.held -= 1
            if mask & IN_CLOSE_NOWRITE:
                self.read_closes += 1
            if mask & IN_Q_OVERFLOW:
                self.overflowed = True

    def close(self) -> None:
        os.close(self.fd)


class LiveFile:
    """Serves one fifo at `path` with `render()` until stopped."""

    def __init__(self, path: Path, render: Callable[[], str]) -> None:
        self.path = path
        self.render = render
        self._stop = threading.Event()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            os.mkfifo(path, 0o644)
        self._opens = OpenCount(path)  # before the thread: no open goes uncounted
        self._thread = threading.Thread(
            target=self._serve, name=f"sim-live-{path.name}", daemon=True
        )
        self._thread.start()

    def _serve(self) -> None:
        try:
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
                self._until_released()
        finally:
            self._opens.close()

    def _until_released(self) -> None:
        """Wait until the reader of the answer just given has closed the fifo, and nothing
        else holds it (or the file stops).

        A reader's open event may come after the server's own close (the kernel
        reports an open once the opening thread runs on), so the count alone can
        read zero too early: a reader's close must have been seen as well, and
        a reader's open is always reported before its close.
        """
        since = time.monotonic()
        closes = self._opens.read_closes
        while not self._stop.is_set():
            self._opens.wait(1.0)  # returns at the first events: a close, typically
            if self._opens.overflowed:
                # Events were lost, so the count is unknown: start again from no open.
                log.warning("live file %s: inotify queue overflowed", self.path)
                self._opens.held, self._opens.overflowed = 0, False
                return
            if self._opens.held <= 0 and self._opens.read_closes > closes:
                return
            waited = time.monotonic() - since
            if waited >= STUCK_READER_S:
                log.warning(
                    "live file %s: a reader has held it %g s after its answer; serving on",
                    self.path, waited,
                )  # fmt: skip
                self._opens.held = 0
                return

    @property
    def serving(self) -> bool:
        """Whether its thread still answers readers."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """End the thread: wake its blocking open (or its wait) with a reader of our own."""
        self._stop.set()
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
            os.close(fd)
        except OSError:
            pass
        self._thread.join(STOP_TIMEOUT_S)
