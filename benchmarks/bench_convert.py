"""Conversion speed, and (with --check-all) all 38 variants against the published tables.

Default: cold conversion time of a fixed set with --jobs 1 and --jobs 2 (each
in a fresh, empty cache), then the warm time of all 22 MobileNetV2 variants
(every model cached: no conversion, no TensorFlow import), both in-process and
as a `harness convert` command. Targets on a 2-core machine: speedup >= 1.7x,
warm run of all 22 under 2 s.

`--check-all` converts all 38 variants to fp32 into the normal cache and checks
each against its published MACs and parameters (harness/convert/published.py);
exits 1 if a row mismatches that is not a documented erratum.

Run: python benchmarks/bench_convert.py [--check-all] [--jobs N]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import catalogue
from harness.convert import convert_many

CLI = "import sys; from harness.cli import main; sys.exit(main())"
# Six small variants: three per worker with --jobs 2, so each worker's own
# TensorFlow import (~4 s of CPU, paid once per process) is amortised as it
# would be in a real run of many variants.
COLD_SET = "v2:0.35_96,v2:0.35_128,v2:0.35_160,v2:0.5_96,v2:0.5_128,v2:0.5_160"


def _cold(jobs: int) -> tuple[float, float]:
    """(wall s, worker CPU s) of converting COLD_SET into an empty cache."""
    with tempfile.TemporaryDirectory(prefix="bench-convert-") as tmp:
        cpu_before = _children_cpu()
        started = time.perf_counter()
        variants = catalogue.select(COLD_SET)
        convert_many(variants, ["fp32"], jobs=jobs, cache_root=Path(tmp), progress=False)
        return time.perf_counter() - started, _children_cpu() - cpu_before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _best_cold(jobs: int, repeats: int) -> float:
    """Fastest of `repeats` cold runs (the machine is shared: the minimum is least disturbed)."""
    best = float("inf")
    for _ in range(repeats):
        wall, cpu = _cold(jobs)
        load = os.getloadavg()[0]
        print(f"    --jobs {jobs}: {wall:6.1f} s wall, {cpu:6.1f} s worker CPU, load {load:.1f}")
        best = min(best, wall)
    return best


def _warm_22(jobs: int) -> tuple[float, float, float]:
    """(first fill, warm in-process, warm `harness convert` subprocess) for all 22 V2."""
    variants = catalogue.select("v2:*")
    started = time.perf_counter()
    convert_many(variants, ["fp32"], jobs=jobs, progress=True)
    fill = time.perf_counter() - started
    started = time.perf_counter()
    models = convert_many(variants, ["fp32"], jobs=jobs, progress=False)
    warm = time.perf_counter() - started
    assert all(m.cached for m in models), "warm run converted something"
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", CLI, "convert", "--variants", "v2:*", "--json"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    cli = time.perf_counter() - started
    return fill, warm, cli


def speed(jobs: int, repeats: int) -> None:
    print(f"cold conversion of {COLD_SET} (fp32, empty cache each time), {os.cpu_count()} CPUs:")
    one = _best_cold(1, repeats)
    two = _best_cold(jobs, repeats)
    print(f"  best --jobs 1: {one:6.1f} s")
    print(f"  best --jobs {jobs}: {two:6.1f} s   speedup {one / two:.2f}x (target >= 1.7x)")
    fill, warm, cli = _warm_22(jobs)
    print("all 22 MobileNetV2 variants, fp32:")
    print(f"  filling the cache (converts what is missing): {fill:7.1f} s")
    print(f"  warm, convert_many in-process:                {warm:7.3f} s")
    print(f"  warm, `harness convert --variants v2:*`:      {cli:7.3f} s (target < 2 s)")


def check_all(jobs: int) -> int:
    variants = catalogue.select("all")
    started = time.perf_counter()
    models = convert_many(variants, ["fp32"], jobs=jobs, progress=True)
    print(f"{len(models)} variants converted/cached in {time.perf_counter() - started:.1f} s")
    print(f"{'id':<24} {'MACs pub':>8} {'calc':>6} {'params pub':>10} {'calc':>6}  result")
    unexplained = 0
    for model in models:
        check = model.published_check
        published = model.variant.published
        if check.ok:
            result = "ok" + (f" ({check.note})" if check.note else "")
        elif check.note:
            result = f"MISMATCH, known erratum: {check.note}"
        else:
            result = "MISMATCH"
            unexplained += 1
        print(
            f"{model.variant.id:<24} {published.macs_m:>8} {check.macs_m:>6} "
            f"{published.params_m:>10.2f} {check.params_m:>6.2f}  {result}"
        )
    matched = sum(m.published_check.ok for m in models)
    print(f"{matched}/{len(models)} match the published figures; {unexplained} unexplained")
    return 1 if unexplained else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check-all", action="store_true", help="convert and check all 38")
    parser.add_argument("--jobs", type=int, default=2, help="parallel workers (default 2)")
    parser.add_argument("--repeats", type=int, default=2, help="cold runs per setting")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.check_all:
        return check_all(args.jobs)
    speed(args.jobs, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
