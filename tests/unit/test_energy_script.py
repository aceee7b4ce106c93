"""run_trial.sh's energy looks, under mksh (Android's shell) on the host.

The phone's counters are files of a sysfs tree under SYSFS_ROOT; the
"benchmark" is a script that prints the real tool's two "Running benchmark
for" lines and changes the counters at known moments, each after an event
(the sampler's look written), so what every look read is known exactly and
nothing depends on how fast the host runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.bench.energy import parse_looks
from harness.bench.remote import parse_collected

SCRIPT = Path(__file__).resolve().parents[2] / "device_scripts" / "run_trial.sh"
MKSH = shutil.which("mksh")
MARK = "@@harness-0123456789abcdef"

pytestmark = pytest.mark.skipif(MKSH is None, reason="needs mksh (Android's shell)")

# The benchmark: warm-up line, a nap, the timed line (its time taken either side),
# then it waits for the sampler's timed look (when energy is read), moves the counters and ends.
BENCHMARK = r"""
d=$1
echo "INFO: Running benchmark for at least 1 iterations and at least 0 seconds"
sleep 0.2
echo "$EPOCHREALTIME" >"$d/../printing"
echo "INFO: Running benchmark for at least 5 iterations and at least 0 seconds"
echo "$EPOCHREALTIME" >"$d/../printed"
i=0
while grep -q 'energy at=idle0' "$d/samples" 2>/dev/null && ! grep -q 'energy at=timed' \
    "$d/samples" && [ $i -lt 3000 ]; do
  sleep 0.01; i=$((i + 1))
done
cp "$d/../../after/energy_value" "$SYSFS_ROOT/sys/bus/iio/devices/iio:device1/energy_value"
cp "$d/../../after/charge_counter" "$SYSFS_ROOT/sys/class/power_supply/battery/charge_counter"
echo "INFO: count=5 first=1 curr=1 min=1 max=1 avg=1 std=0"
"""


def _odpm(t: int, tpu: int, cpu: int) -> str:
    return f"t={t}\nCH0(T={t})[S10M_VDD_TPU], {tpu}\nCH3(T={t})[S2M_VDD_CPUCL2], {cpu}\n"


@pytest.fixture
def phone(tmp_path: Path) -> Path:
    """A phone's power files (meter 1 only), the scripts, and `sh` -> mksh on PATH."""
    root = tmp_path / "root"
    meter = root / "sys" / "bus" / "iio" / "devices" / "iio:device1"
    meter.mkdir(parents=True)
    (meter / "energy_value").write_text(_odpm(1000, 50, 700))
    battery = root / "sys" / "class" / "power_supply" / "battery"
    battery.mkdir(parents=True)
    for name, value in {
        "charge_counter": 2000,
        "current_now": -120000,
        "voltage_now": 4213000,
    }.items():
        (battery / name).write_text(f"{value}\n")
    after = tmp_path / "after"
    after.mkdir()
    (after / "energy_value").write_text(_odpm(1900, 95, 9000))
    (after / "charge_counter").write_text("1990\n")
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    shutil.copy(SCRIPT, scripts / "run_trial.sh")
    (scripts / "state.sh").write_text("echo battery_level=80\n")
    (scripts / "bench.sh").write_text(BENCHMARK)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "sh").symlink_to(str(MKSH))
    # The benchmark's process is named as the real tool's, not as the wrapper's shell.
    (bindir / "benchmark_model").symlink_to(str(MKSH))
    return tmp_path


def _env(phone: Path, **extra: str) -> dict[str, str]:
    path = f"{phone / 'bin'}:{os.environ['PATH']}"
    return dict(os.environ, PATH=path, SYSFS_ROOT=str(phone / "root"), **extra)


def _begin(phone: Path, *flags: str, env: dict[str, str] | None = None) -> str:
    trial = phone / "trials" / "t1"
    cpu = str(sorted(os.sched_getaffinity(0))[0])
    out = subprocess.run(
        [str(MKSH), str(phone / "scripts" / "run_trial.sh"), "begin", str(trial), "1",
         "6000", "200", MARK, *flags, cpu, "--", "benchmark_model",
         str(phone / "scripts" / "bench.sh"), str(trial)],
        capture_output=True, text=True, timeout=120, check=True, env=env or _env(phone),
    )  # fmt: skip
    return out.stdout


