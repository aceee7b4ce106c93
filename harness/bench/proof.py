"""Proof that a trial measured what it asked for: affinity, clocks, heat, interference, log.

run_trial.sh looks at the phone when the benchmark starts and when it exits,
and samples it every 500 ms in between (the `samples` section; formats at
`sample()` and `wrap()` in device_scripts/run_trial.sh), so even a trial over
before the first sample carries its proof. The start look comes once taskset
has exec'd the benchmark: its affinity read back, the pinned CPUs' /proc/stat
counters and its own CPU ticks. The exit look comes right after the benchmark
ended, when its /proc entry is gone: the counters again, and its whole CPU
time as the kernel handed it to its reaper (the wrapper's children's ticks).
The looks read no clocks (a core just woken or about to idle runs slow for
reasons that say nothing of the trial); clocks come from the samples between.
This module turns those lines, and the benchmark's own log, into per-trial
figures and flags, so a lab engineer can tell a noisy phone from a wrong setup:

- `throttled`: a pinned CPU's clock seen below its cluster's hardware maximum
  (scaling_cur_freq < cpuinfo_max_freq) during the trial.
- `hot`: the hottest temperature seen, during the trial (samples) or in the
  state snapshots just before and after it, at or above the run's cooldown
  limit. A trial shorter than one sample interval has no samples, so the
  snapshots are what shows a phone that was hot from the start.
- `interfered`: other processes used more than INTERFERENCE_BOUND_PCT of the
  pinned CPUs' time from the start look to the exit look, beyond what the
  counters' tick resolution could account for.
- an affinity read back outside the requested mask makes the trial `failed`.
- a log that contradicts the settings (XNNPACK applied with --use_xnnpack=false,
  another thread count than asked) is a `log_mismatch`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from harness.device.kv import device_lines, digits, words
from harness.results.schema import TrialRecord

# Other processes' share of the pinned CPUs' time above which a trial is
# `interfered`. A quiet phone shows 0-2 % (kernel threads, the sampler itself);
# 5 % is where a mean latency starts to move by more than trial-to-trial noise.
INTERFERENCE_BOUND_PCT = 5.0


@dataclass(frozen=True)
class Sample:
    """One `sample` line (a look at start or exit, or a sample between): uptime,
    hottest zone, pinned clocks (samples between only) and /proc/stat counters."""

    up_s: float
    temp_mc: int | None
    freqs: dict[int, int]  # cpu -> scaling_cur_freq kHz
    ticks: dict[int, tuple[int, int]]  # cpu -> (busy, total) USER_HZ ticks
    self_ticks: int | None  # the benchmark's utime + stime


@dataclass(frozen=True)
class Samples:
    """What the wrapper wrote during one trial."""

    affinity_mask: int | None = None  # taskset -p, device CPU numbers
    affinity_list: str | None = None  # /proc/PID/status Cpus_allowed_list
    samples: list[Sample] = field(default_factory=list)


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text not in (None, "") else None
    except ValueError:
        return None


# More CPUs than any kernel numbers (NR_CPUS is at most 8192): a list that long is no cpu list.
MAX_CPUS = 8192


def cpu_list(text: str) -> list[int] | None:
    """Parse a kernel cpu list ("0-3,6"); None when it is not one."""
    cpus: set[int] = set()
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        if not digits(lo) or (hi and not digits(hi)) or int(hi or lo) - int(lo) > MAX_CPUS:
            return None
        cpus.update(range(int(lo), int(hi or lo) + 1))
    return sorted(cpus)


def mask_cpus(mask: int) -> list[int]:
    """The CPUs set in a hex affinity mask's value."""
    return [bit for bit in range(mask.bit_length()) if mask >> bit & 1]


