"""The device's files on the host: /data, /system, sysfs trees and sim state.

Layout under the instance root (the `--root` folder):
`data/` (the device's /data, kept between starts), `system/` (bin/ with the
shell, toybox applets and the sim's own tools; build.prop), `sysfs/cpu`,
`sysfs/thermal`, `sysfs/power_supply`, `sysfs/bus` (regenerated each start) and
`state/` (affinity log, the power model's CPU-time ledger, fault knobs the
device-side tools read, the sync service's agent; mounted at
`sandbox.STATE_MOUNT`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from harness.errors import SimulatorError
from harness.sim import power, powerfiles, tools
from harness.sim.power import PowerSpec
from harness.sim.topology import Cluster, Topology

# Thermal zones of the default image: (type, temperature in degrees C). Names follow
# the MSM8996 sensor naming (tsens_tz_sensorN); the set is trimmed for readability.
DEFAULT_ZONES: list[tuple[str, float]] = [
    ("battery", 28.0),
    ("xo_therm", 30.5),
    ("pm8994_tz", 31.0),
    ("tsens_tz_sensor0", 32.0),
    ("tsens_tz_sensor1", 33.0),
    ("tsens_tz_sensor2", 33.5),
    ("tsens_tz_sensor3", 34.0),
    ("tsens_tz_sensor4", 34.5),
]

# Phone tools that Debian's toybox lacks; the host's binaries behave the same for
# what device scripts use them for.
HOST_FALLBACKS = ("awk", "tr", "expr", "dd", "diff", "stty")
# Applets the sim provides itself (toybox's would not behave like a phone's here).
SIM_TOOLS = ("taskset", "getprop", "dumpsys", "cmd", "benchmark_model")


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def _cpulist(cpus: list[int]) -> str:
    """Kernel cpulist format: 0-1,3."""
    out: list[str] = []
    cpus = sorted(cpus)
    i = 0
    while i < len(cpus):
        j = i
        while j + 1 < len(cpus) and cpus[j + 1] == cpus[j] + 1:
            j += 1
        out.append(str(cpus[i]) if i == j else f"{cpus[i]}-{cpus[j]}")
        i = j + 1
    return ",".join(out)


def toybox_applets() -> list[str]:
    """Applet names of the host's toybox."""
    toybox = shutil.which("toybox")
    if toybox is None:
        raise SimulatorError("toybox is not installed", hint="apt-get install toybox")
    out = subprocess.run([toybox], capture_output=True, text=True, timeout=10, check=False).stdout
    return [name for name in out.split() if name not in ("[", "toybox")]


def host_programs() -> dict[str, str]:
    """/system/bin name -> host program (its real path) for the shell, toybox and the fallbacks.

    The device's namespace binds exactly these (and what they load, `hostfiles.py`).
    """
    mksh = shutil.which("mksh")
    if mksh is None:
        raise SimulatorError("mksh is not installed", hint="apt-get install mksh")
    toybox = shutil.which("toybox")
    if toybox is None:
        raise SimulatorError("toybox is not installed", hint="apt-get install toybox")
    programs = {"sh": mksh, "mksh": mksh, "toybox": toybox}
    applets = set(toybox_applets())
    for name in HOST_FALLBACKS:
        host = shutil.which(name, path="/usr/bin:/bin")
        if host and name not in applets:
            programs[name] = host
    return {name: os.path.realpath(path) for name, path in programs.items()}


def build_system(root: Path, props: dict[str, str]) -> None:
    """Create system/bin and system/build.prop."""
    programs = host_programs()
    system = root / "system"
    if system.exists():
        shutil.rmtree(system)
    bin_dir = system / "bin"
    bin_dir.mkdir(parents=True)
    for applet in toybox_applets():
        if applet not in SIM_TOOLS and applet not in programs:
            (bin_dir / applet).symlink_to(programs["toybox"])
    for name, host in programs.items():
        (bin_dir / name).symlink_to(host)
    for name, text in tools.render_all(python=sys.executable).items():
        _write(bin_dir / name, text, 0o755)
    _write(system / "build.prop", "".join(f"{k}={v}\n" for k, v in sorted(props.items())))
    write_account_files(system / "etc")


