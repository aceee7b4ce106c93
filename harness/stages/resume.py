"""Resuming a run: is this the phone, the binary and the models the run measured?

A resumed run continues the stored plan, so every trial must measure the same
thing as before; a device may come back under a new address, but not as
another phone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from harness.bench.arms import ResolvedArms
from harness.bench.prepare import PreparedDevice
from harness.errors import PlanError, ResultsError
from harness.identity import DeviceInfo
from harness.results.files import LOGS_DIR
from harness.results.meta import ArmRecord, RunMeta

if TYPE_CHECKING:
    from harness.results.store import RunStore


def identity(info: DeviceInfo) -> dict[str, str | None]:
    """What makes a phone the same phone for --resume: a trial measured on another
    model, SoC, build or binary is not the same measurement."""
    return {
        "model": info.model,
        "device": info.device,
        "platform": info.platform,
        "hardware": info.hardware,
        "abi": info.abi,
        "fingerprint": info.fingerprint,
    }


def identity_differences(
    then: DeviceInfo, now: DeviceInfo, binary_then: str | None, binary_now: str | None
) -> list[str]:
    """`key: stored -> now` for every identity field that differs (unknowns are skipped)."""
    old, new = identity(then), identity(now)
    out = [
        f"{key} {value!r} -> {new[key]!r}"
        for key, value in old.items()
        if value is not None and value != new[key]
    ]
    if binary_then and binary_now and binary_then != binary_now:
        out.append(f"benchmark binary sha256 {binary_then[:12]} -> {binary_now[:12]}")
    return out


def map_resumed_serials(
    meta: RunMeta, identities: Mapping[str, tuple[DeviceInfo, str | None]]
) -> dict[str, str]:
    """Old serial -> new serial, only for phones whose identity matches the run's.

    A device may come back under a new address (a simulated device or a phone
    over TCP gets a new port): it takes the old serial of the one device of
    the run with the same identity. `identities` is serial -> (device info,
    binary sha256) of the devices now at hand. Raises PlanError (exit 2)
    naming every difference when a device is not the one the run measured.
    """
    devices = meta.devices

    def diffs(old: str, p: tuple[DeviceInfo, str | None]) -> list[str]:
        return identity_differences(meta.device(old), p[0], meta.binary(old).sha256, p[1])

    mapping: dict[str, str] = {}
    refused: list[str] = []
    by_serial = identities
    for serial, p in by_serial.items():
        if serial in devices:
            found = diffs(serial, p)
            if found:
                refused.append(f"{serial}: {'; '.join(found)}")
            else:
                mapping[serial] = serial
    for serial, p in by_serial.items():
        if serial in devices:
            continue
        free = [old for old in devices if old not in mapping]
        same = [old for old in free if not diffs(old, p)]
        if same:
            mapping[same[0]] = serial
        elif len(free) == 1:
            refused.append(f"{serial} (for {free[0]}): {'; '.join(diffs(free[0], p))}")
        else:
            refused.append(f"{serial} is not a device of this run ({', '.join(devices) or '-'})")
    if refused:
        raise PlanError(
            "--resume: not the device(s) this run measured: " + " | ".join(refused),
            hint="resume on the same phone with the same benchmark binary, or start a new run",
        )
    return mapping


def plan_serials(mapping: dict[str, str], serials: Sequence[str]) -> list[str]:
    """Plans of a resumed run use the stored serials, so trial ids stay those of the run."""
    inverse = {new: old for old, new in mapping.items()}
    return [inverse[s] for s in serials]


def check_resumed_context(
    store: RunStore, prepared: list[PreparedDevice], mapping: dict[str, str]
) -> None:
    """A resumed run must measure with the same models as before (the phone and
    binary were checked by map_resumed_serials)."""
    models = store.meta.models
    by_new = {p.target.session.serial: p for p in prepared}
    for new in mapping.values():
        for key, model in by_new[new].target.models.items():
            stored = models.get(f"{key[0]}|{key[1]}")
            if stored is not None and stored.sha256 and stored.sha256 != model.sha256:
                raise ResultsError(
                    f"model {key[0]} ({key[1]}) changed since this run started",
                    path=str(store.run_dir),
                    hint="start a new run (the converter or its cache changed)",
                )
    for p in prepared:
        p.target.logs_dir = store.run_dir / LOGS_DIR


def check_resumed_arms(stored: Mapping[str, ArmRecord], now: ResolvedArms, run_dir: Path) -> None:
    """A resumed A/B run must measure each arm with the models it started with."""
    for label, entry in now.meta.items():
        then = stored.get(label)
        if then is None:
            continue
        for key, model in entry.models.items():
            old = then.models.get(key)
            if old is not None and old.sha256 not in (None, model.sha256):
                raise ResultsError(
                    f"arm {label}: model {key.replace('|', ' (')}) changed since this run started",
                    path=str(run_dir),
                    hint="start a new run (the arm's folder changed)",
                )