def parse_samples(text: str | None) -> Samples:
    """Parse the `samples` section; a line cut short by the wrapper's kill is skipped."""
    if not text:
        return Samples()
    mask: int | None = None
    listed: str | None = None
    found: list[Sample] = []
    for line in device_lines(text):
        kind, _, rest = line.partition(" ")
        pairs = dict(p.partition("=")[::2] for p in words(rest))
        if kind == "affinity":
            try:
                mask = int(pairs.get("mask", ""), 16)
            except ValueError:
                mask = None
            listed = pairs.get("list") or None
        elif kind == "sample" and "self" in pairs:  # `self` last: the line is whole
            try:
                up = float(pairs.get("up", ""))
            except ValueError:
                continue
            freqs: dict[int, int] = {}
            ticks: dict[int, tuple[int, int]] = {}
            for key, value in pairs.items():
                if key[:1] == "f" and digits(key[1:]) and (khz := _int(value)):
                    freqs[int(key[1:])] = khz
                elif key[:1] == "s" and digits(key[1:]):
                    busy, _, total = value.partition(",")
                    b, t = _int(busy), _int(total)
                    if b is not None and t is not None:
                        ticks[int(key[1:])] = (b, t)
            found.append(Sample(up, _int(pairs.get("temp")), freqs, ticks, _int(pairs["self"])))
    return Samples(mask, listed, found)


@dataclass(frozen=True)
class Interference:
    """Other processes' share of the pinned CPUs' time, and how finely the counters tell it."""

    pct: float
    # The counters count whole ticks, so each difference is off by up to one:
    # the busy ticks of each pinned CPU and the benchmark's own, over the total.
    resolution_pct: float


def interference(samples: list[Sample]) -> Interference | None:
    """Other processes' share of the pinned CPUs' time between the first and last sample
    (the start and exit looks: the benchmark's whole run).

    (busy - benchmark) / total over the pinned CPUs' /proc/stat counters; both
    count USER_HZ ticks, so a short trial's figure is coarse (one tick is 10 ms
    of a CPU): `resolution_pct` says by how much. None without two whole samples.
    """
    whole = [s for s in samples if s.ticks and s.self_ticks is not None]
    if len(whole) < 2:
        return None
    first, last = whole[0], whole[-1]
    cpus = set(first.ticks) & set(last.ticks)
    busy = sum(last.ticks[c][0] - first.ticks[c][0] for c in cpus)
    total = sum(last.ticks[c][1] - first.ticks[c][1] for c in cpus)
    own = (last.self_ticks or 0) - (first.self_ticks or 0)
    if total <= 0 or busy < 0:  # a counter wrapped (mksh's 32-bit arithmetic)
        return None
    return Interference(
        pct=round(100.0 * max(0, busy - own) / total, 2),
        resolution_pct=round(100.0 * (len(cpus) + 1) / total, 2),
    )


@dataclass(frozen=True)
class LogClaims:
    """What the benchmark's log says it did."""

    version: str | None = None
    threads: int | None = None
    xnnpack_applied: bool | None = None  # None: the log does not say


_VERSION = re.compile(r"(?i)\b(version|stand-in)\b")
_THREADS_USED = re.compile(r"#threads used for CPU inference: \[(-?\d+)\]")
_NUM_THREADS = re.compile(r"Num threads: \[(-?\d+)\]")
_XNNPACK = re.compile(r"(?i)XNNPACK delegate for CPU|TfLiteXNNPackDelegate|Applied XNNPACK")
_PREFIX = re.compile(r"^(?:[A-Z]+: )")


def log_claims(text: str, delegate: str | None = None) -> LogClaims:
    """The version line, the thread count and whether XNNPACK ran, per the log."""
    version = None
    for line in device_lines(text):
        if _VERSION.search(line):
            version = _PREFIX.sub("", line.strip())[:200]
            break
    used = _THREADS_USED.findall(text) or _NUM_THREADS.findall(text)
    xnnpack: bool | None = None
    if _XNNPACK.search(text) or (delegate and "xnnpack" in delegate.lower()):
        xnnpack = True
    elif delegate:
        xnnpack = False  # the log names another delegate that ran the graph
    return LogClaims(version, int(used[-1]) if used else None, xnnpack)


