"""adb packet encoding (harness.sim.protocol) and the device banner."""

from __future__ import annotations

import pytest

from harness.errors import ProtocolError, SimulatorError
from harness.sim import props
from harness.sim import protocol as p


def test_encode_decode_round_trip_with_checksum() -> None:
    raw = p.encode(p.Packet(p.A_WRTE, 3, 7, b"\x01\x02\xff"), with_checksum=True)
    assert len(raw) == 24 + 3
    command, arg0, arg1, length = p.decode_header(raw[:24])
    assert (command, arg0, arg1, length) == (p.A_WRTE, 3, 7, 3)
    assert p.HEADER.unpack(raw[:24])[4] == 0x102  # byte sum
    assert p.HEADER.unpack(raw[:24])[5] == p.A_WRTE ^ 0xFFFFFFFF


def test_newer_protocol_sends_no_checksum() -> None:
    raw = p.encode(p.Packet(p.A_WRTE, 1, 2, b"abc"), with_checksum=False)
    assert p.HEADER.unpack(raw[:24])[4] == 0


def test_bad_magic_and_oversized_payload_are_refused() -> None:
    good = bytearray(p.encode(p.Packet(p.A_OKAY, 1, 2), with_checksum=False))
    good[20] ^= 0xFF
    with pytest.raises(ProtocolError):
        p.decode_header(bytes(good))
    big = p.HEADER.pack(p.A_WRTE, 1, 2, p.MAX_PAYLOAD + 1, 0, p.A_WRTE ^ 0xFFFFFFFF)
    with pytest.raises(ProtocolError):
        p.decode_header(big)


def test_banner_names_the_phone_and_features() -> None:
    banner = props.banner(props.pixel1_props(), ["shell_v2", "stat_v2"]).decode()
    assert banner == (
        "device::ro.product.name=sailfish;ro.product.model=Pixel;ro.product.device=sailfish;"
        "features=shell_v2,stat_v2"
    )


def test_pixel1_props_are_honest_about_simulation_and_abi() -> None:
    values = props.pixel1_props()
    assert values["ro.harness.simulated"] == "1"
    assert values["ro.product.cpu.abi"] == props.host_abi()
    assert values["ro.board.platform"] == "msm8996"


@pytest.mark.parametrize("item", ["novalue", "bad key=1", "k=line\nbreak"])
def test_bad_prop_assignments(item: str) -> None:
    with pytest.raises(SimulatorError):
        props.parse_assignments([item])