def write_account_files(etc: Path) -> None:
    """passwd/group naming uid 2000 `shell`, as bionic does on a phone (bound over /etc/*).

    Nothing of the host's accounts: `nobody` (65534) is the owner the kernel
    shows for every host file, whose owner the device's namespace does not map.
    """
    _write(
        etc / "passwd",
        "shell:x:2000:2000:shell:/:/system/bin/sh\nnobody:x:65534:65534:nobody:/:/system/bin/sh\n",
    )
    _write(etc / "group", "shell:x:2000:\nnobody:x:65534:\n")


def build_cpu_sysfs(root: Path, topo: Topology, caps: dict[int, int] | None = None) -> None:
    """Write /sys/devices/system/cpu for the topology (caps: cpu -> scaling_max_freq)."""
    base = root / "sysfs" / "cpu"
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    cpus = topo.cpus
    offline = sorted(cpu for c in topo.clusters for cpu in c.offline)
    online = [c for c in cpus if c not in offline]
    _write(base / "possible", _cpulist(cpus) + "\n")
    _write(base / "present", _cpulist(cpus) + "\n")
    _write(base / "online", _cpulist(online) + "\n")
    _write(base / "offline", (_cpulist(offline) if offline else "") + "\n")
    _write(base / "kernel_max", f"{max(cpus)}\n")
    for cluster in topo.clusters:
        if topo.cpufreq:
            policy = base / "cpufreq" / f"policy{cluster.policy}"
            write_policy(policy, cluster.cpus, cluster.offline, cluster, caps or {})
        for cpu in cluster.cpus:
            cpu_dir = base / f"cpu{cpu}"
            _write(cpu_dir / "online", "0\n" if cpu in cluster.offline else "1\n")
            _write(cpu_dir / "topology" / "core_id", f"{cluster.cpus.index(cpu)}\n")
            _write(
                cpu_dir / "topology" / "physical_package_id", f"{topo.clusters.index(cluster)}\n"
            )
            if topo.cpufreq:
                (cpu_dir / "cpufreq").symlink_to(f"../cpufreq/policy{cluster.policy}")


