"""Getting one device ready for a run: who it is, which cores, which binary, which files.

Done once per device before any trial, in two steps a caller may check
between: `identify` runs the preflight, reads the device's identity, resolves
every `--cores` policy to a taskset mask and resolves the benchmark binary;
`prepare_device` then checks that the binary can run every configuration,
pushes the trial script and every model (skipped when the hash already
matches), each arm's binary and models, and clears trials an earlier harness
left running. A resumed run checks the phone between the two, so another
phone is refused before any model reaches it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from harness.bench.command import build_command
from harness.bench.remote import TrialRemote
from harness.bench.target import DeviceTarget, ModelFile, PushedModel
from harness.bench.units import compiled_model_flag
from harness.device import files, preflight, thermal
from harness.device.binary import prepare_binary
from harness.device.cores import select_cores, unverified_selection
from harness.device.energy import EnergyRequest
from harness.device.info import read_info
from harness.device.preflight import Preflight
from harness.device.session import DeviceSession
from harness.errors import DeviceTimeoutError
from harness.identity import BinaryInfo, DeviceInfo
from harness.results.meta import CoreChoice
from harness.vocab import Config

log = logging.getLogger(__name__)

TRIAL_SCRIPT = "run_trial.sh"


@dataclass(frozen=True)
class Preparation:
    """What every phone of a run is made ready for, built once from the run's settings and
    plan: the same for each phone, read by `identify` and then `prepare_device`."""

    cores: tuple[str, ...]  # `--cores` policies, each resolved to a mask per phone
    benchmark_binary: Path | None  # None: the harness's own build for the phone's ABI
    models: tuple[ModelFile, ...]  # pushed unless the phone has them (same sha256)
    configs: tuple[Config, ...]  # refused now if the binary cannot run one
    runs: int
    warmup: int
    reconnect_timeout_s: float  # how long a trial remote waits for a dropped phone
    fixed_performance: bool = False
    # An A/B run's arms: label -> (its binary, None for the run's; its models).
    arms: Mapping[str, tuple[Path | None, Sequence[ModelFile]]] = field(default_factory=dict)


@dataclass
class Identified:
    """What `identify` learnt of a device: enough to tell whether it is the run's phone."""

    info: DeviceInfo
    binary: BinaryInfo
    checked: Preflight
    masks: dict[str, str]  # cores policy -> hex mask
    cpus: dict[str, list[int]]  # cores policy -> cpu numbers
    cores: dict[str, CoreChoice]  # cores policy -> what meta.json records
    warnings: list[str]


@dataclass
class PreparedDevice:
    """A device ready for trials, plus what meta.json records about it."""

    target: DeviceTarget
    info: DeviceInfo
    binary: BinaryInfo
    cores: dict[str, CoreChoice]  # policy -> the mask and CPUs it chose
    warnings: list[str]
    fixed_performance: bool | None = None
    energy: EnergyRequest | None = None  # where its trials read energy (run --energy)


def identify(session: DeviceSession, prep: Preparation) -> Identified:
    """Preflight, identity, core masks and the benchmark binary of one device.

    Raises HarnessError subclasses: a phone that cannot run a trial says so
    here, once, in one line (exit 3), not trial by trial.
    """
    serial = session.serial
    # The binary's probe (its sha256 and --help, the longest call here) needs nothing the
    # reads below find: it runs beside them, and its error, if any, comes after theirs.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"probe-{serial}") as pool:
        probing = pool.submit(
            prepare_binary, session, str(prep.benchmark_binary) if prep.benchmark_binary else None
        )
        checked = preflight.check(session)
        warnings: list[str] = [f"{serial}: {w}" for w in checked.warnings]
        info = read_info(session)
        masks: dict[str, str] = {}
        cpus: dict[str, list[int]] = {}
        cores_meta: dict[str, CoreChoice] = {}
        for policy in prep.cores:
            if checked.sysfs:
                sel = select_cores(session, policy)
            else:
                sel = unverified_selection(policy, checked.ncpu)
            masks[policy] = str(sel.mask)
            cpus[policy] = [int(c) for c in sel.cpus]
            # `verified`: the topology showed these CPUs are what the policy means.
            cores_meta[policy] = CoreChoice(
                mask=str(sel.mask),
                cpus=tuple(cpus[policy]),
                verified=sel.verified,
                reason=sel.reason,
            )
            for w in (*sel.warnings, *([sel.reason] if sel.reason else [])):
                warnings.append(f"{serial}: cores {policy}: {w}")
        binary = probing.result()
    return Identified(info, binary, checked, masks, cpus, cores_meta, warnings)