def log_mismatch(claims: LogClaims, *, threads: int, xnnpack: str) -> str | None:
    """Why the log contradicts the trial's settings, or None."""
    reasons = []
    if xnnpack == "off" and claims.xnnpack_applied:
        reasons.append("--use_xnnpack=false asked but the log shows XNNPACK applied")
    if xnnpack == "on" and claims.xnnpack_applied is False:
        reasons.append("--use_xnnpack=true asked but the log shows another delegate ran")
    if threads > 0 and claims.threads is not None and claims.threads != threads:
        reasons.append(f"{threads} threads asked but the log reports {claims.threads}")
    return "; ".join(reasons) or None


@dataclass(frozen=True)
class Proof:
    """The per-trial figures and flags (TrialRecord's proof block)."""

    affinity_cpus: str | None = None  # "4,5,6,7"
    affinity_error: str | None = None  # set: the trial is `failed`
    samples: int = 0  # the looks at start and exit and the samples between
    freq_min_khz: int | None = None
    freq_max_khz: int | None = None
    temp_max_c: float | None = None
    interference_pct: float | None = None
    throttled_during: bool | None = None
    hot: bool | None = None
    interfered: bool | None = None
    log_version: str | None = None
    log_threads: int | None = None
    log_xnnpack: bool | None = None
    log_mismatch: str | None = None
    warnings: list[str] = field(default_factory=list)  # one reason per flag


def prove(
    samples_text: str | None,
    *,
    mask: str,
    cluster_max_khz: Mapping[int, int],
    hot_limit_c: float | None,
    log: str = "",
    delegate: str | None = None,
    threads: int = 0,
    xnnpack: str = "default",
    before_c: float | None = None,
    after_c: float | None = None,
) -> Proof:
    """Figures and flags for one trial from its samples, its log and the hottest
    readings of the state snapshots before and after it (`before_c`, `after_c`)."""
    got = parse_samples(samples_text)
    warnings: list[str] = []
    affinity: list[int] | None = None
    if got.affinity_mask:
        affinity = mask_cpus(got.affinity_mask)
    elif got.affinity_list:
        affinity = cpu_list(got.affinity_list)
    affinity_error = None
    try:
        asked = set(mask_cpus(int(mask, 16)))
    except ValueError:
        asked = set()
    if affinity is not None and asked and not set(affinity) <= asked:
        affinity_error = (
            f"benchmark ran with affinity cpus {_cpus(affinity)}, outside the requested "
            f"mask {mask} (cpus {_cpus(asked)})"
        )
    clocks = [(c, khz) for s in got.samples for c, khz in s.freqs.items()]
    temps = [s.temp_mc for s in got.samples if s.temp_mc is not None]
    temp_max = max(temps) / 1000.0 if temps else None
    throttled_during: bool | None = None
    below = [(c, khz) for c, khz in clocks if cluster_max_khz.get(c) and khz < cluster_max_khz[c]]
    if any(cluster_max_khz.get(c) for c, _ in clocks):
        throttled_during = bool(below)
    if below:
        cpu, khz = min(below, key=lambda p: p[1])
        warnings.append(
            f"throttled: cpu{cpu} ran at {khz} kHz, below its maximum {cluster_max_khz[cpu]} kHz"
        )
    seen = [
        (temp, when)
        for temp, when in (
            (temp_max, "during the trial"),
            (before_c, "before the trial"),
            (after_c, "after the trial"),
        )
        if temp is not None
    ]
    hot = None
    if seen and hot_limit_c is not None:
        hottest, when = max(seen, key=lambda p: p[0])
        hot = hottest >= hot_limit_c
        if hot:
            warnings.append(f"hot: {hottest:g} °C {when}, limit {hot_limit_c:g} °C")
    share = interference(got.samples)
    # Above the bound even at the low end of what the counters allow: a short
    # trial's few ticks must not flag it on a tick's rounding.
    interfered = None
    if share is not None:
        interfered = share.pct - share.resolution_pct > INTERFERENCE_BOUND_PCT
    if share is not None and interfered:
        warnings.append(
            f"interfered: other processes used {share.pct:g} % of the pinned CPUs "
            f"(± {share.resolution_pct:g} %, bound {INTERFERENCE_BOUND_PCT:g} %)"
        )
    claims = log_claims(log, delegate)
    mismatch = log_mismatch(claims, threads=threads, xnnpack=xnnpack)
    if mismatch:
        warnings.append(f"log_mismatch: {mismatch}")
    return Proof(
        affinity_cpus=None if affinity is None else _cpus(affinity),
        affinity_error=affinity_error,
        samples=len(got.samples),
        freq_min_khz=min((k for _, k in clocks), default=None),
        freq_max_khz=max((k for _, k in clocks), default=None),
        temp_max_c=temp_max,
        interference_pct=None if share is None else share.pct,
        throttled_during=throttled_during,
        hot=hot,
        interfered=interfered,
        log_version=claims.version,
        log_threads=claims.threads,
        log_xnnpack=claims.xnnpack_applied,
        log_mismatch=mismatch,
        warnings=warnings,
    )


