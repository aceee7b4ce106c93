"""The record of one trial: the parsed figures, the status and the device state around it.

Built once per benchmark process from what the host collected; whatever
happened to the benchmark (failure, crash, timeout) is the record's status and
error, never an exception.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from harness.bench.plan import TrialSpec
from harness.bench.remote import TrialState
from harness.bench.target import DeviceTarget, PushedModel, TrialSettings
from harness.catalogue import Variant
from harness.catalogue import get as get_variant
from harness.device.thermal import DeviceState
from harness.errors import UnknownVariantError
from harness.logs.parser import parse
from harness.results.schema import TrialRecord
from harness.vocab import OWN_FAMILY, TRIAL_STATUSES, TrialStatus

log = logging.getLogger(__name__)

STDERR_TAIL_CHARS = 2000


@dataclass
class Observed:
    """What the host saw of one trial: its outputs, process state, times and device state."""

    mask: str
    model: PushedModel
    state: TrialState
    stdout: str
    stderr: str
    timed_out: bool
    started: float
    finished: float
    before: DeviceState | None  # the state snapshots around the trial (None: unreadable)
    after: DeviceState | None
    cooled: bool | None
    cooldown_wait: float | None
    notes: list[str]
    error: str | None = None
    cooled_reason: str | None = None  # why `cooled` is None though a cooldown was asked


def build_record(
    spec: TrialSpec,
    order_index: int,
    seen: Observed,
    *,
    run_id: str,
    target: DeviceTarget,
    settings: TrialSettings,
    hung: str | None,
    battery: int | None,
) -> TrialRecord:
    """The trial's record; `battery` is the level read before it (or the last one known)."""
    mask, model, state, error = seen.mask, seen.model, seen.state, seen.error
    stdout, stderr, timed_out, notes = seen.stdout, seen.stderr, seen.timed_out, seen.notes
    started, finished, before, after = seen.started, seen.finished, seen.before, seen.after
    cooled, cooldown_wait = seen.cooled, seen.cooldown_wait
    cfg = spec.config
    variant = _variant(cfg.variant)
    # The log is proved against the unit the trial asked for: its delegate and node counts.
    parsed = parse(stdout, stderr, state.exit_code, accelerator=cfg.accelerator)
    proof = parsed.delegation
    figures = parsed.figures
    status: TrialStatus = _trial_status(parsed.status)
    latency_ms: float | None = None
    if error is not None:
        status = "failed"
    elif timed_out and hung:
        status = "timeout"
        error = hung
    elif timed_out:
        status = "timeout"
        error = f"no result within {settings.timeout_s:g} s; process killed"
    elif state.state != "done":
        status = "failed"
        error = f"benchmark process vanished on the device ({state.reason})"
    elif status != "ok":
        error = parsed.error
    elif figures.avg_us is None or not figures.avg_us > 0:
        status, error = "parse_error", "no regular-phase avg in the output"
    elif proof is not None and proof.verdict == "fallback" and not settings.allow_fallback:
        # A figure of the CPU, not of the unit asked for: kept in `figures`, never a latency.
        status, error = "fallback", proof.reason
    else:
        latency_ms = figures.avg_us / 1000.0
    if notes:
        log.debug("%s: %s", spec.trial_id, "; ".join(notes))
    freq_before, freq_after = _freqs(before), _freqs(after)
    temp_before = before.max_temp_c if before is not None else None
    temp_after = after.max_temp_c if after is not None else None
    wall = state.wall_s if state.wall_s is not None else max(0.0, finished - started)
    return TrialRecord(
        run_id=run_id,
        trial_id=spec.trial_id,
        device_serial=spec.serial,
        device_model=target.device_model,
        variant=cfg.variant,
        family=variant.family if variant else OWN_FAMILY,
        depth_multiplier=variant.depth_multiplier if variant else 0.0,  # unknown: sorts last
        resolution=variant.resolution if variant else 0,
        quant=cfg.quant,
        threads=cfg.threads,
        cores=cfg.cores,
        core_mask=mask,
        xnnpack=cfg.xnnpack,
        trial_index=spec.trial_index,
        order_index=order_index,
        status=status,
        started_at=_iso(started),
        finished_at=_iso(finished),
        wall_s=round(wall, 6),
        num_runs=settings.runs,
        warmup_runs=settings.warmup,
        latency_ms=latency_ms,
        figures=figures,
        exit_code=state.exit_code,
        error=None if status == "ok" else (str(error) if error else f"status {status}"),
        stderr_tail=None if status == "ok" else _tail(stderr) or _tail(stdout),
        temp_before_c=temp_before,
        temp_after_c=temp_after,
        cooled=cooled,
        cooldown_wait_s=cooldown_wait,
        cooled_reason=seen.cooled_reason,
        freq_before=freq_before,
        freq_after=freq_after,
        throttled=throttled(freq_after or freq_before, target.cluster_max_khz),
        battery_level=None if battery is None else int(battery),
        binary_sha256=target.binary.sha256,
        binary_kind=target.binary.kind,
        model_sha256=model.sha256,
        adb_server=target.session.adb_server,
        arm=spec.arm,
        accelerator=cfg.accelerator,
        partitions=None if proof is None else proof.partitions,
        delegation=None if proof is None else proof.verdict,
    )


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")


def _tail(text: str) -> str | None:
    text = text.strip()
    return text[-STDERR_TAIL_CHARS:] if text else None


def _freqs(state: DeviceState | None) -> dict[str, list[int]]:
    """cpu -> [max_khz, cur_khz] of a snapshot, as the record stores it (a copy)."""
    return {} if state is None else {cpu: list(khz) for cpu, khz in state.freqs.items()}


def throttled(freqs: Mapping[str, list[int]], cluster_max_khz: Mapping[int, int]) -> bool | None:
    """Whether a pinned CPU's frequency cap was below its hardware maximum.

    `freqs` is cpu -> [max_khz (the current cap), cur_khz]; thermal
    mitigation lowers the cap, so cap < cpuinfo max means throttled. None
    when the device exposes neither.
    """
    seen = False
    for cpu, values in freqs.items():
        hw = cluster_max_khz.get(int(cpu))
        if not values or not hw:
            continue
        seen = True
        if values[0] < hw:
            return True
    return False if seen else None


def _trial_status(word: str) -> TrialStatus:
    """The parser's status as a trial status (the parser speaks the same words)."""
    for status in TRIAL_STATUSES:
        if status == word:
            return status
    return "parse_error"


def _variant(name: str) -> Variant | None:
    """The catalogue variant a configuration measures; None for a model of the user's own."""
    try:
        return get_variant(name)
    except UnknownVariantError:
        return None
