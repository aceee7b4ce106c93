"""Getting one device ready for a run: who it is, which cores, which binary, which files.

Done once per device before any trial: read its identity, resolve every
`--cores` policy to a taskset mask, resolve and hash the benchmark binary,
push the trial script and every model (skipped when the hash already
matches), check that the binary can run every configuration, and clear
trials an earlier harness left running.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from harness.bench.arms import prepare_arms
from harness.bench.command import build_command
from harness.bench.remote import TrialRemote, answers, wait_for_device
from harness.bench.trial import DeviceModel, DeviceTarget
from harness.device import files, preflight, thermal
from harness.device.binary import prepare_binary
from harness.device.cores import select_cores, unverified_selection
from harness.device.info import read_info
from harness.errors import DeviceLostError, DeviceOfflineError, DeviceTimeoutError
from harness.identity import BinaryInfo, DeviceInfo
from harness.results.meta import CoreChoice
from harness.vocab import Config

if TYPE_CHECKING:
    from harness.device.session import DeviceSession

log = logging.getLogger(__name__)

TRIAL_SCRIPT = "run_trial.sh"

T = TypeVar("T")


@dataclass(frozen=True)
class ModelFile:
    """A converted model on the host, as the run pushes it."""

    variant: str
    quant: str
    path: Path
    sha256: str


@dataclass
class PreparedDevice:
    """A device ready for trials, plus what meta.json records about it."""

    target: DeviceTarget
    info: DeviceInfo
    binary: BinaryInfo
    cores: dict[str, CoreChoice]  # policy -> the mask and CPUs it chose
    warnings: list[str]
    fixed_performance: bool | None = None


def prepare_device(
    session: DeviceSession,
    *,
    models: Sequence[ModelFile],
    configs: Iterable[Config],
    cores: Sequence[str],
    runs: int,
    warmup: int,
    benchmark_binary: Path | None,
    reconnect_timeout_s: float,
    logs_dir: Path | None,
    fixed_performance: bool = False,
    on_event: Callable[[str], None] = lambda _msg: None,
    arms: Mapping[str, tuple[Path | None, Sequence[ModelFile]]] | None = None,
    vet: Callable[[str, DeviceInfo, str | None], None] | None = None,
) -> PreparedDevice:
    """Make one device ready; raises HarnessError subclasses (nothing measured yet).

    `vet(serial, identity, binary sha256)` may refuse the phone (a resumed run's check
    that it is the phone the run measured) before any model is pushed to it.
    """
    serial = session.serial
    # Once, before anything else: a phone that cannot run a trial says so here,
    # in one line (exit 3), not trial by trial.
    checked = preflight.check(session)
    warnings: list[str] = [f"{serial}: {w}" for w in checked.warnings]
    info = read_info(session)
    masks: dict[str, str] = {}
    cpus: dict[str, list[int]] = {}
    cores_meta: dict[str, CoreChoice] = {}
    for policy in cores:
        if checked.sysfs:
            sel = select_cores(session, policy)
        else:
            sel = unverified_selection(policy, checked.ncpu)
        masks[policy] = str(sel.mask)
        cpus[policy] = [int(c) for c in sel.cpus]
        # `verified`: the topology showed these CPUs are what the policy means.
        cores_meta[policy] = CoreChoice(
            mask=str(sel.mask), cpus=tuple(cpus[policy]), verified=sel.verified, reason=sel.reason
        )
        for w in (*sel.warnings, *([sel.reason] if sel.reason else [])):
            warnings.append(f"{serial}: cores {policy}: {w}")
    binary = prepare_binary(session, str(benchmark_binary) if benchmark_binary else None)
    if vet is not None:
        vet(serial, info, binary.sha256)
    # Refuse now, not trial by trial, a configuration this binary cannot run;
    # and say once what an older binary cannot do as asked (fixed counts).
    notes: dict[str, None] = {}
    for cfg in configs:
        command = build_command(
            binary.device_path, binary.flags, graph="x", threads=cfg.threads,
            runs=runs, warmup=warmup, xnnpack=cfg.xnnpack,
        )  # fmt: skip
        notes.update(dict.fromkeys(command.notes))
    warnings += [f"{serial}: {note}" for note in notes]
    script = f"{files.ensure_scripts(session)}/{TRIAL_SCRIPT}"
    on_event(f"{serial}: {len(models)} model file(s) (pushed only when the sha256 differs)")
    outcomes = files.push_many(
        session, [(m.path, f"models/{m.sha256[:16]}-{m.path.name}") for m in models]
    )
    pushed = {
        (m.variant, m.quant): DeviceModel(path=o.remote, sha256=m.sha256)
        for m, o in zip(models, outcomes, strict=True)
    }
    arm_parts, arm_notes = prepare_arms(
        session,
        arms or {},
        default_binary=benchmark_binary,
        configs=list(configs),
        runs=runs,
        warmup=warmup,
    )
    warnings += [f"{serial}: {note}" for note in arm_notes]
    fixed: bool | None = None
    if fixed_performance:
        sdk = info.sdk
        fixed = sdk is not None and int(sdk) >= 30 and thermal.set_fixed_performance(session, True)
        if not fixed:
            warnings.append(f"{serial}: fixed performance mode unavailable (needs Android 11+)")
    try:
        remote = _ready_to_measure(session, script, cpus, warnings, reconnect_timeout_s, on_event)
    except BaseException:
        if fixed:  # a failed preparation leaves the phone as it found it
            _leave_fixed_performance(session)
        raise
    cluster_max: dict[int, int] = {}
    for cluster in info.clusters:
        for cpu in cluster.cpus:
            if cluster.max_khz:
                cluster_max[cpu] = cluster.max_khz
    target = DeviceTarget(
        session=session,
        remote=remote,
        model_name=str(info.model or serial),
        binary=binary,
        masks=masks,
        cpus=cpus,
        models=pushed,
        cluster_max_khz=cluster_max,
        logs_dir=logs_dir,
        arms=arm_parts,
    )
    return PreparedDevice(
        target=target,
        info=info,
        binary=binary,
        cores=cores_meta,
        warnings=warnings,
        fixed_performance=fixed,
    )


def _ready_to_measure(
    session: DeviceSession,
    script: str,
    cpus: dict[str, list[int]],
    warnings: list[str],
    reconnect_timeout_s: float,
    on_event: Callable[[str], None],
) -> TrialRemote:
    """Check the device's state (warnings only) and stop leftovers of an earlier run."""
    serial = session.serial
    big = sorted({c for cs in cpus.values() for c in cs})
    try:
        warnings += [f"{serial}: {w}" for w in thermal.check_conditions(session, big)]
    except DeviceTimeoutError as exc:
        # Only warnings depend on it; a hung state read must not stop the run here
        # (each trial's own reads are bounded and end that trial as `timeout`).
        warnings.append(f"{serial}: device state unreadable ({exc})")
    workdir = script.rsplit("/", 2)[0]
    remote = TrialRemote(
        session,
        script,
        f"{workdir}/trials",
        reconnect_timeout_s=reconnect_timeout_s,
        on_event=on_event,
    )
    swept = remote.sweep()
    if not swept.strip().endswith(" 0"):
        warnings.append(
            f"{serial}: stopped benchmark processes left over from an earlier run ({swept.strip()})"
        )
    return remote


