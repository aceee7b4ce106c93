"""What a run really was: a phone or the simulated device, benchmark_model or the stand-in.

The one source of truth for every word the report says about it. The banner,
the page's lede, the section heading, the device and binary cards, the ratio
card and column, and the chart titles all read `Provenance`, so none of them
can call a host figure a phone figure while another line says otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.vocab import SYNTHETIC_MARK, is_simulated

if TYPE_CHECKING:  # model.py imports this module; keep pandas out of its import
    from harness.report.runs import DeviceRun

PHONE_LEDE = "MobileNet latency measured on Android phones with TFLite's benchmark_model"


def is_synthetic(run: DeviceRun) -> bool:
    """True when the stand-in ran in the simulated device's deterministic mode (drawn times)."""
    return SYNTHETIC_MARK in (run.binary.version_line or "").lower()


def is_stand_in(run: DeviceRun) -> bool:
    """True when any trial ran the host stand-in rather than TFLite's benchmark_model."""
    kinds = {t.binary_kind for t in run.trials} | {run.binary.kind}
    return "stand-in" in kinds


@dataclass(frozen=True)
class Provenance:
    """Whether one device-in-a-run was simulated and whether it ran the stand-in binary."""

    simulated: bool
    stand_in: bool
    synthetic: bool = False

    @classmethod
    def of(cls, run: DeviceRun) -> Provenance:
        """Read from meta.json's device info and the trials' binary kind."""
        return cls(
            simulated=is_simulated(run.device.props, run.device.emulated),
            stand_in=is_stand_in(run),
            synthetic=is_synthetic(run),
        )

    @property
    def phone_numbers(self) -> bool:
        """Only a real phone running TFLite's benchmark_model yields phone numbers."""
        return not (self.simulated or self.stand_in or self.synthetic)

    @property
    def what(self) -> str:
        """Short words for what the run was ("simulated device, stand-in binary"), or ""."""
        parts = []
        if self.simulated:
            parts.append("simulated device")
        if self.stand_in:
            parts.append("stand-in binary")
        if self.synthetic:
            parts.append("synthetic latencies")
        return ", ".join(parts)

    @property
    def device_tag(self) -> str:
        """Appended to every place that names the device: " (simulated)" or ""."""
        return " (simulated)" if self.simulated else ""

    @property
    def binary_tag(self) -> str:
        """Appended to the binary's kind in its card."""
        if not self.stand_in:
            return ""
        return " (the LiteRT interpreter on the host, not TFLite's benchmark_model)"

    @property
    def device_heading(self) -> str:
        """The device card's heading."""
        return "Device" + self.device_tag

    @property
    def binary_heading(self) -> str:
        """The binary card's heading."""
        return "Benchmark binary" + (" (stand-in)" if self.stand_in else "")

    @property
    def ratio_label(self) -> str:
        """The ratio card's label: a ratio of host to phone is not a phone figure."""
        if self.phone_numbers:
            return "Median ratio to Pixel 1"
        return f"Ratio to Pixel 1: not a phone figure ({self.what})"

    @property
    def ratio_column(self) -> str:
        """The table's ratio column header."""
        return "Ratio" if self.phone_numbers else "Ratio (host)"

    @property
    def ratio_note(self) -> str:
        """How to read the table's ratio column."""
        if self.phone_numbers:
            return "ratio = median / Pixel-1 figure."
        return (
            f"ratio = median / Pixel-1 figure; on this {self.what} it sets the host's time "
            "beside a phone's, so it is not a phone comparison."
        )

    def banners(self) -> tuple[str, ...]:
        """Why this section's numbers are not phone numbers (empty for a real phone and binary)."""
        out = []
        if self.simulated:
            out.append(
                "Measured on the simulated device: these numbers are the host computer's, "
                "not a phone's. Do not compare them with the Pixel-1 column."
            )
        if self.synthetic:
            out.append(
                "Synthetic latencies: the simulated device's deterministic mode drew every time "
                "from a seeded distribution. They measure nothing; they exist to test the harness."
            )
        if self.stand_in:
            out.append(
                "Measured with the stand-in benchmark binary (the LiteRT interpreter on the "
                "host), not TFLite's benchmark_model: these are not phone numbers."
            )
        return tuple(out)


def _phrase(flags: Sequence[bool], yes: str, no: str, mixed: str) -> str:
    if all(flags):
        return yes
    return no if not any(flags) else mixed


def lede(provenances: Sequence[Provenance]) -> str:
    """The page's first sentence, true of every section it covers."""
    if all(p.phone_numbers for p in provenances):
        return PHONE_LEDE + ", beside the Pixel-1 column Google published."
    where = _phrase(
        [p.simulated for p in provenances],
        "on the harness's simulated device",
        "on Android phones",
        "on phones and on the harness's simulated device",
    )
    binary = _phrase(
        [p.stand_in for p in provenances],
        "with a stand-in for benchmark_model (the LiteRT interpreter on the host)",
        "with TFLite's benchmark_model",
        "with TFLite's benchmark_model or the harness's stand-in",
    )
    tail = (
        "These are not phone numbers: the Pixel-1 column Google published is shown for "
        "reference, not for comparison."
        if not any(p.phone_numbers for p in provenances)
        else "Only sections without a banner hold phone numbers to set beside the Pixel-1 "
        "column Google published."
    )
    return f"MobileNet latency measured {where} {binary}. {tail}"


PHONE = Provenance(simulated=False, stand_in=False)  # a real phone with TFLite's benchmark_model
