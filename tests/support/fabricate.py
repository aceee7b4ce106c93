"""Fabricated run folders, written the one way runs are written: through RunStore.

The compare tests and benchmarks (tests.support.synthetic) and the sample
report (tests.support.sample) both need run folders without a phone; both
write them here, so a fabricated run has exactly the files, meta keys and
parquet cache of a measured one, and both describe the same Pixel 1.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from harness.results.meta import RunMeta
from harness.results.schema import TrialRecord
from harness.results.store import RunStore

# The Pixel 1 as `harness devices` and meta.json describe it (the simulated
# device reports the same properties).
PIXEL1_DEVICE: dict[str, Any] = {
    "serial": "127.0.0.1:5555",
    "state": "device",
    "model": "Pixel",
    "device": "sailfish",
    "product": "sailfish",
    "manufacturer": "Google",
    "platform": "msm8996",
    "hardware": "sailfish",
    "android_release": "10",
    "sdk": 29,
    "fingerprint": "google/sailfish/sailfish:10/QP1A.191005.007.A3/5972272:user/release-keys",
    "abi": "arm64-v8a",
    "abilist": ["arm64-v8a", "armeabi-v7a", "armeabi"],
    "clusters": [
        {"id": 0, "cpus": [0, 1], "max_khz": 1593600, "governor": "schedutil", "online": [0, 1]},
        {"id": 1, "cpus": [2, 3], "max_khz": 2150400, "governor": "schedutil", "online": [2, 3]},
    ],
    "masks": {"big": "c", "prime": "8", "little": "3", "all": "f"},
    "thermal_zones": [],
    "battery_level": 87,
    "battery_temp_c": 27.0,
    "screen_on": False,
    "emulated": True,
    "features": [],
}


def write_run_folder(
    out_dir: str | os.PathLike[str],
    meta: Mapping[str, Any],
    records: Callable[[str], Iterable[TrialRecord]],
    *,
    status: str = "complete",
) -> Path:
    """Create OUT_DIR/<run_id>, append `records(run_id)`, finalize with `status`; the folder.

    `meta` is what `harness run` would store (run_id and created_at may be
    given); the order of the plan is the order of the records when it is empty.
    """
    given = RunMeta.from_dict(meta)
    built: list[TrialRecord] = []
    store = RunStore.create(out_dir, given)
    try:
        built = list(records(store.run_id))
        if not given.order:
            store.update_meta(order=[r.trial_id for r in built])
        for record in built:
            store.append(record)
        store.finalize(status)
    finally:
        store.close()
    return store.run_dir
