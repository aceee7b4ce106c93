"""How fast `harness parse` reads a 1-million-line log, and in how much memory.

The old parser took 13 s and 200 MB for a 1-million-line, 22 MB log;
the streaming parser must be at least 5x faster in constant
memory. Two logs of 1,000,000 lines are built from the corpus's real lines
(tests/data/benchmark_model), since what a long log is made of decides the
cost:

- `capture`: one long session, the common case: the corpus's lines that
  carry no figure (parameter echoes, runtime and delegate chatter, prompts,
  op-table rows...) over and over, then one complete run
  (`era2020_ti_am62_cpu.log`) at the end. The old parser holds every line.
- `many-runs`: the worst case for any parser, every line near a figure: the
  TI SDK's TFLite 1.12 run and the Raspberry Pi crash alternated, about
  51,000 runs of which only the last counts.

Each measurement runs `harness parse LOG --json` in a fresh process
(`harness.cli.main`) and reports its wall time, throughput and peak RSS
(`ru_maxrss` of that child), next to the same process doing nothing but
importing the CLI. `--baseline REV` measures the parser of an older commit the
same way (its `harness/` is unpacked with `git archive` into a temp folder).

    python benchmarks/bench_parse.py [--lines N] [--baseline REV] [--repeat K]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "benchmark_model"
BLOCKS = ("tf22510_rpi_pure_virtual_terminate.log", "era2018_ti_sdk_tflite112.log")
LAST_RUN = "era2020_ti_am62_cpu.log"
PARSE = (
    "import sys\n"
    "from harness.cli import main\n"
    "sys.exit(main(['parse', sys.argv[1], '--json']) if len(sys.argv) > 1 else 0)\n"
)


def write_many_runs(path: Path, n_lines: int) -> int:
    """The `many-runs` log of exactly `n_lines` lines; returns its size in bytes."""
    blocks = [(DATA / name).read_text().splitlines(keepends=True) for name in BLOCKS]
    written = 0
    with path.open("w") as out:
        while written < n_lines:
            for block in blocks:
                take = block[: n_lines - written]
                out.writelines(take)
                written += len(take)
    return path.stat().st_size


def chatter() -> list[str]:
    """Every corpus line that holds no keyword the parser looks for, in corpus order."""
    from harness.logs.scan import KEYWORDS

    lines: list[str] = []
    for path in sorted(DATA.glob("*.log")):
        for line in path.read_text(errors="replace").splitlines(keepends=True):
            if line.strip() and not any(key in line for key in KEYWORDS):
                lines.append(line if line.endswith("\n") else line + "\n")
    return lines


def write_capture(path: Path, n_lines: int) -> int:
    """The `capture` log: chatter, then one complete run, `n_lines` lines in all."""
    run = (DATA / LAST_RUN).read_text().splitlines(keepends=True)
    noise = chatter()
    written, target = 0, n_lines - len(run)
    with path.open("w") as out:
        while written < target:
            take = noise[: target - written]
            out.writelines(take)
            written += len(take)
        out.writelines(run)
    return path.stat().st_size


def measure(pythonpath: Path, log: Path | None) -> tuple[float, int, int]:
    """(wall seconds, peak RSS in KiB, exit code) of one `harness parse` child process."""
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    argv = [sys.executable, "-c", PARSE] + ([str(log)] if log else [])
    start = time.perf_counter()
    # Run from an empty folder: `python -c` puts the working directory first on sys.path.
    proc = subprocess.Popen(
        argv,
        env=env,
        cwd=tempfile.gettempdir(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return wall, int(usage.ru_maxrss), os.waitstatus_to_exitcode(status)


def unpack(rev: str, into: Path) -> Path:
    """The `harness/` package of commit `rev`, unpacked under `into` (read-only git use)."""
    into.mkdir(parents=True, exist_ok=True)
    archive = into / "harness.tar"
    with archive.open("wb") as handle:
        subprocess.run(["git", "archive", rev, "harness"], cwd=ROOT, stdout=handle, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into


def report(label: str, pythonpath: Path, log: Path, size: int, repeat: int) -> tuple[float, float]:
    """Print one line of figures; return (best wall time, best wall minus start-up)."""
    idle = min(measure(pythonpath, None)[0] for _ in range(repeat))
    runs = [measure(pythonpath, log) for _ in range(repeat)]
    wall = min(r[0] for r in runs)
    parse = max(wall - idle, 1e-3)
    rss = max(r[1] for r in runs)
    print(
        f"  {label:9s} {wall:6.2f} s wall, {parse:6.2f} s parsing ({size / 1e6 / parse:6.1f} MB/s),"
        f" peak RSS {rss / 1024:6.1f} MB   [start-up alone {idle:.2f} s; exit {runs[0][2]}]"
    )
    return wall, parse


def main() -> None:
    """Print before/after figures for the parse of the two generated logs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--baseline", help="git revision whose parser to measure too")
    parser.add_argument("--repeat", type=int, default=1, help="runs per parser; best is shown")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_parse_") as tmp:
        base = unpack(args.baseline, Path(tmp) / "baseline") if args.baseline else None
        for name, write in (("capture", write_capture), ("many-runs", write_many_runs)):
            log = Path(tmp) / f"{name}.log"
            size = write(log, args.lines)
            print(f"{name}: {args.lines:,} lines, {size / 1e6:.1f} MB")
            before = report(args.baseline[:9], base, log, size, args.repeat) if base else None
            after = report("this tree", ROOT, log, size, args.repeat)
            if before is not None:
                print(
                    f"  speed-up: {before[0] / after[0]:.1f}x wall, "
                    f"{before[1] / after[1]:.1f}x parsing"
                )
            result = json.loads(
                subprocess.run(
                    [sys.executable, "-c", PARSE, str(log)],
                    env={**os.environ, "PYTHONPATH": str(ROOT)},
                    cwd=tempfile.gettempdir(),
                    capture_output=True,
                    text=True,
                    check=False,
                ).stdout
            )
            print(f"  parsed: status {result['status']}, avg_us {result['avg_us']}")


if __name__ == "__main__":
    main()
