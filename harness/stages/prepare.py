"""Stage 3, prepare: every device ready to measure, and the run folder that stores it.

Devices are prepared in parallel (identity, cores, binary, models); a device
that fails leaves the others as they were. A resumed run checks each phone
against the run's phones once it is identified, before any model is pushed to
it. Then the run folder is created with its meta.json, or, for a resumed run,
checked against the devices now at hand.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from harness import __version__
from harness.bench.prepare import (
    Preparation,
    PreparedDevice,
    identify,
    prepare_device,
    release_device,
)
from harness.device.reconnect import with_reconnect
from harness.device.session import DeviceSession
from harness.results.files import LOGS_DIR
from harness.results.meta import ModelFacts, RunMeta
from harness.results.store import RunStore
from harness.stages.energy import detect_energy, energy_setup
from harness.stages.label import default_label
from harness.stages.plan import Planned
from harness.stages.resume import (
    check_resumed_arms,
    check_resumed_context,
    map_resumed_serials,
    plan_serials,
)

T = TypeVar("T")


@dataclass(frozen=True)
class HostFacts:
    """What meta.json records of the host side: two `git` processes and package metadata,
    read in a thread beside the phones' preparation instead of after it."""

    git_commit: str | None
    label: str | None
    tf_version: str | None


@dataclass
class Prepared:
    """The prepare stage's output: the ready devices, what they warned about, and what a
    new run folder records of the host (read while the phones were prepared)."""

    devices: list[PreparedDevice]
    warnings: list[str]
    host: HostFacts


def read_host_facts(label: str | None) -> HostFacts:
    """The checkout's commit, the run's label (`label`, else `git describe` of the working
    folder) and TensorFlow's version."""
    return HostFacts(
        git_commit=_git_commit(),
        label=label if label is not None else default_label(Path.cwd()),
        tf_version=_tf_version(),
    )


@dataclass
class Opened:
    """The run folder to store into, and the serials the plan's trial ids use."""

    store: RunStore
    plan_serials: list[str]


def preparation(planned: Planned) -> Preparation:
    """What every phone of the run is made ready for: the planned models and
    configurations, with the settings that preparation reads."""
    settings = planned.settings
    return Preparation(
        cores=tuple(settings.cores),
        benchmark_binary=settings.benchmark_binary,
        models=tuple(planned.models),
        configs=tuple(planned.configs),
        runs=settings.runs,
        warmup=settings.warmup,
        reconnect_timeout_s=settings.reconnect_timeout_s,
        fixed_performance=settings.fixed_performance,
        arms=planned.arms.files,
    )


def prepare(
    planned: Planned,
    sessions: Sequence[DeviceSession],
    emit: Callable[[str], None],
) -> Prepared:
    """Prepare every device of `sessions` in parallel; warnings emitted."""
    settings = planned.settings
    logs_dir = (planned.store.run_dir / LOGS_DIR) if planned.store else None
    prep = preparation(planned)

    def one(session: DeviceSession) -> PreparedDevice:
        emit(f"{session.serial}: preparing (identity, cores, binary, models)")

        def again(call: Callable[[], T]) -> T:
            # Preparation is repeatable (pushes skip what already matches): a drop costs a
            # wait and a second pass, never the run.
            return with_reconnect(
                session,
                "preparation",
                call,
                reconnect_timeout_s=prep.reconnect_timeout_s,
                on_event=emit,
                again="preparing again",
            )

        identified = again(lambda: identify(session, prep))
        if planned.store is not None:
            # One phone against the run's phones, before its models are pushed;
            # open_store then maps all of them together.
            identity = (identified.info, identified.binary.sha256)
            map_resumed_serials(planned.store.meta, {session.serial: identity})
        energy = None
        if settings.energy:  # refused here, before any model is pushed, if it cannot be read
            energy = again(
                lambda: detect_energy(
                    session,
                    rails=settings.energy_rails,
                    accept_usb=settings.energy_on_usb,
                    emit=emit,
                )
            )
        ready = again(
            lambda: prepare_device(session, identified, prep, logs_dir=logs_dir, on_event=emit)
        )
        ready.energy = energy
        return ready

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="host-facts") as pool:
        host = pool.submit(read_host_facts, settings.label)
        devices = _in_parallel(sessions, one)
        facts = host.result()
    warnings = planned.arms.warnings + [w for p in devices for w in p.warnings]
    for w in warnings:
        emit(f"warning: {w}")
    return Prepared(devices, warnings, facts)