def write_policy(
    policy: Path,
    cpus: tuple[int, ...],
    offline: tuple[int, ...],
    cluster: Cluster,
    caps: dict[int, int],
) -> None:
    """One cpufreq policy directory; a cap lowers scaling_max and cur freq."""
    cap = caps.get(cluster.policy, cluster.scaling_max_khz or cluster.max_khz)
    cap = min(cap, cluster.max_khz)
    steps = sorted({cluster.min_khz, (cluster.min_khz + cluster.max_khz) // 2, cluster.max_khz})
    files = {
        "related_cpus": " ".join(map(str, cpus)),
        "affected_cpus": " ".join(str(c) for c in cpus if c not in offline),
        "cpuinfo_max_freq": str(cluster.max_khz),
        "cpuinfo_min_freq": str(cluster.min_khz),
        "scaling_max_freq": str(cap),
        "scaling_min_freq": str(cluster.min_khz),
        "scaling_cur_freq": str(cap),
        "cpuinfo_cur_freq": str(cap),
        "scaling_governor": cluster.governor,
        "scaling_available_governors": "schedutil performance powersave userspace",
        "scaling_available_frequencies": " ".join(map(str, steps)),
        "scaling_driver": "qcom-cpufreq",
    }
    for name, value in files.items():
        _write(policy / name, value + "\n")


def zones_of(topo: Topology) -> list[tuple[str, float]]:
    """The device's thermal zones: the topology's own, else the Pixel 1's."""
    return list(DEFAULT_ZONES if topo.thermal_zones is None else topo.thermal_zones)


def build_thermal(root: Path, zones: list[tuple[str, float]]) -> None:
    """Write /sys/class/thermal with thermal_zoneN/{type,temp,mode} (empty: no zones)."""
    base = root / "sysfs" / "thermal"
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    for i, (kind, temp_c) in enumerate(zones):
        zone = base / f"thermal_zone{i}"
        _write(zone / "type", kind + "\n")
        _write(zone / "temp", f"{round(temp_c * 1000)}\n")
        _write(zone / "mode", "enabled\n")


def set_zone_temp(root: Path, zone: int, temp_c: float) -> None:
    """Change one zone's temperature atomically (readers never see a half write)."""
    path = root / "sysfs" / "thermal" / f"thermal_zone{zone}" / "temp"
    tmp = path.with_name(".temp.tmp")
    tmp.write_text(f"{round(temp_c * 1000)}\n")
    os.replace(tmp, path)


MARKER = ".harness-sim-root"
# The sync service's agent (sync_agent.py), run from the state folder inside the device.
SYNC_AGENT = "sync_agent.py"


def build(
    root: Path, props: dict[str, str], topo: Topology, power_spec: PowerSpec | None = None
) -> None:
    """Create or refresh an instance root (keeps an existing /data).

    Refreshing deletes system/, sysfs/ and state/ under the root, so a folder
    that is neither empty nor marked as a device root is refused.
    """
    if root.exists() and any(root.iterdir()) and not (root / MARKER).exists():
        raise SimulatorError(
            f"{root} is not empty and not a simulated device's folder",
            hint="pass an empty or new folder as --root",
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
        (root / MARKER).write_text("harness sim device root\n")
        (root / "data" / "local" / "tmp").mkdir(parents=True, exist_ok=True)
        os.chmod(root / "data" / "local" / "tmp", 0o771)
        state = root / "state"
        state.mkdir(parents=True, exist_ok=True)
        build_system(root, props)
        build_cpu_sysfs(root, topo)
        build_thermal(root, zones_of(topo))
        powerfiles.build(root, power_spec)
        (state / "affinity.jsonl").touch()
        _write(state / "screen", "ON\n")
        _write(state / "fixed_performance_mode", "false\n")
        _write(state / "slowdown", "1.0\n")
        _write(state / "topology.json", json.dumps(topo.to_json()))
        _write(state / SYNC_AGENT, (Path(__file__).parent / SYNC_AGENT).read_text())
        power.create_ledger(root)
        os.chmod(state, 0o777)
        for name in ("affinity.jsonl", "fixed_performance_mode"):
            os.chmod(state / name, 0o666)
    except OSError as exc:
        raise SimulatorError(f"cannot build the device image in {root}: {exc}") from exc


def set_policy_cap(root: Path, cluster: Cluster, cap_khz: int | None) -> None:
    """Cap (or uncap, with None) a cluster's scaling_max_freq, as thermal throttling does."""
    policy = root / "sysfs" / "cpu" / "cpufreq" / f"policy{cluster.policy}"
    if not policy.is_dir():
        raise SimulatorError(f"cpu{cluster.policy} has no cpufreq policy to cap on this device")
    value = min(
        cap_khz if cap_khz is not None else cluster.scaling_max_khz or cluster.max_khz,
        cluster.max_khz,
    )
    for name in ("scaling_max_freq", "scaling_cur_freq", "cpuinfo_cur_freq"):
        tmp = policy / f".{name}.tmp"
        tmp.write_text(f"{value}\n")
        os.replace(tmp, policy / name)


def write_state(root: Path, name: str, text: str) -> None:
    """Replace one file in the state folder atomically (device tools read it any time)."""
    path = root / "state" / name
    tmp = path.with_name(f".{name}.tmp")
    tmp.write_text(text)
    tmp.chmod(0o666)
    os.replace(tmp, path)
