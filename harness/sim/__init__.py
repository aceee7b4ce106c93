"""The simulated Android device: adb transport, a Pixel-1 image, fault injection.

A neighbour of the harness, not a tenant: only `harness.sim` and `harness.cli`
import it. See docs/sim.md. `SimDevice` and `Faults` load on first use, so the
CLI can read `harness sim serve`'s option ranges without loading the device.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.sim.device import SimDevice
    from harness.sim.faults import Faults

__all__ = ["Faults", "SimDevice"]


def __getattr__(name: str) -> Any:
    if name == "SimDevice":
        from harness.sim.device import SimDevice

        return SimDevice
    if name == "Faults":
        from harness.sim.faults import Faults

        return Faults
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