def open_store(planned: Planned, prepared: Prepared) -> Opened:
    """Create the run folder, or check a resumed one's devices and models (PlanError)."""
    devices = prepared.devices
    serials = [p.target.session.serial for p in devices]
    store = planned.store
    if store is None:
        store = create_store(planned, devices, prepared.host)
        if planned.arms.meta:
            store.update_meta(arms=planned.arms.meta)
        for p in devices:
            p.target.logs_dir = store.run_dir / LOGS_DIR
        return Opened(store, serials)
    identities = {p.target.session.serial: (p.info, p.binary.sha256) for p in devices}
    mapping = map_resumed_serials(store.meta, identities)
    check_resumed_context(store, devices, mapping)
    check_resumed_arms(store.meta.arms, planned.arms, store.run_dir)
    stored = plan_serials(mapping, serials)
    # Where the resumed trials read energy (the phone may have been unplugged since).
    energy = {
        old: energy_setup(p.energy) for old, p in zip(stored, devices, strict=True) if p.energy
    }
    if energy:
        store.update_meta(energy={**store.meta.energy, **energy})
    return Opened(store, stored)


def _in_parallel(
    sessions: Sequence[DeviceSession], one: Callable[[DeviceSession], PreparedDevice]
) -> list[PreparedDevice]:
    """`one(session)` for every session in its own thread; on any failure release the
    ready ones and raise the first failure."""
    results: dict[int, PreparedDevice | BaseException] = {}

    def worker(index: int, session: DeviceSession) -> None:
        try:
            results[index] = one(session)
        except BaseException as exc:  # handed to the main thread
            results[index] = exc

    # Daemon threads the main thread only watches (short joins), so Ctrl-C and
    # SIGTERM reach it at once; on a stop every call in flight is cut.
    threads = [
        threading.Thread(target=worker, args=(i, s), name=f"prepare-{s.serial}", daemon=True)
        for i, s in enumerate(sessions)
    ]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(0.1)
    except BaseException:
        for session in sessions:
            session.abort()
        raise
    ready = [r for r in results.values() if isinstance(r, PreparedDevice)]
    failed = [r for _i, r in sorted(results.items()) if isinstance(r, BaseException)]
    if failed:
        # Leave the devices that did get ready as they were before the run.
        for p in ready:
            release_device(p)
        raise failed[0]
    return [r for _i, r in sorted(results.items()) if isinstance(r, PreparedDevice)]


def create_store(planned: Planned, prepared: list[PreparedDevice], host: HostFacts) -> RunStore:
    """A new run folder whose meta.json says what, where and with what this run measures."""
    settings, converted = planned.settings, planned.converted
    meta = RunMeta(
        seed=planned.seed,
        git_commit=host.git_commit,
        label=host.label,
        tf_version=host.tf_version,
        converter="tf.lite.TFLiteConverter",
        harness_version=__version__,
        settings=settings.measured(),
        devices={p.target.session.serial: p.info for p in prepared},
        cores={p.target.session.serial: p.cores for p in prepared},
        fixed_performance={p.target.session.serial: p.fixed_performance for p in prepared},
        binaries={p.target.session.serial: p.binary for p in prepared},
        models={
            f"{c.variant.id}|{c.quant}": ModelFacts(
                sha256=c.sha256, size_bytes=c.size_bytes, macs=c.macs, weight_params=c.weight_params
            )
            for c in converted
        }
        | {m.key: m.facts() for m in planned.own},
        order=tuple(planned.plan.order),
        energy={p.target.session.serial: energy_setup(p.energy) for p in prepared if p.energy},
    )
    return RunStore.create(settings.out, meta)


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(Path(__file__).resolve().parent), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _tf_version() -> str | None:
    # Read from package metadata: importing TensorFlow here would cost seconds.
    for dist in ("tensorflow-cpu", "tensorflow", "tf-nightly"):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None