def prepare_device(
    session: DeviceSession,
    identified: Identified,
    prep: Preparation,
    *,
    logs_dir: Path | None,
    on_event: Callable[[str], None] = lambda _msg: None,
) -> PreparedDevice:
    """Make an identified device ready; raises HarnessError subclasses (nothing measured yet)."""
    serial = session.serial
    models, configs, runs, warmup = prep.models, prep.configs, prep.runs, prep.warmup
    info, binary = identified.info, identified.binary
    warnings = list(identified.warnings)
    # Refuse now, not trial by trial, a configuration this binary cannot run;
    # and say once what an older binary cannot do as asked (fixed counts).
    warnings += [f"{serial}: {note}" for note in _notes(binary, configs, runs, warmup)]
    script = f"{files.ensure_scripts(session)}/{TRIAL_SCRIPT}"
    remote = TrialRemote(
        session,
        script,
        f"{script.rsplit('/', 2)[0]}/trials",
        reconnect_timeout_s=prep.reconnect_timeout_s,
        on_event=on_event,
    )
    # Stopping an earlier run's leftovers and clearing its trial folders needs nothing the
    # pushes do: it runs beside them, and is done before this device is called ready.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sweep-{serial}") as pool:
        sweeping = pool.submit(remote.sweep)
        on_event(f"{serial}: {len(models)} model file(s) (pushed only when the sha256 differs)")
        pushed = _push_models(session, models)
        arm_parts, arm_notes = prepare_arms(
            session,
            prep.arms,
            default_binary=prep.benchmark_binary,
            configs=configs,
            runs=runs,
            warmup=warmup,
        )
        warnings += [f"{serial}: {note}" for note in arm_notes]
        fixed: bool | None = None
        if prep.fixed_performance:
            sdk = info.sdk
            fixed = (
                sdk is not None and int(sdk) >= 30 and thermal.set_fixed_performance(session, True)
            )
            if not fixed:
                warnings.append(f"{serial}: fixed performance mode unavailable (needs Android 11+)")
        try:
            warnings += _conditions(session, identified.cpus)
            swept = sweeping.result()
        except BaseException:
            if fixed:  # a failed preparation leaves the phone as it found it
                _leave_fixed_performance(session)
            raise
    if not swept.strip().endswith(" 0"):
        warnings.append(
            f"{serial}: stopped benchmark processes left over from an earlier run ({swept.strip()})"
        )
    cluster_max: dict[int, int] = {}
    for cluster in info.clusters:
        for cpu in cluster.cpus:
            if cluster.max_khz:
                cluster_max[cpu] = cluster.max_khz
    target = DeviceTarget(
        session=session,
        remote=remote,
        device_model=str(info.model or serial),
        binary=binary,
        masks=identified.masks,
        cpus=identified.cpus,
        models=pushed,
        cluster_max_khz=cluster_max,
        logs_dir=logs_dir,
        arms=arm_parts,
    )
    return PreparedDevice(
        target=target,
        info=info,
        binary=binary,
        cores=identified.cores,
        warnings=warnings,
        fixed_performance=fixed,
    )


def _notes(binary: BinaryInfo, configs: Iterable[Config], runs: int, warmup: int) -> list[str]:
    """What `binary` cannot do as asked for these configurations (each said once)."""
    notes: dict[str, None] = {}
    for cfg in configs:
        command = build_command(
            binary.device_path, binary.flags, graph="x", threads=cfg.threads,
            runs=runs, warmup=warmup, xnnpack=cfg.xnnpack, accelerator=cfg.accelerator,
            release=binary.version_line,
        )  # fmt: skip
        notes.update(dict.fromkeys(command.notes))
    if compiled_model_flag(binary.flags):  # build_command let it through: npu alone
        notes["benchmark_model is LiteRT's CompiledModel tool (its NPU path): its figures "
              "are the CompiledModel API's, not the TFLite interpreter's"] = None  # fmt: skip
    return list(notes)


def _push_models(
    session: DeviceSession, models: Sequence[ModelFile]
) -> dict[tuple[str, str], PushedModel]:
    """Push model files (skipped when the device's copy has the same sha256)."""
    names = [f"models/{m.sha256[:16]}-{m.path.name}" for m in models]
    outcomes = files.push_many(
        session,
        [(m.path, name) for m, name in zip(models, names, strict=True)],
        known_sha256={name: m.sha256 for m, name in zip(models, names, strict=True)},
    )
    return {
        (m.variant, m.quant): PushedModel(path=o.remote, sha256=m.sha256)
        for m, o in zip(models, outcomes, strict=True)
    }


def prepare_arms(
    session: DeviceSession,
    arms: Mapping[str, tuple[Path | None, Sequence[ModelFile]]],
    *,
    default_binary: Path | None,
    configs: Sequence[Config],
    runs: int,
    warmup: int,
) -> tuple[dict[str, tuple[BinaryInfo, dict[tuple[str, str], PushedModel]]], list[str]]:
    """Push each arm's binary and models to one device; (label -> its target parts, notes).

    Pushes are hashed, so arms sharing a binary or a model cost one transfer.
    The notes are what a binary cannot do as asked, as `prepare_device` says
    for the run's own binary.
    """
    out: dict[str, tuple[BinaryInfo, dict[tuple[str, str], PushedModel]]] = {}
    notes: dict[str, None] = {}
    for label, (binary_path, models) in arms.items():
        path = binary_path or default_binary
        binary = prepare_binary(session, str(path) if path else None)
        notes.update(
            dict.fromkeys(f"arm {label}: {n}" for n in _notes(binary, configs, runs, warmup))
        )
        out[label] = (binary, _push_models(session, models))
    return out, list(notes)


def _conditions(session: DeviceSession, cpus: dict[str, list[int]]) -> list[str]:
    """Warnings about the device's state before the first trial (never a refusal)."""
    serial = session.serial
    big = sorted({c for cs in cpus.values() for c in cs})
    try:
        return [f"{serial}: {w}" for w in thermal.check_conditions(session, big)]
    except DeviceTimeoutError as exc:
        # Only warnings depend on it; a hung state read must not stop the run here
        # (each trial's own reads are bounded and end that trial as `timeout`).
        return [f"{serial}: device state unreadable ({exc})"]


def _leave_fixed_performance(session: DeviceSession) -> None:
    try:
        thermal.set_fixed_performance(session, False)
    except Exception as exc:  # the run's results matter more than this cleanup
        log.warning("%s: could not leave fixed performance mode: %s", session.serial, exc)


def release_device(prepared: PreparedDevice) -> None:
    """Undo what preparation changed on the device (fixed performance mode)."""
    if prepared.fixed_performance:
        _leave_fixed_performance(prepared.target.session)
