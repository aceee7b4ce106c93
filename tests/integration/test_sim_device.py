"""What device-side scripts see: pinning through taskset, sysfs, props and services."""

from __future__ import annotations

import json
import os
import time

import pytest

from harness.sim import SimDevice

pytestmark = pytest.mark.integration


def _allowed(status: str) -> str:
    return next(
        line.split(":", 1)[1].strip()
        for line in status.splitlines()
        if line.startswith("Cpus_allowed_list")
    )


def test_taskset_big_cores_pins_to_mapped_host_cpus(sim: SimDevice, adb_server) -> None:
    result = adb_server.run("-s", sim.serial, "shell", "taskset 0xc cat /proc/self/status")
    assert result.returncode == 0, result.stderr
    expected_host = sim.topology.host_cpus([2, 3])
    allowed = _allowed(result.stdout)
    assert (
        allowed == ",".join(map(str, expected_host))
        or allowed == f"{expected_host[0]}-{expected_host[-1]}"
    )
    records = sim.affinity_records()
    assert len(records) == 1
    record = records[0]
    assert record["argv"] == ["cat", "/proc/self/status"]
    assert record["device_mask"] == "c"
    assert record["device_cpus"] == [2, 3]
    assert record["host_cpus"] == expected_host
    assert isinstance(record["pid"], int) and record["time"] > 0


@pytest.mark.skipif(not {0, 1} <= os.sched_getaffinity(0), reason="needs host CPUs 0 and 1")
def test_taskset_little_and_big_differ_on_a_two_cpu_map(make_sim, adb_server) -> None:
    device = make_sim(topology={"clusters": [
        {"cpus": [0, 1], "max_khz": 1593600, "host_cpus": [0]},
        {"cpus": [2, 3], "max_khz": 2150400, "host_cpus": [1]},
    ]})  # fmt: skip
    out_little = adb_server.run(
        "-s", device.serial, "shell", "taskset 3 cat /proc/self/status"
    ).stdout
    out_big = adb_server.run("-s", device.serial, "shell", "taskset 8 cat /proc/self/status").stdout
    assert _allowed(out_little) == "0"
    assert _allowed(out_big) == "1"
    assert [r["host_cpus"] for r in device.affinity_records()] == [[0], [1]]


def test_taskset_rejects_offline_only_mask(make_sim, adb_server) -> None:
    device = make_sim(topology={"clusters": [
        {"cpus": [0, 1], "max_khz": 1593600},
        {"cpus": [2, 3], "max_khz": 2150400, "offline": [3]},
    ]})  # fmt: skip
    result = adb_server.run("-s", device.serial, "shell", "taskset 8 true")
    assert result.returncode == 1
    assert "Invalid argument" in result.stderr
    online = adb_server.run(
        "-s",
        device.serial,
        "shell",
        "cat /sys/devices/system/cpu/online /sys/devices/system/cpu/cpu3/online",
    )
    assert online.stdout.split() == ["0-2", "0"]
    assert device.affinity_records() == []


def test_taskset_p_reports_device_mask(sim: SimDevice, adb_server) -> None:
    result = adb_server.run("-s", sim.serial, "shell", "taskset 4 sh -c 'taskset -p $$'")
    mask = int(result.stdout.strip().rsplit(":", 1)[1], 16)
    # cpu2 alone maps to a host cpu shared with cpu3 on small hosts: both bits show.
    assert mask & 0x4
    assert not mask & 0x3 or sim.topology.host_map[0] == sim.topology.host_map[2]


def test_custom_topology_sysfs(make_sim, adb_server) -> None:
    device = make_sim(topology={"clusters": [
        {"cpus": [0, 1, 2, 3], "max_khz": 1800000},
        {"cpus": [4, 5, 6], "max_khz": 2400000, "scaling_max_khz": 1900000},
        {"cpus": [7], "max_khz": 2850000, "governor": "performance"},
    ]})  # fmt: skip
    script = (
        "cd /sys/devices/system/cpu; cat possible;"
        " cat cpu5/cpufreq/related_cpus cpu5/cpufreq/scaling_max_freq"
        " cpu5/cpufreq/cpuinfo_max_freq cpu7/cpufreq/scaling_governor"
    )
    out = adb_server.run("-s", device.serial, "shell", script).stdout.split("\n")
    assert out[:5] == ["0-7", "4 5 6", "1900000", "2400000", "performance"]


def test_props_override_and_listing(make_sim, adb_server) -> None:
    device = make_sim(props={"ro.build.version.release": "14", "ro.custom.thing": "a b"})
    listing = adb_server.run("-s", device.serial, "shell", "getprop").stdout
    assert "[ro.build.version.release]: [14]" in listing
    assert "[ro.custom.thing]: [a b]" in listing
    assert (
        "[ro.product.cpu.abi]: [x86_64]" in listing
        or "[ro.product.cpu.abi]: [arm64-v8a]" in listing
    )
    missing = adb_server.run(
        "-s", device.serial, "shell", "getprop no.such.prop; getprop no.such.prop fallback"
    )
    assert missing.stdout == "\nfallback\n"


