"""The adb transport packet format (device side).

Facts from AOSP `packages/modules/adb/protocol.txt` (summarised in
`../shared/reference/adb.md`): a 24-byte little-endian header
`command, arg0, arg1, data_length, data_check, magic` followed by the payload.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from harness.errors import ProtocolError

HEADER = struct.Struct("<6I")

A_CNXN = 0x4E584E43
A_OPEN = 0x4E45504F
A_OKAY = 0x59414B4F
A_WRTE = 0x45545257
A_CLSE = 0x45534C43
A_AUTH = 0x48545541
A_SYNC = 0x434E5953
A_STLS = 0x534C5453

# Protocol versions: the older one requires payload checksums, the newer skips them.
VERSION_CHECKSUM = 0x01000000
VERSION_SKIP_CHECKSUM = 0x01000001
MAX_PAYLOAD = 1024 * 1024

NAMES = {
    A_CNXN: "CNXN",
    A_OPEN: "OPEN",
    A_OKAY: "OKAY",
    A_WRTE: "WRTE",
    A_CLSE: "CLSE",
    A_AUTH: "AUTH",
    A_SYNC: "SYNC",
    A_STLS: "STLS",
}


@dataclass(frozen=True)
class Packet:
    """One adb transport packet."""

    command: int
    arg0: int
    arg1: int
    data: bytes = b""

    @property
    def name(self) -> str:
        return NAMES.get(self.command, hex(self.command))


def checksum(data: bytes) -> int:
    """The byte sum that protocol 0x01000000 puts in `data_check`."""
    return sum(data) & 0xFFFFFFFF


def encode(packet: Packet, *, with_checksum: bool) -> bytes:
    """Header plus payload, ready to write."""
    check = checksum(packet.data) if with_checksum and packet.data else 0
    header = HEADER.pack(
        packet.command,
        packet.arg0,
        packet.arg1,
        len(packet.data),
        check,
        packet.command ^ 0xFFFFFFFF,
    )
    return header + packet.data


def decode_header(raw: bytes, *, max_payload: int = MAX_PAYLOAD) -> tuple[int, int, int, int]:
    """Validate a header; returns (command, arg0, arg1, data_length)."""
    command, arg0, arg1, length, _check, magic = HEADER.unpack(raw)
    if magic != command ^ 0xFFFFFFFF:
        raise ProtocolError(f"bad magic in header {raw.hex()}")
    if command not in NAMES:
        raise ProtocolError(f"unknown command {command:#x}")
    if length > max_payload:
        raise ProtocolError(f"payload of {length} bytes exceeds {max_payload}")
    return command, arg0, arg1, length
