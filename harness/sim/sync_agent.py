"""The sync service's hands inside the device: opens and changes paths as the shell user.

adbd on a user build serves `adb push/pull/ls` as the shell user, on the
phone's own file system. The simulator's sync service runs on the host, so
every path it is given is resolved here instead, inside the device's
namespaces, with the shell user's rights: symlinks, mounts and permissions
are the device's, never the host's. The host sends one request per datagram
(a JSON list: operation and arguments) and gets one answer: `{"ok": value}`,
with an open file descriptor attached for `open`, or `{"errno": N}`.

Standalone (stdlib only): copied into the device's state folder and run by
the host's interpreter with `-I -S`. argv[1] is the socket's descriptor.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from typing import Any

MAX_REQUEST = 1 << 16


def handle(op: str, args: list[Any]) -> tuple[object, int | None]:
    """Do one operation; the value to answer and the descriptor to pass, if any."""
    if op == "open":
        path, flags, mode = str(args[0]), int(args[1]), int(args[2])
        return None, os.open(path, flags | os.O_CLOEXEC, mode)
    if op == "mkdirs":
        os.makedirs(str(args[0]), int(args[1]), exist_ok=True)
    elif op == "rename":
        os.rename(str(args[0]), str(args[1]))
    elif op == "unlink":
        os.unlink(str(args[0]))
    elif op == "symlink":
        os.symlink(str(args[0]), str(args[1]))
    elif op == "realpath":
        return os.path.realpath(str(args[0])), None
    else:
        raise ValueError(f"unknown operation {op!r}")
    return None, None


def serve(sock: socket.socket) -> None:
    while True:
        request = sock.recv(MAX_REQUEST)
        if not request:
            return
        fd: int | None = None
        try:
            op, *args = json.loads(request)
            value, fd = handle(str(op), list(args))
            answer: dict[str, object] = {"ok": value}
        except OSError as exc:
            answer = {"errno": exc.errno or 5}
        except (ValueError, TypeError, IndexError) as exc:
            answer = {"errno": 22, "error": str(exc)}
        data = json.dumps(answer).encode()
        if fd is None:
            sock.send(data)
        else:
            try:
                socket.send_fds(sock, [data], [fd])
            finally:
                os.close(fd)


def main() -> int:
    sock = socket.socket(fileno=int(sys.argv[1]))
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        serve(sock)  # the host went away: so does the agent
    return 0


if __name__ == "__main__":
    sys.exit(main())