def delegation_warning(record: TrialRecord) -> str | None:
    """The line a trial's proof carries when its unit did not take the whole graph: a
    partial delegation with its node counts, or a fallback `--allow-fallback` let pass."""
    if record.delegation not in ("partial", "fallback") or record.accelerator == "cpu":
        return None
    figures = record.figures
    delegate = figures.delegate or record.accelerator
    if figures.delegated_nodes is not None and figures.total_nodes is not None:
        took = f"{figures.delegated_nodes} of {figures.total_nodes} nodes"
    else:
        took = "part of the graph" if record.delegation == "partial" else "no node"
    parts = f" in {record.partitions} partitions" if record.partitions is not None else ""
    if record.delegation == "partial":
        return f"partial: {delegate} delegate took {took}{parts}; the rest ran on the CPU"
    return f"fallback: {delegate} delegate took {took}; the CPU ran the model (--allow-fallback)"


def _cpus(cpus: Iterable[int]) -> str:
    return ",".join(str(c) for c in sorted(cpus))


def with_proof(
    record: TrialRecord,
    samples_text: str | None,
    *,
    cluster_max_khz: Mapping[int, int],
    hot_limit_c: float | None,
    log: str,
) -> TrialRecord:
    """`record` with its proof block filled in; `failed` when it ran outside its mask."""
    proof = prove(
        samples_text,
        mask=record.core_mask,
        cluster_max_khz=cluster_max_khz,
        hot_limit_c=hot_limit_c,
        log=log,
        delegate=record.figures.delegate,
        threads=record.threads,
        xnnpack=record.xnnpack,
        before_c=record.temp_before_c,
        after_c=record.temp_after_c,
    )
    changes: dict[str, object] = {}
    if proof.affinity_error and record.status == "ok":
        # The figures stay for inspection; latency_ms goes, so no statistic uses them.
        changes.update(status="failed", error=proof.affinity_error, latency_ms=None)
    throttled = record.throttled
    if proof.throttled_during is not None:
        throttled = bool(throttled) or proof.throttled_during
    unit = delegation_warning(record)
    warnings = proof.warnings + ([unit] if unit else [])
    return dataclasses.replace(
        record,
        throttled=throttled,
        affinity_cpus=proof.affinity_cpus,
        proof_samples=proof.samples,
        freq_min_khz=proof.freq_min_khz,
        freq_max_khz=proof.freq_max_khz,
        temp_max_c=proof.temp_max_c,
        interference_pct=proof.interference_pct,
        hot=proof.hot,
        interfered=proof.interfered,
        log_version=proof.log_version,
        log_threads=proof.log_threads,
        log_xnnpack=proof.log_xnnpack,
        log_mismatch=proof.log_mismatch,
        proof_warnings="\n".join(warnings) or None,
        **changes,  # type: ignore[arg-type]
    )
