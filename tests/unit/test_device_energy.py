"""Which energy source a phone offers, read from the probe's lines, and the refusals."""

from __future__ import annotations

import pytest

from harness.device.energy import (
    EnergyRequest,
    Rail,
    choose_energy,
    parse_probe,
)
from harness.errors import (
    EXIT_DEVICE,
    EXIT_INPUT,
    EnergyOnUsbError,
    NoEnergySourceError,
    OptionError,
)

PIXEL6_METERS = """\
meter.0=s2mpg10-odpm
value.0=t=123456
value.0=CH0(T=123456)[S10M_VDD_TPU], 617280
value.0=CH3(T=123456)[S2M_VDD_CPUCL2], 1234560
enabled.0=CH0[S10M_VDD_TPU]:TPU
enabled.0=CH3[S2M_VDD_CPUCL2]:CPU(BIG)
meter.1=s2mpg11-odpm
value.1=t=123457
value.1=CH6[S2S_VDD_G3D]X
value.1=CH6(T=123457)[S2S_VDD_G3D], 617285
enabled.1=CH6[S2S_VDD_G3D]:GPU
"""


def battery(*, usb: bool, status: int, stopped: bool = False) -> str:
    lines = ["battery.Current Battery Service state:"]
    if stopped:
        lines.append("battery.(UPDATES STOPPED -- use 'reset' to restart)")
    lines += [
        "battery.AC powered: false",
        f"battery.USB powered: {str(usb).lower()}",
        "battery.Wireless powered: false",
        f"battery.status: {status}",
        "battery.level: 85",
    ]
    return "\n".join(lines) + "\n"


def gauge(status: str, online: str, charge: str = "2354500") -> str:
    return (
        f"gauge.charge_counter={charge}\ngauge.current_now=-100000\ngauge.voltage_now=4213000\n"
        f"gauge.status={status}\nonline.ac=\nonline.usb={online}\nonline.wireless=\n"
    )


ON_USB = gauge("Charging", "1") + "hal.channels=0\n" + battery(usb=True, status=2)
UNPLUGGED = gauge("Discharging", "0") + "hal.channels=0\n" + battery(usb=False, status=3)


def test_a_pixel6_measures_every_rail_whatever_powers_it() -> None:
    probe = parse_probe(PIXEL6_METERS + ON_USB.replace("hal.channels=0", "hal.channels=3"))
    assert probe.rails == (
        Rail(0, "S10M_VDD_TPU", "TPU"),
        Rail(0, "S2M_VDD_CPUCL2", "CPU(BIG)"),
        Rail(1, "S2S_VDD_G3D", "GPU"),
    )
    assert probe.gauge and probe.power.external is True and probe.hal_channels == 3
    request = choose_energy(probe)
    assert (request.source, request.all_rails, request.on_usb) == ("odpm", True, True)
    # The rails sit downstream of the battery: a charger biases nothing.
    assert not request.biased
    assert request.script_args() == ["--energy=odpm:0,1:", "--idle=100"]


def test_rails_can_be_narrowed_by_name_and_an_unknown_one_is_refused() -> None:
    probe = parse_probe(PIXEL6_METERS + UNPLUGGED)
    request = choose_energy(probe, rails=["S2M_VDD_CPUCL2", "S2M_VDD_CPUCL2"], idle_s=0.5)
    assert request.rails == (Rail(0, "S2M_VDD_CPUCL2", "CPU(BIG)"),)
    assert request.script_args() == ["--energy=odpm:0:S2M_VDD_CPUCL2", "--idle=50"]
    with pytest.raises(OptionError, match="no rail VDD_NPU") as err:
        choose_energy(probe, rails=["VDD_NPU"])
    assert err.value.exit_code == EXIT_INPUT and "S10M_VDD_TPU" in str(err.value)
    with pytest.raises(OptionError, match="no power rails"):
        choose_energy(parse_probe(UNPLUGGED), rails=["S2M_VDD_CPUCL2"])


def test_the_gauge_on_usb_is_refused_with_what_to_do() -> None:
    probe = parse_probe(ON_USB)
    assert probe.rails == () and probe.gauge
    with pytest.raises(EnergyOnUsbError) as err:
        choose_energy(probe, serial="FA6A1")
    message = str(err.value)
    assert err.value.exit_code == EXIT_DEVICE and "\n" not in message
    assert message.startswith("FA6A1: the phone is on external power")
    for what in ("Wi-Fi", "hub", "--energy-on-usb"):
        assert what in message
    accepted = choose_energy(probe, accept_usb=True)
    assert (accepted.source, accepted.on_usb, accepted.biased) == ("fuel_gauge", True, True)
    assert accepted.script_args()[0] == "--energy=gauge"


def test_the_gauge_on_battery_is_the_source_of_a_phone_without_rails() -> None:
    request = choose_energy(parse_probe(UNPLUGGED))
    assert (request.source, request.on_usb, request.biased) == ("fuel_gauge", False, False)


@pytest.mark.parametrize(
    "said",
    [
        # `dumpsys battery unplug`: BatteryService says no charger, the kernel says charging.
        gauge("Charging", "1") + battery(usb=False, status=3, stopped=True),
        # A charger that holds the charge (status 4, "Not charging") still carries the load.
        gauge("Not charging", "") + battery(usb=False, status=4),
        # Only BatteryService speaks, and it says USB.
        gauge("", "") + battery(usb=True, status=2),
    ],
)
def test_external_power_is_seen_through_a_faked_unplug_and_a_full_battery(said: str) -> None:
    assert parse_probe(said).power.external is True
    with pytest.raises(EnergyOnUsbError):
        choose_energy(parse_probe(said))


def test_a_phone_that_does_not_say_how_it_is_powered_is_refused_too() -> None:
    probe = parse_probe(gauge("", ""))
    assert probe.gauge and probe.power.external is None
    with pytest.raises(EnergyOnUsbError, match="does not say whether it is charging"):
        choose_energy(probe)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "no power rails (ODPM), and no readable fuel gauge"),
        # Rails the SELinux policy keeps from the shell: a meter, but no readable energy_value.
        ("meter.0=s2mpg10-odpm\n" + gauge("Discharging", "0", charge=""),
         "power rail meters s2mpg10-odpm exist, but their energy_value is not readable"),
        ("hal.channels=16\n", "the power-stats HAL lists 16 rails"),
    ],
)  # fmt: skip
def test_no_source_is_one_line_exit_3(text: str, said: str) -> None:
    with pytest.raises(NoEnergySourceError) as err:
        choose_energy(parse_probe(text), serial="s")
    assert err.value.exit_code == EXIT_DEVICE and said in str(err.value)
    assert "\n" not in str(err.value)


def test_a_request_checks_its_idle_window_and_rail_names() -> None:
    with pytest.raises(OptionError, match="idle window"):
        EnergyRequest("fuel_gauge", idle_s=0.05)
    with pytest.raises(OptionError, match="idle window"):
        EnergyRequest("fuel_gauge", idle_s=30)
    with pytest.raises(OptionError, match="unusable rail name"):
        EnergyRequest("odpm", rails=(Rail(0, "A;reboot"),))
    with pytest.raises(OptionError, match="no rail"):
        EnergyRequest("odpm")
