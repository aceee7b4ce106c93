"""The simulated Android device: adb transport, a Pixel-1 image, fault injection.

A neighbour of the harness, not a tenant: only `harness.sim` and `harness.cli`
import it. See docs/sim.md.
"""

from __future__ import annotations

from harness.sim.device import SimDevice
from harness.sim.faults import Faults

__all__ = ["Faults", "SimDevice"]