def _leave_fixed_performance(session: DeviceSession) -> None:
    try:
        thermal.set_fixed_performance(session, False)
    except Exception as exc:  # the run's results matter more than this cleanup
        log.warning("%s: could not leave fixed performance mode: %s", session.serial, exc)


def release_device(prepared: PreparedDevice) -> None:
    """Undo what preparation changed on the device (fixed performance mode)."""
    if prepared.fixed_performance:
        _leave_fixed_performance(prepared.target.session)


# Preparation is repeatable (pushes skip what already matches), so a drop in
# the middle costs a wait and a second pass, never the run; this bounds the passes
# (of preparation, and of any call `with_reconnect` rides out).
PREPARE_ATTEMPTS = 3


def with_reconnect(
    session: DeviceSession,
    what: str,
    call: Callable[[], T],
    *,
    reconnect_timeout_s: float,
    on_event: Callable[[str], None] = lambda _msg: None,
    again: str | None = None,
) -> T:
    """`call()`, run again after the device dropped off and came back; for calls
    that are safe to repeat (preparation, taking a lease).

    A drop (or a call that times out while the device does not answer) waits
    up to `reconnect_timeout_s` for the device and calls again, at most
    PREPARE_ATTEMPTS times; a device that stays away raises DeviceLostError.
    A call that times out while the device answers is a device problem,
    raised as is. `again` is what the message says happens next.
    """
    for attempt in range(1, PREPARE_ATTEMPTS + 1):
        try:
            return call()
        except (DeviceOfflineError, DeviceTimeoutError) as exc:
            if isinstance(exc, DeviceTimeoutError) and answers(session):
                raise
            if attempt == PREPARE_ATTEMPTS:
                raise
            on_event(
                f"{session.serial}: device lost during {what} ({exc}); waiting up to "
                f"{reconnect_timeout_s:g} s for it to come back"
            )
            if not wait_for_device(session, timeout_s=reconnect_timeout_s):
                raise DeviceLostError(
                    f"device did not come back within {reconnect_timeout_s:g} s",
                    serial=session.serial,
                    command=what,
                    hint="reconnect it, then run the same command again",
                ) from exc
            on_event(f"{session.serial}: device is back, {again or f'trying the {what} again'}")
    raise AssertionError("unreachable")


def prepare_with_reconnect(
    session: DeviceSession,
    *,
    reconnect_timeout_s: float,
    on_event: Callable[[str], None] = lambda _msg: None,
    prepare: Callable[..., PreparedDevice] | None = None,
    **kwargs: Any,
) -> PreparedDevice:
    """prepare_device (or `prepare`) that rides out disconnects like trials do
    (`with_reconnect`)."""
    run = prepare or prepare_device
    return with_reconnect(
        session,
        "preparation",
        lambda: run(session, reconnect_timeout_s=reconnect_timeout_s, on_event=on_event, **kwargs),
        reconnect_timeout_s=reconnect_timeout_s,
        on_event=on_event,
        again="preparing again",
    )
