"""`harness run --energy`: the options checked, and each phone's source chosen in preparation.

The options are checked with the others, before any phone is touched. The
source is chosen once per phone, right after its identity and before its
models are pushed (`detect_energy`): a phone that cannot measure energy, or
could only through a gauge a charger disturbs, is refused in one line before
any trial (docs/run.md "Energy").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from harness.errors import OptionError
from harness.results.meta import EnergySetup

if TYPE_CHECKING:
    from harness.device.energy import EnergyRequest
    from harness.device.session import DeviceSession


def check_energy_options(energy: bool, on_usb: bool, rails: Sequence[str]) -> None:
    """OptionError (exit 2) for an energy option without `--energy`, or a rail name no
    phone could spell."""
    # harness.device loads adbutils; the CLI checks settings before its error handler is up.
    from harness.device.energy import RAIL_NAME

    if not energy:
        for option, given in (("--energy-on-usb", on_usb), ("--energy-rails", bool(rails))):
            if given:
                raise OptionError(f"{option} needs --energy", option=option)
        return
    for name in rails:
        if not RAIL_NAME.fullmatch(name):
            raise OptionError(
                f"--energy-rails: {name!r} is no rail name",
                option="--energy-rails",
                hint="rail names are letters, digits, '_', '.', '-' (S2M_VDD_CPUCL2)",
            )


def detect_energy(
    session: DeviceSession,
    *,
    rails: Sequence[str],
    accept_usb: bool,
    emit: Callable[[str], None],
) -> EnergyRequest:
    """The best energy source the phone offers, in one round trip; says which.

    Raises NoEnergySourceError or EnergyOnUsbError (exit 3), or OptionError
    (exit 2) for a rail the phone does not have.
    """
    from harness.device.energy import choose_energy, probe_energy

    request = choose_energy(
        probe_energy(session), serial=session.serial, rails=rails, accept_usb=accept_usb
    )
    if request.source == "odpm":
        what = f"power rails ({len(request.rails)}: {', '.join(r.name for r in request.rails)})"
    else:
        what = "the battery's fuel gauge (the whole phone)"
    emit(f"{session.serial}: energy from {what}")
    if request.biased:
        emit(
            f"warning: {session.serial}: energy from the fuel gauge while the phone is on "
            "external power (--energy-on-usb): every figure is biased and marked so"
        )
    return request


def energy_setup(request: EnergyRequest) -> EnergySetup:
    """What meta.json keeps of a phone's energy source."""
    return EnergySetup(
        source=request.source,
        rails=tuple(r.name for r in request.rails) if request.source == "odpm" else (),
        subsystems={r.name: r.subsystem for r in request.rails if r.subsystem},
        on_usb=request.on_usb,
        biased=request.biased,
    )
