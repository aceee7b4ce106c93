"""A trial record's energy fields, from the trial's energy looks (`harness run --energy`).

The figure is the trial's only when its latency is: a trial that failed, or
whose proof failed it (latency dropped), keeps no energy either, and says why.
"""

from __future__ import annotations

import dataclasses

from harness.bench.energy import TrialEnergy, trial_energy
from harness.bench.remote import Collected
from harness.device.energy import EnergyRequest
from harness.results.schema import TrialRecord


def with_energy(
    record: TrialRecord, collected: Collected, request: EnergyRequest | None
) -> TrialRecord:
    """`record` with its energy fields filled in; itself when energy was not asked for."""
    if request is None:
        return record
    if record.status == "ok":
        energy = trial_energy(collected, request)
    else:
        energy = TrialEnergy(
            request.source, on_usb=request.on_usb, reason=f"the trial is {record.status}"
        )
    return dataclasses.replace(
        record,
        energy_mj=energy.energy_mj,
        power_mw=energy.power_mw,
        idle_power_mw=energy.idle_power_mw,
        energy_source=energy.source,
        energy_rails=",".join(energy.rails) or None,
        energy_rail_mj={r.name: r.energy_mj for r in energy.per_rail if r.energy_mj is not None}
        or None,
        energy_biased=energy.biased,
        energy_bound_pct=energy.bound_pct,
        energy_reason=energy.reason,
    )