def test_dumpsys_and_cmd_power(sim: SimDevice, adb_server) -> None:
    battery = adb_server.run("-s", sim.serial, "shell", "dumpsys battery").stdout
    assert "  level: 85" in battery and "  temperature: 281" in battery
    sim.faults.set_battery(level=12, temp_c=41.5)
    sim.faults.set_screen(False)
    battery = adb_server.run("-s", sim.serial, "shell", "dumpsys battery").stdout
    assert "  level: 12" in battery and "  temperature: 415" in battery
    power = adb_server.run("-s", sim.serial, "shell", "dumpsys power").stdout
    assert "mWakefulness=Asleep" in power and "Display Power: state=OFF" in power
    ok = adb_server.run(
        "-s", sim.serial, "shell", "cmd power set-fixed-performance-mode-enabled true"
    )
    assert ok.returncode == 0
    assert (sim.root / "state" / "fixed_performance_mode").read_text() == "true\n"
    bad = adb_server.run("-s", sim.serial, "shell", "cmd nosuch thing")
    assert bad.returncode == 20 and "Can't find service: nosuch" in bad.stderr


def test_root_is_refused_like_a_user_build(sim: SimDevice, adb_server) -> None:
    result = adb_server.run("-s", sim.serial, "root")
    assert "cannot run as root in production builds" in result.stdout + result.stderr


def test_topology_state_matches_api(sim: SimDevice) -> None:
    state = json.loads((sim.root / "state" / "topology.json").read_text())
    assert {int(k): v for k, v in state["host_map"].items()} == sim.topology.host_map


def test_shell_runs_as_the_shell_user(sim: SimDevice, adb_server) -> None:
    out = adb_server.run("-s", sim.serial, "shell", "id -u; echo $USER $HOME $TMPDIR").stdout
    assert out == "2000\nshell / /data/local/tmp\n"


def test_ps_lists_the_devices_processes_not_the_hosts(sim: SimDevice, adb_server) -> None:
    # The background child is a forked shell until it execs sleep: wait (boundedly)
    # until ps shows the exec'd command, so a loaded host cannot catch it in between.
    script = (
        "sleep 7 & i=0; while [ $i -lt 200 ] && ! ps -A -o ARGS | grep -qx 'sleep 7'; do "
        "i=$((i+1)); done; ps -A -o PID,ARGS; kill $!"
    )
    out = adb_server.run("-s", sim.serial, "shell", script).stdout
    args = [line.split(None, 1)[1] for line in out.splitlines()[1:]]
    assert "sleep 7" in args, out
    assert not any("pytest" in a or "adb" in a.split()[0] for a in args), out
    assert len(args) < 20, out  # the holder, a few shells and this command, not a host's table


def test_concurrent_streams_on_one_connection(sim: SimDevice, adb_server) -> None:
    from concurrent.futures import ThreadPoolExecutor

    # Each command marks that it started, then waits (at most 60 s, a hang guard) until
    # all eight have: it sees eight marks only if the streams really ran side by side.
    # Served one after another, the first would give up seeing one mark, not eight.
    gate = "/data/local/tmp/gate"
    adb_server.run("-s", sim.serial, "shell", f"rm -rf {gate}; mkdir -p {gate}")

    def command(i: int) -> str:
        return (
            f"touch {gate}/{i}; n=0; while [ $(ls {gate} | wc -l) -lt 8 ] && [ $n -lt 600 ];"
            f" do sleep 0.1; n=$((n+1)); done; echo {i} $(ls {gate} | wc -l)"
        )

    device = adb_server.client().device(sim.serial)
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(lambda i: device.shell2(command(i), v2=True, timeout=120), range(8))
        )
    assert [r.stdout for r in results] == [f"{i} 8\n" for i in range(8)]


def test_detached_nohup_job_outlives_its_shell(sim: SimDevice, adb_server) -> None:
    # The job waits for a file the test writes only after the launching shell returned,
    # so a shell that waited for its job could return only when the job gives up (60 s).
    tmp = sim.root / "data" / "local" / "tmp"
    (tmp / "go").unlink(missing_ok=True)
    job = (
        "n=0; while [ ! -e go ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n+1)); done; "
        "{ [ -e go ] && echo done || echo gave-up; } > out.part; mv out.part out.txt"
    )
    launch = adb_server.run(
        "-s",
        sim.serial,
        "shell",
        f"cd /data/local/tmp; rm -f out.txt; nohup sh -c '{job}' > /dev/null 2>&1 &",
    )
    assert launch.returncode == 0
    result = tmp / "out.txt"
    assert not result.exists()  # the shell returned while the job still waited
    (tmp / "go").write_text("")
    deadline = time.monotonic() + 60  # a hang guard: the job ends as soon as it sees the file
    while not result.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert result.read_text() == "done\n"
