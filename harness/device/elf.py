"""Just enough of the ELF header to tell which ABI a binary was built for.

Pushing an x86_64 or 32-bit build to an arm64 phone ends in a cryptic
"not executable: 64-bit ELF file" (or worse, "No such file or directory" for
a missing loader) from the device; reading 20 bytes on the host first turns
that into a clear error before anything is pushed.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import BinaryError
from harness.inputs import BINARY_BYTES, open_binary

# ELF e_machine values (System V ABI / elf.h).
EM_386, EM_ARM, EM_X86_64, EM_AARCH64, EM_RISCV = 3, 40, 62, 183, 243
MACHINE_NAMES = {
    EM_386: "x86",
    EM_ARM: "ARM",
    EM_X86_64: "x86-64",
    EM_AARCH64: "AArch64",
    EM_RISCV: "RISC-V",
}
# Android ABI name -> (ELF class bits, e_machine).
ABI_ELF: dict[str, tuple[int, int]] = {
    "arm64-v8a": (64, EM_AARCH64),
    "armeabi-v7a": (32, EM_ARM),
    "armeabi": (32, EM_ARM),
    "x86_64": (64, EM_X86_64),
    "x86": (32, EM_386),
    "riscv64": (64, EM_RISCV),
}


@dataclass(frozen=True)
class ElfHeader:
    """Class (32/64), byte order and machine of an ELF file."""

    bits: int
    little_endian: bool
    machine: int

    @property
    def abi(self) -> str | None:
        """The Android ABI this header corresponds to (None if none does)."""
        for abi, (bits, machine) in ABI_ELF.items():
            if (bits, machine) == (self.bits, self.machine) and abi != "armeabi":
                return abi
        return None

    def describe(self) -> str:
        name = MACHINE_NAMES.get(self.machine, f"machine {self.machine}")
        return f"{self.bits}-bit {name}"


def read_header(path: Path) -> ElfHeader:
    """Parse the identification and e_machine of `path`; BinaryError if not ELF."""
    try:
        with open_binary(path, limit=BINARY_BYTES, what="a benchmark binary") as fh:
            head = fh.read(20)
    except OSError as exc:
        raise BinaryError(f"cannot read: {exc.strerror}", path=str(path)) from exc
    if len(head) < 20 or head[:4] != b"\x7fELF":
        raise BinaryError(
            "not an ELF executable",
            path=str(path),
            hint="pass the benchmark_model binary itself (not an APK, archive or script)",
        )
    bits = {1: 32, 2: 64}.get(head[4])
    if bits is None or head[5] not in (1, 2):
        raise BinaryError(f"unknown ELF class {head[4]} / data {head[5]}", path=str(path))
    little = head[5] == 1
    (machine,) = struct.unpack("<H" if little else ">H", head[18:20])
    return ElfHeader(bits, little, machine)


def check_abi(path: Path, abilist: Sequence[str]) -> ElfHeader:
    """Refuse a binary the device cannot run (its ABI list says which it can)."""
    header = read_header(path)
    accepted = [a for a in abilist if a in ABI_ELF]
    if not accepted:
        return header  # the device did not say; let it try
    if any(ABI_ELF[a] == (header.bits, header.machine) for a in accepted):
        return header
    raise BinaryError(
        f"built for {header.describe()} ({header.abi or 'no Android ABI'}), but the device runs "
        f"{', '.join(accepted)}",
        path=str(path),
        hint=f"fetch the right one with `harness fetch-binary --abi {accepted[0]}`",
    )
