"""Resuming a run: is this the phone, the binary and the models the run measured?

A resumed run continues the stored plan, so every trial must measure the same
thing as before; a device may come back under a new address, but not as
another phone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.bench.arms import ResolvedArms
from harness.bench.prepare import PreparedDevice
from harness.errors import PlanError, ResultsError
from harness.results.files import LOGS_DIR

if TYPE_CHECKING:
    from harness.results.store import RunStore

# What makes a phone the same phone for --resume: a trial measured on another
# model, SoC, build or binary is not the same measurement.
IDENTITY_KEYS = ("model", "device", "platform", "hardware", "abi", "fingerprint")


def identity_differences(
    then: dict[str, Any], now: dict[str, Any], binary_then: str | None, binary_now: str | None
) -> list[str]:
    """`key: stored -> now` for every identity field that differs (unknowns are skipped)."""
    out = [
        f"{key} {then[key]!r} -> {now.get(key)!r}"
        for key in IDENTITY_KEYS
        if then.get(key) is not None and then.get(key) != now.get(key)
    ]
    if binary_then and binary_now and binary_then != binary_now:
        out.append(f"benchmark binary sha256 {binary_then[:12]} -> {binary_now[:12]}")
    return out


def map_resumed_serials(
    meta: dict[str, Any], identities: dict[str, tuple[dict[str, Any], str | None]]
) -> dict[str, str]:
    """Old serial -> new serial, only for phones whose identity matches the run's.

    A device may come back under a new address (a simulated device or a phone
    over TCP gets a new port): it takes the old serial of the one device of
    the run with the same identity. `identities` is serial -> (device info,
    binary sha256) of the devices now at hand. Raises PlanError (exit 2)
    naming every difference when a device is not the one the run measured.
    """
    devices = meta.get("devices") or {}
    binaries = meta.get("binaries") or {}

    def diffs(old: str, p: tuple[dict[str, Any], str | None]) -> list[str]:
        return identity_differences(
            devices.get(old) or {}, p[0], (binaries.get(old) or {}).get("sha256"), p[1]
        )

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
    meta = store.meta
    by_new = {p.target.session.serial: p for p in prepared}
    for new in mapping.values():
        for key, model in by_new[new].target.models.items():
            stored = (meta.get("models") or {}).get(f"{key[0]}|{key[1]}") or {}
            if stored.get("sha256") and stored["sha256"] != model.sha256:
                raise ResultsError(
                    f"model {key[0]} ({key[1]}) changed since this run started",
                    path=str(store.run_dir),
                    hint="start a new run (the converter or its cache changed)",
                )
    for p in prepared:
        p.target.logs_dir = store.run_dir / LOGS_DIR


def check_resumed_arms(stored: Mapping[str, object], now: ResolvedArms, run_dir: Path) -> None:
    """A resumed A/B run must measure each arm with the models it started with."""
    for label, entry in now.meta.items():
        then = stored.get(label)
        before = then.get("models") if isinstance(then, dict) else None
        models = entry.get("models")
        if not isinstance(before, dict) or not isinstance(models, dict):
            continue
        for key, model in models.items():
            old = before.get(key)
            if (
                isinstance(old, dict)
                and isinstance(model, dict)
                and old.get("sha256") not in (None, model.get("sha256"))
            ):
                raise ResultsError(
                    f"arm {label}: model {key.replace('|', ' (')}) changed since this run started",
                    path=str(run_dir),
                    hint="start a new run (the arm's folder changed)",
                )
