"""Device files whose content is computed when a reader opens them.

A phone's kernel computes /proc/stat or an energy counter at the moment it is
read; a regular file cannot. So such a file is a fifo in the instance root,
bound where the phone has the file, and one thread per fifo answers every
open with `render()` at that moment: a read computes the value, nothing polls
in between. `cat`, mksh's `read` and the sync service read it like a file.

A reader sees the end of its answer only when no writer holds the fifo, so the
next answer waits until the reader of this one has closed it: the kernel's own
close event on the fifo (inotify) says when. A reader that is slow to read its
end (a loaded host) would otherwise be handed the next answer too, as more of
its file.
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
STUCK_READER_S = 60.0
# inotify(7): a close of a read-only open, and the queue's overflow.
IN_CLOSE_NOWRITE, IN_Q_OVERFLOW = 0x10, 0x4000
IN_CLOEXEC = os.O_CLOEXEC
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len (then len bytes of name)


class ReaderCloses:
    """How many times a reader has closed one path, from the kernel's inotify events.

    Only closes of read-only opens count. Opens cannot be counted: inotify
    merges two identical events in a row (the server's open and its reader's),
    and a close of a reader always follows its own open.
    """

    def __init__(self, path: Path) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(IN_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if libc.inotify_add_watch(fd, os.fsencode(path), IN_CLOSE_NOWRITE) < 0:
            err = ctypes.get_errno()
            os.close(fd)
            raise OSError(err, f"inotify_add_watch {path}")
        self.fd = fd
        # poll, not select: a simulator process holds many fds, and select stops at 1024.
        self._poll = select.poll()
        self._poll.register(fd, select.POLLIN)
        self.count = 0
        self.overflowed = False

    def wait(self, timeout_s: float) -> None:
        """Read the events that arrive within `timeout_s` (at least one, unless it passes)."""
        if not self._poll.poll(timeout_s * 1000):
            return
        data = os.read(self.fd, 64 * _EVENT.size)
        at = 0
        while at + _EVENT.size <= len(data):
            _wd, mask, _cookie, length = _EVENT.unpack_from(data, at)
            at += _EVENT.size + length
            if mask & IN_CLOSE_NOWRITE:
                self.count += 1  # two readers' closes in a row may come as one: one is enough
            if mask & IN_Q_OVERFLOW:
                self.overflowed = True

    def close(self) -> None:
        os.close(self.fd)


class LiveFile:
    """Serves one fifo at `path` with `render()` until stopped."""

    def __init__(
        self, path: Path, render: Callable[[], str], *, stuck_after_s: float | None = STUCK_READER_S
    ) -> None:
        self.path = path
        self.render = render
        self.stuck_after_s = stuck_after_s  # None: wait for every reader, however long
        self._stop = threading.Event()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            os.mkfifo(path, 0o644)
        self._closes = ReaderCloses(path)  # before the thread: no close goes unseen
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
            self._closes.close()

    def _until_released(self) -> None:
        """Wait until the reader of the answer just given has closed the fifo (or the file
        stops). Readers that opened together share one answer and close in any order:
        the first close ends the wait."""
        since = time.monotonic()
        seen = self._closes.count
        while not self._stop.is_set() and self._closes.count == seen:
            self._closes.wait(1.0)  # returns at the first event: the reader's close
            if self._closes.overflowed:
                # Events were lost, the close among them perhaps: go on as if seen.
                log.warning("live file %s: inotify queue overflowed", self.path)
                self._closes.overflowed = False
                return
            waited = time.monotonic() - since
            if self.stuck_after_s is not None and waited >= self.stuck_after_s:
                log.warning(
                    "live file %s: a reader has held it %g s after its answer; serving on",
                    self.path, waited,
                )  # fmt: skip
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