def test_the_four_looks_read_the_rails_around_the_timed_runs(phone: Path) -> None:
    got = parse_collected(_begin(phone, "--energy=odpm:1:", "--idle=30"), MARK)
    assert got.state.state == "done" and got.state.exit_code == 0
    looks = parse_looks(got.samples)
    assert set(looks) == {"idle0", "idle1", "timed", "exit"}
    # Before the launch, an idle window of the asked length (a nap cannot end early).
    assert looks["idle1"].rt_s - looks["idle0"].rt_s >= 0.3
    before = ((1, 1000, (("S10M_VDD_TPU", 50), ("S2M_VDD_CPUCL2", 700))),)
    for at in ("idle0", "idle1", "timed"):
        assert [(m.meter, m.t_ms, m.rails) for m in looks[at].meters] == list(before), at
    # The exit look read what the benchmark left after the timed look.
    (end,) = looks["exit"].meters
    assert (end.t_ms, end.rails) == (1900, (("S10M_VDD_TPU", 95), ("S2M_VDD_CPUCL2", 9000)))
    # The timed look's bracket holds the moment the line was printed. Every stamp is on
    # one clock and each order below is cause before effect (a poll that missed the line
    # came before it was written, the one that found it after), so no host speed moves it.
    timed = looks["timed"]
    printing = float((phone / "trials" / "printing").read_text())
    printed = float((phone / "trials" / "printed").read_text())
    assert timed.prev_s is not None and timed.seen_s is not None
    assert timed.prev_s <= printed and timed.seen_s >= printing
    assert timed.seen_s <= timed.rt_s <= looks["exit"].rt_s
    assert looks["idle1"].rt_s <= timed.prev_s  # the launch came after the idle window


def test_rails_can_be_narrowed_and_the_gauge_read_instead(phone: Path) -> None:
    looks = parse_looks(
        parse_collected(_begin(phone, "--energy=odpm:1:S2M_VDD_CPUCL2"), MARK).samples
    )
    assert [m.rails for m in looks["timed"].meters] == [(("S2M_VDD_CPUCL2", 700),)]
    looks = parse_looks(parse_collected(_begin(phone, "--energy=gauge"), MARK).samples)
    assert {at: look.gauge for at, look in looks.items()}["timed"] == (looks["idle0"].gauge)
    gauge = looks["exit"].gauge
    assert gauge is not None
    assert (gauge.charge_uah, gauge.current_ua, gauge.voltage_uv) == (1990, -120000, 4213000)
    assert looks["exit"].meters == ()


def test_without_energy_nothing_is_read_and_no_idle_window_is_spent(phone: Path) -> None:
    got = parse_collected(_begin(phone), MARK)
    assert got.state.state == "done"
    assert parse_looks(got.samples) == {}
    assert not (phone / "trials" / "t1" / "nap").exists()
    assert "sample at=start" in (got.samples or "")  # the proof sampler ran as before


def test_watching_for_the_timed_runs_starts_no_process(phone: Path) -> None:
    """Every `sleep` the scripts start is logged by a PATH shim: the watch polls every
    5 ms with a timed read instead, so only the proof samples' naps remain."""
    shim = phone / "bin" / "sleep"
    log = phone / "sleeps"
    real = shutil.which("sleep")
    shim.write_text(f'#!/bin/sh\necho "$*" >>"{log}"\nexec {real} "$@"\n')
    shim.chmod(0o755)
    # The benchmark's own naps call sleep by name too: tell them apart by their length.
    _begin(phone, "--energy=odpm:1:", "--idle=20", env=_env(phone, HARNESS_SAMPLE_S="0.5"))
    naps = log.read_text().split() if log.exists() else []
    assert "0.005" not in naps and "0.20" not in naps  # no poll, and the idle nap is a read
    # The benchmark's, the proof samples' and the waiting call's beat (2 s).
    assert set(naps) <= {"0.01", "0.2", "0.5", "2.00"}


@pytest.mark.parametrize("flag", ["--energy=odpm:1:a;reboot", "--energy=x y", "--idle=1.5"])
def test_a_bad_energy_argument_is_refused(phone: Path, flag: str) -> None:
    proc = subprocess.run(
        [str(MKSH), str(phone / "scripts" / "run_trial.sh"), "begin", str(phone / "t"), "1",
         "100", "200", MARK, flag, "--", "true"],
        capture_output=True, text=True, timeout=60, env=_env(phone),
    )  # fmt: skip
    assert proc.returncode == 64 and "begin: bad" in proc.stderr
    assert not (phone / "t").exists()
